// Token layout of a ViT's sequence (pipeline kit): [CLS?, distillation?, registers × R, patches row-major].
// The patch grid comes from the input size / patch size (never √N: registers and non-square inputs).
import type { SpecialTokens } from '../../shared/attentionTypes';
import { VitLensError } from '../../shared/errors';
import type { HfConfig } from '../model/vitModel';

/** Layout of the first tokens, from the token count and the grid; config.json settles ambiguous cases. */
export function detectSpecialTokens(numTokens: number, grid: [number, number], config: HfConfig): SpecialTokens {
  const extra = numTokens - grid[0] * grid[1];
  if (extra < 0)
    throw new VitLensError(
      'MODEL_NOT_VIT',
      `attention has ${numTokens} tokens but the ${grid[0]}×${grid[1]} patch grid needs ${grid[0] * grid[1]}.`,
      'Set patch_size in config.json next to the model.',
    );
  if (extra === 0) return { cls: false, distillation: false, registers: 0 };
  const declaredRegisters = typeof config.num_register_tokens === 'number' ? config.num_register_tokens : undefined;
  if (declaredRegisters !== undefined && declaredRegisters === extra - 1)
    return { cls: true, distillation: false, registers: declaredRegisters };
  if (extra === 2 && declaredRegisters === undefined) return { cls: true, distillation: true, registers: 0 };
  if (config.model_type === 'deit' && extra >= 2) return { cls: true, distillation: true, registers: extra - 2 };
  return { cls: true, distillation: false, registers: extra - 1 };
}

/** Index of the first patch token. */
export function firstPatchIndex(t: SpecialTokens): number {
  return (t.cls ? 1 : 0) + (t.distillation ? 1 : 0) + t.registers;
}

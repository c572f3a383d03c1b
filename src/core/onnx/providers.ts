// Which onnxruntime execution provider sessions run on (the CLI's --provider, vitLens.executionProvider,
// VITLENS_PROVIDER). Only providers the installed onnxruntime-node lists (ort.listSupportedBackends():
// cpu everywhere; cuda / tensorrt on linux-x64 when their libraries are installed, dml on Windows,
// coreml on macOS, webgpu) can be asked for; anything else, or a provider whose session cannot be
// created, falls back to the CPU with a note that says why. Engine-side only.
import * as ort from 'onnxruntime-node';
import { PROVIDER_ENV } from '../../shared/engineProtocol';

/** Set by the engine's `configure` call; wins over the environment. */
let configured: string | undefined;
/** What the last session creation ran on, and why when it is not what was asked for. */
let lastStatus: ProviderStatus = { name: 'cpu' };

export interface ProviderStatus {
  name: string;
  note?: string;
}

export function setExecutionProvider(name: string | undefined): void {
  configured = name?.trim().toLowerCase() || undefined;
}

/** The provider asked for: the configured one, else VITLENS_PROVIDER, else the CPU. */
export function requestedProvider(): string {
  return configured ?? (process.env[PROVIDER_ENV]?.trim().toLowerCase() || 'cpu');
}

/** The providers this onnxruntime-node offers, e.g. "cpu, webgpu, cuda (not installed)". */
export function offeredProviders(): string {
  return ort
    .listSupportedBackends()
    .map((b) => (b.bundled ? b.name : `${b.name} (not installed)`))
    .join(', ');
}

/** The provider of the most recent session (and its fallback note, if any). */
export const providerStatus = (): ProviderStatus => lastStatus;

/**
 * Creates a session on the requested provider (with the CPU as onnxruntime's fallback for operators
 * it lacks); when that provider is not offered or the session fails on it, creates it on the CPU alone.
 */
export async function createOnProvider<S>(create: (executionProviders: string[]) => Promise<S>): Promise<S> {
  const wanted = requestedProvider();
  if (wanted === 'cpu') {
    lastStatus = { name: 'cpu' };
    return create(['cpu']);
  }
  const offered = ort.listSupportedBackends().map((b) => b.name.toLowerCase());
  if (!offered.includes(wanted)) {
    lastStatus = {
      name: 'cpu',
      note: `execution provider "${wanted}" is not offered by this onnxruntime-node (it offers ${offeredProviders()}); running on the CPU.`,
    };
    return create(['cpu']);
  }
  try {
    const session = await create([wanted, 'cpu']);
    lastStatus = { name: wanted };
    return session;
  } catch (e) {
    lastStatus = {
      name: 'cpu',
      note: `execution provider "${wanted}" failed (${(e as Error).message.split('\n')[0]}); running on the CPU.`,
    };
    return create(['cpu']);
  }
}

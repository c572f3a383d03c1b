// The shipped model catalogue: valid, covers the models the issue asks for, its size estimates agree
// with parameter counts computed here from the architectures, and the validator rejects bad entries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CatalogueEntry, catalogueByTask, catalogueEntry, isSafeRepoPath, loadCatalogue, validateCatalogue } from '../../../src/models/catalogue';
import { VitLensError } from '../../../src/shared/errors';

const catalogue = loadCatalogue();
const byUpstream = (re: RegExp) => catalogue.models.filter((m) => re.test(m.upstream ?? m.repo));

describe('the shipped catalogue', () => {
  test('validates, with unique ids and every task present', () => {
    assert.equal(validateCatalogue(JSON.parse(JSON.stringify(catalogue))).models.length, catalogue.models.length);
    const groups = catalogueByTask(catalogue);
    assert.ok(groups.classification.length >= 5 && groups.depth.length >= 3 && groups.segmentation.length >= 1);
    assert.equal(new Set(catalogue.models.map((m) => m.id)).size, catalogue.models.length);
  });

  test('has the models of the issue', () => {
    const required: Array<[string, RegExp, CatalogueEntry['task']]> = [
      ['ViT-B/16 ImageNet', /^google\/vit-base-patch16-224$/, 'classification'],
      ['DeiT-tiny', /^facebook\/deit-tiny/, 'classification'],
      ['DeiT-small', /^facebook\/deit-small/, 'classification'],
      ['DINO ViT-S/8 or S/16', /^facebook\/dino-vits(8|16)$/, 'classification'],
      ['DINOv2 with registers', /^facebook\/dinov2-with-registers/, 'classification'],
      ['DPT-Hybrid (MiDaS)', /^Intel\/dpt-hybrid-midas$/, 'depth'],
      ['DPT-Large', /^Intel\/dpt-large$/, 'depth'],
      ['Depth Anything V2 Small', /Depth-Anything-V2-Small/i, 'depth'],
      ['DPT ADE20K', /dpt-large-ade/, 'segmentation'],
    ];
    for (const [what, re, task] of required) {
      const found = byUpstream(re);
      assert.ok(found.length, `${what} is missing`);
      assert.ok(found.every((m) => m.task === task), `${what} should be ${task}`);
    }
    const registers = byUpstream(/dinov2-with-registers/);
    assert.ok(registers.every((m) => m.architecture?.registers === 4));
    assert.ok(byUpstream(/deit-.*distilled/).every((m) => m.architecture?.distillationToken === true));
  });

  test('every entry is explicit about what is unconfirmed; pins only exist at a commit', () => {
    for (const m of catalogue.models) {
      assert.ok(m.unverified || /^[0-9a-f]{40}$/.test(m.revision), `${m.id}: "main" without saying so`);
      for (const f of m.files) if (f.sha256 || f.size) assert.match(m.revision, /^[0-9a-f]{40}$/, `${m.id}: ${f.path} pinned at a branch`);
      assert.ok(m.files.every((f) => isSafeRepoPath(f.path)));
      assert.ok(catalogueEntry(m.id) === m);
    }
  });

  test('size estimates of the ViT classifiers match float32 parameter counts computed from their architectures', () => {
    // Parameters of a HF ViT/DeiT: patch embedding, CLS (+ distillation) token, positions, L pre-LN
    // blocks (qkv, projection, MLP, 2 LayerNorms), final LayerNorm, classifier head(s) or pooler.
    const params = (a: { dim: number; mlp: number; layers: number; patch: number; size: number; distilled?: boolean; classes?: number; heads?: number; pooler?: boolean }) => {
      const d = a.dim;
      const tokens = (a.size / a.patch) ** 2 + 1 + (a.distilled ? 1 : 0);
      const block = 2 * d + 3 * (d * d + d) + (d * d + d) + 2 * d + (d * a.mlp + a.mlp) + (a.mlp * d + d);
      return 3 * a.patch * a.patch * d + d + (1 + (a.distilled ? 1 : 0)) * d + tokens * d + a.layers * block + 2 * d
        + (a.classes ? (a.heads ?? 1) * (d * a.classes + a.classes) : 0) + (a.pooler ? d * d + d : 0);
    };
    const expected: Record<string, number> = {
      'vit-base-patch16-224': params({ dim: 768, mlp: 3072, layers: 12, patch: 16, size: 224, classes: 1000 }),
      'deit-tiny-distilled': params({ dim: 192, mlp: 768, layers: 12, patch: 16, size: 224, distilled: true, classes: 1000, heads: 2 }),
      'deit-small-distilled': params({ dim: 384, mlp: 1536, layers: 12, patch: 16, size: 224, distilled: true, classes: 1000, heads: 2 }),
      'dino-vits16': params({ dim: 384, mlp: 1536, layers: 12, patch: 16, size: 224, pooler: true }),
      'dino-vits8': params({ dim: 384, mlp: 1536, layers: 12, patch: 8, size: 224, pooler: true }),
    };
    // Sanity of the formula itself: the ViT paper's 86 M for ViT-B/16, DeiT's 5 M / 22 M.
    assert.ok(Math.abs(expected['vit-base-patch16-224'] - 86.57e6) < 0.05e6, `${expected['vit-base-patch16-224']}`);
    assert.ok(Math.abs(expected['deit-tiny-distilled'] - 5.91e6) < 0.05e6, `${expected['deit-tiny-distilled']}`);
    for (const [id, count] of Object.entries(expected)) {
      const bytes = count * 4;
      const listed = catalogueEntry(id).approxSizeBytes;
      assert.ok(Math.abs(listed - bytes) / bytes < 0.02, `${id}: catalogue ${listed}, float32 weights ${bytes}`);
    }
  });
});

describe('validateCatalogue', () => {
  const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(catalogue.models[0]));
  const problems = (models: unknown[], version: unknown = 1): string => {
    try {
      validateCatalogue({ version, models });
    } catch (e) {
      assert.ok(e instanceof VitLensError && e.code === 'CATALOGUE_INVALID');
      return e.message;
    }
    return '';
  };

  test('accepts a minimal valid entry', () => {
    assert.equal(problems([good()]), '');
  });

  test('rejects bad entries, naming each problem', () => {
    const dup = [good(), good()];
    assert.match(problems(dup), /id "vit-base-patch16-224" is used twice/);
    assert.match(problems([{ ...good(), id: 'Bad Id' }]), /id "Bad Id" must be lowercase/);
    assert.match(problems([{ ...good(), task: 'detection' }]), /task "detection" must be one of classification, depth, segmentation/);
    assert.match(problems([{ ...good(), repo: 'no-owner' }]), /repo "no-owner" must be "owner\/name"/);
    assert.match(problems([{ ...good(), unverified: undefined }]), /revision "main" is not a commit hash: say so in "unverified"/);
    assert.match(problems([{ ...good(), files: [{ path: '../evil.onnx' }, { path: 'config.json' }, { path: 'preprocessor_config.json' }] }]), /files\[0\]\.path "\.\.\/evil\.onnx" must be a relative path/);
    assert.match(problems([{ ...good(), files: [{ path: 'config.json' }, { path: 'onnx/model.onnx' }, { path: 'preprocessor_config.json' }] }]), /first file must be the model's \.onnx/);
    assert.match(problems([{ ...good(), files: [{ path: 'onnx/model.onnx' }, { path: 'config.json' }] }]), /must include preprocessor_config\.json/);
    assert.match(problems([{ ...good(), files: [{ path: 'onnx/model.onnx', sha256: 'abc' }, { path: 'config.json' }, { path: 'preprocessor_config.json' }] }]), /sha256 must be 64 lowercase hex/);
    assert.match(problems([{ ...good(), files: [{ path: 'onnx/model.onnx', size: 10 }, { path: 'config.json' }, { path: 'preprocessor_config.json' }] }]), /pins a size\/sha256 but the revision "main" can move/);
    assert.match(problems([{ ...good(), attention: 'maybe' }]), /attention must be one of/);
    assert.match(problems([{ ...good(), architecture: { layers: 12, heads: 0, patchSize: 16 } }]), /architecture needs positive layers, heads and patchSize/);
    assert.match(problems([good()], 2), /version 2 is not supported/);
    // Several problems are reported together.
    const many = problems([{ ...good(), id: 'X', task: 'x', license: '' }]);
    assert.equal(many.split('\n').length - 1, 3, many);
  });

  test('isSafeRepoPath', () => {
    for (const ok of ['onnx/model.onnx', 'config.json', 'a/b/c.data']) assert.ok(isSafeRepoPath(ok), ok);
    for (const bad of ['', '/abs', 'a/../b', './a', 'a//b', 'a\\b', '..']) assert.ok(!isSafeRepoPath(bad), bad);
  });
});

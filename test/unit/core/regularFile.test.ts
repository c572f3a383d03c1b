// Files that are not regular files are refused at once, before a byte is read (core/regularFile.ts):
// a FIFO with no writer would block a plain read forever.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readImageFile } from '../../../src/core/image/image';
import { loadVitModel } from '../../../src/core/model/vitModel';
import { NotRegularFileError, readRegularFile } from '../../../src/core/regularFile';
import { tempDir } from '../support';

const hasMkfifo = process.platform !== 'win32';

test('a FIFO named like an image or a model is refused at once (IMAGE_NOT_A_FILE, MODEL_NOT_ONNX)', { skip: !hasMkfifo }, async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'fifo.png');
  execFileSync('mkfifo', [fifo]);
  const t0 = performance.now();
  await assert.rejects(readImageFile(fifo), (e: Error & { code?: string }) => e.code === 'IMAGE_NOT_A_FILE' && /FIFO/.test(e.message));
  const model = path.join(dir, 'model.onnx');
  execFileSync('mkfifo', [model]);
  await assert.rejects(loadVitModel(model), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_ONNX' && /FIFO/.test(e.message));
  assert.ok(performance.now() - t0 < 2000, 'refused without waiting for a writer');
});

test('a folder named like an image, and a device, are refused (IMAGE_NOT_A_FILE)', async () => {
  const dir = tempDir();
  const folder = path.join(dir, 'photo.jpg');
  fs.mkdirSync(folder);
  await assert.rejects(readImageFile(folder), (e: Error & { code?: string }) => e.code === 'IMAGE_NOT_A_FILE' && /folder/.test(e.message));
  if (fs.existsSync('/dev/zero')) {
    await assert.rejects(
      readImageFile('/dev/zero'),
      (e: Error & { code?: string }) => e.code === 'IMAGE_NOT_A_FILE' && /device/.test(e.message),
    );
    assert.throws(
      () => readRegularFile('/dev/zero'),
      (e) => e instanceof NotRegularFileError && e.kind === 'device',
    );
  }
  await assert.rejects(readImageFile(path.join(dir, 'missing.png')), (e: Error & { code?: string }) => e.code === 'IMAGE_NOT_FOUND');
});

test('a regular file is read whole', () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.bin');
  const bytes = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 251));
  fs.writeFileSync(file, bytes);
  assert.deepEqual(readRegularFile(file), bytes);
});

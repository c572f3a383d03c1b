// `vit-lens models list|pull|rm` and `attention --model <id>` end to end: real CLI processes, the
// local hub impersonating the catalogue's repositories (serving the tiny fixture models), then the
// downloaded model running through the engine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HubServer, hubModelFromDir, startHubServer } from '../../fixtures/builders/hubServer';
import { sampleScenePng } from '../../fixtures/builders/sampleImages';
import { distDir, fixtureModels, tempDir } from '../support';

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the hub server lives here). */
function cli(args: string[], o: { onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Run> {
  const env = { ...process.env };
  for (const k of [
    'HF_ENDPOINT',
    'HF_TOKEN',
    'HUGGING_FACE_HUB_TOKEN',
    'VITLENS_CACHE',
    'HTTPS_PROXY',
    'HTTP_PROXY',
    'https_proxy',
    'http_proxy',
    'ALL_PROXY',
    'all_proxy',
  ])
    delete env[k];
  const child = spawn(process.execPath, [path.join(distDir, 'cli.js'), ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
    o.onStderr?.(stderr, (s) => child.kill(s));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    }),
  );
}

let hub: HubServer;
let cache: string;
let image: string;
const fixtureDir = (name: string) => path.dirname(path.dirname(fixtureModels()[name]));

before(async () => {
  // The catalogue's own repositories and revisions, with the fixtures' files behind them.
  hub = await startHubServer({
    models: [
      hubModelFromDir('Xenova/vit-base-patch16-224', fixtureDir('vit-tiny')),
      hubModelFromDir('Xenova/deit-tiny-distilled-patch16-224', fixtureDir('deit-tiny-distilled')),
    ],
  });
  cache = tempDir('vit-lens-cli-cache-');
  image = path.join(cache, '..', `${path.basename(cache)}-scene.png`);
  fs.writeFileSync(image, await sampleScenePng());
});
after(() => hub.close());

test('models pull → list → attention --model <id> → rm, end to end', async () => {
  const pull = await cli(['models', 'pull', 'vit-base-patch16-224', '--endpoint', hub.endpoint, '--cache', cache]);
  assert.equal(pull.status, 0, pull.stderr);
  assert.match(pull.stdout, /Downloaded vit-base-patch16-224 \(\d+(\.\d+)? kB, commit [0-9a-f]{10}\)/);
  // The progress line: bytes, percent and speed (one line per file and per 10 % when not a terminal).
  assert.match(pull.stderr, /onnx\/model\.onnx {2}[\d.]+ [kM]?B \/ [\d.]+ [kM]?B {2}100\.0% {2}[\d.]+ [kMG]?B\/s/);
  const onnx = path.join(cache, 'vit-base-patch16-224', 'onnx', 'model.onnx');
  assert.deepEqual(fs.readFileSync(onnx), fs.readFileSync(fixtureModels()['vit-tiny']));

  const list = await cli(['models', 'list', '--json', '--cache', cache]);
  assert.equal(list.status, 0, list.stderr);
  const listed = JSON.parse(list.stdout);
  assert.equal(listed.cacheDir, cache);
  const vit = listed.models.find((m: { id: string }) => m.id === 'vit-base-patch16-224');
  assert.deepEqual([vit.cached, vit.path, vit.task, vit.license], [true, onnx, 'classification', 'Apache-2.0']);
  assert.equal(listed.models.find((m: { id: string }) => m.id === 'dpt-large').cached, false);
  const table = await cli(['models', 'list', '--cache', cache]);
  assert.match(table.stdout, /^vit-base-patch16-224 +classification +~[\d.]+ MB +Apache-2\.0 +main +yes$/m);
  assert.match(table.stdout, /^depth-anything-v2-small +depth .* 4472b736 +-$/m);

  const again = await cli(['models', 'pull', 'vit-base-patch16-224', '--endpoint', hub.endpoint, '--cache', cache]);
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already in the cache/);

  const out = path.join(cache, '..', `${path.basename(cache)}-attention.json`);
  const run = await cli(['attention', image, '--model', 'vit-base-patch16-224', '--cache', cache, '--json', out]);
  assert.equal(run.status, 0, run.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(j.model.path, onnx);
  assert.equal(j.model.attentionSource, 'tapped');
  assert.equal(j.clsAttention.length, j.model.numLayers);
  assert.ok(j.predictions.length > 0);

  const rm = await cli(['models', 'rm', 'vit-base-patch16-224', '--cache', cache]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.equal(fs.existsSync(path.join(cache, 'vit-base-patch16-224')), false);
  const missing = await cli(['attention', image, '--model', 'vit-base-patch16-224', '--cache', cache]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /not downloaded yet[\s\S]*vit-lens models pull vit-base-patch16-224/);
});

test('two CLI processes pulling the same model: one download, both succeed', async () => {
  hub.requests.length = 0;
  hub.faults.bytesPerSecond = 150_000; // ~1.3 s for the model file: the second process has to wait
  try {
    const dir = tempDir('vit-lens-cli-cache-');
    const args = ['models', 'pull', 'deit-tiny-distilled', '--endpoint', hub.endpoint, '--cache', dir];
    const [a, b] = await Promise.all([cli(args), cli(args)]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(hub.requestsFor('onnx/model.onnx', 'cdn').length, 1, 'the model file was transferred once');
    assert.equal(hub.requestsFor('config.json').length, 1);
    assert.match(a.stderr + b.stderr, /waiting for another process/);
  } finally {
    delete hub.faults.bytesPerSecond;
  }
});

test('Ctrl-C during a pull cancels it and leaves nothing behind', async () => {
  hub.faults.bytesPerSecond = 100_000;
  try {
    const dir = tempDir('vit-lens-cli-cache-');
    let sent = false;
    const r = await cli(['models', 'pull', 'vit-base-patch16-224', '--endpoint', hub.endpoint, '--cache', dir], {
      onStderr: (text, kill) => {
        if (!sent && /onnx\/model\.onnx .*[1-9]\d*\.\d%/.test(text)) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    assert.ok(sent, r.stderr);
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /cancelled; nothing was kept/);
    assert.deepEqual(fs.readdirSync(dir), ['.downloads']);
    assert.deepEqual(fs.readdirSync(path.join(dir, '.downloads')), []);
  } finally {
    delete hub.faults.bytesPerSecond;
  }
});

test('bad model ids, endpoints and usage give specific errors', async () => {
  const unknown = await cli(['models', 'pull', 'vit-huge', '--cache', cache]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /"vit-huge" is not a model of the catalogue[\s\S]*Did you mean vit-base-patch16-224/);
  const endpoint = await cli(['models', 'pull', 'deit-tiny-distilled', '--cache', cache, '--endpoint', 'ftp://mirror']);
  assert.equal(endpoint.status, 1);
  assert.match(endpoint.stderr, /not an http\(s\) URL/);
  const notFound = await cli(['models', 'pull', 'dino-vits16', '--cache', cache, '--endpoint', hub.endpoint]);
  assert.equal(notFound.status, 1);
  assert.match(
    notFound.stderr,
    new RegExp(`Repository not found: ${hub.endpoint.replace(/[.]/g, '\\.')}/Xenova/dino-vits16/resolve/main/onnx/model\\.onnx`),
  );
  assert.equal((await cli(['models'])).status, 2);
  assert.equal((await cli(['models', 'pull'])).status, 2);
  const flag = await cli(['models', 'list', '--jsn']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /unknown option --jsn/);
});

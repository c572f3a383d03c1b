// Entry point of the engine process (dist/engine.js), forked by client/engineClient.ts with an IPC
// channel using "advanced" serialization so typed arrays cross without JSON. Inference blocks this
// process's thread, never the extension host's.
import { Engine } from './engine';
import { inferenceThreads } from '../onnx/threads';
import type { FromEngine, ToEngine } from '../../shared/engineProtocol';

if (!process.send) {
  console.error('dist/engine.js is the ViT Lens inference engine; it is started by the extension or the vit-lens CLI.');
  process.exit(2);
}
const send = (m: FromEngine, sent?: () => void) => process.send!(m, undefined, undefined, sent && (() => sent()));
const engine = new Engine(send);
process.on('message', (m) => engine.handle(m as ToEngine));
// The parent went away (VS Code window closed, CLI killed): nothing left to serve.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (e) => {
  console.error('engine: uncaught', e);
  process.exit(70);
});
send({ type: 'ready', pid: process.pid, threads: inferenceThreads() });

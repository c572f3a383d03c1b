// Procedural scenes with ground truth, shared by the demo, the trainers' dataset export and the tests.
// Pure TypeScript (no Node, DOM, sharp or onnxruntime imports): runs the same in Node and a browser.
export { Rng, hash32, seedFraction } from '../maths/rng';
export * from './shapes';
export * from './depthScenes';

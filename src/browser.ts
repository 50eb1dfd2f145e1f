/**
 * The browser entry: the engine and everything above it that does not need Node. Bundled by
 * scripts/build.mjs for platform "browser", which fails if a Node built-in is imported.
 */
export { acquireBrowserEngine, engineFromAdapter } from './gpu/acquire';
export { Engine } from './gpu/engine';
export { Tensor } from './gpu/tensor';
export * from './gpu/errors';
export { measureCeilings } from './gpu/ceilings';
export { relu, sigmoid } from './kernels/elementwise';

/**
 * Node host: osteo on Dawn (the `webgpu` package) and tfjs-backend-webgpu on the same Dawn
 * instance in the same process. tfjs finds WebGPU through `navigator.gpu`, which Node lacks: set
 * it to our Dawn instance BEFORE the backend module is imported (it checks at import time).
 */
import { acquireNodeEngine, dawnInstance } from '../src/node/acquire_node';
import type { Engine } from '../src/gpu/engine';
import { applyOverrides, defaultOptions, runBench, type BenchOverrides } from './run';
import type { Tf } from './timing';
import type { BenchResults } from './types';

export async function tfjsWebgpuOnDawn(): Promise<Tf> {
  const gpu = dawnInstance();
  if (!gpu) throw new Error('tfjs-webgpu in Node: acquire the osteo engine first (its Dawn instance becomes navigator.gpu)');
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise on this adapter');
  await tf.ready();
  return tf;
}

export async function runNodeBench(overrides: BenchOverrides, log: (s: string) => void, engineIn?: Engine): Promise<BenchResults> {
  const engine = engineIn ?? (await acquireNodeEngine());
  try {
    const tf = await tfjsWebgpuOnDawn();
    const opts = applyOverrides(defaultOptions(engine.adapter.fallback, 'node'), overrides);
    return await runBench(engine, tf, { ...opts, log });
  } finally {
    if (!engineIn) engine.destroy();
  }
}

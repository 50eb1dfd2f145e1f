/**
 * Node host: osteo on Dawn (the `webgpu` package) and tfjs-backend-webgpu on the same Dawn
 * instance in the same process. tfjs finds WebGPU through `navigator.gpu`, which Node lacks: set
 * it to our Dawn instance BEFORE the backend module is imported (it checks at import time).
 */
import { availableParallelism } from 'node:os';
import { acquireNodeEngine, dawnInstance } from '../src/node/acquire_node';
import type { Engine } from '../src/gpu/engine';
import { applyOverrides, defaultOptions, runBench, type BenchOverrides } from './run';
import type { Tf } from './timing';
import type { BenchResults } from './types';
import type { OnnxRuntimeHost } from './onnx_baseline';

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

/**
 * onnxruntime-node's CPU execution provider (a devDependency: absent from an installed osteo, then
 * the column says so). Default threads: one intra-op thread per core, all graph optimisations.
 */
export async function ortNodeCpu(): Promise<OnnxRuntimeHost> {
  const ort = (await import('onnxruntime-node')).default;
  const threads = availableParallelism();
  return {
    name: 'ort-node-cpu',
    detail: `onnxruntime-node ${ort.env.versions.node ?? '?'}, cpu EP, ${threads} intra-op threads, graph optimisation "all"`,
    async create(model) {
      const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, logSeverityLevel: 3 });
      const [inputName] = session.inputNames;
      const [outputName] = session.outputNames;
      return {
        async run(input, dims) {
          const r = await session.run({ [inputName!]: new ort.Tensor('float32', input, dims) });
          return r[outputName!]!.data as Float32Array;
        },
        release: () => session.release(),
      };
    },
  };
}

export async function runNodeBench(overrides: BenchOverrides, log: (s: string) => void, engineIn?: Engine): Promise<BenchResults> {
  const engine = engineIn ?? (await acquireNodeEngine());
  try {
    const tf = await tfjsWebgpuOnDawn();
    const opts = applyOverrides(defaultOptions(engine.adapter.fallback, 'node'), overrides);
    const onnx: OnnxRuntimeHost[] = [];
    try {
      onnx.push(await ortNodeCpu());
    } catch (e) {
      log(`onnxruntime-node baseline skipped: ${(e as Error).message.split('\n')[0]} (npm install onnxruntime-node in the checkout)`);
    }
    return await runBench(engine, tf, { ...opts, onnx, log });
  } finally {
    if (!engineIn) engine.destroy();
  }
}

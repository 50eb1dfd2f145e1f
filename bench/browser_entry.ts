/**
 * The benchmark in a page (Chromium host): osteo on navigator.gpu, tfjs-backend-webgpu on the same
 * adapter, and tfjs's webgl / wasm backends as extra baselines when their packages are installed
 * (the bundler stubs absent ones; they are then skipped with a note). Results land on
 * window.__bench for puppeteer to collect.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { acquireBrowserEngine } from '../src/gpu/acquire';
import type { OnnxRuntimeHost } from './onnx_baseline';
import { ortWebRuntimes } from './ort_web';
import { applyOverrides, defaultOptions, runBench, type BenchOverrides } from './run';
import type { BenchResults } from './types';

declare global {
  interface Window {
    __bench?: { done: boolean; results?: BenchResults; fatal?: string };
    __benchOverrides?: BenchOverrides & { extras?: string[] };
  }
}

async function loadExtra(name: string, notes: string[]): Promise<boolean> {
  try {
    // @ts-ignore -- optional: not a dependency; the bundler stubs it when absent
    if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
    else if (name === 'wasm') {
      // @ts-ignore -- optional, as above
      const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { setWasmPaths?: (p: string) => void };
      wasm.setWasmPaths?.('/wasm/');
    }
    if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') returned false on this adapter`);
    if (name === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      notes.push(`tfjs-wasm baseline: SIMD ${simd ? 'on' : 'off'}, threads ${threads ? `on (${navigator.hardwareConcurrency} logical cores)` : 'off'}`);
    }
    await tf.setBackend('webgpu');
    return true;
  } catch (e) {
    notes.push(`tfjs-${name} baseline skipped: ${String((e as Error).message ?? e).split('\n')[0]}`);
    await tf.setBackend('webgpu').catch(() => false);
    return false;
  }
}

async function main(): Promise<void> {
  const state: NonNullable<Window['__bench']> = { done: false };
  window.__bench = state;
  try {
    const engine = await acquireBrowserEngine();
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise in this page');
    await tf.ready();
    const notes: string[] = [];
    const extras: string[] = [];
    for (const name of window.__benchOverrides?.extras ?? ['webgl', 'wasm']) if (await loadExtra(name, notes)) extras.push(name);
    const onnx: OnnxRuntimeHost[] = [];
    try {
      const ort = await ortWebRuntimes('/ort/');
      onnx.push(...ort.hosts);
      notes.push(...ort.notes);
    } catch (e) {
      notes.push(`onnxruntime-web baselines skipped: ${String((e as Error).message ?? e).split('\n')[0]}`);
    }
    const opts = applyOverrides(defaultOptions(engine.adapter.fallback, 'chromium'), { ...window.__benchOverrides, extraBackends: extras });
    const results = await runBench(engine, tf, { ...opts, onnx, log: (s) => console.log(`[bench] ${s}`) });
    results.notes.push(...notes);
    state.results = results;
    engine.destroy();
  } catch (e) {
    state.fatal = String((e as Error).stack ?? e);
  }
  state.done = true;
}

void main();

/**
 * onnxruntime-web in a page: the `webgpu` and `wasm` execution providers as whole-model baselines
 * (bench/onnx_baseline.ts). The Chromium host serves onnxruntime-web's dist/ under `base` (its ESM
 * bundle and the .wasm/.mjs runtimes it loads) from a cross-origin-isolated origin, so the wasm EP
 * runs with SIMD and one thread per logical core. Loaded by URL, not bundled: ORT fetches its own
 * runtime files relative to wasmPaths.
 */
import type * as Ort from 'onnxruntime-web';
import type { OnnxRuntimeHost } from './onnx_baseline';

/** The onnxruntime-web runtimes of this page, and a note on how they were set up. */
export async function ortWebRuntimes(base = '/ort/'): Promise<{ hosts: OnnxRuntimeHost[]; notes: string[] }> {
  const url = `${base}ort.all.bundle.min.mjs`;
  const ort = (await import(/* @vite-ignore */ url)) as typeof Ort;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.wasmPaths = base;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const version = ort.env.versions?.web ?? '?';
  const host = (ep: 'webgpu' | 'wasm'): OnnxRuntimeHost => ({
    name: `ort-web-${ep}`,
    detail: `onnxruntime-web ${version}, ${ep} EP${ep === 'wasm' ? `, SIMD, ${threads} thread${threads > 1 ? 's' : ''}${isolated ? '' : ' (page not cross-origin isolated)'}` : ''}, graph optimisation "all"`,
    async create(model) {
      const session = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: 'all' });
      const [inputName] = session.inputNames;
      const [outputName] = session.outputNames;
      return {
        async run(input, dims) {
          const r = await session.run({ [inputName!]: new ort.Tensor('float32', input, dims) });
          // the output is read back to the CPU (getData() for GPU-resident outputs): what a page needs to decode points
          const y = r[outputName!]!;
          return (y.location === 'cpu' ? y.data : await y.getData(true)) as Float32Array;
        },
        release: () => session.release(),
      };
    },
  });
  return { hosts: [host('webgpu'), host('wasm')], notes: [`onnxruntime-web ${version}: cross-origin isolated ${isolated ? 'yes' : 'no'}, wasm threads ${threads}`] };
}

/** The files the host serves under `base`: onnxruntime-web's ESM bundle and its runtimes. */
export const ORT_WEB_FILES = /^(ort\.all\.bundle\.min\.mjs|ort-wasm-simd-threaded(\.[a-z]+)?\.(mjs|wasm))$/;

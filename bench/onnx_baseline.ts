/**
 * ONNX runtimes as whole-model baselines: osteo's model exported with src/export/onnx.ts (same
 * weights), run by a runtime the host provides (Node: onnxruntime-node's CPU EP). Its output on
 * the benchmark's input is checked against osteo's before anything is timed; a mismatch is
 * reported and not timed. First run = session creation (graph load and optimisation) + the first
 * inference, apart from the steady state. Host-agnostic.
 */
import { summarizeTimes } from './stats';
import type { RuntimeBaseline } from './types';

/** One loaded model in a runtime: NCHW float32 in, the output's values out. */
export interface OnnxSessionLike {
  run(input: Float32Array, dims: readonly number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A runtime a host offers: `create` loads ONNX bytes. */
export interface OnnxRuntimeHost {
  /** Column name, e.g. "ort-node-cpu". */
  name: string;
  /** Version, execution provider, threads. */
  detail: string;
  create(model: Uint8Array): Promise<OnnxSessionLike>;
}

/** Outputs must agree within this share of the output scale (fp32, different summation orders). */
export const RUNTIME_TOLERANCE = 1e-3;

/** Largest |a − b| and the largest |b| (the output scale). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  if (a.length !== b.length) return { diff: Infinity, scale: NaN };
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    diff = d > diff || Number.isNaN(d) ? d : diff;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

const errText = (e: unknown): string => String((e as Error)?.message ?? e).split('\n').slice(0, 3).join(' ');

/** Loads, checks against `reference` (osteo's output on `input`), then times `reps` steady runs. */
export async function runOnnxBaseline(host: OnnxRuntimeHost, model: Uint8Array, input: Float32Array, dims: readonly number[], reference: Float32Array, reps: number): Promise<RuntimeBaseline> {
  const out: RuntimeBaseline = { detail: host.detail, phase: null, createMs: null, maxAbsDiff: null, outputScale: null };
  let session: OnnxSessionLike | null = null;
  try {
    const t0 = performance.now();
    session = await host.create(model);
    out.createMs = performance.now() - t0;
    const first = await session.run(input, dims);
    const firstMs = performance.now() - t0;
    const { diff, scale } = maxAbsDiff(first, reference);
    out.maxAbsDiff = diff;
    out.outputScale = scale;
    if (!(diff <= RUNTIME_TOLERANCE * scale)) {
      out.error = `${host.name}: output differs from osteo's (max |Δ| ${diff.toExponential(2)} at output scale ${scale.toExponential(2)}, over ${RUNTIME_TOLERANCE} of it); not timed`;
      return out;
    }
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      await session.run(input, dims);
      times.push(performance.now() - t);
    }
    out.phase = { firstMs, steady: summarizeTimes(times, 1) };
  } catch (e) {
    out.error = `${host.name}: ${errText(e)}`;
  } finally {
    await session?.release().catch(() => {});
  }
  return out;
}

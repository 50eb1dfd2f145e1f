/**
 * One benchmark run on one host: ceilings, kernel suite, model suite, and the honest notes.
 * Host-agnostic: Node (bench/node_host.ts) and the page (bench/browser_entry.ts) call it with
 * their engine and a tfjs-core namespace whose webgpu backend is registered on the same adapter.
 */
import { measureCeilings } from '../src/gpu/ceilings';
import type { Engine } from '../src/gpu/engine';
import { GOAL_LAYER, runKernelSuite } from './kernels';
import { runModelSuite } from './model';
import type { OnnxRuntimeHost } from './onnx_baseline';
import { opSummary } from './report';
import { geomean } from '../src/util/stats';
import { fmt, ratePerSecond } from './stats';
import type { Tf } from './timing';
import type { BenchResults, KernelRow } from './types';

const pct = (x: number): string => (Number.isFinite(x) ? `${fmt(x * 100)}%` : '–');

/** 'inference': the model suite without the training step (the ONNX runtimes' comparison, in minutes on a CPU). */
export type Suite = 'kernels' | 'model' | 'inference' | 'all';

export interface BenchOptions {
  suite: Suite;
  /** Kernel-suite input size (layer shapes of the model at this size). */
  size: number;
  batch: number;
  reps: number;
  /** Model suite: inference and training sizes/batches. */
  inference: { size: number; batch: number } | null;
  train: { size: number; batch: number } | null;
  modelReps: number;
  /** Kernel rows whose key matches. */
  filter?: string;
  extraBackends?: string[];
  /** ONNX runtimes for the whole-model inference baseline (the host provides them). */
  onnx?: OnnxRuntimeHost[];
  host: 'node' | 'chromium';
  log?: (line: string) => void;
}

/** Defaults that finish in minutes on a software adapter, and the issue's sizes on a GPU. */
export function defaultOptions(software: boolean, host: 'node' | 'chromium'): BenchOptions {
  return software
    ? { suite: 'all', size: 32, batch: 1, reps: 3, inference: { size: 32, batch: 1 }, train: { size: 32, batch: 1 }, modelReps: 2, host }
    : { suite: 'all', size: 256, batch: 1, reps: 10, inference: { size: 512, batch: 1 }, train: { size: 256, batch: 4 }, modelReps: 5, host };
}

export async function runBench(engine: Engine, tf: Tf, opts: BenchOptions): Promise<BenchResults> {
  const log = opts.log ?? (() => {});
  const software = engine.adapter.fallback;
  log(`adapter: ${engine.adapter.vendor} / ${engine.adapter.architecture}${software ? ' (software)' : ''}; tfjs backend ${tf.getBackend()}`);
  const c = await measureCeilings(engine);
  log(`ceilings: FMA ${fmt(c.fmaGflops)} GFLOP/s, copy ${fmt(c.copyGbps)} GB/s (${c.timing})`);
  const timing = { reps: opts.reps, targetMs: software ? 50 : 25, maxInner: software ? 20 : 50 };
  const results: BenchResults = {
    meta: {
      host: opts.host,
      date: new Date().toISOString(),
      adapter: { ...engine.adapter },
      ceilings: { fmaGflops: c.fmaGflops, copyGbps: c.copyGbps, timing: c.timing },
      size: opts.size,
      batch: opts.batch,
      reps: opts.reps,
      tfjsVersion: (tf as unknown as { version_core?: string }).version_core ?? 'unknown',
      tfjsBackend: 'webgpu',
      timing:
        `both sides wall clock per op: one warm-up run, then ${opts.reps} repetitions of back-to-back runs` +
        ` (as many as fill ~${timing.targetMs} ms, ≤ ${timing.maxInner}; 1 when the first run is long)` +
        ' ending in a real completion wait (osteo: engine.sync(); tfjs-webgpu: its submit + queue.onSubmittedWorkDone; other tfjs backends: readback of one element of the result). "osteo GPU ms" sums timestamp-query times of its dispatches (one compute pass each).',
      userAgent: (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent,
    },
    kernels: [],
    model: [],
    notes: [],
  };
  if (opts.suite === 'kernels' || opts.suite === 'all') {
    results.kernels = await runKernelSuite(engine, tf, {
      ...timing,
      size: opts.size,
      batch: opts.batch,
      ceilings: c,
      filter: opts.filter ? new RegExp(opts.filter) : undefined,
      extraBackends: opts.extraBackends,
      log,
    });
  }
  if (opts.suite !== 'kernels') {
    results.model = await runModelSuite(engine, tf, { inference: opts.inference, train: opts.train, reps: opts.modelReps, extraBackends: opts.extraBackends, ...(opts.onnx ? { onnx: opts.onnx } : {}), log });
  }
  results.notes = autoNotes(results, software);
  return results;
}

/** Notes generated from the numbers: goals met or missed (docs/DESIGN.md §5 / issue 6). */
export function autoNotes(r: BenchResults, software: boolean): string[] {
  const notes: string[] = [];
  const summary = opSummary(r.kernels);
  const convs = summary.filter((s) => s.op.startsWith('conv_'));
  if (software && convs.length) {
    for (const s of convs) {
      const missed = r.kernels.filter((k) => k.op === s.op && k.ratio != null && k.ratio < 2).map((k) => `${k.shape} ${fmt(k.ratio)}x`);
      notes.push(
        `Goal (CPU fallback): every ${s.op} ≥ 2x tfjs-webgpu — ${s.atGoal}/${s.rows} rows reach it (geomean ${fmt(s.geomeanRatio)}x, min ${fmt(s.minRatio)}x)` +
          (missed.length ? `; below 2x: ${missed.join(', ')}.` : '.'),
      );
    }
  }
  if (!software) {
    const goals: Record<string, number> = { conv_fwd: 25_000, conv_dx: 20_000, conv_dw: 15_000 };
    for (const s of convs) {
      const g = goals[s.op];
      if (!g) continue;
      // the same rows by GPU time (timestamps): what the kernels reach without launch overhead
      const gpuRates = r.kernels.filter((k) => k.op === s.op && k.osteoGpuMs).map((k) => ratePerSecond(k.flops, k.osteoGpuMs!));
      const byGpu = gpuRates.length ? geomean(gpuRates) : NaN;
      notes.push(
        `Goal (GPU): ${s.op} geomean ≥ ${g / 1000} TFLOP/s — measured ${fmt(s.osteoGeomeanRate / 1000)} TFLOP/s by wall clock per op (tfjs ${fmt(s.tfjsGeomeanRate / 1000)}), ${s.osteoGeomeanRate >= g ? 'met' : 'missed'}` +
          (Number.isFinite(byGpu) ? `; ${fmt(byGpu / 1000)} TFLOP/s by GPU time (${byGpu >= g ? 'met' : 'missed'}).` : '.'),
      );
    }
    const goalRows = r.kernels.filter((k) => k.unit === 'GB/s' && k.layer === GOAL_LAYER);
    if (goalRows.length) {
      const copy = r.meta.ceilings.copyGbps;
      const share = (k: KernelRow, ms: number | null | undefined) => (ms ? ratePerSecond(k.bytes, ms) / copy : NaN);
      const parts = goalRows.map((k) => `${k.op} ${pct(share(k, k.osteo?.median))} wall / ${pct(share(k, k.osteoGpuMs))} GPU`);
      const metWall = goalRows.filter((k) => share(k, k.osteo?.median) >= 0.5).length;
      const metGpu = goalRows.filter((k) => share(k, k.osteoGpuMs) >= 0.5).length;
      notes.push(
        `Goal (GPU): pool, upsample, concat and batch norm ≥ 50% of the copy ceiling (${fmt(copy)} GB/s) at 64x256x256 — ${metGpu}/${goalRows.length} rows by GPU time (timestamps), ${metWall}/${goalRows.length} by wall clock per op (which includes a launch): ${parts.join(', ')}.`,
      );
    }
    const train = r.model.find((m) => m.name === 'train_step');
    if (train?.ratio != null) notes.push(`Goal (GPU): training step ≥ 4x tfjs-webgpu — measured ${fmt(train.ratio)}x, ${train.ratio >= 4 ? 'met' : 'missed'}.`);
  }
  for (const m of r.model) {
    for (const [name, b] of Object.entries(m.runtimes ?? {})) {
      if (!b.phase || !m.osteo) continue;
      const ratio = b.phase.steady.median / m.osteo.steady.median;
      notes.push(
        `${name} (${b.detail}) runs the exported model (${m.name} b${m.batch} ${m.size}², same weights and input; outputs agreed to ${b.maxAbsDiff!.toExponential(1)} at output scale ${b.outputScale!.toExponential(1)} before timing) in ${fmt(b.phase.steady.median)} ms steady, ` +
          `${fmt(b.phase.firstMs)} ms first (session ${fmt(b.createMs)} ms); osteo ${fmt(m.osteo.steady.median)} ms: ${ratio >= 1 ? `osteo ${fmt(ratio)}x faster` : `${name} ${fmt(1 / ratio)}x faster`}.`,
      );
    }
  }
  const failed = [...r.kernels, ...r.model].filter((x) => x.errors?.length);
  if (failed.length) notes.push(`${failed.length} rows had errors (the text is in the tables' errors column; the first: ${failed[0]!.errors![0]}).`);
  const shares = r.kernels.flatMap((k) => [k.osteoCeilingShare, k.tfjsCeilingShare]).filter((x): x is number => x != null && Number.isFinite(x));
  const over = shares.filter((x) => x > 1);
  if (over.length) {
    notes.push(
      `${over.length} ceiling shares are above 100 % (up to ${pct(Math.max(...over))}): the ceilings are measured once, at the start of the run, with a short FMA / copy kernel; ` +
        'on a shared CPU (software adapter) or a GPU still ramping its clocks that under-estimates the device, so read such a share as "at the ceiling", not above it.',
    );
  }
  if (r.model.some((m) => m.name === 'train_step')) notes.push('tfjs has no AdamW: its training step uses tf.train.adam (same per-parameter cost up to one FMA); osteo uses AdamW. osteo\'s step also reads the loss back once to check it is finite (as LandmarkTrainer does).');
  notes.push('Byte counts are the minimum traffic (each input read once, each output written once), identical for both libraries; osteo\'s max-pool also writes an argmax, its batch norm reads x twice.');
  return notes;
}

/** What a user may override from the command line (or the page's query). */
export interface BenchOverrides {
  suite?: Suite;
  size?: number;
  batch?: number;
  reps?: number;
  trainSize?: number;
  trainBatch?: number;
  filter?: string;
  extraBackends?: string[];
}

/** --size sets the kernel shapes and the inference size; the training step keeps its own unless given. */
export function applyOverrides(d: BenchOptions, o: BenchOverrides): BenchOptions {
  const out: BenchOptions = { ...d, inference: d.inference && { ...d.inference }, train: d.train && { ...d.train } };
  if (o.suite) out.suite = o.suite;
  if (o.suite === 'inference') out.train = null;
  if (o.size) {
    out.size = o.size;
    if (out.inference) out.inference.size = o.size;
  }
  if (o.batch) out.batch = o.batch;
  if (o.reps) {
    out.reps = o.reps;
    out.modelReps = o.reps;
  }
  if (o.trainSize && out.train) out.train.size = o.trainSize;
  if (o.trainBatch && out.train) out.train.batch = o.trainBatch;
  if (o.filter) out.filter = o.filter;
  if (o.extraBackends) out.extraBackends = o.extraBackends;
  for (const s of [out.size, out.inference?.size, out.train?.size]) {
    if (s !== undefined && (s % 32 !== 0 || s < 32)) throw new RangeError(`size ${s} must be a multiple of 32 (U-Net++ pools five times)`);
  }
  return out;
}

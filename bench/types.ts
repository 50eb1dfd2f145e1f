/** The shape of a benchmark run's results (JSON), shared by the suites, the hosts and the report. */
import type { Timing } from './stats';

export type RateUnit = 'GFLOP/s' | 'GB/s';

export interface KernelRow {
  /** Row key, unique in a run: op + shape. */
  key: string;
  /** conv_fwd, conv_dx, conv_dw, maxpool_fwd, maxpool_bwd, upsample_nearest_fwd, … */
  op: string;
  /** The model layers with this shape (first name, and how many more). */
  layer: string;
  /** NCHW shape text, e.g. "1x64x64x64 → 64". */
  shape: string;
  unit: RateUnit;
  /** Useful FLOPs (conv: 2·N·H·W·Cout·Cin·k²) and the fewest bytes the op must move. */
  flops: number;
  bytes: number;
  /** Wall clock per op over back-to-back runs ending in a real completion wait (the comparison column). */
  osteo: Timing | null;
  /** osteo's GPU time per op from timestamp queries (sum over its dispatches), when the adapter has them. */
  osteoGpuMs: number | null;
  /** The same op on tfjs-backend-webgpu, timed the same way as `osteo`. */
  tfjs: Timing | null;
  /** tfjs time / osteo time (> 1: osteo faster). */
  ratio: number | null;
  osteoRate: number | null;
  tfjsRate: number | null;
  /** osteo rate / the device ceiling for the unit (FMA for GFLOP/s, copy for GB/s). */
  osteoCeilingShare: number | null;
  tfjsCeilingShare: number | null;
  errors?: string[];
  /** Extra tfjs baselines (Chromium host: webgl, wasm): backend → median ms per op. */
  extra?: Record<string, number | null>;
}

export interface ModelPhase {
  /** The first run, shader compilation and pipeline creation included. */
  firstMs: number;
  steady: Timing;
}

export interface ModelRow {
  name: 'inference' | 'train_step';
  batch: number;
  size: number;
  /** FLOPs of one run (sum over the convs; forward only or forward + dx + dW). */
  flops: number;
  osteo: ModelPhase | null;
  /** Sum of per-dispatch GPU times of one steady run (timestamp queries), when available. */
  osteoGpuMs: number | null;
  tfjs: ModelPhase | null;
  ratio: number | null;
  errors?: string[];
  extra?: Record<string, ModelPhase | null>;
  /** Other runtimes running osteo's exported ONNX model (same weights), by column name (inference only). */
  runtimes?: Record<string, RuntimeBaseline>;
}

/** An ONNX runtime's whole-model run, timed only after its output matched osteo's (bench/onnx_baseline.ts). */
export interface RuntimeBaseline {
  /** Runtime version, execution provider, threads. */
  detail: string;
  /** First run = session creation + the first inference; steady runs after it. */
  phase: ModelPhase | null;
  /** Session creation (model load, graph optimisation) alone. */
  createMs: number | null;
  /** max |runtime − osteo| over the output, and the largest |osteo output| (the check before timing). */
  maxAbsDiff: number | null;
  outputScale: number | null;
  error?: string;
}

export interface BenchMeta {
  host: 'node' | 'chromium';
  date: string;
  adapter: { vendor: string; architecture: string; description: string; fallback: boolean; source: string };
  /** Measured ceilings on this device (measureCeilings). */
  ceilings: { fmaGflops: number; copyGbps: number; timing: string };
  size: number;
  batch: number;
  reps: number;
  tfjsVersion: string;
  tfjsBackend: string;
  /** How each column was timed. */
  timing: string;
  userAgent?: string;
}

export interface BenchResults {
  meta: BenchMeta;
  kernels: KernelRow[];
  model: ModelRow[];
  /** Honest notes: goals missed and what limits them, skipped baselines, caveats. */
  notes: string[];
}

/**
 * Aggregation of benchmark timings: median and spread over repetitions, throughput, speed-up
 * ratios and geometric means. Pure functions (no GPU): the unit test checks the arithmetic. The
 * generic statistics (median, geometric mean) are src/util/stats.ts's.
 */
import { makeRng } from '../src/nn/random';
import { median } from '../src/util/stats';

export interface Timing {
  /** Milliseconds per op: median over repetitions. */
  median: number;
  min: number;
  max: number;
  /** (max − min) / median, in percent: how much the repetitions disagree. */
  spreadPct: number;
  /** Repetitions the median is taken over (each itself the mean of `inner` back-to-back runs). */
  reps: number;
  inner: number;
}

/** Summarises per-op times (ms) of `reps` repetitions, each the mean over `inner` back-to-back runs. */
export function summarizeTimes(times: readonly number[], inner = 1): Timing {
  if (times.length === 0) return { median: NaN, min: NaN, max: NaN, spreadPct: NaN, reps: 0, inner };
  const med = median(times);
  const min = Math.min(...times);
  const max = Math.max(...times);
  return { median: med, min, max, spreadPct: med > 0 ? ((max - min) / med) * 100 : 0, reps: times.length, inner };
}

/** GFLOP/s (flops) or GB/s (bytes) of `amount` done in `ms` milliseconds. */
export function ratePerSecond(amount: number, ms: number): number {
  return ms > 0 && Number.isFinite(ms) ? amount / (ms * 1e6) : NaN;
}

/** Speed-up of osteo over the baseline: baseline time / osteo time (> 1: osteo is faster). */
export function speedup(baselineMs: number | null | undefined, osteoMs: number | null | undefined): number | null {
  if (baselineMs == null || osteoMs == null || !(baselineMs > 0) || !(osteoMs > 0)) return null;
  return baselineMs / osteoMs;
}

/**
 * How many back-to-back runs make one timed repetition: enough that one repetition lasts about
 * `targetMs` (so the sync at its end is a small share), at most `maxInner`. `oneRunMs` is a
 * warm single run's wall time.
 */
export function innerRuns(oneRunMs: number, targetMs: number, maxInner: number): number {
  if (!(oneRunMs > 0)) return 1;
  return Math.max(1, Math.min(maxInner, Math.round(targetMs / oneRunMs)));
}

/** Compact number for tables: 3 significant digits, no exponent below 1e6. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x == null || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6) return x.toExponential(2);
  if (a >= 10 ** digits) return x.toFixed(0);
  return Number(x.toPrecision(digits)).toString();
}

/** Seeded uniform values in [−a, a] (src/nn/random.ts's PRNG): the same data every run. */
export function uniformData(n: number, seed: number, a = 1): Float32Array {
  const rng = makeRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-a, a);
  return out;
}

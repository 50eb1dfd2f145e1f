/**
 * The statistics every layer uses, in one place (host-neutral): mean, sample standard deviation,
 * median, quantiles, geometric mean and a seeded percentile bootstrap of a difference of means
 * (src/nn/random.ts makes it reproducible). The report, the experiments, the metrics and the
 * benchmarks import these instead of their own copies.
 */
import { makeRng } from '../nn/random';

export const mean = (v: readonly number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sd(v: readonly number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

/** Median (the mean of the middle two for an even count); NaN for no values. */
export function median(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Geometric mean of the positive finite values (NaN when there are none). */
export function geomean(v: readonly (number | null | undefined)[]): number {
  const p = v.filter((x): x is number => x != null && Number.isFinite(x) && x > 0);
  if (p.length === 0) return NaN;
  return Math.exp(p.reduce((s, x) => s + Math.log(x), 0) / p.length);
}

/** Quantile q ∈ [0, 1] with linear interpolation (numpy's default); NaN for no values. */
export function quantile(v: readonly number[], q: number): number {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  if (lo === hi || s[lo] === s[hi] || !Number.isFinite(s[hi]!)) return pos === lo ? s[lo]! : s[hi]!;
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** A value with its 95 % interval. */
export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

/**
 * Difference of means `mean(a) − mean(b)` with a 95 % percentile-bootstrap interval: each
 * replicate resamples `a` and `b` independently with replacement (the two sets are different images).
 */
export function bootstrapMeanDiff(a: readonly number[], b: readonly number[], opts: { reps?: number; seed?: number } = {}): Interval {
  const reps = opts.reps ?? 2000;
  const rng = makeRng(opts.seed ?? 1);
  const draw = (v: readonly number[]): number => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[rng.int(0, v.length)]!;
    return s / v.length;
  };
  const d: number[] = [];
  if (a.length && b.length) for (let r = 0; r < reps; r++) d.push(draw(a) - draw(b));
  return { value: mean(a) - mean(b), lo: quantile(d, 0.025), hi: quantile(d, 0.975) };
}

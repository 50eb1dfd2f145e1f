/**
 * The learning curve's model (host-neutral): test error against the number of annotated training
 * images, MRE(n) = a·n^(−b) + c, with a, b, c ≥ 0 (c: the error more data of the same kind cannot
 * remove). Fit: for a fixed b the model is linear in (a, c), so a log-spaced grid over b with
 * non-negative least squares for (a, c) at each b, then a golden-section refinement of b around
 * the best grid point. Uncertainty: a seeded bootstrap over the repeats at each size (every size
 * keeps its number of runs, drawn with replacement), or over the residuals when a size has a single
 * run; the fraction of replicates whose asymptote lies above a target says how sure "unreachable" is.
 */
import { makeRng } from '../nn/random';
import { quantile } from '../util/stats';

export interface CurvePoint {
  /** Annotated training images. */
  n: number;
  /** Test MRE of a run trained on them. */
  mre: number;
}

export interface PowerLaw {
  a: number;
  b: number;
  c: number;
}

export interface PowerLawFit extends PowerLaw {
  /** Root mean squared residual. */
  rmse: number;
  points: number;
}

export const powerLaw = (p: PowerLaw, n: number): number => p.a * n ** -p.b + p.c;

/** Least squares of y ≈ a·x + c with a, c ≥ 0 (x = n^−b); returns the squared error too. */
function fitLinear(x: readonly number[], y: readonly number[]): { a: number; c: number; sse: number } {
  const n = x.length;
  const sse = (a: number, c: number) => x.reduce((s, xi, i) => s + (a * xi + c - y[i]!) ** 2, 0);
  const mx = x.reduce((s, v) => s + v, 0) / n, my = y.reduce((s, v) => s + v, 0) / n;
  const sxx = x.reduce((s, v) => s + (v - mx) ** 2, 0), sxy = x.reduce((s, v, i) => s + (v - mx) * (y[i]! - my), 0);
  const candidates: { a: number; c: number }[] = [];
  if (sxx > 0) {
    const a = sxy / sxx, c = my - a * mx;
    if (a >= 0 && c >= 0) candidates.push({ a, c });
  }
  // boundaries: c = 0 (a through the origin), a = 0 (a constant)
  const sxx0 = x.reduce((s, v) => s + v * v, 0);
  candidates.push({ a: sxx0 > 0 ? Math.max(0, x.reduce((s, v, i) => s + v * y[i]!, 0) / sxx0) : 0, c: 0 });
  candidates.push({ a: 0, c: Math.max(0, my) });
  let best = { a: 0, c: 0, sse: Infinity };
  for (const k of candidates) {
    const e = sse(k.a, k.c);
    if (e < best.sse) best = { ...k, sse: e };
  }
  return best;
}

const B_MIN = 0.01, B_MAX = 3;

/** The least-squares power law through the points (at least three distinct n). */
export function fitPowerLaw(points: readonly CurvePoint[]): PowerLawFit {
  const ok = points.filter((p) => p.n > 0 && Number.isFinite(p.mre));
  if (new Set(ok.map((p) => p.n)).size < 3) throw new RangeError(`fitPowerLaw: needs runs at three or more training-set sizes, got ${new Set(ok.map((p) => p.n)).size}`);
  const y = ok.map((p) => p.mre);
  const at = (b: number) => ({ b, ...fitLinear(ok.map((p) => p.n ** -b), y) });
  const grid = 120;
  let best = at(B_MIN);
  let bestI = 0;
  for (let i = 1; i <= grid; i++) {
    const r = at(B_MIN * (B_MAX / B_MIN) ** (i / grid));
    if (r.sse < best.sse) { best = r; bestI = i; }
  }
  // golden section on log b between the neighbours of the best grid point
  let lo = Math.log(B_MIN) + (Math.log(B_MAX / B_MIN) * Math.max(0, bestI - 1)) / grid;
  let hi = Math.log(B_MIN) + (Math.log(B_MAX / B_MIN) * Math.min(grid, bestI + 1)) / grid;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 60; it++) {
    const m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo);
    if (at(Math.exp(m1)).sse < at(Math.exp(m2)).sse) hi = m2;
    else lo = m1;
  }
  const refined = at(Math.exp((lo + hi) / 2));
  if (refined.sse < best.sse) best = refined;
  return { a: best.a, b: best.b, c: best.c, rmse: Math.sqrt(best.sse / ok.length), points: ok.length };
}

/** Annotated images for which the law reaches `target`, or Infinity when its asymptote c is at or above it. */
export function imagesForTarget(p: PowerLaw, target: number): number {
  if (p.c >= target) return Infinity;
  if (p.a <= 0) return 1;
  return Math.max(1, (p.a / (target - p.c)) ** (1 / p.b));
}

export interface BootstrapFit {
  fit: PowerLawFit;
  /** Parameters of every replicate (kept so a report can ask about another target). */
  samples: PowerLaw[];
  method: 'repeats' | 'residuals';
  reps: number;
  seed: number;
}

/** The fit plus `reps` bootstrap refits (seeded). */
export function bootstrapPowerLaw(points: readonly CurvePoint[], opts: { reps?: number; seed?: number } = {}): BootstrapFit {
  const reps = opts.reps ?? 400;
  const seed = opts.seed ?? 1;
  const fit = fitPowerLaw(points);
  const rng = makeRng(seed);
  const bySize = new Map<number, CurvePoint[]>();
  for (const p of points) bySize.set(p.n, [...(bySize.get(p.n) ?? []), p]);
  const method: BootstrapFit['method'] = [...bySize.values()].every((v) => v.length >= 2) ? 'repeats' : 'residuals';
  const residuals = points.map((p) => p.mre - powerLaw(fit, p.n));
  const samples: PowerLaw[] = [];
  for (let r = 0; r < reps; r++) {
    const draw: CurvePoint[] = method === 'repeats'
      ? [...bySize.values()].flatMap((v) => v.map(() => v[rng.int(0, v.length)]!))
      : points.map((p) => ({ n: p.n, mre: powerLaw(fit, p.n) + residuals[rng.int(0, residuals.length)]! }));
    try {
      const f = fitPowerLaw(draw);
      samples.push({ a: f.a, b: f.b, c: f.c });
    } catch {
      /* a degenerate draw: skipped */
    }
  }
  return { fit, samples, method, reps, seed };
}

/** What the curve predicts for a target MRE. */
export interface TargetPrediction {
  target: number;
  /** Images predicted to reach it (Infinity: the asymptote c is at or above it). */
  images: number;
  /** 95 % bootstrap interval of that number (Infinity where replicates never reach it). */
  lo: number;
  hi: number;
  /** Share of replicates whose asymptote lies at or above the target. */
  unreachableShare: number;
}

export function predictTarget(b: { fit: PowerLaw; samples: readonly PowerLaw[] }, target: number): TargetPrediction {
  const ns = b.samples.map((s) => imagesForTarget(s, target));
  return {
    target,
    images: imagesForTarget(b.fit, target),
    lo: quantile(ns, 0.025),
    hi: quantile(ns, 0.975),
    unreachableShare: ns.length ? ns.filter((n) => !Number.isFinite(n)).length / ns.length : NaN,
  };
}

/** 95 % band of the replicates' curves at n. */
export function band(samples: readonly PowerLaw[], n: number): { lo: number; hi: number } {
  const v = samples.map((s) => powerLaw(s, n));
  return { lo: quantile(v, 0.025), hi: quantile(v, 0.975) };
}

/**
 * Calibrated confidence (browser-safe): a map from a landmark's score (e.g. the log of its heatmap
 * peak) to the error it is expected to have, learnt on validation predictions.
 *
 * expectedError(j, score) = factor_j · g(score), where
 *   - g is a non-increasing step function of the score (isotonic regression by pool-adjacent-
 *     violators, Ayer et al. 1955 / Barlow 1972: the least-squares fit among monotone functions),
 *     fitted on every landmark's errors divided by its factor;
 *   - factor_j is landmark j's mean error over the mean of all, shrunk toward 1 by `prior`
 *     pseudo-observations (with 15 validation images a landmark has 15 errors: too few for its own
 *     curve, enough to say that gonion is harder than sella).
 * Errors are stored in whatever unit the caller uses (src/train/guards.ts: fractions of the
 * image's longer side, so a model file's calibration applies at any resolution).
 */

/** The calibration as stored in a checkpoint. */
export interface ErrorCalibration {
  /** Score thresholds, increasing: step i applies for scores ≥ knots[i] (below knots[0]: step 0). */
  knots: number[];
  /** Expected (factor-free) error at each step, non-increasing. */
  values: number[];
  /** Per landmark multiplier. */
  factor: number[];
  /** Samples it was learnt from. */
  n: number;
}

/** One validation observation. */
export interface CalibrationSample {
  landmark: number;
  score: number;
  error: number;
}

/**
 * Isotonic (non-increasing in x) least-squares fit of y on x: returns the blocks as (first x of
 * the block, block mean), x increasing, means non-increasing.
 */
export function isotonicDecreasing(x: readonly number[], y: readonly number[]): { knots: number[]; values: number[] } {
  if (x.length !== y.length) throw new RangeError(`isotonicDecreasing: ${x.length} x, ${y.length} y`);
  if (!x.length) throw new RangeError('isotonicDecreasing: no samples');
  const order = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]!);
  // blocks of (sum, count, first x); merge while a block's mean exceeds its predecessor's (violates non-increasing)
  const sums: number[] = [], counts: number[] = [], starts: number[] = [];
  for (const i of order) {
    // equal x values must share one block (a step function of x)
    if (starts.length && starts[starts.length - 1] === x[i]) { sums[sums.length - 1]! += y[i]!; counts[counts.length - 1]! += 1; }
    else { sums.push(y[i]!); counts.push(1); starts.push(x[i]!); }
    while (sums.length > 1 && sums[sums.length - 1]! / counts[counts.length - 1]! > sums[sums.length - 2]! / counts[counts.length - 2]!) {
      const s = sums.pop()!, c = counts.pop()!;
      starts.pop();
      sums[sums.length - 1]! += s;
      counts[counts.length - 1]! += c;
    }
  }
  return { knots: starts, values: sums.map((s, i) => s / counts[i]!) };
}

/** Learns an ErrorCalibration for `k` landmarks from validation samples. */
export function fitErrorCalibration(samples: readonly CalibrationSample[], k: number, prior = 10): ErrorCalibration {
  if (!samples.length) throw new RangeError('fitErrorCalibration: no validation samples');
  for (const s of samples) {
    if (!(Number.isInteger(s.landmark) && s.landmark >= 0 && s.landmark < k)) throw new RangeError(`fitErrorCalibration: landmark ${s.landmark} outside 0..${k - 1}`);
    if (!Number.isFinite(s.score) || !(s.error >= 0)) throw new RangeError(`fitErrorCalibration: bad sample (score ${s.score}, error ${s.error})`);
  }
  const overall = samples.reduce((a, s) => a + s.error, 0) / samples.length;
  const sum = new Array<number>(k).fill(0), cnt = new Array<number>(k).fill(0);
  for (const s of samples) { sum[s.landmark]! += s.error; cnt[s.landmark]! += 1; }
  const factor = sum.map((e, j) => (overall > 0 ? (e / overall + prior) / (cnt[j]! + prior) : 1));
  const iso = isotonicDecreasing(samples.map((s) => s.score), samples.map((s) => s.error / factor[s.landmark]!));
  return { ...iso, factor, n: samples.length };
}

/** The expected error of landmark j at `score`. */
export function expectedError(c: ErrorCalibration, j: number, score: number): number {
  let i = 0;
  // last knot ≤ score (scores below the first knot use the first step)
  let lo = 0, hi = c.knots.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c.knots[mid]! <= score) { i = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return (c.factor[j] ?? 1) * c.values[i]!;
}

/** Spearman rank correlation of two equal-length series (ties get their mean rank). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (v: readonly number[]): number[] => {
    const idx = v.map((_, i) => i).sort((x, y) => v[x]! - v[y]!);
    const r = new Array<number>(v.length);
    for (let s = 0; s < idx.length;) {
      let e = s;
      while (e + 1 < idx.length && v[idx[e + 1]!] === v[idx[s]!]) e++;
      for (let t = s; t <= e; t++) r[idx[t]!] = (s + e) / 2;
      s = e + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b);
  const n = a.length;
  const ma = ra.reduce((x, y) => x + y, 0) / n, mb = rb.reduce((x, y) => x + y, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) { num += (ra[i]! - ma) * (rb[i]! - mb); da += (ra[i]! - ma) ** 2; db += (rb[i]! - mb) ** 2; }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/**
 * A statistical shape model of K landmarks (browser-safe): the mean shape after a similarity
 * (Procrustes) alignment of training annotations, and each landmark's spread about it.
 *
 * Similarity fit. For points p_j and a template q_j with weights w_j, the least-squares
 * similarity p ≈ s R q + t (rotation, isotropic scale, translation) has a closed form in complex
 * numbers (Umeyama 1991, restricted to 2-D): with centred p̃, q̃, a + ib = Σ w (p̃ · conj(q̃)) / Σ w |q̃|²,
 * s R = [[a, -b], [b, a]]. Reflections are not allowed (a mirrored head is not a plausible shape).
 *
 * Learning (generalised Procrustes analysis, Gower 1975): shapes are centred and scaled to unit
 * centroid size, aligned to the current mean, the mean re-estimated and normalised, a few rounds.
 * Each landmark's spread is the RMS of its residual to the aligned mean (isotropic, in units of
 * the unit-size mean shape), from annotations: how far real anatomy varies.
 *
 * Checking predictions: a robust fit (iteratively reweighted: landmarks far from the shape get
 * weight 0 and the fit is redone, so one point sent to an empty corner does not drag the others)
 * places the mean shape on the image; each landmark's residual to its place, divided by
 * (scale · spread), is its z (≈ a standard normal distance; z > 4 is very unlikely for anatomy).
 */
import type { Point } from '../data/types';

/** The learnt shape model, as stored in a checkpoint (plain JSON numbers). */
export interface ShapeModel {
  /** Mean shape, centred at the origin with unit centroid size (√Σ|q|² = 1), in image axes (x right, y down). */
  mean: Point[];
  /** Per landmark: RMS residual about the aligned mean, per axis, in units of the mean shape. */
  spread: number[];
  /** Number of training shapes. */
  n: number;
}

/** A similarity map p = s R q + t as [a, b, tx, ty]: x' = a x - b y + tx, y' = b x + a y + ty. */
export type Similarity = [number, number, number, number];

export const applySimilarity = (m: Similarity, [x, y]: Point): Point => [m[0] * x - m[1] * y + m[2], m[1] * x + m[0] * y + m[3]];

/** Scale of a similarity (|a + ib|). */
export const similarityScale = (m: Similarity): number => Math.hypot(m[0], m[1]);

/** The weighted least-squares similarity taking `template` onto `points` (weights default 1). */
export function fitSimilarity(template: readonly Point[], points: readonly Point[], weights?: readonly number[]): Similarity {
  if (template.length !== points.length) throw new RangeError(`fitSimilarity: ${template.length} template points, ${points.length} points`);
  let sw = 0, qx = 0, qy = 0, px = 0, py = 0;
  points.forEach((p, j) => {
    const w = weights?.[j] ?? 1;
    sw += w; qx += w * template[j]![0]; qy += w * template[j]![1]; px += w * p[0]; py += w * p[1];
  });
  if (!(sw > 0)) throw new RangeError('fitSimilarity: no point has a positive weight');
  qx /= sw; qy /= sw; px /= sw; py /= sw;
  let re = 0, im = 0, qq = 0;
  points.forEach((p, j) => {
    const w = weights?.[j] ?? 1;
    const ax = template[j]![0] - qx, ay = template[j]![1] - qy, bx = p[0] - px, by = p[1] - py;
    // (bx + i by) · (ax - i ay)
    re += w * (bx * ax + by * ay);
    im += w * (by * ax - bx * ay);
    qq += w * (ax * ax + ay * ay);
  });
  const a = qq > 0 ? re / qq : 1, b = qq > 0 ? im / qq : 0;
  return [a, b, px - (a * qx - b * qy), py - (b * qx + a * qy)];
}

/** Centred at the origin, scaled to unit centroid size. */
export function normaliseShape(points: readonly Point[]): Point[] {
  const k = points.length;
  const cx = points.reduce((a, p) => a + p[0], 0) / k, cy = points.reduce((a, p) => a + p[1], 0) / k;
  const size = Math.sqrt(points.reduce((a, p) => a + (p[0] - cx) ** 2 + (p[1] - cy) ** 2, 0));
  if (!(size > 0)) throw new RangeError('normaliseShape: every point is at the same place');
  return points.map(([x, y]) => [(x - cx) / size, (y - cy) / size]);
}

/** Generalised Procrustes analysis of ≥ 2 shapes of K points: mean shape and per-landmark spread. */
export function learnShapeModel(shapes: readonly (readonly Point[])[], rounds = 5): ShapeModel {
  if (shapes.length < 2) throw new RangeError(`learnShapeModel: need at least 2 annotated shapes, got ${shapes.length}`);
  const k = shapes[0]!.length;
  if (k < 3) throw new RangeError(`learnShapeModel: need at least 3 landmarks, got ${k}`);
  for (const s of shapes) if (s.length !== k) throw new RangeError(`learnShapeModel: a shape has ${s.length} landmarks, the first has ${k}`);
  const norm = shapes.map((s) => normaliseShape(s));
  let mean = norm[0]!;
  let aligned = norm;
  for (let r = 0; r < rounds; r++) {
    aligned = norm.map((s) => {
      // the map taking this shape onto the mean
      const m = fitSimilarity(s, mean);
      return s.map((p) => applySimilarity(m, p));
    });
    mean = normaliseShape(Array.from({ length: k }, (_, j) => {
      const x = aligned.reduce((a, s) => a + s[j]![0], 0) / aligned.length;
      const y = aligned.reduce((a, s) => a + s[j]![1], 0) / aligned.length;
      return [x, y] as Point;
    }));
  }
  aligned = norm.map((s) => {
    const m = fitSimilarity(s, mean);
    return s.map((p) => applySimilarity(m, p));
  });
  const spread = mean.map((q, j) => {
    const ss = aligned.reduce((a, s) => a + (s[j]![0] - q[0]) ** 2 + (s[j]![1] - q[1]) ** 2, 0);
    // per axis: the mean squared 2-D distance is 2 σ²
    return Math.sqrt(ss / (2 * aligned.length));
  });
  // a floor so that a landmark annotated identically everywhere does not make every prediction implausible
  const floor = 0.1 * spread.reduce((a, b) => a + b, 0) / k;
  return { mean, spread: spread.map((s) => Math.max(s, floor)), n: shapes.length };
}

/** How a set of points fits the shape model. */
export interface ShapeFit {
  /** The similarity placing the mean shape on the points (fitted on the inliers). */
  transform: Similarity;
  /** Where each landmark is expected, in the points' pixels. */
  expected: Point[];
  /** Per landmark: |point − expected| / (scale · spread) (≈ per-axis standard deviations). */
  z: number[];
  /** Per landmark: |point − expected| in the points' pixels. */
  residual: number[];
  /** Per landmark: whether the final fit used it. */
  inlier: boolean[];
}

/**
 * Robust similarity fit of the mean shape to `points`: landmarks whose z exceeds `cut` get weight
 * 0 and the fit is repeated (at most K/2 landmarks are dropped; the rest always fit).
 */
export function fitShape(model: ShapeModel, points: readonly Point[], cut = 3, rounds = 6): ShapeFit {
  const k = model.mean.length;
  if (points.length !== k) throw new RangeError(`fitShape: ${points.length} points for a shape model of ${k} landmarks`);
  let w = new Array<number>(k).fill(1);
  let fit = evaluateFit(model, points, fitSimilarity(model.mean, points, w), w);
  for (let r = 0; r < rounds; r++) {
    // drop the worst landmarks beyond the cut, never more than half
    const order = fit.z.map((z, j) => [z, j] as const).sort((a, b) => b[0] - a[0]);
    const next = new Array<number>(k).fill(1);
    let dropped = 0;
    for (const [z, j] of order) if (z > cut && dropped < Math.floor(k / 2)) { next[j] = 0; dropped++; }
    if (next.every((x, j) => x === w[j])) break;
    w = next;
    fit = evaluateFit(model, points, fitSimilarity(model.mean, points, w), w);
  }
  return fit;
}

function evaluateFit(model: ShapeModel, points: readonly Point[], transform: Similarity, w: number[]): ShapeFit {
  const s = similarityScale(transform);
  const expected = model.mean.map((q) => applySimilarity(transform, q));
  const residual = points.map((p, j) => Math.hypot(p[0] - expected[j]![0], p[1] - expected[j]![1]));
  const z = residual.map((r, j) => (s > 0 ? r / (s * model.spread[j]!) : Infinity));
  return { transform, expected, z, residual, inlier: w.map((x) => x > 0) };
}

/** z of one candidate position for landmark j under a fitted transform. */
export function landmarkZ(model: ShapeModel, fit: ShapeFit, j: number, p: Point): number {
  const e = fit.expected[j]!;
  const s = similarityScale(fit.transform);
  return Math.hypot(p[0] - e[0], p[1] - e[1]) / (s * model.spread[j]!);
}

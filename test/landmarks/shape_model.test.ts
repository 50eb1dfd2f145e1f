/** Similarity (Procrustes) fits and the shape model of src/landmarks/shape_model.ts. */
import { describe, expect, test } from 'vitest';
import type { Point } from '../../src/data/types';
import { applySimilarity, fitShape, fitSimilarity, learnShapeModel, normaliseShape, similarityScale, type Similarity } from '../../src/landmarks/shape_model';
import { makeRng } from '../../src/nn/random';

const BASE: Point[] = [[10, 20], [40, 22], [55, 60], [30, 80], [12, 55], [35, 45], [60, 30], [20, 35]];
const sim = (scale: number, angle: number, tx: number, ty: number): Similarity => [scale * Math.cos(angle), scale * Math.sin(angle), tx, ty];

describe('fitSimilarity', () => {
  test('recovers a known rotation, scale and translation exactly', () => {
    const m = sim(2.5, 0.7, 100, -40);
    const moved = BASE.map((p) => applySimilarity(m, p));
    const fit = fitSimilarity(BASE, moved);
    fit.forEach((v, i) => expect(v).toBeCloseTo(m[i]!, 9));
    expect(similarityScale(fit)).toBeCloseTo(2.5, 9);
  });

  test('weights: a point with weight 0 does not move the fit', () => {
    const m = sim(1.2, -0.3, 5, 7);
    const moved = BASE.map((p) => applySimilarity(m, p));
    moved[3] = [1000, -1000];
    const w = BASE.map((_, j) => (j === 3 ? 0 : 1));
    fitSimilarity(BASE, moved, w).forEach((v, i) => expect(v).toBeCloseTo(m[i]!, 9));
    // without the weight the outlier drags the fit away
    expect(Math.abs(fitSimilarity(BASE, moved)[2] - m[2])).toBeGreaterThan(10);
  });

  test('a mirrored shape is not fitted exactly (no reflections)', () => {
    const mirrored = BASE.map(([x, y]) => [-x, y] as Point);
    const fit = fitSimilarity(BASE, mirrored);
    const err = BASE.map((p, j) => Math.hypot(applySimilarity(fit, p)[0] - mirrored[j]![0], applySimilarity(fit, p)[1] - mirrored[j]![1]));
    expect(Math.max(...err)).toBeGreaterThan(5);
  });
});

describe('learnShapeModel', () => {
  const rng = makeRng(3);
  const noise = 0.8;
  // 60 shapes: BASE under random similarities, plus Gaussian noise of `noise` px per axis at scale s
  const shapes = Array.from({ length: 60 }, () => {
    const s = rng.uniform(0.5, 3);
    const m = sim(s, rng.uniform(-0.4, 0.4), rng.uniform(-50, 50), rng.uniform(-50, 50));
    return BASE.map((p) => {
      const q = applySimilarity(m, p);
      return [q[0] + s * noise * rng.normal(), q[1] + s * noise * rng.normal()] as Point;
    });
  });
  const model = learnShapeModel(shapes);

  test('the mean is the base shape up to a similarity, and the spread is the noise in mean-shape units', () => {
    const nb = normaliseShape(BASE);
    const fit = fitSimilarity(model.mean, nb);
    const err = model.mean.map((q, j) => Math.hypot(applySimilarity(fit, q)[0] - nb[j]![0], applySimilarity(fit, q)[1] - nb[j]![1]));
    // the base's centroid size in px: noise / size is the spread in unit-size units
    const c = BASE.reduce((a, p) => [a[0] + p[0] / BASE.length, a[1] + p[1] / BASE.length], [0, 0]);
    const size = Math.sqrt(BASE.reduce((a, p) => a + (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2, 0));
    expect(Math.max(...err)).toBeLessThan(0.3 * noise / size + 0.005);
    for (const s of model.spread) {
      expect(s).toBeGreaterThan(0.6 * noise / size);
      expect(s).toBeLessThan(1.3 * noise / size);
    }
    expect(model.n).toBe(60);
  });

  test('fitShape: a landmark sent to an empty corner gets a large z, its expected place stays where the anatomy puts it', () => {
    const m = sim(2, 0.2, 300, 200);
    const pts = BASE.map((p) => applySimilarity(m, p));
    const clean = fitShape(model, pts);
    expect(Math.max(...clean.z)).toBeLessThan(4);
    const bad = pts.map((p) => [...p] as Point);
    bad[2] = [0, 0];
    const fit = fitShape(model, bad);
    expect(fit.z[2]).toBeGreaterThan(20);
    expect(fit.inlier[2]).toBe(false);
    for (let j = 0; j < BASE.length; j++) if (j !== 2) expect(fit.z[j]).toBeLessThan(4);
    expect(Math.hypot(fit.expected[2]![0] - pts[2]![0], fit.expected[2]![1] - pts[2]![1])).toBeLessThan(3);
  });

  test('bad input is refused with a reason', () => {
    expect(() => learnShapeModel([BASE])).toThrow(/at least 2/);
    expect(() => learnShapeModel([BASE, BASE.slice(1)])).toThrow(/landmarks/);
    expect(() => fitShape(model, BASE.slice(1))).toThrow(/7 points/);
  });
});

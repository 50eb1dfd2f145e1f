import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/data/types';
import { decodeBatch, decodeHeatmaps } from '../../src/landmarks/decode';
import { fitTransform, gaussianHeatmaps } from '../../src/landmarks/preprocess';
import { mat3d } from 'wgpu-matrix';
import { makeRng } from '../../src/nn/random';

describe('argmax decoders', () => {
  const rng = makeRng(42);
  const pts: Point[] = Array.from({ length: 12 }, () => [rng.uniform(4, 59), rng.uniform(4, 43)]);
  it.each([1, 2, 3, 5])('gaussian refinement recovers sub-pixel centres within 0.1 px (σ=%f)', (sigma) => {
    const hm = gaussianHeatmaps(pts, 64, 48, sigma);
    const d = decodeHeatmaps(hm, pts.length, 48, 64);
    d.points.forEach((p, i) => {
      expect(Math.abs(p[0] - pts[i]![0])).toBeLessThan(0.1);
      expect(Math.abs(p[1] - pts[i]![1])).toBeLessThan(0.1);
    });
    expect(d.confidence.every((c) => c > 0.6 && c <= 1)).toBe(true);
  });
  it('scaled, offset and noisy Gaussians still decode within 0.1 px', () => {
    const hm = gaussianHeatmaps(pts, 64, 48, 3);
    const r = makeRng(3);
    for (let i = 0; i < hm.length; i++) hm[i] = 0.8 * hm[i]! + 0.001 * r.uniform(0, 1);
    decodeHeatmaps(hm, pts.length, 48, 64).points.forEach((p, i) => {
      expect(Math.hypot(p[0] - pts[i]![0], p[1] - pts[i]![1])).toBeLessThan(0.1);
    });
  });
  it('none / quadratic / softargmax', () => {
    const hm = gaussianHeatmaps([[10.3, 20.8]], 32, 32, 2);
    expect(decodeHeatmaps(hm, 1, 32, 32, { refine: 'none' }).points[0]).toEqual([10, 21]);
    const q = decodeHeatmaps(hm, 1, 32, 32, { refine: 'quadratic' }).points[0]!;
    expect(Math.abs(q[0] - 10.3)).toBeLessThan(0.15);
    expect(Math.abs(q[1] - 20.8)).toBeLessThan(0.15);
    const s = decodeHeatmaps(hm, 1, 32, 32, { refine: 'softargmax', window: 5 }).points[0]!;
    expect(Math.hypot(s[0] - 10.3, s[1] - 20.8)).toBeLessThan(0.2);
  });
  it('peaks on the border do not refine off the image', () => {
    const hm = gaussianHeatmaps([[0, 31]], 32, 32, 2);
    const p = decodeHeatmaps(hm, 1, 32, 32).points[0]!;
    expect(p).toEqual([0, 31]);
  });
});

describe('blob centroid decoder', () => {
  it('centroid of the thresholded component holding the max', () => {
    const hm = new Float32Array(10 * 10);
    // A 3x2 plateau (max 1) and a separate weaker blob (0.8) elsewhere.
    for (const [x, y] of [[2, 2], [3, 2], [4, 2], [2, 3], [3, 3], [4, 3]]) hm[y! * 10 + x!] = 1;
    hm[2 * 10 + 5] = 0.3; // below the threshold: not part of the blob
    for (const [x, y] of [[8, 8], [8, 7]]) hm[y! * 10 + x!] = 0.8;
    const p = decodeHeatmaps(hm, 1, 10, 10, { method: 'blob', threshold: 0.5 }).points[0]!;
    expect(p).toEqual([3, 2.5]);
    // Lower threshold pulls in the 0.3 pixel (8-connected); the other blob stays separate.
    expect(decodeHeatmaps(hm, 1, 10, 10, { method: 'blob', threshold: 0.25 }).points[0]).toEqual([(2 + 3 + 4 + 2 + 3 + 4 + 5) / 7, (2 + 2 + 2 + 3 + 3 + 3 + 2) / 7]);
  });
  it('recovers Gaussian centres (weighted within 0.05 px, unweighted within 0.35 px)', () => {
    const pts: Point[] = [[12.3, 17.6], [40.5, 8.2], [25.9, 30.1]];
    const hm = gaussianHeatmaps(pts, 48, 40, 5);
    const w = decodeHeatmaps(hm, 3, 40, 48, { method: 'blob', weighted: true }).points;
    const u = decodeHeatmaps(hm, 3, 40, 48, { method: 'blob' }).points;
    pts.forEach((p, i) => {
      expect(Math.hypot(w[i]![0] - p[0], w[i]![1] - p[1])).toBeLessThan(0.05);
      expect(Math.hypot(u[i]![0] - p[0], u[i]![1] - p[1])).toBeLessThan(0.35);
    });
  });
});

describe('batch decode back to original pixels', () => {
  it('maps model points through toOriginal', () => {
    const fit = fitTransform(400, 300, 64, 64, 'pad');
    const orig: Point[] = [[100.25, 50.5], [390, 280]];
    const model = orig.map((p) => [fit[0]! * p[0] + fit[8]!, fit[5]! * p[1] + fit[9]!] as Point);
    const hm = new Float32Array(2 * 2 * 64 * 64);
    gaussianHeatmaps(model, 64, 64, 2, undefined, hm, 0);
    gaussianHeatmaps(model, 64, 64, 2, undefined, hm, 2 * 64 * 64);
    const out = decodeBatch(hm, 2, 2, 64, 64, [mat3d.inverse(fit) as Float64Array, mat3d.inverse(fit) as Float64Array]);
    for (const d of out) d.points.forEach((p, i) => expect(Math.hypot(p[0] - orig[i]![0], p[1] - orig[i]![1])).toBeLessThan(0.1 * 400 / 64));
  });
});

import { mat3d } from 'wgpu-matrix';
import { describe, expect, it } from 'vitest';
import type { GreyImage, Point } from '../../src/data/types';
import { decodeHeatmaps } from '../../src/landmarks/decode';
import {
  applyAffine, collate, fitTransform, gaussianHeatmaps, mapPoints, minMaxNormalize, preprocess, warpBilinear,
} from '../../src/landmarks/preprocess';

/** An image with a Gaussian blob (σ in original pixels) at each point, on a background ramp. */
function blobImage(w: number, h: number, pts: Point[], sigma: number): GreyImage {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    let v = 10 + 0.01 * x;
    for (const [px, py] of pts) v += 1000 * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma * sigma));
    data[y * w + x] = v;
  }
  return { width: w, height: h, data, bitDepth: 16 };
}

describe('fit transform', () => {
  it('pad keeps aspect and centres; stretch fills; pixel-centre convention', () => {
    const m = fitTransform(200, 100, 64, 64, 'pad');
    // Image corners (edges of the outer pixels) map to the model image's edges / padding band.
    expect(applyAffine(m, [-0.5, -0.5])).toEqual([-0.5, 15.5]);
    expect(applyAffine(m, [199.5, 99.5])).toEqual([63.5, 47.5]);
    const s = fitTransform(200, 100, 64, 32, 'stretch');
    expect(applyAffine(s, [-0.5, -0.5])).toEqual([-0.5, -0.5]);
    expect(applyAffine(s, [199.5, 99.5])).toEqual([63.5, 31.5]);
    const back = mat3d.inverse(m);
    const p: Point = [123.25, 45.5];
    const q = applyAffine(back, applyAffine(m, p));
    expect(q[0]).toBeCloseTo(p[0], 10);
    expect(q[1]).toBeCloseTo(p[1], 10);
  });
  it('warp with identity is exact; min-max maps to [0, 1]', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => i * 3 + 1);
    expect(Array.from(warpBilinear(src, 4, 3, mat3d.identity() as Float64Array, 4, 3))).toEqual(Array.from(src));
    const n = minMaxNormalize(src);
    expect(n[0]).toBe(0); expect(n[11]).toBe(1);
  });
});

describe('preprocess', () => {
  const W = 300, H = 200;
  const pts: Point[] = [[40.3, 50.7], [150, 100], [251.6, 170.2], [120.2, 30.9]];
  const img = blobImage(W, H, pts, 6);

  it('round trip: points through resize + augmentation and back land within 0.5 px (image and points agree)', () => {
    for (const fit of ['pad', 'stretch'] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        const s = preprocess(img, pts, {
          size: 96, fit, sigma: 2, seed,
          augment: { rotationDeg: 15, scale: [0.85, 1.1], shift: 0.05, gamma: [1, 1], contrast: [1, 1], noise: 0 },
        });
        // Matrix round trip of the points.
        mapPoints(s.toOriginal, s.points).forEach((p, i) => {
          expect(Math.hypot(p[0] - pts[i]![0], p[1] - pts[i]![1])).toBeLessThan(1e-9);
        });
        // The warped image's blobs sit where the warped points say: decode the input as heatmaps.
        s.points.forEach((p, i) => {
          if (!s.visible[i]) return;
          const hm = new Float32Array(s.input.length);
          const r = 4;
          for (let y = Math.max(0, Math.round(p[1]) - r); y <= Math.min(95, Math.round(p[1]) + r); y++)
            for (let x = Math.max(0, Math.round(p[0]) - r); x <= Math.min(95, Math.round(p[0]) + r); x++) hm[y * 96 + x] = s.input[y * 96 + x]!;
          const d = decodeHeatmaps(hm, 1, 96, 96, { method: 'blob', threshold: 0.6, weighted: true }).points[0]!;
          expect(Math.hypot(d[0] - p[0], d[1] - p[1])).toBeLessThan(0.5);
        });
      }
    }
  });

  it('large downscale goes through the area filter and still lands within 0.5 model px', () => {
    const big = blobImage(1200, 900, [[600.4, 300.2], [250.5, 700.5]], 20);
    const s = preprocess(big, [[600.4, 300.2], [250.5, 700.5]], { size: 64, sigma: 2 });
    s.points.forEach((p) => {
      const hm = new Float32Array(64 * 64);
      for (let y = Math.round(p[1]) - 3; y <= Math.round(p[1]) + 3; y++) for (let x = Math.round(p[0]) - 3; x <= Math.round(p[0]) + 3; x++) hm[y * 64 + x] = s.input[y * 64 + x]!;
      const q = decodeHeatmaps(hm, 1, 64, 64, { method: 'blob', threshold: 0.3, weighted: true }).points[0]!;
      expect(Math.hypot(q[0] - p[0], q[1] - p[1])).toBeLessThan(0.5);
    });
  });

  it('heatmap targets peak at the landmark (value 1 at integer points, NCHW order)', () => {
    const hm = gaussianHeatmaps([[10, 5], [3.5, 7.25]], 16, 12, 2);
    expect(hm.length).toBe(2 * 16 * 12);
    expect(hm[5 * 16 + 10]).toBe(1);
    let best = 0;
    for (let i = 1; i < 16 * 12; i++) if (hm[16 * 12 + i]! > hm[16 * 12 + best]!) best = i;
    expect([best % 16, Math.floor(best / 16)]).toEqual([3, 7]);
    const d = decodeHeatmaps(hm, 2, 12, 16);
    expect(d.points[1]![0]).toBeCloseTo(3.5, 6);
    expect(d.points[1]![1]).toBeCloseTo(7.25, 6);
  });

  it('augmentation is deterministic by seed and flags points pushed outside', () => {
    const opts = { size: 64, augment: {}, sigma: 2 } as const;
    const a = preprocess(img, pts, { ...opts, seed: 7 }), b = preprocess(img, pts, { ...opts, seed: 7 }), c = preprocess(img, pts, { ...opts, seed: 8 });
    expect(Array.from(a.input)).toEqual(Array.from(b.input));
    expect(Array.from(a.input)).not.toEqual(Array.from(c.input));
    const edge: Point[] = [[1, 1], [150, 100]];
    const s = preprocess(img, edge, { size: 64, seed: 3, augment: { shift: 0, rotationDeg: 0, scale: [1.5, 1.5] } });
    expect(s.visible).toEqual([false, true]);
    expect(s.heatmaps.subarray(0, 64 * 64).every((v) => v === 0)).toBe(true);
    expect(Math.max(...s.heatmaps.subarray(64 * 64))).toBeGreaterThan(0.5);
  });

  it('normalisation and collate', () => {
    const s = preprocess(img, pts, { size: [40, 30], mean: 0.5, std: 0.25, sigma: 3 });
    expect(Math.min(...s.input)).toBeCloseTo(-2, 5); // padding / min → (0 - 0.5) / 0.25
    const b = collate([s, s, s]);
    expect([b.n, b.k, b.h, b.w]).toEqual([3, 4, 30, 40]);
    expect(b.inputs.length).toBe(3 * 30 * 40);
    expect(b.heatmaps.length).toBe(3 * 4 * 30 * 40);
    expect(Array.from(b.visible)).toEqual(new Array(12).fill(1));
  });
});

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { synthesize, type SyntheticKind } from '../../src/data/synthetic';

const hash = (a: Float32Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const KINDS: [SyntheticKind, number][] = [['hand', 37], ['head', 19], ['chest', 6]];

describe('synthetic X-rays', () => {
  it.each(KINDS)('%s: deterministic by seed, K=%i, points inside', (kind, k) => {
    const a = synthesize({ kind, n: 4, size: 96, seed: 11 });
    const b = synthesize({ kind, n: 4, size: 96, seed: 11 });
    const c = synthesize({ kind, n: 4, size: 96, seed: 12 });
    expect(a.k).toBe(k);
    expect(a.images.map((i) => hash(i.data))).toEqual(b.images.map((i) => hash(i.data)));
    expect(a.points).toEqual(b.points);
    for (let i = 0; i < 4; i++) expect(hash(a.images[i]!.data)).not.toBe(hash(c.images[i]!.data));
    expect(new Set(a.images.map((i) => hash(i.data))).size).toBe(4); // images differ within a set
    for (const pts of a.points) {
      expect(pts.length).toBe(k);
      for (const [x, y] of pts) {
        expect(x).toBeGreaterThanOrEqual(0); expect(x).toBeLessThanOrEqual(95);
        expect(y).toBeGreaterThanOrEqual(0); expect(y).toBeLessThanOrEqual(95);
      }
    }
    for (const im of a.images) expect(im.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)).toBe(true);
    // Image i depends only on (seed, i): a longer set starts with the same images.
    expect(hash(synthesize({ kind, n: 1, size: 96, seed: 11 }).images[0]!.data)).toBe(hash(a.images[0]!.data));
  });

  it.each(['hand', 'head'] as const)('%s: brighter at bone landmarks than the image border', (kind) => {
    const s = synthesize({ kind, n: 16, size: 128, seed: 3 });
    let atBone = 0, nb = 0, border = 0, nbo = 0;
    s.images.forEach((im, i) => {
      s.points[i]!.forEach(([x, y], j) => {
        if (!s.onBone[j]) return;
        atBone += im.data[Math.round(y) * 128 + Math.round(x)]!; nb++;
      });
      for (let t = 0; t < 128; t++) { border += im.data[t]! + im.data[t * 128]!; nbo += 2; }
    });
    const mean = s.images.reduce((acc, im) => acc + im.data.reduce((a, v) => a + v, 0) / im.data.length, 0) / s.images.length;
    expect(atBone / nb).toBeGreaterThan(border / nbo + 40);
    expect(atBone / nb).toBeGreaterThan(mean + 20);
  });

  it('chest: landmarks are on the lung outline (darker inside than at the heart/diaphragm)', () => {
    const s = synthesize({ kind: 'chest', n: 8, size: 128, seed: 4 });
    let lung = 0, below = 0;
    s.images.forEach((im, i) => {
      const [, cp] = s.points[i]!; // right costophrenic angle
      const [apex] = s.points[i]!;
      const at = (x: number, y: number) => im.data[Math.round(y) * 128 + Math.round(x)]!;
      lung += at((apex![0] + cp![0]) / 2, (apex![1] + cp![1]) / 2);
      below += at(64, Math.min(127, cp![1] + 12));
    });
    expect(below / 8).toBeGreaterThan(lung / 8 + 20);
  });

  it('64 images of 128x128: every kind, deterministic per seed, distinct across seeds', () => {
    // (speed lives in bench/, not here)
    for (const kind of ['hand', 'head', 'chest'] as const) {
      const a = synthesize({ kind, n: 64, size: 128, seed: 1 });
      expect(a.images.length).toBe(64);
      expect(a.images.every((im) => im.width === 128 && im.height === 128)).toBe(true);
      const b = synthesize({ kind, n: 2, size: 128, seed: 1 });
      expect(Array.from(b.images[0]!.data)).toEqual(Array.from(a.images[0]!.data));
      const c = synthesize({ kind, n: 1, size: 128, seed: 2 });
      expect(Array.from(c.images[0]!.data)).not.toEqual(Array.from(a.images[0]!.data));
    }
  });

  it('hand mm/px follows the 50 mm wrist rule', () => {
    const s = synthesize({ kind: 'hand', n: 2, size: 128, seed: 9 });
    const [p0, , , , p4] = s.points[0]!;
    expect(s.mmPerPixel[0]).toBeCloseTo(50 / Math.hypot(p0![0] - p4![0], p0![1] - p4![1]), 10);
    expect(synthesize({ kind: 'chest', n: 1, size: 64, seed: 1 }).mmPerPixel[0]).toBeUndefined();
  });
});

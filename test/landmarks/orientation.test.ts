/** The 16 orientations of src/landmarks/orientation.ts: pixel-exact images and point maps. */
import { describe, expect, test } from 'vitest';
import type { GreyImage, Point } from '../../src/data/types';
import { IDENTITY, orientationName, orientedSize, orientImage, ORIENTATIONS, parseOrientation, toFile, toOriented } from '../../src/landmarks/orientation';

const W = 5, H = 3;
const image: GreyImage = { width: W, height: H, bitDepth: 8, data: Float32Array.from({ length: W * H }, (_, i) => 10 + i * i), spacing: { x: 0.1, y: 0.2, source: 'test' } as GreyImage['spacing'] };
const same = (a: GreyImage, b: GreyImage) => a.width === b.width && a.height === b.height && a.data.every((v, i) => v === b.data[i]);

describe('orientations', () => {
  test('16 distinct ones, identity first, names round-trip', () => {
    expect(ORIENTATIONS).toHaveLength(16);
    expect(ORIENTATIONS[0]).toEqual(IDENTITY);
    const names = ORIENTATIONS.map(orientationName);
    expect(new Set(names).size).toBe(16);
    for (const o of ORIENTATIONS) expect(parseOrientation(orientationName(o))).toEqual(o);
    expect(parseOrientation('rot180+mirror')).toEqual({ mirror: true, turns: 2, invert: false });
    expect(parseOrientation('upside-down')).toBeUndefined();
    expect(parseOrientation('mirror+mirror')).toBeUndefined();
  });

  test.each(ORIENTATIONS.map((o) => [orientationName(o), o] as const))('%s: the pixel at p in the file is at toOriented(p), and toFile brings points back', (_n, o) => {
    const im = orientImage(o, image);
    expect({ width: im.width, height: im.height }).toEqual(orientedSize(o, W, H));
    const lo = 10, hi = 10 + (W * H - 1) ** 2;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [u, v] = toOriented(o, W, H, [x, y]);
        const want = o.invert ? lo + hi - image.data[y * W + x]! : image.data[y * W + x]!;
        expect(im.data[v * im.width + u]).toBe(want);
        expect(toFile(o, W, H, [u, v])).toEqual([x, y]);
      }
    }
    // sub-pixel points too
    const p: Point = [1.25, 0.5];
    const back = toFile(o, W, H, toOriented(o, W, H, p));
    expect(back[0]).toBeCloseTo(p[0], 12);
    expect(back[1]).toBeCloseTo(p[1], 12);
    // the spacing follows the axes
    expect(im.spacing!.x).toBe(o.turns % 2 ? 0.2 : 0.1);
  });

  test('closed under composition: every orientation of an oriented image is an orientation of the file', () => {
    for (const a of ORIENTATIONS) {
      const once = orientImage(a, image);
      for (const b of ORIENTATIONS) {
        const twice = orientImage(b, once);
        expect(ORIENTATIONS.some((c) => same(orientImage(c, image), twice))).toBe(true);
      }
    }
  });
});

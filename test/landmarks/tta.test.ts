/**
 * The refinement's inference levers without a GPU: a stand-in refiner network (a "detector" that
 * answers the intensity centroid of its crop, or a fixed crop position) behind the real crop →
 * decode → back-map path of src/train/refine.ts. Shifted and zoomed crops must give the same point
 * in the image (the back-mapping is exact), more passes must compound a refiner's move and leave
 * a fixed point where it is, and the options are checked.
 */
import { expect, test } from 'vitest';
import type { GreyImage, Point } from '../../src/data/types';
import { checkRefineOptions, meanPoint, refineOptionsLabel, ttaViews } from '../../src/landmarks/tta';
import { refineAt, refineWithOptions, type RefineStage } from '../../src/train/refine';

const SIZE = 32;
const K = 3;
const W = 420, H = 360;
/** Three blobs (σ 5 px) at sub-pixel positions, one per landmark. */
const TRUTH: Point[] = [[101.3, 88.6], [250.7, 190.2], [333.1, 270.8]];

function blobImage(): GreyImage {
  const data = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const [bx, by] of TRUTH) v += Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / (2 * 25));
      data[y * W + x] = v;
    }
  }
  data[0] = 0; // min-max keeps the background at 0
  return { width: W, height: H, data, bitDepth: 8 };
}

/** A sampled Gaussian (σ 1.5) at (cx, cy) on plane `base` of `hm`: the Gaussian sub-pixel fit decodes it exactly. */
function gaussianAt(hm: Float32Array, base: number, cx: number, cy: number): void {
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) hm[base + y * SIZE + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5 ** 2));
}

const MEAN = 0.449, STD = 0.226;
const settings = { size: SIZE, crop: 0.2, normalization: { name: 'test', mean: MEAN, std: STD } };

/** Stand-in network: every channel peaks at where `at` says for that crop (crop pixels). */
function stage(at: (crop: Float32Array) => Point): RefineStage & { crops: number } {
  const s = {
    settings, k: K, decode: { method: 'argmax' as const }, crops: 0,
    async forward(input: Float32Array, n: number): Promise<Float32Array> {
      const hm = new Float32Array(n * K * SIZE * SIZE);
      for (let b = 0; b < n; b++) {
        const [cx, cy] = at(input.subarray(b * SIZE * SIZE, (b + 1) * SIZE * SIZE));
        for (let j = 0; j < K; j++) gaussianAt(hm, (b * K + j) * SIZE * SIZE, cx, cy);
      }
      s.crops += n;
      return hm;
    },
  };
  return s;
}

/** The intensity centroid of the crop's bright part (a perfect blob detector). */
const centroid = (crop: Float32Array): Point => {
  let sx = 0, sy = 0, sw = 0;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const w = Math.max(0, crop[y * SIZE + x]! * STD + MEAN - 0.05); // undo the normalisation, drop the far tails
      sx += w * x;
      sy += w * y;
      sw += w;
    }
  }
  return [sx / sw, sy / sw];
};

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

test('TTA views: the plain crop first, symmetric shifts (their mean is no shift), zooms in the trained range', () => {
  expect(ttaViews('none')).toEqual([{ dx: 0, dy: 0, zoom: 1 }]);
  const v = ttaViews('shifts', 2);
  expect(v).toHaveLength(5);
  expect(v.reduce((a, w) => a + w.dx, 0)).toBe(0);
  expect(v.reduce((a, w) => a + w.dy, 0)).toBe(0);
  expect(v.slice(1).every((w) => Math.abs(w.dx) === 2 && Math.abs(w.dy) === 2)).toBe(true);
  const z = ttaViews('shifts-scales', 1).map((w) => w.zoom);
  expect(z).toEqual([1, 1, 1, 1, 1, 0.9, 1.1]);
  expect(meanPoint([[0, 0], [2, 4]])).toEqual([1, 2]);
  expect(refineOptionsLabel({})).toBe('1 pass');
  expect(refineOptionsLabel({ passes: 2, tta: 'shifts' })).toBe('2 passes + TTA shifts ±2 px');
});

test('options are checked: passes a positive integer, a known mode, a shift ≥ 0', () => {
  expect(checkRefineOptions({})).toEqual({ passes: 1, tta: 'none', shift: 2 });
  expect(() => checkRefineOptions({ passes: 0 })).toThrow(/passes/);
  expect(() => checkRefineOptions({ passes: 1.5 })).toThrow(/passes/);
  expect(() => checkRefineOptions({ tta: 'flips' as 'none' })).toThrow(/tta/);
  expect(() => checkRefineOptions({ shift: -1 })).toThrow(/shift/);
});

test('back-mapping is exact: a blob found in shifted and zoomed crops is the same image point as in the plain crop', async () => {
  const img = blobImage();
  // coarse points a few pixels off the blobs (inside the 84 px crops)
  const coarse: Point[] = TRUTH.map(([x, y], j) => [x + 7 - 3 * j, y - 5 + 4 * j]);
  const det = stage(centroid);
  const plain = (await refineAt(det, [img], [coarse], ttaViews('none'))).points[0]!;
  plain.forEach((p, j) => expect(dist(p, TRUTH[j]!), `plain, landmark ${j}`).toBeLessThan(0.6));
  for (const mode of ['shifts', 'shifts-scales'] as const) {
    for (const shift of [1, 2, 3.5]) {
      const views = ttaViews(mode, shift);
      // each view on its own maps back to the same point: a view's shift or zoom does not leak into the answer
      for (const v of views) {
        const one = (await refineAt(det, [img], [coarse], [v])).points[0]!;
        one.forEach((p, j) => expect(dist(p, plain[j]!), `${mode} ±${shift}, view ${JSON.stringify(v)}, landmark ${j}`).toBeLessThan(0.35));
      }
      const all = (await refineAt(det, [img], [coarse], views)).points[0]!;
      all.forEach((p, j) => expect(dist(p, plain[j]!), `${mode} ±${shift}, landmark ${j}`).toBeLessThan(0.25));
    }
  }
  // the detector saw every view of every landmark: the plain crop, then per shift each view alone and all together
  expect(det.crops).toBe(K * (1 + 3 * 2 * (5 + 7)));
});

test('a refiner that answers its crop centre leaves points where they are, whatever the passes and views', async () => {
  const img = blobImage();
  const c = (SIZE - 1) / 2;
  const still = stage(() => [c, c]);
  const start: Point[] = [[60.25, 70.5], [200, 150.75], [300.5, 300]];
  for (const passes of [1, 2, 3]) {
    for (const tta of ['none', 'shifts'] as const) {
      const r = await refineWithOptions(still, [img], [start], undefined, { passes, tta });
      // a shifted crop's centre maps back to the shifted centre: only the symmetric mean is the start
      r.points[0]!.forEach((p, j) => expect(dist(p, start[j]!), `${passes} passes, ${tta}`).toBeLessThan(1e-6));
    }
  }
});

test('passes compound: a refiner that moves one crop pixel right moves a point 2 crop pixels in 2 passes; a low peak keeps the previous point', async () => {
  const img = blobImage();
  const c = (SIZE - 1) / 2;
  const mover = stage(() => [c + 1, c]);
  const start: Point[] = [[100, 100], [200, 150], [300, 250]];
  const px = (0.2 * Math.max(W, H)) / SIZE; // original pixels per crop pixel
  for (const passes of [1, 2]) {
    const r = await refineWithOptions(mover, [img], [start], undefined, { passes });
    r.points[0]!.forEach((p, j) => {
      expect(p[0]).toBeCloseTo(start[j]![0] + passes * px, 6);
      expect(p[1]).toBeCloseTo(start[j]![1], 6);
    });
    expect(r.confidence[0]!.every((v) => v > 0.85)).toBe(true); // a Gaussian peak half a pixel off the grid in x and y: 0.89
  }
  // minConfidence above every peak: each pass keeps the point it started from
  const kept = await refineWithOptions(mover, [img], [start], 2, { passes: 2, tta: 'shifts' });
  expect(kept.points[0]).toEqual(start);
});

test('the CLI options: parsed into refine options, a flip or a zero pass refused before any GPU work', async () => {
  const { REFINE_OPTIONS, refineOptionsOf } = await import('../../src/cli/predictor');
  expect(refineOptionsOf({})).toEqual({ passes: 1, tta: 'none', shift: 2 });
  expect(refineOptionsOf({ 'refine-passes': '2', tta: 'shifts', 'tta-shift': '1.5' })).toEqual({ passes: 2, tta: 'shifts', shift: 1.5 });
  expect(() => REFINE_OPTIONS.tta.check('flips', 'tta')).toThrow(/tta/);
  expect(() => REFINE_OPTIONS['refine-passes'].check('0', 'refine-passes')).toThrow(/refine-passes/);
  expect(() => REFINE_OPTIONS['tta-shift'].check('-1', 'tta-shift')).toThrow(/tta-shift/);
  expect(() => REFINE_OPTIONS.tta.check('shifts-scales', 'tta')).not.toThrow();
});

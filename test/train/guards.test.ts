/**
 * The prediction guards (src/train/guards.ts) on generated cases.
 *
 * The decisions (which orientation, which peak, which flag) are tested with an oracle network: a
 * stand-in for the U-Net whose heatmaps have sharp peaks at the true landmarks only when its input
 * is the upright image, so the right answer is known. The real engine path is tested with a tiny
 * random U-Net: whatever its weights, a mirrored / turned / inverted image must give the same
 * points as the original, mapped back, because the guard compares the same 16 candidate images.
 */
import { mat3d } from 'wgpu-matrix';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { synthesize } from '../../src/data/synthetic';
import type { GreyImage, Point } from '../../src/data/types';
import { applyAffine, preprocess, type Affine } from '../../src/landmarks/preprocess';
import { orientImage, parseOrientation, toOriented, type Orientation } from '../../src/landmarks/orientation';
import { learnShapeModel } from '../../src/landmarks/shape_model';
import { createModel, type Engine, type Model } from '../../src/node/api';
import { localMaxima, PredictionGuard, searchCopy, type GuardModel } from '../../src/train/guards';
import type { LandmarkTrainer } from '../../src/train/trainer';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, WIDTHS } from './helpers';

const heads = synthesize({ kind: 'head', n: 30, size: 64, seed: 21 });
const K = heads.k;
const SIZE = 32;
const upright = heads.images[0]!;
const truth = heads.points[0]!;
const shape = learnShapeModel(heads.points);

/** Heatmaps with Gaussian peaks (σ 1 model px) of the given heights at model-space points. */
function peaks(at: { p: Point; value: number }[][], size: number): Float32Array {
  const out = new Float32Array(at.length * size * size);
  at.forEach((list, j) => {
    for (const { p, value } of list) {
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
        const v = value * Math.exp(-((x - p[0]) ** 2 + (y - p[1]) ** 2) / 2);
        const i = j * size * size + y * size + x;
        out[i] = Math.max(out[i]!, v);
      }
    }
  });
  return out;
}

/**
 * A stand-in network: for the upright image's input, peaks of 0.9 at the true landmarks (plus
 * `extra` per landmark); for any other input, one weak peak (0.05) in the middle.
 */
function oracle(image: GreyImage, points: Point[], extra: (j: number, p: Point) => { p: Point; value: number }[] = (_j, p) => [{ p, value: 0.9 }]): LandmarkTrainer {
  const options = { size: SIZE, mean: 0, std: 1, decode: {} };
  const s = preprocess(image, undefined, { size: SIZE, mean: 0, std: 1, heatmaps: false });
  const toModel = mat3d.inverse(s.toOriginal) as Affine;
  const model = points.map((p) => applyAffine(toModel, p));
  const plane = SIZE * SIZE;
  const net = {
    options,
    model: { config: { classes: points.length } },
    refiner: undefined,
    async forward(input: Float32Array, n: number): Promise<Float32Array> {
      const out = new Float32Array(n * points.length * plane);
      for (let b = 0; b < n; b++) {
        let d = 0;
        for (let i = 0; i < plane; i++) d = Math.max(d, Math.abs(input[b * plane + i]! - s.input[i]!));
        const maps = d < 1e-4 ? peaks(model.map((p, j) => extra(j, p)), SIZE) : peaks(model.map(() => [{ p: [SIZE / 2, SIZE / 2] as Point, value: 0.05 }]), SIZE);
        out.set(maps, b * points.length * plane);
      }
      return out;
    },
  };
  return net as unknown as LandmarkTrainer;
}

const guardModel = (over: Partial<GuardModel> = {}): GuardModel => ({
  version: 1,
  shape: { ...shape, zLimit: 4 },
  orientation: { unsureBelow: Math.log(0.5), margin: 0.1, validation: { min: Math.log(0.8), median: Math.log(0.9), n: 10 } },
  ...over,
});

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

describe('orientation (oracle network)', () => {
  test.each(['mirror', 'rot90', 'rot180', 'rot270', 'inverted', 'mirror+rot90'])('an upright head given %s: found in the orientation that undoes it, points mapped back to the file', async (name) => {
    const o = parseOrientation(name)!;
    const file = orientImage(o, upright);
    const want = truth.map((p) => toOriented(o, upright.width, upright.height, p));
    const guard = new PredictionGuard(guardModel());
    const r = await guard.predict(oracle(upright, truth), [file], 4, 0);
    const g = r.guarded[0]!;
    expect(g.orientation).not.toBe('identity');
    expect(g.warnings.join(' ')).toMatch(/mapped back to the file's pixels/);
    r.points[0]!.forEach((p, j) => expect(dist(p, want[j]!)).toBeLessThan(1));
    expect(g.flags.flat()).not.toContain('orientation-unsure');
    expect(guard.tally).toMatchObject({ images: 1, orientationChanged: 1, orientationUnsure: 0 });
  });

  test('an upright image stays as given, without searching', async () => {
    let calls = 0;
    const net = oracle(upright, truth);
    const forward = net.forward.bind(net);
    net.forward = (input: Float32Array, n: number) => { calls += n; return forward(input, n); };
    const r = await new PredictionGuard(guardModel()).predict(net, [upright], 4, 0);
    expect(r.guarded[0]!.orientation).toBe('identity');
    expect(calls).toBe(1);
    r.points[0]!.forEach((p, j) => expect(dist(p, truth[j]!)).toBeLessThan(1));
  });

  test('no orientation convincing: every point is flagged and the image is refused with a reason', async () => {
    const other = heads.images[1]!;
    const r = await new PredictionGuard(guardModel()).predict(oracle(upright, truth), [other], 4, 0);
    const g = r.guarded[0]!;
    expect(g.flags.every((f) => f.includes('orientation-unsure'))).toBe(true);
    expect(g.warnings.join(' ')).toMatch(/no orientation of this image looks like the training images/);
  });

  test("orientation 'off' takes the image as given; a named orientation is trusted", async () => {
    const mirrored = orientImage(parseOrientation('mirror')!, upright);
    const off = await new PredictionGuard(guardModel(), { orientation: 'off' }).predict(oracle(upright, truth), [mirrored], 4, 0);
    expect(off.guarded[0]!.orientation).toBe('identity');
    const named = await new PredictionGuard(undefined, { orientation: 'mirror' }).predict(oracle(upright, truth), [mirrored], 4, 0);
    expect(named.guarded[0]!.orientation).toBe('mirror');
    const want = truth.map((p) => toOriented(parseOrientation('mirror')!, upright.width, upright.height, p));
    named.points[0]!.forEach((p, j) => expect(dist(p, want[j]!)).toBeLessThan(1));
    expect(() => new PredictionGuard(undefined, { orientation: 'sideways' })).toThrow(/orientation must be/);
  });
});

describe('shape consistency (oracle network)', () => {
  const J = 5;
  test('a landmark whose highest peak is in an empty corner is re-decoded from its next, plausible peak', async () => {
    const net = oracle(upright, truth, (j, p) => (j === J ? [{ p: [1, 1], value: 1 }, { p, value: 0.6 }] : [{ p, value: 0.9 }]));
    const guard = new PredictionGuard(guardModel());
    const r = await guard.predict(net, [upright], 4, 0);
    const g = r.guarded[0]!;
    expect(g.flags[J]).toContain('redecoded');
    expect(g.flags[J]).not.toContain('implausible');
    // the integer peak of a 32-px map on a 64-px image: within a model pixel (2 image px)
    expect(dist(r.points[0]![J]!, truth[J]!)).toBeLessThan(2.5);
    expect(guard.tally.redecoded).toBe(1);
  });

  test('with no plausible peak the landmark stays and is flagged implausible; without the shape check it is silent', async () => {
    const net = oracle(upright, truth, (j, p) => (j === J ? [{ p: [1, 1], value: 1 }] : [{ p, value: 0.9 }]));
    const r = await new PredictionGuard(guardModel()).predict(net, [upright], 4, 0);
    expect(r.guarded[0]!.flags[J]).toEqual(['implausible']);
    expect(r.guarded[0]!.shapeZ![J]).toBeGreaterThan(4);
    expect(r.guarded[0]!.flags.filter((f) => f.length)).toHaveLength(1);
    const off = await new PredictionGuard(guardModel(), { shape: false }).predict(net, [upright], 4, 0);
    expect(off.guarded[0]!.flags[J]).toEqual([]);
  });

  test('a field of view cut short (the chin cropped off): the landmarks cut off are flagged, the others are not', async () => {
    const rows = 54;
    const cropped: GreyImage = { ...upright, height: rows, data: upright.data.slice(0, rows * upright.width) };
    const inside = truth.map(([, y]) => y < rows - 0.5);
    expect(inside.filter((v) => !v).length).toBeGreaterThan(0);
    // the stand-in puts the landmarks it cannot see at the image's left edge, as a model may on an empty border
    const net = oracle(cropped, truth, (j, p) => (inside[j] ? [{ p, value: 0.9 }] : [{ p: [0, SIZE / 2], value: 0.9 }]));
    const r = await new PredictionGuard(guardModel()).predict(net, [cropped], 4, 0);
    const g = r.guarded[0]!;
    inside.forEach((v, j) => {
      if (v) { expect(g.flags[j]).toEqual([]); expect(dist(r.points[0]![j]!, truth[j]!)).toBeLessThan(1); }
      else expect(g.flags[j]).toContain('implausible');
    });
  });
});

describe('calibrated confidence (oracle network)', () => {
  test('expected errors come from the peaks; points above the threshold are flagged low-confidence', async () => {
    const net = oracle(upright, truth, (j, p) => [{ p, value: j === 2 ? 0.2 : 0.9 }]);
    // an expected error of 10 % of the longer side below a log peak of −1, 0.5 % above
    const calibration = { knots: [-30, -1], values: [0.1, 0.005], factor: new Array<number>(K).fill(1), n: 100, score: 'coarse' as const, unit: 'mm' as const, unitPerLongerSide: 200, flagAbove: 4 };
    const r = await new PredictionGuard(guardModel({ calibration }), { orientation: 'off' }).predict(net, [upright], 4, 0);
    const g = r.guarded[0]!;
    expect(g.expectedError![2]).toBeCloseTo(0.1 * 64, 6);
    expect(g.expectedErrorUnit![2]).toBeCloseTo(20, 6);
    expect(g.expectedError![0]).toBeCloseTo(0.005 * 64, 6);
    expect(g.flags[2]).toContain('low-confidence');
    expect(g.flags.filter((f) => f.includes('low-confidence'))).toHaveLength(1);
    // a looser threshold flags none
    const loose = await new PredictionGuard(guardModel({ calibration }), { orientation: 'off', flagAbove: 25 }).predict(net, [upright], 4, 0);
    expect(loose.guarded[0]!.flags.flat()).not.toContain('low-confidence');
  });

  test('a model without guards: predicts, and says which guards were skipped', async () => {
    const r = await new PredictionGuard(undefined).predict(oracle(upright, truth), [upright], 4, 0);
    expect(r.guarded[0]!.warnings.join(' ')).toMatch(/orientation check skipped.*osteo calibrate/);
    expect(r.guarded[0]!.expectedError).toBeUndefined();
  });
});

test('searchCopy: an area-downsampled copy whose longer side stays at least twice the model input; small images as given', () => {
  const img: GreyImage = { width: 300, height: 200, bitDepth: 8, data: Float32Array.from({ length: 300 * 200 }, (_, i) => (i % 300) / 299) };
  const c = searchCopy(img, 32);
  expect([c.width, c.height]).toEqual([75, 50]);
  expect(c.bitDepth).toBe(8);
  // a horizontal ramp stays a ramp: each block's mean
  expect(c.data[1]).toBeCloseTo((4 + 5 + 6 + 7) / 4 / 299, 6);
  expect(searchCopy(img, 100)).toBe(img);
});

test('localMaxima: highest first, plateaus counted once', () => {
  const hm = Float32Array.from([0, 1, 0, 0, 0, 0, 0, 3, 3]);
  expect(localMaxima(hm, 0, 3, 3, 5)).toEqual([{ x: 1, y: 2, value: 3 }, { x: 1, y: 0, value: 1 }]);
});

describe('a real (tiny, random) U-Net through the library', () => {
  let engine: Engine;
  let model: Model;
  beforeAll(async () => {
    engine = await nodeEngine();
    model = createModel(engine, { landmarks: K, size: SIZE, widths: WIDTHS, decoderChannels: DECODER, seed: 3 });
  });
  afterAll(() => model?.dispose());

  test.each(['mirror', 'rot90', 'rot180', 'rot270', 'inverted'])("orientation 'always': the image %s gives the original's points, mapped back", async (name) => {
    const o: Orientation = parseOrientation(name)!;
    const a = await model.predict(upright, { guards: { orientation: 'always' } });
    const b = await model.predict(orientImage(o, upright), { guards: { orientation: 'always' } });
    const mapped = a.points.map((p) => toOriented(o, upright.width, upright.height, p));
    b.points.forEach((p, j) => {
      expect(Math.abs(p[0] - mapped[j]![0])).toBeLessThan(1e-3);
      expect(Math.abs(p[1] - mapped[j]![1])).toBeLessThan(1e-3);
    });
    expect(b.orientation).toBeDefined();
  }, 600_000);

  test.each(['mirror', 'rot90'])("a large file (searched on a reduced copy) given %s: the original's points, mapped back", async (name) => {
    const big = synthesize({ kind: 'head', n: 1, size: 256, seed: 5 }).images[0]!;
    // 256 px for a 32 px model: the 16 candidates are turned on a 4x smaller copy, the chosen one rerun at full size
    expect(searchCopy(big, SIZE).width).toBe(64);
    const o: Orientation = parseOrientation(name)!;
    const a = await model.predict(big, { guards: { orientation: 'always' } });
    const b = await model.predict(orientImage(o, big), { guards: { orientation: 'always' } });
    const mapped = a.points.map((p) => toOriented(o, big.width, big.height, p));
    b.points.forEach((p, j) => {
      expect(Math.abs(p[0] - mapped[j]![0])).toBeLessThan(1e-3);
      expect(Math.abs(p[1] - mapped[j]![1])).toBeLessThan(1e-3);
    });
  }, 600_000);

  test('a named orientation gives exactly the points of the upright image, mapped back; an uncalibrated model says guards were skipped', async () => {
    const o = parseOrientation('mirror+rot270')!;
    const plain = await model.predict(upright, { guards: false });
    const named = await model.predict(orientImage(o, upright), { guards: { orientation: 'mirror+rot270' } });
    expect(named.orientation).toBe('mirror+rot270');
    named.points.forEach((p, j) => {
      const want = toOriented(o, upright.width, upright.height, plain.points[j]!);
      expect(Math.abs(p[0] - want[0])).toBeLessThan(1e-3);
      expect(Math.abs(p[1] - want[1])).toBeLessThan(1e-3);
    });
    expect(plain.warnings).toBeUndefined();
    const auto = await model.predict(upright);
    expect(auto.warnings?.join(' ')).toMatch(/guards skipped.*osteo calibrate/);
    expect(model.calibrated).toBe(false);
  }, 600_000);
});

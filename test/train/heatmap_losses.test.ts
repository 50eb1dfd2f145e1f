/**
 * The heatmap losses as training uses them: spatial_ce targets normalised per map and predictions
 * decoded from the per-map softmax; awing and spatial_ce learn a fixed batch; --target-scale only
 * with MSE.
 */
import { describe, expect, test } from 'vitest';
import { synthesize } from '../../src/data/synthetic';
import { initializeUnetPP } from '../../src/model/init';
import { UnetPlusPlus } from '../../src/model/unetpp';
import { ConfigError, withDefaults } from '../../src/train/config';
import { buildSet } from '../../src/train/data';
import { preprocess } from '../../src/landmarks/preprocess';
import { LandmarkTrainer, normaliseMaps, softmaxMaps, type LossName } from '../../src/train/trainer';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, WIDTHS } from './helpers';

describe('per-map helpers (no GPU)', () => {
  test('normaliseMaps: every non-empty map sums to 1, an all-zero map (landmark outside) stays 0', () => {
    const maps = new Float32Array([1, 3, 0, 4, 0, 0, 0, 0, 2, 2, 2, 2]);
    normaliseMaps(maps, 4);
    expect([...maps]).toEqual([0.125, 0.375, 0, 0.5, 0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
  });

  test('softmaxMaps: each map sums to 1 with its maximum in place, stable for large logits', () => {
    const logits = new Float32Array([1000, 999, 998, -5, 0, 2, 1, 0]);
    softmaxMaps(logits, 4);
    const a = [...logits.subarray(0, 4)], b = [...logits.subarray(4)];
    for (const m of [a, b]) expect(m.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(a.indexOf(Math.max(...a))).toBe(0);
    expect(b.indexOf(Math.max(...b))).toBe(1);
    expect(a[1]! / a[0]!).toBeCloseTo(Math.exp(-1), 6);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  test('--target-scale is refused with a loss other than mse, naming both options', () => {
    expect(() => withDefaults({ data: 'x', init: 'scratch', loss: 'spatial_ce', targetScale: 10 })).toThrow(ConfigError);
    expect(() => withDefaults({ data: 'x', init: 'scratch', loss: 'awing', targetScale: 10 })).toThrow(/--target-scale scales MSE targets only \(awing/);
    expect(withDefaults({ data: 'x', init: 'scratch', loss: 'mse', targetScale: 10 }).targetScale).toBe(10);
  });
});

describe('training with spatial_ce and awing (engine)', () => {
  const syn = synthesize({ kind: 'chest', n: 2, size: 48, seed: 4 });
  const set = buildSet(syn.images.map((image, i) => ({ id: String(i), image, points: syn.points[i]!, mmPerPixel: syn.mmPerPixel[i] })), 32);
  const samples = set.images.map((im, i) => preprocess(im, set.points[i]!, { size: 32, sigma: 1.5, mean: 0.449, std: 0.226 }));

  for (const loss of ['spatial_ce', 'awing'] as LossName[]) {
    test(`${loss}: 12 steps on one batch lower its loss`, async () => {
      const engine = await nodeEngine();
      const model = new UnetPlusPlus(engine, { classes: syn.k, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER });
      initializeUnetPP(model, 7);
      const trainer = new LandmarkTrainer(engine, model, { size: 32, batch: 2, lr: 3e-3, sigma: 1.5, loss, mean: 0.449, std: 0.226 });
      try {
        const losses: number[] = [];
        for (let s = 0; s < 12; s++) losses.push(await trainer.step(samples));
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(Math.min(...losses.slice(-3)), `${loss} losses ${losses.map((v) => v.toFixed(4)).join(' ')}`).toBeLessThan(losses[0]! * 0.9);
        if (loss === 'spatial_ce') {
          // predictions see probabilities: each map sums to 1, the confidence is a peak probability
          const { heatmaps, confidence } = await trainer.predict(set.images, 2, 1);
          const plane = 32 * 32;
          for (let k = 0; k < syn.k; k++) expect(heatmaps[0]!.subarray(k * plane, (k + 1) * plane).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 4);
          for (const c of confidence.flat()) expect(c > 0 && c <= 1, `confidence ${c}`).toBe(true);
        }
      } finally {
        trainer.dispose();
        model.dispose();
      }
    }, 120_000);
  }
});

describe('defaults by init (docs/recipes.md)', () => {
  test('from scratch: spatial_ce, σ size/64, lr 2e-3, cosine, batch 2 × 1; from ImageNet: the paper authors\' MSE, σ 5 at 256, lr 1e-5, plateau, batch 4 × 4', () => {
    const s64 = withDefaults({ data: 'x', init: 'scratch', size: 64 });
    expect(s64).toMatchObject({ loss: 'spatial_ce', sigma: 1.5, lr: 2e-3, schedule: 'cosine', batch: 2, accum: 1 });
    expect(withDefaults({ data: 'x', init: 'scratch', size: 128 }).sigma).toBe(2);
    const im = withDefaults({ data: 'x', init: 'imagenet' });
    expect(im).toMatchObject({ loss: 'mse', sigma: 5, lr: 1e-5, schedule: 'plateau', batch: 4, accum: 4, size: 256 });
    // a given loss sets σ's rule; given settings win over every default
    expect(withDefaults({ data: 'x', init: 'scratch', size: 64, loss: 'mse' }).sigma).toBe(1.5);
    expect(withDefaults({ data: 'x', init: 'scratch', size: 256, loss: 'mse' }).sigma).toBe(5);
    expect(withDefaults({ data: 'x', init: 'scratch', lr: 1e-4, schedule: 'plateau', batch: 8 })).toMatchObject({ lr: 1e-4, schedule: 'plateau', batch: 8, accum: 1 });
  });
});

test('the refinement stage defaults to 32 px crops, 6 per image, batch 4, with the from-scratch loss and schedule', () => {
  const r = withDefaults({ data: 'x', init: 'scratch', stage: 'refine', coarse: 'c.safetensors' });
  expect(r).toMatchObject({ size: 32, crops: 6, batch: 4, accum: 1, loss: 'spatial_ce', sigma: 1.5, lr: 2e-3, schedule: 'cosine' });
  expect(withDefaults({ data: 'x', init: 'scratch', stage: 'refine', coarse: 'c', size: 64, crops: 19 })).toMatchObject({ size: 64, crops: 19 });
});

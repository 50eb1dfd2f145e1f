/** Prediction heatmaps mean the same for every loss: probabilities in [0, 1] (src/landmarks/probabilities.ts). */
import { expect, test } from 'vitest';
import { HEATMAP_LOSSES } from '../../src/autograd/graph';
import { heatmapProbabilities } from '../../src/landmarks/probabilities';
import { softmaxMaps } from '../../src/train/trainer';

const K = 3, PLANE = 16;
const raw = Float32Array.from({ length: 2 * K * PLANE }, (_, i) => Math.sin(i * 1.7) * 6);

test('every loss gives values in [0, 1]', () => {
  for (const loss of HEATMAP_LOSSES) {
    const input = loss === 'spatial_ce' ? raw.slice() : raw;
    if (loss === 'spatial_ce') softmaxMaps(input, PLANE);
    const p = heatmapProbabilities(input, K, PLANE, loss, 2);
    expect(p.every((v) => v >= 0 && v <= 1), loss).toBe(true);
  }
});

test('softmax_ce: a softmax over the landmark channels at each pixel of each image', () => {
  const p = heatmapProbabilities(raw, K, PLANE, 'softmax_ce');
  for (let n = 0; n < 2; n++) {
    for (let i = 0; i < PLANE; i++) {
      const at = (j: number) => n * K * PLANE + j * PLANE + i;
      expect(p[at(0)]! + p[at(1)]! + p[at(2)]!).toBeCloseTo(1, 5);
      const ratio = Math.exp(raw[at(0)]! - raw[at(1)]!);
      expect(Math.abs(p[at(0)]! / p[at(1)]! / ratio - 1)).toBeLessThan(1e-5);
    }
  }
});

test('bce is the sigmoid; mse is divided by the target scale and clamped; spatial_ce stays the per-map softmax', () => {
  const bce = heatmapProbabilities(raw, K, PLANE, 'bce');
  expect(bce[5]).toBeCloseTo(1 / (1 + Math.exp(-raw[5]!)), 6);
  const mse = heatmapProbabilities(Float32Array.of(-1, 0.5, 1, 3), 1, 4, 'mse', 2);
  expect([...mse]).toEqual([0, 0.25, 0.5, 1]);
  const awing = heatmapProbabilities(Float32Array.of(-1, 0.5, 1, 3), 1, 4, 'awing', 2);
  expect([...awing]).toEqual([0, 0.5, 1, 1]);
  const maps = raw.slice();
  softmaxMaps(maps, PLANE);
  const sp = heatmapProbabilities(maps, K, PLANE, 'spatial_ce');
  expect(sp.slice(0, PLANE).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(sp).not.toBe(maps);
});

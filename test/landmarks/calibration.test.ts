/** Isotonic regression and the peak → expected-error calibration of src/landmarks/calibration.ts. */
import { describe, expect, test } from 'vitest';
import { expectedError, fitErrorCalibration, isotonicDecreasing, spearman } from '../../src/landmarks/calibration';
import { makeRng } from '../../src/nn/random';

/** Sum of squared errors of a step function (knots, values) on the data. */
const sse = (x: number[], y: number[], knots: number[], values: number[]) =>
  x.reduce((a, xi, i) => {
    let k = 0;
    for (let s = 0; s < knots.length; s++) if (knots[s]! <= xi) k = s;
    return a + (y[i]! - values[k]!) ** 2;
  }, 0);

describe('isotonicDecreasing', () => {
  test('a textbook case: violators are pooled into their mean', () => {
    const r = isotonicDecreasing([1, 2, 3, 4, 5], [5, 3, 4, 1, 2]);
    expect(r.values).toEqual([5, 3.5, 1.5]);
    expect(r.knots).toEqual([1, 2, 4]);
  });

  test('random data: non-increasing, no worse than any other non-increasing step fit tried', () => {
    const rng = makeRng(11);
    const x = Array.from({ length: 80 }, () => rng.uniform(0, 10));
    const y = x.map((v) => 10 - v + 3 * rng.normal());
    const r = isotonicDecreasing(x, y);
    for (let i = 1; i < r.values.length; i++) expect(r.values[i]).toBeLessThanOrEqual(r.values[i - 1]! + 1e-12);
    const best = sse(x, y, r.knots, r.values);
    // the constant fit and the true line (as steps at every x) are monotone candidates: the PAVA fit beats them
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(best).toBeLessThanOrEqual(sse(x, y, [0], [mean]) + 1e-9);
    const xs = [...x].sort((a, b) => a - b);
    expect(best).toBeLessThanOrEqual(sse(x, y, xs, xs.map((v) => 10 - v)) + 1e-9);
  });

  test('equal x share one step', () => {
    const r = isotonicDecreasing([1, 1, 2], [1, 3, 0]);
    expect(r.knots).toEqual([1, 2]);
    expect(r.values).toEqual([2, 0]);
  });
});

describe('fitErrorCalibration', () => {
  test('recovers a decreasing error curve and which landmark is harder', () => {
    const rng = makeRng(5);
    const samples = [];
    for (let i = 0; i < 400; i++) {
      const landmark = i % 4;
      const score = rng.uniform(-4, 0);
      // landmark 3 is twice as hard; the error falls with the score
      const truth = (landmark === 3 ? 2 : 1) * (1 - score);
      samples.push({ landmark, score, error: Math.abs(truth * (1 + 0.2 * rng.normal())) });
    }
    const c = fitErrorCalibration(samples, 4);
    expect(c.factor[3]! / c.factor[0]!).toBeGreaterThan(1.6);
    expect(c.factor[3]! / c.factor[0]!).toBeLessThan(2.4);
    // low scores expect more error than high ones, for each landmark
    for (let j = 0; j < 4; j++) expect(expectedError(c, j, -3.5)).toBeGreaterThan(2 * expectedError(c, j, -0.2));
    expect(expectedError(c, 3, -2) / ((2 * 3))).toBeGreaterThan(0.7);
    expect(expectedError(c, 3, -2) / ((2 * 3))).toBeLessThan(1.3);
    // below the first knot: the first step; above the last: the last
    expect(expectedError(c, 0, -100)).toBe(c.factor[0]! * c.values[0]!);
    expect(expectedError(c, 0, 100)).toBe(c.factor[0]! * c.values[c.values.length - 1]!);
  });

  test('refuses bad samples', () => {
    expect(() => fitErrorCalibration([], 2)).toThrow(/no validation samples/);
    expect(() => fitErrorCalibration([{ landmark: 5, score: 0, error: 1 }], 2)).toThrow(/landmark 5/);
    expect(() => fitErrorCalibration([{ landmark: 0, score: NaN, error: 1 }], 2)).toThrow(/bad sample/);
  });
});

test('spearman: monotone series give ±1, ties get mean ranks', () => {
  expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
  expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  expect(spearman([1, 1, 2], [1, 1, 2])).toBeCloseTo(1, 12);
});

/**
 * The learning curve's power law: the fit recovers known a, b, c from noisy synthetic points, the
 * bootstrap interval covers the truth, and targets below the asymptote are reported unreachable.
 */
import { describe, expect, test } from 'vitest';
import { makeRng } from '../../src/nn/random';
import { bootstrapPowerLaw, fitPowerLaw, imagesForTarget, powerLaw, predictTarget } from '../../src/report/powerlaw';
import { quantile } from '../../src/util/stats';

const TRUTH = { a: 40, b: 0.6, c: 1.2 };
const SIZES = [10, 20, 40, 80, 160, 320, 640];

function noisyPoints(repeats: number, noise: number, seed: number): { n: number; mre: number }[] {
  const rng = makeRng(seed);
  return SIZES.flatMap((n) => Array.from({ length: repeats }, () => ({ n, mre: powerLaw(TRUTH, n) + noise * rng.normal() })));
}

describe('power-law fit MRE(n) = a·n^(−b) + c', () => {
  test('exact points give back a, b, c', () => {
    const f = fitPowerLaw(SIZES.map((n) => ({ n, mre: powerLaw(TRUTH, n) })));
    expect(f.a).toBeCloseTo(TRUTH.a, 1);
    expect(f.b).toBeCloseTo(TRUTH.b, 3);
    expect(f.c).toBeCloseTo(TRUTH.c, 3);
    expect(f.rmse).toBeLessThan(1e-4);
  });

  test('noisy repeats: the estimates land near the truth and the bootstrap interval of the needed images covers the true number', () => {
    const pts = noisyPoints(4, 0.08, 3);
    const b = bootstrapPowerLaw(pts, { reps: 300, seed: 5 });
    expect(b.method).toBe('repeats');
    expect(b.fit.b).toBeGreaterThan(0.45);
    expect(b.fit.b).toBeLessThan(0.8);
    expect(Math.abs(b.fit.c - TRUTH.c)).toBeLessThan(0.25);
    expect(Math.abs(b.fit.a - TRUTH.a) / TRUTH.a).toBeLessThan(0.35);
    const target = 1.8;
    const truthN = imagesForTarget(TRUTH, target);
    const p = predictTarget(b, target);
    expect(Math.abs(p.images - truthN) / truthN).toBeLessThan(0.5);
    expect(p.lo).toBeLessThanOrEqual(truthN);
    expect(p.hi).toBeGreaterThanOrEqual(truthN);
    // the replicates' c spread around the truth
    const cs = b.samples.map((s) => s.c);
    expect(quantile(cs, 0.025)).toBeLessThan(TRUTH.c + 0.05);
    expect(quantile(cs, 0.975)).toBeGreaterThan(TRUTH.c - 0.05);
  });

  test('a target below the asymptote is unreachable; one run per size bootstraps the residuals', () => {
    const b = bootstrapPowerLaw(noisyPoints(1, 0.02, 8), { reps: 200, seed: 2 });
    expect(b.method).toBe('residuals');
    const p = predictTarget(b, 0.5);
    expect(p.images).toBe(Infinity);
    expect(p.unreachableShare).toBeGreaterThan(0.9);
    expect(imagesForTarget(TRUTH, TRUTH.c)).toBe(Infinity);
  });

  test('fewer than three sizes is an error that says so', () => {
    expect(() => fitPowerLaw([{ n: 10, mre: 5 }, { n: 20, mre: 4 }, { n: 20, mre: 4.1 }])).toThrow(/three or more training-set sizes, got 2/);
  });
});

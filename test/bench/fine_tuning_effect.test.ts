/**
 * The second-site example's sentence on the fine-tuning options (bench/site_numbers.ts) follows from the numbers:
 * "helps" only when the option is lower at every shared size and clearly so (beyond the repeats' SDs) at most.
 */
import { describe, expect, test } from 'vitest';
import { fineTuningEffect } from '../../bench/site_numbers';

const arm = (rows: [number, number, number][]) => ({ name: 'x', flags: '', seconds: 60, runs: rows.length * 2, bySize: rows.map(([n, mre, sd]) => ({ n, runs: 2, mre, sd })) });
const plain = arm([[5, 28.6, 2.5], [10, 25.8, 0.6], [20, 23.7, 0.3]]);

describe('fine-tuning option effect', () => {
  test('clearly lower at every size: helps; clearly higher: hurts', () => {
    expect(fineTuningEffect(plain, arm([[5, 24, 1], [10, 23, 0.5], [20, 22, 0.3]])).word).toBe('helps');
    expect(fineTuningEffect(plain, arm([[5, 33, 1], [10, 29, 0.5], [20, 26, 0.3]])).word).toBe('hurts');
  });
  test('lower within the noise, or lower at one size and higher at another: no clear effect', () => {
    expect(fineTuningEffect(plain, arm([[5, 28.0, 2], [10, 25.5, 0.6], [20, 23.5, 0.3]])).word).toBe('no clear effect');
    expect(fineTuningEffect(plain, arm([[5, 20, 1], [10, 27, 0.5], [20, 22, 0.3]])).word).toBe('no clear effect');
  });
  test('differences are per shared size, option minus plain', () => {
    const e = fineTuningEffect(plain, arm([[5, 27.6, 1], [20, 24.7, 0.3], [40, 20, 0.1]]));
    expect(e.sizes).toEqual([5, 20]);
    expect(e.diffs[0]).toBeCloseTo(-1, 9);
    expect(e.diffs[1]).toBeCloseTo(1, 9);
  });
});

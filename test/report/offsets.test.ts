import { describe, expect, it } from 'vitest';
import type { Point } from '../../src/data/types';
import { landmarkOffsets } from '../../src/report/offsets';

describe('systematic offset per landmark', () => {
  it('a constant shift is all offset (no spread); scatter around zero is all spread', () => {
    const truth: Point[][] = [[[10, 10], [50, 50]], [[12, 8], [40, 60]], [[9, 11], [55, 45]]];
    // landmark 1 shifted by (3, 4) on every image; landmark 2 scattered ±2 in x around the truth
    const pred: Point[][] = truth.map((t, i) => [[t[0]![0] + 3, t[0]![1] + 4], [t[1]![0] + [2, -2, 0][i]!, t[1]![1]]]);
    const o = landmarkOffsets(pred, truth, ['A', 'B']);
    expect(o.unit).toBe('px');
    const [a, b] = o.perLandmark;
    expect(a).toMatchObject({ name: 'A', dx: 3, dy: 4, offset: 5, mre: 5, spread: 0 });
    expect(b!.offset).toBe(0);
    expect(b!.mre).toBeCloseTo(4 / 3, 12);
    expect(b!.spread).toBeCloseTo(4 / 3, 12);
    expect(o.mre).toBeCloseTo((5 + 4 / 3) / 2, 12);
    expect(o.systematicShare).toBeCloseTo(5 / (5 + 4 / 3), 12);
    // millimetres when every image has a spacing
    const mm = landmarkOffsets(pred, truth, ['A', 'B'], [0.1, 0.1, 0.1]);
    expect(mm.unit).toBe('mm');
    expect(mm.perLandmark[0]!.offset).toBeCloseTo(0.5, 12);
  });
});

import { describe, expect, it } from 'vitest';
import { evaluate, formatEvaluation, radialErrors } from '../../src/landmarks/metrics';

describe('metrics', () => {
  // Two images, two landmarks; errors chosen as 3-4-5 triangles.
  const gt = [[[0, 0], [10, 10]], [[5, 5], [0, 0]]] as [number, number][][];
  const pred = [[[3, 4], [10, 10]], [[5, 5 + 30], [6, 8]]] as [number, number][][];
  it('radial errors in px and mm', () => {
    expect(radialErrors(pred[0]!, gt[0]!)).toEqual([5, 0]);
    const e = radialErrors(pred[1]!, gt[1]!, 0.1);
    expect(e[0]).toBeCloseTo(3, 12);
    expect(e[1]).toBeCloseTo(1, 12);
  });
  it('MRE, std, SDR by hand', () => {
    const ev = evaluate(pred, gt, [0.1, 0.1]);
    expect(ev.unit).toBe('mm');
    // errors mm: 0.5, 0, 3, 1 → mean 1.125; population std sqrt(((−.625)²+(−1.125)²+1.875²+(−.125)²)/4)
    expect(ev.overall.mre).toBeCloseTo(1.125, 12);
    expect(ev.overall.std).toBeCloseTo(Math.sqrt((0.625 ** 2 + 1.125 ** 2 + 1.875 ** 2 + 0.125 ** 2) / 4), 12);
    expect(ev.overall.median).toBeCloseTo(0.75, 12);
    expect(ev.overall.sdr).toEqual({ '2': 75, '2.5': 75, '3': 100, '4': 100 });
    expect(ev.perLandmark[0]!.mre).toBeCloseTo(1.75, 12);
    expect(ev.perLandmark[0]!.sdr['2']).toBe(50);
    expect(ev.perLandmark[1]!.mre).toBeCloseTo(0.5, 12);
    expect(ev.perLandmark[1]!.std).toBeCloseTo(0.5, 12);
    expect(ev.errors[1]![0]).toBeCloseTo(3, 12);
  });
  it('falls back to pixels when a spacing is missing', () => {
    const ev = evaluate(pred, gt, [0.1, undefined]);
    expect(ev.unit).toBe('px');
    expect(ev.overall.mre).toBeCloseTo((5 + 0 + 30 + 10) / 4, 12);
    expect(evaluate(pred, gt, 0.1, { unit: 'px' }).unit).toBe('px');
    expect(evaluate(pred, gt).unit).toBe('px');
    const t = formatEvaluation(ev, ['a', 'b']);
    expect(t).toContain('MRE (px)');
    expect(t.split('\n').length).toBe(4);
  });
  it('rejects mismatched inputs', () => {
    expect(() => evaluate(pred, gt.slice(1))).toThrow(RangeError);
    expect(() => radialErrors([[0, 0]], [])).toThrow(RangeError);
  });
});

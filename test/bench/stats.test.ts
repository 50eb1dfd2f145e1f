import { describe, expect, test } from 'vitest';
import { opSummary } from '../../bench/report';
import { fmt, innerRuns, ratePerSecond, speedup, summarizeTimes } from '../../bench/stats';
import { geomean, median } from '../../src/util/stats';
import { convFlops, modelForwardFlops, unetppLayerShapes } from '../../src/model/layer_shapes';
import type { KernelRow } from '../../bench/types';

describe('bench aggregation', () => {
  test('median of odd and even counts, unsorted input', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test('summarizeTimes: median, min, max and spread in percent', () => {
    const t = summarizeTimes([10, 12, 8, 11, 9], 4);
    expect(t).toMatchObject({ median: 10, min: 8, max: 12, reps: 5, inner: 4 });
    expect(t.spreadPct).toBeCloseTo(40);
  });

  test('speed-up is baseline / osteo, null when either is missing', () => {
    expect(speedup(30, 10)).toBe(3);
    expect(speedup(10, 40)).toBe(0.25);
    expect(speedup(null, 1)).toBeNull();
    expect(speedup(1, 0)).toBeNull();
  });

  test('geometric mean ignores missing and non-positive values', () => {
    expect(geomean([2, 8])).toBeCloseTo(4);
    expect(geomean([1, 10, 100, null, NaN, 0])).toBeCloseTo(10);
    expect(geomean([])).toBeNaN();
  });

  test('rates: 1e9 FLOPs in 1000 ms is 1 GFLOP/s', () => {
    expect(ratePerSecond(1e9, 1000)).toBe(1);
    expect(ratePerSecond(2e9, 1)).toBe(2000);
    expect(ratePerSecond(1, 0)).toBeNaN();
  });

  test('inner runs fill the target, clamped to [1, max]', () => {
    expect(innerRuns(0.5, 25, 50)).toBe(50);
    expect(innerRuns(5, 25, 50)).toBe(5);
    expect(innerRuns(100, 25, 50)).toBe(1);
    expect(innerRuns(0, 25, 50)).toBe(1);
  });

  test('fmt keeps 3 significant digits', () => {
    expect(fmt(1234.5)).toBe('1235');
    expect(fmt(0.012345)).toBe('0.0123');
    expect(fmt(null)).toBe('–');
  });

  test('opSummary: per-op geomean of ratios and rows at the 2x goal', () => {
    const row = (op: string, ratio: number | null): KernelRow =>
      ({ key: `${op} ${ratio}`, op, unit: 'GFLOP/s', ratio, osteoRate: 4, tfjsRate: 1 }) as KernelRow;
    const s = opSummary([row('conv_fwd', 1), row('conv_fwd', 4), row('conv_dw', 3), row('conv_dw', null)]);
    const fwd = s.find((x) => x.op === 'conv_fwd')!;
    expect(fwd.geomeanRatio).toBeCloseTo(2);
    expect(fwd.atGoal).toBe(1);
    expect(fwd.minRatio).toBe(1);
    expect(s.find((x) => x.op === 'conv_dw')!.atGoal).toBe(1);
  });
});

describe('bench layer shapes', () => {
  test('U-Net++/VGG19 at 64: distinct conv shapes, pools, upsamples, concats', () => {
    const s = unetppLayerShapes({ size: 64, batch: 1 });
    // 9 distinct encoder convs (16 layers), 22 decoder convs, the head
    expect(s.convs.reduce((n, c) => n + c.layers.length, 0)).toBe(16 + 22 + 1);
    expect(s.pools.map((p) => [p.c, p.h])).toEqual([[64, 64], [128, 32], [256, 16], [512, 8], [512, 4]]);
    expect(s.convs.find((c) => c.layers.includes('decoder.blocks.x_0_1.conv1'))).toMatchObject({ cin: 256 + 1024, cout: 128, h: 8 });
    expect(s.concats.find((c) => c.layers.includes('decoder.blocks.x_1_2'))!.parts).toEqual([512, 256, 256]);
    expect(s.upsamples.find((u) => u.layers.includes('decoder.blocks.x_0_4'))).toMatchObject({ c: 32, h: 32 });
    expect(convFlops(s.convs[0]!)).toBe(2 * 64 * 64 * 64 * 1 * 9);
    expect(modelForwardFlops({ size: 64, batch: 2 })).toBe(2 * modelForwardFlops({ size: 64, batch: 1 }));
  });
});

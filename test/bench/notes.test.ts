/**
 * The generated notes judge the goals from the numbers: the data-movement goal (≥ 50% of the copy
 * ceiling at 64x256x256) is checked on dedicated rows, by GPU time and by wall clock.
 */
import { expect, test } from 'vitest';
import { GOAL_LAYER, kernelCases } from '../../bench/kernels';
import { autoNotes } from '../../bench/run';
import { summarizeTimes } from '../../bench/stats';
import type { BenchResults, KernelRow } from '../../bench/types';

test('the kernel suite has the 64x256x256 goal rows at any size, once', () => {
  const cases = kernelCases(32, 1).filter((c) => c.layer === GOAL_LAYER);
  const ops = cases.map((c) => c.op).sort();
  expect(ops).toEqual(
    ['bn_fwd', 'bn_fwd_bwd', 'concat', 'maxpool_bwd', 'maxpool_fwd', 'upsample_bilinear_bwd', 'upsample_bilinear_fwd', 'upsample_nearest_bwd', 'upsample_nearest_fwd'].sort(),
  );
  // at 256 the model's own first pool is 64x256x256 at batch 1 too: two rows, distinct keys
  const at256 = kernelCases(256, 1).filter((c) => c.op === 'maxpool_fwd' && c.shape === '1x64x256x256');
  expect(at256.map((c) => c.layer)).toEqual(['pool after encoder.features.2', GOAL_LAYER]);
  const keys = kernelCases(256, 1).map((c) => c.key);
  expect(new Set(keys).size).toBe(keys.length);
});

test('the data-movement goal note counts rows by GPU time and by wall clock', () => {
  const bytes = 4 * 2 * 64 * 256 * 256; // 33.5 MB
  const row = (op: string, wallMs: number, gpuMs: number): KernelRow => ({
    key: op, op, layer: GOAL_LAYER, shape: '1x64x256x256', unit: 'GB/s', flops: 0, bytes,
    osteo: summarizeTimes([wallMs]), osteoGpuMs: gpuMs, tfjs: null, ratio: null, osteoRate: null, tfjsRate: null, osteoCeilingShare: null, tfjsCeilingShare: null,
  });
  const r: BenchResults = {
    meta: {
      host: 'node', date: 'x', adapter: { vendor: 'nvidia', architecture: 'hopper', description: '', fallback: false, source: 'test' },
      ceilings: { fmaGflops: 50000, copyGbps: 2000, timing: 'timestamp' }, size: 256, batch: 1, reps: 3, tfjsVersion: '4.22.0', tfjsBackend: 'webgpu', timing: 'x',
    },
    // 33.5 MB in 0.02 ms = 1678 GB/s (84%); in 0.05 ms = 671 GB/s (34%)
    kernels: [row('maxpool_fwd', 0.05, 0.02), row('concat', 0.02, 0.05)],
    model: [],
    notes: [],
  };
  const note = autoNotes(r, false).find((n) => n.includes('64x256x256'))!;
  expect(note).toContain('1/2 rows by GPU time');
  expect(note).toContain('1/2 by wall clock');
  expect(note).toMatch(/maxpool_fwd 33\.\d% wall \/ 83\.\d% GPU/);
});

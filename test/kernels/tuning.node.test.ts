/**
 * Tuning tables: a measured per-shape choice replaces the heuristics only where the caller chose
 * nothing, gives the same numbers, and malformed tables are rejected with a specific error.
 */
import { afterEach, expect, test } from 'vitest';
import type { Engine } from '../../src/gpu/engine';
import { conv2d, conv2dBackwardInput } from '../../src/kernels/conv2d';
import { conv2dBackwardWeight } from '../../src/kernels/conv2d_grad_weight';
import { parseTuning, setTuning, tuningKey, type TuningTable } from '../../src/kernels/tuning';
import { nodeEngine } from '../helpers/node_engine';
import { tuningFromSweep, type SweepRow } from '../../src/model/tile_sweep';

function rand(e: Engine, shape: number[], seed: number) {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  return e.tensor(Float32Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1), shape);
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

let engine: Engine | undefined;
afterEach(() => {
  if (engine) setTuning(engine, null);
});

test('a tuned tile and split are used for that shape only, with the same results', async () => {
  const e = (engine = await nodeEngine());
  const x = rand(e, [2, 5, 7, 9], 1);
  const w = rand(e, [6, 5, 3, 3], 2);
  const dy = rand(e, [2, 6, 7, 9], 3);
  const plain = { y: await conv2d(x, w).read(), dx: await conv2dBackwardInput(dy, w, x.shape).read(), dw: await conv2dBackwardWeight(x, dy, 3).read() };
  const tile = { BM: 16, BN: 64, BK: 8, TM: 4, TN: 4 };
  const table: TuningTable = {
    device: 'test',
    conv: { [tuningKey('conv_fwd', 2, 5, 7, 9, 6, 3, 1)]: { tile, splitK: 3 }, [tuningKey('conv_dx', 2, 5, 7, 9, 6, 3, 1)]: { tile } },
    dw: { [tuningKey('conv_dw', 2, 5, 7, 9, 6, 3, 1)]: { algorithm: 'gemm', bm: 16, bn: 16, bk: 16, tm: 4, tn: 4, splits: 2 } },
  };
  setTuning(e, parseTuning(JSON.stringify(table)));
  const out: Record<string, Float32Array> = {};
  const prof = await e.profile(async () => {
    out.y = await conv2d(x, w).read();
    out.dx = await conv2dBackwardInput(dy, w, x.shape).read();
    out.dw = await conv2dBackwardWeight(x, dy, 3).read();
  });
  const kernels = prof.records.map((r) => r.kernel);
  expect(kernels.some((k) => k.startsWith('conv2d_k3_16x64x8_4x4') && k.includes('splitK'))).toBe(true);
  expect(kernels.some((k) => k.startsWith('conv2d_dx_k3_16x64x8_4x4'))).toBe(true);
  expect(kernels.some((k) => k.startsWith('conv2d_dW_16x16x16'))).toBe(true);
  expect(maxDiff(out.y!, plain.y)).toBeLessThan(1e-4);
  expect(maxDiff(out.dx!, plain.dx)).toBeLessThan(1e-4);
  expect(maxDiff(out.dw!, plain.dw)).toBeLessThan(1e-4);

  // another shape, or an explicit choice by the caller, ignores the table
  const other = await e.profile(async () => {
    conv2d(rand(e, [1, 5, 7, 9], 4), w).dispose();
    conv2d(x, w, null, { algorithm: 'direct' }).dispose();
  });
  expect(other.records.every((r) => !r.kernel.includes('16x64x8'))).toBe(true);
  for (const t of [x, w, dy]) t.dispose();
}, 120_000);

test('malformed tables are rejected with the reason', () => {
  expect(() => parseTuning('{')).toThrow(/not JSON/);
  expect(() => parseTuning('{"device":"d","conv":{}}')).toThrow(/expected \{device/);
  expect(() => parseTuning('{"device":"d","conv":{"conv_fwd 1x2":{}},"dw":{}}')).toThrow(/bad key "conv_fwd 1x2"/);
  expect(() => parseTuning('{"device":"d","conv":{"conv_fwd 1x2x3x4>5 k3 p1":{"splitK":0}},"dw":{}}')).toThrow(/splitK 0/);
  expect(() => parseTuning('{"device":"d","conv":{"conv_fwd 1x2x3x4>5 k3 p1":{"tile":{"BM":"a"}}},"dw":{}}')).toThrow(/malformed tile/);
});

test('a sweep becomes a table only where a candidate clearly beat the default', () => {
  const problem = { n: 4, cin: 64, h: 32, w: 32, cout: 64, k: 3, padding: 1 };
  const rows: SweepRow[] = [
    { op: 'conv_fwd', shape: 's', layers: [], problem, flops: 1, ms: { default: 1, a: 0.5 }, best: 'a', gainOverDefault: 2, bestOptions: { conv: { tile: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 }, algorithm: 'gemm' } } },
    { op: 'conv_dx', shape: 's', layers: [], problem, flops: 1, ms: { default: 1, b: 0.99 }, best: 'b', gainOverDefault: 1.01, bestOptions: { conv: { splitK: 4 } } },
    { op: 'conv_dw', shape: 's', layers: [], problem, flops: 1, ms: { default: 1, c: 0.8 }, best: 'c', gainOverDefault: 1.25, bestOptions: { dw: { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8 } } },
    { op: 'conv_fwd', shape: 's', layers: [], problem: { ...problem, n: 1 }, flops: 1, ms: { default: 1 }, best: 'default', gainOverDefault: 1 },
  ];
  const t = tuningFromSweep(rows, 'gpu');
  expect(t.conv).toEqual({ [tuningKey('conv_fwd', 4, 64, 32, 32, 64, 3, 1)]: { tile: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 } } });
  expect(t.dw).toEqual({ [tuningKey('conv_dw', 4, 64, 32, 32, 64, 3, 1)]: { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8 } });
  expect(parseTuning(JSON.stringify(t))).toEqual(t);
});

test('OSTEO_TUNING installs a table file in Node engines, and a bad file fails clearly', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { acquireNodeEngine } = await import('../../src/node/acquire_node');
  const { tuning } = await import('../../src/kernels/tuning');
  const dir = mkdtempSync(join(tmpdir(), 'osteo-tuning-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ device: 'test', conv: { [tuningKey('conv_fwd', 1, 2, 3, 4, 5, 3, 1)]: { splitK: 2 } }, dw: {} }));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"device": 1}');
  const before = process.env.OSTEO_TUNING;
  try {
    process.env.OSTEO_TUNING = good;
    const e = await acquireNodeEngine();
    expect(tuning(e)?.conv[tuningKey('conv_fwd', 1, 2, 3, 4, 5, 3, 1)]).toEqual({ splitK: 2 });
    e.destroy();
    process.env.OSTEO_TUNING = bad;
    await expect(acquireNodeEngine()).rejects.toThrow(/OSTEO_TUNING=.*bad\.json: expected \{device/);
    process.env.OSTEO_TUNING = join(dir, 'missing.json');
    await expect(acquireNodeEngine()).rejects.toThrow(/OSTEO_TUNING=.*missing\.json: cannot read it/);
  } finally {
    if (before === undefined) delete process.env.OSTEO_TUNING;
    else process.env.OSTEO_TUNING = before;
  }
}, 120_000);

test('the shipped tuning tables parse', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const files = readdirSync('tuning').filter((f) => f.endsWith('.json'));
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    const t = parseTuning(readFileSync(`tuning/${f}`, 'utf8'), f);
    expect(Object.keys(t.conv).length + Object.keys(t.dw).length).toBeGreaterThan(0);
  }
});

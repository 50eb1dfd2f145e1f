import { afterAll, beforeAll, expect, test } from 'vitest';
import { Graph } from '../../src/autograd/graph';
import type { Engine } from '../../src/gpu/engine';
import { ShaderCompileError } from '../../src/gpu/errors';
import { precompileUnetPP } from '../../src/model/precompile';
import { UnetPlusPlus } from '../../src/model/unetpp';
import { nodeEngine } from '../helpers/node_engine';

const CONFIG = { classes: 3, inChannels: 1 as const, widths: [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8], decoderChannels: [8, 8, 4, 4, 4] };

let engine: Engine;
beforeAll(async () => {
  engine = await nodeEngine();
});
afterAll(() => engine?.destroy());

test('after precompile, a real training step and inference compile nothing; the dry run leaves no memory and no peak behind', async () => {
  await engine.sync();
  const live = engine.memory().liveBytes;
  const peak = engine.memory().peakBytes;
  const compiled = await precompileUnetPP(engine, CONFIG, [
    { batch: 2, size: 32 },
    { batch: 2, size: 32, training: true },
  ]);
  expect(compiled).toBeGreaterThan(10);
  expect(engine.memory().liveBytes).toBe(live);
  expect(engine.memory().peakBytes).toBe(peak);
  expect(engine.dryRun).toBe(false);
  // the same shapes again: everything is cached
  expect(await precompileUnetPP(engine, CONFIG, [{ batch: 2, size: 32, training: true }])).toBe(0);

  const before = engine.pipelines.compiled;
  const model = new UnetPlusPlus(engine, CONFIG);
  const x = engine.tensor(Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => Math.sin(i)), [2, 1, 32, 32]);
  try {
    const g = new Graph(engine, { grad: false, training: false });
    const out = await model.forward(g, g.input(x)).value.read();
    g.dispose();
    expect(out.length).toBe(2 * 3 * 32 * 32);
    const gt = new Graph(engine);
    const logits = model.forward(gt, gt.input(x));
    const target = engine.zeros(logits.shape as number[]);
    const loss = gt.mseLoss(logits, gt.input(target));
    logits.release();
    await gt.backward(loss);
    loss.release();
    gt.dispose();
    target.dispose();
    await engine.sync();
    expect(engine.pipelines.compiled - before).toBe(0);
  } finally {
    x.dispose();
    model.dispose();
  }
}, 240_000);

test('a WGSL error found by precompile is a ShaderCompileError naming the kernel and the line', async () => {
  const code = '@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  y[0] = undefined_name;\n}\n';
  const err = await engine
    .precompile(() => engine.run({ kernel: 'broken_kernel', code, buffers: [], workgroups: [1] }))
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ShaderCompileError);
  expect((err as Error).message).toMatch(/broken_kernel:4:/);
  expect(engine.dryRun).toBe(false);
});

test('after a failed precompile the engine reports no leftover error', async () => {
  await engine.precompile(() => engine.run({ kernel: 'broken_again', code: 'fn main() { let a: f32 = b; }', buffers: [], workgroups: [1] })).catch(() => undefined);
  await expect(engine.sync()).resolves.toBeUndefined();
});

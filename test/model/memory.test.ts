import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Engine } from '../../src/gpu/engine';
import { measureMemory } from '../../src/model/memory';
import { nodeEngine } from '../helpers/node_engine';

const CONFIG = { classes: 5, inChannels: 1 as const, widths: [4, 4, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16], decoderChannels: [16, 8, 8, 4, 4] };

let engine: Engine;
beforeAll(async () => {
  engine = await nodeEngine();
});
afterAll(() => engine?.destroy());

test('dry-run peak memory equals the peak of really running the same steps, and frees everything', async () => {
  const sizes = { inference: { batch: 1, size: 64 }, training: { batch: 2, size: 32 } };
  const live = engine.memory().liveBytes;
  const dry = await measureMemory(engine, CONFIG, sizes);
  expect(engine.memory().liveBytes).toBe(live);
  expect(engine.dryRun).toBe(false);
  const realRun = await measureMemory(engine, CONFIG, { ...sizes, execute: true });
  await engine.sync();
  expect(realRun.inference.peakBytes).toBe(dry.inference.peakBytes);
  expect(realRun.training.peakBytes).toBe(dry.training.peakBytes);
  expect(dry.inference.peakBytes).toBeGreaterThan(dry.modelBytes);
  expect(dry.training.peakBytes).toBeGreaterThan(dry.inference.peakBytes);
  expect(dry.training.optimizerBytes).toBeGreaterThan(0);
  expect(engine.memory().liveBytes).toBe(live);
}, 300_000);

test('inference allocates no gradient arena; the first backward does, as large as the parameters', async () => {
  const { UnetPlusPlus } = await import('../../src/model/unetpp');
  const { Graph } = await import('../../src/autograd/graph');
  const model = new UnetPlusPlus(engine, CONFIG);
  const x = engine.tensor(new Float32Array(2 * 32 * 32).fill(0.5), [2, 1, 32, 32]);
  try {
    const afterBuild = engine.memory().liveBytes;
    const g = new Graph(engine, { grad: false, training: false });
    model.forward(g, g.input(x)).release();
    await engine.sync();
    expect(model.params.shards.some((s) => s.hasGrads)).toBe(false);
    // nothing but the packed-weight cache of the software adapter's direct convs stays
    expect(engine.memory().liveBytes - model.params.derivedBytes).toBe(afterBuild);

    const gt = new Graph(engine);
    const logits = model.forward(gt, gt.input(x));
    const target = engine.zeros(logits.shape as number[]);
    const loss = gt.mseLoss(logits, gt.input(target));
    logits.release();
    await gt.backward(loss, { checkFinite: false });
    loss.release();
    target.dispose();
    expect(model.params.shards.every((s) => s.hasGrads)).toBe(true);
    // the gradient arenas, rounded up to the pool's size classes
    const grown = engine.memory().liveBytes - afterBuild - model.params.derivedBytes;
    expect(grown).toBeGreaterThanOrEqual(model.params.arenaBytes);
    expect(grown).toBeLessThan(1.5 * model.params.arenaBytes);
  } finally {
    x.dispose();
    model.dispose();
  }
}, 120_000);

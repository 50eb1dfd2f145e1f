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

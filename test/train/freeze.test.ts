/**
 * Fine-tuning options for few images: --freeze-bn (batch norm on its running statistics, which stay
 * as they were; γ and β still learn) and --freeze-encoder N (the first N VGG19 blocks unchanged).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_LAST, loadCheckpoint } from '../../src/node/checkpoint';
import { inFrozenBlocks } from '../../src/train/config';
import { NARROW, shareEngine, tmp } from './helpers';

const BASE = ['--data', 'synthetic:hand?n=6&size=64', '--size', '32', '--batch', '2', '--accum', '1', '--lr', '3e-3', '--seed', '5', '--epochs', '1', '--val-split', '0', ...NARROW];

beforeAll(() => shareEngine());

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('freezing for fine-tuning', () => {
  test('the block boundaries: --freeze-encoder 2 is features.0–7, 3 adds 10–16', () => {
    const f2 = inFrozenBlocks(2), f3 = inFrozenBlocks(3);
    expect(['encoder.features.0.weight', 'encoder.features.7.bias'].every(f2)).toBe(true);
    expect(f2('encoder.features.10.weight')).toBe(false);
    expect(f3('encoder.features.16.weight')).toBe(true);
    expect(f3('encoder.features.19.weight')).toBe(false);
    expect(f3('decoder.blocks.x_0_0.conv1.0.weight')).toBe(false);
    expect(inFrozenBlocks(0)('encoder.features.0.weight')).toBe(false);
  });

  test('--freeze-encoder 2 --freeze-bn: frozen convs and running statistics unchanged, the rest trained', async () => {
    const first = tmp('freeze-a');
    await trainMain([...BASE, '--init', 'scratch', '--out', first], { quiet: true });
    const start = await loadCheckpoint(join(first, CHECKPOINT_LAST));
    const out = tmp('freeze-b');
    await trainMain([...BASE, '--init', join(first, CHECKPOINT_LAST), '--freeze-encoder', '2', '--freeze-bn', '--loss', 'spatial_ce', '--sigma', '1.5', '--out', out], { quiet: true });
    const end = await loadCheckpoint(join(out, CHECKPOINT_LAST));
    const names = [...start.tensors.keys()];
    const changed = (n: string) => !same(start.tensors.get(n)!, end.tensors.get(n)!);
    const frozen = names.filter(inFrozenBlocks(2));
    expect(frozen).toHaveLength(8);
    for (const n of frozen) expect(changed(n), n).toBe(false);
    // block 3 on and the decoder learn
    expect(changed('encoder.features.10.weight')).toBe(true);
    expect(changed('decoder.blocks.x_0_0.conv1.0.weight')).toBe(true);
    // batch norm: running statistics kept, γ and β trained
    const running = names.filter((n) => /running_(mean|var)$/.test(n));
    expect(running.length).toBeGreaterThan(10);
    for (const n of running) expect(changed(n), n).toBe(false);
    expect(names.filter((n) => /\.1\.(weight|bias)$/.test(n) && n.startsWith('decoder.')).some(changed)).toBe(true);
    const run = end.train.run as { freezeBn?: boolean; freezeEncoder?: number };
    expect(run.freezeBn).toBe(true);
    expect(run.freezeEncoder).toBe(2);
  });

  test('without --freeze-bn the running statistics move', async () => {
    const out = tmp('freeze-c');
    const first = tmp('freeze-d');
    await trainMain([...BASE, '--init', 'scratch', '--out', first], { quiet: true });
    const start = await loadCheckpoint(join(first, CHECKPOINT_LAST));
    await trainMain([...BASE, '--init', join(first, CHECKPOINT_LAST), '--loss', 'spatial_ce', '--sigma', '1.5', '--out', out], { quiet: true });
    const end = await loadCheckpoint(join(out, CHECKPOINT_LAST));
    const n = 'decoder.blocks.x_0_0.conv1.1.running_mean';
    expect(same(start.tensors.get(n)!, end.tensors.get(n)!)).toBe(false);
    await expect(trainMain([...BASE, '--init', 'scratch', '--freeze-encoder', '6', '--out', tmp('freeze-e')], { quiet: true })).rejects.toThrow(/--freeze-encoder must be 0 to 5/);
  });
});

/**
 * `osteo train --optimizer sgd --momentum M` and `--schedule step --step-size N --gamma G` through
 * the real training path (tiny model, synthetic data): the run's per-epoch learning rate follows
 * the step rule, its checkpoint holds the chosen optimizer's state, and metrics.json records the
 * settings. The SGD kernel itself is checked against a plain TypeScript reference in
 * test/suites/optim.cases.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_LAST, loadCheckpoint } from '../../src/node/checkpoint';
import { withDefaults } from '../../src/train/config';
import { closedFormSchedule } from '../../src/train/epoch_book';
import { NARROW, shareEngine, tmp } from './helpers';

// 4 images, no validation: 2 steps of batch 2 per epoch
const BASE = ['--data', 'synthetic:hand?n=4&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--lr', '4e-3', '--seed', '3', '--val-split', '0', '--early-stop', '20', ...NARROW];

beforeAll(() => shareEngine());

/** A few SwiftShader training steps: seconds on an idle machine, minutes on a loaded one. */
const TRAINING = 900_000;

interface Metrics { config: Record<string, unknown>; history: { epoch: number; lr: number }[] }
const metrics = (dir: string): Metrics => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Metrics;
const close = (got: number[], want: number[]) => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(g, `epoch ${i + 1}`).toBeCloseTo(want[i]!, 12));
};

describe('optimizer and schedule options', () => {
  test('the step rule: lr · gamma^⌊epoch / stepSize⌋, behind the warm-up', () => {
    const s = closedFormSchedule({ lr: 1, epochs: 6, schedule: 'step', stepSize: 2, gamma: 0.5, warmup: 1 })!;
    close([0, 1, 2, 3, 4, 5].map((e) => s.lrAt(e)), [0.1, 1, 1, 0.5, 0.5, 0.25]);
    const noWarm = closedFormSchedule({ lr: 2e-3, epochs: 4, schedule: 'step', stepSize: 1 })!;
    close([0, 1, 2].map((e) => noWarm.lrAt(e)), [2e-3, 2e-4, 2e-5]);
  });

  test('settings that cannot work are refused, naming the flag', () => {
    const base = { data: 'synthetic:hand', init: 'scratch' };
    expect(() => withDefaults({ ...base, schedule: 'step' })).toThrow(/--schedule step needs --step-size/);
    expect(() => withDefaults({ ...base, stepSize: 2 })).toThrow(/--step-size and --gamma are for --schedule step/);
    expect(() => withDefaults({ ...base, schedule: 'step', stepSize: 2, gamma: 1.5 })).toThrow(/--gamma must be in \(0, 1\]/);
    expect(() => withDefaults({ ...base, momentum: 0.9 })).toThrow(/--momentum is for --optimizer sgd/);
    expect(() => withDefaults({ ...base, optimizer: 'sgd', momentum: 1 })).toThrow(/--momentum must be in \[0, 1\)/);
    expect(() => withDefaults({ ...base, optimizer: 'adam' as never })).toThrow(/--optimizer must be adamw or sgd/);
    expect(withDefaults({ ...base, optimizer: 'sgd', momentum: 0.9, schedule: 'step', stepSize: 3 })).toMatchObject({ optimizer: 'sgd', momentum: 0.9, schedule: 'step', stepSize: 3 });
  });

  test('--optimizer sgd --momentum 0.9 --schedule step: SGD state in the checkpoint, lr halved every 2 epochs', { timeout: TRAINING }, async () => {
    const out = tmp('sgd-step');
    await trainMain([...BASE, '--epochs', '3', '--optimizer', 'sgd', '--momentum', '0.9', '--weight-decay', '1e-3', '--schedule', 'step', '--step-size', '2', '--gamma', '0.5', '--out', out], { quiet: true });
    const m = metrics(out);
    close(m.history.map((h) => h.lr), [4e-3, 4e-3, 2e-3]);
    expect(m.config).toMatchObject({ optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-3, schedule: 'step', stepSize: 2, gamma: 0.5 });
    const ck = await loadCheckpoint(join(out, CHECKPOINT_LAST));
    const opt = ck.optimizer!;
    expect(opt.type).toBe('sgd');
    expect(opt.stepCount).toBe(6);
    // the lr of the epoch after the last: 4e-3 · 0.5^⌊3 / 2⌋
    expect(opt.lr).toBeCloseTo(2e-3, 12);
    expect(Object.keys(opt.tensors)).toEqual(['momentum_buffer']);
    const buf = opt.tensors.momentum_buffer!['decoder.blocks.x_0_0.conv1.0.weight']!;
    expect(buf.some((v) => v !== 0)).toBe(true);
    // the saved SGD state resumes only an SGD run
    await expect(trainMain(['--out', out, '--resume', '--epochs', '4', '--optimizer', 'adamw'], { quiet: true })).rejects.toThrow(/--optimizer "adamw" differs/);
  });

  test('the default AdamW with --schedule step and the default gamma 0.1', { timeout: TRAINING }, async () => {
    const out = tmp('adamw-step');
    await trainMain([...BASE, '--epochs', '2', '--schedule', 'step', '--step-size', '1', '--out', out], { quiet: true });
    close(metrics(out).history.map((h) => h.lr), [4e-3, 4e-4]);
    const ck = await loadCheckpoint(join(out, CHECKPOINT_LAST));
    expect(ck.optimizer!.type).toBe('adamw');
    expect(Object.keys(ck.optimizer!.tensors).sort()).toEqual(['exp_avg', 'exp_avg_sq']);
  });
});

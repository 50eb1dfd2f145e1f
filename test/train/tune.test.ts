/**
 * `osteo tune` end to end on the CPU fallback with a tiny budget: it sweeps at least one layer,
 * writes a table that parses, and rejects bad sizes before touching the GPU.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tuneCommand } from '../../src/cli/commands/tune';
import { parseTuning } from '../../src/kernels/tuning';
import { tmp } from './helpers';

test('osteo tune writes a parseable tuning table', async () => {
  const out = join(tmp('tune'), 'table.json');
  const logs: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const log = console.log;
  const error = console.error;
  process.stderr.write = ((s: string | Uint8Array) => (logs.push(String(s)), true)) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => logs.push(a.join(' '));
  console.error = (...a: unknown[]) => logs.push(a.join(' '));
  try {
    await tuneCommand.run(['--train-size', '32', '--train-batch', '1', '--infer-size', '32', '--budget', '1', '--reps', '1', '--out', out]);
  } finally {
    process.stderr.write = write;
    console.log = log;
    console.error = error;
  }
  expect(existsSync(out)).toBe(true);
  const table = parseTuning(readFileSync(out, 'utf8'));
  expect(table.device).toMatch(/osteo tune \(training b1 32², inference b1 32²\)/);
  const text = logs.join('\n');
  expect(text).toMatch(/sweep conv_fwd 1x1x32x32>64: default/); // the first layer was timed
  expect(text).toMatch(/\| op \| shape \| default ms/);
  expect(text).toContain(`use it with OSTEO_TUNING=${out}`);
}, 300_000);

test('osteo tune rejects sizes the model cannot take', async () => {
  await expect(tuneCommand.run(['--train-size', '48'])).rejects.toThrow(/--train-size 48 must be a multiple of 32/);
  await expect(tuneCommand.run(['--reps', '0'])).rejects.toThrow(/--reps must be a positive integer/);
});

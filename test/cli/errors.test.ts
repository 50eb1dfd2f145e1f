/**
 * Bad command lines fail before a GPU is acquired, with "did you mean" where a name was mistyped,
 * and no command prints an internal class name (RangeError:, DataError: …) or a stack.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { engineProvider } from '../../src/cli/engine';
import { tmp } from '../train/helpers';
import { ensureBuilt, INTERNAL, runBuilt, runInProcess } from './io';

const dir = tmp('cli-errors');
const JUNK = join(dir, 'junk.safetensors');
const IMAGE = join(dir, 'x.png');
writeFileSync(JUNK, 'not a checkpoint');
const png = new PNG({ width: 32, height: 32 });
png.data.fill(128);
writeFileSync(IMAGE, PNG.sync.write(png));

describe('a bad command line fails before any engine is acquired', () => {
  const acquired: string[] = [];
  const saved = engineProvider.acquire;
  beforeAll(() => {
    engineProvider.acquire = async () => {
      acquired.push('acquired');
      throw new Error('a bad command line must not get as far as acquiring an engine');
    };
  });
  afterAll(() => {
    engineProvider.acquire = saved;
  });

  const cases: [string[], RegExp][] = [
    [['train', '--epoch', '3'], /unknown option '--epoch' \(did you mean '--epochs'\?\)/],
    [['train', '--data', 'synthetic:hand?bogus=1'], /--data: dataset spec 'synthetic:hand\?bogus=1': unknown option 'bogus' for synthetic data; valid: n, size, seed/],
    [['train', '--data', 'synthetic:hand?sed=2'], /unknown option 'sed' \(did you mean 'seed'\?\)/],
    [['train', '--data', 'synthetic:hand', '--size', '48'], /--size 48 must be a multiple of 32/],
    [['train', '--data', 'synthetic:hand', '--val-split', '1'], /--val-split must be ≥ 0 and < 1, got 1/],
    [['train', '--data', 'synthetic:hand', '--loss', 'l2'], /--loss must be one of mse, bce, softmax_ce, spatial_ce, awing; got 'l2'/],
    [['train', '--data', 'synthetic:hand', '--init', 'imagnet'], /--init imagnet: no such file.*\(did you mean 'imagenet'\?\)/],
    [['train', '--data', `isbi2015:${join(dir, 'absent')}`, '--init', 'scratch'], /--data: .*absent: no such file or folder/],
    [['train', '--data', 'synthetic:hand', '--widths', '8,8'], /--widths needs 16 positive integers/],
    [['train', '--data', 'synthetic:hand', '--weights', join(dir, 'absent.safetensors')], /--weights .*absent\.safetensors: no such file/],
    [['train', '--data', 'synthetic:hand', 'extra'], /unexpected argument 'extra'/],
    [['train', '--init', 'scratch'], /--data SPEC is required/],
    [['eval', '--model', join(dir, 'absent.safetensors'), '--data', 'synthetic:hand'], /--model .*absent\.safetensors: no such file/],
    [['eval', '--model', JUNK, '--data', `isbi2015:${dir}?mmm=0.1`], /unknown option 'mmm' for isbi2015 data; valid: annotator, strict, limit, missing/],
    [['eval', '--model', JUNK, '--data', 'synthetic:hand', '--batch', '0'], /--batch must be a positive integer, got 0/],
    [['predict', '--model', JUNK, join(dir, 'absent.png')], /IMAGE .*absent\.png: no such file/],
    [['predict', '--model', JUNK, IMAGE, '--decode', 'max'], /--decode must be one of argmax, blob; got 'max'/],
    [['predict', '--model', JUNK], /give one or more IMAGE files/],
    [['experiment', 'transfer', '--target', 'synthetic:head', '--arms', 'imagenet,scrath'], /--arms: unknown 'scrath' \(did you mean 'scratch'\?\)/],
    [['experiment', 'transfer', '--target', 'synthetic:head', '--source', `hand:${join(dir, 'absent')}`, '--arms', 'indomain'], /--source: .*absent: no such file or folder/],
    [['experiment', 'tranfser'], /unknown experiment 'tranfser' \(did you mean 'transfer'\?\)/],
    [['memory', '--train-size', '100'], /--train-size 100 must be a multiple of 32/],
    [['memory', '--classes'], /option '--classes' needs a value: --classes K/],
    [['profile', '--batch', '0'], /--batch must be a positive integer, got 0/],
    [['profile', '--trace'], /option '--trace' needs a value/],
    [['device', '--jsn'], /unknown option '--jsn' \(did you mean '--json'\?\)/],
    [['device', '--json=yes'], /option '--json' takes no value/],
    [['tune', '--reps', 'x'], /--reps must be a positive integer, got x/],
    [['demo', '--seed', 'soon'], /--seed must be a non-negative integer, got soon/],
    [['demo', '--epochs', '0'], /--epochs must be a positive integer, got 0/],
    [['bench', '--suite', 'modle'], /--suite must be one of kernels, model, inference, all, decode; got 'modle' \(did you mean 'model'\?\)/],
    [['weights', 'convert', join(dir, 'absent.h5')], /SRC .*absent\.h5: no such file/],
    [['weights', 'fecth'], /unknown verb 'fecth' \(did you mean 'fetch'\?\)/],
    [['weights', 'fetch', '--channels', '2'], /--channels must be one of 1, 3; got '2'/],
  ];

  test.each(cases)('osteo %j', async (argv, message) => {
    const r = await runInProcess(argv);
    expect(r.stderr).toMatch(message);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.startsWith(`osteo ${argv[0]}: `), r.stderr).toBe(true);
    expect(r.stderr).not.toMatch(INTERNAL);
    expect(acquired).toEqual([]);
  });

  test('unknown commands and top-level flags get "did you mean"', async () => {
    const r = await runInProcess(['trian', '--epochs', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("osteo: unknown command 'trian' (did you mean 'train'?)");
    const v = await runInProcess(['--verison']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain("unknown option '--verison' (did you mean '--version'?)");
    expect(acquired).toEqual([]);
  });
});

describe('the built CLI', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  test('a typo\'d flag fails at once: no device line, no class name, exit 2', async () => {
    const r = await runBuilt(['train', '--data', 'synthetic:hand?n=4', '--epoch', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("osteo train: unknown option '--epoch' (did you mean '--epochs'?)");
    expect(r.stderr).not.toMatch(/device:/);
    expect(r.stderr).not.toMatch(INTERNAL);
    expect(r.stdout).toBe('');
  });

  test('train without --out checks its default run folder before any work', async () => {
    const cwd = tmp('cli-default-out');
    writeFileSync(join(cwd, 'runs'), 'a file where the runs/ folder would go');
    const r = await runBuilt(['train', '--data', 'synthetic:hand?n=4', '--init', 'scratch'], { cwd });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--out runs\/train \(the default --out\): .*runs is a file, not a folder/);
    expect(r.stderr).not.toMatch(/device:/);
    expect(r.stderr).not.toMatch(INTERNAL);
  });

  test('a failure after the engine is acquired: the message names the file, no class name; predict leaves no output folder', async () => {
    const out = join(dir, 'pred-out');
    const r = await runBuilt(['predict', IMAGE, '--model', JUNK, '--out', out, '--software']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^osteo predict: .*junk\.safetensors/m);
    expect(r.stderr).not.toMatch(INTERNAL);
    expect(existsSync(out)).toBe(false);
    // OSTEO_DEBUG=1 adds the stack (class name included) for bug reports
    const debug = await runBuilt(['predict', IMAGE, '--model', JUNK, '--out', out, '--software'], { env: { OSTEO_DEBUG: '1' } });
    expect(debug.stderr).toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
  });
});

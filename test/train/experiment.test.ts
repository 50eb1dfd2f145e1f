import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { experimentMain } from '../../src/cli/commands/experiment';
import { trainMain } from '../../src/cli/commands/train';
import { prepareDataSpec as prepareData } from '../../src/node/train_io';
import { targetSplits } from '../../src/train/experiment';
import { loadCheckpoint } from '../../src/node/checkpoint';
import { writeSafetensors } from '../../src/weights/index';
import { torchvisionTensors } from '../weights/fixtures';
import { NARROW, shareEngine, tmp, WIDTHS } from './helpers';

const TINY = ['--epochs', '1', '--source-epochs', '1', '--seeds', '1', '--size', '32', '--batch', '2', '--accum', '1', '--lr', '1e-3', ...NARROW];
const TARGET = 'synthetic:head?n=6&size=64';
const SOURCE = 'synthetic:hand?n=4&size=64&seed=5';

beforeAll(() => shareEngine());

/** A torchvision-format VGG19 file with the narrow widths (3 input channels, like the real one). */
function fakeImagenet(dir: string): string {
  const path = join(dir, 'vgg19-imagenet.safetensors');
  writeFileSync(path, writeSafetensors(torchvisionTensors({ widths: WIDTHS }, 3)));
  return path;
}

describe('osteo experiment transfer', () => {
  test('three arms, same seeds and budget: markdown + JSON table and an SVG plot', async () => {
    const out = tmp('exp');
    const weights = fakeImagenet(out);
    const r = await experimentMain(['transfer', '--target', TARGET, '--source', SOURCE, ...TINY, '--weights', weights, '--out', out]);
    expect(r.rows.map((x) => x.arm)).toEqual(['imagenet', 'indomain', 'scratch']);
    expect(r.skippedArms).toEqual([]);
    for (const row of r.rows) {
      expect(row.seed).toBe(1);
      expect(row.unit).toBe('mm');
      expect(row.testImages).toBe(2);
      expect(row.mre).toBeGreaterThan(0);
      expect(Object.keys(row.sdr).sort()).toEqual(['2', '2.5', '3', '4']);
    }
    // Same target items and budget for every arm; in-domain arm starts from the source checkpoint with a new head.
    const ind = await loadCheckpoint(r.rows[1]!.checkpoint);
    expect((ind.train.run as { init: string }).init).toMatch(/source[/\\]seed-1[/\\]stage-1[/\\]checkpoint-best\.safetensors$/);
    expect(ind.model.classes).toBe(19);
    const src = await loadCheckpoint(join(out, 'source', 'seed-1', 'stage-1', 'checkpoint-best.safetensors'));
    expect(src.model.classes).toBe(37);
    expect((src.train.run as { initKind: string }).initKind).toBe('imagenet');
    const json = JSON.parse(readFileSync(r.files.json, 'utf8'));
    expect(json.summary.map((s: { arm: string }) => s.arm)).toEqual(['imagenet', 'indomain', 'scratch']);
    expect(json.runs).toHaveLength(3);
    const md = readFileSync(r.files.markdown, 'utf8');
    expect(md).toMatch(/\| ImageNet → source → target \| 1 \|/);
    expect(md).toMatch(/Paired differences/);
    expect(md).toMatch(/SDR 2 mm \| SDR 2\.5 mm \| SDR 3 mm \| SDR 4 mm/);
    const svg = readFileSync(r.files.plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('scratch → target');

    // Running it again reuses the finished runs (no training) and gives the same table.
    const again = await experimentMain(['transfer', '--target', TARGET, '--source', SOURCE, ...TINY, '--weights', weights, '--out', out]);
    expect(again.rows.map((x) => x.mre)).toEqual(r.rows.map((x) => x.mre));
  });

  test('missing ImageNet weights: a clear error, or the scratch arm alone with an explicit note', async () => {
    const cwd = process.cwd();
    process.chdir(tmp('exp-noweights'));
    try {
      await expect(experimentMain(['transfer', '--target', TARGET, '--source', SOURCE, ...TINY, '--out', 'o'])).rejects.toThrow(
        /ImageNet VGG19 weights not found.*osteo weights fetch.*--allow-missing-imagenet/s,
      );
      const r = await experimentMain(['transfer', '--target', TARGET, '--source', SOURCE, ...TINY, '--out', 'o2', '--allow-missing-imagenet', '--arms', 'imagenet,scratch']);
      expect(r.skippedArms).toEqual(['imagenet']);
      expect(r.rows.map((x) => x.arm)).toEqual(['scratch']);
      expect(readFileSync(r.files.markdown, 'utf8')).toMatch(/ImageNet weights missing: arms imagenet were skipped/);
      expect(existsSync(r.files.plot)).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  test('target splits: the data set\'s own train split, k folds, or a fixed held-out fraction', () => {
    const d = prepareData('synthetic:chest?n=10&size=32', { size: 32 });
    const held = targetSplits(d, { testSplit: 0.3, splitSeed: 0 });
    expect(held.splits).toHaveLength(1);
    expect(held.splits[0]!.test).toHaveLength(3);
    expect(targetSplits(d, { testSplit: 0.3, splitSeed: 0 })).toEqual(held);
    const folds = targetSplits(d, { folds: 5, testSplit: 0.3, splitSeed: 1 });
    expect(folds.splits).toHaveLength(5);
    expect(folds.splits.flatMap((s) => s.test).sort()).toEqual([...d.set.ids].sort());
    const own = targetSplits({ ...d, splits: { train: d.set.ids.slice(0, 7), test1: d.set.ids.slice(7) } }, { testSplit: 0.3, splitSeed: 0 });
    expect(own.splits[0]!.test).toEqual(d.set.ids.slice(7));
    expect(own.describe).toMatch(/own split/);
  });

  test('--init imagenet with a weight file of the narrow widths loads the encoder (first conv summed to one channel)', async () => {
    const dir = tmp('imnet');
    const weights = fakeImagenet(dir);
    const r = await trainMain(['--data', 'synthetic:chest?n=4&size=64', '--init', 'imagenet', '--weights', weights, '--size', '32', '--batch', '2', '--epochs', '1', ...NARROW, '--out', dir], { quiet: true });
    expect(r.initKind).toBe('imagenet');
    expect(r.init).toMatch(/imagenet \(.*vgg19-imagenet\.safetensors: 32 encoder tensors/);
    const ck = await loadCheckpoint(r.lastCheckpoint);
    expect(ck.train.normalization.mean).toBeCloseTo(0.449, 3);
    expect(ck.train.normalization.std).toBeCloseTo(0.226, 3);
  });
});

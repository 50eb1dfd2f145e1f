import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { evalCommand, evalMain } from '../../src/cli/commands/eval';
import { predictMain } from '../../src/cli/commands/predict';
import { trainCommand, trainMain, trainSummary } from '../../src/cli/commands/train';
import { prepareDataSpec as prepareData } from '../../src/node/train_io';
import { synthesize } from '../../src/data/synthetic';
import { DataError } from '../../src/data/types';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, loadCheckpoint } from '../../src/node/checkpoint';
import { NARROW, shareEngine, tmp } from './helpers';

const DATA = 'synthetic:hand?n=8&size=64';
const BASE = ['--data', DATA, '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '2', '--lr', '3e-3', '--seed', '4', ...NARROW];

beforeAll(() => shareEngine());

describe('osteo train', () => {
  test('end to end on synthetic hand: metrics.json, last and best checkpoints, the init line', async () => {
    const out = tmp('train');
    const logs: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string | Uint8Array) => {
      logs.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    let code: number | void;
    try {
      code = await trainCommand.run([...BASE, '--epochs', '1', '--out', out]);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(0);
    expect(logs.join('')).toMatch(/init: scratch/);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(m.epochs).toBe(1);
    expect(m.history).toHaveLength(1);
    expect(m.history[0].trainLoss).toBeGreaterThan(0);
    expect(m.history[0].valMre).toBeGreaterThan(0);
    expect(m.data).toMatchObject({ k: 37, train: 6, val: 2, unit: 'mm' });
    expect(m.initKind).toBe('scratch');
    expect(existsSync(join(out, CHECKPOINT_LAST))).toBe(true);
    expect(existsSync(join(out, CHECKPOINT_BEST))).toBe(true);
    const ck = await loadCheckpoint(join(out, CHECKPOINT_LAST));
    expect(ck.state.epoch).toBe(1);
    expect(ck.optimizer?.stepCount).toBeGreaterThan(0);
    expect(ck.model.classes).toBe(37);
  });

  test('a run killed in epoch 2 resumes from epoch 1 and ends exactly where an uninterrupted run ends', async () => {
    const a = tmp('runA');
    const b = tmp('runB');
    const snapshot = join(tmp('snap'), 'after-epoch-1.safetensors');
    // A: uninterrupted, 2 epochs; copy its checkpoint-last as it stands after epoch 1.
    const ra = await trainMain([...BASE, '--epochs', '2', '--out', a], {
      quiet: true,
      onStep: (s) => {
        if (s.epoch === 1 && s.step === 1) copyFileSync(join(a, CHECKPOINT_LAST), snapshot);
      },
    });
    expect(ra.epochs).toBe(2);
    // B: same settings, "killed" at the second step of epoch 2.
    const crash = new Error('simulated kill');
    await expect(trainMain([...BASE, '--epochs', '2', '--out', b], {
      quiet: true,
      onStep: (s) => {
        if (s.epoch === 1 && s.step === 2) throw crash;
      },
    })).rejects.toBe(crash);
    const afterCrash = await loadCheckpoint(join(b, CHECKPOINT_LAST));
    expect(afterCrash.state.epoch).toBe(1);
    const snap = await loadCheckpoint(snapshot);
    for (const [n, v] of snap.tensors) expect(afterCrash.tensors.get(n), n).toEqual(v);
    expect(afterCrash.optimizer!.stepCount).toBe(snap.optimizer!.stepCount);
    // Resume: starts at epoch 2 with the stored settings (no --data needed) and finishes like A.
    const rb = await trainMain(['--resume', '--out', b], { quiet: true });
    expect(rb.epochs).toBe(2);
    expect(rb.history.map((h) => h.epoch)).toEqual([1, 2]);
    const fa = await loadCheckpoint(join(a, CHECKPOINT_LAST));
    const fb = await loadCheckpoint(join(b, CHECKPOINT_LAST));
    for (const [n, v] of fa.tensors) {
      const w = fb.tensors.get(n)!;
      let worst = 0;
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - w[i]!));
      expect(worst, n).toBeLessThan(1e-5);
    }
    expect(fb.optimizer!.stepCount).toBe(fa.optimizer!.stepCount);
    expect(fb.state.history[1]!.trainLoss).toBeCloseTo(fa.state.history[1]!.trainLoss, 5);
    // A changed setting is refused on resume.
    await expect(trainMain(['--resume', '--out', b, '--size', '64'], { quiet: true })).rejects.toThrow(/--size 64 differs/);
    // Nothing to resume.
    await expect(trainMain(['--resume', '--out', tmp('empty')], { quiet: true })).rejects.toThrow(/nothing to resume/);
  });

  test('--init imagenet without weights says how to get them', async () => {
    const cwd = process.cwd();
    process.chdir(tmp('noweights'));
    try {
      await expect(trainMain(['--data', 'synthetic:hand?n=4&size=64', '--size', '32', ...NARROW, '--out', 'o'], { quiet: true })).rejects.toThrow(
        /ImageNet VGG19 weights not found.*osteo weights fetch.*osteo weights convert/s,
      );
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('bad data', () => {
  test('a corrupt image is reported and skipped (counted), or thrown with --strict', () => {
    const dir = tmp('baddata');
    mkdirSync(join(dir, 'img'));
    const syn = synthesize({ kind: 'chest', n: 3, size: 64, seed: 2 });
    const rows: string[] = [];
    syn.images.forEach((im, i) => {
      const png = new PNG({ width: im.width, height: im.height });
      for (let p = 0; p < im.width * im.height; p++) {
        png.data[4 * p] = png.data[4 * p + 1] = png.data[4 * p + 2] = Math.round(im.data[p]!);
        png.data[4 * p + 3] = 255;
      }
      const file = join(dir, 'img', `c${i}.png`);
      writeFileSync(file, PNG.sync.write(png));
      rows.push([`img/c${i}.png`, ...syn.points[i]!.flat().map((v) => v.toFixed(2))].join(','));
    });
    // Image c1: a valid header, then garbage (found at decode time, not by the reader).
    const bytes = readFileSync(join(dir, 'img', 'c1.png'));
    writeFileSync(join(dir, 'img', 'c1.png'), Buffer.concat([bytes.subarray(0, 40), Buffer.alloc(64, 7)]));
    writeFileSync(join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
    const d = prepareData(`generic:${join(dir, 'labels.csv')}`, { size: 32 });
    expect(d.set.images).toHaveLength(2);
    expect(d.skipped).toBe(1);
    expect(d.errors[0]).toMatch(/c1\.png/);
    expect(() => prepareData(`generic:${join(dir, 'labels.csv')}`, { size: 32, strict: true })).toThrow(DataError);
  });
});

describe('osteo eval and predict', () => {
  let model = '';
  beforeAll(async () => {
    const out = tmp('evalmodel');
    const r = await trainMain([...BASE, '--epochs', '1', '--val-split', '0', '--out', out], { quiet: true });
    model = join(out, CHECKPOINT_BEST);
    // no validation split: the best epoch was picked by training loss, which is not reported as an MRE in mm
    const summary = trainSummary(r);
    expect(summary.bestMre).toBeNull();
    expect(summary.bestTrainLoss).toBeGreaterThan(0);
    expect(summary).not.toHaveProperty('unit');
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).best.unit).toBe('training loss');
  });

  test('eval: MRE ± std, SDR at 2/2.5/3/4 and per landmark, as JSON and as a file', async () => {
    const file = join(tmp('evalout'), 'eval.json');
    const r = await evalMain(['--model', model, '--data', 'synthetic:hand?n=3&size=64&seed=9', '--out', file, '--json', '--decode', 'blob']);
    expect(r.images).toBe(3);
    expect(r.unit).toBe('mm');
    expect(r.decode).toBe('blob');
    // SDR in percent, radii in numeric order with their unit (not JavaScript's integer-keys-first order)
    expect(Object.keys(r.overall.sdrPercent)).toEqual(['2 mm', '2.5 mm', '3 mm', '4 mm']);
    expect(r.sdrRadii).toEqual([2, 2.5, 3, 4]);
    expect(r.perLandmark.map((l) => l.landmark)).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
    expect(r.overall.mre).toBeGreaterThan(0);
    expect(r.perLandmark).toHaveLength(37);
    expect(r.perLandmark[0]!.name).toBe('ulnar styloid');
    expect(r.perImage).toHaveLength(3);
    expect(JSON.parse(readFileSync(file, 'utf8')).overall.mre).toBe(r.overall.mre);
    await expect(evalCommand.run(['--model', model, '--data', 'synthetic:head?n=2&size=64'])).rejects.toThrow(/K=37 landmarks, data synthetic:head\?n=2&size=64 has K=19/);
  });

  test('predict: JSON points, overlay with error vectors, heatmap montage', async () => {
    const out = tmp('pred');
    // An image file given by path (PNG written from a synthetic image) plus ground truth from --data.
    const r = await predictMain(['--model', model, '--data', 'synthetic:hand?n=2&size=64', '--out', out, '--overlays', 'png']);
    expect(r.images).toHaveLength(2);
    const rec = r.images[0]!;
    expect(rec.points).toHaveLength(37);
    expect(rec.truth).toHaveLength(37);
    expect(rec.unit).toBe('mm');
    expect(rec.mre).toBeGreaterThan(0);
    // points outside the image are listed per image (1-based) and counted over all
    for (const im of r.images) for (const n of im.outside) expect(n >= 1 && n <= 37).toBe(true);
    expect(r.outsidePoints).toBe(r.images.reduce((a, im) => a + im.outside.length, 0));
    for (const f of [rec.overlay!, rec.heatmaps!, join(out, 'predictions.json'), join(out, 'points.json')]) expect(existsSync(f), f).toBe(true);
    const overlay = PNG.sync.read(readFileSync(rec.overlay!));
    // drawn large enough to read: the 64 px image upscaled to ≥ 512 px on its long side
    expect(Math.max(overlay.width, overlay.height)).toBeGreaterThanOrEqual(512);
    // Plain image files, one unreadable: skipped and reported.
    const img = join(out, 'x.png');
    copyFileSync(rec.overlay!, img);
    writeFileSync(join(out, 'broken.png'), 'nope');
    const r2 = await predictMain(['--model', model, img, join(out, 'broken.png'), '--out', join(out, 'plain')]);
    expect(r2.images).toHaveLength(1);
    expect(r2.images[0]!.truth).toBeUndefined();
    expect(r2.skipped).toHaveLength(1);
    expect(r2.skipped[0]!.error).toMatch(/broken\.png/);
  });
});

/**
 * `osteo predict scan.dcm` and the library's predict on a DICOM X-ray: points in pixels and, from
 * the file's own PixelSpacing, in mm; with labels from a generic: spec over DICOM files, the
 * errors are in mm without an mm= option. (A tiny model trained for one epoch: the numbers are
 * not landmarks, the units and the arithmetic are what is checked.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { predictMain } from '../../src/cli/commands/predict';
import { trainMain } from '../../src/cli/commands/train';
import { synthesize } from '../../src/data/synthetic';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { createEngine, loadModel } from '../../src/node/api';
import { NARROW, shareEngine, tmp } from '../train/helpers';
import { writeDicom } from './dicom_writer';

let model = '';
let scan = '';
let dir = '';
beforeAll(async () => {
  shareEngine();
  const out = tmp('dicom-model');
  await trainMain(['--data', 'synthetic:hand?n=2&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--epochs', '1', '--val-split', '0', ...NARROW, '--out', out], { quiet: true });
  model = join(out, CHECKPOINT_BEST);
  dir = tmp('dicom-scan');
  const s = synthesize({ kind: 'hand', n: 1, size: 64, seed: 5 });
  // a MONOCHROME1 12-bit scan with anisotropic PixelSpacing (row 0.2 mm, column 0.1 mm)
  const px = Array.from(s.images[0]!.data, (v) => 4095 - Math.round(Math.min(255, Math.max(0, v)) * 16));
  scan = join(dir, 'scan.dcm');
  writeFileSync(scan, writeDicom({ width: 64, height: 64, pixels: px, bitsStored: 12, photometric: 'MONOCHROME1', pixelSpacing: [0.2, 0.1] }));
  writeFileSync(join(dir, 'labels.csv'), `image,${Array.from({ length: 37 }, (_, i) => `x${i + 1},y${i + 1}`).join(',')}\nscan.dcm,${s.points[0]!.flat().join(',')}\n`);
}, 300_000);

test('osteo predict scan.dcm: spacing and points in mm in predictions.json; with a generic: spec over DICOM, errors in mm', async () => {
  const res = join(dir, 'res');
  const report = await predictMain([scan, '--model', model, '--out', res]);
  const rec = report.images[0]!;
  expect(rec.spacing).toEqual({ x: 0.1, y: 0.2, source: 'PixelSpacing' });
  expect(rec.pointsMm).toHaveLength(37);
  rec.points.forEach(([x, y], i) => {
    expect(rec.pointsMm![i]![0]).toBeCloseTo(x * 0.1, 1);
    expect(rec.pointsMm![i]![1]).toBeCloseTo(y * 0.2, 1);
  });
  const doc = JSON.parse(readFileSync(join(res, 'predictions.json'), 'utf8'));
  expect(doc.images[0].spacing.source).toBe('PixelSpacing');

  const withTruth = await predictMain(['--model', model, '--data', `generic:${join(dir, 'labels.csv')}`, '--out', join(dir, 'res2')]);
  const r = withTruth.images[0]!;
  expect(r.unit).toBe('mm');
  // anisotropic spacing: each error is hypot(dx · 0.1, dy · 0.2), not one mm-per-pixel number
  r.errors!.forEach((e, i) => expect(e).toBeCloseTo(Math.hypot((r.points[i]![0] - r.truth![i]![0]) * 0.1, (r.points[i]![1] - r.truth![i]![1]) * 0.2), 1));
}, 300_000);

test('the library: model.predict on a .dcm path gives spacing and pointsMm', async () => {
  const engine = await createEngine({ software: true });
  try {
    const m = await loadModel(engine, model);
    const p = await m.predict(scan);
    expect(p.spacing).toEqual({ x: 0.1, y: 0.2, source: 'PixelSpacing' });
    p.points.forEach(([x, y], i) => expect(p.pointsMm![i]).toEqual([x * 0.1, y * 0.2]));
    const png = await m.predict({ data: new Uint8Array(64 * 64), width: 64, height: 64 });
    expect(png.spacing).toBeUndefined();
    expect(png.pointsMm).toBeUndefined();
    m.dispose();
  } finally {
    engine.destroy();
  }
}, 300_000);

/**
 * `osteo calibrate` and the guards in `osteo predict` / `osteo eval` (tiny model, synthetic heads),
 * the guards in checkpoint metadata, and (CI only) the shipped model on real ISBI images: a
 * mirrored, turned or inverted cephalogram comes out right.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { calibrateMain } from '../../src/cli/commands/calibrate';
import { evalMain } from '../../src/cli/commands/eval';
import { predictMain } from '../../src/cli/commands/predict';
import { reportMain } from '../../src/cli/commands/report';
import { parseOrientation, orientImage, toOriented } from '../../src/landmarks/orientation';
import { createModel, loadModel } from '../../src/node/api';
import { readDataset } from '../../src/node/data_readers';
import { readImageAsync } from '../../src/node/data_image';
import { CheckpointError, decodeCheckpoint, withGuards } from '../../src/train/checkpoint';
import { SHARED_DATA, itShared } from '../helpers/shared_data';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, shareEngine, tmp, WIDTHS } from './helpers';

const DATA = 'synthetic:head?n=8&size=64';
let model: string;
let calibrated: string;

beforeAll(async () => {
  shareEngine();
  const dir = tmp('calibrate');
  const m = createModel(await nodeEngine(), { landmarks: 19, size: 32, widths: WIDTHS, decoderChannels: DECODER, seed: 2 });
  model = join(dir, 'model.safetensors');
  writeFileSync(model, await m.save());
  m.dispose();
  calibrated = join(dir, 'calibrated.safetensors');
});

describe('osteo calibrate', () => {
  test('writes a model file carrying the guards; its tensors are the original bytes', async () => {
    const r = await calibrateMain(['--model', model, '--data', DATA, '--val-split', '0.5', '--seed', '3', '--out', calibrated]);
    expect(r).toMatchObject({ train: 4, val: 4, unit: 'mm', flagAbove: 4 });
    const before = decodeCheckpoint(new Uint8Array(readFileSync(model)), model);
    const after = decodeCheckpoint(new Uint8Array(readFileSync(calibrated)), calibrated);
    expect(before.guards).toBeUndefined();
    const g = after.guards!;
    expect(g.shape!.mean).toHaveLength(19);
    expect(g.shape!.zLimit).toBeGreaterThanOrEqual(4);
    expect(g.calibration!.factor).toHaveLength(19);
    expect(g.calibration!.n).toBe(4 * 19);
    expect(g.orientation!.validation.n).toBe(4);
    expect(g.provenance).toMatchObject({ data: DATA, valSplit: 0.5, seed: 3, trainImages: 4, valImages: 4 });
    for (const [name, t] of before.tensors) expect(after.tensors.get(name)).toEqual(t);
    // removing the guards again gives back the original file's metadata
    const stripped = decodeCheckpoint(withGuards(new Uint8Array(readFileSync(calibrated)), undefined), 'stripped');
    expect(stripped.guards).toBeUndefined();
    expect(stripped.metadata).toEqual(before.metadata);
  }, 120_000);

  test('bad guards metadata is refused naming the field', () => {
    const bytes = new Uint8Array(readFileSync(calibrated));
    const g = decodeCheckpoint(bytes, 'x').guards!;
    const bad = withGuards(bytes, { ...g, calibration: { ...g.calibration!, factor: g.calibration!.factor.slice(1) } });
    expect(() => decodeCheckpoint(bad, 'bad.safetensors')).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(bad, 'bad.safetensors')).toThrow(/bad\.safetensors: metadata osteo_guards\.calibration\.factor is invalid/);
    const worse = withGuards(bytes, { ...g, shape: { ...g.shape!, zLimit: -1 } });
    expect(() => decodeCheckpoint(worse, 'w.safetensors')).toThrow(/osteo_guards\.shape\.zLimit/);
  });

  test('predict: records carry orientation, expected errors (px and mm) and flags; the summary counts them', async () => {
    const out = tmp('predict-guards');
    const r = await predictMain(['--model', calibrated, '--data', DATA, '--limit', '2', '--out', out, '--flag-above', '0.001']);
    expect(r.guards).toMatchObject({ images: 2, points: 38 });
    for (const rec of r.images) {
      expect(rec.orientation).toBeDefined();
      expect(rec.expectedError).toHaveLength(19);
      expect(rec.flags).toHaveLength(19);
      // a threshold of 0.001 mm flags every point as low-confidence
      expect(rec.flags!.every((f) => f.includes('low-confidence'))).toBe(true);
    }
    const json = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'));
    expect(json.images[0].flags).toHaveLength(19);
    const off = await predictMain(['--model', calibrated, '--data', DATA, '--limit', '1', '--out', tmp('predict-noguards'), '--no-guards']);
    expect(off.guards).toBeUndefined();
    expect(off.images[0]!.flags).toBeUndefined();
    await expect(predictMain(['--model', calibrated, '--data', DATA, '--orientation', 'sideways'])).rejects.toThrow(/--orientation must be auto, always, off or an orientation/);
  }, 120_000);

  test('eval: the report counts flagged points and orientation corrections', async () => {
    const r = await evalMain(['--model', calibrated, '--data', DATA, '--json']);
    expect(r.guards).toMatchObject({ images: r.images, points: 19 * r.images });
    expect(r.guards!.flaggedPoints).toBeGreaterThanOrEqual(r.guards!.lowConfidence);
    const off = await evalMain(['--model', calibrated, '--data', DATA, '--json', '--limit', '1', '--no-guards']);
    expect(off.guards).toBeUndefined();
  }, 120_000);

  test('report: runs the model with the same guards as eval (same errors on the same images) and says what they did', async () => {
    // orientation 'always' makes the guard change the points, so a report without it would differ from eval
    const ev = await evalMain(['--model', calibrated, '--data', DATA, '--json', '--orientation', 'always']);
    const r = await reportMain(['--model', calibrated, '--data', DATA, '--orientation', 'always', '--no-timing', '--worst', '0', '--out', tmp('report-guards')]);
    expect(r.doc.clinical.overall.mre).toBeCloseTo(ev.overall.mre, 9);
    expect(r.doc.notes.join(' ')).toMatch(/Prediction guards on, as in predict .*of 152 points flagged.* of 8 images predicted in another orientation/);
    const off = await reportMain(['--model', calibrated, '--data', DATA, '--no-guards', '--no-timing', '--worst', '0', '--out', tmp('report-noguards')]);
    expect(off.doc.notes.join(' ')).toMatch(/Prediction guards off/);
    const evOff = await evalMain(['--model', calibrated, '--data', DATA, '--json', '--no-guards']);
    expect(off.doc.clinical.overall.mre).toBeCloseTo(evOff.overall.mre, 9);
  }, 300_000);

  test('the library: a calibrated model predicts expected errors and flags, and keeps its guards when saved', async () => {
    const m = await loadModel(await nodeEngine(), calibrated);
    try {
      expect(m.calibrated).toBe(true);
      const ds = readDataset(DATA);
      const p = await m.predict(ds.items[0]!.image!);
      expect(p.expectedError).toHaveLength(19);
      expect(p.flags).toHaveLength(19);
      expect(p.orientation).toBeDefined();
      expect(decodeCheckpoint(await m.save(), 'saved').guards).toEqual(decodeCheckpoint(new Uint8Array(readFileSync(calibrated)), 'x').guards);
    } finally {
      m.dispose();
    }
  }, 120_000);
});

describe('the shipped model on real ISBI 2015 images', () => {
  itShared("a mirrored, a turned and an inverted cephalogram come out right, mapped back to the file (orientation 'always': needs no calibration)", async () => {
    const m = await loadModel(await nodeEngine(), join(process.cwd(), 'weights/osteo-isbi2015-ceph.safetensors'));
    try {
      const file = join(SHARED_DATA, 'isbi2015-ceph-train/images/001.jpg');
      const image = await readImageAsync(file);
      const guards = { orientation: 'always' };
      const upright = await m.predict(image, { guards });
      expect(upright.orientation).toBe('identity');
      for (const name of ['mirror', 'rot90', 'inverted']) {
        const o = parseOrientation(name)!;
        const p = await m.predict(orientImage(o, image), { guards });
        expect(p.orientation).toBe(name === 'rot90' ? 'rot270' : name);
        // within 2 mm (20 px at 0.1 mm/px) of the upright prediction, mapped into the transformed file
        p.points.forEach((q, j) => {
          const want = toOriented(o, image.width, image.height, upright.points[j]!);
          expect(Math.hypot(q[0] - want[0], q[1] - want[1])).toBeLessThan(20);
        });
      }
    } finally {
      m.dispose();
    }
  }, 600_000);
});

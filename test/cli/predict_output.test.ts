/**
 * What `osteo predict` writes: an osteo points file that the data readers train on, overlays and
 * heatmap montages as PNG, JPEG or none, a folder given as IMAGE, and the per-phase timing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { beforeAll, expect, test } from 'vitest';
import { predictMain, PREDICT_PHASES } from '../../src/cli/commands/predict';
import { trainMain } from '../../src/cli/commands/train';
import { parsePointsDocument } from '../../src/data/points_format';
import { synthesize } from '../../src/data/synthetic';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { readDataset } from '../../src/node/data_readers';
import { encodePngRaw } from '../data/encoders';
import { NARROW, shareEngine, tmp } from '../train/helpers';

let model = '';
let folder = '';
beforeAll(async () => {
  shareEngine();
  const out = tmp('predout-model');
  await trainMain(['--data', 'synthetic:hand?n=2&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--epochs', '1', '--val-split', '0', ...NARROW, '--out', out], { quiet: true });
  model = join(out, CHECKPOINT_BEST);
  folder = join(tmp('predout-images'), 'xrays');
  mkdirSync(folder);
  const s = synthesize({ kind: 'hand', n: 3, size: 64, seed: 3 });
  s.images.forEach((im, i) => writeFileSync(join(folder, `h${i}.png`), encodePngRaw(64, 64, Array.from(im.data, (v) => Math.round(Math.min(255, Math.max(0, v)))), 0, 8)));
  writeFileSync(join(folder, 'notes.txt'), 'not an image');
}, 600_000);

test('a folder: every image in it; points.json is an osteo points file whose images resolve from its folder and train as points:', async () => {
  const out = join(tmp('predout'), 'run');
  const r = await predictMain([folder, '--model', model, '--out', out, '--quiet']);
  expect(r.images.map((i) => i.id)).toEqual(['h0', 'h1', 'h2']);
  const doc = parsePointsDocument(readFileSync(join(out, 'points.json'), 'utf8'), 'points.json');
  expect(doc.model).toBe(CHECKPOINT_BEST);
  expect(doc.images.map((i) => i.image)).toEqual(['h0', 'h1', 'h2'].map((n) => relative(out, join(folder, `${n}.png`))));
  expect(doc.images[0]!.image).toMatch(/^\.\.\/.*xrays\/h0\.png$/);
  doc.images.forEach((im, i) => {
    expect([im.width, im.height]).toEqual([64, 64]);
    // the report rounds to 1/100 px, the points file to 1/1000
    expect(im.points.map((p) => [p.x, p.y])).toEqual(r.images[i]!.points.map(([x, y]) => [expect.closeTo(x, 1), expect.closeTo(y, 1)]));
    expect(im.points.map((p) => p.confidence)).toEqual(r.images[i]!.confidence.map((c) => expect.closeTo(c, 4)));
  });
  const ds = readDataset(`points:${join(out, 'points.json')}`);
  expect(ds.items.map((i) => i.imagePath)).toEqual(['h0', 'h1', 'h2'].map((n) => join(folder, `${n}.png`)));
  expect(ds.items[1]!.points).toEqual(doc.images[1]!.points.map((p) => [p.x, p.y]));
  // JPEG overlays by default; montages too for a few images
  const files = readdirSync(out).sort();
  expect(files).toEqual(['h0.heatmaps.jpg', 'h0.overlay.jpg', 'h1.heatmaps.jpg', 'h1.overlay.jpg', 'h2.heatmaps.jpg', 'h2.overlay.jpg', 'points.json', 'predictions.json']);
  const overlay = jpeg.decode(readFileSync(join(out, 'h0.overlay.jpg')));
  expect(Math.max(overlay.width, overlay.height)).toBeGreaterThanOrEqual(512);
  expect(r.timing.overlays).toBe('jpeg');
  for (const ph of PREDICT_PHASES) expect(r.timing.seconds[ph]).toBeGreaterThanOrEqual(0);
  expect(r.timing.seconds.model).toBeGreaterThan(0);
  expect(r.timing.seconds.encode).toBeGreaterThan(0);
});

test('--overlays none writes no pictures (and no encode time); --overlays png --heatmaps none: PNG overlays only', async () => {
  const none = join(tmp('predout-none'), 'run');
  const r = await predictMain([join(folder, 'h0.png'), join(folder, 'h1.png'), '--model', model, '--out', none, '--overlays', 'none', '--heatmaps', 'none', '--quiet']);
  expect(readdirSync(none).sort()).toEqual(['points.json', 'predictions.json']);
  expect(r.images[0]).not.toHaveProperty('overlay');
  expect(r.timing.seconds.encode).toBe(0);
  const png = join(tmp('predout-png'), 'run');
  const r2 = await predictMain([join(folder, 'h0.png'), '--model', model, '--out', png, '--overlays', 'png', '--heatmaps', 'none', '--quiet']);
  expect(readdirSync(png).sort()).toEqual(['h0.overlay.png', 'points.json', 'predictions.json']);
  expect(PNG.sync.read(readFileSync(r2.images[0]!.overlay!)).width).toBeGreaterThanOrEqual(512);
  expect(existsSync(join(png, 'h0.heatmaps.png'))).toBe(false);
});

test('progress on stderr names each image with the count and an ETA; --quiet prints none', async () => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => { lines.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    await predictMain([folder, '--model', model, '--out', join(tmp('predout-eta'), 'run'), '--overlays', 'none']);
    await predictMain([folder, '--model', model, '--out', join(tmp('predout-q'), 'run'), '--overlays', 'none', '--quiet']);
  } finally {
    process.stderr.write = write;
  }
  const progress = lines.filter((l) => /h\d\.png: 37 landmarks/.test(l));
  expect(progress).toHaveLength(3);
  expect(progress[0]).toMatch(/1\/3, ETA \d+s/);
  expect(progress[2]).toMatch(/3\/3, ETA 0s/);
  expect(lines.some((l) => /^per image: decode [\d.]+ s, model [\d.]+ s, draw/.test(l))).toBe(true);
});

test('a folder without images is refused before any work', async () => {
  const empty = tmp('predout-empty');
  await expect(predictMain([empty, '--model', model])).rejects.toThrow(/IMAGE .*: a folder without image files/);
});

/**
 * The correction loop end to end (issue 25): `osteo predict` writes an osteo points file → the
 * web app in Chromium loads the model, the image and those points → one point is dragged → the
 * page's JSON export → `osteo train --data points:EXPORT` → the training data read from the
 * export holds the corrected point where it was dropped (and the model's points everywhere else).
 * The page is driven only through its test contract: #model-input, #image-input, #points-input,
 * #status, #model-info, the markers' data-landmark / data-x / data-y and the #export-json download.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { predictMain } from '../../src/cli/commands/predict';
import { startAppServer } from '../../src/cli/commands/serve';
import { trainMain } from '../../src/cli/commands/train';
import { parsePointsDocument } from '../../src/data/points_format';
import { synthesize } from '../../src/data/synthetic';
import { mapPoints } from '../../src/landmarks/preprocess';
import { createEngine, createModel } from '../../src/node/api';
import { launchChromium } from '../../src/node/chromium';
import { writeGreyPng } from '../../src/node/data_png';
import { readDataset } from '../../src/node/data_readers';
import { prepareDataSpec } from '../../src/node/train_io';

const APP = join(resolve(__dirname, '../..'), 'dist/app');
const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const DECODER = [8, 8, 4, 4, 4];
const LONG = 10 * 60_000;

let browser: Browser | undefined;
let server: Server | undefined;
let page: Page;
let dir: string;
let downloads: string;

interface Marker { k: number; x: number; y: number; cx: number; cy: number }
const markers = (): Promise<Marker[]> =>
  page.$$eval('[data-landmark]', (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    const h = e as HTMLElement;
    return { k: Number(h.dataset.landmark), x: Number(h.dataset.x), y: Number(h.dataset.y), cx: r.left, cy: r.top };
  }));
const upload = async (selector: string, file: string): Promise<void> =>
  (await page.$(selector) as unknown as ElementHandle<HTMLInputElement>).uploadFile(file);
const waitStatus = async (re: RegExp): Promise<string> => {
  await page.waitForFunction((src: string) => new RegExp(src).test(document.querySelector('#status')?.textContent ?? '') || (document.querySelector('#status')?.textContent ?? '').startsWith('error:'), { timeout: LONG, polling: 200 }, re.source);
  const s = await page.$eval('#status', (e) => e.textContent ?? '');
  expect(s).toMatch(re);
  return s;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'osteo-loop-'));
  downloads = join(dir, 'downloads');
  mkdirSync(downloads);
  // a small untrained model is enough: the loop is about where points go, not how good they are
  const names = synthesize({ kind: 'hand', n: 1, size: 16, seed: 1 }).landmarkNames;
  const engine = await createEngine();
  try {
    const m = createModel(engine, { landmarks: names.length, landmarkNames: names, size: 32, widths: WIDTHS, decoderChannels: DECODER, seed: 3 });
    writeFileSync(join(dir, 'model.safetensors'), await m.save());
    m.dispose();
  } finally {
    engine.destroy();
  }
  writeGreyPng(join(dir, 'hand.png'), synthesize({ kind: 'hand', n: 1, size: 128, seed: 5 }).images[0]!);
  const s = await startAppServer({ root: APP, port: 0, host: '127.0.0.1' });
  server = s.server;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 860 });
  page.on('pageerror', (e) => console.error('[page error]', e));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  await page.goto(s.url);
}, LONG);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('predict → page → drag one point → export → osteo train --data points:EXPORT trains on the corrected point', async () => {
  // 1. the CLI predicts and writes an osteo points file
  const pred = join(dir, 'pred');
  const report = await predictMain([join(dir, 'hand.png'), '--model', join(dir, 'model.safetensors'), '--out', pred, '--overlays', 'none', '--quiet']);
  const cli = parsePointsDocument(readFileSync(join(pred, 'points.json'), 'utf8'), 'points.json').images[0]!;
  expect(cli.points).toHaveLength(37);

  // 2. the page: model, image, then the CLI's points (predictions: not marked corrected)
  await page.waitForFunction(() => /model|image/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG });
  await upload('#model-input', join(dir, 'model.safetensors'));
  await page.waitForFunction(() => /37 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
  await upload('#image-input', join(dir, 'hand.png'));
  await waitStatus(/hand\.png.*ready$/);
  await upload('#points-input', join(pred, 'points.json'));
  await waitStatus(/^imported points\.json: 1 image updated.*ready$/);
  const loaded = await markers();
  expect(loaded.map((m) => [m.x, m.y])).toEqual(cli.points.map((p) => [p.x, p.y]));
  expect(await page.$$eval('.marker.corrected', (e) => e.length)).toBe(0);

  // 3. drag one marker (the one farthest from the others, so the mouse lands on it alone)
  const k = loaded.map((a) => ({ k: a.k, d: Math.min(...loaded.filter((b) => b.k !== a.k).map((b) => Math.hypot(a.cx - b.cx, a.cy - b.cy))) })).sort((a, b) => b.d - a.d)[0]!.k;
  const m = loaded[k]!;
  await page.mouse.move(Math.round(m.cx), Math.round(m.cy));
  await page.mouse.down();
  await page.mouse.move(Math.round(m.cx) + 12, Math.round(m.cy) - 8, { steps: 4 });
  await page.mouse.move(Math.round(m.cx) + 24, Math.round(m.cy) - 16, { steps: 4 });
  await page.mouse.up();
  const after = await markers();
  const moved = after[k]!;
  expect(Math.hypot(moved.x - m.x, moved.y - m.y)).toBeGreaterThan(1);
  expect(after.filter((p) => p.k !== k).every((p) => p.x === loaded[p.k]!.x && p.y === loaded[p.k]!.y)).toBe(true);

  // 4. the page's export: an osteo points file, the dragged point flagged corrected
  const before = new Map(readdirSync(downloads).map((n) => [n, statSync(join(downloads, n)).mtimeMs]));
  await page.click('#export-json');
  let exported = '';
  for (let i = 0; i < 1200 && !exported; i++) {
    const f = readdirSync(downloads).find((n) => n.endsWith('.json') && before.get(n) !== statSync(join(downloads, n)).mtimeMs);
    if (f) exported = join(downloads, f);
    else await new Promise((r) => setTimeout(r, 100));
  }
  expect(exported, 'no JSON download').not.toBe('');
  const doc = parsePointsDocument(readFileSync(exported, 'utf8'), exported);
  expect(doc.images.map((i) => i.image)).toEqual(['hand.png']);
  expect(doc.images[0]!.points.flatMap((p, j) => (p.flags?.includes('corrected') ? [j] : []))).toEqual([k]);

  // 5. osteo train on the export (its image is found through images=, as a user's export in Downloads would be)
  const spec = `points:${exported}?images=${dir}`;
  const run = await trainMain(['--data', spec, '--init', 'scratch', '--size', '32', '--batch', '1', '--epochs', '2', '--val-split', '0', '--widths', WIDTHS.join(','), '--decoder', DECODER.join(','), '--out', join(dir, 'run')], { quiet: true });
  expect(run.trainImages).toBe(1);
  expect(run.epochs).toBe(2);

  // 6. what it trained on: the corrected point where it was dropped, the model's points elsewhere
  const items = readDataset(spec).items;
  expect(items.map((i) => i.imagePath)).toEqual([join(dir, 'hand.png')]);
  expect(items[0]!.points[k]![0]).toBeCloseTo(moved.x, 2);
  expect(items[0]!.points[k]![1]).toBeCloseTo(moved.y, 2);
  const prepared = prepareDataSpec(spec, { size: 32 });
  const t = prepared.set.toOriginal?.[0];
  const targets = t ? mapPoints(t, prepared.set.points[0]!) : prepared.set.points[0]!;
  expect(targets[k]![0]).toBeCloseTo(moved.x, 2);
  expect(targets[k]![1]).toBeCloseTo(moved.y, 2);
  targets.forEach(([x, y], j) => {
    if (j === k) return;
    expect(Math.max(Math.abs(x - report.images[0]!.points[j]![0]), Math.abs(y - report.images[0]!.points[j]![1]))).toBeLessThan(0.01);
  });
}, LONG);

/**
 * The prediction guards in the web app, end to end in headless Chromium, on a real cephalogram:
 * a held-out ISBI 2015 image (halved, as a grey PNG) and its left–right mirror, with the shipped
 * calibrated ISBI model opened by file picker. The app must find the mirrored head in the
 * orientation that undoes the mirror, say so in #status, and draw the same points as on the
 * original (mapped back into the mirrored file's pixels); and the points the guards flag (the
 * Node API's flags on the same image) must carry their flag on their marker (`data-flag`) and
 * no other marker may. Needs ../shared/data (the ISBI images) and dist/app (npm run build);
 * without the data it is skipped with the reason printed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer } from '../../src/cli/commands/serve';
import type { GreyImage } from '../../src/data/types';
import { orientImage, parseOrientation } from '../../src/landmarks/orientation';
import { createEngine, decodeImage, loadModel } from '../../src/node/api';
import { launchChromium } from '../../src/node/chromium';
import { writeGreyPng } from '../../src/node/data_png';

const ROOT = resolve(__dirname, '../..');
const APP = join(ROOT, 'dist/app');
const MODEL = join(ROOT, 'weights/osteo-isbi2015-ceph.safetensors');
const ISBI = resolve(ROOT, '../shared/data/isbi2015-ceph-train/images');
/** Held-out images of the shipped ISBI model (its validation split), tried in order for one with a flagged point. */
const CANDIDATES = ['028', '033', '039', '065'];
const LONG = 20 * 60_000;
const missing = !existsSync(ISBI) ? `no ISBI 2015 images at ${ISBI}` : !existsSync(MODEL) ? `no ${MODEL}` : undefined;
if (missing) console.log(`skipping the app guards e2e test: ${missing}`);

interface Marker { k: number; x: number; y: number; flag: string }

let browser: Browser | undefined;
let server: Server | undefined;
let page: Page;
let dir: string;
let width = 0;
/** The Node API on the original image: points and the landmarks it flags (flags other than 'redecoded'). */
let node: { points: [number, number][]; flagged: number[]; id: string };

/** Half size by 2 × 2 means (a smaller file and a faster test; the model sees a whole head either way). */
function half(im: GreyImage): GreyImage {
  const w = Math.floor(im.width / 2), h = Math.floor(im.height / 2);
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 2 * y * im.width + 2 * x;
      data[y * w + x] = Math.round((im.data[i]! + im.data[i + 1]! + im.data[i + im.width]! + im.data[i + im.width + 1]!) / 4);
    }
  }
  return { width: w, height: h, data, bitDepth: 8 };
}

const markers = (): Promise<Marker[]> =>
  page.$$eval('[data-landmark]', (els) => els.map((e) => {
    const h = e as HTMLElement;
    return { k: Number(h.dataset.landmark), x: Number(h.dataset.x), y: Number(h.dataset.y), flag: h.dataset.flag ?? '' };
  }));

async function open(file: string): Promise<string> {
  const input = (await page.$('#image-input'))!;
  await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(join(dir, file));
  await page.waitForFunction((f: string) => {
    const s = document.querySelector('#status')?.textContent ?? '';
    return (s.startsWith(`${f}:`) && s.endsWith('ready')) || s.startsWith('error:');
  }, { timeout: LONG, polling: 250 }, file);
  const s = await page.$eval('#status', (e) => e.textContent ?? '');
  expect(s).toMatch(/ready$/);
  return s;
}

const flaggedOf = (m: Marker[]) => m.filter((x) => x.flag !== '').map((x) => x.k).sort((a, b) => a - b);

beforeAll(async () => {
  if (missing) return;
  expect(existsSync(join(APP, 'index.html')), 'dist/app is missing: npm run build').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'osteo-app-guards-'));
  const engine = await createEngine();
  try {
    const model = await loadModel(engine, MODEL);
    try {
      for (const id of CANDIDATES) {
        const im = half(await decodeImage(join(ISBI, `${id}.jpg`)));
        writeGreyPng(join(dir, 'ceph.png'), im);
        writeGreyPng(join(dir, 'ceph-mirrored.png'), orientImage(parseOrientation('mirror')!, im));
        width = im.width;
        const p = await model.predict(join(dir, 'ceph.png'));
        const flagged = (p.flags ?? []).flatMap((f, k) => (f.some((x) => x !== 'redecoded') ? [k] : []));
        node = { points: p.points, flagged, id };
        if (flagged.length) break; // an image where the flag check has something to find
      }
    } finally {
      model.dispose();
    }
  } finally {
    engine.destroy();
  }
  console.log(`app guards e2e: ISBI image ${node.id}, ${node.flagged.length} point(s) flagged by the Node API (${node.flagged.join(', ') || 'none'})`);
  const s = await startAppServer({ root: APP, port: 0, host: '127.0.0.1' });
  server = s.server;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 860 });
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(s.url);
  await page.waitForFunction(() => /model|image/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG });
  const modelInput = (await page.$('#model-input'))!;
  await (modelInput as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(MODEL);
  await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
}, LONG);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!!missing)('the guards in the web app on a real cephalogram', () => {
  let original: Marker[] = [];

  test('the original: the Node API\'s points (≤ 1 px), and exactly the landmarks it flags carry data-flag', async () => {
    await open('ceph.png');
    original = await markers();
    expect(original.map((m) => m.k)).toEqual(Array.from({ length: 19 }, (_, k) => k));
    const worst = Math.max(...original.map((m) => Math.hypot(m.x - node.points[m.k]![0], m.y - node.points[m.k]![1])));
    expect(worst).toBeLessThanOrEqual(1);
    expect(flaggedOf(original)).toEqual(node.flagged);
    for (const m of original.filter((x) => x.flag)) expect(m.flag).toMatch(/low-confidence|implausible|orientation/);
  }, LONG);

  test('the mirrored file: the status names the mirror, the points are the original\'s mirrored back (≤ 1 px), the same landmarks flagged', async () => {
    expect(original).toHaveLength(19);
    const status = await open('ceph-mirrored.png');
    expect(status).toMatch(/warning: .*mirror/);
    const m = await markers();
    // the mirrored file's x is width − 1 − the original's (pixel centres)
    const worst = Math.max(...m.map((p) => Math.hypot(width - 1 - p.x - original[p.k]!.x, p.y - original[p.k]!.y)));
    expect(worst).toBeLessThanOrEqual(1);
    // and the points are not simply the original's: a head found as given would sit on the other side
    expect(Math.max(...m.map((p) => Math.abs(p.x - original[p.k]!.x)))).toBeGreaterThan(50);
    expect(flaggedOf(m)).toEqual(flaggedOf(original));
  }, LONG);
});

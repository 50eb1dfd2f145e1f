/**
 * The web app in headless Chromium under events that finish in any order, many images and a full
 * disk, driven through the test contract (#model-input, #image-input, #status, [data-landmark],
 * #model-info) and the ids this file names (#memory, #remove-image, #storage-warning, #progress).
 * Each test opens a fresh browser context (its own IndexedDB). The default model is served through
 * a route the test holds until it says so, so "the default model arrives after the user's" is an
 * order the test sets, not a timing it hopes for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appHandler, startAppServer } from '../../src/cli/commands/serve';
import { synthesize } from '../../src/data/synthetic';
import { createEngine, createModel } from '../../src/node/api';
import { launchChromium } from '../../src/node/chromium';
import { writeGreyPng } from '../../src/node/data_png';

const ROOT = resolve(__dirname, '../..');
const APP = join(ROOT, 'dist/app');
const LONG = 10 * 60_000;
const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, k) => `${prefix}${k + 1}`);
/** Three models told apart by their landmark count and names: a (the server's default), b and c. */
const MODELS = { a: 19, b: 37, c: 5 } as const;

let browser: Browser;
let dir: string;
let server: Server;
let url: string;
/** A request for the default model waits on this while it is set. */
let hold: { requested: () => void; released: Promise<void> } | undefined;

/** Holds the next requests for the default model until `release` is called. */
function holdDefaultModel(): { requested: Promise<void>; release: () => void } {
  let requested!: () => void, release!: () => void;
  const r = new Promise<void>((ok) => (requested = ok));
  hold = { requested, released: new Promise<void>((ok) => (release = ok)) };
  return { requested: r, release: () => { release(); hold = undefined; } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'osteo-app-events-'));
  const engine = await createEngine();
  try {
    for (const [id, k] of Object.entries(MODELS)) {
      const m = createModel(engine, { landmarks: k, landmarkNames: names(id, k), size: 32, widths: WIDTHS, decoderChannels: [8, 8, 4, 4, 4], seed: k });
      writeFileSync(join(dir, `${id}.safetensors`), await m.save());
      m.dispose();
    }
  } finally {
    engine.destroy();
  }
  const hands = synthesize({ kind: 'hand', n: 7, size: 96, seed: 3 });
  hands.images.forEach((im, i) => writeGreyPng(join(dir, `x${i + 1}.png`), im));
  const app = appHandler({ root: APP, model: join(dir, 'a.safetensors') });
  server = createServer((req, res) => {
    const h = hold;
    if (h && req.url?.startsWith('/model/')) {
      h.requested();
      void h.released.then(() => app(req, res));
    } else app(req, res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  browser = await launchChromium();
}, LONG);

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A page in a fresh context that records every #status text it shows (window.__statuses). */
async function freshPage(setup?: () => void): Promise<{ page: Page; context: BrowserContext }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1400, height: 860 });
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __statuses: string[] };
    w.__statuses = [];
    document.addEventListener('DOMContentLoaded', () => {
      const s = document.querySelector('#status')!;
      new MutationObserver(() => w.__statuses.push(s.textContent ?? '')).observe(s, { childList: true, characterData: true, subtree: true });
    });
  });
  if (setup) await page.evaluateOnNewDocument(setup);
  return { page, context };
}

const statuses = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);
const statusText = (page: Page): Promise<string> => page.$eval('#status', (e) => e.textContent ?? '');

async function ready(page: Page): Promise<string> {
  await page.waitForFunction(() => /ready$|^error:/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 100 });
  const s = await statusText(page);
  expect(s).toMatch(/ready$/);
  return s;
}

async function upload(page: Page, selector: string, ...files: string[]): Promise<void> {
  const input = (await page.$(selector))!;
  await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(...files.map((f) => join(dir, f)));
}

/** Drops groups of files on the page, one drop event per group, all in the same task (no await between). */
async function drop(page: Page, ...groups: string[][]): Promise<void> {
  const payload = groups.map((g) => g.map((f) => ({ name: f, b64: readFileSync(join(dir, f)).toString('base64') })));
  await page.evaluate((groups: { name: string; b64: string }[][]) => {
    for (const g of groups) {
      const dt = new DataTransfer();
      for (const f of g) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  }, payload);
}

/** The marker labels ("1 b1", …) on screen and the model panel's text. */
async function shown(page: Page): Promise<{ labels: string[]; panel: string }> {
  return {
    labels: await page.$$eval('[data-landmark] .label', (els) => els.map((e) => e.textContent ?? '')),
    panel: await page.$eval('#model-info', (e) => e.textContent ?? ''),
  };
}

/** Everything on screen describes model `id`: panel, marker count, marker names. */
async function expectModel(page: Page, id: keyof typeof MODELS): Promise<void> {
  const { labels, panel } = await shown(page);
  const k = MODELS[id];
  expect(panel).toContain(`${id}.safetensors`);
  expect(panel).toContain(`${k} landmarks`);
  expect(labels).toEqual(names(id, k).map((n, i) => `${i + 1} ${n}`));
}

describe('the web app under events in any order', () => {
  test('a slow default model arriving after the user opened a model and an image: the user\'s model wins, and "ready" waits for the default to settle', async () => {
    const { page, context } = await freshPage();
    try {
      const gate = holdDefaultModel();
      await page.goto(url);
      await gate.requested; // the page is fetching the default model (a, 19 landmarks)
      await upload(page, '#model-input', 'b.safetensors');
      await upload(page, '#image-input', 'x1.png');
      // b's markers are drawn while the default is still in flight: the page is not "ready" yet
      await page.waitForFunction(() => document.querySelectorAll('[data-landmark]').length === 37, { timeout: LONG, polling: 100 });
      await expectModel(page, 'b');
      expect(await statusText(page)).not.toMatch(/ready$/);
      expect((await statuses(page)).filter((s) => s.endsWith('ready'))).toEqual([]);
      gate.release();
      const s = await ready(page);
      expect(s).toMatch(/^x1\.png: 37 landmarks/);
      await expectModel(page, 'b');
      // the model kept for the next visit is the user's, not the late default
      await page.reload();
      await ready(page);
      await expectModel(page, 'b');
    } finally {
      await context.close();
    }
  }, LONG);

  test('two models dropped in a row: the second wins, whichever it is', async () => {
    const { page, context } = await freshPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await drop(page, ['x1.png']);
      await ready(page);
      await expectModel(page, 'a');
      await drop(page, ['b.safetensors'], ['c.safetensors']);
      await page.waitForFunction(() => /c\.safetensors/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await ready(page);
      await expectModel(page, 'c');
      await drop(page, ['c.safetensors'], ['b.safetensors']);
      await page.waitForFunction(() => /b\.safetensors/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await ready(page);
      await expectModel(page, 'b');
      // and a model with an image in one drop, right after another model
      await drop(page, ['c.safetensors'], ['b.safetensors', 'x2.png']);
      await page.waitForFunction(() => /^x2\.png: .*ready$/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 100 });
      await expectModel(page, 'b');
    } finally {
      await context.close();
    }
  }, LONG);

  test('an image dropped during a fine-tune gets points at once and "ready" only once the fine-tuned model has predicted it', async () => {
    const { page, context } = await freshPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await drop(page, ['x1.png']);
      await ready(page);
      // one corrected landmark makes x1 training material: drag with the keyboard-free route, a points import
      const points = await page.$$eval('[data-landmark]', (els) => els.map((e) => [Number((e as HTMLElement).dataset.x) + 1, Number((e as HTMLElement).dataset.y)]));
      writeFileSync(join(dir, 'x1-points.json'), JSON.stringify({ images: [{ name: 'x1.png', points }] }));
      await drop(page, ['x1-points.json']);
      await page.waitForFunction(() => /^imported x1-points\.json.*ready$/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 100 });
      await page.$eval('#train-epochs', (e) => { (e as HTMLInputElement).value = '3'; });
      await page.click('#train-start');
      await page.waitForFunction(() => /^training: /.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 50 });
      await drop(page, ['x2.png']);
      // the dropped image shows and gets the current model's points while the training runs on
      await page.waitForFunction(() => document.querySelector('#strip .thumb.selected')?.textContent?.includes('x2.png') && document.querySelectorAll('[data-landmark]').length === 19, { timeout: LONG, polling: 100 });
      await page.waitForFunction(() => /a-finetuned\.safetensors/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG, polling: 100 });
      expect(await ready(page)).toMatch(/^x2\.png: 19 landmarks/);
      const seen = await statuses(page);
      const lastTraining = seen.reduce((last, s, i) => (s.startsWith('training: ') ? i : last), -1);
      const firstReadyAfterTrainStart = seen.findIndex((s, i) => i > seen.findIndex((t) => t.startsWith('training: ')) && s.endsWith('ready'));
      expect(firstReadyAfterTrainStart).toBeGreaterThan(lastTraining);
      const { labels, panel } = await shown(page);
      expect(panel).toMatch(/a-finetuned\.safetensors.*19 landmarks/s);
      expect(labels).toEqual(names('a', 19).map((n, i) => `${i + 1} ${n}`));
    } finally {
      await context.close();
    }
  }, LONG);

  test('many images: at most 4 stay decoded in memory, an evicted one is decoded again with the same points, and Remove image forgets one', async () => {
    const { page, context } = await freshPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await upload(page, '#image-input', ...Array.from({ length: 7 }, (_, i) => `x${i + 1}.png`));
      expect(await ready(page)).toMatch(/^x1\.png/);
      const first = await page.$$eval('[data-landmark]', (els) => els.map((e) => [(e as HTMLElement).dataset.x, (e as HTMLElement).dataset.y]));
      const decoded = () => page.$eval('#memory', (e) => Number((e as HTMLElement).dataset.decoded));
      expect(await decoded()).toBeLessThanOrEqual(4);
      expect(await page.$$eval('#strip .thumb', (t) => t.length)).toBe(7);
      for (const i of [6, 5, 0]) {
        await page.evaluate((i: number) => (document.querySelectorAll('#strip .thumb')[i] as HTMLElement).click(), i);
        await page.waitForFunction((name: string) => (document.querySelector('#status')?.textContent ?? '').startsWith(name), { timeout: LONG, polling: 100 }, `x${i + 1}.png`);
        await ready(page);
        expect(await decoded()).toBeLessThanOrEqual(4);
      }
      expect(await page.$$eval('[data-landmark]', (els) => els.map((e) => [(e as HTMLElement).dataset.x, (e as HTMLElement).dataset.y]))).toEqual(first);
      await page.click('#remove-image');
      await page.waitForFunction(() => document.querySelectorAll('#strip .thumb').length === 6, { timeout: LONG });
      expect(await page.$$eval('#strip .thumb', (t) => t.map((b) => b.textContent))).not.toContain('x1.png');
      const stored = await page.evaluate(() => new Promise<number>((res) => { const r = indexedDB.open('osteo-app'); r.onsuccess = () => { const c = r.result.transaction('files').objectStore('files').count(); c.onsuccess = () => res(c.result); }; }));
      expect(stored).toBe(6);
    } finally {
      await context.close();
    }
  }, LONG);

  test('a full disk (IndexedDB put fails with QuotaExceededError): the image still gets its points and a warning says what was not kept', async () => {
    const { page, context } = await freshPage(() => {
      IDBObjectStore.prototype.put = function () { throw new DOMException('the quota has been exceeded', 'QuotaExceededError'); };
    });
    try {
      await page.goto(url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await upload(page, '#image-input', 'x1.png');
      expect(await ready(page)).toMatch(/^x1\.png: 19 landmarks/);
      expect(await page.$$eval('[data-landmark]', (e) => e.length)).toBe(19);
      expect(await page.$eval('#storage-warning', (e) => (e as HTMLElement).hidden)).toBe(false);
      expect(await page.$eval('#storage-warning', (e) => e.textContent)).toMatch(/storage is full: .* not kept .*Export/);
    } finally {
      await context.close();
    }
  }, LONG);

  test('installable and offline: a manifest, a service worker, and with the network gone a reload opens the page and finds points', async () => {
    const own = await startAppServer({ root: APP, port: 0, host: '127.0.0.1', model: join(dir, 'a.safetensors') });
    const { page, context } = await freshPage();
    try {
      await page.goto(own.url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      const manifest = await page.$eval('link[rel="manifest"]', (e) => (e as HTMLLinkElement).href);
      const m = (await (await fetch(manifest)).json()) as { name: string; start_url: string; display: string; icons: unknown[] };
      expect(m.display).toBe('standalone');
      expect(m.icons.length).toBeGreaterThan(0);
      await page.waitForFunction(() => !!navigator.serviceWorker.controller, { timeout: LONG, polling: 200 });
      // the network is gone: the browser offline and the server closed
      await page.setOfflineMode(true);
      own.server.close();
      own.server.closeAllConnections();
      await page.reload();
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await upload(page, '#image-input', 'x1.png');
      expect(await ready(page)).toMatch(/^x1\.png: 19 landmarks/);
      expect(await page.$$eval('[data-landmark]', (e) => e.length)).toBe(19);
    } finally {
      await page.setOfflineMode(false).catch(() => undefined);
      await context.close();
      own.server.close();
    }
  }, LONG);

  test('keyboard: PageDown / PageUp between images, N between landmarks, arrow keys move the selected one by a pixel (Shift: ten) as a correction; focus is visible', async () => {
    const { page, context } = await freshPage();
    try {
      await page.goto(url);
      await page.waitForFunction(() => /19 landmarks/.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG });
      await upload(page, '#image-input', 'x1.png', 'x2.png');
      expect(await ready(page)).toMatch(/^x1\.png/);
      const at = (k: number) => page.$eval(`[data-landmark="${k}"]`, (e) => ({ x: Number((e as HTMLElement).dataset.x), y: Number((e as HTMLElement).dataset.y), selected: e.classList.contains('selected'), corrected: e.classList.contains('corrected') }));
      await page.focus('#viewer');
      await page.keyboard.press('n');
      await page.keyboard.press('n');
      const before = await at(2);
      expect(before.selected).toBe(true);
      await page.keyboard.press('ArrowRight');
      await page.keyboard.down('Shift');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.up('Shift');
      const after = await at(2);
      expect([after.x - before.x, after.y - before.y]).toEqual([1, 10]);
      expect(after.corrected).toBe(true);
      await page.keyboard.press('PageDown');
      await page.waitForFunction(() => /^x2\.png: .*ready$/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 100 });
      await page.keyboard.press('PageUp');
      await page.waitForFunction(() => /^x1\.png: .*ready$/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 100 });
      expect(await at(2)).toMatchObject({ x: after.x, y: after.y, corrected: true });
      // the file inputs are labelled, and keyboard focus draws an outline
      for (const id of ['model-input', 'image-input', 'folder-input', 'points-input']) {
        expect(await page.$eval(`#${id}`, (e) => (e.closest('label')?.textContent ?? '').trim().length > 0), id).toBe(true);
      }
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    } finally {
      await context.close();
    }
  }, LONG);
});

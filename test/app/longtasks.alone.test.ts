/**
 * The page stays responsive while the app works: the engine, the decoders and training run in a
 * dedicated worker, so in headless Chromium on the CPU fallback (SwiftShader) no task of the
 * page's main thread lasts over 200 ms during a prediction with the shipped model (a large
 * X-ray: decode, display, inference) nor during a 3-step fine-tune in the page. The page's own
 * PerformanceObserver ('longtask', buffered) records them. No other timing is asserted (speed
 * lives in bench/). The longest tasks measured go to test-output/app/longtasks.json; the numbers
 * in bench/results/app-longtasks.json (quoted in docs/app.md) come from that file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer } from '../../src/cli/commands/serve';
import { synthesize } from '../../src/data/synthetic';
import { launchChromium } from '../../src/node/chromium';
import { writeGreyPng } from '../../src/node/data_png';

const ROOT = resolve(__dirname, '../..');
const APP = join(ROOT, 'dist/app');
const OUT = join(ROOT, 'test-output/app');
const SHIPPED = join(ROOT, 'weights/osteo-ceph-2site.safetensors');
const LONG = 15 * 60_000;
/** A task of the page's thread longer than this is a stall the user feels (the issue's bound). */
const BOUND_MS = 200;
/** The X-ray's side: a cephalogram-sized image (1536² float pixels, 9 MB; its RGBA view another 9 MB). */
const SIDE = 1536;

interface Task { start: number; duration: number }
interface Phase { what: string; ms: number; longest: number; over: Task[]; count: number }

let browser: Browser | undefined;
let server: Server | undefined;
let page: Page;
let dir: string;
const phases: Record<string, Phase> = {};

const statusText = (): Promise<string> => page.$eval('#status', (e) => e.textContent ?? '');

async function ready(): Promise<string> {
  await page.waitForFunction(() => /ready$|^error:/.test(document.querySelector('#status')?.textContent ?? ''), { timeout: LONG, polling: 250 });
  const s = await statusText();
  expect(s).toMatch(/ready$/);
  return s;
}

/** Runs `work` and returns the long tasks of the page's main thread that started during it. */
async function measured(what: string, work: () => Promise<unknown>): Promise<Phase> {
  const t0 = await page.evaluate(() => performance.now());
  await work();
  const t1 = await page.evaluate(() => performance.now());
  const tasks = await page.evaluate((a: number, b: number) => (window as unknown as { __longtasks: Task[] }).__longtasks.filter((t) => t.start >= a && t.start <= b), t0, t1);
  const longest = Math.max(0, ...tasks.map((t) => t.duration));
  return { what, ms: Math.round(t1 - t0), longest: Math.round(longest), count: tasks.length, over: tasks.filter((t) => t.duration > BOUND_MS) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'osteo-longtasks-'));
  writeGreyPng(join(dir, 'head.png'), synthesize({ kind: 'head', n: 1, size: SIDE, seed: 11 }).images[0]!);
  const s = await startAppServer({ root: APP, port: 0, host: '127.0.0.1', model: SHIPPED });
  server = s.server;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 860 });
  page.on('pageerror', (e) => console.error('[page error]', e));
  // the test's own observer, from the first script on: every task of the main thread over 50 ms
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { __longtasks: { start: number; duration: number }[] };
    w.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  const start = await measured('start-up: page, adapter, shipped model', async () => {
    await page.goto(s.url);
    await page.waitForFunction(() => /osteo-ceph-2site\.safetensors.*19 landmarks/s.test(document.querySelector('#model-info')?.textContent ?? ''), { timeout: LONG, polling: 250 });
  });
  phases.startup = start;
}, LONG);

afterAll(async () => {
  mkdirSync(OUT, { recursive: true });
  const adapter = await page?.$eval('#adapter', (e) => e.textContent ?? '').catch(() => '');
  writeFileSync(join(OUT, 'longtasks.json'), `${JSON.stringify({ when: new Date().toISOString(), adapter, boundMs: BOUND_MS, image: `${SIDE}x${SIDE} PNG`, phases }, null, 2)}\n`);
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the page stays responsive (long tasks of the main thread, SwiftShader)', () => {
  test(`a prediction of the shipped model on a ${SIDE}×${SIDE} X-ray: no main-thread task over ${BOUND_MS} ms`, async () => {
    const p = await measured('decode, display and predict a 1536x1536 PNG with the shipped two-stage model', async () => {
      await (await page.$('#image-input') as unknown as ElementHandle<HTMLInputElement>).uploadFile(join(dir, 'head.png'));
      expect(await ready()).toMatch(/^head\.png: 19 landmarks/);
    });
    phases.predict = p;
    expect(await page.$$eval('[data-landmark]', (e) => e.length)).toBe(19);
    expect(p.over, `main-thread tasks over ${BOUND_MS} ms during the prediction`).toEqual([]);
  }, LONG);

  test(`a 3-step fine-tune of the shipped model in the page: no main-thread task over ${BOUND_MS} ms`, async () => {
    // one landmark moved by the keyboard makes the image training material
    await page.focus('#viewer');
    await page.keyboard.press('n');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.querySelectorAll('.marker.corrected').length === 1, { timeout: 60_000 });
    await page.$eval('#train-epochs', (e) => { (e as HTMLInputElement).value = '3'; });
    const p = await measured('fine-tune the shipped model for 3 epochs of 1 step on the corrected X-ray, then predict again', async () => {
      await page.click('#train-start');
      await page.waitForFunction(() => /osteo-ceph-2site-finetuned\.safetensors/.test(document.querySelector('#model-info')?.textContent ?? '') || (document.querySelector('#status')?.textContent ?? '').startsWith('error:'), { timeout: LONG, polling: 250 });
      expect(await ready()).toMatch(/^head\.png: 19 landmarks/);
    });
    phases.finetune = p;
    expect(await page.$eval('#train-log', (e) => e.textContent)).toMatch(/epoch 3/);
    expect(p.over, `main-thread tasks over ${BOUND_MS} ms during the fine-tune`).toEqual([]);
  }, LONG);
});

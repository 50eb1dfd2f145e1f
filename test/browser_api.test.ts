/**
 * `osteo/browser` in headless Chromium: the README's browser example, run as written (with the
 * package name pointing at dist/osteo.browser.js), loads a checkpoint trained here through the
 * Node API and predicts on an <img>; the points equal the Node API's on the same PNG within 0.5 px.
 */
import { transform } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, expect, test } from 'vitest';
import { synthesize } from '../src/data/synthetic';
import { createEngine, loadModel, train } from '../src/node/api';
import { launchChromium, serveFiles } from '../src/node/chromium';
import { writeGreyPng } from '../src/node/data_png';
import { readmeExample } from './helpers/readme';

const ROOT = resolve(__dirname, '..');
const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
let browser: Browser | undefined;
let server: Server | undefined;

afterAll(async () => {
  await browser?.close();
  server?.close();
});

declare global {
  interface Window {
    __api?: { points?: [number, number][]; names?: string[]; error?: string };
  }
}

test('the same checkpoint gives the same points through osteo/browser in Chromium as through the Node API', async () => {
  const bundle = join(ROOT, 'dist/osteo.browser.js');
  expect(existsSync(bundle), 'dist/osteo.browser.js is missing: npm run build').toBe(true);
  // A checkpoint with real peaks: one short epoch on synthetic hands.
  const dir = mkdtempSync(join(tmpdir(), 'osteo-browser-api-'));
  const hands = synthesize({ kind: 'hand', n: 7, size: 64, seed: 11 });
  writeGreyPng(join(dir, 'xray.png'), hands.images[6]!);
  const engine = await createEngine();
  let checkpoint: Uint8Array;
  let node: [number, number][];
  try {
    const { model } = await train(engine, { images: hands.images.slice(0, 6), points: hands.points.slice(0, 6), landmarkNames: hands.landmarkNames },
      { size: 32, epochs: 2, batch: 2, accum: 1, valSplit: 0, widths: WIDTHS, decoder: [8, 8, 4, 4, 4], lr: 3e-3 });
    checkpoint = await model.save();
    model.dispose();
    const loaded = await loadModel(engine, checkpoint);
    node = (await loaded.predict(join(dir, 'xray.png'))).points;
    loaded.dispose();
  } finally {
    engine.destroy();
  }

  // The README's example as the page's module: imports kept, the rest reporting into window.__api.
  const code = readmeExample('browser').replace(/from 'osteo\/browser'/g, "from '/osteo.browser.js'");
  const imports = code.split('\n').filter((l) => l.startsWith('import '));
  const body = code.split('\n').filter((l) => !l.startsWith('import ')).join('\n');
  const page = (await transform(`${imports.join('\n')}\ntry {\n${body}\nwindow.__api = { points: result.points, names: result.names };\n} catch (e) { window.__api = { error: String(e && e.stack || e) }; }\n`, { loader: 'ts', format: 'esm' })).code;
  const served = await serveFiles({
    '/index.html': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><img src="/xray.png"><script type="module" src="/page.js"></script>' },
    '/page.js': { type: 'text/javascript', body: page },
    '/osteo.browser.js': { type: 'text/javascript', body: readFileSync(bundle) },
    '/model.safetensors': { type: 'application/octet-stream', body: checkpoint },
    '/xray.png': { type: 'image/png', body: readFileSync(join(dir, 'xray.png')) },
  });
  server = served.server;
  browser = await launchChromium();
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  await tab.goto(served.url);
  await tab.waitForFunction(() => window.__api !== undefined, { timeout: 300_000, polling: 250 });
  const r = await tab.evaluate(() => window.__api!);
  expect(errors).toEqual([]);
  expect(r.error).toBeUndefined();
  expect(r.names).toEqual(hands.landmarkNames);
  expect(r.points).toHaveLength(37);
  const worst = Math.max(...r.points!.map(([x, y], i) => Math.max(Math.abs(x - node[i]![0]), Math.abs(y - node[i]![1]))));
  expect(worst).toBeLessThanOrEqual(0.5);
}, 600_000);

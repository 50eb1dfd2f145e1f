/**
 * The same kernel suites as test/kernels/*.node.test.ts, run in headless Chromium's WebGPU
 * (SwiftShader when there is no GPU): the browser bundle of the engine, served from 127.0.0.1.
 */
import { build } from 'esbuild';
import type { Server } from 'node:http';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, serveFiles } from '../src/node/chromium';
import type { BrowserResult } from './browser/entry';
import { ALL_SUITES } from './suites/all';

let browser: Browser | undefined;
let server: Server | undefined;
let results: BrowserResult[] = [];
let adapter: { vendor: string; architecture: string; fallback: boolean } | undefined;
let fatal: string | undefined;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: ['test/browser/entry.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    logLevel: 'error',
  });
  const js = bundle.outputFiles[0]!.text;
  const served = await serveFiles({
    '/index.html': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>osteo tests</title><script type="module" src="/entry.js"></script>' },
    '/entry.js': { type: 'text/javascript', body: js },
  });
  server = served.server;
  browser = await launchChromium();
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(served.url);
  await page.waitForFunction(() => window.__osteo?.done === true, { timeout: 15 * 60_000, polling: 500 });
  const state = await page.evaluate(() => window.__osteo!);
  results = state.results;
  adapter = state.adapter as typeof adapter;
  fatal = state.fatal;
}, 20 * 60_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

test('the page found a WebGPU adapter and ran', () => {
  expect(fatal).toBeUndefined();
  expect(adapter?.vendor).toBeTruthy();
});

for (const [suite, cases] of Object.entries(ALL_SUITES)) {
  describe(`chromium ${suite}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const r = results.find((x) => x.suite === suite && x.name === c.name);
        expect(r, `no result for ${suite} > ${c.name}`).toBeDefined();
        if (!r!.ok) throw new Error(r!.error);
      });
    }
  });
}

/**
 * The HTML report in headless Chromium (Debian's chromium, src/node/chromium.ts): it renders
 * offline (no request leaves the page), the verdict line is inside the first screen of a laptop
 * window, and the screenshot shows it (the verdict box's colour and dark text inside its rectangle).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { reportMain } from '../../src/cli/commands/report';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { launchChromium } from '../../src/node/chromium';
import { NARROW, shareEngine, tmp } from '../train/helpers';

let browser: Browser | undefined;
beforeAll(() => shareEngine());
afterAll(async () => {
  await browser?.close();
});

test('the report opens offline in Chromium with its verdict visible in the first screen (screenshot checked)', async () => {
  const train = tmp('html-train');
  await trainMain(['--data', 'synthetic:hand?n=6&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--epochs', '1', ...NARROW, '--out', train], { quiet: true });
  const out = tmp('html-report');
  const r = await reportMain(['--model', join(train, CHECKPOINT_BEST), '--data', 'synthetic:hand?n=5&size=64&seed=3', '--thresholds', 'mre<=1mm,sdr2>=0.8', '--no-timing', '--out', out]);
  expect(r.doc.verdict.decision).toBe('run-learning-curve');
  const html = readFileSync(r.files.html, 'utf8');

  browser = await launchChromium({ software: true });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const requests: string[] = [];
  await page.setRequestInterception(true);
  page.on('request', (q) => {
    if (!q.url().startsWith('data:')) requests.push(q.url());
    void q.continue();
  });
  await page.setContent(html, { waitUntil: 'load' });
  expect(requests.filter((u) => u !== 'about:blank')).toEqual([]);
  const v = await page.evaluate(() => {
    const el = document.querySelector('#verdict .decision') as HTMLElement;
    const box = document.querySelector('#verdict')!.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + 20, box.top + 15);
    const imgs = Array.from(document.images).map((i) => ({ complete: i.complete, w: i.naturalWidth }));
    return { text: el.innerText, top: box.top, bottom: box.bottom, left: box.left, right: box.right, onTop: !!hit?.closest('#verdict'), bg: getComputedStyle(document.querySelector('#verdict')!).backgroundColor, imgs };
  });
  expect(v.text).toBe(`Verdict: ${r.doc.verdict.sentence.replace(/`/g, '')}`);
  expect(v.top).toBeGreaterThanOrEqual(0);
  expect(v.bottom).toBeLessThanOrEqual(800);
  expect(v.onTop).toBe(true);
  expect(v.imgs.length).toBe(3);
  for (const im of v.imgs) expect(im.complete && im.w >= 480).toBe(true);

  // The first screen as pixels: inside the verdict's rectangle, its background and dark text.
  const shot = PNG.sync.read(Buffer.from(await page.screenshot({ type: 'png' })));
  expect([shot.width, shot.height]).toEqual([1280, 800]);
  const [br, bgG, bb] = v.bg.match(/\d+/g)!.map(Number) as [number, number, number];
  let background = 0, dark = 0, total = 0;
  for (let y = Math.ceil(v.top) + 3; y < Math.floor(v.bottom) - 3; y++) {
    for (let x = Math.ceil(v.left) + 3; x < Math.floor(v.right) - 3; x++) {
      const i = 4 * (y * shot.width + x);
      const [R, G, B] = [shot.data[i]!, shot.data[i + 1]!, shot.data[i + 2]!];
      total++;
      if (Math.abs(R - br) + Math.abs(G - bgG) + Math.abs(B - bb) < 12) background++;
      if (R + G + B < 200) dark++;
    }
  }
  expect(background / total).toBeGreaterThan(0.4);
  expect(dark / total).toBeGreaterThan(0.01);
}, 600_000);

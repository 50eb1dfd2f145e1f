/**
 * The browser bundle (dist/osteo.browser.js) in headless Chromium decodes a DICOM (deflated,
 * MONOCHROME1, JPEG lossless), a TIFF, a MetaImage and a 16-bit PNG to the same pixels and
 * spacing as Node: what the web app gets when an X-ray file is dropped on it. No GPU involved.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'puppeteer-core';
import { afterAll, expect, test } from 'vitest';
import { launchChromium, serveFiles } from '../../src/node/chromium';
import { decodeImage } from '../../src/node/data_image';
import { encodePngRaw } from './encoders';
import { TS, writeDicom } from './dicom_writer';

const ROOT = resolve(__dirname, '../..');
let browser: Browser | undefined;
let server: Server | undefined;
afterAll(async () => { await browser?.close(); server?.close(); });

declare global { interface Window { __decoded?: Record<string, { width: number; height: number; bitDepth: number; sum: number; first: number[]; spacing?: unknown } | { error: string } | number> } }

test('DICOM, TIFF, MetaImage and 16-bit PNG decode in Chromium as in Node', async () => {
  const bundle = resolve(ROOT, 'dist/osteo.browser.js');
  expect(existsSync(bundle), 'dist/osteo.browser.js is missing: npm run build').toBe(true);
  const W = 33, H = 21;
  const v12 = Array.from({ length: W * H }, (_, i) => (i * 389) % 4096);
  const files: Record<string, Uint8Array> = {
    'deflate.dcm': writeDicom({ width: W, height: H, pixels: v12, bitsStored: 12, photometric: 'MONOCHROME1', transferSyntax: TS.deflate, pixelSpacing: [0.15, 0.1] }),
    'lossless.dcm': writeDicom({ width: W, height: H, pixels: v12, bitsStored: 12, transferSyntax: TS.jpegLossless, imagerPixelSpacing: [0.2, 0.2] }),
    'x.tif': new Uint8Array(await sharp(Uint16Array.from(v12, (v) => v * 16), { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').tiff({ compression: 'lzw', predictor: 'horizontal' }).toBuffer()),
    'x.mha': new Uint8Array([...new TextEncoder().encode(`ObjectType = Image\nNDims = 2\nDimSize = ${W} ${H}\nElementSpacing = 0.3 0.3\nElementType = MET_USHORT\nElementDataFile = LOCAL\n`), ...new Uint8Array(Uint16Array.from(v12).buffer)]),
    'x16.png': new Uint8Array(encodePngRaw(W, H, v12.map((v) => v * 16), 0, 16)),
  };
  const names = Object.keys(files);
  const page = `import { decodeImage } from '/osteo.browser.js';
// count the workers the decoder starts (it runs DICOM / TIFF / MetaImage / 16-bit PNG in one)
let workers = 0, workerErrors = 0;
const RealWorker = window.Worker;
window.Worker = class extends RealWorker { constructor(...a) { super(...a); workers++; this.addEventListener('error', () => workerErrors++); } };
const out = {};
for (const n of ${JSON.stringify(names)}) {
  try {
    const img = await decodeImage(await (await fetch('/' + n)).blob(), n);
    let sum = 0; for (const v of img.data) sum += v;
    out[n] = { width: img.width, height: img.height, bitDepth: img.bitDepth, sum, first: Array.from(img.data.slice(0, 5)), spacing: img.spacing };
  } catch (e) { out[n] = { error: String(e && e.stack || e) }; }
}
try { await decodeImage(new Blob([new Uint8Array(200)]), 'x.dcm'); out.unknown = { error: 'no error' }; } catch (e) { out.unknown = { error: e.name + ': ' + e.message }; }
try { const b = new Uint8Array(await (await fetch('/deflate.dcm')).arrayBuffer()); await decodeImage(b.slice(0, 700), 'cut.dcm'); out.cut = { error: 'no error' }; } catch (e) { out.cut = { error: e.constructor.name + ': ' + e.message }; }
out.workers = workers;
out.workerErrors = workerErrors;
window.__decoded = out;`;
  const served = await serveFiles({
    '/index.html': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>' },
    '/page.js': { type: 'text/javascript', body: page },
    '/osteo.browser.js': { type: 'text/javascript', body: readFileSync(bundle) },
    ...Object.fromEntries(names.map((n) => [`/${n}`, { type: 'application/octet-stream', body: Buffer.from(files[n]!) }])),
  });
  server = served.server;
  browser = await launchChromium({ software: true });
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(String(e)));
  await tab.goto(served.url);
  await tab.waitForFunction(() => window.__decoded !== undefined, { timeout: 120_000, polling: 250 });
  const got = await tab.evaluate(() => window.__decoded!);
  expect(errors).toEqual([]);
  // one worker, reused; errors from it are DataErrors naming the file
  expect((got as Record<string, unknown>).workers).toBe(1);
  expect((got as Record<string, unknown>).workerErrors).toBe(0); // it started, so it did the decoding
  expect((got.cut as { error: string }).error).toMatch(/^DataError: cut\.dcm: (truncated|corrupt)/);
  for (const n of names) {
    const node = decodeImage(files[n]!, n);
    let sum = 0; for (const v of node.data) sum += v;
    expect(got[n], n).toEqual({ width: node.width, height: node.height, bitDepth: node.bitDepth, sum, first: Array.from(node.data.slice(0, 5)), ...(node.spacing ? { spacing: node.spacing } : {}) });
  }
}, 300_000);

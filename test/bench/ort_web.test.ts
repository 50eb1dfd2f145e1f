/**
 * The onnxruntime-web baselines of `osteo bench --host chromium`: served as the Chromium host
 * serves them (cross-origin isolated), both execution providers (webgpu on the page's adapter,
 * wasm with SIMD + threads) run a small exported U-Net++ and agree with onnxruntime-node.
 */
import { build } from 'esbuild';
import ort from 'onnxruntime-node';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ortWebFiles } from '../../bench/chromium_host';
import { maxAbsDiff } from '../../bench/onnx_baseline';
import { randomUnetPPWeights } from '../../bench/reference/tfjs_unetpp';
import { exportOnnx } from '../../src/export/onnx';
import { launchChromium, serveFiles } from '../../src/node/chromium';
import { DECODER, WIDTHS } from '../train/helpers';

const ROOT = new URL('../..', import.meta.url).pathname;
let browser: Browser | undefined;
beforeAll(async () => {
  browser = await launchChromium({ software: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

test('onnxruntime-web webgpu and wasm EPs in Chromium give onnxruntime-node’s heatmaps', async () => {
  const model = { classes: 2, inChannels: 1 as const, widths: WIDTHS, decoderChannels: DECODER };
  const bytes = exportOnnx({ model, tensors: randomUnetPPWeights(model, 9) }, { size: 32 }).bytes;
  const x = Array.from({ length: 32 * 32 }, (_, i) => Math.cos(i / 7));
  const session = await ort.InferenceSession.create(bytes);
  const ref = (await session.run({ image: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 32, 32]) })).heatmaps!.data as Float32Array;
  await session.release();

  const js = (await build({ entryPoints: [`${ROOT}bench/ort_web.ts`], bundle: true, write: false, format: 'esm', platform: 'browser', logLevel: 'error' })).outputFiles[0]!.text;
  // the page's own module runs the runtimes (vitest rewrites import() inside page.evaluate callbacks)
  const pageScript = `import { ortWebRuntimes } from '/ort_web.js';
const input = Float32Array.from(await (await fetch('/input.json')).json());
const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
const out = {};
let notes = [];
try {
  const rt = await ortWebRuntimes('/ort/');
  notes = rt.notes;
  for (const h of rt.hosts) {
    try {
      const s = await h.create(model);
      out[h.name] = { detail: h.detail, data: Array.from(await s.run(input, [1, 1, 32, 32])) };
      await s.release();
    } catch (e) {
      out[h.name] = { detail: h.detail, error: String(e && e.message || e) };
    }
  }
} catch (e) {
  notes.push('load failed: ' + String(e && e.message || e));
}
window.__ortweb = { out, notes, isolated: crossOriginIsolated };`;
  const files = {
    ...ortWebFiles(ROOT),
    '/index.html': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>ort-web</title><script type="module" src="/page.js"></script>' },
    '/page.js': { type: 'text/javascript', body: pageScript },
    '/ort_web.js': { type: 'text/javascript', body: js },
    '/model.onnx': { type: 'application/octet-stream', body: bytes },
    '/input.json': { type: 'application/json', body: JSON.stringify(x) },
  };
  expect(Object.keys(files)).toContain('/ort/ort.all.bundle.min.mjs');
  const { url, server } = await serveFiles(files);
  const page = await browser!.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => (window as { __ortweb?: unknown }).__ortweb !== undefined, { timeout: 90_000, polling: 500 });
    const got = await page.evaluate(() => (window as unknown as { __ortweb: { out: Record<string, { detail: string; data?: number[]; error?: string }>; notes: string[]; isolated: boolean } }).__ortweb);
    expect(got.notes.join('; ')).not.toContain('load failed');
    expect(got.isolated).toBe(true);
    expect(Object.keys(got.out)).toEqual(['ort-web-webgpu', 'ort-web-wasm']);
    expect(got.out['ort-web-wasm']!.detail).toMatch(/^onnxruntime-web 1\.30\.0, wasm EP, SIMD, \d+ thread/);
    for (const [name, r] of Object.entries(got.out)) {
      expect(r.error, name).toBeUndefined();
      const { diff, scale } = maxAbsDiff(Float32Array.from(r.data!), ref);
      console.log(`${name}: max |Δ| vs onnxruntime-node ${diff.toExponential(2)} at output scale ${scale.toExponential(2)}`);
      expect(diff, name).toBeLessThanOrEqual(1e-4 * scale);
    }
  } finally {
    await page.close();
    server.close();
  }
}, 120_000);

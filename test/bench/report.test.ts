/**
 * The HTML report renders in headless Chromium with its charts: one SVG per chart, a data point
 * per result row, the roofline's ceiling line; and it needs no network (self-contained).
 */
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { htmlReport, markdownReport } from '../../bench/report';
import { summarizeTimes } from '../../bench/stats';
import type { BenchResults, KernelRow } from '../../bench/types';
import { launchChromium } from '../../src/node/chromium';

function row(op: string, unit: 'GFLOP/s' | 'GB/s', osteoMs: number, tfjsMs: number, flops: number, bytes: number): KernelRow {
  const amount = unit === 'GFLOP/s' ? flops : bytes;
  const osteoRate = amount / (osteoMs * 1e6);
  const tfjsRate = amount / (tfjsMs * 1e6);
  const ceil = unit === 'GFLOP/s' ? 5 : 2;
  return {
    key: `${op} ${osteoMs}`, op, layer: 'encoder.features.0', shape: `1x64x${osteoMs}x32`, unit, flops, bytes,
    osteo: summarizeTimes([osteoMs, osteoMs * 1.1, osteoMs * 0.9]), osteoGpuMs: osteoMs * 0.9,
    tfjs: summarizeTimes([tfjsMs]), ratio: tfjsMs / osteoMs, osteoRate, tfjsRate,
    osteoCeilingShare: osteoRate / ceil, tfjsCeilingShare: tfjsRate / ceil,
  };
}

const results: BenchResults = {
  meta: {
    host: 'node', date: '2026-01-01T00:00:00Z',
    adapter: { vendor: 'google', architecture: 'swiftshader', description: 'test', fallback: true, source: 'synthetic' },
    ceilings: { fmaGflops: 5, copyGbps: 2, timing: 'timestamp' }, size: 32, batch: 1, reps: 3,
    tfjsVersion: '4.22.0', tfjsBackend: 'webgpu', timing: 'synthetic',
  },
  kernels: [
    { ...row('conv_fwd', 'GFLOP/s', 10, 30, 2e7, 1e6), extra: { webgl: 40, wasm: null } },
    { ...row('conv_dx', 'GFLOP/s', 12, 20, 2e7, 1e6), extra: { webgl: 24, wasm: 6 } },
    row('conv_dw', 'GFLOP/s', 8, 200, 2e7, 1e6),
    row('maxpool_fwd', 'GB/s', 1, 0.5, 0, 1e6),
    row('concat', 'GB/s', 2, 3, 0, 2e6),
  ],
  model: [
    { name: 'inference', batch: 1, size: 32, flops: 1e9, osteo: { firstMs: 900, steady: summarizeTimes([100, 110]) }, osteoGpuMs: 90, tfjs: { firstMs: 3000, steady: summarizeTimes([400, 420]) }, ratio: 4, extra: { webgl: { firstMs: 5000, steady: summarizeTimes([800]) }, wasm: null } },
    { name: 'train_step', batch: 1, size: 32, flops: 3e9, osteo: { firstMs: 2000, steady: summarizeTimes([300]) }, osteoGpuMs: null, tfjs: null, ratio: null, errors: ['tfjs-webgpu: boom'] },
  ],
  notes: ['a <note> with markup'],
};

let browser: Browser | undefined;
beforeAll(async () => {
  browser = await launchChromium({ software: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

test('markdown has one row per kernel and per model step', () => {
  const md = markdownReport(results);
  for (const k of results.kernels) expect(md).toContain(`| ${k.op} |`);
  expect(md).toContain('| inference | 1 | 32 |');
  expect(md).toContain('3x'); // conv_fwd ratio 30/10
});

test('extra tfjs backends get columns, per-op geomeans over their measured rows, and model speed-ups', () => {
  const md = markdownReport(results);
  expect(md).toContain('| tfjs-webgl ms | tfjs-wasm ms |');
  expect(md).toContain('vs tfjs-webgl (geomean) | vs tfjs-wasm (geomean) |');
  // conv_fwd: webgl 40 / osteo median 10 = 4x; wasm has no time there
  expect(md).toMatch(/\| conv_fwd \| 1 \|.*\| 4x \(1 rows\) \| – \|/);
  // conv_dx: webgl 24/12 = 2x, wasm 6/12 = 0.5x (osteo slower: reported as it is)
  expect(md).toMatch(/\| conv_dx \| 1 \|.*\| 2x \(1 rows\) \| 0\.5x \(1 rows\) \|/);
  expect(md).toContain('| tfjs-webgl steady ms (speed-up) | tfjs-wasm steady ms (speed-up) |');
  expect(md).toMatch(/\| inference \|.*\| 800 \(7\.\d+x\) \| – \|/);
});

test('the report renders offline in Chromium with every chart and its data points', async () => {
  const page = await browser!.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.setContent(htmlReport(results), { waitUntil: 'load' });
  const counts = await page.evaluate(() => {
    // the per-kernel rows and charts are collapsed; open them to measure
    document.querySelectorAll('details').forEach((d) => (d.open = true));
    const q = (sel: string) => document.querySelectorAll(sel).length;
    const box = (id: string) => {
      const el = document.getElementById(id) as unknown as SVGGraphicsElement | null;
      const b = el?.getBBox();
      return b ? b.width * b.height : 0;
    };
    return {
      ratio: q('#chart-ratio .point'),
      ceiling: q('#chart-ceiling .point'),
      rooflineOsteo: q('#chart-roofline .point[data-series="osteo"]'),
      rooflineTfjs: q('#chart-roofline .point[data-series="tfjs"]'),
      ceilingLine: q('#chart-roofline polyline.ceiling'),
      model: q('#chart-model .point'),
      baselines: Array.from(document.querySelectorAll('#chart-baselines .point')).map((e) => `${e.getAttribute('data-key')}/${e.getAttribute('data-series')}`),
      tables: q('table'),
      areas: [box('chart-ratio'), box('chart-roofline'), box('chart-model'), box('chart-baselines')],
      json: JSON.parse(document.getElementById('results')!.textContent!).kernels.length,
      values: Array.from(document.querySelectorAll('#chart-ratio .point')).map((e) => Number(e.getAttribute('data-value'))),
    };
  });
  expect(counts.ratio).toBe(5);
  expect(counts.values).toEqual(results.kernels.map((k) => k.ratio));
  expect(counts.ceiling).toBe(10); // osteo and tfjs per row
  expect(counts.rooflineOsteo).toBe(3); // the convs only
  expect(counts.rooflineTfjs).toBe(3);
  expect(counts.ceilingLine).toBe(1);
  expect(counts.model).toBe(4); // inference osteo, tfjs and webgl; train osteo only
  // webgpu for every op; webgl for the two convs that have it; wasm only for conv_dx
  expect(counts.baselines.sort()).toEqual(
    ['concat/webgpu', 'conv_dw/webgpu', 'conv_dx/wasm', 'conv_dx/webgl', 'conv_dx/webgpu', 'conv_fwd/webgl', 'conv_fwd/webgpu', 'maxpool_fwd/webgpu'].sort(),
  );
  expect(counts.tables).toBeGreaterThanOrEqual(3);
  for (const a of counts.areas) expect(a).toBeGreaterThan(0);
  expect(counts.json).toBe(5);
  // self-contained: nothing fetched beyond the document itself
  expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
  await page.close();
}, 60_000);

test('the page starts with the title, device, date, method and verdicts; then the whole model; kernel rows collapsed by op', async () => {
  const nvidia: BenchResults = { ...results, meta: { ...results.meta, adapter: { vendor: 'nvidia', architecture: '', description: 'NVIDIA H200', fallback: false, source: 'dawn' } } };
  const html = htmlReport(nvidia);
  expect(html).toContain('<h1>osteo vs tfjs-webgpu 4.22.0 — node, nvidia / NVIDIA H200</h1>');
  expect(html).not.toContain('nvidia /<');
  const at = (s: string) => {
    const i = html.indexOf(s);
    expect(i, s).toBeGreaterThanOrEqual(0);
    return i;
  };
  const order = [at('<h1>'), at('Timing: synthetic'), at('<h2>Verdicts and notes</h2>'), at('id="chart-model"'), at('id="chart-baselines"'), at('<details class="op"><summary>conv_fwd: 1 rows'), at('id="chart-ratio"')];
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(html.match(/<details class="op">/g)).toHaveLength(5);
  // the model row's error text is in its table, not dropped after the last cell
  expect(html).toContain('<td>tfjs-webgpu: boom</td>');
});

test('kernel errors show their text in an errors column; ceiling shares over 100 % get a note', async () => {
  const { autoNotes } = await import('../../bench/run');
  const k = { ...results.kernels[0]!, errors: ['tfjs: Conv2D | out of memory'], osteoCeilingShare: 1.3 };
  const r: BenchResults = { ...results, kernels: [k, ...results.kernels.slice(1)] };
  const md = markdownReport(r);
  expect(md).toMatch(/\| conv_fwd \|.* \| tfjs: Conv2D \/ out of memory \|\n/);
  const notes = autoNotes(r, true);
  expect(notes.find((n) => n.includes('rows had errors'))).toMatch(/^2 rows had errors \(the text is in the tables' errors column; the first: tfjs: Conv2D \| out of memory\)\.$/);
  expect(notes.find((n) => n.includes('above 100 %'))).toMatch(/^1 ceiling shares are above 100 % \(up to 130%\)/);
});

test('the legends list every series inside the chart (none clipped at the right edge)', async () => {
  const page = await browser!.newPage();
  await page.setContent(htmlReport(results), { waitUntil: 'load' });
  const legends = await page.evaluate(() =>
    ['chart-baselines', 'chart-model'].map((id) => {
      const svg = document.getElementById(id) as unknown as SVGSVGElement;
      const width = svg.viewBox.baseVal.width;
      return Array.from(svg.querySelectorAll('.legend-item')).map((g) => {
        const b = (g as SVGGraphicsElement).getBBox();
        return { label: g.textContent, inside: b.x >= 0 && b.x + b.width <= width };
      });
    }),
  );
  expect(legends[0]!.map((l) => l.label)).toEqual(['tfjs-webgpu', 'tfjs-webgl', 'tfjs-wasm']);
  expect(legends[1]!.map((l) => l.label)).toEqual(['osteo', 'tfjs-webgpu', 'tfjs-webgl', 'tfjs-wasm']);
  for (const l of legends.flat()) expect(l.inside, l.label ?? '').toBe(true);
  await page.close();
}, 60_000);

test('--host both: one report with every runtime of both hosts, the summary first, ratios against osteo on the same host', async () => {
  const { combinedHtmlReport, combinedMarkdownReport } = await import('../../bench/report');
  const phase = (first: number, steady: number[]) => ({ firstMs: first, steady: summarizeTimes(steady) });
  const node: BenchResults = {
    ...results,
    kernels: [],
    model: [{ ...results.model[0]!, extra: undefined, runtimes: { 'ort-node-cpu': { detail: 'onnxruntime-node', createMs: 50, phase: phase(60, [10, 10]), maxAbsDiff: 1e-6, outputScale: 3 } } }],
  };
  const chromium: BenchResults = {
    ...results,
    meta: { ...results.meta, host: 'chromium' },
    kernels: [],
    model: [{ ...results.model[0]!, osteo: phase(700, [200, 200]), runtimes: { 'ort-web-wasm': { detail: 'onnxruntime-web wasm', createMs: 20, phase: phase(400, [50]), maxAbsDiff: 2e-6, outputScale: 3 }, 'ort-web-webgpu': { detail: 'onnxruntime-web webgpu', createMs: 20, phase: null, maxAbsDiff: null, outputScale: null, error: 'no adapter' } } }],
  };
  const md = combinedMarkdownReport([node, chromium]);
  expect(md).toMatch(/\| node \| inference \| 1 \| 32 \| ort-node-cpu \| 60 \| 10 \| 105 \| ort-node-cpu 10\.5x \|/);
  expect(md).toMatch(/\| chromium \| inference \| 1 \| 32 \| tfjs-webgl \| 5000 \| 800 \| 200 \| osteo 4x \|/);
  expect(md).toMatch(/\| chromium \| inference \| 1 \| 32 \| ort-web-wasm \| 400 \| 50 \| 200 \| ort-web-wasm 4x \|/);
  expect(md).toMatch(/\| chromium \| inference \| 1 \| 32 \| ort-web-webgpu \| – \| failed or not run \|/);
  // each host's own report follows, one heading level down
  expect(md.indexOf('## Summary')).toBeLessThan(md.indexOf('## osteo vs tfjs-webgpu 4.22.0 and ONNX Runtime — node'));
  expect(md).toContain('## osteo vs tfjs-webgpu 4.22.0 and ONNX Runtime — chromium');

  const page = await browser!.newPage();
  await page.setContent(combinedHtmlReport([node, chromium]), { waitUntil: 'load' });
  const seen = await page.evaluate(() => ({
    summary: Array.from(document.querySelectorAll('#chart-summary .point')).map((e) => `${e.getAttribute('data-key')}/${e.getAttribute('data-series')}`),
    firstChart: document.querySelector('svg.chart')!.id,
    hosts: document.querySelectorAll('details.host').length,
    data: (JSON.parse(document.getElementById('results')!.textContent!) as unknown[]).length,
  }));
  expect(seen.firstChart).toBe('chart-summary');
  expect(seen.summary.sort()).toEqual(
    ['chromium: inference/osteo', 'chromium: inference/tfjs', 'chromium: inference/webgl', 'chromium: inference/ort-web-wasm', 'node: inference/osteo', 'node: inference/tfjs', 'node: inference/ort-node-cpu'].sort(),
  );
  expect(seen.hosts).toBe(2);
  expect(seen.data).toBe(2);
  await page.close();
}, 60_000);

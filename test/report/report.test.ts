/**
 * `osteo report` end to end on synthetic hands with a tiny checkpoint: thresholds met (deploy) and
 * missed (what to do next), the JSON fields, the markdown and HTML files, the mean-shape baseline
 * beside the model, and the threshold syntax errors. No timing asserts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { reportMain } from '../../src/cli/commands/report';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import type { ReportDoc } from '../../src/report/document';
import { NARROW, shareEngine, tmp } from '../train/helpers';

const TEST_DATA = 'synthetic:hand?n=6&size=64&seed=9';
const FAST = ['--timing-runs', '2', '--max-batch', '2', '--worst', '2'];
let ckpt = '';

beforeAll(async () => {
  shareEngine();
  const out = tmp('report-train');
  await trainMain(['--data', 'synthetic:hand?n=8&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--lr', '3e-3', '--epochs', '1', ...NARROW, '--out', out], { quiet: true });
  ckpt = join(out, CHECKPOINT_BEST);
}, 600_000);

describe('osteo report', () => {
  test('thresholds met: deploy; report.json, report.md and a self-contained report.html with the verdict first', async () => {
    const out = tmp('report-met');
    const r = await reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre<=10000mm,sdr4>=0,p95<=1e9ms,ips>=1e-6,memory<=64GiB', '--out', out, ...FAST]);
    const doc = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportDoc;
    expect(doc.kind).toBe('osteo-report');
    expect(doc.verdict.decision).toBe('deploy');
    expect(doc.verdict.sentence).toMatch(/^Deploy the prototype: every threshold is met/);
    expect(doc.thresholds.map((t) => [t.key, t.status])).toEqual([['mre', 'met'], ['sdr4', 'met'], ['p95', 'met'], ['ips', 'met'], ['memory', 'met']]);
    expect(doc.verdict.missed).toEqual([]);
    // clinical: overall, per landmark with names, the baseline beside the model, worst images
    const c = doc.clinical;
    expect(c.unit).toBe('mm');
    expect(c.images).toBe(6);
    expect(c.overall.mre).toBeGreaterThan(0);
    expect(Object.keys(c.overall.sdrPercent)).toEqual(['2 mm', '2.5 mm', '3 mm', '4 mm']);
    expect(c.perLandmark).toHaveLength(37);
    expect(c.perLandmark[0]!.name).not.toMatch(/^landmark \d/);
    expect(c.baseline.overall.mre).toBeGreaterThan(0);
    expect(c.baseline.describe).toMatch(/leave one out/);
    expect(c.worst).toHaveLength(2);
    expect(c.worst[0]!.mre).toBeGreaterThanOrEqual(c.worst[1]!.mre);
    expect(Math.max(...c.perImage.map((p) => p.mre))).toBe(c.worst[0]!.mre);
    // operational: measured here, first run apart
    const o = doc.operational!;
    expect(o.latency.runs).toBe(2);
    expect(o.latency.p95Ms).toBeGreaterThanOrEqual(o.latency.p50Ms);
    expect(o.first.totalMs).toBeGreaterThan(0);
    expect(o.throughput.perBatch.map((p) => p.batch)).toEqual([1, 2]);
    expect([1, 2]).toContain(o.throughput.bestBatch);
    expect(o.memory.peakBytesBatch1).toBeGreaterThan(0);
    expect(typeof o.fallback).toBe('boolean');
    // the files
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md.split('\n')[2]).toMatch(/^\*\*Verdict: Deploy the prototype/);
    expect(md).toMatch(/\| mean-shape baseline \|/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('<h2'));
    expect(html).not.toMatch(/<script|<link |src="http/);
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(2);
    expect(html).toContain('id="chart-landmarks"');
    expect(html).toContain('id="chart-sdr"');
    expect(html).toContain('id="chart-throughput"');
    expect(r.files.html).toBe(join(out, 'report.html'));
  }, 300_000);

  test('thresholds missed: the verdict names them and says what to do next; px thresholds on mm data are not assessable', async () => {
    const out = tmp('report-missed');
    const r = await reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre<=0.01mm,sdr2>=99%,median<=1px,ips>=1e-6', '--out', out, ...FAST]);
    const v = r.doc.verdict;
    expect(v.decision).toBe('run-learning-curve');
    expect(v.missed).toEqual(['mre<=0.01mm', 'sdr2>=99%']);
    expect(v.notAssessable).toEqual(['median<=1px']);
    expect(v.sentence).toMatch(/^Do not deploy yet: mre<=0\.01mm, sdr2>=99% missed; run `osteo experiment learning-curve`/);
    const median = r.doc.thresholds.find((t) => t.key === 'median')!;
    expect(median.detail).toMatch(/errors are in mm/);
    expect(r.doc.thresholds.find((t) => t.key === 'sdr2')!.value).toBeCloseTo(0.99);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| mre<=0\.01mm \| clinical \| .* \| ✘ missed \|/);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  }, 300_000);

  test('--range evaluates a slice in id order; the annotations outside it give the mean-shape baseline', async () => {
    const r = await reportMain(['--model', ckpt, '--data', 'synthetic:hand?n=8&size=64&seed=9', '--range', '3:6', '--no-timing', '--worst', '1', '--out', tmp('report-range')]);
    expect(r.doc.clinical.perImage.map((p) => p.id)).toEqual(['hand-0002', 'hand-0003', 'hand-0004', 'hand-0005']);
    expect(r.doc.clinical.baseline.describe).toBe('mean of the 4 annotated images outside --range 3:6');
    expect(r.doc.operational).toBeNull();
    expect(r.doc.thresholds.filter((t) => t.kind === 'operational').every((t) => t.status === 'not assessable')).toBe(true);
  }, 300_000);

  test('only operational thresholds missed: not more data but a faster device', async () => {
    const r = await reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre<=10000mm,p50<=0.001ms', '--out', tmp('report-slow'), ...FAST]);
    expect(r.doc.verdict.decision).toBe('speed-up');
    expect(r.doc.verdict.sentence).toMatch(/too slow on this device \(p50<=0\.001ms\)/);
  }, 300_000);

  test('bad thresholds are usage errors that list the valid keys or units, before any GPU work', async () => {
    await expect(reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre<=2mm,latency<=3ms'])).rejects.toThrow(/unknown key 'latency'; valid keys: mre, median, sdr2, sdr2\.5, sdr3, sdr4, p50, p95, first, ips, memory/);
    await expect(reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre<=2cm'])).rejects.toThrow(/unknown unit 'cm' for mre; valid units: mm, px/);
    await expect(reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'p95<=150'])).rejects.toThrow(/unknown unit '\(none\)' for p95; valid units: ms, s/);
    await expect(reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'sdr2>=80'])).rejects.toThrow(/fraction in \[0, 1\] \(0\.8\) or a percentage \(80%\)/);
    await expect(reportMain(['--model', ckpt, '--data', TEST_DATA, '--thresholds', 'mre=2mm'])).rejects.toThrow(/expected KEY OP VALUE\[UNIT\]/);
  });
});

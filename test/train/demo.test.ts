/**
 * The main job, at a tiny size: fixed work gives the same result twice, the summary carries the
 * mean-shape baseline and the untrained MRE beside the trained one, and the host writes pictures
 * large enough to read and a metrics.json that reads without the README.
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeDemoOutputs } from '../../src/cli/commands/demo';
import type { Engine } from '../../src/gpu/engine';
import { runDemo, type DemoProfile, type DemoProgress, type DemoResult } from '../../src/train/demo';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, tmp, WIDTHS } from './helpers';

const TINY: Partial<DemoProfile> = { size: 32, widths: WIDTHS, decoderChannels: DECODER, train: 6, val: 3, batch: 2, epochs: 2, sigma: 2 };

let engine: Engine;
let first: DemoResult;
const events: DemoProgress[] = [];
beforeAll(async () => {
  engine = await nodeEngine();
  first = await runDemo(engine, { seed: 3, profile: TINY, onProgress: (p) => events.push(p) });
}, 240_000);
afterAll(() => engine?.destroy());

test('the summary: trained, untrained and mean-shape baseline MRE, SDR in numeric order, outside points, fixed epochs', () => {
  const s = first.summary;
  expect(s.epochs).toBe(2);
  expect(s.images).toBe(6);
  expect(s.validation).toBe(3);
  expect(s.unit).toBe('mm');
  for (const v of [s.mre, s.mreUntrained, s.mreBaseline]) expect(v).toBeGreaterThan(0);
  expect(s.mreBaseline).not.toBe(s.mre);
  expect(Object.keys(s.sdrPercent)).toEqual(['2 mm', '2.5 mm', '3 mm', '4 mm']);
  expect(Number.isInteger(s.outsidePoints) && s.outsidePoints >= 0).toBe(true);
  expect(first.history.map((h) => h.epoch)).toEqual([1, 2]);
  expect(first.history[1]!.mre).toBe(s.mre);
  expect(first.evaluation.perLandmark).toHaveLength(37);
  expect(first.evaluation.perLandmark[0]).toMatchObject({ landmark: 1, name: first.landmarkNames[0] });
  // progress: start, the baseline and untrained evaluations, a step line per step, an epoch line per epoch
  expect(events[0]!.phase).toBe('start');
  expect(events.filter((e) => e.phase === 'epoch')).toHaveLength(2);
  expect(events.filter((e) => e.phase === 'step').length).toBe(2 * 3);
  expect(events.filter((e) => e.phase === 'evaluated').map((e) => (e as { what: string }).what)).toEqual(['baseline', 'untrained', 'trained']);
});

test('fixed work: the same seed gives the same result again (no time budget decides anything)', async () => {
  const again = await runDemo(engine, { seed: 3, profile: TINY });
  const { seconds: _a, ...a } = first.summary;
  const { seconds: _b, ...b } = again.summary;
  expect(b).toEqual(a);
  expect(again.history.map((h) => h.loss)).toEqual(first.history.map((h) => h.loss));
}, 240_000);

test('the host writes a readable overlay (≥ 512 px), a labelled heatmap montage and metrics.json', () => {
  const out = tmp('demo');
  const files = writeDemoOutputs(out, first);
  const overlay = PNG.sync.read(readFileSync(files.overlay));
  expect(Math.max(overlay.width, overlay.height)).toBeGreaterThanOrEqual(512);
  const montage = PNG.sync.read(readFileSync(files.heatmaps));
  expect(montage.width).toBeGreaterThanOrEqual(512);
  const doc = JSON.parse(readFileSync(files.metrics, 'utf8'));
  expect(doc.summary.mreBaseline).toBe(first.summary.mreBaseline);
  expect(Object.keys(doc.evaluation.overall.sdrPercent)).toEqual(['2 mm', '2.5 mm', '3 mm', '4 mm']);
  expect(doc.evaluation.perLandmark[36]).toMatchObject({ landmark: 37, name: first.landmarkNames[36] });
  expect(doc.baseline.mre).toBe(first.summary.mreBaseline);
  expect(doc.history).toHaveLength(2);
});

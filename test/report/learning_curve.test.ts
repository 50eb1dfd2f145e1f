/**
 * The learning curve end to end on a tiny synthetic set (nested subsets, one fixed test split, the
 * fit, the files), its resumability after a kill, and `osteo report --learning-curve` folding a
 * curve into the verdict (how many more images, or that more data will not reach the target).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { learningCurveCommandMain } from '../../src/cli/commands/experiment';
import { reportMain } from '../../src/cli/commands/report';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { prepareDataSpec } from '../../src/node/train_io';
import { runLearningCurve, type LearningCurveDoc } from '../../src/report/learning_curve';
import { imagesForTarget, powerLaw } from '../../src/report/powerlaw';
import { withDefaults } from '../../src/train/config';
import { MemoryStore } from '../../src/train/store';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, NARROW, shareEngine, tmp, WIDTHS } from '../train/helpers';

const DATA = 'synthetic:head?n=12&size=64&seed=3';
const TINY = ['--epochs', '1', '--size', '32', '--batch', '2', '--accum', '1', '--lr', '3e-3', '--init', 'scratch', ...NARROW];

beforeAll(() => shareEngine());

describe('osteo experiment learning-curve', () => {
  test('nested subsets on one fixed test split, a fit, markdown + JSON + SVG', async () => {
    const out = tmp('lc');
    const r = await learningCurveCommandMain(['learning-curve', '--data', DATA, '--fractions', '0.25,0.5,1', '--repeats', '2', '--target-mre', '30', '--annotation-minutes-per-image', '6', '--cost-per-hour', '50', ...TINY, '--out', out]);
    const d = r.doc;
    expect(d.poolImages).toBe(8); // 12 images, 30 % held out for testing
    expect(d.testImages).toBe(4);
    expect(d.bySize.map((s) => [s.n, s.runs])).toEqual([[3, 2], [4, 2], [8, 2]]);
    expect(d.rows).toHaveLength(6);
    for (const row of d.rows) {
      expect(row.testImages).toBe(4);
      expect(row.mre).toBeGreaterThan(0);
      expect(row.seed).toBe(row.repeat);
    }
    // nested: each run's checkpoint was trained on the first n of its repeat's order
    const ids = (n: number, rep: number) => {
      const m = JSON.parse(readFileSync(join(out, `n-${n}`, `rep-${rep}`, 'metrics.json'), 'utf8')) as { data: { train: number; val: number } };
      return m.data.train + m.data.val;
    };
    expect([ids(3, 1), ids(4, 1), ids(8, 1)]).toEqual([3, 4, 8]);
    expect(d.fit).not.toBeNull();
    expect(d.samples.length).toBeGreaterThan(50);
    expect(d.prediction?.target).toBe(30);
    expect(d.collection?.minutesPerImage).toBe(6);
    if (Number.isFinite(d.collection!.moreImages)) expect(d.collection!.hours).toBeCloseTo((d.collection!.moreImages * 6) / 60, 6);
    expect(existsSync(r.files.plot)).toBe(true);
    const svg = readFileSync(r.files.plot, 'utf8');
    expect(svg).toContain('class="fit"');
    expect(svg).toContain('class="band"');
    expect(svg).toContain('class="target"');
    expect(svg.match(/class="run"/g)).toHaveLength(6);
    expect(readFileSync(r.files.markdown, 'utf8')).toMatch(/\| 8 \| 2 \|/);
  }, 900_000);

  test('a killed study continues: finished runs are kept, not trained again', async () => {
    const engine = await nodeEngine();
    const store = new MemoryStore();
    const base = (() => {
      const { data: _d, init: _i, out: _o, seed: _s, split: _sp, ...b } = withDefaults({ data: DATA, init: 'scratch', size: 32, epochs: 1, batch: 2, accum: 1, lr: 3e-3, widths: WIDTHS, decoder: DECODER });
      return b;
    })();
    const logs: string[] = [];
    const controller = new AbortController();
    const opts = {
      data: DATA, fractions: [0.25, 0.5, 1], repeats: 1, init: { kind: 'scratch' as const }, initName: 'scratch', base, budget: 'epochs' as const, testSplit: 0.3, splitSeed: 0,
      minutesPerImage: 5, store, prepare: (spec: string, o: { size: number; strict: boolean }) => prepareDataSpec(spec, o), log: (l: string) => logs.push(l),
    };
    // Kill the study when the third run (n 8) starts.
    await expect(runLearningCurve(engine, { ...opts, signal: controller.signal, onRunProgress: (tag) => { if (tag.startsWith('n 8')) controller.abort(new Error('killed')); } })).rejects.toThrow(/killed/);
    expect(await store.exists('n-3/rep-1/test.json')).toBe(true);
    expect(await store.exists('n-4/rep-1/test.json')).toBe(true);
    expect(await store.exists('n-8/rep-1/done.json')).toBe(false);
    logs.length = 0;
    const r = await runLearningCurve(engine, opts);
    expect(logs.filter((l) => l.includes('reusing finished run'))).toHaveLength(2);
    expect(r.doc.rows.map((x) => x.n)).toEqual([3, 4, 8]);
  }, 600_000);
});

describe('osteo report --learning-curve', () => {
  /** A curve with a known law (a = 40, b = 0.6, c = 1.2 mm) measured up to 100 images. */
  function knownCurve(dir: string): string {
    const law = { a: 40, b: 0.6, c: 1.2 };
    const samples: [number, number, number][] = Array.from({ length: 200 }, (_, i) => [law.a * (0.9 + (0.2 * i) / 199), law.b, law.c]);
    const rows = [10, 25, 50, 100].map((n) => ({ fraction: n / 100, n, repeat: 1, seed: 1, testImages: 20, mre: powerLaw(law, n), std: 1, median: 1, sdr: {}, epochs: 1, bestEpoch: 1, seconds: 1, checkpoint: '' }));
    const doc: Partial<LearningCurveDoc> = {
      kind: 'osteo-learning-curve', title: 'known', data: 'synthetic', unit: 'mm', poolImages: 100, testImages: 20, rows, bySize: rows.map((r) => ({ n: r.n, runs: 1, mre: r.mre, sd: 0 })),
      fit: { ...law, rmse: 0, points: 4, method: 'repeats', reps: 200, seed: 1 }, samples, target: 2, prediction: null, collection: null, minutesPerImage: 6, costPerHour: 40, notes: [], settings: {},
    };
    const file = join(dir, 'learning-curve.json');
    writeFileSync(file, JSON.stringify(doc));
    return file;
  }

  test('clinical threshold missed: the verdict says how many more images to annotate, in hours and cost; below the asymptote it says data will not help', async () => {
    const out = tmp('report-lc');
    const train = tmp('report-lc-train');
    await trainMain(['--data', 'synthetic:hand?n=6&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--epochs', '1', ...NARROW, '--out', train], { quiet: true });
    const lc = knownCurve(out);
    const args = ['--model', join(train, CHECKPOINT_BEST), '--data', 'synthetic:hand?n=4&size=64&seed=5', '--learning-curve', lc, '--no-timing', '--worst', '1', '--out', out];
    const r = await reportMain([...args, '--thresholds', 'mre<=1.8mm']);
    const need = Math.ceil(imagesForTarget({ a: 40, b: 0.6, c: 1.2 }, 1.8));
    expect(r.doc.verdict.decision).toBe('collect-data');
    expect(r.doc.learningCurve!.collection!.moreImages).toBe(need - 100);
    expect(r.doc.verdict.sentence).toContain(`collect about ${(need - 100).toLocaleString('en')} more annotated images`);
    expect(r.doc.verdict.sentence).toMatch(/h of annotation at 6 min per image, cost about \d+/);
    expect(r.html).toContain('id="chart-learning-curve"');
    const below = await reportMain([...args, '--thresholds', 'mre<=1.0mm']);
    expect(below.doc.verdict.decision).toBe('data-will-not-help');
    expect(below.doc.verdict.sentence).toMatch(/levels off at 1\.20 mm/);
  }, 600_000);
});

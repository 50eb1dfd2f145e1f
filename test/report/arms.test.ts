/**
 * Learning curves of several initialisations on one set (`--init A,B,C`): one curve per arm, the
 * comparison (arms.{json,md,svg}) with where the arms cross and the images each needs to reach the
 * annotators' level + 50 %, and an ImageNet arm that cannot run here listed with why.
 */
import { existsSync, readFileSync, } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { learningCurveCommandMain } from '../../src/cli/commands/experiment';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { armsMarkdown, armsSvg, crossings, type ArmCurve, type ArmsDoc } from '../../src/report/arms';
import { NARROW, shareEngine, tmp } from '../train/helpers';

beforeAll(() => shareEngine());

const curve = (name: string, points: [number, number][]): ArmCurve => ({
  name, init: name, status: 'run',
  curve: { bySize: points.map(([n, mre]) => ({ n, runs: 2, mre, sd: 1 })), rows: [], fit: null, samples: [], prediction: null, collection: null },
});

describe('learning curves per arm', () => {
  test('crossings: where one arm overtakes another, or which is better throughout', () => {
    const a = curve('from ISBI', [[5, 20], [10, 18], [20, 17], [40, 16]]);
    const s = curve('scratch', [[5, 60], [10, 30], [20, 15], [40, 12]]);
    const w = curve('worse', [[5, 70], [10, 50], [20, 40], [40, 30]]);
    const c = crossings([a, s, w], 'px');
    expect(c[0]).toBe('from ISBI vs scratch: the curves cross between 10 and 20 images (from ISBI better before, scratch better after).');
    expect(c[1]).toMatch(/^from ISBI vs worse: from ISBI is better at every measured size \(by 50.000 px at 5 images, 14.000 px at 40\)\.$/);
    const doc: ArmsDoc = {
      kind: 'osteo-learning-curve-arms', title: 't', data: 'd', unit: 'px', poolImages: 40, testImages: 10, describeSplit: 's',
      annotators: { annotators: ['a', 'b'], images: 9, mean: 11.8, median: 9, p90: 20, perLandmark: [], unit: 'px' },
      target: 17.7, targetWhy: "1.5 × the annotators' mean disagreement", budget: 'b',
      arms: [a, s, { name: 'imagenet', init: 'imagenet', status: 'not run', reason: 'needs a GPU' }], crossings: c, notes: [],
    };
    const md = armsMarkdown(doc);
    expect(md).toMatch(/\| 20 \| 17.000 ± 1.000 \(2\) \| 15.000 ± 1.000 \(2\) \|/);
    expect(md).toMatch(/\*\*imagenet\*\* \(init imagenet\): not run — needs a GPU/);
    expect(md).toMatch(/differ by 11\.800 px/);
    const svg = armsSvg(doc);
    expect(svg.match(/class="arm-mean"/g)).toHaveLength(8);
    expect(svg).toContain('not run: imagenet');
  });

  test('--init CKPT,scratch,imagenet on synthetic data: two curves, the ImageNet arm not run with why', async () => {
    const data = 'synthetic:head?n=10&size=64&seed=5';
    const base = ['--size', '32', '--batch', '2', '--accum', '1', '--lr', '3e-3', ...NARROW];
    const pre = tmp('arms-pre');
    await trainMain(['--data', 'synthetic:head?n=6&size=64&seed=9', '--init', 'scratch', '--epochs', '1', ...base, '--out', pre], { quiet: true });
    const ckpt = join(pre, CHECKPOINT_BEST);
    const out = tmp('arms');
    const r = await learningCurveCommandMain(['learning-curve', '--data', data, '--init', `${ckpt},scratch,imagenet`, '--sizes', '3,5', '--repeats', '1', '--epochs', '1', '--target-mre', '40', ...base, '--out', out]);
    expect(r.doc.init).toBe('scratch');
    const doc = JSON.parse(readFileSync(join(out, 'arms.json'), 'utf8')) as ArmsDoc;
    expect(doc.arms.map((a) => [a.name, a.status])).toEqual([['from checkpoint-best', 'run'], ['scratch', 'run'], ['imagenet', 'not run']]);
    expect(doc.arms[2]!.reason).toMatch(/ImageNet|imagenet/);
    for (const a of doc.arms.slice(0, 2)) expect(a.curve!.bySize.map((s) => s.n)).toEqual([3, 5]);
    expect(existsSync(join(out, 'from-checkpoint-best', 'learning-curve.json'))).toBe(true);
    expect(existsSync(join(out, 'scratch', 'n-5', 'rep-1', 'metrics.json'))).toBe(true);
    expect(readFileSync(join(out, 'arms.md'), 'utf8')).toMatch(/not run/);
    expect(doc.crossings).toHaveLength(1);
    // the checkpoint arm started from the checkpoint, the scratch arm did not
    const m = (arm: string) => JSON.parse(readFileSync(join(out, arm, 'n-3', 'rep-1', 'metrics.json'), 'utf8')) as { initKind: string };
    expect(m('from-checkpoint-best').initKind).toBe('checkpoint');
    expect(m('scratch').initKind).toBe('scratch');
  }, 900_000);
});

/**
 * The three commands on the real samples in ../shared/data (skipped with a reason where absent):
 * tiny models trained on synthetic X-rays with the same landmark count (hand 37, chest 6, head
 * 19), then `osteo report` on the Digital Hand Atlas, the Shenzhen chest set (errors in px) and
 * ISBI 2015 (a --range slice), `osteo eval --reference` across two real sets, and
 * `osteo experiment learning-curve` on the hand samples. Small and slow-tolerant: no timing asserts.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect } from 'vitest';
import { evalMain } from '../../src/cli/commands/eval';
import { learningCurveCommandMain } from '../../src/cli/commands/experiment';
import { reportMain } from '../../src/cli/commands/report';
import { trainMain } from '../../src/cli/commands/train';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { itShared, SHARED_DATA } from '../helpers/shared_data';
import { NARROW, shareEngine, tmp } from '../train/helpers';

const HAND = `hand:${join(SHARED_DATA, 'hand-dha')}`;
const CHEST = `chest:${join(SHARED_DATA, 'shenzhen-chest')}`;
const ISBI = `isbi2015:${join(SHARED_DATA, 'isbi2015-ceph-train')}`;
const TINY = ['--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--epochs', '1', ...NARROW];

beforeAll(() => shareEngine());

async function tinyModel(kind: 'hand' | 'chest' | 'head'): Promise<string> {
  const out = tmp(`real-${kind}`);
  await trainMain(['--data', `synthetic:${kind}?n=4&size=64`, ...TINY, '--out', out], { quiet: true });
  return join(out, CHECKPOINT_BEST);
}

describe('real samples', () => {
  itShared('osteo report on the hand atlas samples (mm from spacing.csv) and on the chest samples (px thresholds)', async () => {
    const hand = await reportMain(['--model', await tinyModel('hand'), '--data', HAND, '--timing-runs', '2', '--max-batch', '2', '--worst', '1', '--out', tmp('real-hand')]);
    expect(hand.doc.clinical.images).toBe(5);
    expect(hand.doc.clinical.unit).toBe('mm');
    expect(hand.doc.operational!.latency.runs).toBe(2);
    expect(hand.doc.operational!.first.decodeMs).toBeGreaterThan(0);
    expect(hand.doc.verdict.sentence.length).toBeGreaterThan(20);
    const chest = await reportMain(['--model', await tinyModel('chest'), '--data', CHEST, '--thresholds', 'mre<=10px,sdr4>=50%', '--no-timing', '--worst', '1', '--out', tmp('real-chest')]);
    expect(chest.doc.clinical.unit).toBe('px');
    expect(chest.doc.clinical.images).toBe(6);
    expect(chest.doc.thresholds.map((t) => t.status)).not.toContain('not assessable');
    expect(chest.doc.clinical.perLandmark.map((l) => l.name)).toHaveLength(6);
  }, 600_000);

  itShared('osteo report on an ISBI 2015 slice: only the slice is decoded, the images before it give the baseline', async () => {
    const r = await reportMain(['--model', await tinyModel('head'), '--data', ISBI, '--limit', '5', '--range', '4:5', '--timing-runs', '1', '--max-batch', '1', '--worst', '1', '--out', tmp('real-isbi')]);
    expect(r.doc.clinical.perImage.map((p) => p.id)).toEqual(['004', '005']);
    expect(r.doc.clinical.unit).toBe('mm');
    expect(r.doc.clinical.baseline.describe).toBe('mean of the 3 annotated images outside --range 4:5');
    expect(r.doc.clinical.perLandmark[0]!.name).not.toMatch(/^landmark/);
  }, 600_000);

  itShared('osteo eval --reference across two real sets, and osteo experiment learning-curve on the hand samples', async () => {
    const model = await tinyModel('hand');
    const ev = await evalMain(['--model', model, '--data', HAND, '--limit', '3', '--reference', 'synthetic:hand?n=4&size=64&seed=2']);
    expect(ev.shift!.images).toBe(3);
    expect(ev.shift!.signals.intensity.permutations).toBeGreaterThan(0);
    const lc = await learningCurveCommandMain(['learning-curve', '--data', HAND, '--fractions', '0.5,1', '--repeats', '1', '--test-split', '0.4', ...TINY, '--out', tmp('real-lc')]);
    expect(lc.doc.testImages).toBe(2);
    expect(lc.doc.rows.length).toBeGreaterThan(0);
    expect(lc.doc.fit).toBeNull();
    expect(lc.doc.notes.join(' ')).toMatch(/No fit: runs at 1 training-set size/);
  }, 600_000);
});

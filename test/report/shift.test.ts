/**
 * Site shift: a synthetic "other site" (contrast, gamma, noise and scale changed) gives a larger
 * annotation-free shift signal than a held-out split of the same site, and `osteo eval` /
 * `osteo report` with --reference report the same metrics on both sets, their difference with a
 * bootstrap interval, and the signals; the report's verdict then points at the shift.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { evalMain } from '../../src/cli/commands/eval';
import { reportMain } from '../../src/cli/commands/report';
import { trainMain } from '../../src/cli/commands/train';
import { synthesize } from '../../src/data/synthetic';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { writeGreyPng } from '../../src/node/data_png';
import { noiseSigma, shiftSignals, simulateSite } from '../../src/report/shift';
import { NARROW, shareEngine, tmp } from '../train/helpers';

beforeAll(() => shareEngine());

/**
 * Synthetic hands 8–15 of seed 21 "from another site", as a generic labels.csv with PNGs (mm per pixel follows the
 * zoom).
 */
function otherSite(dir: string): string {
  const s = synthesize({ kind: 'hand', n: 16, size: 64, seed: 21 });
  const zoom = 0.9; // zoomed out: every landmark stays inside the image
  const moved = simulateSite(s.images.slice(8), s.points.slice(8) as [number, number][][], { scale: zoom });
  mkdirSync(join(dir, 'img'), { recursive: true });
  const rows = moved.images.map((img, i) => {
    writeGreyPng(join(dir, 'img', `${i}.png`), img);
    return [`img/${i}.png`, ...moved.points[i]!.flat().map((v) => v.toFixed(2)), (s.mmPerPixel[8 + i]! / zoom).toFixed(5)].join(',');
  });
  const head = ['image', ...s.points[0]!.flatMap((_, k) => [`x${k + 1}`, `y${k + 1}`]), 'mm_per_pixel'].join(',');
  writeFileSync(join(dir, 'labels.csv'), `${head}\n${rows.join('\n')}\n`);
  return `generic:${join(dir, 'labels.csv')}`;
}

describe('site shift', () => {
  test('another site (contrast, gamma, noise, scale) shifts the signals far more than a held-out split of the same site', () => {
    const s = synthesize({ kind: 'head', n: 24, size: 64, seed: 4 });
    const reference = s.images.slice(0, 12);
    const sameSite = s.images.slice(12);
    const other = simulateSite(sameSite, s.points.slice(12) as [number, number][][]);
    const same = shiftSignals(reference, sameSite, { permutations: 300 });
    const shifted = shiftSignals(reference, other.images, { permutations: 300 });
    expect(shifted.intensity.distance).toBeGreaterThan(3 * same.intensity.distance);
    expect(shifted.intensity.p).toBeLessThan(0.01);
    expect(same.intensity.p).toBeGreaterThan(0.01);
    expect(Math.abs(shifted.noise.value)).toBeGreaterThan(3 * Math.abs(same.noise.value));
    expect(same.shifted).toBe(false);
    expect(shifted.shifted).toBe(true);
    expect(shifted.reasons.join(' ')).toMatch(/intensity histograms differ/);
    // the points move with the zoom
    const [cx] = [(64 - 1) / 2];
    expect(other.points[0]![0]![0] - cx).toBeCloseTo((s.points[12]![0]![0] - cx) * 1.15, 6);
  });

  test('the noise estimate grows with added noise', () => {
    const s = synthesize({ kind: 'chest', n: 2, size: 64, seed: 2 });
    const noisy = simulateSite(s.images, s.points as [number, number][][], { contrast: 1, gamma: 1, scale: 1, noise: 0.1 });
    expect(noiseSigma(noisy.images[0]!)).toBeGreaterThan(2 * noiseSigma(s.images[0]!));
  });

  test('osteo eval and osteo report with --reference: both sets, the difference with an interval, the shift signals, and a verdict that names the shift', async () => {
    const train = tmp('shift-train');
    await trainMain(['--data', 'synthetic:hand?n=8&size=64&seed=21', '--init', 'scratch', '--size', '32', '--batch', '2', '--accum', '1', '--epochs', '1', ...NARROW, '--out', train], { quiet: true });
    const model = join(train, CHECKPOINT_BEST);
    const site = otherSite(tmp('shift-site'));
    const reference = 'synthetic:hand?n=8&size=64&seed=33';
    const ev = await evalMain(['--model', model, '--data', site, '--reference', reference]);
    expect(ev.baseline.overall.mre).toBeGreaterThan(0);
    const s = ev.shift!;
    expect(s.images).toBe(8);
    expect(s.referenceImages).toBe(8);
    expect(s.unit).toBe('mm');
    expect(s.referenceUnit).toBe('mm');
    const md = s.mreDifference!;
    expect(md.value).toBeCloseTo(s.targetOverall.mre - s.referenceOverall.mre, 2);
    expect(md.lo).toBeLessThanOrEqual(md.value);
    expect(md.hi).toBeGreaterThanOrEqual(md.value);
    expect(s.signals.confidence).toBeDefined();
    expect(s.signals.shifted).toBe(true);

    const r = await reportMain(['--model', model, '--data', site, '--reference', reference, '--thresholds', 'mre<=0.01mm', '--no-timing', '--out', tmp('shift-report')]);
    expect(r.doc.verdict.decision).toBe('site-shift');
    // the same files through report and eval: the same working copies, so the same errors and signals
    expect(r.doc.clinical.overall.mre).toBeCloseTo(s.targetOverall.mre, 9);
    expect(r.doc.shift!.signals.intensity.distance).toBeCloseTo(s.signals.intensity.distance, 9);
    expect(r.doc.verdict.sentence).toMatch(/the data looks shifted from the training site \(intensity histograms differ/);
    expect(r.doc.shift!.signals.intensity.distance).toBeGreaterThan(0);
    expect(r.markdown).toMatch(/## Site shift: this data vs synthetic:hand/);
    expect(r.html).toContain('id="chart-histograms"');
  }, 600_000);
});

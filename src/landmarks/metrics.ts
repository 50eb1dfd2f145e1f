/**
 * Landmark metrics (browser-safe): radial error per landmark, MRE ± std (population std, ddof 0,
 * as numpy's default), median, and SDR (successful detection rate, % of errors ≤ threshold) at
 * 2, 2.5, 3, 4 mm — in pixels when any image has no spacing. Per landmark and overall (over all
 * image × landmark errors, the usual ISBI 2015 convention).
 */
import type { Point } from '../data/types';
import { median } from '../util/stats';

export const SDR_THRESHOLDS = [2, 2.5, 3, 4];

export interface ErrorStats {
  n: number;
  mre: number;
  std: number;
  median: number;
  max: number;
  /** SDR in percent, keyed by the threshold as written (e.g. '2.5'). */
  sdr: Record<string, number>;
}

/** Radial errors per image and landmark, with MRE / SDR overall and per landmark. */
export interface Evaluation {
  unit: 'mm' | 'px';
  thresholds: number[];
  overall: ErrorStats;
  perLandmark: ErrorStats[];
  /** errors[i][k]: image i, landmark k, in `unit`. */
  errors: number[][];
}

export function radialErrors(pred: Point[], gt: Point[], mmPerPixel?: number): number[] {
  if (pred.length !== gt.length) throw new RangeError(`radialErrors: ${pred.length} predicted vs ${gt.length} true points`);
  const s = mmPerPixel ?? 1;
  return pred.map((p, i) => s * Math.hypot(p[0] - gt[i]![0], p[1] - gt[i]![1]));
}

export function errorStats(errors: number[], thresholds: number[] = SDR_THRESHOLDS): ErrorStats {
  const n = errors.length;
  const sdr: Record<string, number> = {};
  if (n === 0) {
    for (const t of thresholds) sdr[String(t)] = NaN;
    return { n, mre: NaN, std: NaN, median: NaN, max: NaN, sdr };
  }
  let sum = 0;
  for (const e of errors) sum += e;
  const mre = sum / n;
  let ss = 0;
  for (const e of errors) ss += (e - mre) * (e - mre);
  const sorted = errors.slice().sort((a, b) => a - b);
  for (const t of thresholds) sdr[String(t)] = (100 * errors.filter((e) => e <= t).length) / n;
  return { n, mre, std: Math.sqrt(ss / n), median: median(sorted), max: sorted[n - 1]!, sdr };
}

/**
 * Evaluates predictions against ground truth (both in original pixels). `mmPerPixel` is one
 * number for all images or one per image; the unit is mm only if every image has a spacing
 * (force 'px' with unit).
 */
export function evaluate(preds: Point[][], gts: Point[][], mmPerPixel?: number | (number | undefined)[], opts: { thresholds?: number[]; unit?: 'auto' | 'px' } = {}): Evaluation {
  if (preds.length !== gts.length) throw new RangeError(`evaluate: ${preds.length} predictions vs ${gts.length} ground truths`);
  const thresholds = opts.thresholds ?? SDR_THRESHOLDS;
  const spacing = (i: number): number | undefined => (typeof mmPerPixel === 'number' ? mmPerPixel : mmPerPixel?.[i]);
  const mm = opts.unit !== 'px' && preds.length > 0 && preds.every((_, i) => spacing(i) !== undefined);
  const errors = preds.map((p, i) => radialErrors(p, gts[i]!, mm ? spacing(i) : undefined));
  const k = gts[0]?.length ?? 0;
  const perLandmark: ErrorStats[] = [];
  for (let j = 0; j < k; j++) perLandmark.push(errorStats(errors.map((e) => e[j]!), thresholds));
  return { unit: mm ? 'mm' : 'px', thresholds, overall: errorStats(errors.flat(), thresholds), perLandmark, errors };
}

/** A plain-text table: overall and per landmark MRE ± std and SDRs. */
export function formatEvaluation(ev: Evaluation, names?: string[]): string {
  const head = ['landmark', `MRE (${ev.unit})`, 'std', ...ev.thresholds.map((t) => `SDR ${t}${ev.unit}`)];
  const row = (name: string, s: ErrorStats) => [name, s.mre.toFixed(3), s.std.toFixed(3), ...ev.thresholds.map((t) => `${s.sdr[String(t)]!.toFixed(1)}%`)];
  const rows = [head, row('all', ev.overall), ...ev.perLandmark.map((s, i) => row(names?.[i] ?? String(i + 1), s))];
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => v.padStart(widths[c]!)).join('  ')).join('\n');
}

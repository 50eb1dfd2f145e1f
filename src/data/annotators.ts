/**
 * Several annotators' points for one image set (browser-safe): the truth as their mean (or one
 * annotator's), and their own disagreement — the floor below which no model can be measured,
 * since the truth itself is uncertain by about that much.
 */
import { makeRng } from '../nn/random';
import { lines, num } from './datasets';
import type { Point } from './types';

/** Leading `x,y` (or `x y`) lines of a points file; the first line that is not a pair ends them. */
export function parseXyLines(text: string, file: string): Point[] {
  const pts: Point[] = [];
  for (const { row, text: t } of lines(text)) {
    const v = t.split(/[,\s]+/).filter((s) => s !== '');
    if (v.length !== 2 || !/^[+-]?[\d.]/.test(v[0]!)) break;
    pts.push([num(v[0], file, row, `x of landmark ${pts.length + 1}`), num(v[1], file, row, `y of landmark ${pts.length + 1}`)]);
  }
  return pts;
}

/** Mean of any number of annotations of the same K points. */
export function meanOf(annotations: Point[][]): Point[] {
  const n = annotations.length;
  if (n === 0) throw new RangeError('meanOf: no annotations');
  const k = annotations[0]!.length;
  return Array.from({ length: k }, (_, i) => {
    let x = 0, y = 0;
    for (const a of annotations) { x += a[i]![0]; y += a[i]![1]; }
    return [x / n, y / n] as Point;
  });
}

/** How far two annotators are apart, over the images both marked. */
export interface AnnotatorAgreement {
  /** The annotators compared (the first two with files, in name order). */
  annotators: [string, string];
  /** Images both marked. */
  images: number;
  /** Mean / median / 90th percentile distance between their points, in `unit`. */
  mean: number;
  median: number;
  p90: number;
  /** Mean distance per landmark. */
  perLandmark: number[];
  unit: 'mm' | 'px';
}

/**
 * The distance between annotator a's and b's points over the images both marked (ids in both
 * maps). mmPerPixel: per id, when known (then the unit is mm for all, else px).
 */
export function annotatorAgreement(
  names: [string, string], a: Map<string, Point[]>, b: Map<string, Point[]>, mmPerPixel?: (id: string) => number | undefined,
): AnnotatorAgreement | undefined {
  const ids = [...a.keys()].filter((id) => b.has(id)).sort();
  if (ids.length === 0) return undefined;
  const k = a.get(ids[0]!)!.length;
  const all: number[] = [];
  const per = new Array<number>(k).fill(0);
  const mmAll = mmPerPixel !== undefined && ids.every((id) => mmPerPixel(id) !== undefined);
  for (const id of ids) {
    const pa = a.get(id)!, pb = b.get(id)!;
    const s = mmAll ? mmPerPixel!(id)! : 1;
    for (let i = 0; i < k; i++) {
      const d = Math.hypot(pa[i]![0] - pb[i]![0], pa[i]![1] - pb[i]![1]) * s;
      all.push(d);
      per[i]! += d / ids.length;
    }
  }
  const sorted = all.slice().sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))]!;
  return {
    annotators: names, images: ids.length, mean: all.reduce((s, d) => s + d, 0) / all.length,
    median: q(0.5), p90: q(0.9), perLandmark: per, unit: mmAll ? 'mm' : 'px',
  };
}

/**
 * A fixed, seeded train / test split of ids: `test` images (a count, or a fraction of the ids when
 * below 1) drawn at random by `seed`; the rest train. Both lists sorted. The same ids, test and
 * seed always give the same split, so a study's test images stay out of every run.
 */
export function fixedTestSplit(ids: readonly string[], test: number, seed: number): { train: string[]; test: string[] } {
  const n = ids.length;
  const nt = test < 1 ? Math.round(n * test) : Math.round(test);
  if (!(nt >= 1 && nt < n)) throw new RangeError(`test=${test}: needs 1 to ${n - 1} test images of ${n}`);
  const rng = makeRng(seed * 31 + 7);
  const a = ids.slice().sort();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return { test: a.slice(0, nt).sort(), train: a.slice(nt).sort() };
}

/**
 * Training data in memory (browser-safe): every image is decoded once and pre-resized to a
 * working copy a little larger than the model input (aspect kept), so epochs never decode or
 * shrink the full-size X-rays again; augmentation then resamples the small copy. Each copy keeps
 * the affine map back to its original's pixels, so errors are still measured on the original
 * (and in mm with the original spacing).
 */
import type { GreyImage, Point } from '../data/types';
import { mapPoints, preprocess, type Affine } from '../landmarks/preprocess';
import { permutation } from '../nn/random';
import type { LandmarkSet } from './trainer';

/** Working copies are at most CACHE_FACTOR × the model size on their longer side. */
export const CACHE_FACTOR = 1.5;

export interface CachedImage {
  image: GreyImage;
  points: Point[];
  /** Cached pixels → original pixels (undefined: the image was kept as it was). */
  toOriginal: Affine | undefined;
}

/**
 * A working copy of `image` whose longer side is at most `factor · size` (min-max scaled to
 * [0, 1]; the preprocessing min-max is idempotent on it), with `points` mapped into it.
 */
export function cacheImage(image: GreyImage, points: Point[], size: number, factor = CACHE_FACTOR): CachedImage {
  const longer = Math.max(image.width, image.height);
  const target = Math.ceil(factor * size);
  if (longer <= target) return { image, points, toOriginal: undefined };
  const s = target / longer;
  const w = Math.max(1, Math.round(image.width * s));
  const h = Math.max(1, Math.round(image.height * s));
  const smp = preprocess(image, points, { size: [w, h], fit: 'stretch', heatmaps: false });
  return { image: { width: w, height: h, data: smp.input, bitDepth: image.bitDepth }, points: smp.points, toOriginal: smp.toOriginal };
}

export interface SetItem {
  id: string;
  image: GreyImage;
  points: Point[];
  mmPerPixel?: number | undefined;
}

/** Cached copies of `items` as a LandmarkSet for the trainer. */
export function buildSet(items: SetItem[], size: number, factor = CACHE_FACTOR): LandmarkSet {
  const set: Required<LandmarkSet> = { images: [], points: [], mmPerPixel: [], toOriginal: [], ids: [] };
  for (const it of items) {
    const c = cacheImage(it.image, it.points, size, factor);
    set.images.push(c.image);
    set.points.push(c.points);
    set.mmPerPixel.push(it.mmPerPixel);
    set.toOriginal.push(c.toOriginal);
    set.ids.push(it.id);
  }
  return set;
}

/** The items at `idx` (same image objects, no copies). */
export function subset(set: LandmarkSet, idx: readonly number[]): LandmarkSet {
  const out: LandmarkSet = {
    images: idx.map((i) => set.images[i]!),
    points: idx.map((i) => set.points[i]!),
    mmPerPixel: idx.map((i) => set.mmPerPixel[i]),
  };
  if (set.toOriginal) out.toOriginal = idx.map((i) => set.toOriginal![i]);
  if (set.ids) out.ids = idx.map((i) => set.ids![i]!);
  return out;
}

/** Points of item i in its original image's pixels. */
export function originalPoints(set: LandmarkSet, i: number): Point[] {
  const m = set.toOriginal?.[i];
  return m ? mapPoints(m, set.points[i]!) : set.points[i]!;
}

/**
 * Seeded train / validation split of n items: round(n · fraction) validation items (at least one
 * when fraction > 0 and n ≥ 2, and at least one training item always). Sorted index lists.
 */
export function splitTrainVal(n: number, fraction: number, seed: number): { train: number[]; val: number[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${fraction}`);
  let nv = Math.round(n * fraction);
  if (fraction > 0 && n >= 2) nv = Math.max(1, nv);
  nv = Math.min(nv, n - 1);
  const p = permutation(n, seed * 7 + 3);
  const val = p.slice(0, Math.max(0, nv)).sort((a, b) => a - b);
  const train = p.slice(Math.max(0, nv)).sort((a, b) => a - b);
  return { train, val };
}

/**
 * splitTrainVal over items grouped by the part of a combined set they come from (the id prefix
 * before '/'): each part is split on its own with the same fraction and seed, so a part's
 * validation images are those it would have alone. Without parts it is splitTrainVal.
 */
export function splitTrainValBySource(ids: readonly string[], fraction: number, seed: number, sources?: readonly string[]): { train: number[]; val: number[] } {
  if (!sources || sources.length < 2) return splitTrainVal(ids.length, fraction, seed);
  const groups = new Map<string, number[]>();
  ids.forEach((id, i) => {
    const s = id.slice(0, Math.max(0, id.indexOf('/')));
    const g = groups.get(s);
    if (g) g.push(i); else groups.set(s, [i]);
  });
  const train: number[] = [], val: number[] = [];
  for (const idx of groups.values()) {
    const s = idx.length >= 2 ? splitTrainVal(idx.length, fraction, seed) : { train: [0], val: [] };
    train.push(...s.train.map((j) => idx[j]!));
    val.push(...s.val.map((j) => idx[j]!));
  }
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/** k folds of 0..n-1 (seeded): fold f's test indices; the rest train. */
export function kFolds(n: number, k: number, seed: number): { train: number[]; test: number[] }[] {
  if (!(Number.isInteger(k) && k >= 2 && k <= n)) throw new RangeError(`k-fold needs 2 ≤ k ≤ ${n} (items), got ${k}`);
  const p = permutation(n, seed * 13 + 5);
  const folds: { train: number[]; test: number[] }[] = [];
  for (let f = 0; f < k; f++) {
    const lo = Math.floor((f * n) / k), hi = Math.floor(((f + 1) * n) / k);
    const test = p.slice(lo, hi).sort((a, b) => a - b);
    const inTest = new Set(test);
    folds.push({ train: p.filter((i) => !inTest.has(i)).sort((a, b) => a - b), test });
  }
  return folds;
}

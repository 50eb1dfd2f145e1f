/**
 * prepareData (src/train/prepare.ts) with the fast Node loader: the images it will ask for are
 * sent ahead to the decode pool (src/node/decode_pool.ts), which hands back each one already at
 * the working-copy size (decoded and resized in one libvips pass, or read from the disk cache).
 *
 * prepareData keeps an image that is already small as it is (src/train/data.ts cacheImage), so
 * such a working copy passes through unchanged; its points and its map back to the original
 * pixels are then set here, exactly as cacheImage would have set them: the 'stretch' fit of
 * src/landmarks/preprocess.ts from the original size to the working-copy size. Errors are still
 * measured on the original pixels (and in mm with the original spacing).
 */
import { mat3d } from 'wgpu-matrix';
import { fitTransform, mapPoints, type Affine } from '../landmarks/preprocess';
import type { GreyImage, LandmarkDataset, LandmarkItem, Point } from '../data/types';
import { CACHE_FACTOR } from '../train/data';
import { carriedImage, prepareData, type PrepareOptions, type PreparedData } from '../train/prepare';
import { readImage } from './data_image';
import { decodeCacheDir, pruneDecodeCache } from './decode_cache';
import { DecodePool, decodeWorkerCount } from './decode_pool';

export interface FastLoadOptions {
  /**
   * Decode workers (default OSTEO_DECODE_WORKERS, else one per core); 0 decodes on this thread with the JS decoders.
   */
  workers?: number;
  /** Cache folder, or null for none (default decodeCacheDir()). */
  cacheDir?: string | null;
}

/** What a load did, for the log line and the benchmark. */
export interface FastLoadStats {
  workers: number;
  /** Working copies made by the workers / read from the cache / decoded by the JS decoders. */
  decoded: number;
  cached: number;
  fallback: number;
  fallbackReasons: Record<string, number>;
  /** Of the fallbacks: decoded here, resized to the working copy in a worker. */
  resizedOnly: number;
}

/** Job ids of resize-only jobs, apart from the decode jobs' (0..n-1). */
const RESIZE_IDS = 1 << 30;

/** prepareData over `ds` with the worker pool and the disk cache (same result shape, same errors). */
export function prepareDataFast(spec: string, ds: LandmarkDataset, opts: PrepareOptions, fast: FastLoadOptions = {}): PreparedData & { loadStats: FastLoadStats } {
  const workers = fast.workers ?? decodeWorkerCount();
  const stats: FastLoadStats = { workers, decoded: 0, cached: 0, fallback: 0, fallbackReasons: {}, resizedOnly: 0 };
  const fileLoader = (it: LandmarkItem): GreyImage => (it.image ? carriedImage(it) : readImage(it.imagePath));
  // the items prepareData will ask for, in its order (the split filter is its own)
  const keep = opts.split && ds.splits?.[opts.split] ? new Set(ds.splits[opts.split]) : undefined;
  const order = ds.items.filter((it) => !it.image && (!keep || keep.has(it.id)));
  if (workers === 0 || order.length === 0) {
    stats.fallback = order.length;
    return Object.assign(prepareData(spec, ds, opts, fileLoader), { loadStats: stats });
  }
  const target = Math.ceil(CACHE_FACTOR * opts.size);
  const cacheDir = fast.cacheDir === null ? undefined : fast.cacheDir ?? decodeCacheDir();
  const pool = new DecodePool(workers, target, cacheDir);
  const index = new Map<LandmarkItem, number>(order.map((it, i) => [it, i]));
  const window = Math.max(4, 4 * workers);
  let submitted = 0, next = 0;
  const fixes = new Map<string, { points: Point[]; toOriginal: Affine }>();
  const load = (it: LandmarkItem): GreyImage => {
    const i = index.get(it);
    if (i === undefined) return fileLoader(it);
    for (; next < i; next++) pool.discard(next); // asked past: those were left out
    next = i + 1;
    while (submitted < Math.min(order.length, i + 1 + window)) { pool.submit(submitted, order[submitted]!.imagePath); submitted++; }
    const r = pool.take(i);
    const fallback = (why: string): GreyImage => {
      stats.fallback++;
      const key = why.replace(/:.*$/, '').slice(0, 60);
      stats.fallbackReasons[key] = (stats.fallbackReasons[key] ?? 0) + 1;
      return fileLoader(it);
    };
    if ('fallback' in r) {
      const img = fallback(r.fallback);
      // decoded here (DICOM, TIFF, MetaImage, BMP): the resize still goes to a worker (libvips)
      if (r.fallback !== 'not a JPEG or PNG' || Math.max(img.width, img.height) <= target) return img;
      const small = pool.resizeSync(RESIZE_IDS + i, img);
      if ('fallback' in small) return img;
      stats.resizedOnly++;
      const fit = fitTransform(small.srcWidth, small.srcHeight, small.width, small.height, 'stretch');
      fixes.set(it.id, { points: mapPoints(fit, it.points), toOriginal: mat3d.inverse(fit) as Affine });
      return { width: small.width, height: small.height, data: small.data, bitDepth: img.bitDepth };
    }
    // the header the reader checked the points against must be the file the worker decoded
    if ((it.width !== undefined && it.width !== r.srcWidth) || (it.height !== undefined && it.height !== r.srcHeight)) return fallback('size differs from the header');
    if (r.cached) stats.cached++; else stats.decoded++;
    const fit = fitTransform(r.srcWidth, r.srcHeight, r.width, r.height, 'stretch');
    fixes.set(it.id, { points: mapPoints(fit, it.points), toOriginal: mat3d.inverse(fit) as Affine });
    return { width: r.width, height: r.height, data: r.data, bitDepth: 8 };
  };
  let data: PreparedData;
  try {
    data = prepareData(spec, ds, opts, load);
  } finally {
    pool.close();
    if (cacheDir) pruneDecodeCache(cacheDir);
  }
  const set = data.set;
  set.toOriginal ??= set.images.map(() => undefined);
  set.ids.forEach((id, i) => {
    const f = fixes.get(id);
    if (f) { set.points[i] = f.points; set.toOriginal![i] = f.toOriginal; }
  });
  return Object.assign(data, { loadStats: stats });
}

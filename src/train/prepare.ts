/**
 * Training and evaluation data in memory (host-neutral): a LandmarkDataset whose images are
 * decoded once (by the host's loader, or carried in memory by the items) and kept as pre-resized
 * working copies (src/train/data.ts). A bad item (undecodable image, wrong landmark count) is
 * reported and skipped, or thrown with `strict`.
 */
import { greyImage, type GreyPixels } from '../data/pixels';
import { DataError, type GreyImage, type LandmarkDataset, type LandmarkItem, type Point } from '../data/types';
import { ConfigError } from './config';
import { buildSet, subset, type SetItem } from './data';
import type { LandmarkSet } from './trainer';

/** A data set decoded and resized for one model input size. */
export interface PreparedData {
  /** The data spec or name it came from. */
  spec: string;
  name: string;
  /** Landmarks per image. */
  k: number;
  /** Unit of errors: mm when every image has a pixel spacing. */
  unit: 'mm' | 'px';
  landmarkNames?: string[];
  /** Cached working copies at `size` (see src/train/data.ts), in dataset order. */
  set: LandmarkSet & { ids: string[] };
  size: number;
  /** Original image paths (or names) by index, for messages and outputs. */
  paths: string[];
  splits?: Record<string, string[]>;
  /** A combined set's parts (ids are `PART/ID`): validation splits are drawn within each part. */
  sources?: string[];
  /** Where several annotators marked the images: their agreement (the floor of any measurement). */
  annotators?: LandmarkDataset['annotators'];
  /** Items left out: parse/check errors of the reader plus images that failed to decode. */
  skipped: number;
  missingImages: number;
  errors: string[];
  notes: string[];
}

/** How to prepare a data set. */
export interface PrepareOptions {
  /** Model input size. */
  size: number;
  /** Throw at the first bad item instead of skipping it. */
  strict?: boolean;
  /** Keep only this named split (e.g. ISBI 2015 'train', 'test1'). */
  split?: string;
  /** Progress and skipped items, one line each (nothing when absent). */
  log?: (line: string) => void;
}

/** An item's image: the one it carries (in-memory and synthetic sets) or a DataError. */
export const carriedImage = (item: LandmarkItem): GreyImage => {
  if (item.image) return item.image;
  throw new DataError(item.imagePath, undefined, 'no image in memory and no loader for files here');
};

/**
 * Decodes every image of `ds` once with `load` and keeps a pre-resized working copy. `spec`
 * names the data in messages.
 */
export function prepareData(spec: string, ds: LandmarkDataset, opts: PrepareOptions, load: (item: LandmarkItem) => GreyImage = carriedImage): PreparedData {
  const log = opts.log;
  const report = ds.report ?? { skipped: 0, errors: [], missingImages: 0, notes: [] };
  const errors = report.errors.map((e) => e.message);
  let skipped = report.skipped;
  let items = ds.items;
  if (opts.split) {
    const ids = ds.splits?.[opts.split];
    if (!ids) throw new ConfigError(`data ${spec} has no split '${opts.split}'${ds.splits ? ` (it has ${Object.keys(ds.splits).join(', ')})` : ' (it defines no splits)'}`);
    const keep = new Set(ids);
    items = items.filter((it) => keep.has(it.id));
  }
  const loaded: SetItem[] = [];
  const paths: string[] = [];
  const t0 = performance.now();
  let lastReport = t0;
  for (const [i, it] of items.entries()) {
    try {
      const image = load(it);
      if (it.points.length !== ds.k) throw new DataError(it.imagePath, undefined, `${it.points.length} landmarks, the data set has ${ds.k}`);
      loaded.push({ id: it.id, image, points: it.points, mmPerPixel: it.mmPerPixel });
      paths.push(it.imagePath);
    } catch (e) {
      if (!(e instanceof DataError) || opts.strict) throw e;
      skipped++;
      errors.push(e.message);
      log?.(`skipped: ${e.message}`);
    }
    if (log && performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      log(`loading images: ${i + 1}/${items.length}`);
    }
  }
  // Keep the cache small: decoded originals are dropped after resizing (loaded[] goes out of scope).
  const set = buildSet(loaded, opts.size) as LandmarkSet & { ids: string[] };
  if (log) {
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    log(`data ${spec}: ${set.images.length} images, K=${ds.k}, errors in ${ds.unit}${opts.split ? `, split ${opts.split}` : ''} (${secs}s to load)` +
      (skipped ? `; ${skipped} bad item(s) skipped` : '') + (report.missingImages ? `; ${report.missingImages} labelled row(s) without an image` : ''));
    for (const e of report.errors.slice(0, 5)) log(`  skipped: ${e.message}`);
    if (report.errors.length > 5) log(`  … and ${report.errors.length - 5} more`);
  }
  if (set.images.length === 0) throw new DataError(spec, undefined, `no usable images${skipped ? ` (${skipped} skipped: ${errors[0]})` : ''}`);
  const out: PreparedData = {
    spec, name: ds.name, k: ds.k, unit: ds.unit, set, size: opts.size, paths, skipped, missingImages: report.missingImages, errors, notes: report.notes,
  };
  if (ds.landmarkNames) out.landmarkNames = ds.landmarkNames;
  if (ds.splits) out.splits = ds.splits;
  if (ds.sources) out.sources = ds.sources;
  if (ds.annotators) out.annotators = ds.annotators;
  return out;
}

/** A prepared data set restricted to the given indices. */
export function selectData(d: PreparedData, idx: readonly number[]): PreparedData {
  return { ...d, set: subset(d.set, idx) as LandmarkSet & { ids: string[] }, paths: idx.map((i) => d.paths[i]!) };
}

/** A prepared data set restricted to the items with these ids (in data order). */
export function selectIds(d: PreparedData, ids: Iterable<string>): PreparedData {
  const want = new Set(ids);
  return selectData(d, d.set.ids.flatMap((id, i) => (want.has(id) ? [i] : [])));
}

/** Images with their landmarks, in memory: what `train()` and `evaluate()` take on any host. */
export interface InMemoryDataset {
  /** Grey images: `{ data, width, height }` with 8-bit, 16-bit or float pixels (any range: they are min-max scaled). */
  images: (GreyPixels | GreyImage)[];
  /** K points per image, in that image's pixels. */
  points: Point[][];
  /** Pixel spacing per image in mm (errors are then in mm); omit for pixels. */
  mmPerPixel?: (number | undefined)[];
  /** One id per image (default "1", "2", …). */
  ids?: string[];
  /** Name of each landmark. */
  landmarkNames?: string[];
  /** Name of the set, for messages (default "in-memory"). */
  name?: string;
}

/** An in-memory set as a LandmarkDataset; throws DataError when its arrays disagree. */
export function inMemoryDataset(d: InMemoryDataset): LandmarkDataset {
  const name = d.name ?? 'in-memory';
  const n = d.images.length;
  if (n === 0) throw new DataError(name, undefined, 'no images');
  if (d.points.length !== n) throw new DataError(name, undefined, `${n} images but ${d.points.length} point lists`);
  if (d.mmPerPixel && d.mmPerPixel.length !== n) throw new DataError(name, undefined, `${n} images but ${d.mmPerPixel.length} pixel spacings`);
  if (d.ids && d.ids.length !== n) throw new DataError(name, undefined, `${n} images but ${d.ids.length} ids`);
  const k = d.points[0]!.length;
  if (k === 0) throw new DataError(name, undefined, 'image 1 has no landmarks');
  if (d.landmarkNames && d.landmarkNames.length !== k) throw new DataError(name, undefined, `${d.landmarkNames.length} landmark names for ${k} landmarks`);
  const items: LandmarkItem[] = d.images.map((pixels, i) => {
    const id = d.ids?.[i] ?? String(i + 1);
    const mm = d.mmPerPixel?.[i];
    const image = greyImage(pixels, `${name}#${id}`);
    return { id, imagePath: `${name}#${id}`, points: d.points[i]!, image, ...(mm !== undefined ? { mmPerPixel: mm } : {}) };
  });
  const unit = d.mmPerPixel && d.mmPerPixel.every((m) => m !== undefined && m > 0) ? 'mm' : 'px';
  return { name, k, items, unit, ...(d.landmarkNames ? { landmarkNames: d.landmarkNames } : {}) };
}

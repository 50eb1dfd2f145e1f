/**
 * Data set readers over files (Node). Parsing is in src/data/datasets.ts; this module finds
 * files, checks images (existence and size from the header, without decoding) and applies the
 * skip-and-count / strict policy: a bad item becomes a DataError naming the file and row; it is
 * counted in `report` and left out, unless `strict`, when the first one is thrown.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import {
  CHEST_LANDMARKS, ISBI2015_LANDMARKS, ISBI2015_MM_PER_PIXEL, isbiSplitOf, meanPoints, parseChestLabel,
  majority, parseDatasetSpec, parseHandCsv, parseImageCsv, parseIsbiAnnotation, parseSpacingCsv,
  wristMmPerPixel, type DatasetSpec, type ParseResult,
} from '../data/datasets';
import { hasFlag } from '../data/points_format';
import { readPointsText } from '../data/points_read';
import { checkSynthBounds, syntheticDataset, type SyntheticKind } from '../data/synthetic';
import {
  DataError, emptyReport, mmPerPixelOf, pointInside, type GreyImage, type LandmarkDataset, type LandmarkItem, type Point,
  type ReadReport,
} from '../data/types';
import { readImage, readImageSize } from './data_image';
import { readZip } from './data_zip';
import { splitTrainVal } from '../train/data';
import { annotatorAgreement, fixedTestSplit, meanOf, parseXyLines, type AnnotatorAgreement } from '../data/annotators';

export interface ReadOptions {
  /** Throw the first DataError instead of skipping and counting bad items. */
  strict?: boolean;
  /** Check that each image exists and read its size from the header (default true). */
  checkImages?: boolean;
  /**
   * A labelled row whose image is absent: 'skip' counts it in report.missingImages (the default
   * for hand and chest, whose label files cover more images than a folder may hold); 'error'
   * treats it as a bad item (the default for ISBI and generic).
   */
  missingImages?: 'skip' | 'error';
  /** Keep at most this many items (after sorting by id). */
  limit?: number;
}

/** Image files a folder is searched for (a DICOM file without an extension is read when a label file names it). */
const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.dcm', '.dicom', '.tif', '.tiff', '.mha', '.mhd']);

const isDir = (p: string): boolean => { try { return statSync(p).isDirectory(); } catch { return false; } };
const isFile = (p: string): boolean => { try { return statSync(p).isFile(); } catch { return false; } };

function readText(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch (e) {
    throw new DataError(path, undefined, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The image files of a folder (by extension, not recursive), sorted by name. */
export function listImageFiles(dir: string): string[] {
  return readdirSync(dir).sort().filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).map((f) => join(dir, f)).filter(isFile);
}

/** Maps an image's name without extension to its path, over the given folders (first wins). */
export function indexImages(dirs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of dirs) {
    if (!isDir(d)) continue;
    for (const f of readdirSync(d).sort()) {
      if (!IMAGE_EXT.has(extname(f).toLowerCase())) continue;
      const s = f.slice(0, f.length - extname(f).length);
      if (!m.has(s)) m.set(s, join(d, f));
    }
  }
  return m;
}

/** Collects errors under the strict / skip policy. */
class Collector {
  readonly report: ReadReport = emptyReport();
  /** Items whose mm per pixel came from their image file's own spacing, by tag. */
  readonly spacingFrom = new Map<string, number>();
  constructor(private readonly opts: ReadOptions) {}
  bad(e: unknown): void {
    if (!(e instanceof DataError)) throw e;
    if (this.opts.strict) throw e;
    this.report.skipped++;
    this.report.errors.push(e);
  }
  parsed(r: ParseResult): ParseResult {
    for (const e of r.errors) this.bad(e);
    return r;
  }
  /** Image missing: a bad item or a counted skip, by policy. Returns false either way. */
  missing(file: string, row: number | undefined, image: string, def: 'skip' | 'error'): false {
    if ((this.opts.missingImages ?? def) === 'skip') this.report.missingImages++;
    else this.bad(new DataError(file, row, `image not found: ${image}`));
    return false;
  }
}

/**
 * Fills width/height from the image header and checks the points lie inside. Returns false
 * (after recording the error) when the item must be left out.
 */
function checkItem(item: LandmarkItem, labelFile: string, row: number | undefined, c: Collector, opts: ReadOptions, missingDefault: 'skip' | 'error'): boolean {
  if (opts.checkImages === false) return true;
  if (!isFile(item.imagePath)) return c.missing(labelFile, row, item.imagePath, missingDefault);
  try {
    const { width, height, spacing } = readImageSize(item.imagePath);
    item.width = width;
    item.height = height;
    // The file's own spacing (DICOM PixelSpacing, MetaImage ElementSpacing…) when the labels give none
    if (item.mmPerPixel === undefined && spacing) {
      item.mmPerPixel = mmPerPixelOf(spacing);
      c.spacingFrom.set(spacing.source, (c.spacingFrom.get(spacing.source) ?? 0) + 1);
    }
    item.points.forEach((p, i) => {
      if (!Number.isFinite(p[0]) || !Number.isFinite(p[1]) || !pointInside(p, width, height)) {
        throw new DataError(labelFile, row, `landmark ${i + 1} (${p[0]}, ${p[1]}) lies outside the ${width}x${height} image ${item.imagePath}`);
      }
    });
    return true;
  } catch (e) {
    c.bad(e);
    return false;
  }
}

function finish(ds: Omit<LandmarkDataset, 'unit' | 'report'>, c: Collector, opts: ReadOptions): LandmarkDataset {
  ds.items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (opts.limit !== undefined) ds.items = ds.items.slice(0, opts.limit);
  const unit = ds.items.length > 0 && ds.items.every((it) => it.mmPerPixel !== undefined) ? 'mm' : 'px';
  for (const [source, n] of c.spacingFrom) {
    c.report.notes.push(`mm per pixel of ${n} image(s) from their files' ${source}${source === 'ImagerPixelSpacing' ? ' (at the detector: anatomy is magnified, so mm errors are overstated by the magnification)' : ''}`);
  }
  if (ds.splits) {
    const have = new Set(ds.items.map((it) => it.id));
    for (const k of Object.keys(ds.splits)) ds.splits[k] = ds.splits[k]!.filter((id) => have.has(id));
  }
  return { ...ds, unit, report: c.report };
}

// ---------------------------------------------------------------------------------- ISBI 2015

export interface IsbiOptions extends ReadOptions {
  /** 'auto' (default): the senior/junior mean when both exist, else the one annotator present. */
  annotator?: 'auto' | 'mean' | 'senior' | 'junior';
}

/**
 * ISBI 2015 cephalometric set. Reads either the official layout
 * (`AnnotationsByMD/400_{senior,junior}/NNN.txt`, `RawImage/{TrainingData,Test1Data,Test2Data}/NNN.bmp`)
 * or the common re-save (`400_senior/NNN.txt` or `train_senior.csv`, `images/NNN.jpg`).
 */
export function readIsbi2015(root: string, opts: IsbiOptions = {}): LandmarkDataset {
  const c = new Collector(opts);
  const annotator = opts.annotator ?? 'auto';
  const find = (who: string): string | undefined =>
    [join(root, 'AnnotationsByMD', `400_${who}`), join(root, `400_${who}`)].find(isDir);
  const dirs = { senior: find('senior'), junior: find('junior') };
  const images = indexImages([
    join(root, 'RawImage', 'TrainingData'), join(root, 'RawImage', 'Test1Data'), join(root, 'RawImage', 'Test2Data'),
    join(root, 'RawImage'), join(root, 'images'), root,
  ]);
  // Per annotator: id → { file, row, points }.
  type Ann = Map<string, { file: string; row: number | undefined; points: Point[] }>;
  const load = (who: 'senior' | 'junior'): Ann | undefined => {
    const m: Ann = new Map();
    const dir = dirs[who];
    if (dir) {
      for (const f of readdirSync(dir).filter((f) => /\.txt$/i.test(f)).sort()) {
        const file = join(dir, f);
        try { m.set(basename(f, extname(f)), { file, row: undefined, points: parseIsbiAnnotation(readText(file), file) }); }
        catch (e) { c.bad(e); }
      }
      return m;
    }
    const csv = [join(root, `train_${who}.csv`), join(root, `${who}.csv`)].find(isFile);
    if (!csv) return undefined;
    for (const r of c.parsed(parseImageCsv(readText(csv), csv, 19)).rows) m.set(r.id, { file: csv, row: r.row, points: r.points });
    return m;
  };
  const senior = annotator === 'junior' ? undefined : load('senior');
  const junior = annotator === 'senior' ? undefined : load('junior');
  if (!senior && !junior) throw new DataError(root, undefined, 'no ISBI 2015 annotations (AnnotationsByMD/400_senior, 400_senior/ or train_senior.csv)');
  if (annotator === 'mean' && (!senior || !junior)) throw new DataError(root, undefined, `annotator=mean needs senior and junior annotations; found only ${senior ? 'senior' : 'junior'}`);
  const used = senior && junior ? 'mean of senior and junior' : senior ? 'senior only' : 'junior only';
  c.report.notes.push(`ISBI 2015 ground truth: ${used}`);

  const ids = [...new Set([...(senior?.keys() ?? []), ...(junior?.keys() ?? [])])].sort();
  const items: LandmarkItem[] = [];
  for (const id of ids) {
    const s = senior?.get(id), j = junior?.get(id);
    const ref = (s ?? j)!;
    if (senior && junior && (!s || !j)) {
      c.bad(new DataError(ref.file, ref.row, `image ${id} has no ${s ? 'junior' : 'senior'} annotation to average with`));
      continue;
    }
    const points = s && j ? meanPoints(s.points, j.points) : ref.points;
    const path = images.get(id);
    const item: LandmarkItem = { id, imagePath: path ?? join(root, 'images', `${id}.jpg`), points, mmPerPixel: ISBI2015_MM_PER_PIXEL };
    if (!path && opts.checkImages !== false) { c.missing(ref.file, ref.row, `${id}.{bmp,jpg,png} under ${root}`, 'error'); continue; }
    if (checkItem(item, ref.file, ref.row, c, opts, 'error')) items.push(item);
  }
  const splits: Record<string, string[]> = { train: [], test1: [], test2: [] };
  for (const it of items) {
    const s = isbiSplitOf(Number(it.id));
    if (s) splits[s]!.push(it.id);
  }
  return finish({ name: 'isbi2015', landmarkNames: ISBI2015_LANDMARKS.slice(), k: 19, items, splits }, c, opts);
}

// ------------------------------------------------------------------------------ Hand (DHA)

export interface HandOptions extends ReadOptions {
  /** mm per pixel: 'auto' (default) spacing.csv where it lists the image, else the wrist rule. */
  spacing?: 'auto' | 'wrist' | 'file';
  /** Image folder (default: images/ next to all.csv, then jpg/, png/, the folder itself). */
  images?: string;
}

export function readHand(target: string, opts: HandOptions = {}): LandmarkDataset {
  const c = new Collector(opts);
  const csv = isFile(target) ? target : join(target, 'all.csv');
  const root = dirname(csv);
  const images = indexImages(opts.images ? [opts.images] : [join(root, 'images'), join(root, 'jpg'), join(root, 'png'), root]);
  const spacingFile = join(root, 'spacing.csv');
  const mode = opts.spacing ?? 'auto';
  const spacing = mode !== 'wrist' && isFile(spacingFile) ? parseSpacingCsv(readText(spacingFile), spacingFile) : new Map<string, number>();
  if (mode === 'file' && spacing.size === 0) throw new DataError(spacingFile, undefined, 'spacing=file but no spacing.csv');
  let bySpacing = 0, byWrist = 0;
  const items: LandmarkItem[] = [];
  for (const r of c.parsed(parseHandCsv(readText(csv), csv)).rows) {
    const path = images.get(r.id);
    if (!path && opts.checkImages !== false) { c.missing(csv, r.row, `${r.id}.{png,jpg,bmp}`, 'skip'); continue; }
    let mm = spacing.get(r.id);
    if (mm === undefined) {
      if (mode === 'file') { c.bad(new DataError(csv, r.row, `no spacing for image ${r.id} in ${spacingFile}`)); continue; }
      try { mm = wristMmPerPixel(r.points); } catch (e) { c.bad(new DataError(csv, r.row, (e as Error).message)); continue; }
      byWrist++;
    } else bySpacing++;
    const item: LandmarkItem = { id: r.id, imagePath: path ?? join(root, 'images', `${r.id}.png`), points: r.points, mmPerPixel: mm };
    if (checkItem(item, csv, r.row, c, opts, 'skip')) items.push(item);
  }
  c.report.notes.push(`hand mm/px: ${bySpacing} from spacing.csv, ${byWrist} from the 50 mm wrist rule`);
  return finish({ name: 'hand', k: 37, items }, c, opts);
}

// ----------------------------------------------------------------------------- Shenzhen chest

export interface ChestOptions extends ReadOptions {
  /** Image folder (default: images/ next to the labels, then the folder itself). */
  images?: string;
}

/**
 * Shenzhen chest labels from a zip (`chest_labels.zip`, entries `…/CHNCXR_NNNN_0.txt`), a folder
 * holding that zip, or an extracted folder of `.txt` labels (searched in labels/, chest/labels/,
 * the folder itself). Points are ratio × image size, in pixels; no spacing.
 */
export function readChest(target: string, opts: ChestOptions = {}): LandmarkDataset {
  const c = new Collector(opts);
  const labels: { id: string; file: string; text: () => string }[] = [];
  let root: string;
  const zipPath = /\.zip$/i.test(target) && isFile(target) ? target
    : isDir(target) ? readdirSync(target).filter((f) => /\.zip$/i.test(f)).map((f) => join(target, f)).find(isFile) : undefined;
  const labelDirs = isDir(target) ? [join(target, 'labels'), join(target, 'chest', 'labels'), target] : [];
  const txtDir = labelDirs.find((d) => isDir(d) && readdirSync(d).some((f) => /^CHNCXR_.*\.txt$/i.test(f)));
  if (txtDir) {
    root = isDir(target) ? target : dirname(target);
    for (const f of readdirSync(txtDir).filter((f) => /\.txt$/i.test(f)).sort()) {
      const file = join(txtDir, f);
      labels.push({ id: basename(f, extname(f)), file, text: () => readText(file) });
    }
  } else if (zipPath) {
    root = dirname(zipPath);
    const zip = readZip(zipPath);
    for (const e of zip.entries) {
      if (e.isDirectory || !/\.txt$/i.test(e.name)) continue;
      labels.push({ id: basename(e.name, extname(e.name)), file: `${zipPath}:${e.name}`, text: () => zip.readText(e.name) });
    }
  } else {
    throw new DataError(target, undefined, 'no chest labels (a .zip of CHNCXR_*.txt, or a folder of them)');
  }
  const images = indexImages(opts.images ? [opts.images] : [join(root, 'images'), join(root, 'CXR_png'), root]);
  const items: LandmarkItem[] = [];
  for (const l of labels) {
    let ratios: Point[];
    try { ratios = parseChestLabel(l.text(), l.file); } catch (e) { c.bad(e); continue; }
    const path = images.get(l.id);
    if (!path) { c.missing(l.file, undefined, `${l.id}.png`, 'skip'); continue; }
    try {
      const { width, height } = readImageSize(path);
      items.push({ id: l.id, imagePath: path, points: ratios.map(([x, y]) => [x * width, y * height]), width, height });
    } catch (e) { c.bad(e); }
  }
  return finish({ name: 'chest', landmarkNames: CHEST_LANDMARKS.slice(), k: 6, items }, c, opts);
}

// ------------------------------------------------------------------------------------- Generic

export interface GenericOptions extends ReadOptions {
  /** Folder that image names are relative to (default: the labels file's folder). */
  images?: string;
  /** mm per pixel for items that do not give their own. */
  mmPerPixel?: number;
  name?: string;
}

/**
 * A points file: the osteo points format (docs/points-format.md), or any older shape osteo reads
 * (generic CSV `image,x1,y1,…[,mm_per_pixel]` or JSON `[{image, points, mmPerPixel?}]`, the web
 * app's earlier exports, predict's predictions.json), all through src/data/points_read.ts. Image
 * references are relative to `opts.images`, else to the file's folder. An image with a point
 * flagged "missing" is left out (training needs every landmark); a stated width/height must
 * match the image file.
 */
export function readGeneric(labels: string, opts: GenericOptions = {}): LandmarkDataset {
  const c = new Collector(opts);
  const read = readPointsText(readText(labels), labels);
  for (const e of read.errors) c.bad(e);
  const { doc } = read;
  if (read.source !== 'osteo-points' && read.source !== 'wide-csv' && read.source !== 'generic-json') c.report.notes.push(`${labels}: an older points file (${read.source}); osteo now writes the osteo points format (docs/points-format.md)`);
  const base = opts.images ?? dirname(labels);
  const k = doc.landmarks?.length ?? majority(doc.images.map((im) => im.points.length)).value;
  const items: LandmarkItem[] = [];
  const seen = new Set<string>();
  let corrected = 0;
  doc.images.forEach((im, i) => {
    const row = read.rows[i];
    const where = row === undefined ? `images[${i}] (${im.image}): ` : '';
    const imagePath = isAbsolute(im.image) ? im.image : resolve(base, im.image);
    if (im.points.length !== k) { c.bad(new DataError(labels, row, `${where}expected ${k} points, found ${im.points.length}`)); return; }
    const missing = im.points.flatMap((p, j) => (hasFlag(p, 'missing') ? [j + 1] : []));
    if (missing.length) { c.bad(new DataError(labels, row, `${where}landmark ${missing.join(', ')} flagged missing: training needs every landmark (place it, or leave the image out)`)); return; }
    const stemOf = basename(im.image, extname(im.image)) || im.image;
    let id = stemOf;
    for (let n = 2; seen.has(id); n++) id = `${stemOf}#${n}`;
    const item: LandmarkItem = { id, imagePath, points: im.points.map((p) => [p.x, p.y]) };
    const mm = im.mmPerPixel ?? opts.mmPerPixel;
    if (mm !== undefined) item.mmPerPixel = mm;
    if (!checkItem(item, labels, row, c, opts, 'error')) return;
    if (im.width !== undefined && item.width !== undefined && (im.width !== item.width || im.height !== item.height)) {
      c.bad(new DataError(labels, row, `${where}the points file says ${im.width}x${im.height} but ${imagePath} is ${item.width}x${item.height} (points of another image, or a resized copy?)`));
      return;
    }
    seen.add(id);
    corrected += im.points.filter((p) => hasFlag(p, 'corrected')).length;
    items.push(item);
  });
  if (read.source === 'osteo-points' && corrected) c.report.notes.push(`${labels}: ${corrected} point(s) flagged corrected`);
  return finish({ name: opts.name ?? basename(labels, extname(labels)), k, items, ...(doc.landmarks ? { landmarkNames: doc.landmarks } : {}) }, c, opts);
}

// ------------------------------------------------------------------------------ Spec dispatch

const bool = (s: string | undefined): boolean | undefined => (s === undefined ? undefined : s === '' || s === 'true' || s === '1');
const int = (s: string | undefined, what: string): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new RangeError(`dataset option ${what}=${s}: expected a non-negative integer`);
  return n;
};
const oneOf = <T extends string>(s: string | undefined, what: string, allowed: readonly T[]): T | undefined => {
  if (s !== undefined && !allowed.includes(s as T)) throw new RangeError(`dataset option ${what}=${s}: expected ${allowed.join(', ')}`);
  return s as T | undefined;
};

type ResolvedSpec =
  | { kind: 'isbi2015'; target: string; opts: IsbiOptions }
  | { kind: 'hand'; target: string; opts: HandOptions }
  | { kind: 'chest'; target: string; opts: ChestOptions }
  | { kind: 'generic' | 'points'; target: string; opts: GenericOptions }
  | { kind: 'landmarks'; target: string; opts: LandmarkFolderOptions }
  | { kind: 'synthetic'; target: SyntheticKind; n: number; size: number; seed: number };

/** A spec with its query decoded and checked (bad values throw, naming the key); reads nothing. */
function resolveSpec(spec: string | DatasetSpec, overrides: ReadOptions): ResolvedSpec {
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const o = s.options;
  const base: ReadOptions = { ...overrides };
  const strict = bool(o.strict); if (strict !== undefined) base.strict = strict;
  const limit = int(o.limit, 'limit'); if (limit !== undefined) base.limit = limit;
  const missing = oneOf(o.missing, 'missing', ['skip', 'error'] as const); if (missing) base.missingImages = missing;
  switch (s.kind) {
    case 'isbi2015': {
      const a = oneOf(o.annotator, 'annotator', ['auto', 'mean', 'senior', 'junior'] as const);
      return { kind: s.kind, target: s.target, opts: { ...base, ...(a ? { annotator: a } : {}) } };
    }
    case 'hand': {
      const sp = oneOf(o.spacing, 'spacing', ['auto', 'wrist', 'file'] as const);
      return { kind: s.kind, target: s.target, opts: { ...base, ...(sp ? { spacing: sp } : {}), ...(o.images ? { images: o.images } : {}) } };
    }
    case 'chest':
      return { kind: s.kind, target: s.target, opts: { ...base, ...(o.images ? { images: o.images } : {}) } };
    case 'points':
    case 'generic': {
      const g: GenericOptions = { ...base };
      if (o.images) g.images = o.images;
      const mm = o.mm ?? o.mmPerPixel;
      if (mm !== undefined) {
        const v = Number(mm);
        if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`dataset option mm=${mm}: expected a positive number`);
        g.mmPerPixel = v;
      }
      return { kind: s.kind, target: s.target, opts: g };
    }
    case 'landmarks': {
      const l: LandmarkFolderOptions = { ...base };
      if (o.annotator) l.annotator = o.annotator;
      const mm = o.mm ?? o.mmPerPixel;
      if (mm !== undefined) {
        const v = Number(mm);
        if (!(v > 0 && Number.isFinite(v))) throw new RangeError(`dataset option mm=${mm}: expected a positive number`);
        l.mmPerPixel = v;
      }
      const k = int(o.k, 'k'); if (k !== undefined) l.k = k;
      if (o.test !== undefined) {
        const t = Number(o.test);
        if (!(t > 0 && Number.isFinite(t) && (t < 1 || Number.isInteger(t)))) throw new RangeError(`dataset option test=${o.test}: expected a count of test images or a fraction in (0, 1)`);
        l.test = t;
      }
      const seed = int(o.seed, 'seed'); if (seed !== undefined) l.splitSeed = seed;
      if (o.names !== undefined) {
        l.landmarkNames = o.names.toLowerCase() === 'isbi2015' ? ISBI2015_LANDMARKS.slice() : o.names.split(',').map((x) => x.trim());
      }
      return { kind: s.kind, target: s.target, opts: l };
    }
    case 'synthetic': {
      const n = int(o.n, 'n') ?? 64, size = int(o.size, 'size') ?? 128;
      checkSynthBounds(n, size);
      return { kind: s.kind, target: s.target as SyntheticKind, n, size, seed: int(o.seed, 'seed') ?? 1 };
    }
  }
}

/**
 * Checks a spec without reading the data: its syntax, its query keys and values, and that the
 * path it names exists. Throws a RangeError (bad spec) or DataError (missing path) that names it.
 */
export function checkDatasetSpec(spec: string): DatasetSpec {
  const parts = splitCombinedSpec(spec);
  if (parts.length > 1) return parts.map(checkDatasetSpec)[0]!;
  const s = parseDatasetSpec(spec);
  const r = resolveSpec(s, {});
  if (r.kind !== 'synthetic') {
    let exists = true;
    try { statSync(r.target); } catch { exists = false; }
    if (!exists) throw new DataError(r.target, undefined, `no such file or folder (data spec '${spec}')`);
    if ('images' in r.opts && r.opts.images && !isDir(r.opts.images)) throw new DataError(r.opts.images, undefined, `no such folder (images= of data spec '${spec}')`);
  }
  return s;
}

/** The parts of a combined spec `kind:A[?…]+kind:B[?…]` (a '+' followed by `kind:`); one part for a plain spec. */
export function splitCombinedSpec(spec: string): string[] {
  return spec.split(/\+(?=[A-Za-z0-9]+:)/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Reads a data set from a spec string (`hand:/data/dha?strict`, `synthetic:head?n=16`), see
 * parseDatasetSpec; `SPEC+SPEC` reads each and combines them (combineDatasets).
 */
export function readDataset(spec: string | DatasetSpec, overrides: ReadOptions = {}): LandmarkDataset {
  if (typeof spec === 'string') {
    const parts = splitCombinedSpec(spec);
    if (parts.length > 1) return combineDatasets(parts.map((p) => readDataset(p, overrides)), spec);
  }
  const r = resolveSpec(spec, overrides);
  const s = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const ds = readResolved(r);
  return s.options.heldout !== undefined ? withHeldout(ds, s.options.heldout) : ds;
}

/**
 * `heldout=F,S`: the images a training run on this data with `--val-split F --seed S` held out for
 * validation become split 'val' (the rest 'fit'), taken from the 'train' split when the data has
 * one (as `osteo train` does). Scores a model on exactly the images it never trained on.
 */
function withHeldout(ds: LandmarkDataset, value: string): LandmarkDataset {
  const m = /^(0?\.\d+),(\d+)$/.exec(value.trim());
  if (!m) throw new RangeError(`dataset option heldout=${value}: expected FRACTION,SEED (the --val-split and --seed of the training run), e.g. heldout=0.1,1`);
  const pool = ds.splits?.train ? ds.items.filter((it) => ds.splits!.train!.includes(it.id)) : ds.items;
  const split = splitTrainVal(pool.length, Number(m[1]), Number(m[2]));
  return { ...ds, splits: { ...(ds.splits ?? {}), val: split.val.map((i) => pool[i]!.id), fit: split.train.map((i) => pool[i]!.id) } };
}

function readResolved(r: ResolvedSpec): LandmarkDataset {
  switch (r.kind) {
    case 'isbi2015': return readIsbi2015(r.target, r.opts);
    case 'hand': return readHand(r.target, r.opts);
    case 'chest': return readChest(r.target, r.opts);
    case 'points':
    case 'generic': return readGeneric(r.target, r.opts);
    case 'landmarks': return readLandmarkFolder(r.target, r.opts);
    case 'synthetic': return syntheticDataset({ kind: r.target, n: r.n, size: r.size, seed: r.seed, onProgress: synthProgress(r.target, r.n * r.size * r.size) });
  }
}

/**
 * Progress on stderr for a synthesis that takes a while (over ~16 M pixels: a few seconds), at
 * most every 2 s: `synthesizing hand X-rays: 1200/5000`.
 */
function synthProgress(kind: string, pixels: number): ((done: number, total: number) => void) | undefined {
  if (pixels < 2 ** 24) return undefined;
  let last = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    process.stderr.write(`synthesizing ${kind} X-rays: ${done}/${total}\n`);
  };
}

/** The item's image: in memory (synthetic) or decoded from its file. */
export function loadItemImage(item: LandmarkItem): GreyImage {
  return item.image ?? readImage(item.imagePath);
}


// ------------------------------------------------------------------ Landmark folder (annotators)

export interface LandmarkFolderOptions extends ReadOptions {
  /**
   * Whose points are the truth: 'mean' (default: the mean of the annotators who marked the image) or one annotator's
   * name.
   */
  annotator?: string;
  /** mm per pixel of every image (else the unit is px, unless the image files state a spacing). */
  mmPerPixel?: number;
  /** Landmarks per image (default: the most common count of `x,y` lines over the files). */
  k?: number;
  /** Hold out this many images (a fraction when below 1) as a fixed 'test' split; the rest is 'train'. */
  test?: number;
  /** Seed of that split (default 0). */
  splitSeed?: number;
  /** Landmark names, in file order ('isbi2015' in a spec: the ISBI 2015 cephalometric order). */
  landmarkNames?: string[];
}

/**
 * A layout many landmark sets use: `DIR/images/ID.{png,jpg,tif,dcm,…}` and one points file per image
 * and annotator, `DIR/annotations/ANNOTATOR/ID.txt` (`x,y` lines). The truth is the mean of the
 * annotators who marked an image (or one annotator's, by option); how far the first two annotators
 * are apart is reported as the floor of any measurement (`annotators.agreement`, and a note). A
 * points file that is short or unreadable, an image nobody marked and points without an image are
 * counted and named in the report, never dropped silently.
 */
export function readLandmarkFolder(root: string, opts: LandmarkFolderOptions = {}): LandmarkDataset {
  const c = new Collector(opts);
  const annRoot = join(root, 'annotations');
  if (!isDir(annRoot)) throw new DataError(root, undefined, 'no annotations/ folder (expected annotations/ANNOTATOR/ID.txt)');
  const names = readdirSync(annRoot).filter((d) => isDir(join(annRoot, d))).sort();
  if (names.length === 0) throw new DataError(annRoot, undefined, 'no annotator folders (expected annotations/ANNOTATOR/ID.txt)');
  const truth = opts.annotator ?? 'mean';
  if (truth !== 'mean' && !names.includes(truth)) throw new DataError(annRoot, undefined, `annotator=${truth}: no such annotator folder (found ${names.join(', ')})`);
  // Every file parsed first: K is the most common count of leading x,y lines unless given.
  const raw = new Map<string, Map<string, { file: string; points: Point[] }>>();
  const counts: number[] = [];
  for (const who of names) {
    const m = new Map<string, { file: string; points: Point[] }>();
    const dir = join(annRoot, who);
    for (const f of readdirSync(dir).filter((f) => /\.txt$/i.test(f)).sort()) {
      const file = join(dir, f);
      try {
        const points = parseXyLines(readText(file), file);
        m.set(basename(f, extname(f)), { file, points });
        counts.push(points.length);
      } catch (e) { c.bad(e); }
    }
    raw.set(who, m);
  }
  const k = opts.k ?? majority(counts.filter((n) => n > 0)).value;
  if (!(k > 0)) throw new DataError(annRoot, undefined, 'no points files with x,y lines');
  // Short files are bad items (named); longer ones keep their first K points.
  const byWho = new Map<string, Map<string, Point[]>>();
  for (const [who, m] of raw) {
    const ok = new Map<string, Point[]>();
    for (const [id, { file, points }] of m) {
      if (points.length < k) c.bad(new DataError(file, undefined, `${points.length} x,y lines, expected ${k} (annotator ${who}, image ${id})`));
      else ok.set(id, points.slice(0, k));
    }
    byWho.set(who, ok);
  }
  const images = indexImages([join(root, 'images'), root]);
  const used = truth === 'mean' ? names : [truth];
  const ids = [...new Set(used.flatMap((w) => [...byWho.get(w)!.keys()]))].sort();
  const partial: string[] = [];
  const items: LandmarkItem[] = [];
  for (const id of ids) {
    const marks = used.filter((w) => byWho.get(w)!.has(id));
    if (truth === 'mean' && marks.length < names.length) partial.push(`${id} (${marks.join(', ')} only)`);
    const points = meanOf(marks.map((w) => byWho.get(w)!.get(id)!));
    const labelFile = raw.get(marks[0]!)!.get(id)!.file;
    const path = images.get(id);
    if (!path) { c.missing(labelFile, undefined, `${id}.{png,jpg,tif,dcm,…} under ${join(root, 'images')}`, 'error'); continue; }
    const item: LandmarkItem = { id, imagePath: path, points, ...(opts.mmPerPixel !== undefined ? { mmPerPixel: opts.mmPerPixel } : {}) };
    if (checkItem(item, labelFile, undefined, c, opts, 'error')) items.push(item);
  }
  const marked = new Set(ids);
  const unmarked = [...images.keys()].filter((id) => !marked.has(id)).sort();
  if (unmarked.length) {
    c.report.notes.push(`${unmarked.length} image(s) with no points file of ${used.join(' or ')}: ${unmarked.slice(0, 10).join(', ')}${unmarked.length > 10 ? ', …' : ''}`);
  }
  c.report.notes.push(truth === 'mean'
    ? `ground truth: mean of the annotators who marked each image (${names.join(', ')})${partial.length ? `; marked by only some: ${partial.join(', ')}` : ''}`
    : `ground truth: annotator ${truth}`);
  let agreement: AnnotatorAgreement | undefined;
  if (names.length >= 2) {
    const mm = opts.mmPerPixel;
    agreement = annotatorAgreement([names[0]!, names[1]!], byWho.get(names[0]!)!, byWho.get(names[1]!)!, mm !== undefined ? () => mm : undefined);
    if (agreement) {
      const f = (x: number) => x.toFixed(2);
      c.report.notes.push(`annotators ${names[0]} and ${names[1]} differ by ${f(agreement.mean)} ${agreement.unit} on average (median ${f(agreement.median)}, 90th percentile ${f(agreement.p90)}) over the ${agreement.images} images both marked: no model can be measured below this`);
    }
  }
  const ds: Omit<LandmarkDataset, 'unit' | 'report'> = {
    name: basename(resolve(root)), k, items,
    annotators: { names, truth: truth === 'mean' ? `mean of ${names.join(', ')}` : truth, ...(agreement ? { agreement } : {}) },
  };
  if (opts.landmarkNames) {
    if (opts.landmarkNames.length !== k) throw new DataError(root, undefined, `${opts.landmarkNames.length} landmark names for K=${k}`);
    ds.landmarkNames = opts.landmarkNames;
  }
  if (opts.test !== undefined) {
    const s = fixedTestSplit(items.map((it) => it.id), opts.test, opts.splitSeed ?? 0);
    ds.splits = { train: s.train, test: s.test };
  }
  return finish(ds, c, opts);
}

/**
 * Several data sets as one: the same K (else a DataError naming both), item ids `NAME/ID` (names
 * made unique), each part's splits merged by name — a part without a 'train' split gives all its
 * items to 'train' when another part has one — errors in mm only when every part's are, and the
 * parts' names in `sources` (the validation split is drawn within each part).
 */
export function combineDatasets(parts: LandmarkDataset[], spec: string): LandmarkDataset {
  const k = parts[0]!.k;
  const names: string[] = [];
  const items: LandmarkItem[] = [];
  const splits: Record<string, string[]> = {};
  const report = emptyReport();
  const anyTrain = parts.some((p) => p.splits?.train);
  for (const p of parts) {
    if (p.k !== k) throw new DataError(spec, undefined, `the combined sets disagree on K: ${parts[0]!.name} has ${k} landmarks, ${p.name} has ${p.k}`);
    let name = p.name;
    for (let n = 2; names.includes(name); n++) name = `${p.name}-${n}`;
    names.push(name);
    for (const it of p.items) items.push({ ...it, id: `${name}/${it.id}` });
    const own = { ...(p.splits ?? {}) };
    if (anyTrain && !own.train) own.train = p.items.map((it) => it.id);
    for (const [s, ids] of Object.entries(own)) (splits[s] ??= []).push(...ids.map((id) => `${name}/${id}`));
    const r = p.report;
    if (r) {
      report.skipped += r.skipped;
      report.errors.push(...r.errors);
      report.missingImages += r.missingImages;
      report.notes.push(...r.notes.map((n) => `${name}: ${n}`));
    }
  }
  const unit = parts.every((p) => p.unit === 'mm') ? 'mm' : 'px';
  if (unit === 'px' && parts.some((p) => p.unit === 'mm')) report.notes.push('errors of the combined set are in pixels: not every part has a pixel spacing');
  const landmarkNames = parts.find((p) => p.landmarkNames)?.landmarkNames;
  return {
    name: names.join('+'), k, items, unit, report, sources: names,
    ...(Object.keys(splits).length ? { splits } : {}), ...(landmarkNames ? { landmarkNames } : {}),
  };
}

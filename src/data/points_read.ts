/**
 * The one reader of landmark point files (browser-safe: text in, an osteo points document out).
 * Besides the osteo points format (src/data/points_format.ts) it reads the shapes osteo wrote or
 * read before it, so that old files keep working:
 * - the web app's earlier JSON export `{ model, landmarkNames, images: [{ name, points: [[x, y]], corrected }] }`
 *   and `osteo predict`'s `predictions.json` `{ model, size, k, images: [{ image, points: [[x, y]], confidence }] }`;
 * - the app's long CSV `image,width,height,landmark,name,x,y,corrected,x_mm,y_mm` (one row per landmark);
 * - generic JSON `[{ image, points: [[x, y]], mmPerPixel? }]` and wide CSV `image,x1,y1,…[,mm_per_pixel]`
 *   (src/data/datasets.ts's parsers, whose bad rows become counted errors, not a failed read).
 * The web app's import and the Node data readers (`points:` and `generic:` specs) both call readPointsText.
 */
import type { DataError } from './types';
import { parseImageCsv, parseImageJson, splitCsv, type ParseResult } from './datasets';
import { checkPointsDocument, isPointsDocument, PointsFileError, POINTS_FORMAT, POINTS_VERSION, type PointsDocument, type PointsImage } from './points_format';

export type PointsSource = 'osteo-points' | 'app-json' | 'predictions-json' | 'generic-json' | 'long-csv' | 'wide-csv';

export interface ReadPointsResult {
  doc: PointsDocument;
  /** Which shape the text had (anything but 'osteo-points' is an older format). */
  source: PointsSource;
  /** Per image of `doc`: its 1-based line (CSV) or item number (generic JSON), for error messages. */
  rows: (number | undefined)[];
  /** Rows left out (generic JSON / wide CSV only; every other shape throws at its first problem). */
  errors: DataError[];
}

/** Reads a points file of any shape osteo knows; `k` fixes the landmark count of generic files. */
export function readPointsText(text: string, file: string, opts: { k?: number } = {}): ReadPointsResult {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('{')) {
    let value: unknown;
    try { value = JSON.parse(t); } catch (e) {
      throw new PointsFileError(file, undefined, `not valid JSON (${(e as Error).message})`);
    }
    if (isPointsDocument(value)) {
      const doc = checkPointsDocument(value, file);
      return { doc, source: 'osteo-points', rows: doc.images.map(() => undefined), errors: [] };
    }
    return fromOldJson(value, file);
  }
  if (t.startsWith('[')) return fromParsed(parseImageJson(t, file, opts.k), 'generic-json');
  const header = splitCsv(t.split(/\r\n|\r|\n/, 1)[0] ?? '').map((h) => h.toLowerCase());
  if (header.includes('landmark') && header.includes('x') && header.includes('y')) return fromLongCsv(t, file);
  return fromParsed(parseImageCsv(t, file, opts.k), 'wide-csv');
}

const doc = (images: PointsImage[], extra: { model?: string; landmarks?: string[] } = {}): PointsDocument => ({
  format: POINTS_FORMAT, version: POINTS_VERSION, ...extra, images,
});

function fromParsed(r: ParseResult, source: PointsSource): ReadPointsResult {
  const images = r.rows.map((row): PointsImage => ({
    image: row.image ?? row.id,
    points: row.points.map(([x, y]) => ({ x, y })),
    ...(row.mmPerPixel !== undefined ? { mmPerPixel: row.mmPerPixel } : {}),
  }));
  return { doc: doc(images), source, rows: r.rows.map((row) => row.row), errors: r.errors };
}

const num = (v: unknown, file: string, where: string): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new PointsFileError(file, undefined, `${where}: expected a number, got ${JSON.stringify(v)}`);
  return n;
};

/**
 * mm per pixel of the old files' spacings, `[x, y]` (app) or `{ x, y }` (predict): the geometric mean, as
 * mmPerPixelOf.
 */
function spacingOf(s: unknown): number | undefined {
  if (Array.isArray(s) && s.length === 2 && s.every((c) => typeof c === 'number' && c > 0)) return Math.sqrt((s[0] as number) * (s[1] as number));
  const o = s as { x?: unknown; y?: unknown } | null;
  if (o && typeof o === 'object' && typeof o.x === 'number' && typeof o.y === 'number' && o.x > 0 && o.y > 0) return Math.sqrt(o.x * o.y);
  return undefined;
}

/** The app's earlier JSON export, or predict's predictions.json. */
function fromOldJson(value: unknown, file: string): ReadPointsResult {
  const o = value as { model?: unknown; landmarkNames?: unknown; images?: unknown; size?: unknown } | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.images)) {
    throw new PointsFileError(file, undefined, `expected an osteo points file { "format": "${POINTS_FORMAT}", "version": ${POINTS_VERSION}, "images": [...] } (docs/points-format.md)`);
  }
  const predictions = typeof o.size === 'number';
  const images = o.images.map((im: unknown, i: number): PointsImage => {
    const where = `images[${i}]`;
    const r = im as { name?: unknown; image?: unknown; points?: unknown; corrected?: unknown; confidence?: unknown; width?: unknown; height?: unknown; pixelSpacing?: unknown; spacing?: unknown } | null;
    const name = r && typeof r === 'object' ? (typeof r.name === 'string' ? r.name : r.image) : undefined;
    if (typeof name !== 'string' || !name || !Array.isArray(r!.points)) throw new PointsFileError(file, undefined, `${where}: needs "name" (or "image") and "points"`);
    const confidence = Array.isArray(r!.confidence) ? r!.confidence : undefined;
    const points = (r!.points as unknown[]).map((p, k) => {
      if (!Array.isArray(p) || p.length !== 2) throw new PointsFileError(file, undefined, `${where}.points[${k}]: expected [x, y]`);
      const c = confidence?.[k];
      // the app always imported its old files' points as labels; predictions are not labels
      const isLabel = !predictions;
      return {
        x: num(p[0], file, `${where}.points[${k}][0]`), y: num(p[1], file, `${where}.points[${k}][1]`),
        ...(typeof c === 'number' && Number.isFinite(c) ? { confidence: c } : {}),
        ...(isLabel ? { flags: ['corrected'] } : {}),
      };
    });
    const mm = spacingOf(r!.pixelSpacing ?? r!.spacing);
    const w = r!.width, h = r!.height;
    return {
      image: name, points,
      ...(typeof w === 'number' && Number.isInteger(w) && w > 0 && typeof h === 'number' && Number.isInteger(h) && h > 0 ? { width: w, height: h } : {}),
      ...(mm !== undefined ? { mmPerPixel: mm } : {}),
    };
  });
  const landmarks = Array.isArray(o.landmarkNames) && o.landmarkNames.length ? o.landmarkNames.map(String) : undefined;
  return {
    doc: doc(images, { ...(typeof o.model === 'string' ? { model: o.model } : {}), ...(landmarks ? { landmarks } : {}) }),
    source: predictions ? 'predictions-json' : 'app-json', rows: images.map(() => undefined), errors: [],
  };
}

/**
 * Splits CSV text into rows of fields (quoted fields may hold commas, quotes and line breaks), with their line
 * numbers.
 */
function csvRows(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let row: string[] = [];
  let cur = '';
  let quoted = false;
  let line = 1, start = 1;
  const end = () => { row.push(cur); if (row.some((f) => f.trim() !== '')) rows.push({ line: start, fields: row }); row = []; cur = ''; start = line; };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else { if (c === '\n') line++; cur += c; }
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cur); cur = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      end();
    } else cur += c;
  }
  if (cur !== '' || row.length) end();
  return rows;
}

/** The app's long CSV: one row per landmark (1-based), `corrected` 0/1, optional width, height, name, x_mm, y_mm. */
function fromLongCsv(text: string, file: string): ReadPointsResult {
  const rows = csvRows(text);
  const header = rows[0]?.fields.map((h) => h.trim().toLowerCase()) ?? [];
  const col = (name: string) => header.indexOf(name);
  if (col('image') < 0) throw new PointsFileError(file, rows[0]?.line, `CSV header needs the columns image, landmark, x, y (got ${header.join(',')})`);
  const byName = new Map<string, PointsImage & { line: number }>();
  const names: string[] = [];
  for (const { line, fields: r } of rows.slice(1)) {
    const name = r[col('image')] ?? '';
    if (!name) throw new PointsFileError(file, line, 'no image name');
    const k = num(r[col('landmark')], file, `line ${line} landmark`) - 1;
    if (!Number.isInteger(k) || k < 0 || k > 10_000) throw new PointsFileError(file, line, `landmark must be a whole number from 1, got ${r[col('landmark')]}`);
    let im = byName.get(name);
    if (!im) {
      im = { image: name, points: [], line };
      const w = col('width') >= 0 ? r[col('width')]?.trim() : '', h = col('height') >= 0 ? r[col('height')]?.trim() : '';
      if (w && h && Number(w) > 0 && Number(h) > 0) { im.width = num(w, file, `line ${line} width`); im.height = num(h, file, `line ${line} height`); }
      byName.set(name, im);
    }
    // the corrected column keeps its flag; every point of a CSV is a label (the app always imported them so)
    const corrected = col('corrected') >= 0 ? !['0', 'false', ''].includes((r[col('corrected')] ?? '').trim().toLowerCase()) : true;
    im.points[k] = { x: num(r[col('x')], file, `line ${line} x`), y: num(r[col('y')], file, `line ${line} y`), ...(corrected ? { flags: ['corrected'] } : {}) };
    if (col('name') >= 0 && r[col('name')]) names[k] = r[col('name')]!;
  }
  const images = [...byName.values()];
  for (const im of images) {
    const missing = Array.from({ length: im.points.length }, (_, k) => k).filter((k) => !im.points[k]);
    if (missing.length) throw new PointsFileError(file, im.line, `${im.image} has no row for landmark ${missing.map((k) => k + 1).join(', ')}`);
  }
  const complete = names.length > 0 && Array.from({ length: names.length }, (_, k) => names[k]).every((n) => n !== undefined);
  return {
    doc: doc(images.map(({ line: _line, ...im }) => im), complete ? { landmarks: names } : {}),
    source: 'long-csv', rows: images.map((im) => im.line), errors: [],
  };
}

/**
 * The app's points files, pure: export of one or all images as JSON or CSV (points in original
 * image pixels; in mm too when the image has a pixel spacing), and import of either format to
 * continue work. Errors name the file and, for CSV, the line.
 *
 * JSON: { "model": name, "landmarkNames": [...], "images": [ { "name", "width", "height",
 *         "points": [[x, y], …], "corrected": [bool, …], "pixelSpacing"?: [x mm, y mm], "pointsMm"? } ] }
 * CSV:  image,width,height,landmark,name,x,y,corrected,x_mm,y_mm   (one row per landmark, 1-based)
 */
import type { ImageRecord, XY } from './state';

export interface PointsFile {
  model: string | null;
  landmarkNames: string[];
  images: { name: string; width: number; height: number; points: XY[]; corrected: boolean[]; pixelSpacing?: XY; pointsMm?: XY[] }[];
}

/** A points file that cannot be read, or does not fit the model. */
export class PointsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PointsFileError';
  }
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export function toPointsFile(model: string | null, landmarkNames: string[], images: readonly ImageRecord[]): PointsFile {
  return {
    model,
    landmarkNames,
    images: images.filter((im) => im.points.length).map((im) => ({
      name: im.name,
      width: im.width,
      height: im.height,
      points: im.points.map(([x, y]) => [r3(x), r3(y)] as XY),
      corrected: [...im.corrected],
      ...(im.spacing ? { pixelSpacing: [im.spacing.x, im.spacing.y] as XY, pointsMm: im.points.map(([x, y]) => [r3(x * im.spacing!.x), r3(y * im.spacing!.y)] as XY) } : {}),
    })),
  };
}

export function exportJson(file: PointsFile): string {
  return `${JSON.stringify(file, null, 1)}\n`;
}

const CSV_HEADER = ['image', 'width', 'height', 'landmark', 'name', 'x', 'y', 'corrected', 'x_mm', 'y_mm'];

/** RFC 4180 quoting for a field that holds a comma, quote or line break. */
const field = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function exportCsv(file: PointsFile): string {
  const lines = [CSV_HEADER.join(',')];
  for (const im of file.images) {
    im.points.forEach(([x, y], k) => {
      const mm = im.pointsMm?.[k];
      lines.push([field(im.name), im.width, im.height, k + 1, field(file.landmarkNames[k] ?? String(k + 1)), x, y, im.corrected[k] ? 1 : 0, mm ? mm[0] : '', mm ? mm[1] : ''].join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}

/** Splits CSV text into rows of fields (quoted fields may hold commas, quotes and line breaks). */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cur); cur = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cur); rows.push(row); row = []; cur = '';
    } else cur += c;
  }
  if (cur !== '' || row.length) { row.push(cur); rows.push(row); }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

const num = (v: unknown, where: string): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new PointsFileError(`${where}: expected a number, got ${JSON.stringify(v)}`);
  return n;
};

function parseCsv(text: string, fileName: string): PointsFile {
  const rows = csvRows(text);
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const col = (name: string) => header.indexOf(name);
  for (const need of ['image', 'landmark', 'x', 'y']) if (col(need) < 0) throw new PointsFileError(`${fileName}: CSV header needs the columns image, landmark, x, y (got ${header.join(',') || 'nothing'})`);
  const byName = new Map<string, PointsFile['images'][number]>();
  const names: string[] = [];
  rows.slice(1).forEach((r, i) => {
    const where = `${fileName} line ${i + 2}`;
    const name = r[col('image')] ?? '';
    if (!name) throw new PointsFileError(`${where}: no image name`);
    const k = num(r[col('landmark')], `${where} landmark`) - 1;
    if (!Number.isInteger(k) || k < 0 || k > 10_000) throw new PointsFileError(`${where}: landmark must be a number from 1, got ${r[col('landmark')]}`);
    let im = byName.get(name);
    if (!im) {
      im = { name, width: col('width') >= 0 ? num(r[col('width')], `${where} width`) : 0, height: col('height') >= 0 ? num(r[col('height')], `${where} height`) : 0, points: [], corrected: [] };
      byName.set(name, im);
    }
    im.points[k] = [num(r[col('x')], `${where} x`), num(r[col('y')], `${where} y`)];
    im.corrected[k] = col('corrected') >= 0 ? !['0', 'false', ''].includes((r[col('corrected')] ?? '').trim().toLowerCase()) : true;
    if (col('name') >= 0 && r[col('name')]) names[k] = r[col('name')]!;
  });
  const images = [...byName.values()];
  for (const im of images) {
    const missing = Array.from({ length: im.points.length }, (_, k) => k).filter((k) => !im.points[k]);
    if (missing.length) throw new PointsFileError(`${fileName}: ${im.name} has no row for landmark ${missing.map((k) => k + 1).join(', ')}`);
  }
  return { model: null, landmarkNames: names, images };
}

function parseJson(text: string, fileName: string): PointsFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new PointsFileError(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  const o = v as Partial<PointsFile> | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.images)) throw new PointsFileError(`${fileName}: expected { "images": [ { "name", "points": [[x, y], …] } ] }`);
  const images = o.images.map((im, i) => {
    const where = `${fileName} images[${i}]`;
    if (!im || typeof im.name !== 'string' || !Array.isArray(im.points)) throw new PointsFileError(`${where}: needs "name" and "points"`);
    const points = im.points.map((p, k) => {
      if (!Array.isArray(p) || p.length !== 2) throw new PointsFileError(`${where}.points[${k}]: expected [x, y]`);
      return [num(p[0], `${where}.points[${k}][0]`), num(p[1], `${where}.points[${k}][1]`)] as XY;
    });
    const corrected = points.map((_, k) => (Array.isArray(im.corrected) ? im.corrected[k] !== false : true));
    return { name: im.name, width: typeof im.width === 'number' ? im.width : 0, height: typeof im.height === 'number' ? im.height : 0, points, corrected };
  });
  return { model: typeof o.model === 'string' ? o.model : null, landmarkNames: Array.isArray(o.landmarkNames) ? o.landmarkNames.map(String) : [], images };
}

/** Reads a points file the app exported (JSON or CSV, told apart by content). */
export function parsePointsFile(text: string, fileName: string): PointsFile {
  return text.trimStart().startsWith('{') ? parseJson(text, fileName) : parseCsv(text, fileName);
}

/** Throws when the file's images carry another number of landmarks than the model predicts. */
export function checkLandmarkCount(file: PointsFile, k: number, fileName: string): void {
  const bad = file.images.find((im) => im.points.length !== k);
  if (bad) throw new PointsFileError(`${fileName}: ${bad.name} has ${bad.points.length} landmarks, the model predicts ${k} (a points file of another model?)`);
}

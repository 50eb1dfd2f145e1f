/**
 * The app's points files: export of one or all images as an osteo points file (JSON,
 * docs/points-format.md: what `osteo predict` writes and every trainer reads) or as a long CSV,
 * and import of either — or of any older shape osteo wrote — through the library's one reader
 * (src/data/points_read.ts). Points are in original image pixels.
 *
 * CSV:  image,width,height,landmark,name,x,y,corrected,x_mm,y_mm   (one row per landmark, 1-based)
 */
import { PointsFileError, readPointsText, serializePoints, type PointsDocument, type PointsImage } from '../browser';
import type { ImageRecord, XY } from './state';

export { PointsFileError };

/** What an import gives the page: per image (matched by file name), its points and which are labels. */
export interface PointsFile {
  model: string | null;
  landmarkNames: string[];
  images: { name: string; points: XY[]; corrected: boolean[] }[];
}

/**
 * The open images with points as an osteo points document (corrected points flagged; a model's confidence on the
 * rest).
 */
export function toPointsFile(model: string | null, landmarkNames: string[], images: readonly ImageRecord[]): PointsDocument {
  return {
    format: 'osteo-points',
    version: 1,
    ...(model !== null ? { model } : {}),
    ...(landmarkNames.length ? { landmarks: landmarkNames } : {}),
    images: images.filter((im) => im.points.length).map((im): PointsImage => ({
      image: im.name,
      width: im.width,
      height: im.height,
      ...(im.spacing ? { mmPerPixel: Math.sqrt(im.spacing.x * im.spacing.y) } : {}),
      points: im.points.map(([x, y], k) => {
        const c = im.confidence[k];
        return im.corrected[k] ? { x, y, flags: ['corrected'] } : { x, y, ...(c !== undefined ? { confidence: c } : {}) };
      }),
    })),
  };
}

export function exportJson(file: PointsDocument): string {
  return serializePoints(file);
}

const CSV_HEADER = ['image', 'width', 'height', 'landmark', 'name', 'x', 'y', 'corrected', 'x_mm', 'y_mm'];

/** RFC 4180 quoting for a field that holds a comma, quote or line break. */
const field = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

export function exportCsv(file: PointsDocument): string {
  const lines = [CSV_HEADER.join(',')];
  for (const im of file.images) {
    const mm = im.mmPerPixel;
    im.points.forEach((p, k) => {
      const corrected = p.flags?.includes('corrected') ? 1 : 0;
      lines.push([field(im.image), im.width ?? '', im.height ?? '', k + 1, field(file.landmarks?.[k] ?? String(k + 1)), r3(p.x), r3(p.y), corrected, mm ? r3(p.x * mm) : '', mm ? r3(p.y * mm) : ''].join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}

/** The file name of an image reference (a points file written by `osteo predict` holds relative paths). */
const fileName = (image: string): string => image.replace(/^.*[\\/]/, '');

/**
 * Reads a points file for import: an osteo points file, the app's earlier JSON or CSV, predict's
 * predictions.json, or generic JSON / CSV. A point is a label (kept over predictions and trained
 * on, like a correction) when flagged "corrected" or when it carries no model confidence.
 */
export function parsePointsFile(text: string, name: string): PointsFile {
  const r = readPointsText(text, name);
  if (r.errors.length) throw PointsFileError.from(r.errors[0]!);
  if (!r.doc.images.length) throw new PointsFileError(name, undefined, 'holds no images');
  return {
    model: r.doc.model ?? null,
    landmarkNames: r.doc.landmarks ?? [],
    images: r.doc.images.map((im) => ({
      name: fileName(im.image),
      points: im.points.map((p) => [p.x, p.y] as XY),
      corrected: im.points.map((p) => !!p.flags?.includes('corrected') || p.confidence === undefined),
    })),
  };
}

/** Throws when the file's images carry another number of landmarks than the model predicts. */
export function checkLandmarkCount(file: PointsFile, k: number, fileName: string): void {
  const bad = file.images.find((im) => im.points.length !== k);
  if (bad) throw new PointsFileError(fileName, undefined, `${bad.name} has ${bad.points.length} landmarks, the model predicts ${k} (a points file of another model?)`);
}

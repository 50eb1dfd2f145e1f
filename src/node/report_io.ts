/**
 * File access of the decision report in Node: the mean shape from a data set's annotation files
 * (no image is decoded: sizes come from the headers the readers already read), the image loader
 * the timing uses (read + decode each file, as a deployment would), and learning-curve files.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { GreyImage, LandmarkItem, Point } from '../data/types';
import { meanShape } from '../landmarks/baseline';
import type { LearningCurveDoc } from '../report/learning_curve';
import { ConfigError } from '../train/config';
import type { PreparedData } from '../train/prepare';
import { readImage } from './data_image';
import { readDataset } from './data_readers';

/** Mean relative landmark positions over the items of `spec` whose ids are in `ids` (every item when absent). */
export function meanShapeFromSpec(spec: string, ids?: ReadonlySet<string>): { shape: Point[]; images: number } {
  return meanShapeOfItems(readDataset(spec).items.filter((it) => !ids || ids.has(it.id)), spec);
}

/** Mean relative landmark positions over annotated items (sizes from their headers or in-memory images). */
export function meanShapeOfItems(items: readonly LandmarkItem[], what: string): { shape: Point[]; images: number } {
  const sized = items.flatMap((it) => {
    const w = it.width ?? it.image?.width, h = it.height ?? it.image?.height;
    return w && h ? [{ width: w, height: h, points: it.points }] : [];
  });
  if (!sized.length) throw new ConfigError(`${what}: no annotated items for the mean-shape baseline`);
  return { shape: meanShape(sized), images: sized.length };
}

/** The images of `data` as a deployment gets them: read and decoded from their files (in memory for synthetic sets). */
export function fileImageLoader(data: PreparedData): (i: number) => GreyImage {
  return (i) => {
    const path = data.paths[i]!;
    return existsSync(path) && statSync(path).isFile() ? readImage(path) : data.set.images[i]!;
  };
}

/** Reads a learning-curve.json written by `osteo experiment learning-curve`. */
export function readLearningCurve(file: string): LearningCurveDoc {
  let doc: LearningCurveDoc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as LearningCurveDoc;
  } catch (e) {
    throw new ConfigError(`--learning-curve ${file}: not readable JSON (${(e as Error).message})`);
  }
  if (doc?.kind !== 'osteo-learning-curve' || !Array.isArray(doc.rows) || !Array.isArray(doc.samples)) {
    throw new ConfigError(`--learning-curve ${file}: not a learning-curve.json of osteo experiment learning-curve`);
  }
  return doc;
}

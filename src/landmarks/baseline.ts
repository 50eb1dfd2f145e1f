/**
 * The mean-shape baseline (browser-safe): every landmark at its mean position over the training
 * annotations, in coordinates relative to the image size, scaled to each test image. It knows
 * nothing about the test image but its size, so any model worth using must be far below it; every
 * evaluation reports it beside the model so a reader sees how much the model adds.
 */
import type { Point } from '../data/types';

export interface SizedPoints {
  width: number;
  height: number;
  points: Point[];
}

/** Mean relative position ([x/width, y/height]) of each landmark over the training items. */
export function meanShape(train: readonly SizedPoints[]): Point[] {
  if (train.length === 0) throw new RangeError('meanShape: no training annotations');
  const k = train[0]!.points.length;
  const sum: [number, number][] = Array.from({ length: k }, () => [0, 0]);
  for (const it of train) {
    if (it.points.length !== k) throw new RangeError(`meanShape: ${it.points.length} landmarks in one item, ${k} in the first`);
    it.points.forEach(([x, y], j) => {
      sum[j]![0] += x / it.width;
      sum[j]![1] += y / it.height;
    });
  }
  return sum.map(([x, y]) => [x / train.length, y / train.length]);
}

/** The baseline's prediction for an image of the given size (pixels of that image). */
export function meanShapePrediction(shape: readonly Point[], width: number, height: number): Point[] {
  return shape.map(([x, y]) => [x * width, y * height]);
}

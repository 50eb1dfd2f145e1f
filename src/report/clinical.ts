/**
 * Clinical metrics of a model on labelled images (host-neutral): MRE ± SD, median, SDR per radius,
 * per landmark, per image, the mean-shape baseline beside it, and the worst images with their
 * predictions (in the working copy's pixels, for overlays).
 */
import { landmarkOffsets, type OffsetSummary } from './offsets';
import type { Point } from '../data/types';
import { meanShape, meanShapePrediction } from '../landmarks/baseline';
import { evaluate, type Evaluation } from '../landmarks/metrics';
import { mapPoints } from '../landmarks/preprocess';
import { evaluationJson, type EvaluationJson } from '../landmarks/report_json';
import { originalPoints } from '../train/data';
import type { PreparedData } from '../train/prepare';
import type { LandmarkTrainer } from '../train/trainer';

/** Where the baseline's mean shape came from. */
export type BaselineSource =
  | { kind: 'train'; data: PreparedData; describe: string }
  /** A mean shape computed by the host (relative positions, see meanShape), e.g. from annotation files alone. */
  | { kind: 'shape'; shape: Point[]; describe: string }
  | { kind: 'leave-one-out' };

export interface ImageResult {
  id: string;
  /** Mean and largest radial error of the image. */
  mre: number;
  max: number;
  /** Mean heatmap peak over its landmarks. */
  confidence: number;
}

export interface ClinicalResult {
  evaluation: Evaluation;
  json: EvaluationJson;
  baseline: { evaluation: Evaluation; json: EvaluationJson; describe: string };
  perImage: ImageResult[];
  /** Per image, per landmark heatmap peaks. */
  confidence: number[][];
  /** Predictions and truth in each working copy's pixels (index = image), for drawing. */
  drawn: { predicted: Point[][]; truth: Point[][] };
  /** Each landmark's error split into a systematic offset and the spread around it (original pixels / mm). */
  offsets: OffsetSummary;
}

const avg = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Predicts every image of `data` with `trainer`, scores it against the truth in the original
 * pixels (mm when every image has a spacing), and scores the mean-shape baseline the same way:
 * the mean relative position of each landmark over `baseline`'s training annotations, or, without
 * training annotations, over the other evaluated images (leave one out).
 */
export async function clinicalMetrics(trainer: LandmarkTrainer, data: PreparedData, baseline: BaselineSource, names?: readonly string[]): Promise<ClinicalResult> {
  const set = data.set;
  const { points, confidence } = await trainer.predict(set.images, trainer.options.batch, 0);
  const back = (pts: Point[], i: number): Point[] => {
    const m = set.toOriginal?.[i];
    return m ? mapPoints(m, pts) : pts;
  };
  const preds = points.map(back);
  const truth = set.points.map(back);
  const evaluation = evaluate(preds, truth, set.mmPerPixel);
  // sizes of the originals: the working copy's corners mapped back
  const sizeOf = (d: PreparedData, i: number): { width: number; height: number } => {
    const img = d.set.images[i]!;
    const m = d.set.toOriginal?.[i];
    if (!m) return { width: img.width, height: img.height };
    const [[x, y]] = mapPoints(m, [[img.width - 0.5, img.height - 0.5]]) as [Point];
    return { width: Math.round(x + 0.5), height: Math.round(y + 0.5) };
  };
  const sized = (d: PreparedData) => d.set.images.map((_, i) => ({ ...sizeOf(d, i), points: originalPoints(d.set, i) }));
  let basePreds: Point[][];
  let describe: string;
  if (baseline.kind === 'train' || baseline.kind === 'shape') {
    const shape = baseline.kind === 'shape' ? baseline.shape : meanShape(sized(baseline.data));
    basePreds = truth.map((_, i) => {
      const s = sizeOf(data, i);
      return meanShapePrediction(shape, s.width, s.height);
    });
    describe = baseline.describe;
  } else {
    const all = sized(data);
    basePreds = all.map((it, i) => (all.length > 1 ? meanShapePrediction(meanShape(all.filter((_, j) => j !== i)), it.width, it.height) : it.points.map(() => [it.width / 2, it.height / 2] as Point)));
    describe = `leave one out: each image scored against the mean shape of the other ${all.length - 1} evaluated images (no training annotations given)`;
  }
  const baseEval = evaluate(basePreds, truth, set.mmPerPixel);
  const perImage = evaluation.errors.map((e, i) => ({ id: set.ids[i]!, mre: avg(e), max: Math.max(...e), confidence: avg(confidence[i]!) }));
  return {
    evaluation,
    json: evaluationJson(evaluation, names),
    baseline: { evaluation: baseEval, json: evaluationJson(baseEval, names), describe },
    perImage,
    confidence,
    drawn: { predicted: points, truth: set.points },
    offsets: landmarkOffsets(preds, truth, names ?? data.landmarkNames ?? [], set.mmPerPixel),
  };
}

/** Indices of the `n` images with the largest MRE, worst first. */
export function worstImages(perImage: readonly ImageResult[], n: number): number[] {
  return perImage.map((r, i) => [r.mre, i] as const).sort((a, b) => b[0] - a[0]).slice(0, n).map(([, i]) => i);
}

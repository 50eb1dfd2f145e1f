/**
 * Learns the prediction guards of a model (host-neutral; `osteo calibrate` is the host):
 *   - the shape model from the training images' annotations (src/landmarks/shape_model.ts), with
 *     its implausibility limit set from the validation predictions' own z (so a normal
 *     prediction's error does not count as implausible);
 *   - the peak → expected-error calibration on the validation images (src/landmarks/calibration.ts),
 *     scored by whichever peak (coarse, refined, or both) ranks the errors best (Spearman);
 *   - the orientation check's threshold: below the lowest mean log coarse peak of a validation image.
 * The split is the training run's own (`valSplit`, `seed` of the checkpoint), so validation images
 * are ones the weights did not train on.
 */
import type { Point } from '../data/types';
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { fitErrorCalibration, spearman, type CalibrationSample } from '../landmarks/calibration';
import { mapPoints } from '../landmarks/preprocess';
import { learnShapeModel, type ShapeModel } from '../landmarks/shape_model';
import type { Checkpoint } from './checkpoint';
import { splitTrainValBySource, subset } from './data';
import { predictorFromCheckpoint } from './evaluate';
import { PredictionGuard, type CalibrationScore, type GuardModel } from './guards';
import type { PreparedData } from './prepare';
import type { LandmarkSet, LandmarkTrainer } from './trainer';

/**
 * Default flag threshold: 4 mm (the widest SDR radius), or the same share of the longer side in pixels (4 / 240: an
 * ISBI cephalogram is 240 mm tall).
 */
export const DEFAULT_FLAG_MM = 4;
export const DEFAULT_FLAG_SHARE = 4 / 240;
/** Orientation check: unsure below the lowest validation image's mean log coarse peak minus this. */
export const UNSURE_SLACK = 0.1;
/** Another orientation is taken when its mean log coarse peak beats the given image's by this. */
export const ORIENTATION_MARGIN = 0.1;

/** One validation point as the calibration sees it. */
export interface ValidationPoint {
  image: number;
  landmark: number;
  /** Peaks of the coarse and (two-stage models) the refinement stage. */
  coarse: number;
  refined: number;
  /** Shape-model z of the point. */
  z: number;
  /** Error as a fraction of the original image's longer side, and in `unit`. */
  errorRel: number;
  error: number;
}

/** Original size of image i of a set (its working copy's far corner mapped back). */
export function originalSize(set: LandmarkSet, i: number): { width: number; height: number } {
  const img = set.images[i]!;
  const m = set.toOriginal?.[i];
  if (!m) return { width: img.width, height: img.height };
  const [[x, y]] = mapPoints(m, [[img.width - 0.5, img.height - 0.5]]) as [Point];
  return { width: Math.round(x + 0.5), height: Math.round(y + 0.5) };
}

const originalPoints = (set: LandmarkSet, i: number, pts: Point[]): Point[] => (set.toOriginal?.[i] ? mapPoints(set.toOriginal[i]!, pts) : pts);

/** Shape model of a set's annotations (in original pixels). */
export function shapeModelOf(set: LandmarkSet): ShapeModel {
  return learnShapeModel(set.points.map((p, i) => originalPoints(set, i, p)));
}

/**
 * Predicts `set` with only the shape check (no orientation search, no re-decoding) and returns every point's peaks, z
 * and error.
 */
export async function validationPoints(trainer: LandmarkTrainer, set: LandmarkSet, shape: ShapeModel): Promise<{ points: ValidationPoint[]; unit: 'mm' | 'px'; imageScores: number[] }> {
  const guard = new PredictionGuard({ version: 1, shape: { ...shape, zLimit: Infinity } }, { orientation: 'off' });
  const saved = trainer.guard;
  trainer.guard = guard;
  try {
    const r = await trainer.predict(set.images, trainer.options.batch, 0);
    const unit = set.mmPerPixel.every((m) => m !== undefined) ? 'mm' : 'px';
    const out: ValidationPoint[] = [];
    const imageScores: number[] = [];
    r.points.forEach((pts, i) => {
      const g = r.guarded![i]!;
      const pred = originalPoints(set, i, pts), truth = originalPoints(set, i, set.points[i]!);
      const { width, height } = originalSize(set, i);
      const L = Math.max(width, height);
      const mm = unit === 'mm' ? set.mmPerPixel[i]! : 1;
      imageScores.push(g.coarseConfidence.reduce((a, c) => a + Math.log(Math.max(c, 1e-12)), 0) / g.coarseConfidence.length);
      pred.forEach((p, j) => {
        const e = Math.hypot(p[0] - truth[j]![0], p[1] - truth[j]![1]);
        out.push({ image: i, landmark: j, coarse: g.coarseConfidence[j]!, refined: r.confidence[i]![j]!, z: g.shapeZ![j]!, errorRel: e / L, error: e * mm });
      });
    });
    return { points: out, unit, imageScores };
  } finally {
    trainer.guard = saved;
  }
}

const quantile = (v: readonly number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
};

/** The score of a point under each scoring choice. */
export const scoreOf = (p: Pick<ValidationPoint, 'coarse' | 'refined'>, kind: CalibrationScore): number => {
  const c = Math.log(Math.max(p.coarse, 1e-12)), r = Math.log(Math.max(p.refined, 1e-12));
  return kind === 'coarse' ? c : kind === 'refined' ? r : c + r;
};

/** Settings of {@link learnGuards}. */
export interface LearnGuardOptions {
  /** Flag threshold in the data's unit (default 4 mm, or 4/240 of the longer side in px). */
  flagAbove?: number;
  /** z limit of the shape check (default: max(4, 1.5 × the validation points' 99th percentile z)). */
  zLimit?: number;
  /** Whether the model has a refinement stage (else only the coarse score is tried). */
  twoStage: boolean;
  /** The validation images' longer sides in the unit (median taken). */
  longerSides: number[];
  provenance?: Record<string, unknown>;
}

/** Guards from a shape model and validation points (pure: the bench refits them leaving images out). */
export function learnGuards(shape: ShapeModel, val: { points: ValidationPoint[]; unit: 'mm' | 'px'; imageScores: number[] }, k: number, o: LearnGuardOptions): { guards: GuardModel; spearman: Record<string, number> } {
  if (!val.points.length) throw new OsteoError('calibration needs validation images (the split left none: use a --val-split above 0)');
  const zLimit = o.zLimit ?? Math.max(4, 1.5 * quantile(val.points.map((p) => p.z), 0.99));
  const kinds: CalibrationScore[] = o.twoStage ? ['coarse', 'refined', 'both'] : ['coarse'];
  const errs = val.points.map((p) => p.errorRel);
  const rho: Record<string, number> = {};
  for (const kind of kinds) rho[kind] = spearman(val.points.map((p) => scoreOf(p, kind)), errs);
  // the score whose rank follows the error best (most negative correlation: higher peak, smaller error)
  const score = kinds.reduce((a, b) => (rho[b]! < rho[a]! ? b : a));
  const samples: CalibrationSample[] = val.points.map((p) => ({ landmark: p.landmark, score: scoreOf(p, score), error: p.errorRel }));
  const cal = fitErrorCalibration(samples, k);
  const sides = [...o.longerSides].sort((a, b) => a - b);
  const unitPerLongerSide = sides[Math.floor(sides.length / 2)]!;
  const flagAbove = o.flagAbove ?? (val.unit === 'mm' ? DEFAULT_FLAG_MM : DEFAULT_FLAG_SHARE * unitPerLongerSide);
  const scores = val.imageScores;
  const min = Math.min(...scores);
  const guards: GuardModel = {
    version: 1,
    shape: { ...shape, zLimit },
    calibration: { ...cal, score, unit: val.unit, unitPerLongerSide, flagAbove },
    orientation: { unsureBelow: min - UNSURE_SLACK, margin: ORIENTATION_MARGIN, validation: { min, median: quantile(scores, 0.5), n: scores.length } },
    ...(o.provenance ? { provenance: o.provenance } : {}),
  };
  return { guards, spearman: rho };
}

/** Settings of {@link calibrateCheckpoint}. */
export interface CalibrateOptions {
  /** Validation fraction and seed of the split (default: the checkpoint's training run's, else 0.1 and 1). */
  valSplit?: number;
  seed?: number;
  flagAbove?: number;
  zLimit?: number;
  /** Data spec, for provenance. */
  spec?: string;
  batch?: number;
}

/** What calibration found. */
export interface CalibrationResult {
  guards: GuardModel;
  train: number;
  val: number;
  unit: 'mm' | 'px';
  spearman: Record<string, number>;
  points: ValidationPoint[];
}

/** The split a checkpoint was trained with (its run settings), else the given / default one. */
export function runSplit(ck: Checkpoint, o: { valSplit?: number; seed?: number }): { valSplit: number; seed: number } {
  const run = ck.train.run ?? {};
  const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  return { valSplit: o.valSplit ?? num(run.valSplit) ?? 0.1, seed: o.seed ?? num(run.seed) ?? 1 };
}

/** Learns the guards of a checkpoint on prepared data (the training run's validation split). */
export async function calibrateCheckpoint(engine: Engine, ck: Checkpoint, data: PreparedData, o: CalibrateOptions = {}): Promise<CalibrationResult> {
  if (data.k !== ck.model.classes) throw new OsteoError(`checkpoint ${ck.path} predicts K=${ck.model.classes} landmarks, data ${data.spec} has K=${data.k}`);
  const { valSplit, seed } = runSplit(ck, o);
  const split = splitTrainValBySource(data.set.ids ?? data.set.images.map((_, i) => String(i)), valSplit, seed, data.sources);
  const train = subset(data.set, split.train);
  const val = subset(data.set, split.val);
  if (train.images.length < 2) throw new OsteoError(`calibration needs at least 2 training images for the shape model; ${data.spec} has ${train.images.length} after the split`);
  const shape = shapeModelOf(train);
  const p = predictorFromCheckpoint(engine, ck, { batch: o.batch ?? 4 });
  try {
    const pts = await validationPoints(p.trainer, val, shape);
    const sides = val.images.map((_, i) => {
      const s = originalSize(val, i);
      return Math.max(s.width, s.height) * (pts.unit === 'mm' ? val.mmPerPixel[i]! : 1);
    });
    const { guards, spearman: rho } = learnGuards(shape, pts, data.k, {
      twoStage: !!ck.refine, longerSides: sides,
      ...(o.flagAbove !== undefined ? { flagAbove: o.flagAbove } : {}), ...(o.zLimit !== undefined ? { zLimit: o.zLimit } : {}),
      provenance: { data: o.spec ?? data.spec, valSplit, seed, trainImages: train.images.length, valImages: val.images.length, valIds: val.ids ?? [] },
    });
    return { guards, train: train.images.length, val: val.images.length, unit: pts.unit, spearman: rho, points: pts.points };
  } finally {
    p.dispose();
  }
}

/**
 * Evaluation and inference with a checkpoint (host-neutral): a {@link Predictor} built from a
 * decoded checkpoint, MRE / SDR of a prepared data set, and the readable evaluation report.
 */
import type { Engine } from '../gpu/engine';
import type { Evaluation } from '../landmarks/metrics';
import type { RefineOptions } from '../landmarks/tta';
import { evaluationJson, type LandmarkStatsJson, type StatsJson } from '../landmarks/report_json';
import type { UnetPlusPlus } from '../model/unetpp';
import { modelFromCheckpoint, type Checkpoint } from './checkpoint';
import type { DecodeMethod } from './config';
import { round } from './format';
import { LandmarkCountError } from './init';
import type { PreparedData } from './prepare';
import { refinerFromCheckpoint } from './refine';
import { LandmarkTrainer } from './trainer';
import { PredictionGuard, type GuardOptions } from './guards';

/** A checkpoint's model ready for inference (no optimizer state). */
export interface Predictor {
  ck: Checkpoint;
  model: UnetPlusPlus;
  trainer: LandmarkTrainer;
  /** The prediction guards, when on (`opts.guards`; the trainer's `guard`): its `tally` counts what they did. */
  guard?: PredictionGuard;
  dispose(): void;
}

/**
 * The guards for a checkpoint, or undefined where they would do nothing: off, or a model without
 * calibration and no explicit orientation (`always` or a name).
 */
export function guardFor(ck: Checkpoint, opts: GuardOptions | false | undefined): PredictionGuard | undefined {
  if (opts === false || opts === undefined) return undefined;
  const o = opts.orientation;
  if (!ck.guards && (o === undefined || o === 'auto' || o === 'off')) return undefined;
  return new PredictionGuard(ck.guards, opts);
}

/** Builds the model of a decoded checkpoint for inference. */
export function predictorFromCheckpoint(engine: Engine, ck: Checkpoint, opts: { decode?: DecodeMethod; batch?: number; guards?: GuardOptions | false; refine?: RefineOptions } = {}): Predictor {
  const guard = guardFor(ck, opts.guards);
  const model = modelFromCheckpoint(engine, ck);
  const t = ck.train;
  const trainer = new LandmarkTrainer(engine, model, {
    size: t.size,
    batch: opts.batch ?? 4,
    lr: 0,
    sigma: t.sigma,
    loss: t.loss,
    mean: t.normalization.mean,
    std: t.normalization.std,
    decode: { method: opts.decode ?? t.decode ?? 'argmax' },
  });
  // a two-stage checkpoint: predict and evaluate refine the coarse points (src/train/refine.ts)
  const refine = refinerFromCheckpoint(engine, ck, opts.decode ? { method: opts.decode } : undefined, opts.refine);
  trainer.refiner = refine?.refiner;
  trainer.guard = guard;
  return {
    ck,
    model,
    trainer,
    ...(guard ? { guard } : {}),
    dispose() {
      refine?.dispose();
      trainer.dispose();
      model.dispose();
    },
  };
}

/** Throws a LandmarkCountError naming both counts when model and data disagree. */
export function checkK(ck: Checkpoint, k: number, dataSpec: string): void {
  if (ck.model.classes !== k) throw new LandmarkCountError(`checkpoint ${ck.path} predicts K=${ck.model.classes} landmarks, data ${dataSpec} has K=${k}`);
}

/** Evaluates a checkpoint on prepared data (errors in the original images' pixels, or mm). */
export async function evaluateCheckpoint(p: Predictor, data: PreparedData): Promise<Evaluation> {
  checkK(p.ck, data.k, data.spec);
  return (await p.trainer.evaluate(data.set, { keepHeatmaps: 0 })).evaluation;
}

/** The evaluation report (`osteo eval --json`, `--out`). */
export interface EvalReport {
  model: string;
  data: string;
  split: string | null;
  decode: string;
  images: number;
  skipped: number;
  unit: 'mm' | 'px';
  /** SDR radii in `unit`, increasing; each stats object's `sdrPercent` is keyed "<radius> <unit>". */
  sdrRadii: number[];
  overall: StatsJson;
  perLandmark: LandmarkStatsJson[];
  perImage: { id: string; mre: number; max: number }[];
}

/** The report of an evaluation of `meta.data`. */
export function evalReport(ev: Evaluation, meta: { model: string; data: PreparedData; split?: string; decode: string; names?: string[] }): EvalReport {
  return {
    model: meta.model,
    data: meta.data.spec,
    split: meta.split ?? null,
    decode: meta.decode,
    images: ev.errors.length,
    skipped: meta.data.skipped,
    ...evaluationJson(ev, meta.names),
    perImage: ev.errors.map((e, i) => ({ id: meta.data.set.ids[i]!, mre: round(e.reduce((a, b) => a + b, 0) / e.length, 4), max: round(Math.max(...e), 4) })),
  };
}

/**
 * One training run over prepared, in-memory data (host-neutral): the epoch loop with validation,
 * ReduceLROnPlateau, early stopping, and after every epoch `checkpoint-last.safetensors` (model,
 * optimizer, schedule, early stopping, history), `checkpoint-best.safetensors` when validation
 * MRE improves and `metrics.json`, all written through the host's {@link RunStore}. A run resumed
 * from its checkpoint-last equals an uninterrupted one (same data order and augmentation, restored
 * optimizer moments and schedule). An AbortSignal stops it between steps; the last finished
 * epoch's checkpoint stays.
 */
import { DataError } from '../data/types';
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { statsJson } from '../landmarks/report_json';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, checkpointBytes, modelFromCheckpoint, type Checkpoint, type EpochRecord, type TrainSettings } from './checkpoint';
import { EpochBook } from './epoch_book';
export { closedFormSchedule } from './epoch_book';
import { inFrozenBlocks, type TrainConfig } from './config';
import { splitTrainValBySource, subset } from './data';
import { fmt } from './format';
import { initModel, LandmarkCountError, type InitResult, type InitSource } from './init';
import { selectIds, type PreparedData } from './prepare';
import { utf8, type RunStore } from './store';
import { LandmarkTrainer, type StepInfo } from './trainer';

/** What a run reports while it trains. */
export type TrainProgress =
  /** A line for the user (init, model, epoch summaries, early stop). */
  | { kind: 'log'; message: string }
  /** An epoch begins: `steps` steps at learning rate `lr`. */
  | { kind: 'epoch-start'; epoch: number; epochs: number; steps: number; lr: number }
  /** A step finished; `runSecondsLeft` estimates the rest of the run from this epoch's pace. */
  | ({ kind: 'step'; lr: number; runSecondsLeft: number } & StepInfo)
  /** An epoch finished and was saved. */
  | { kind: 'epoch-end'; record: EpochRecord };

/** A finished (or resumed-and-finished) run. */
export interface TrainResult {
  /** The store's location (the run folder in Node). */
  out: string;
  init: string;
  initKind: InitResult['kind'];
  /** ImageNet init: the encoder layers that came from ImageNet, and those started from scratch (a partial file). */
  imagenetLayers?: string[];
  scratchLayers?: string[];
  epochs: number;
  bestEpoch: number;
  bestMetric: number | null;
  unit: 'mm' | 'px';
  history: EpochRecord[];
  finished: string;
  lastCheckpoint: string;
  bestCheckpoint: string;
  trainImages: number;
  valImages: number;
  skipped: number;
  seconds: number;
}

/** Everything a run needs besides its config. */
export interface RunOptions {
  /** The data, prepared at the config's size. */
  data: PreparedData;
  /** Where checkpoints and metrics.json go. */
  store: RunStore;
  /** The initial weights (ignored with `resume`). */
  init?: InitSource;
  /** Continue this run's checkpoint-last (its settings are used). */
  resume?: Checkpoint;
  /** Train only on these item ids of the data. */
  ids?: readonly string[];
  /** Progress; an exception thrown here ends the run (after the last saved epoch). */
  onProgress?: (p: TrainProgress) => void;
  /** Stops the run between steps with the signal's reason. */
  signal?: AbortSignal;
  /** Extra fields recorded in the checkpoints' run settings. */
  runExtra?: Record<string, unknown>;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
}

/**
 * Trains one model according to `c`, writing checkpoints and metrics.json into `o.store`.
 * Returns the run's summary. Throws on bad settings, K mismatch, divergence or abort.
 */
export async function runTraining(engine: Engine, c: TrainConfig, o: RunOptions): Promise<TrainResult> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const progress = o.onProgress ?? (() => undefined);
  const say = (message: string) => progress({ kind: 'log', message });
  const store = o.store;
  let data = o.data;
  if (data.size !== c.size) throw new RangeError(`prepared data is at ${data.size} px, the run needs ${c.size}`);
  if (o.ids) {
    data = selectIds(data, o.ids);
    if (data.set.images.length === 0) throw new DataError(c.data, undefined, 'none of the requested items is in the data set');
  }
  const split = splitTrainValBySource(data.set.ids, c.valSplit, c.seed, data.sources);
  const train = subset(data.set, split.train);
  const val = subset(data.set, split.val);

  const resume = o.resume;
  let init: InitResult;
  if (resume) {
    if (resume.model.classes !== data.k) throw new LandmarkCountError(`checkpoint ${resume.path} predicts K=${resume.model.classes} landmarks, data ${c.data} has K=${data.k}`);
    const n = resume.train.normalization;
    const run = resume.train.run as { initDescribe?: string; initKind?: InitResult['kind']; imagenetLayers?: string[]; scratchLayers?: string[] } | undefined;
    init = {
      model: modelFromCheckpoint(engine, resume), normalisation: { name: n.name, mean: n.mean, std: n.std }, describe: run?.initDescribe ?? 'resumed', kind: run?.initKind ?? 'checkpoint',
      ...(run?.imagenetLayers ? { imagenetLayers: run.imagenetLayers, scratchLayers: run.scratchLayers ?? [] } : {}),
    };
  } else {
    init = await initModel(engine, c, o.init ?? { kind: 'scratch' }, data.k, c.data);
  }
  const model = init.model;
  // Fine-tuning on few images: batch norm on its running statistics, and / or the first encoder blocks fixed.
  if (c.freezeBn) model.frozenBatchNorm = true;
  if (c.freezeEncoder) model.params.setTrainable(inFrozenBlocks(c.freezeEncoder), false);
  let trainer: LandmarkTrainer | undefined;
  try {
    say(`init: ${init.describe}${resume ? ` — resuming ${resume.path} after epoch ${resume.state.epoch}` : ''}`);
    say(`model: U-Net++/VGG19${c.widths ? ` (widths ${c.widths.join(',')})` : ''}, ${model.parameterCount.toLocaleString()} parameters, ${c.size}x${c.size}, K=${data.k}; ` +
      `train ${train.images.length} / val ${val.images.length} images; batch ${c.batch} x accum ${c.accum}, lr ${c.lr}, loss ${c.loss}, σ ${c.sigma}`);
    trainer = new LandmarkTrainer(engine, model, {
      size: c.size,
      batch: c.batch,
      accum: c.accum,
      lr: c.lr,
      weightDecay: c.weightDecay,
      ...(c.optimizer !== undefined ? { optimizer: c.optimizer } : {}),
      ...(c.momentum !== undefined ? { momentum: c.momentum } : {}),
      ...(c.clipGradNorm !== undefined ? { clipGradNorm: c.clipGradNorm } : {}),
      sigma: c.sigma,
      loss: c.loss,
      targetScale: c.targetScale,
      mean: init.normalisation.mean,
      std: init.normalisation.std,
      seed: c.seed,
      augment: c.augment ? {} : false,
      decode: { method: c.decode },
    });
    const book = new EpochBook(c, resume?.state);
    if (resume?.optimizer) trainer.optimizer.loadState(resume.optimizer);
    trainer.optimizer.lr = book.lr;
    // which encoder layers came from ImageNet (all, or a partial file's), in the checkpoint, metrics.json and the
    // summary
    const imagenetFields = init.imagenetLayers ? { imagenetLayers: init.imagenetLayers, scratchLayers: init.scratchLayers ?? [] } : {};
    const settings: TrainSettings = {
      size: c.size,
      sigma: c.sigma,
      loss: c.loss,
      targetScale: c.targetScale,
      normalization: init.normalisation,
      decode: c.decode,
      unit: data.unit,
      run: { ...c, initDescribe: init.describe, initKind: init.kind, ...imagenetFields, k: data.k, ...(o.runExtra ?? {}) },
    };
    if (data.landmarkNames) settings.landmarkNames = data.landmarkNames;
    const out = store.locate('');
    // without a validation split the best-epoch metric is the training loss, not an error in mm
    const bestUnit = val.images.length ? data.unit : 'training loss';
    const writeMetrics = async () => {
      const doc = {
        out, data: { spec: c.data, name: data.name, k: data.k, unit: data.unit, train: train.images.length, val: val.images.length, skipped: data.skipped, errors: data.errors.slice(0, 50) },
        init: init.describe, initKind: init.kind, ...imagenetFields, device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback,
        config: c, ...book.metrics(bestUnit),
      };
      await store.write('metrics.json', utf8(`${JSON.stringify(doc, null, 2)}\n`));
    };
    let evalSecs = 0;
    if (book.finished) say(`training already finished (${book.finished} after epoch ${book.epoch}); nothing to do`);
    while (book.running) {
      const epoch = book.epoch;
      o.signal?.throwIfAborted();
      const te = now();
      let ips = 0;
      const lrNow = trainer.optimizer.lr;
      progress({ kind: 'epoch-start', epoch: epoch + 1, epochs: c.epochs, steps: Math.max(1, Math.floor(train.images.length / c.batch)), lr: lrNow });
      const trainLoss = await trainer.trainEpoch(train, epoch, (s) => {
        ips = s.imagesPerSecond;
        // Whole-run estimate: this epoch's pace (plus validation, as measured so far) for the epochs left.
        const elapsed = (now() - te) / 1000;
        const epochSecs = (elapsed / s.step) * s.steps + evalSecs;
        const runSecondsLeft = epochSecs - elapsed + epochSecs * (c.epochs - epoch - 1);
        progress({ kind: 'step', ...s, lr: lrNow, runSecondsLeft });
        o.signal?.throwIfAborted();
      });
      if (!Number.isFinite(trainLoss)) throw new OsteoError(`training diverged in epoch ${epoch + 1} (loss ${trainLoss}); lower --lr (now ${lrNow})`);
      let valMre = trainLoss;
      let valStd = 0;
      let valSdrPercent: Record<string, number> = {};
      if (val.images.length) {
        const tv = now();
        const ev = (await trainer.evaluate(val, { keepHeatmaps: 0 })).evaluation;
        evalSecs = (now() - tv) / 1000;
        valMre = ev.overall.mre;
        valStd = ev.overall.std;
        valSdrPercent = statsJson(ev.overall, ev.unit, ev.thresholds).sdrPercent;
      }
      const rec = book.close({ trainLoss, valMre, valStd, valSdrPercent, unit: data.unit, lr: lrNow, seconds: (now() - te) / 1000, imagesPerSecond: ips });
      trainer.optimizer.lr = book.lr;
      const improved = rec.best;
      if (improved) await store.write(CHECKPOINT_BEST, await checkpointBytes(model, { train: settings, state: book.state() }));
      await store.write(CHECKPOINT_LAST, await checkpointBytes(model, { train: settings, state: book.state(), optimizer: await trainer.optimizer.state() }));
      await writeMetrics();
      progress({ kind: 'epoch-end', record: rec });
      say(`epoch ${rec.epoch}/${c.epochs}: loss ${trainLoss.toFixed(5)}, val MRE ${val.images.length ? `${fmt(valMre)} ± ${fmt(valStd)} ${data.unit}` : 'n/a (no validation split; metric = training loss)'}` +
        `, lr ${lrNow.toExponential(2)}${trainer.optimizer.lr !== lrNow ? ` → ${trainer.optimizer.lr.toExponential(2)}` : ''}, ${rec.seconds.toFixed(1)}s${improved ? ' (best)' : ''}`);
    }
    if (book.finished === 'early-stop') say(`early stop: no improvement for ${c.earlyStop} epochs (best ${fmt(book.bestMetric)} ${bestUnit} at epoch ${book.bestEpoch})`);
    if (!(await store.exists('metrics.json'))) await writeMetrics();
    return {
      out, init: init.describe, initKind: init.kind, ...imagenetFields, epochs: book.epoch, bestEpoch: book.bestEpoch, bestMetric: book.bestMetric, unit: data.unit, history: book.history, finished: book.finished || 'epochs',
      lastCheckpoint: store.locate(CHECKPOINT_LAST), bestCheckpoint: store.locate(CHECKPOINT_BEST), trainImages: train.images.length, valImages: val.images.length, skipped: data.skipped,
      seconds: (now() - t0) / 1000,
    };
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}

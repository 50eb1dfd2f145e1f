/**
 * The refinement stage (host-neutral): a second U-Net++ on crops around each coarse point.
 *
 * Design. A crop is `crop` × the image's longer side (34 mm on an ISBI cephalogram by default),
 * resampled to size × size pixels (src/landmarks/crop.ts), so the refinement network sees a
 * landmark at 0.5 mm per pixel where the coarse one sees the whole head at ~4 mm per pixel. The
 * network predicts all K heatmaps of a crop — every landmark that falls inside it is a target on
 * its own channel — and for the crop around coarse point j only channel j is decoded. Training
 * on every visible landmark (not only the one the crop was drawn for) resolves which of several
 * close landmarks (menton, gnathion, pogonion) is which, and gives more targets per crop.
 *
 * Training crops are centred at the truth plus an offset drawn from the coarse stage's own
 * validation errors (pred − truth, relative to the longer side, with a little jitter), so the
 * refiner learns exactly the corrections the coarse stage will ask of it; without validation
 * errors it falls back to a Gaussian of the coarse training error. Validation runs both stages:
 * the coarse points of the validation images are computed once, then refined every epoch.
 *
 * The checkpoints of a refinement run hold both stages (src/train/checkpoint.ts: the coarse
 * tensors and settings as the main model, the refiner under `refine.`), so `osteo predict`,
 * `osteo eval`, the library's `predict` and the web app load a pair as one file.
 */
import type { GreyImage, Point } from '../data/types';
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { CropSource, cropSide, drawOffset } from '../landmarks/crop';
import { decodeChannel, type DecodeOptions } from '../landmarks/decode';
import { checkRefineOptions, meanPoint, ttaViews, type CropView, type RefineOptions } from '../landmarks/tta';
import { evaluate, type Evaluation } from '../landmarks/metrics';
import { applyAffine, mapPoints } from '../landmarks/preprocess';
import { statsJson } from '../landmarks/report_json';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import { makeRng, permutation } from '../nn/random';
import { UNETPP_DECODER_CHANNELS, VGG19_WIDTHS } from '../weights/index';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, checkpointBytes, modelFromCheckpoint, refineModelFromCheckpoint, type Checkpoint, type RefineSettings, type TrainingState } from './checkpoint';
import { REFINE_DEFAULTS, type TrainConfig } from './config';
import { splitTrainValBySource, subset } from './data';
import { fmt } from './format';
import { DEFAULT_NORMALISATION } from './init';
import type { PreparedData } from './prepare';
import { EpochBook } from './epoch_book';
import type { TrainProgress, TrainResult } from './run';
import { utf8, type RunStore } from './store';
import { LandmarkTrainer, type LandmarkSet, type PointRefiner } from './trainer';

/** Crops per forward pass at inference. */
const INFER_BATCH = 8;

/** Longer side of an image. */
const longerSide = (im: { width: number; height: number }): number => Math.max(im.width, im.height);

/** The network's heatmaps (N, K, size, size) of N normalised crops (N, 1, size, size). */
export type CropForward = (input: Float32Array, n: number) => Promise<Float32Array>;

/** What {@link refineAt} needs of a refinement stage. */
export interface RefineStage {
  settings: Pick<RefineSettings, 'size' | 'crop' | 'normalization'>;
  /** Landmarks (the network's channels). */
  k: number;
  forward: CropForward;
  decode: DecodeOptions;
}

/**
 * One refinement pass: for each image and landmark j, the crops of `views` around `centers[i][j]`,
 * channel j of each decoded and mapped back to the image through that crop's inverse affine, the
 * views' points averaged (their peaks too).
 */
export async function refineAt(stage: RefineStage, images: GreyImage[], centers: Point[][], views: readonly CropView[] = ttaViews('none')): Promise<{ points: Point[][]; confidence: number[][] }> {
  const { size, crop, normalization } = stage.settings;
  const { k } = stage;
  const plane = size * size;
  const v = views.length;
  const points: Point[][] = [];
  const confidence: number[][] = [];
  for (let i = 0; i < images.length; i++) {
    const img = images[i]!;
    const source = new CropSource(img, cropSide(img, crop), size);
    const px = source.side / size; // original pixels per crop pixel
    // crop j·v + t: landmark j, view t
    const samples = centers[i]!.flatMap((c) => views.map((w) => source.crop([c[0] + w.dx * px, c[1] + w.dy * px], undefined, {
      size, mean: normalization.mean, std: normalization.std, heatmaps: false, zoom: w.zoom,
    })));
    const found: Point[] = new Array(samples.length);
    const peaks: number[] = new Array(samples.length);
    for (let s = 0; s < samples.length; s += INFER_BATCH) {
      const chunk = samples.slice(s, s + INFER_BATCH);
      const input = new Float32Array(chunk.length * plane);
      chunk.forEach((smp, b) => input.set(smp.input, b * plane));
      const hm = await stage.forward(input, chunk.length);
      chunk.forEach((smp, b) => {
        const j = Math.floor((s + b) / v);
        const r = decodeChannel(hm, (b * k + j) * plane, size, size, stage.decode);
        found[s + b] = applyAffine(smp.toOriginal, r.point);
        peaks[s + b] = r.confidence;
      });
    }
    const pts: Point[] = [];
    const conf: number[] = [];
    for (let j = 0; j < centers[i]!.length; j++) {
      pts.push(v === 1 ? found[j]! : meanPoint(found.slice(j * v, j * v + v)));
      conf.push(peaks.slice(j * v, j * v + v).reduce((a, b) => a + b, 0) / v);
    }
    points.push(pts);
    confidence.push(conf);
  }
  return { points, confidence };
}

/**
 * Refined points after `options.passes` passes with the TTA views of `options.tta`; in every
 * pass, where the refined peak is below `minConfidence` the point of the pass before stays.
 * The confidence is the last pass's.
 */
export async function refineWithOptions(stage: RefineStage, images: GreyImage[], coarse: Point[][], minConfidence: number | undefined, options: RefineOptions = {}): Promise<{ points: Point[][]; confidence: number[][] }> {
  const o = checkRefineOptions(options);
  const views = ttaViews(o.tta, o.shift);
  let points = coarse;
  let confidence: number[][] = [];
  for (let p = 0; p < o.passes; p++) {
    const raw = await refineAt(stage, images, points, views);
    points = keepConfident(raw, points, minConfidence);
    confidence = raw.confidence;
  }
  return { points, confidence };
}

/**
 * Applies a refinement network to coarse points: one crop per landmark around its coarse point,
 * channel j of crop j decoded and mapped back to the image; `options` (passes, TTA) change that
 * at inference only.
 */
export class Refiner implements PointRefiner {
  private readonly trainer: LandmarkTrainer;
  /** Inference-time options (passes, test-time augmentation); the defaults are the trained behaviour. */
  options: RefineOptions;

  constructor(
    readonly engine: Engine,
    readonly model: UnetPlusPlus,
    readonly settings: Omit<RefineSettings, 'model'>,
    private readonly decode: DecodeOptions = { method: settings.decode },
    options: RefineOptions = {},
  ) {
    this.options = checkRefineOptions(options);
    this.trainer = new LandmarkTrainer(engine, model, {
      size: settings.size, batch: INFER_BATCH, lr: 0, sigma: settings.sigma, loss: settings.loss, mean: settings.normalization.mean, std: settings.normalization.std,
    });
  }

  /** The network behind the crop → decode → back-map path (for measuring passes and views separately). */
  get stage(): RefineStage {
    return { settings: this.settings, k: this.model.config.classes, forward: (input, n) => this.trainer.forward(input, n), decode: this.decode };
  }

  /**
   * Refined points; where the refined peak is below `settings.minConfidence` (a crop whose
   * landmark the refiner does not find) the coarse point stays. With `options`: more passes, TTA.
   */
  async refine(images: GreyImage[], coarse: Point[][]): Promise<{ points: Point[][]; confidence: number[][] }> {
    return refineWithOptions(this.stage, images, coarse, this.settings.minConfidence, this.options);
  }

  /** Refined points of every crop, whatever its peak (one pass, no TTA: what training validates). */
  async refineAll(images: GreyImage[], coarse: Point[][]): Promise<{ points: Point[][]; confidence: number[][] }> {
    return refineAt(this.stage, images, coarse);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

/** Refined points where their peak reaches `min`, coarse points elsewhere. */
export function keepConfident(raw: { points: Point[][]; confidence: number[][] }, coarse: Point[][], min: number | undefined): Point[][] {
  if (min === undefined) return raw.points;
  return raw.points.map((pts, i) => pts.map((p, j) => (raw.confidence[i]![j]! >= min ? p : coarse[i]![j]!)));
}

/**
 * The confidence threshold (a refined peak below it keeps the coarse point) with the lowest MRE
 * on a validation set, among "always refine", deciles of the refined peaks and "never refine".
 */
export function chooseMinConfidence(set: LandmarkSet, raw: { points: Point[][]; confidence: number[][] }, coarse: Point[][]): { min: number | undefined; mre: number; mreAll: number } {
  const peaks = raw.confidence.flat().sort((a, b) => a - b);
  const candidates: (number | undefined)[] = [undefined, ...[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => peaks[Math.floor(q * (peaks.length - 1))]!), Infinity];
  const mreAll = evaluateOn(set, raw.points).overall.mre;
  let best = { min: undefined as number | undefined, mre: mreAll, mreAll };
  for (const m of candidates.slice(1)) {
    const mre = evaluateOn(set, keepConfident(raw, coarse, m)).overall.mre;
    if (mre < best.mre) best = { min: m, mre, mreAll };
  }
  return best;
}

/** The refiner of a two-stage checkpoint (undefined for a one-stage one); dispose it and its model. */
export function refinerFromCheckpoint(engine: Engine, ck: Checkpoint, decode?: DecodeOptions, options: RefineOptions = {}): { refiner: Refiner; dispose(): void } | undefined {
  const model = refineModelFromCheckpoint(engine, ck);
  if (!model || !ck.refine) return undefined;
  const { model: _m, ...settings } = ck.refine.settings;
  const refiner = new Refiner(engine, model, settings, decode ?? { method: settings.decode }, options);
  return {
    refiner,
    dispose() {
      refiner.dispose();
      model.dispose();
    },
  };
}

/** Everything a refinement run needs besides its config. */
export interface RefineRunOptions {
  /** The data, prepared at {@link refineCacheSize}. */
  data: PreparedData;
  store: RunStore;
  /** The coarse stage. */
  coarse: Checkpoint;
  /**
   * A two-stage checkpoint whose refinement network to fine-tune (its crop and normalisation are
   * kept); absent: a new network from scratch.
   */
  initRefine?: Checkpoint;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * The size to prepare (cache) the data at for a refinement run: working copies large enough
 * that a crop of `crop` × the longer side has at least `size` pixels (no upsampling).
 */
export function refineCacheSize(c: Pick<TrainConfig, 'size' | 'crop'>): number {
  const crop = c.crop ?? REFINE_DEFAULTS.crop;
  // buildSet keeps the longer side at 1.5 × this size (src/train/data.ts CACHE_FACTOR)
  return Math.ceil(c.size / crop / 1.5 / 32) * 32;
}

/** The coarse stage's points and errors on a set (points in the set's image pixels). */
async function coarsePoints(engine: Engine, ck: Checkpoint, set: LandmarkSet): Promise<Point[][]> {
  if (!set.images.length) return [];
  const model = modelFromCheckpoint(engine, ck);
  const t = ck.train;
  const trainer = new LandmarkTrainer(engine, model, { size: t.size, batch: 4, lr: 0, sigma: t.sigma, loss: t.loss, mean: t.normalization.mean, std: t.normalization.std, decode: { method: t.decode } });
  try {
    return (await trainer.predict(set.images, 4, 0)).points;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** Errors of points against a set's truth, in original pixels / mm (through `toOriginal`). */
function evaluateOn(set: LandmarkSet, points: Point[][]): Evaluation {
  const back = (pts: Point[], i: number): Point[] => {
    const m = set.toOriginal?.[i];
    return m ? mapPoints(m, pts) : pts;
  };
  return evaluate(points.map(back), set.points.map(back), set.mmPerPixel);
}

/**
 * Trains the refinement stage for the coarse checkpoint `o.coarse`, writing two-stage
 * checkpoints (best by two-stage validation MRE) and metrics.json into `o.store`.
 */
export async function runRefineTraining(engine: Engine, c: TrainConfig, o: RefineRunOptions): Promise<TrainResult> {
  const now = o.now ?? (() => performance.now());
  const t0 = now();
  const progress = o.onProgress ?? (() => undefined);
  const say = (message: string) => progress({ kind: 'log', message });
  const { data, store, coarse } = o;
  if (coarse.model.classes !== data.k) throw new OsteoError(`coarse checkpoint ${coarse.path} predicts K=${coarse.model.classes} landmarks, data ${c.data} has K=${data.k}`);
  const crop = c.crop ?? REFINE_DEFAULTS.crop;
  const split = splitTrainValBySource(data.set.ids, c.valSplit, c.seed, data.sources);
  const train = subset(data.set, split.train);
  const val = subset(data.set, split.val);

  // The coarse stage on the validation images (once): its errors set the crop offsets, its points are what validation
  // refines.
  const valCoarse = await coarsePoints(engine, coarse, val);
  const errSet = val.images.length ? val : train;
  const errCoarse = val.images.length ? valCoarse : await coarsePoints(engine, coarse, train);
  const offsets: Point[] = [];
  errCoarse.forEach((pts, i) => {
    const L = longerSide(errSet.images[i]!);
    pts.forEach((p, j) => offsets.push([(p[0] - errSet.points[i]![j]![0]) / L, (p[1] - errSet.points[i]![j]![1]) / L]));
  });
  const sigmaRel = Math.sqrt(offsets.reduce((a, [x, y]) => a + x * x + y * y, 0) / Math.max(1, 2 * offsets.length));
  const coarseEval = evaluateOn(errSet, errCoarse);
  say(`coarse stage ${coarse.path}: ${val.images.length ? 'validation' : 'training'} MRE ${fmt(coarseEval.overall.mre)} ${coarseEval.unit} over ${offsets.length} points` +
    ` (RMS per axis ${(100 * sigmaRel).toFixed(2)} % of the longer side; crop ${(100 * crop).toFixed(1)} %, ${c.size} px)`);
  const outside = offsets.filter(([x, y]) => Math.max(Math.abs(x), Math.abs(y)) > crop / 2).length;
  if (outside) say(`note: ${outside} of ${offsets.length} coarse errors fall outside the crop (±${(50 * crop).toFixed(1)} % of the longer side); a larger --crop covers them`);

  const from = o.initRefine;
  if (from && !from.refine) throw new OsteoError(`${from.path} holds no refinement stage to fine-tune (a one-stage checkpoint)`);
  if (from?.refine && from.refine.settings.model.classes !== data.k) throw new OsteoError(`${from.path}'s refinement stage predicts K=${from.refine.settings.model.classes} landmarks, data ${c.data} has K=${data.k}`);
  if (from?.refine && Math.abs(from.refine.settings.crop - crop) > 1e-9) throw new OsteoError(`${from.path}'s refinement stage was trained on crops of ${from.refine.settings.crop}; fine-tune it with --crop ${from.refine.settings.crop}`);
  const model = from ? refineModelFromCheckpoint(engine, from)! : new UnetPlusPlus(engine, { classes: data.k, inChannels: 1, widths: c.widths ?? [...VGG19_WIDTHS], decoderChannels: c.decoder ?? [...UNETPP_DECODER_CHANNELS] });
  let trainer: LandmarkTrainer | undefined;
  let refiner: Refiner | undefined;
  try {
    if (!from) initializeUnetPP(model, c.seed);
    else say(`refinement network fine-tuned from ${from.path}`);
    const norm = from?.refine ? { ...from.refine.settings.normalization } : { ...DEFAULT_NORMALISATION };
    const settings: Omit<RefineSettings, 'model'> & { minConfidence?: number } = {
      size: c.size, crop, sigma: c.sigma, loss: c.loss, targetScale: c.targetScale, normalization: norm, decode: c.decode,
      coarseError: { mre: coarseEval.overall.mre, unit: coarseEval.unit, sigmaRel, n: offsets.length },
      run: { ...c, k: data.k },
    };
    trainer = new LandmarkTrainer(engine, model, { size: c.size, batch: c.batch, accum: c.accum, lr: c.lr, weightDecay: c.weightDecay, ...(c.optimizer !== undefined ? { optimizer: c.optimizer } : {}), ...(c.momentum !== undefined ? { momentum: c.momentum } : {}), sigma: c.sigma, loss: c.loss, targetScale: c.targetScale, mean: norm.mean, std: norm.std, seed: c.seed });
    refiner = new Refiner(engine, model, settings);
    const perImage = Math.min(data.k, c.crops ?? data.k);
    say(`refine model: U-Net++/VGG19${c.widths ? ` (widths ${c.widths.join(',')})` : ''}, ${model.parameterCount.toLocaleString()} parameters, crops ${c.size}x${c.size}, K=${data.k}; ` +
      `train ${train.images.length} images x ${perImage} crops / val ${val.images.length} images; batch ${c.batch}, lr ${c.lr}, loss ${c.loss}, σ ${c.sigma}`);

    const sources = train.images.map((im) => new CropSource(im, cropSide(im, crop), c.size));
    const augment = c.augment ? { rotationDeg: 10, scale: [0.9, 1.1] as [number, number] } : false;
    const book = new EpochBook(c);
    trainer.optimizer.lr = book.lr;
    const coarseTrain = { train: coarse.train, model: modelFromCheckpoint(engine, coarse) };
    const out = store.locate('');
    const bestUnit = val.images.length ? data.unit : 'training loss';
    const save = async (name: string) => {
      await store.write(name, await checkpointBytes(coarseTrain.model, { train: coarseTrain.train, state: book.state(), refine: { model, settings } }));
    };
    const writeMetrics = async () => {
      const doc = {
        out, stage: 'refine', coarse: coarse.path, coarseError: settings.coarseError,
        data: { spec: c.data, name: data.name, k: data.k, unit: data.unit, train: train.images.length, val: val.images.length, skipped: data.skipped },
        device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback,
        config: c, ...book.metrics(bestUnit),
      };
      await store.write('metrics.json', utf8(`${JSON.stringify(doc, null, 2)}\n`));
    };
    try {
      while (book.running) {
        const epoch = book.epoch;
        o.signal?.throwIfAborted();
        const te = now();
        const lrNow = trainer.optimizer.lr;
        // this epoch's crops: (image, landmark) pairs, `perImage` landmarks per image, in a seeded order
        const rng = makeRng((c.seed * 1_000_003 + epoch * 7919) >>> 0);
        const pairs: [number, number][] = [];
        train.images.forEach((_, i) => permutation(data.k, (c.seed + epoch * 131 + i * 7) >>> 0).slice(0, perImage).forEach((j) => pairs.push([i, j])));
        const order = permutation(pairs.length, (c.seed * 31 + epoch) >>> 0);
        const b = c.batch;
        const steps = Math.max(1, Math.floor(order.length / b));
        progress({ kind: 'epoch-start', epoch: epoch + 1, epochs: c.epochs, steps, lr: lrNow });
        trainer.optimizer.zeroGrad();
        let total = 0;
        for (let s = 0; s < steps; s++) {
          const batch = order.slice(s * b, s * b + b).map((p) => {
            const [i, j] = pairs[p]!;
            const im = train.images[i]!;
            const truth = train.points[i]!;
            const off = drawOffset(rng, longerSide(im), offsets, sigmaRel);
            const center: Point = [truth[j]![0] + off[0], truth[j]![1] + off[1]];
            return sources[i]!.crop(center, truth, { size: c.size, sigma: c.sigma, mean: norm.mean, std: norm.std, augment: augment ? { ...augment } : false, seed: rng.int(0, 2 ** 31) });
          });
          const update = (s + 1) % c.accum === 0 || s === steps - 1;
          const inGroup = update ? s - Math.floor(s / c.accum) * c.accum + 1 : c.accum;
          const loss = await trainer.step(batch, update, inGroup);
          total += loss;
          const elapsed = (now() - te) / 1000;
          progress({ kind: 'step', epoch, step: s + 1, steps, loss, imagesPerSecond: ((s + 1) * b) / elapsed, lr: lrNow, runSecondsLeft: (elapsed / (s + 1)) * (steps * (c.epochs - epoch) - s - 1) });
          o.signal?.throwIfAborted();
        }
        const trainLoss = total / steps;
        if (!Number.isFinite(trainLoss)) throw new OsteoError(`training diverged in epoch ${epoch + 1} (loss ${trainLoss}); lower --lr (now ${lrNow})`);
        let valMre = trainLoss, valStd = 0;
        let valSdrPercent: Record<string, number> = {};
        let note = '';
        let everyCropRefinedMre: number | undefined;
        if (val.images.length) {
          const raw = await refiner.refineAll(val.images, valCoarse);
          const pick = chooseMinConfidence(val, raw, valCoarse);
          // the threshold this epoch's weights are saved with (Infinity: this refiner never helps yet)
          if (pick.min === undefined) delete settings.minConfidence;
          else settings.minConfidence = Number.isFinite(pick.min) ? pick.min : Number.MAX_VALUE;
          everyCropRefinedMre = pick.mreAll;
          note = `, every crop refined ${fmt(pick.mreAll)}${pick.min === undefined ? '' : `, peaks < ${Number.isFinite(pick.min) ? pick.min.toPrecision(3) : '∞'} keep the coarse point`}`;
          const ev = evaluateOn(val, keepConfident(raw, valCoarse, settings.minConfidence));
          valMre = ev.overall.mre;
          valStd = ev.overall.std;
          valSdrPercent = statsJson(ev.overall, ev.unit, ev.thresholds).sdrPercent;
        }
        const rec = book.close({ trainLoss, valMre, valStd, valSdrPercent, unit: data.unit, lr: lrNow, seconds: (now() - te) / 1000, imagesPerSecond: (steps * b) / ((now() - te) / 1000), ...(everyCropRefinedMre !== undefined ? { everyCropRefinedMre } : {}) });
        trainer.optimizer.lr = book.lr;
        const improved = rec.best;
        if (improved) await save(CHECKPOINT_BEST);
        await save(CHECKPOINT_LAST);
        await writeMetrics();
        progress({ kind: 'epoch-end', record: rec });
        say(`epoch ${rec.epoch}/${c.epochs}: loss ${trainLoss.toFixed(5)}, val MRE (coarse + refine) ${val.images.length ? `${fmt(valMre)} ± ${fmt(valStd)} ${data.unit}` : 'n/a'}` +
          ` (coarse alone ${fmt(coarseEval.overall.mre)}${note}), lr ${lrNow.toExponential(2)}, ${rec.seconds.toFixed(1)}s${improved ? ' (best)' : ''}`);
      }
    } finally {
      coarseTrain.model.dispose();
    }
    if (book.finished === 'early-stop') say(`early stop: no improvement for ${c.earlyStop} epochs (best ${fmt(book.bestMetric)} ${bestUnit} at epoch ${book.bestEpoch})`);
    return {
      out, init: from ? from.path : 'scratch', initKind: from ? 'checkpoint' : 'scratch', epochs: book.epoch, bestEpoch: book.bestEpoch, bestMetric: book.bestMetric, unit: data.unit, history: book.history, finished: book.finished || 'epochs',
      lastCheckpoint: store.locate(CHECKPOINT_LAST), bestCheckpoint: store.locate(CHECKPOINT_BEST), trainImages: train.images.length, valImages: val.images.length, skipped: data.skipped,
      seconds: (now() - t0) / 1000,
    };
  } finally {
    refiner?.dispose();
    trainer?.dispose();
    model.dispose();
  }
}

/**
 * One two-stage checkpoint from a coarse checkpoint and the refinement stage of another (e.g. a
 * refinement trained around an earlier coarse epoch, paired with the finished coarse run): the
 * confidence threshold is chosen again on `val` for this pair. Returns the bytes and the
 * validation MRE of the coarse stage, of refining every crop, and of the pair.
 */
export async function pairStages(engine: Engine, coarse: Checkpoint, refined: Checkpoint, val: LandmarkSet, extra: { landmarkNames?: string[] } = {}): Promise<{ bytes: Uint8Array; coarseMre: number; mreAll: number; mre: number; minConfidence: number | undefined }> {
  if (!refined.refine) throw new OsteoError(`${refined.path} holds no refinement stage`);
  if (refined.refine.settings.model.classes !== coarse.model.classes) throw new OsteoError(`${refined.path} refines K=${refined.refine.settings.model.classes} landmarks, ${coarse.path} predicts K=${coarse.model.classes}`);
  const pts = await coarsePoints(engine, coarse, val);
  const coarseMre = evaluateOn(val, pts).overall.mre;
  const model = modelFromCheckpoint(engine, coarse);
  const rmodel = refineModelFromCheckpoint(engine, refined)!;
  const { model: _m, minConfidence: _c, ...settings } = refined.refine.settings;
  const refiner = new Refiner(engine, rmodel, settings);
  try {
    const raw = await refiner.refineAll(val.images, pts);
    const pick = chooseMinConfidence(val, raw, pts);
    const min = pick.min === undefined ? undefined : Number.isFinite(pick.min) ? pick.min : Number.MAX_VALUE;
    const { run: _r, ...train } = coarse.train;
    const bytes = await checkpointBytes(model, {
      train: { ...train, ...(extra.landmarkNames && !train.landmarkNames ? { landmarkNames: extra.landmarkNames } : {}), run: { ...(coarse.train.run ?? {}), pairedWith: refined.path } },
      state: { ...coarse.state, optimizer: undefined } as TrainingState,
      refine: { model: rmodel, settings: { ...settings, ...(min !== undefined ? { minConfidence: min } : {}) } },
    });
    return { bytes, coarseMre, mreAll: pick.mreAll, mre: pick.mre, minConfidence: min };
  } finally {
    refiner.dispose();
    rmodel.dispose();
    model.dispose();
  }
}

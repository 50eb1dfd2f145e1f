/**
 * The public model API, host-neutral: create a U-Net++/VGG19, load and save checkpoints as bytes,
 * load ImageNet encoder weights from bytes, predict points on images, evaluate, and train on an
 * in-memory data set. The Node entry (`osteo`) and the browser entry (`osteo/browser`) add file,
 * URL and image-element inputs on top of this.
 */
import type { GreyImage, PixelSpacing, Point } from '../data/types';
import type { Engine } from '../gpu/engine';
import { DisposedError, OsteoError } from '../gpu/errors';
import { evaluate } from '../landmarks/metrics';
import { evaluationJson, type EvaluationJson } from '../landmarks/report_json';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import { checkpointBytes, CHECKPOINT_BEST, decodeCheckpoint, modelFromCheckpoint, refineModelFromCheckpoint, type Checkpoint, type Normalisation, type RefineSettings, type TrainSettings } from '../train/checkpoint';
import { Refiner } from '../train/refine';
import type { RefineOptions } from '../landmarks/tta';
import { PredictionGuard, type GuardModel, type GuardOptions, type PointFlag } from '../train/guards';
import { TRAIN_DEFAULTS, withDefaults, type DecodeMethod, type LossName, type TrainConfig } from '../train/config';
import { DEFAULT_NORMALISATION, loadImagenetEncoder, type InitSource } from '../train/init';
import { inMemoryDataset, prepareData, type InMemoryDataset, type PreparedData } from '../train/prepare';
import { runTraining, type TrainProgress, type TrainResult } from '../train/run';
import { MemoryStore, type RunStore } from '../train/store';
import { LandmarkTrainer } from '../train/trainer';
import { readWeights, UNETPP_DECODER_CHANNELS, VGG19_WIDTHS } from '../weights/index';
import { greyImage, isGreyPixels, type GreyPixels } from '../data/pixels';
import { heatmapProbabilities } from '../landmarks/probabilities';
import '../gpu/dispose';

/** Turns a host's image input into grey pixels (the Node and browser entries supply one). */
export type ImageDecoder<I> = (input: I, name: string) => Promise<GreyImage>;

/** Settings of a new model. */
export interface ModelOptions {
  /** Number of landmarks. */
  landmarks: number;
  /** Name of each landmark (default "1", "2", …). */
  landmarkNames?: string[];
  /** Model input side in pixels, a multiple of 32 (default 256). */
  size?: number;
  /** Channels of the 16 VGG19 convs (default VGG19's; narrow models train fast on a CPU). */
  widths?: number[];
  /** Channels of the 5 decoder stages (default 256,128,64,32,16). */
  decoderChannels?: number[];
  /** Seed of the random initialisation (default 1). */
  seed?: number;
  /** Heatmap → point decoding (default argmax). */
  decode?: DecodeMethod;
}

/** Landmarks found on one image. */
export interface Prediction {
  /** One [x, y] per landmark, in the input image's pixels. */
  points: [number, number][];
  /** Per landmark: the heatmap peak (higher: surer). */
  confidence: number[];
  /** Landmark names, in the order of `points`. */
  names: string[];
  /** Size of the input image. */
  width: number;
  height: number;
  /** The image file's pixel spacing (DICOM PixelSpacing, MetaImage ElementSpacing…), when it has one. */
  spacing?: PixelSpacing;
  /** With a spacing: `points` in mm from the image's top-left pixel centre (x · spacing.x, y · spacing.y). */
  pointsMm?: [number, number][];
  /**
   * With `{ heatmaps: true }`: K maps of size × size, row-major, landmark after landmark, as
   * probabilities in [0, 1] for every training loss (src/landmarks/probabilities.ts); of the coarse
   * stage, in the orientation the points were found in.
   */
  heatmaps?: { size: number; data: Float32Array };
  /**
   * The orientation the points were found in: "identity" (as given), or e.g. "mirror" (a
   * cephalogram facing left), "rot90", "inverted"; `points` are always in the input's own pixels.
   * Absent when the guards did not run (`guards: false`, or a model without calibration).
   */
  orientation?: string;
  /** Per landmark: the error calibration expects, in the input's pixels (a calibrated model; docs/guards.md). */
  expectedError?: number[];
  /** With a spacing: `expectedError` in mm. */
  expectedErrorMm?: number[];
  /**
   * Per landmark: the guards' flags ("low-confidence", "implausible", "redecoded", "orientation-unsure";
   * docs/guards.md).
   */
  flags?: PointFlag[][];
  /** What the guards want a user to know (orientation changed, guards skipped for want of calibration, …). */
  warnings?: string[];
}

/** Options of {@link LandmarkModel.predict}. */
export interface PredictOptions {
  /** Also return the heatmaps. */
  heatmaps?: boolean;
  /** Images per GPU batch (default 4). */
  batch?: number;
  /**
   * The orientation, shape and calibrated-confidence guards (docs/guards.md): options, or false to
   * turn them off. Default: on, orientation 'auto', the model's flag threshold.
   */
  guards?: GuardOptions | false;
  /**
   * Two-stage models: the refinement's inference options (more passes, test-time augmentation
   * of the crops). Default: one pass, no augmentation.
   */
  refine?: RefineOptions;
}

/** Mean radial error, SDR and per-landmark statistics (mm when every image has a spacing). */
export type EvaluationReport = EvaluationJson;

/** The training recipe as the library takes it: every field optional (defaults of src/train/config.ts). */
export type TrainRecipe = Partial<Omit<TrainConfig, 'data' | 'init' | 'weights' | 'out' | 'split' | 'strict' | 'limit'>>;

/** Options of {@link train}. */
export interface TrainOptions<I = GreyPixels> {
  /** Initial weights: random (default), ImageNet VGG19 encoder weights (file bytes), or a model to fine-tune. */
  init?: 'scratch' | { imagenet: Uint8Array; name?: string } | LandmarkModel<I>;
  /** Where checkpoints and metrics.json go (default: memory). */
  store?: RunStore;
  /** Progress: log lines, steps, epochs. */
  onProgress?: (p: TrainProgress) => void;
  /** Stops training between steps (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Turns image inputs into pixels (the host entries supply it). */
  decoder?: ImageDecoder<I>;
}

/** Bad use of the public API (a wrong input kind, a checkpoint URL that does not answer). */
export class ApiError extends OsteoError {}

const defaultNames = (k: number): string[] => Array.from({ length: k }, (_, i) => String(i + 1));

/** A landmark model on an engine: predict, evaluate, save. Create one with createModel, loadModel or train. */
export class LandmarkModel<I = GreyPixels> {
  private disposed = false;

  /** @internal Use createModel / loadModel / train. */
  constructor(
    readonly engine: Engine,
    private readonly net: UnetPlusPlus,
    private readonly settings: TrainSettings,
    private readonly decoder: ImageDecoder<I> | undefined,
    /** The refinement stage of a two-stage model (src/train/refine.ts). */
    private readonly refineStage?: { model: UnetPlusPlus; settings: Omit<RefineSettings, 'model'> },
    /** Shape model and calibration of the prediction guards (`osteo calibrate`). */
    private readonly guardModel?: GuardModel,
  ) {}

  /** Whether the model carries the guards' calibration (shape model, expected errors). */
  get calibrated(): boolean {
    return this.guardModel !== undefined;
  }

  /** Whether predictions are refined by a second stage on crops around the coarse points. */
  get twoStage(): boolean {
    return this.refineStage !== undefined;
  }

  /** Number of landmarks. */
  get landmarks(): number {
    return this.net.config.classes;
  }

  /** Landmark names. */
  get landmarkNames(): string[] {
    return this.settings.landmarkNames ?? defaultNames(this.landmarks);
  }

  /** Model input side in pixels. */
  get size(): number {
    return this.settings.size;
  }

  /** The loss the model was trained with (fine-tuning keeps it). */
  get loss(): LossName {
    return this.settings.loss;
  }

  /** Trainable parameters. */
  get parameterCount(): number {
    return this.net.parameterCount;
  }

  private alive(): void {
    if (this.disposed) throw new DisposedError('this model was disposed');
  }

  private async pixels(input: I | GreyPixels, i: number): Promise<GreyImage> {
    const name = `image ${i + 1}`;
    if (isGreyPixels(input)) return greyImage(input, name);
    if (!this.decoder) throw new ApiError(`${name}: expected grey pixels { data, width, height }`);
    return this.decoder(input as I, name);
  }

  private trainer(batch: number, refine: RefineOptions = {}): LandmarkTrainer {
    const s = this.settings;
    const t = new LandmarkTrainer(this.engine, this.net, {
      size: s.size, batch, lr: 0, sigma: s.sigma, loss: s.loss, mean: s.normalization.mean, std: s.normalization.std, decode: { method: s.decode },
    });
    if (this.refineStage) {
      const r = new Refiner(this.engine, this.refineStage.model, this.refineStage.settings, undefined, refine);
      t.refiner = r;
      const dispose = t.dispose.bind(t);
      t.dispose = () => {
        r.dispose();
        dispose();
      };
    }
    return t;
  }

  /**
   * Loads ImageNet VGG19 encoder weights from the bytes of a weight file (safetensors from
   * torchvision / timm / smp / `osteo weights convert`, Keras .h5, or a tfjs model.json with its
   * shards as a Map). The input normalisation becomes the weights' own.
   */
  async loadImagenetEncoder(bytes: Uint8Array | Map<string, Uint8Array>, name = 'imagenet weights'): Promise<void> {
    this.alive();
    const loaded = await readWeights(bytes, { file: name, spec: { widths: [...this.net.config.widths] } });
    const r = loadImagenetEncoder(this.net, loaded, name);
    this.settings.normalization = r.normalisation;
  }

  /** Landmarks on one image (points in its own pixels). */
  async predict(image: I | GreyPixels, opts: PredictOptions = {}): Promise<Prediction> {
    return (await this.predictBatch([image], opts))[0]!;
  }

  /** Landmarks on several images, batched on the GPU. */
  async predictBatch(images: readonly (I | GreyPixels)[], opts: PredictOptions = {}): Promise<Prediction[]> {
    this.alive();
    const grey = await Promise.all(images.map((im, i) => this.pixels(im, i)));
    const trainer = this.trainer(opts.batch ?? 4, opts.refine);
    // the guards run when the model is calibrated or an orientation is asked for; an uncalibrated model says so
    const go = opts.guards === false ? undefined : (opts.guards ?? {});
    const runGuards = go !== undefined && (this.guardModel !== undefined || (go.orientation !== undefined && go.orientation !== 'auto' && go.orientation !== 'off'));
    if (runGuards) trainer.guard = new PredictionGuard(this.guardModel, go);
    try {
      const r = await trainer.predict(grey, opts.batch ?? 4, opts.heatmaps ? Infinity : 0);
      return grey.map((g, i) => {
        const guard = r.guarded?.[i];
        const mm = (e: number[]) => e.map((v) => v * Math.sqrt(g.spacing!.x * g.spacing!.y));
        return {
          points: r.points[i]!.map(([x, y]) => [x, y] as [number, number]),
          confidence: r.confidence[i]!,
          names: this.landmarkNames,
          width: g.width,
          height: g.height,
          ...(g.spacing ? { spacing: g.spacing, pointsMm: r.points[i]!.map(([x, y]) => [x * g.spacing!.x, y * g.spacing!.y] as [number, number]) } : {}),
          ...(opts.heatmaps ? { heatmaps: { size: this.size, data: heatmapProbabilities(r.heatmaps[i]!, this.landmarks, this.size * this.size, this.settings.loss, this.settings.targetScale) } } : {}),
          ...(guard
            ? {
                orientation: guard.orientation, flags: guard.flags, warnings: guard.warnings,
                ...(guard.expectedError ? { expectedError: guard.expectedError, ...(g.spacing ? { expectedErrorMm: mm(guard.expectedError) } : {}) } : {}),
              }
            : go !== undefined ? { warnings: ['guards skipped: the model carries no calibration (run `osteo calibrate`)'] } : {}),
        };
      });
    } finally {
      trainer.dispose();
    }
  }

  /** MRE, SDR at 2 / 2.5 / 3 / 4 (mm or px) and per-landmark statistics on labelled images. */
  async evaluate(dataset: InMemoryDataset): Promise<EvaluationReport> {
    this.alive();
    const data = prepareInMemory(dataset, this.size);
    if (data.k !== this.landmarks) throw new ApiError(`${data.name} has ${data.k} landmarks per image, the model predicts ${this.landmarks}`);
    const trainer = this.trainer(4);
    try {
      const ev = (await trainer.evaluate(data.set, { keepHeatmaps: 0 })).evaluation;
      return evaluationJson(ev, dataset.landmarkNames ?? this.landmarkNames);
    } finally {
      trainer.dispose();
    }
  }

  /** The model as checkpoint bytes (safetensors with osteo metadata; `loadModel` reads them). */
  async save(): Promise<Uint8Array> {
    this.alive();
    return checkpointBytes(this.net, { train: this.settings, state: { epoch: 0, bestMetric: null, bestEpoch: 0, history: [] }, ...(this.refineStage ? { refine: this.refineStage } : {}), ...(this.guardModel ? { guards: this.guardModel } : {}) });
  }

  /** `using model = await loadModel(…)` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Frees the model's GPU memory (the engine stays). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.net.dispose();
    this.refineStage?.model.dispose();
  }

  /** @internal The network (training continues from it). */
  get network(): UnetPlusPlus {
    return this.net;
  }

  /** @internal Inference settings. */
  get trainSettings(): TrainSettings {
    return this.settings;
  }
}

/** A new, randomly initialised model (PyTorch-style initialisation, seeded). */
export function createModel<I = GreyPixels>(engine: Engine, opts: ModelOptions, decoder?: ImageDecoder<I>): LandmarkModel<I> {
  const size = opts.size ?? TRAIN_DEFAULTS.size;
  const fresh = withDefaults({ data: 'model', init: 'scratch', size, ...(opts.widths ? { widths: opts.widths } : {}), ...(opts.decoderChannels ? { decoder: opts.decoderChannels } : {}) });
  if (!(Number.isInteger(opts.landmarks) && opts.landmarks > 0)) throw new ApiError(`landmarks must be a positive integer, got ${opts.landmarks}`);
  if (opts.landmarkNames && opts.landmarkNames.length !== opts.landmarks) throw new ApiError(`${opts.landmarkNames.length} landmark names for ${opts.landmarks} landmarks`);
  const net = new UnetPlusPlus(engine, {
    classes: opts.landmarks, inChannels: 1, widths: opts.widths ?? [...VGG19_WIDTHS], decoderChannels: opts.decoderChannels ?? [...UNETPP_DECODER_CHANNELS],
  });
  initializeUnetPP(net, opts.seed ?? TRAIN_DEFAULTS.seed);
  const norm: Normalisation = { ...DEFAULT_NORMALISATION };
  const settings: TrainSettings = {
    size, sigma: fresh.sigma, loss: fresh.loss, targetScale: TRAIN_DEFAULTS.targetScale, normalization: norm, decode: opts.decode ?? TRAIN_DEFAULTS.decode,
    ...(opts.landmarkNames ? { landmarkNames: opts.landmarkNames } : {}),
  };
  return new LandmarkModel(engine, net, settings, decoder);
}

/** A model from a decoded checkpoint. */
export function modelFromCheckpointData<I>(engine: Engine, ck: Checkpoint, decoder?: ImageDecoder<I>): LandmarkModel<I> {
  const net = modelFromCheckpoint(engine, ck);
  const { run: _run, ...settings } = ck.train;
  let refine: { model: UnetPlusPlus; settings: Omit<RefineSettings, 'model'> } | undefined;
  try {
    const rm = refineModelFromCheckpoint(engine, ck);
    if (rm && ck.refine) {
      const { model: _m, ...rs } = ck.refine.settings;
      refine = { model: rm, settings: rs };
    }
  } catch (e) {
    net.dispose();
    throw e;
  }
  return new LandmarkModel(engine, net, { ...settings, normalization: { ...settings.normalization } }, decoder, refine, ck.guards);
}

/** What `loadModel` takes on both hosts: a path (Node) or URL, or the checkpoint's bytes. */
export type CheckpointSource = string | URL | ArrayBuffer | Uint8Array;

/**
 * The bytes of a checkpoint source and a name for messages: bytes as they are, http(s) URLs (and,
 * without `readFile`, any string: a page's relative URL) fetched, the rest read by `readFile`.
 */
export async function checkpointSourceBytes(source: CheckpointSource, readFile?: (path: string | URL) => Promise<Uint8Array>): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'checkpoint' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'checkpoint' };
  if (typeof source !== 'string' && !(source instanceof URL)) throw new ApiError('loadModel: expected a path or URL, an ArrayBuffer or a Uint8Array');
  const name = String(source);
  if (readFile && !/^(https?|blob|data):/.test(name)) return { bytes: await readFile(source), name };
  const res = await fetch(name).catch((e: Error) => {
    throw new ApiError(`${name}: cannot fetch the checkpoint (${e.message})`);
  });
  if (!res.ok) throw new ApiError(`${name}: HTTP ${res.status} ${res.statusText}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), name };
}

/** A model from checkpoint bytes (`name` is used in error messages). */
export function modelFromBytes<I>(engine: Engine, bytes: Uint8Array, name = 'checkpoint', decoder?: ImageDecoder<I>): LandmarkModel<I> {
  return modelFromCheckpointData(engine, decodeCheckpoint(bytes, name), decoder);
}

/** An in-memory data set prepared at a model size. */
export function prepareInMemory(dataset: InMemoryDataset, size: number): PreparedData {
  return prepareData(dataset.name ?? 'in-memory', inMemoryDataset(dataset), { size, strict: true });
}

/**
 * Scores predicted points against the truth (one list per image, image pixels): MRE, SDR at
 * 2 / 2.5 / 3 / 4 and per-landmark statistics, in mm when every image has a pixel spacing.
 */
export function evaluatePoints(predicted: Point[][], truth: Point[][], opts: { mmPerPixel?: number | (number | undefined)[]; names?: readonly string[] } = {}): EvaluationReport {
  if (predicted.length !== truth.length) throw new ApiError(`${predicted.length} predicted point lists for ${truth.length} true ones`);
  return evaluationJson(evaluate(predicted, truth, opts.mmPerPixel), opts.names);
}

/** What {@link train} returns. */
export interface Trained<I> {
  /** The best model of the run (by validation MRE; by training loss without validation). */
  model: LandmarkModel<I>;
  /** The run's summary: epochs, best metric, history. */
  result: TrainResult;
  /** Where the checkpoints and metrics.json were written. */
  store: RunStore;
}

/**
 * Trains a model on labelled images in memory, with the training recipe of `config` (every field
 * optional; the defaults are the paper's). Resolves to the best model of the run.
 */
export async function train<I = GreyPixels>(engine: Engine, dataset: InMemoryDataset | PreparedData, config: TrainRecipe = {}, opts: TrainOptions<I> = {}): Promise<Trained<I>> {
  const init = opts.init ?? 'scratch';
  const fromModel = typeof init === 'object' && init instanceof LandmarkModel ? init : undefined;
  const size = config.size ?? fromModel?.size ?? TRAIN_DEFAULTS.size;
  const data = 'set' in dataset ? dataset : prepareInMemory(dataset, size);
  const c = withDefaults({ ...config, size, data: data.spec, init: init === 'scratch' ? 'scratch' : fromModel ? 'model' : 'imagenet', out: 'memory' });
  let source: InitSource;
  if (init === 'scratch') source = { kind: 'scratch' };
  else if (fromModel) {
    source = { kind: 'checkpoint', checkpoint: decodeCheckpoint(await fromModel.save(), 'the model to fine-tune') };
  } else {
    const i = init as { imagenet: Uint8Array; name?: string };
    const name = i.name ?? 'imagenet weights';
    source = { kind: 'imagenet', weights: await readWeights(i.imagenet, { file: name, spec: { widths: c.widths ?? [...VGG19_WIDTHS] } }), source: name };
  }
  const store = opts.store ?? new MemoryStore();
  const result = await runTraining(engine, c, {
    data, store, init: source, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const best = await store.read(CHECKPOINT_BEST);
  if (!best) throw new OsteoError(`training wrote no ${CHECKPOINT_BEST} into ${store.locate('')}`);
  return { model: modelFromBytes(engine, best, store.locate(CHECKPOINT_BEST), opts.decoder), result, store };
}

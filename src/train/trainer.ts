/**
 * Heatmap training and inference for landmark detection (browser-safe: no Node imports).
 * One step: preprocess a batch (augmentation in TypeScript), upload, forward, loss, backward into
 * the gradient arena, AdamW over all parameters in one dispatch per shard.
 */
import { Graph } from '../autograd/graph';
import type { Engine } from '../gpu/engine';
import type { GreyImage, Point } from '../data/types';
import { decodeBatch, type DecodeOptions } from '../landmarks/decode';
import { evaluate, type Evaluation } from '../landmarks/metrics';
import { collate, mapPoints, preprocess, type Affine, type AugmentOptions, type Sample } from '../landmarks/preprocess';
import { precompileUnetPP } from '../model/precompile';
import type { UnetPlusPlus } from '../model/unetpp';
import { AdamW, SGD } from '../nn/optim';
import { shuffledIndices } from '../nn/random';
import type { GuardReport } from './guards';
import { defaultSigma, TRAIN_DEFAULTS, type LossName, type OptimizerName } from './config';

export type { LossName };

export interface TrainOptions {
  size: number;
  batch: number;
  lr: number;
  weightDecay?: number;
  /** AdamW (default) or SGD; both leave biases and batch-norm parameters undecayed. */
  optimizer?: OptimizerName;
  /** SGD momentum (default 0). */
  momentum?: number;
  sigma?: number;
  loss?: LossName;
  augment?: AugmentOptions | false;
  /** Input normalisation after min-max to [0, 1] (the weights' mean/std for one channel). */
  mean?: number;
  std?: number;
  seed?: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  accum?: number;
  /** Multiply heatmap targets (MSE only: MSE on small Gaussians learns faster with a larger peak). */
  targetScale?: number;
  /** Clip each update's gradients to this global L2 norm (after averaging the micro-batches). */
  clipGradNorm?: number;
  /** Heatmap decoding for predict/evaluate (default argmax with Gaussian sub-pixel refinement). */
  decode?: DecodeOptions;
}

/**
 * Images with their points. `images` may be pre-resized copies of the originals (see
 * src/train/data.ts): then `toOriginal[i]` maps image i's pixels back to its original's, and
 * predictions, ground truth and errors are reported in original pixels (mm via `mmPerPixel`,
 * which is always the original image's spacing).
 */
export interface LandmarkSet {
  images: GreyImage[];
  points: Point[][];
  mmPerPixel: (number | undefined)[];
  toOriginal?: (Affine | undefined)[];
  ids?: string[];
}

export interface StepInfo {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
}

/** A second stage that moves coarse points (src/train/refine.ts); `predict` applies it when set. */
export interface PointRefiner {
  refine(images: GreyImage[], coarse: Point[][]): Promise<{ points: Point[][]; confidence: number[][] }>;
}

/** Wraps prediction with checks (src/train/guards.ts PredictionGuard); `predict` hands over to it when set. */
export interface PredictGuardHook {
  predict(trainer: LandmarkTrainer, images: GreyImage[], batch: number, keepHeatmaps: number): Promise<{ points: Point[][]; heatmaps: Float32Array[]; confidence: number[][]; guarded: GuardReport[] }>;
}

export class LandmarkTrainer {
  private optim: AdamW | SGD | undefined;
  /** Applied to the decoded points by `predict` / `evaluate` (a two-stage checkpoint sets it). */
  refiner: PointRefiner | undefined;
  /** Orientation, shape and calibrated-confidence guards for `predict` / `evaluate` (absent: none). */
  guard: PredictGuardHook | undefined;
  /** Step shapes whose pipelines are compiled (`batch:training`). */
  private readonly compiled = new Set<string>();
  private readonly opts: Required<Omit<TrainOptions, 'augment' | 'clipGradNorm'>> & { augment: AugmentOptions | false; clipGradNorm?: number };

  get options(): Readonly<Required<Omit<TrainOptions, 'augment' | 'clipGradNorm'>> & { augment: AugmentOptions | false; clipGradNorm?: number }> {
    return this.opts;
  }

  constructor(
    readonly engine: Engine,
    readonly model: UnetPlusPlus,
    opts: TrainOptions,
  ) {
    this.opts = {
      weightDecay: TRAIN_DEFAULTS.weightDecay,
      optimizer: 'adamw',
      momentum: 0,
      sigma: defaultSigma(opts.size, opts.loss),
      loss: 'mse',
      augment: false,
      mean: 0,
      std: 1,
      seed: 0,
      accum: 1,
      targetScale: 1,
      decode: {},
      ...opts,
    };
    if (!(Number.isInteger(this.opts.accum) && this.opts.accum >= 1)) throw new RangeError(`accum must be a positive integer, got ${this.opts.accum}`);
    if (!(Number.isInteger(this.opts.batch) && this.opts.batch >= 1)) throw new RangeError(`batch must be a positive integer, got ${this.opts.batch}`);
  }

  /** AdamW or SGD over the model (created on first use: inference-only trainers hold no optimizer state). */
  get optimizer(): AdamW | SGD {
    if (!this.optim) {
      const { lr, weightDecay, momentum } = this.opts;
      const noDecay = { name: 'no_decay', params: (n: string) => n.endsWith('.bias') || /\.1\.weight$/.test(n), weightDecay: 0 };
      this.optim = this.opts.optimizer === 'sgd' ? new SGD(this.model.params, { lr, weightDecay, momentum }, [noDecay]) : new AdamW(this.model.params, { lr, weightDecay }, [noDecay]);
    }
    return this.optim;
  }

  private samples(set: LandmarkSet, idx: number[], epoch: number, train: boolean): Sample[] {
    return idx.map((i) =>
      preprocess(set.images[i]!, set.points[i]!, {
        size: this.opts.size,
        sigma: this.opts.sigma,
        mean: this.opts.mean,
        std: this.opts.std,
        augment: train ? this.opts.augment : false,
        seed: (this.opts.seed * 1_000_003 + epoch * 10_007 + i) >>> 0,
      }),
    );
  }

  /** One pass over `set` in a seeded random order. Returns the mean training loss. */
  async trainEpoch(set: LandmarkSet, epoch: number, onStep?: (s: StepInfo) => void): Promise<number> {
    const order = shuffledIndices(set.images.length, (this.opts.seed * 31 + epoch) * 2654435761);
    const b = this.opts.batch;
    const steps = Math.floor(order.length / b) || 1;
    let total = 0;
    const t0 = performance.now();
    const accum = this.opts.accum;
    this.optimizer.zeroGrad();
    for (let s = 0; s < steps; s++) {
      const idx = order.slice(s * b, s * b + b);
      const update = (s + 1) % accum === 0 || s === steps - 1;
      // Mean of the micro-batch losses: the last group of an epoch may hold fewer than `accum`.
      const inGroup = update ? s - Math.floor(s / accum) * accum + 1 : accum;
      const loss = await this.step(this.samples(set, idx, epoch, true), update, inGroup);
      total += loss;
      onStep?.({ epoch, step: s + 1, steps, loss, imagesPerSecond: ((s + 1) * idx.length) / ((performance.now() - t0) / 1000) });
    }
    return total / steps;
  }

  /**
   * Forward + backward on one batch; optimizer step when `update` (gradients summed since the
   * last update are first divided by `micro`, the number of micro-batches they came from).
   * Returns the loss.
   */
  async step(samples: Sample[], update = true, micro = this.opts.accum): Promise<number> {
    const e = this.engine;
    const batch = collate(samples);
    await this.precompile(batch.n, true);
    if (this.opts.loss === 'spatial_ce') normaliseMaps(batch.heatmaps, batch.h * batch.w);
    else if (this.opts.loss === 'mse' && this.opts.targetScale !== 1) for (let i = 0; i < batch.heatmaps.length; i++) batch.heatmaps[i]! *= this.opts.targetScale;
    const x = e.tensor(batch.inputs, [batch.n, 1, batch.h, batch.w], 'images');
    const t = e.tensor(batch.heatmaps, [batch.n, batch.k, batch.h, batch.w], 'heatmaps');
    const g = new Graph(e, { grad: true, training: true });
    try {
      const logits = this.model.forward(g, g.input(x));
      const target = g.input(t);
      const loss = g.heatmapLoss(this.opts.loss, logits, target);
      logits.release();
      const value = (await loss.value.read())[0]!;
      await g.backward(loss);
      loss.release();
      if (update) {
        if (micro > 1) this.optimizer.scaleGrads(1 / micro);
        if (this.opts.clipGradNorm !== undefined) this.optimizer.clipGradNormDeferred(this.opts.clipGradNorm).dispose();
        this.optimizer.step();
        this.optimizer.zeroGrad();
      }
      return value;
    } finally {
      g.dispose();
      x.dispose();
      t.dispose();
    }
  }

  /**
   * Compiles the pipelines of a training step (or an inference pass) at batch `n` ahead and
   * asynchronously, once per shape (see `precompileUnetPP`): the first step then does not hold
   * the event loop for the seconds a software adapter needs to compile every shader.
   */
  async precompile(n: number, training: boolean): Promise<void> {
    const key = `${n}:${training}`;
    if (this.compiled.has(key)) return;
    await precompileUnetPP(this.engine, this.model.config, [{ batch: n, size: this.opts.size, training, loss: this.opts.loss }]);
    this.compiled.add(key);
  }

  /**
   * Decoded points (the given images' pixels) and peak values for each image, and the heatmaps of
   * the first `keepHeatmaps` images (each K × size × size floats: keep few for large sets).
   */
  async predict(images: GreyImage[], batch = this.opts.batch, keepHeatmaps = Infinity): Promise<{ points: Point[][]; heatmaps: Float32Array[]; confidence: number[][]; guarded?: GuardReport[] }> {
    if (this.guard) return this.guard.predict(this, images, batch, keepHeatmaps);
    const points: Point[][] = [];
    const confidence: number[][] = [];
    const heatmaps: Float32Array[] = [];
    const k = this.model.config.classes;
    const { size } = this.opts;
    for (let s = 0; s < images.length; s += batch) {
      const chunk = images.slice(s, s + batch);
      const samples = chunk.map((img) => preprocess(img, undefined, { size, mean: this.opts.mean, std: this.opts.std, heatmaps: false }));
      const n = samples.length;
      const input = new Float32Array(n * size * size);
      samples.forEach((smp, i) => input.set(smp.input, i * size * size));
      const hm = await this.forward(input, n);
      const decoded = decodeBatch(hm, n, k, size, size, samples.map((smp) => smp.toOriginal), this.opts.decode);
      for (let i = 0; i < n; i++) {
        points.push(decoded[i]!.points);
        confidence.push(decoded[i]!.confidence);
        if (s + i < keepHeatmaps) heatmaps.push(hm.slice(i * k * size * size, (i + 1) * k * size * size));
      }
    }
    if (this.refiner) {
      // the second stage: crops around the coarse points place each landmark precisely
      const refined = await this.refiner.refine(images, points);
      return { points: refined.points, heatmaps, confidence: refined.confidence };
    }
    return { points, heatmaps, confidence };
  }

  /**
   * The network's heatmaps (N, K, size, size) for N normalised inputs (N, 1, size, size), inference
   * mode. A `spatial_ce` model's logits are turned into its per-map softmax (each map sums to 1),
   * so decoding, confidence (the peak probability) and displays see probabilities.
   */
  async forward(input: Float32Array, n: number): Promise<Float32Array> {
    const e = this.engine;
    const { size } = this.opts;
    await this.precompile(n, false);
    const x = e.tensor(input, [n, 1, size, size], 'images');
    const g = new Graph(e, { grad: false, training: false });
    try {
      const logits = this.model.forward(g, g.input(x));
      const hm = await logits.value.read();
      logits.release();
      if (this.opts.loss === 'spatial_ce') softmaxMaps(hm, size * size);
      return hm;
    } finally {
      g.dispose();
      x.dispose();
    }
  }

  /**
   * Predicts every image of `set` and scores it. `points` (predictions) and `truth` are in the
   * original images' pixels (through `set.toOriginal` when the images were pre-resized);
   * `heatmaps` holds the first `keepHeatmaps` images' heatmaps (default 1).
   */
  async evaluate(set: LandmarkSet, opts: { keepHeatmaps?: number } = {}): Promise<{ evaluation: Evaluation; points: Point[][]; truth: Point[][]; heatmaps: Float32Array[]; confidence: number[][]; guarded?: GuardReport[] }> {
    const { points, heatmaps, confidence, guarded } = await this.predict(set.images, this.opts.batch, opts.keepHeatmaps ?? 1);
    const back = (pts: Point[], i: number): Point[] => {
      const m = set.toOriginal?.[i];
      return m ? mapPoints(m, pts) : pts;
    };
    const preds = points.map(back);
    const truth = set.points.map(back);
    return { evaluation: evaluate(preds, truth, set.mmPerPixel), points: preds, truth, heatmaps, confidence, ...(guarded ? { guarded } : {}) };
  }

  dispose(): void {
    this.optim?.dispose();
    this.optim = undefined;
  }
}


/** Scales each map of `plane` values to sum 1 (all-zero maps, landmarks outside the image, stay 0). */
export function normaliseMaps(maps: Float32Array, plane: number): void {
  for (let base = 0; base < maps.length; base += plane) {
    let sum = 0;
    for (let i = base; i < base + plane; i++) sum += maps[i]!;
    if (sum > 0) for (let i = base; i < base + plane; i++) maps[i]! /= sum;
  }
}

/** In place: softmax over each map of `plane` logits (stable: the map's maximum is subtracted first). */
export function softmaxMaps(logits: Float32Array, plane: number): void {
  for (let base = 0; base < logits.length; base += plane) {
    let m = -Infinity;
    for (let i = base; i < base + plane; i++) m = Math.max(m, logits[i]!);
    let sum = 0;
    for (let i = base; i < base + plane; i++) { const e = Math.exp(logits[i]! - m); logits[i] = e; sum += e; }
    for (let i = base; i < base + plane; i++) logits[i]! /= sum;
  }
}

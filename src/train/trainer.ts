/**
 * Heatmap training and inference for landmark detection (browser-safe: no Node imports).
 * One step: preprocess a batch (augmentation in TypeScript), upload, forward, loss, backward into
 * the gradient arena, AdamW over all parameters in one dispatch per shard.
 */
import { Graph } from '../autograd/graph';
import type { Engine } from '../gpu/engine';
import type { GreyImage, Point } from '../data/types';
import { decodeBatch } from '../landmarks/decode';
import { evaluate, type Evaluation } from '../landmarks/metrics';
import { collate, preprocess, type AugmentOptions, type Sample } from '../landmarks/preprocess';
import type { UnetPlusPlus } from '../model/unetpp';
import { AdamW } from '../nn/optim';

export type LossName = 'mse' | 'bce' | 'softmax_ce';

export interface TrainOptions {
  size: number;
  batch: number;
  lr: number;
  weightDecay?: number;
  sigma?: number;
  loss?: LossName;
  augment?: AugmentOptions | false;
  /** Input normalisation after min-max to [0, 1] (the weights' mean/std for one channel). */
  mean?: number;
  std?: number;
  seed?: number;
  /** Micro-batches whose gradients are summed before one optimizer step. */
  accum?: number;
  /** Multiply heatmap targets (MSE on small Gaussians learns faster with a larger peak). */
  targetScale?: number;
}

export interface LandmarkSet {
  images: GreyImage[];
  points: Point[][];
  mmPerPixel: (number | undefined)[];
}

export interface StepInfo {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  imagesPerSecond: number;
}

export class LandmarkTrainer {
  readonly optimizer: AdamW;
  private readonly opts: Required<Omit<TrainOptions, 'augment'>> & { augment: AugmentOptions | false };

  constructor(
    readonly engine: Engine,
    readonly model: UnetPlusPlus,
    opts: TrainOptions,
  ) {
    this.opts = {
      weightDecay: 1e-4,
      sigma: Math.max(1.5, opts.size / 64),
      loss: 'mse',
      augment: false,
      mean: 0,
      std: 1,
      seed: 0,
      accum: 1,
      targetScale: 1,
      ...opts,
    };
    this.optimizer = new AdamW(model.params, { lr: this.opts.lr, weightDecay: this.opts.weightDecay }, [
      { name: 'no_decay', params: (n: string) => n.endsWith('.bias') || /\.1\.weight$/.test(n), weightDecay: 0 },
    ]);
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
    const order = shuffle(set.images.length, this.opts.seed * 31 + epoch);
    const b = this.opts.batch;
    const steps = Math.floor(order.length / b) || 1;
    let total = 0;
    const t0 = performance.now();
    this.optimizer.zeroGrad();
    for (let s = 0; s < steps; s++) {
      const idx = order.slice(s * b, s * b + b);
      const loss = await this.step(this.samples(set, idx, epoch, true), (s + 1) % this.opts.accum === 0 || s === steps - 1);
      total += loss;
      onStep?.({ epoch, step: s + 1, steps, loss, imagesPerSecond: ((s + 1) * idx.length) / ((performance.now() - t0) / 1000) });
    }
    return total / steps;
  }

  /** Forward + backward on one batch; optimizer step when `update`. Returns the loss. */
  async step(samples: Sample[], update = true): Promise<number> {
    const e = this.engine;
    const batch = collate(samples);
    if (this.opts.targetScale !== 1) for (let i = 0; i < batch.heatmaps.length; i++) batch.heatmaps[i]! *= this.opts.targetScale;
    const x = e.tensor(batch.inputs, [batch.n, 1, batch.h, batch.w], 'images');
    const t = e.tensor(batch.heatmaps, [batch.n, batch.k, batch.h, batch.w], 'heatmaps');
    const g = new Graph(e, { grad: true, training: true });
    try {
      const logits = this.model.forward(g, g.input(x));
      const target = g.input(t);
      const loss =
        this.opts.loss === 'bce' ? g.bceWithLogitsLoss(logits, target) : this.opts.loss === 'softmax_ce' ? g.softmaxCrossEntropy(logits, target) : g.mseLoss(logits, target);
      logits.release();
      const value = (await loss.value.read())[0]!;
      await g.backward(loss);
      loss.release();
      if (update) {
        if (this.opts.accum > 1) this.optimizer.scaleGrads(1 / this.opts.accum);
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

  /** Heatmaps and decoded points (original pixels) for each image. */
  async predict(images: GreyImage[], batch = this.opts.batch): Promise<{ points: Point[][]; heatmaps: Float32Array[] }> {
    const e = this.engine;
    const points: Point[][] = [];
    const heatmaps: Float32Array[] = [];
    const k = this.model.config.classes;
    for (let s = 0; s < images.length; s += batch) {
      const chunk = images.slice(s, s + batch);
      const samples = chunk.map((img) => preprocess(img, undefined, { size: this.opts.size, mean: this.opts.mean, std: this.opts.std, heatmaps: false }));
      const n = samples.length;
      const { size } = this.opts;
      const input = new Float32Array(n * size * size);
      samples.forEach((smp, i) => input.set(smp.input, i * size * size));
      const x = e.tensor(input, [n, 1, size, size], 'images');
      const g = new Graph(e, { grad: false, training: false });
      const logits = this.model.forward(g, g.input(x));
      const hm = await logits.value.read();
      logits.release();
      x.dispose();
      const decoded = decodeBatch(hm, n, k, size, size, samples.map((smp) => smp.toOriginal));
      for (let i = 0; i < n; i++) {
        points.push(decoded[i]!.points);
        heatmaps.push(hm.slice(i * k * size * size, (i + 1) * k * size * size));
      }
    }
    return { points, heatmaps };
  }

  async evaluate(set: LandmarkSet): Promise<{ evaluation: Evaluation; points: Point[][]; heatmaps: Float32Array[] }> {
    const { points, heatmaps } = await this.predict(set.images);
    return { evaluation: evaluate(points, set.points, set.mmPerPixel), points, heatmaps };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

function shuffle(n: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let a = (seed * 2654435761) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    a ^= a << 13;
    a ^= a >>> 17;
    a ^= a << 5;
    const j = (a >>> 0) % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

/**
 * Independent TensorFlow.js implementation of smp `UnetPlusPlus(encoder_name="vgg19")`
 * (docs/DESIGN.md §3), with the same parameter names as smp's state_dict.
 *
 * Two roles:
 *  - the reference the engine's model tests compare against (logits, loss, every parameter
 *    gradient, BatchNorm running-stat updates), on tfjs-backend-cpu;
 *  - the baseline of the benchmark, on tfjs-backend-webgpu.
 * It therefore never chooses a backend: the caller passes its `tf` (tfjs-core) and has already
 * set the backend.
 *
 * Written the way a tfjs user would: activations NHWC, conv filters HWIO (tfjs's native
 * layouts, converted from PyTorch's OIHW once, at construction), `tf.conv2d` 'same',
 * `tf.maxPool`, `tf.image.resizeNearestNeighbor`, `tf.concat` on the channel axis,
 * `tf.moments` + `tf.batchNorm`, parameters held in `tf.Variable`s so `tf.variableGrads` and
 * tfjs optimizers work. The public API takes and returns NCHW tensors / PyTorch layouts.
 */
import type * as tfc from '@tensorflow/tfjs-core';
// tfjs-core's main entry must be evaluated BEFORE the deep `dist/register_all_gradients` import.
// Under Node (vitest, tsx) the two resolve to different module copies: the main entry to the CJS
// bundle (dist/tf-core.node.js), the deep path to the ESM files in dist/. The engine is a global
// shared by both, created by whichever copy loads first, and it builds every tensor from *its*
// copy's Tensor class. The ESM copy reached through register_all_gradients never runs its
// base_side_effects, so its Tensor class has no op handler: if it created the engine, every
// chained tensor method (`t.clone()`, …) throws "Cannot read properties of null" — e.g. the Cast
// gradient (`dy.clone()`) of the cast inside tf.moments, i.e. any training-mode backward.
// Loading the main entry first makes the engine (and its Tensor class) the fully initialised
// copy regardless of what the importer loads next. In a bundler both paths are one ESM copy.
import '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients (the @tensorflow/tfjs union package does); the
// registries are global, so this serves whichever tfjs-core instance the caller passes in.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { unetPlusPlusBlocks, unetPlusPlusExpected, UNETPP_DECODER_CHANNELS } from '../../src/weights/smp';
import { VGG19_WIDTHS, vgg19Convs } from '../../src/weights/vgg19';

/** The tfjs-core namespace (`import * as tf from '@tensorflow/tfjs-core'`), backend set by the caller. */
export type Tf = typeof tfc;

export interface UnetPPConfig {
  classes: number;
  inChannels: 1 | 3;
  /** The 16 encoder conv widths (default VGG19_WIDTHS; tests shrink them). */
  widths?: readonly number[];
  /** Decoder channels (default 256,128,64,32,16). */
  decoderChannels?: readonly number[];
}

export type UnetPPLoss = 'mse' | 'bce' | 'softmax_ce';

export interface ForwardOptions {
  /** BatchNorm with batch statistics (true) or running statistics (false). */
  training: boolean;
  /**
   * Only with training: also write the new running_mean / running_var (PyTorch: momentum 0.1,
   * unbiased batch variance) into the model's running-stat variables, as a PyTorch training
   * forward does. Default false (the forward is then side-effect free).
   */
  updateRunningStats?: boolean;
}

export interface LossAndGrads {
  loss: number;
  /** Every trainable parameter, smp name → gradient in PyTorch layout (conv weights OIHW). */
  grads: Map<string, Float32Array>;
  /** Logits, NCHW [N, classes, H, W]. */
  output: Float32Array;
  /**
   * Only in training mode: the running_mean / running_var (smp names) a PyTorch training-mode
   * forward of this batch would leave behind (not applied to the model).
   */
  runningStats?: Map<string, Float32Array>;
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** Encoder conv layers (0-based) followed by a 2x2 max-pool. */
const POOL_AFTER = new Set([1, 3, 7, 11, 15]);

interface Param {
  name: string;
  /** PyTorch shape. */
  shape: number[];
  variable: tfc.Variable;
  trainable: boolean;
}

interface BnBatchStats {
  mean: tfc.Tensor1D;
  variance: tfc.Tensor1D; // biased
  count: number; // N·H·W
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class TfUnetPlusPlus {
  readonly config: Required<UnetPPConfig>;
  private readonly params = new Map<string, Param>();
  private readonly blocks: ReturnType<typeof unetPlusPlusBlocks>;
  private readonly convNames: string[];
  private disposed = false;
  private readonly up2Grad: (...x: tfc.Tensor[]) => tfc.Tensor;

  constructor(
    private readonly tf: Tf,
    config: UnetPPConfig,
    weights: Map<string, Float32Array>,
  ) {
    this.config = {
      classes: config.classes,
      inChannels: config.inChannels,
      widths: config.widths ?? VGG19_WIDTHS,
      decoderChannels: config.decoderChannels ?? UNETPP_DECODER_CHANNELS,
    };
    if (!Number.isInteger(config.classes) || config.classes < 1) throw new Error(`TfUnetPlusPlus: classes must be a positive integer, got ${config.classes}`);
    if (config.inChannels !== 1 && config.inChannels !== 3) throw new Error(`TfUnetPlusPlus: inChannels must be 1 or 3, got ${String(config.inChannels)}`);
    this.up2Grad = tf.customGrad((...args: (tfc.Tensor | tfc.GradSaveFunc)[]) => {
      const x = args[0] as tfc.Tensor4D;
      const [, h, w] = x.shape;
      return {
        value: tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w], false, false),
        gradFunc: (dy: tfc.Tensor) => tf.mul(tf.avgPool(dy as tfc.Tensor4D, 2, 2, 'valid'), 4),
      };
    });
    this.blocks = unetPlusPlusBlocks(this.config.widths, this.config.decoderChannels);
    this.convNames = vgg19Convs({ widths: this.config.widths, inputChannels: this.config.inChannels }).map((c) => c.canonical);

    const expected = unetPlusPlusExpected(this.spec());
    const missing: string[] = [];
    const bad: string[] = [];
    for (const e of expected) {
      if (e.optional) continue; // num_batches_tracked: not modelled
      const data = weights.get(e.name);
      if (!data) {
        missing.push(e.name);
        continue;
      }
      if (data.length !== product(e.shape)) {
        bad.push(`${e.name}: ${data.length} values, expected [${e.shape.join(',')}]`);
        continue;
      }
    }
    if (missing.length || bad.length)
      throw new Error(
        `TfUnetPlusPlus: weights do not match the UnetPlusPlus/VGG19 table` +
          (missing.length ? `; missing ${missing.length}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}` : '') +
          (bad.length ? `; wrong size: ${bad.slice(0, 5).join('; ')}` : ''),
      );
    for (const e of expected) {
      if (e.optional) continue;
      const trainable = !e.name.endsWith('.running_mean') && !e.name.endsWith('.running_var');
      const shape = [...e.shape];
      const value = this.toTfLayout(weights.get(e.name)!, shape);
      // Unnamed: tfjs variable names are global to the engine; two models must not collide.
      const variable = tf.variable(value, trainable);
      value.dispose();
      this.params.set(e.name, { name: e.name, shape, variable, trainable });
    }
  }

  private spec() {
    return {
      classes: this.config.classes,
      inputChannels: this.config.inChannels,
      widths: this.config.widths,
      decoderChannels: this.config.decoderChannels,
    };
  }

  /** PyTorch layout → tfjs layout: OIHW → HWIO for 4-D, 1-D unchanged. */
  private toTfLayout(data: Float32Array, shape: number[]): tfc.Tensor {
    const tf = this.tf;
    if (shape.length === 4) return tf.tidy(() => tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [2, 3, 1, 0]));
    return tf.tensor(data, shape);
  }

  /** tfjs layout → PyTorch layout (HWIO → OIHW), as a new tensor. */
  private toTorchLayout(t: tfc.Tensor): tfc.Tensor {
    const tf = this.tf;
    return t.rank === 4 ? tf.transpose(t, [3, 2, 0, 1]) : tf.clone(t);
  }

  private p(name: string): tfc.Variable {
    const q = this.params.get(name);
    if (!q) throw new Error(`TfUnetPlusPlus: no parameter ${name}`);
    return q.variable;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('TfUnetPlusPlus: used after dispose()');
  }

  /** smp names of the trainable parameters (conv weights/biases, BN weight/bias), table order. */
  trainableNames(): string[] {
    return [...this.params.values()].filter((q) => q.trainable).map((q) => q.name);
  }

  /** The trainable tf.Variables (tfjs layouts), e.g. for `optimizer.minimize(f, false, vars)`. */
  trainableVariables(): tfc.Variable[] {
    return [...this.params.values()].filter((q) => q.trainable).map((q) => q.variable);
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    let n = 0;
    for (const q of this.params.values()) if (q.trainable) n += product(q.shape);
    return n;
  }

  /** Every tensor (trainable and running stats) in PyTorch layout, smp names. */
  getWeights(): Map<string, Float32Array> {
    this.checkAlive();
    const out = new Map<string, Float32Array>();
    for (const q of this.params.values()) {
      const t = this.toTorchLayout(q.variable);
      out.set(q.name, t.dataSync() as Float32Array);
      t.dispose();
    }
    return out;
  }

  /** Overwrites one tensor from PyTorch layout. */
  setWeight(name: string, data: Float32Array): void {
    this.checkAlive();
    const q = this.params.get(name);
    if (!q) throw new Error(`TfUnetPlusPlus: no parameter ${name}`);
    if (data.length !== product(q.shape)) throw new Error(`TfUnetPlusPlus: ${name} needs ${product(q.shape)} values, got ${data.length}`);
    const v = this.toTfLayout(data, q.shape);
    q.variable.assign(v);
    v.dispose();
  }

  // -------------------------------------------------------------------------------------------
  // Layers (NHWC)

  private conv(x: tfc.Tensor4D, weight: string, bias?: string): tfc.Tensor4D {
    const tf = this.tf;
    const y = tf.conv2d(x, this.p(weight) as tfc.Tensor4D, 1, 'same');
    return bias ? tf.add(y, this.p(bias)) : y;
  }

  private bnRelu(x: tfc.Tensor4D, prefix: string, training: boolean, stats?: Map<string, BnBatchStats>): tfc.Tensor4D {
    const tf = this.tf;
    const gamma = this.p(`${prefix}.weight`) as tfc.Tensor1D;
    const beta = this.p(`${prefix}.bias`) as tfc.Tensor1D;
    let y: tfc.Tensor4D;
    if (training) {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      y = tf.batchNorm(x, mean as tfc.Tensor1D, variance as tfc.Tensor1D, beta, gamma, BN_EPS);
      if (stats) {
        const [n, h, w] = x.shape;
        stats.set(prefix, { mean: tf.keep(mean) as tfc.Tensor1D, variance: tf.keep(variance) as tfc.Tensor1D, count: n * h * w });
      }
    } else {
      y = tf.batchNorm(x, this.p(`${prefix}.running_mean`) as tfc.Tensor1D, this.p(`${prefix}.running_var`) as tfc.Tensor1D, beta, gamma, BN_EPS);
    }
    return tf.relu(y);
  }

  /**
   * Nearest 2x upsample, PyTorch's F.interpolate(scale_factor=2, mode="nearest"):
   * tf.image.resizeNearestNeighbor with alignCorners=false, halfPixelCenters=false
   * (src = floor(dst/2)). Its gradient is given explicitly as the 2x2 block sum of dy
   * (4·avgPool, exact in float): tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad offsets dy
   * by the *input's* batch stride, so every batch item after the first gets a wrong gradient.
   */
  private up2(x: tfc.Tensor4D): tfc.Tensor4D {
    return this.up2Grad(x) as tfc.Tensor4D;
  }

  /** smp DecoderBlock: up 2x, concat [up, skip], (conv → BN → ReLU) ×2. */
  private block(name: string, prev: tfc.Tensor4D, skip: tfc.Tensor4D | null, training: boolean, stats?: Map<string, BnBatchStats>): tfc.Tensor4D {
    const tf = this.tf;
    let h = this.up2(prev);
    if (skip) h = tf.concat([h, skip], 3);
    const p = `decoder.blocks.${name}`;
    h = this.bnRelu(this.conv(h, `${p}.conv1.0.weight`), `${p}.conv1.1`, training, stats);
    h = this.bnRelu(this.conv(h, `${p}.conv2.0.weight`), `${p}.conv2.1`, training, stats);
    return h;
  }

  /** VGG19 stages (smp VGGEncoder): [64@H, 128@H/2, 256@H/4, 512@H/8, 512@H/16, 512@H/32]. */
  private encoderNHWC(x: tfc.Tensor4D): tfc.Tensor4D[] {
    const tf = this.tf;
    const feats: tfc.Tensor4D[] = [];
    let h = x;
    this.convNames.forEach((c, i) => {
      h = tf.relu(this.conv(h, `${c}.weight`, `${c}.bias`));
      if (POOL_AFTER.has(i)) {
        feats.push(h);
        h = tf.maxPool(h, 2, 2, 'valid');
      }
    });
    feats.push(h);
    return feats;
  }

  /** smp UnetPlusPlusDecoder.forward on the encoder stages, then the segmentation head. */
  private decoderNHWC(stages: tfc.Tensor4D[], training: boolean, stats?: Map<string, BnBatchStats>): tfc.Tensor4D {
    const f = stages.slice(1).reverse(); // f0 = 512@H/32 … f4 = 128@H/2
    const depth = 4;
    const dense = new Map<string, tfc.Tensor4D>();
    const get = (k: string): tfc.Tensor4D => {
      const t = dense.get(k);
      if (!t) throw new Error(`internal: decoder node ${k} not computed`);
      return t;
    };
    for (let l = 0; l < depth; l++)
      for (let d = 0; d < depth - l; d++) {
        if (l === 0) {
          dense.set(`x_${d}_${d}`, this.block(`x_${d}_${d}`, f[d]!, f[d + 1]!, training, stats));
        } else {
          const li = d + l;
          const cat: tfc.Tensor4D[] = [];
          for (let i = d + 1; i <= li; i++) cat.push(get(`x_${i}_${li}`));
          cat.push(f[li + 1]!);
          dense.set(`x_${d}_${li}`, this.block(`x_${d}_${li}`, get(`x_${d}_${li - 1}`), this.tf.concat(cat, 3), training, stats));
        }
      }
    const last = this.block(`x_0_${depth}`, get(`x_0_${depth - 1}`), null, training, stats);
    return this.conv(last, 'segmentation_head.0.weight', 'segmentation_head.0.bias');
  }

  private toNHWC(x: tfc.Tensor4D): tfc.Tensor4D {
    this.checkAlive();
    if (x.rank !== 4) throw new Error(`TfUnetPlusPlus: input must be NCHW 4-D, got shape [${x.shape.join(',')}]`);
    const [, c, h, w] = x.shape;
    if (c !== this.config.inChannels) throw new Error(`TfUnetPlusPlus: input has ${c} channels, the model takes ${this.config.inChannels}`);
    if (h % 32 !== 0 || w % 32 !== 0 || h === 0 || w === 0)
      throw new Error(`TfUnetPlusPlus: input height and width must be positive multiples of 32 (5 poolings), got ${h}x${w}`);
    return this.tf.transpose(x, [0, 2, 3, 1]);
  }

  private forwardNHWC(x: tfc.Tensor4D, training: boolean, stats?: Map<string, BnBatchStats>): tfc.Tensor4D {
    return this.decoderNHWC(this.encoderNHWC(this.toNHWC(x)), training, stats);
  }

  /** PyTorch's running-stat update from collected batch statistics. */
  private newRunningStats(stats: Map<string, BnBatchStats>): Map<string, tfc.Tensor1D> {
    const tf = this.tf;
    const out = new Map<string, tfc.Tensor1D>();
    for (const [prefix, s] of stats) {
      if (s.count < 2) throw new Error(`TfUnetPlusPlus: BatchNorm ${prefix} sees ${s.count} value per channel; PyTorch refuses training mode then`);
      const m = 1 - BN_MOMENTUM;
      out.set(`${prefix}.running_mean`, tf.add(tf.mul(this.p(`${prefix}.running_mean`), m), tf.mul(s.mean, BN_MOMENTUM)));
      const unbiased = tf.mul(s.variance, s.count / (s.count - 1));
      out.set(`${prefix}.running_var`, tf.add(tf.mul(this.p(`${prefix}.running_var`), m), tf.mul(unbiased, BN_MOMENTUM)));
    }
    return out;
  }

  private applyOrRead(stats: Map<string, BnBatchStats>, apply: boolean): Map<string, Float32Array> {
    const tf = this.tf;
    const res = new Map<string, Float32Array>();
    tf.tidy(() => {
      for (const [name, t] of this.newRunningStats(stats)) {
        res.set(name, t.dataSync() as Float32Array);
        if (apply) this.p(name).assign(t);
      }
    });
    for (const s of stats.values()) tf.dispose([s.mean, s.variance]);
    return res;
  }

  // -------------------------------------------------------------------------------------------
  // Public API (NCHW, PyTorch layouts)

  /** Logits NCHW [N, classes, H, W]. The caller disposes the result. */
  forward(x: tfc.Tensor4D, opts: ForwardOptions): tfc.Tensor4D {
    const tf = this.tf;
    const stats = opts.training && opts.updateRunningStats ? new Map<string, BnBatchStats>() : undefined;
    const y = tf.tidy(() => tf.transpose(this.forwardNHWC(x, opts.training, stats), [0, 3, 1, 2]));
    if (stats) this.applyOrRead(stats, true);
    return y;
  }

  /**
   * The running_mean / running_var (smp names, all 22 BatchNorms) that a PyTorch training-mode
   * forward of `x` would produce (momentum 0.1, unbiased batch variance). Does not modify the
   * model; use `forward(x, {training: true, updateRunningStats: true})` for that.
   */
  runningStatUpdates(x: tfc.Tensor4D): Map<string, Float32Array> {
    const stats = new Map<string, BnBatchStats>();
    this.tf.tidy(() => {
      this.forwardNHWC(x, true, stats);
    });
    return this.applyOrRead(stats, false);
  }

  /** Encoder stage outputs (smp VGGEncoder features without the input), NCHW; caller disposes. */
  encode(x: tfc.Tensor4D): tfc.Tensor4D[] {
    const tf = this.tf;
    return tf.tidy(() => this.encoderNHWC(this.toNHWC(x)).map((t) => tf.transpose(t, [0, 3, 1, 2])));
  }

  /** One decoder node `decoder.blocks.<name>` on NCHW inputs (skip already concatenated, or null). */
  decoderBlock(name: string, prev: tfc.Tensor4D, skip: tfc.Tensor4D | null, opts: { training: boolean }): tfc.Tensor4D {
    this.checkAlive();
    const tf = this.tf;
    return tf.tidy(() => {
      const nhwc = (t: tfc.Tensor4D) => tf.transpose(t, [0, 2, 3, 1]);
      return tf.transpose(this.block(name, nhwc(prev), skip ? nhwc(skip) : null, opts.training), [0, 3, 1, 2]);
    });
  }

  /** Scalar loss of NHWC logits against an NHWC target. */
  private lossOf(y: tfc.Tensor4D, t: tfc.Tensor4D, loss: UnetPPLoss): tfc.Scalar {
    const tf = this.tf;
    switch (loss) {
      case 'mse':
        return tf.mean(tf.squaredDifference(y, t));
      case 'bce':
        // Stable BCE-with-logits, as PyTorch: max(y,0) − y·t + log(1 + e^(−|y|)), mean.
        return tf.mean(tf.add(tf.sub(tf.relu(y), tf.mul(y, t)), tf.log1p(tf.exp(tf.neg(tf.abs(y))))));
      case 'softmax_ce':
        // Soft-target cross-entropy over the channel axis (last in NHWC), mean over N·H·W.
        return tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(y, -1)), -1))) as tfc.Scalar;
      default:
        throw new Error(`TfUnetPlusPlus: unknown loss ${String(loss)}`);
    }
  }

  private checkTarget(x: tfc.Tensor4D, target: tfc.Tensor4D): void {
    const [n, , h, w] = x.shape;
    const want = [n, this.config.classes, h, w];
    if (target.rank !== 4 || target.shape.some((s, i) => s !== want[i]))
      throw new Error(`TfUnetPlusPlus: target must be NCHW [${want.join(',')}], got [${target.shape.join(',')}]`);
  }

  /** The loss as a scalar tensor (for `optimizer.minimize(() => model.lossTensor(...))`). */
  lossTensor(x: tfc.Tensor4D, target: tfc.Tensor4D, loss: UnetPPLoss, opts: { training: boolean }): tfc.Scalar {
    this.checkTarget(x, target);
    const tf = this.tf;
    return tf.tidy(() => this.lossOf(this.forwardNHWC(x, opts.training), tf.transpose(target, [0, 2, 3, 1]), loss));
  }

  /** The loss value only (no gradients). */
  lossValue(x: tfc.Tensor4D, target: tfc.Tensor4D, loss: UnetPPLoss, opts: { training: boolean }): number {
    const l = this.lossTensor(x, target, loss, opts);
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  }

  private lossAndGradTensors(x: tfc.Tensor4D, target: tfc.Tensor4D, loss: UnetPPLoss, opts: { training: boolean }) {
    this.checkTarget(x, target);
    const tf = this.tf;
    const trainable = [...this.params.values()].filter((q) => q.trainable);
    const stats = opts.training ? new Map<string, BnBatchStats>() : undefined;
    const kept: { logits?: tfc.Tensor4D } = {};
    const { value, grads } = tf.variableGrads(() => {
      const y = this.forwardNHWC(x, opts.training, stats);
      kept.logits = tf.keep(y);
      return this.lossOf(y, tf.transpose(target, [0, 2, 3, 1]), loss);
    }, trainable.map((q) => q.variable));
    const out = tf.tidy(() => tf.transpose(kept.logits!, [0, 3, 1, 2]));
    tf.dispose(kept.logits!);
    const torchGrads = new Map<string, tfc.Tensor>();
    for (const q of trainable) {
      const g = grads[q.variable.name];
      if (!g) throw new Error(`TfUnetPlusPlus: no gradient for ${q.name}`);
      torchGrads.set(q.name, this.toTorchLayout(g));
    }
    tf.dispose(Object.values(grads));
    return { value, out, torchGrads, stats };
  }

  /** Loss, the gradient of every trainable parameter (PyTorch layout), and the logits (NCHW). */
  lossAndGrads(x: tfc.Tensor4D, target: tfc.Tensor4D, loss: UnetPPLoss, opts: { training: boolean }): LossAndGrads {
    const { value, out, torchGrads, stats } = this.lossAndGradTensors(x, target, loss, opts);
    const res: LossAndGrads = { loss: value.dataSync()[0]!, grads: new Map(), output: out.dataSync() as Float32Array };
    for (const [k, g] of torchGrads) res.grads.set(k, g.dataSync() as Float32Array);
    this.tf.dispose([value, out, ...torchGrads.values()]);
    if (stats) res.runningStats = this.applyOrRead(stats, false);
    return res;
  }

  /** As `lossAndGrads`, reading back with `await data()` (backends without dataSync, e.g. webgpu in a page). */
  async lossAndGradsAsync(x: tfc.Tensor4D, target: tfc.Tensor4D, loss: UnetPPLoss, opts: { training: boolean }): Promise<LossAndGrads> {
    const { value, out, torchGrads, stats } = this.lossAndGradTensors(x, target, loss, opts);
    const res: LossAndGrads = { loss: (await value.data())[0]!, grads: new Map(), output: (await out.data()) as Float32Array };
    for (const [k, g] of torchGrads) res.grads.set(k, (await g.data()) as Float32Array);
    this.tf.dispose([value, out, ...torchGrads.values()]);
    if (stats) {
      const tf = this.tf;
      const names: string[] = [];
      const news = tf.tidy(() => [...this.newRunningStats(stats)].map(([k, t]) => (names.push(k), t)));
      res.runningStats = new Map();
      for (let i = 0; i < names.length; i++) res.runningStats.set(names[i]!, (await news[i]!.data()) as Float32Array);
      tf.dispose([...news, ...[...stats.values()].flatMap((s) => [s.mean, s.variance])]);
    }
    return res;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const q of this.params.values()) q.variable.dispose();
    this.params.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Random weights

/**
 * mulberry32: the stream the reference tests' weights were drawn from. Kept (not src/nn/random's
 * makeRng): with makeRng's draw, a few gradient elements of test/model/unetpp.test.ts sit on ReLU /
 * max-pool ties and fall outside its tolerance; the test checks the engine, not the draw.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}


/**
 * Deterministic weights for every (non-optional) tensor of the UnetPlusPlus/VGG19 table, in
 * PyTorch layouts: conv weights N(0, 2/fan_in) (He, so activations keep their scale through the
 * 16 + 22 ReLU convs even at small widths), conv biases U(−0.05, 0.05), BN weight U(0.8, 1.2),
 * bias U(−0.1, 0.1), running_mean U(−0.1, 0.1), running_var U(0.5, 2). num_batches_tracked is
 * not generated (it is optional in the table).
 */
export function randomUnetPPWeights(config: UnetPPConfig, seed: number): Map<string, Float32Array> {
  const rand = mulberry32(seed);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const normal = () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const out = new Map<string, Float32Array>();
  const table = unetPlusPlusExpected({
    classes: config.classes,
    inputChannels: config.inChannels,
    widths: config.widths ?? VGG19_WIDTHS,
    decoderChannels: config.decoderChannels ?? UNETPP_DECODER_CHANNELS,
  });
  for (const e of table) {
    if (e.optional) continue;
    const n = product(e.shape);
    const a = new Float32Array(n);
    const fill = (f: () => number) => {
      for (let i = 0; i < n; i++) a[i] = f();
    };
    const isBn = /\.conv[12]\.1\./.test(e.name);
    if (e.shape.length === 4) {
      const std = Math.sqrt(2 / (e.shape[1]! * e.shape[2]! * e.shape[3]!));
      fill(() => normal() * std);
    } else if (!isBn) fill(() => uniform(-0.05, 0.05)); // encoder / head conv bias
    else if (e.name.endsWith('.weight')) fill(() => uniform(0.8, 1.2));
    else if (e.name.endsWith('.bias')) fill(() => uniform(-0.1, 0.1));
    else if (e.name.endsWith('.running_mean')) fill(() => uniform(-0.1, 0.1));
    else if (e.name.endsWith('.running_var')) fill(() => uniform(0.5, 2));
    else throw new Error(`randomUnetPPWeights: unexpected tensor ${e.name}`);
    out.set(e.name, a);
  }
  return out;
}

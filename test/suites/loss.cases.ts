import type * as TF from '@tensorflow/tfjs-core';
import type { Tensor } from '../../src/gpu/tensor';
import {
  bceWithLogitsLoss,
  bceWithLogitsLossBackward,
  mseLoss,
  mseLossBackward,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  spatialSoftmaxCrossEntropy,
  spatialSoftmaxCrossEntropyBackward,
  adaptiveWingLoss,
  adaptiveWingLossBackward,
  AWING,
} from '../../src/kernels/loss';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import { tfCpu } from '../helpers/tf';
import type { Case } from './case';

type Tf = typeof TF;
type Fwd = (pred: Tensor, target: Tensor) => Tensor;
type Bwd = (pred: Tensor, target: Tensor, g?: Tensor) => Tensor;

interface LossDef {
  name: string;
  fwd: Fwd;
  bwd: Bwd;
  /** tf reference on NCHW tensors (a scalar). */
  tf: (tf: Tf, z: TF.Tensor, t: TF.Tensor, shape: number[]) => TF.Scalar;
  /** float64 host reference for finite differences. */
  host: (z: Float64Array, t: Float32Array, shape: number[]) => number;
  pred: (n: number, seed: number) => Float32Array;
  target: (n: number, seed: number, shape: number[]) => Float32Array;
}

function hostCe(z: Float64Array, t: Float32Array, shape: number[]): number {
  const [n, c, ...rest] = shape as [number, number, ...number[]];
  const hw = prod(rest);
  let total = 0;
  for (let b = 0; b < n; b++)
    for (let s = 0; s < hw; s++) {
      let m = -Infinity;
      for (let k = 0; k < c; k++) m = Math.max(m, z[(b * c + k) * hw + s]!);
      let se = 0;
      for (let k = 0; k < c; k++) se += Math.exp(z[(b * c + k) * hw + s]! - m);
      const lse = m + Math.log(se);
      for (let k = 0; k < c; k++) total += t[(b * c + k) * hw + s]! * (lse - z[(b * c + k) * hw + s]!);
    }
  return total / (n * hw);
}

/** Softmax over each map's pixels (the trailing dims), cross-entropy, mean over the N·C maps. */
function hostSpatialCe(z: Float64Array, t: Float32Array, shape: number[]): number {
  const [n, c, ...rest] = shape as [number, number, ...number[]];
  const hw = prod(rest);
  let total = 0;
  for (let map = 0; map < n * c; map++) {
    const base = map * hw;
    let m = -Infinity;
    for (let s = 0; s < hw; s++) m = Math.max(m, z[base + s]!);
    let se = 0;
    for (let s = 0; s < hw; s++) se += Math.exp(z[base + s]! - m);
    const lse = m + Math.log(se);
    for (let s = 0; s < hw; s++) total += t[base + s]! * (lse - z[base + s]!);
  }
  return total / (n * c);
}

/** Adaptive wing loss in float64, written from the paper's definition. */
function hostAwing(z: Float64Array, t: Float32Array): number {
  const { omega: w, theta: th, epsilon: eps, alpha: al } = AWING;
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    const d = Math.abs(z[i]! - t[i]!);
    const p = al - t[i]!;
    if (d < th) total += w * Math.log(1 + (d / eps) ** p);
    else {
      const a = (w * p * (th / eps) ** (p - 1)) / (eps * (1 + (th / eps) ** p));
      total += a * d - (th * a - w * Math.log(1 + (th / eps) ** p));
    }
  }
  return total / z.length;
}

const LOSSES: LossDef[] = [
  {
    name: 'mse',
    fwd: mseLoss,
    bwd: mseLossBackward,
    tf: (tf, z, t) => tf.losses.meanSquaredError(t, z) as TF.Scalar,
    host: (z, t) => z.reduce((a, v, i) => a + (v - t[i]!) ** 2, 0) / z.length,
    pred: (n, seed) => randn(n, seed),
    target: (n, seed) => uniform(n, seed, 0, 1),
  },
  {
    name: 'bceWithLogits',
    fwd: bceWithLogitsLoss,
    bwd: bceWithLogitsLossBackward,
    tf: (tf, z, t) => tf.losses.sigmoidCrossEntropy(t, z) as TF.Scalar,
    host: (z, t) => z.reduce((a, v, i) => a + Math.max(v, 0) - v * t[i]! + Math.log1p(Math.exp(-Math.abs(v))), 0) / z.length,
    pred: (n, seed) => {
      const d = randn(n, seed, 3);
      if (n > 4) {
        d[1] = 60; // tails where a naive log(sigmoid) overflows
        d[2] = -60;
      }
      return d;
    },
    target: (n, seed) => uniform(n, seed, 0, 1),
  },
  {
    name: 'softmaxCrossEntropy',
    fwd: softmaxCrossEntropy,
    bwd: softmaxCrossEntropyBackward,
    // built from primitives so the gradient is exact for targets that do not sum to 1
    tf: (tf, z, t, shape) => {
      const axis = 1;
      const ls = tf.logSoftmax(tf.transpose(z, [0, ...shape.slice(2).map((_, i) => i + 2), 1]));
      const tt = tf.transpose(t, [0, ...shape.slice(2).map((_, i) => i + 2), 1]);
      void axis;
      return tf.div(tf.neg(tf.sum(tf.mul(tt, ls))), prod(shape) / shape[1]!) as TF.Scalar;
    },
    host: hostCe,
    pred: (n, seed) => {
      const d = randn(n, seed, 3);
      if (n > 4) d[0] = 80; // large logits: needs the max shift
      return d;
    },
    // soft targets (Gaussian-like heatmap values), not normalised per pixel
    target: (n, seed) => uniform(n, seed, 0, 1).map((v) => v * v),
  },
  {
    name: 'spatialSoftmaxCrossEntropy',
    fwd: spatialSoftmaxCrossEntropy,
    bwd: spatialSoftmaxCrossEntropyBackward,
    // the [N·C, H·W] view, log-softmax over the pixels of each map
    tf: (tf, z, t, shape) => {
      const maps = shape[0]! * shape[1]!;
      const ls = tf.logSoftmax(tf.reshape(z, [maps, -1]));
      return tf.div(tf.neg(tf.sum(tf.mul(tf.reshape(t, [maps, -1]), ls))), maps) as TF.Scalar;
    },
    host: hostSpatialCe,
    pred: (n, seed) => {
      const d = randn(n, seed, 3);
      if (n > 4) d[0] = 80;
      return d;
    },
    // unnormalised soft targets; the second map all zero (a landmark outside the image)
    target: (n, seed, shape) => {
      const t = uniform(n, seed, 0, 1).map((v) => v * v);
      const hw = prod(shape.slice(2));
      if (shape[0]! * shape[1]! > 1) t.fill(0, hw, 2 * hw);
      return t;
    },
  },
  {
    name: 'adaptiveWingLoss',
    fwd: adaptiveWingLoss,
    bwd: adaptiveWingLossBackward,
    tf: (tf, z, t) => {
      const { omega: w, theta: th, epsilon: eps, alpha: al } = AWING;
      const d = tf.div(tf.abs(tf.sub(z, t)), eps);
      const p = tf.sub(al, t);
      const tp = tf.pow(th / eps, p);
      const a = tf.div(tf.mul(tf.mul(w, p), tf.pow(th / eps, tf.sub(p, 1))), tf.mul(eps, tf.add(1, tp)));
      const c = tf.sub(tf.mul(th, a), tf.mul(w, tf.log1p(tp)));
      const inner = tf.mul(w, tf.log1p(tf.pow(d, p)));
      const outer = tf.sub(tf.mul(a, tf.mul(d, eps)), c);
      // the branch mask from a constant copy of z (tf has no gradient for comparisons)
      const near = tf.less(tf.abs(tf.sub(tf.tensor(z.dataSync(), z.shape), t)), th);
      return tf.mean(tf.where(near, inner, outer)) as TF.Scalar;
    },
    host: hostAwing,
    // errors on both sides of θ
    pred: (n, seed) => uniform(n, seed, -0.6, 1.6),
    // heatmap-like targets in [0, 1]
    target: (n, seed) => uniform(n, seed, 0, 1).map((v) => v * v),
  },
];

const SHAPES = [
  [1, 1, 5, 7],
  [2, 3, 4, 4],
  [3, 5, 3, 5],
  [2, 13, 7, 3],
  [1, 16, 6, 6],
  [2, 5, 33, 33], // several first-stage partials
];

export const lossCases: Case[] = [];

for (const L of LOSSES) {
  for (const shape of SHAPES) {
    const tag = `${L.name} ${shape.join('x')}`;
    lossCases.push({
      name: `${tag} value and gradient vs tf`,
      async run(e) {
        const tf = await tfCpu();
        const n = prod(shape);
        const zd = L.pred(n, n + 3);
        const td = L.target(n, n + 4, shape);
        const z = e.tensor(zd, shape);
        const t = e.tensor(td, shape);
        const gOut = e.tensor([0.7], [1]);
        const loss = L.fwd(z, t);
        const grad = L.bwd(z, t);
        const gradScaled = L.bwd(z, t, gOut);
        assert(loss.size === 1 && loss.shape.length === 1, `${tag}: loss is a [1] tensor`);
        const [gl, gg, ggs] = await Promise.all([loss.read(), grad.read(), gradScaled.read()]);
        const [wl, wg] = tf.tidy(() => {
          const tt = tf.tensor(td, shape);
          const f = (zz: TF.Tensor) => L.tf(tf, zz, tt, shape);
          const { value, grad: g } = tf.valueAndGrad(f)(tf.tensor(zd, shape));
          return [value.dataSync() as Float32Array, g.dataSync() as Float32Array];
        });
        assertClose(gl!, wl!, `${tag} loss`, { atol: 1e-5, rtol: 1e-4 });
        assertClose(gg!, wg!, `${tag} grad`, { atol: 1e-7, rtol: 1e-4 });
        assertClose(ggs!, wg!.map((v) => v * 0.7), `${tag} grad·gradOut`, { atol: 1e-7, rtol: 1e-4 });
        for (const x of [z, t, gOut, loss, grad, gradScaled]) x.dispose();
      },
    });
  }
  lossCases.push({
    name: `${L.name} gradient vs central finite differences`,
    async run(e) {
      const shape = [2, 3, 5, 3];
      const n = prod(shape);
      const zd = L.pred(n, 77);
      const td = L.target(n, 78, shape);
      const z = e.tensor(zd, shape);
      const t = e.tensor(td, shape);
      const grad = L.bwd(z, t);
      const gg = await grad.read();
      const z64 = Float64Array.from(zd);
      const h = 1e-4;
      for (const k of [0, 3, 20, n - 1]) {
        const keep = z64[k]!;
        z64[k] = keep + h;
        const up = L.host(z64, td, shape);
        z64[k] = keep - h;
        const down = L.host(z64, td, shape);
        z64[k] = keep;
        assertClose([gg[k]!], [(up - down) / (2 * h)], `${L.name} grad[${k}]`, { atol: 1e-5, rtol: 1e-3 });
      }
      z.dispose();
      t.dispose();
      grad.dispose();
    },
  });
}

lossCases.push({
  name: 'spatialSoftmaxCrossEntropy: a map whose targets are all zero gets no gradient; a normalised map gets softmax − t',
  async run(e) {
    const shape = [1, 2, 4, 5];
    const hw = 20;
    const zd = randn(2 * hw, 11, 2);
    const td = new Float32Array(2 * hw);
    td[hw + 7] = 0.75;
    td[hw + 8] = 0.25;
    const z = e.tensor(zd, shape);
    const t = e.tensor(td, shape);
    const grad = spatialSoftmaxCrossEntropyBackward(z, t);
    const gg = await grad.read();
    for (let i = 0; i < hw; i++) assert(gg[i] === 0, `zero-target map: grad[${i}] = ${gg[i]} must be 0`);
    let m = -Infinity;
    for (let i = 0; i < hw; i++) m = Math.max(m, zd[hw + i]!);
    let se = 0;
    for (let i = 0; i < hw; i++) se += Math.exp(zd[hw + i]! - m);
    const want = Array.from({ length: hw }, (_, i) => (Math.exp(zd[hw + i]! - m) / se - td[hw + i]!) / 2);
    assertClose(gg.subarray(hw), want, 'normalised map: (softmax − t) / maps', { atol: 1e-7, rtol: 1e-5 });
    for (const x of [z, t, grad]) x.dispose();
  },
});

lossCases.push({
  name: 'softmaxCrossEntropy matches tf.losses.softmaxCrossEntropy for one-hot / normalised targets',
  async run(e) {
    const tf = await tfCpu();
    const shape = [2, 5, 3, 7];
    const [n, c, h, w] = shape as [number, number, number, number];
    const zd = randn(prod(shape), 5, 2);
    // per-pixel normalised soft targets
    const td = uniform(prod(shape), 6, 0, 1);
    for (let b = 0; b < n; b++)
      for (let s = 0; s < h * w; s++) {
        let sum = 0;
        for (let k = 0; k < c; k++) sum += td[(b * c + k) * h * w + s]!;
        for (let k = 0; k < c; k++) td[(b * c + k) * h * w + s]! /= sum;
      }
    const z = e.tensor(zd, shape);
    const t = e.tensor(td, shape);
    const loss = softmaxCrossEntropy(z, t);
    const grad = softmaxCrossEntropyBackward(z, t);
    const [gl, gg] = await Promise.all([loss.read(), grad.read()]);
    const [wl, wg] = tf.tidy(() => {
      const tt = tf.transpose(tf.tensor4d(td, [n, c, h, w]), [0, 2, 3, 1]);
      const f = (zz: TF.Tensor) =>
        tf.losses.softmaxCrossEntropy(tt, tf.transpose(zz, [0, 2, 3, 1]), undefined, 0, tf.Reduction.MEAN) as TF.Scalar;
      const { value, grad: g } = tf.valueAndGrad(f)(tf.tensor4d(zd, [n, c, h, w]));
      return [value.dataSync() as Float32Array, g.dataSync() as Float32Array];
    });
    assertClose(gl, wl!, 'ce loss', { atol: 1e-5, rtol: 1e-4 });
    assertClose(gg, wg!, 'ce grad', { atol: 1e-7, rtol: 1e-4 });
    for (const x of [z, t, loss, grad]) x.dispose();
  },
});

lossCases.push({
  name: 'softmaxCrossEntropy on [N, C] logits (no spatial dims)',
  async run(e) {
    const shape = [3, 4];
    const zd = randn(12, 9);
    const td = uniform(12, 10, 0, 1);
    const z = e.tensor(zd, shape);
    const t = e.tensor(td, shape);
    const loss = softmaxCrossEntropy(z, t);
    const gl = await loss.read();
    assertClose(gl, [hostCe(Float64Array.from(zd), td, shape)], 'ce [N, C]', { atol: 1e-5, rtol: 1e-4 });
    z.dispose();
    t.dispose();
    loss.dispose();
  },
});

lossCases.push({
  name: 'loss errors name the shapes and leak nothing',
  async run(e) {
    const a = e.zeros([2, 3, 4, 4]);
    const b = e.zeros([2, 3, 4, 5]);
    const g2 = e.zeros([2]);
    const v = e.zeros([5]);
    const live = e.memory().liveBytes;
    for (const [name, fn] of [
      ['mseLoss', () => mseLoss(a, b)],
      ['mseLossBackward', () => mseLossBackward(a, b)],
      ['bceWithLogitsLoss', () => bceWithLogitsLoss(a, b)],
      ['bceWithLogitsLossBackward', () => bceWithLogitsLossBackward(a, b)],
      ['softmaxCrossEntropy', () => softmaxCrossEntropy(a, b)],
      ['softmaxCrossEntropyBackward', () => softmaxCrossEntropyBackward(a, b)],
      ['spatialSoftmaxCrossEntropy', () => spatialSoftmaxCrossEntropy(a, b)],
      ['spatialSoftmaxCrossEntropyBackward', () => spatialSoftmaxCrossEntropyBackward(a, b)],
      ['adaptiveWingLoss', () => adaptiveWingLoss(a, b)],
      ['adaptiveWingLossBackward', () => adaptiveWingLossBackward(a, b)],
    ] as const) {
      await assertThrows(fn, /\[2, 3, 4, 4\].*\[2, 3, 4, 5\]/, name);
    }
    await assertThrows(() => mseLossBackward(a, a, g2), /gradOut.*\[2\]/, 'gradOut shape');
    await assertThrows(() => softmaxCrossEntropy(v, v), /\[N, C, \.\.\.\].*\[5\]/, 'ce rank');
    const disposed = e.zeros([2, 3, 4, 4]);
    disposed.dispose();
    await assertThrows(() => mseLoss(a, disposed), /dispose/, 'disposed target');
    assert(e.memory().liveBytes === live, 'failed calls allocate nothing');
    for (const x of [a, b, g2, v]) x.dispose();
  },
});

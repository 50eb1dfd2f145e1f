import type { Engine } from '../../src/gpu/engine';
import { ShapeError } from '../../src/gpu/errors';
import type { Tensor } from '../../src/gpu/tensor';
import { batchNorm, batchNormBackward, frozenBatchNormSaved } from '../../src/kernels/batchnorm';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import { tfCpu } from '../helpers/tf';
import type { Case } from './case';

type Shape = [number, number, number, number];

/** PyTorch BatchNorm2d in float64 on the host: y, batch mean/var, updated running stats. */
function refForward(
  x: Float32Array,
  [n, c, h, w]: Shape,
  gamma: Float32Array,
  beta: Float32Array,
  rm: Float32Array,
  rv: Float32Array,
  training: boolean,
  relu: boolean,
  momentum = 0.1,
  eps = 1e-5,
) {
  const hw = h * w;
  const m = n * hw;
  const mean = new Float64Array(c);
  const vr = new Float64Array(c);
  const newRm = Float32Array.from(rm);
  const newRv = Float32Array.from(rv);
  for (let ch = 0; ch < c; ch++) {
    if (training) {
      let s = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) s += x[(b * c + ch) * hw + i]!;
      const mu = s / m;
      let q = 0;
      for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) q += (x[(b * c + ch) * hw + i]! - mu) ** 2;
      mean[ch] = mu;
      vr[ch] = q / m;
      newRm[ch] = (1 - momentum) * rm[ch]! + momentum * mu;
      newRv[ch] = (1 - momentum) * rv[ch]! + momentum * (q / (m - 1));
    } else {
      mean[ch] = rm[ch]!;
      vr[ch] = rv[ch]!;
    }
  }
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        const v = ((x[k]! - mean[ch]!) / Math.sqrt(vr[ch]! + eps)) * gamma[ch]! + beta[ch]!;
        y[k] = relu ? Math.max(v, 0) : v;
      }
  return { y, mean, invStd: Array.from(vr, (v) => 1 / Math.sqrt(v + 1e-5)), newRm, newRv };
}

/** Σ dy·BN_train(x) in float64 (the scalar whose x-gradient is dx), for finite differences. */
function refObjective(x: Float64Array, dy: Float32Array, [n, c, h, w]: Shape, gamma: Float32Array, beta: Float32Array, relu: boolean): number {
  const hw = h * w;
  const m = n * hw;
  let total = 0;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) s += x[(b * c + ch) * hw + i]!;
    const mu = s / m;
    let q = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) q += (x[(b * c + ch) * hw + i]! - mu) ** 2;
    const inv = 1 / Math.sqrt(q / m + 1e-5);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < hw; i++) {
        const k = (b * c + ch) * hw + i;
        let v = (x[k]! - mu) * inv * gamma[ch]! + beta[ch]!;
        if (relu) v = Math.max(v, 0);
        total += dy[k]! * v;
      }
  }
  return total;
}

function inputs(shape: Shape, seed: number) {
  const c = shape[1];
  return {
    // an offset mean so a naive E[x²] − E[x]² variance would lose digits
    x: randn(prod(shape), seed, 2).map((v) => v + 3),
    gamma: uniform(c, seed + 1, 0.5, 1.5),
    beta: uniform(c, seed + 2, -0.5, 0.5),
    rm: uniform(c, seed + 3, -0.2, 0.2),
    rv: uniform(c, seed + 4, 0.5, 2),
    dy: randn(prod(shape), seed + 5),
  };
}

async function readAll(...ts: Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map((t) => t.read()));
}

function disposeAll(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

const FWD = { atol: 2e-5, rtol: 1e-4 };
const BWD = { atol: 5e-5, rtol: 5e-4 };

const SHAPES: Shape[] = [
  [2, 3, 5, 7], // scalar path (H·W odd)
  [1, 1, 9, 11],
  [3, 5, 4, 6], // vec4 path
  [2, 13, 3, 3],
  [2, 16, 8, 8],
  [2, 3, 67, 67], // several partials per channel, scalar path
  [2, 2, 96, 96], // several partials per channel, vec4 path
];

export const batchnormCases: Case[] = [];

for (const shape of SHAPES) {
  for (const relu of [false, true]) {
    if (relu && shape[2] > 16) continue;
    const tag = `${shape.join('x')}${relu ? ' +relu' : ''}`;
    batchnormCases.push({
      name: `train forward + running stats ${tag}`,
      async run(e) {
        const d = inputs(shape, prod(shape) + 7);
        const x = e.tensor(d.x, shape);
        const g = e.tensor(d.gamma, [shape[1]]);
        const b = e.tensor(d.beta, [shape[1]]);
        const rm = e.tensor(d.rm, [shape[1]]);
        const rv = e.tensor(d.rv, [shape[1]]);
        const { y, saved } = batchNorm(x, g, b, rm, rv, { training: true, relu });
        assert(saved, 'training returns saved stats');
        const [gy, gm, gi, grm, grv] = await readAll(y, saved.mean, saved.invStd, rm, rv);
        const want = refForward(d.x, shape, d.gamma, d.beta, d.rm, d.rv, true, relu);
        assertClose(gy!, want.y, `y ${tag}`, FWD);
        assertClose(gm!, want.mean, `mean ${tag}`, FWD);
        assertClose(gi!, want.invStd, `invStd ${tag}`, FWD);
        assertClose(grm!, want.newRm, `running mean ${tag}`, FWD);
        assertClose(grv!, want.newRv, `running var ${tag}`, FWD);
        // the batch statistics also agree with tf.moments
        const tf = await tfCpu();
        const [mm, mv] = tf.tidy(() => {
          const m = tf.moments(tf.tensor4d(d.x, shape), [0, 2, 3]);
          return [m.mean.dataSync() as Float32Array, m.variance.dataSync() as Float32Array];
        });
        assertClose(gm!, mm!, `mean vs tf.moments ${tag}`, FWD);
        assertClose(Array.from(gi!, (v) => 1 / (v * v) - 1e-5), mv!, `var vs tf.moments ${tag}`, { atol: 1e-4, rtol: 1e-4 });
        disposeAll(x, g, b, rm, rv, y, saved.mean, saved.invStd);
      },
    });
    batchnormCases.push({
      name: `backward vs tf.grads ${tag}`,
      async run(e) {
        const tf = await tfCpu();
        const d = inputs(shape, prod(shape) + 11);
        const c = shape[1];
        const x = e.tensor(d.x, shape);
        const g = e.tensor(d.gamma, [c]);
        const b = e.tensor(d.beta, [c]);
        const rm = e.tensor(d.rm, [c]);
        const rv = e.tensor(d.rv, [c]);
        const dy = e.tensor(d.dy, shape);
        const { y, saved } = batchNorm(x, g, b, rm, rv, { training: true, relu });
        const grads = batchNormBackward(dy, x, g, saved!, relu ? { y } : {});
        const [gdx, gdg, gdb] = await readAll(grads.dx, grads.dgamma, grads.dbeta);
        const want = tf.tidy(() => {
          const f = (xt: import('@tensorflow/tfjs-core').Tensor, gt: import('@tensorflow/tfjs-core').Tensor, bt: import('@tensorflow/tfjs-core').Tensor) => {
            const { mean, variance } = tf.moments(xt, [0, 2, 3], true);
            let out = tf.add(
              tf.mul(tf.div(tf.sub(xt, mean), tf.sqrt(tf.add(variance, 1e-5))), tf.reshape(gt, [1, c, 1, 1])),
              tf.reshape(bt, [1, c, 1, 1]),
            );
            if (relu) out = tf.relu(out);
            return tf.sum(tf.mul(out, tf.tensor4d(d.dy, shape)));
          };
          const gs = tf.grads(f)([tf.tensor4d(d.x, shape), tf.tensor1d(d.gamma), tf.tensor1d(d.beta)]);
          return gs.map((t) => t.dataSync() as Float32Array);
        });
        assertClose(gdx!, want[0]!, `dx ${tag}`, BWD);
        assertClose(gdg!, want[1]!, `dgamma ${tag}`, { atol: 2e-4, rtol: 5e-4 });
        assertClose(gdb!, want[2]!, `dbeta ${tag}`, { atol: 2e-4, rtol: 5e-4 });
        disposeAll(x, g, b, rm, rv, dy, y, saved!.mean, saved!.invStd, grads.dx, grads.dgamma, grads.dbeta);
      },
    });
  }
}

for (const shape of [[2, 3, 5, 7], [3, 5, 4, 6]] as Shape[]) {
  for (const relu of [false, true]) {
    const tag = `${shape.join('x')}${relu ? ' +relu' : ''}`;
    batchnormCases.push({
      name: `dx vs central finite differences ${tag}`,
      async run(e) {
        const d = inputs(shape, 99 + shape[1]);
        const c = shape[1];
        const x = e.tensor(d.x, shape);
        const g = e.tensor(d.gamma, [c]);
        const b = e.tensor(d.beta, [c]);
        const rm = e.tensor(d.rm, [c]);
        const rv = e.tensor(d.rv, [c]);
        const dy = e.tensor(d.dy, shape);
        const { y, saved } = batchNorm(x, g, b, rm, rv, { training: true, relu });
        const grads = batchNormBackward(dy, x, g, saved!, relu ? { y } : {});
        const [gdx] = await readAll(grads.dx);
        const x64 = Float64Array.from(d.x);
        const h = 1e-4;
        for (const k of [0, 1, 17, d.x.length - 1]) {
          const keep = x64[k]!;
          x64[k] = keep + h;
          const up = refObjective(x64, d.dy, shape, d.gamma, d.beta, relu);
          x64[k] = keep - h;
          const down = refObjective(x64, d.dy, shape, d.gamma, d.beta, relu);
          x64[k] = keep;
          assertClose([gdx![k]!], [(up - down) / (2 * h)], `dx[${k}] finite difference ${tag}`, { atol: 1e-3, rtol: 1e-3 });
        }
        disposeAll(x, g, b, rm, rv, dy, y, saved!.mean, saved!.invStd, grads.dx, grads.dgamma, grads.dbeta);
      },
    });
  }
}

for (const shape of [[2, 3, 5, 7], [2, 16, 4, 4]] as Shape[]) {
  for (const relu of [false, true]) {
    const tag = `${shape.join('x')}${relu ? ' +relu' : ''}`;
    batchnormCases.push({
      name: `eval forward uses running stats ${tag}`,
      async run(e) {
        const d = inputs(shape, 5 + shape[1]);
        const c = shape[1];
        const x = e.tensor(d.x.map((v) => v - 3), shape);
        const g = e.tensor(d.gamma, [c]);
        const b = e.tensor(d.beta, [c]);
        const rm = e.tensor(d.rm, [c]);
        const rv = e.tensor(d.rv, [c]);
        const { y, saved } = batchNorm(x, g, b, rm, rv, { training: false, relu });
        assert(saved === null, 'eval returns saved = null');
        const [gy, grm, grv] = await readAll(y, rm, rv);
        const want = refForward(d.x.map((v) => v - 3), shape, d.gamma, d.beta, d.rm, d.rv, false, relu);
        assertClose(gy!, want.y, `eval y ${tag}`, FWD);
        assertClose(grm!, d.rm, 'running mean unchanged', { atol: 0, rtol: 0 });
        assertClose(grv!, d.rv, 'running var unchanged', { atol: 0, rtol: 0 });
        disposeAll(x, g, b, rm, rv, y);
      },
    });
  }
}

batchnormCases.push({
  name: 'running stats as arena views, custom momentum/eps, repeated steps',
  async run(e: Engine) {
    const shape: Shape = [3, 5, 5, 3];
    const c = shape[1];
    const d = inputs(shape, 321);
    const params = e.arena([[c], [c]], 'bn_params');
    const state = e.arena([[c], [c]], 'bn_state');
    const [g, b] = params.tensors as [Tensor, Tensor];
    const [rm, rv] = state.tensors as [Tensor, Tensor];
    e.write(g, d.gamma);
    e.write(b, d.beta);
    e.write(rm, d.rm);
    e.write(rv, d.rv);
    const x = e.tensor(d.x, shape);
    let wantRm = d.rm;
    let wantRv = d.rv;
    for (let step = 0; step < 2; step++) {
      const { y, saved } = batchNorm(x, g, b, rm, rv, { training: true, momentum: 0.3, eps: 1e-3 });
      const want = refForward(d.x, shape, d.gamma, d.beta, wantRm, wantRv, true, false, 0.3, 1e-3);
      wantRm = want.newRm;
      wantRv = want.newRv;
      const [gy] = await readAll(y);
      assertClose(gy!, want.y, `y step ${step}`, FWD);
      disposeAll(y, saved!.mean, saved!.invStd);
    }
    const [grm, grv] = await readAll(rm, rv);
    assertClose(grm!, wantRm, 'running mean after 2 steps', FWD);
    assertClose(grv!, wantRv, 'running var after 2 steps', FWD);
    x.dispose();
    params.dispose();
    state.dispose();
  },
});

batchnormCases.push({
  name: 'errors name the shapes and leak nothing',
  async run(e) {
    const x = e.tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const c3 = e.zeros([3]);
    const c4 = e.zeros([4]);
    const rv = e.tensor([1, 1, 1], [3]);
    const one = e.zeros([1, 3, 1, 1]);
    const bad = e.zeros([2, 3, 4, 5]);
    const live = e.memory().liveBytes;
    await assertThrows(() => batchNorm(x, c4, c3, c3, c3, { training: true }), /gamma \[4\].*\[2, 3, 4, 4\]/, 'gamma size');
    await assertThrows(() => batchNorm(c3, c3, c3, c3, c3, { training: true }), /rank 4.*\[3\]/, 'x rank');
    await assertThrows(() => batchNorm(one, c3, c3, c3, c3, { training: true }), /more than 1 value per channel/, 'one value per channel');
    await assertThrows(() => batchNorm(x, c3, c3, c3, c3, { training: true }), /distinct/, 'aliased running stats');
    const { y, saved } = batchNorm(x, c3, c3, c3, rv, { training: true });
    const live2 = e.memory().liveBytes;
    await assertThrows(() => batchNormBackward(bad, x, c3, saved!), /dy \[2, 3, 4, 5\].*\[2, 3, 4, 4\]/, 'dy shape');
    await assertThrows(() => batchNormBackward(x, x, c4, saved!), /gamma \[4\]/, 'gamma shape (backward)');
    assert(e.memory().liveBytes === live2, 'failed backward calls allocate nothing');
    const err = await assertThrows(() => batchNorm(x, c4, c3, c3, c3, { training: false }), /gamma/, 'eval gamma');
    assert(err instanceof ShapeError, 'ShapeError');
    disposeAll(y, saved!.mean, saved!.invStd);
    assert(e.memory().liveBytes === live, 'failed calls allocate nothing');
    disposeAll(x, c3, c4, rv, one, bad);
  },
});

// Eval mode (frozen statistics) backward: PyTorch's dx = γ/√(running_var + ε)·dy (masked by the ReLU),
// dγ = Σ dy·x̂, dβ = Σ dy with x̂ = (x − running_mean)/√(running_var + ε); the statistics are constants.
for (const shape of [[2, 3, 5, 7], [3, 5, 4, 6], [2, 16, 8, 8]] as Shape[]) {
  for (const relu of [false, true]) {
    const tag = `${shape.join('x')}${relu ? ' +relu' : ''}`;
    batchnormCases.push({
      name: `eval-mode (frozen) backward vs tf.grads and finite differences ${tag}`,
      async run(e) {
        const tf = await tfCpu();
        const d = inputs(shape, prod(shape) + 23);
        const c = shape[1];
        const x = e.tensor(d.x, shape);
        const g = e.tensor(d.gamma, [c]);
        const b = e.tensor(d.beta, [c]);
        const rm = e.tensor(d.rm.map((v) => v + 3), [c]);
        const rv = e.tensor(d.rv, [c]);
        const dy = e.tensor(d.dy, shape);
        const { y, saved } = batchNorm(x, g, b, rm, rv, { training: false, relu });
        assert(saved === null, 'eval mode saves no batch statistics');
        const s = frozenBatchNormSaved(rm, rv);
        const grads = batchNormBackward(dy, x, g, s, { ...(relu ? { y } : {}), frozen: true });
        const [gdx, gdg, gdb, grm, grv] = await readAll(grads.dx, grads.dgamma, grads.dbeta, rm, rv);
        const rmv = d.rm.map((v) => v + 3);
        assertClose(grm!, rmv, `running mean unchanged ${tag}`, { atol: 0, rtol: 0 });
        assertClose(grv!, d.rv, `running var unchanged ${tag}`, { atol: 0, rtol: 0 });
        const want = tf.tidy(() => {
          const f = (xt: import('@tensorflow/tfjs-core').Tensor, gt: import('@tensorflow/tfjs-core').Tensor, bt: import('@tensorflow/tfjs-core').Tensor) => {
            const mean = tf.reshape(tf.tensor1d(rmv), [1, c, 1, 1]);
            const sd = tf.sqrt(tf.add(tf.reshape(tf.tensor1d(d.rv), [1, c, 1, 1]), 1e-5));
            let out = tf.add(tf.mul(tf.div(tf.sub(xt, mean), sd), tf.reshape(gt, [1, c, 1, 1])), tf.reshape(bt, [1, c, 1, 1]));
            if (relu) out = tf.relu(out);
            return tf.sum(tf.mul(out, tf.tensor4d(d.dy, shape)));
          };
          return tf.grads(f)([tf.tensor4d(d.x, shape), tf.tensor1d(d.gamma), tf.tensor1d(d.beta)]).map((t) => t.dataSync() as Float32Array);
        });
        assertClose(gdx!, want[0]!, `dx ${tag}`, BWD);
        assertClose(gdg!, want[1]!, `dgamma ${tag}`, { atol: 2e-4, rtol: 5e-4 });
        assertClose(gdb!, want[2]!, `dbeta ${tag}`, { atol: 2e-4, rtol: 5e-4 });
        // central finite differences of Σ dy·BN_eval(x) at a few elements (float64 on the host)
        const obj = (xx: Float64Array) => {
          let t = 0;
          const hw = shape[2] * shape[3];
          for (let k = 0; k < xx.length; k++) {
            const ch = Math.floor(k / hw) % c;
            let v = ((xx[k]! - rmv[ch]!) / Math.sqrt(d.rv[ch]! + 1e-5)) * d.gamma[ch]! + d.beta[ch]!;
            if (relu) v = Math.max(v, 0);
            t += d.dy[k]! * v;
          }
          return t;
        };
        const x64 = Float64Array.from(d.x);
        for (const k of [0, 7, Math.floor(x64.length / 2), x64.length - 1]) {
          const h = 1e-4;
          const p = Float64Array.from(x64), m = Float64Array.from(x64);
          p[k]! += h;
          m[k]! -= h;
          const fd = (obj(p) - obj(m)) / (2 * h);
          assertClose([gdx![k]!], [fd], `dx[${k}] vs finite difference ${tag}`, { atol: 1e-3, rtol: 1e-3 });
        }
        disposeAll(x, g, b, rm, rv, dy, y, s.invStd, grads.dx, grads.dgamma, grads.dbeta);
      },
    });
  }
}

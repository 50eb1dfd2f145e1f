import type { Engine } from '../../src/gpu/engine';
import { DisposedError, ShapeError } from '../../src/gpu/errors';
import type { Tensor } from '../../src/gpu/tensor';
import {
  conv2dBackwardBias,
  conv2dBackwardWeight,
  planConv2dBackwardWeight,
  planConv2dBackwardWeightDirect,
  usesDirectConv2dBackwardWeight,
  type GradWeightConfig,
} from '../../src/kernels/conv2d_grad_weight';
import { assert, assertClose, assertThrows, type Tolerance } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import { nchwToNhwc, tfCpu } from '../helpers/tf';
import type { Case } from './case';

type Shape4 = [number, number, number, number];

/** tfjs reference: d/dfilter of Σ conv2d(x, f) · dy, as OIHW. */
async function refWeightGrad(xData: Float32Array, xShape: Shape4, dyData: Float32Array, dyShape: Shape4, k: number, pad: number): Promise<Float32Array> {
  const tf = await tfCpu();
  const [, cin] = xShape;
  const cout = dyShape[1];
  return tf.tidy(() => {
    const x = nchwToNhwc(tf, xData, xShape);
    const dy = nchwToNhwc(tf, dyData, dyShape);
    const f0 = tf.zeros([k, k, cin, cout]) as import('@tensorflow/tfjs-core').Tensor4D;
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const g = tf.grad((f: import('@tensorflow/tfjs-core').Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as typeof f0, 1, padding), dy)));
    return tf.transpose(g(f0), [3, 2, 0, 1]).dataSync() as Float32Array; // HWIO → OIHW
  });
}

async function refBiasGrad(dyData: Float32Array, dyShape: Shape4): Promise<Float32Array> {
  const tf = await tfCpu();
  return tf.tidy(() => tf.sum(tf.tensor4d(dyData, dyShape), [0, 2, 3]).dataSync() as Float32Array);
}

/** f32 sums of K products of unit-scale values: the error bound grows with the reduction length. */
const tolFor = (reduction: number): Tolerance => ({ atol: 1e-5 + 2e-6 * reduction, rtol: 1e-4 });

const outHW = (h: number, w: number, k: number, pad: number): [number, number] => [h + 2 * pad - k + 1, w + 2 * pad - k + 1];

interface WeightCase {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: 1 | 3;
  pad?: number;
  config?: GradWeightConfig;
  /** Require at least this many split-K chunks (checks the plan really splits). */
  minSplits?: number;
  accumulate?: boolean;
}

function weightCase(c: WeightCase): Case {
  const pad = c.pad ?? (c.k - 1) / 2;
  const tag = c.config ? ` ${JSON.stringify(c.config).replace(/"/g, '')}` : '';
  return {
    name: `dW N${c.n} C${c.cin}→${c.cout} ${c.h}x${c.w} k${c.k} pad${pad}${c.accumulate ? ' accumulate' : ''}${tag}`,
    async run(e: Engine) {
      const [ho, wo] = outHW(c.h, c.w, c.k, pad);
      const xShape: Shape4 = [c.n, c.cin, c.h, c.w];
      const dyShape: Shape4 = [c.n, c.cout, ho, wo];
      const wShape = [c.cout, c.cin, c.k, c.k];
      const seed = c.n * 1000 + c.cin * 100 + c.cout * 10 + c.h + c.w + c.k + pad;
      const xData = randn(prod(xShape), seed);
      const dyData = randn(prod(dyShape), seed + 1);
      const plan = usesDirectConv2dBackwardWeight(e, c.config)
        ? { splits: planConv2dBackwardWeightDirect(c.cout, c.cin, c.k, c.n * ho, wo, c.config).slices }
        : planConv2dBackwardWeight(e, c.cout, c.cin * c.k * c.k, c.n * ho * wo, c.config);
      if (c.minSplits) assert(plan.splits >= c.minSplits, `expected ≥ ${c.minSplits} splits, plan has ${plan.splits}`);
      const x = e.tensor(xData, xShape, 'x');
      const dy = e.tensor(dyData, dyShape, 'dy');
      let want = await refWeightGrad(xData, xShape, dyData, dyShape, c.k, pad);
      let acc: Tensor | undefined;
      if (c.accumulate) {
        const prev = randn(prod(wShape), seed + 2, 3);
        acc = e.tensor(prev, wShape, 'acc');
        want = want.map((v, i) => v + prev[i]!);
      }
      const dW = conv2dBackwardWeight(x, dy, c.k, { padding: pad, accumulate: acc, config: c.config });
      if (acc) assert(dW === acc, 'accumulate: the accumulated tensor itself is returned');
      assert(dW.shape.join() === wShape.join(), `dW shape ${dW.shape} != ${wShape}`);
      const got = await dW.read();
      assertClose(got, want, `dW (${plan.splits} splits)`, tolFor(c.n * ho * wo));
      x.dispose();
      dy.dispose();
      dW.dispose();
    },
  };
}

export const conv2dGradWeightCases: Case[] = [];
const W = (c: WeightCase) => conv2dGradWeightCases.push(weightCase(c));

// shapes: odd H/W, batch 1–3, Cin ∈ {1, 3, 5, 13}, Cout ∈ {1, 6, 17, 32}, 1x1 and 3x3, pad 0 and 1
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 1 });
W({ n: 1, cin: 5, cout: 1, h: 7, w: 5, k: 1, pad: 1 });
W({ n: 3, cin: 13, cout: 32, h: 9, w: 11, k: 1 });
W({ n: 2, cin: 1, cout: 1, h: 7, w: 5, k: 3 });
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3 });
W({ n: 1, cin: 13, cout: 32, h: 9, w: 11, k: 3, pad: 0 });
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, pad: 0 });
W({ n: 2, cin: 13, cout: 17, h: 7, w: 5, k: 3 });
// split-K: many chunks (each at most a couple of BK steps), automatic and explicit tiles
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, config: { splits: 19 }, minSplits: 19 });
W({ n: 2, cin: 3, cout: 6, h: 9, w: 11, k: 3, pad: 0, config: { splits: 1000 }, minSplits: 8 });
W({ n: 2, cin: 13, cout: 32, h: 7, w: 5, k: 3, config: { targetWorkgroups: 64, minChunk: 16 }, minSplits: 3 });
// other tilings: several row and column tiles, 8x8 per thread, a short BK
W({ n: 2, cin: 5, cout: 17, h: 7, w: 5, k: 3, config: { bm: 16, bn: 16, bk: 16, tm: 4, tn: 4, splits: 3 }, minSplits: 3 });
W({ n: 2, cin: 13, cout: 32, h: 9, w: 11, k: 1, config: { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8, splits: 5 }, minSplits: 5 });
W({ n: 1, cin: 3, cout: 6, h: 9, w: 11, k: 3, config: { bm: 32, bn: 32, bk: 8, tm: 4, tn: 8 } });
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, config: { bm: 32, bn: 32, bk: 16, tm: 8, tn: 8 } }); // GPU default for small dims
// gradient accumulation: += into an existing tensor, single split and split-K
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, accumulate: true, config: { splits: 1 } });
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, accumulate: true, config: { splits: 6 }, minSplits: 4 });
W({ n: 1, cin: 13, cout: 32, h: 7, w: 5, k: 1, pad: 0, accumulate: true });
// the GEMM path explicitly (the default on GPUs; software adapters default to the direct path)
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, config: { algorithm: 'gemm' } });
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 1, accumulate: true, config: { algorithm: 'gemm' } });
// direct path (the software-adapter default): sliding window, row slices, partial tiles in Cout and Cin
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, config: { algorithm: 'direct' } });
W({ n: 2, cin: 1, cout: 1, h: 7, w: 5, k: 3, config: { algorithm: 'direct', slices: 1 } });
W({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, pad: 0, config: { algorithm: 'direct', slices: 4 }, minSplits: 4 });
W({ n: 1, cin: 13, cout: 32, h: 9, w: 11, k: 3, pad: 2, config: { algorithm: 'direct', slices: 4 }, minSplits: 4 }); // 11 rows: 3 per slice
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, config: { algorithm: 'direct', directTm: 4, slices: 27 }, minSplits: 27 });
W({ n: 2, cin: 13, cout: 6, h: 7, w: 5, k: 1, config: { algorithm: 'direct', slices: 3 }, minSplits: 3 }); // 4 input channels per invocation, 13 % 4 ≠ 0
W({ n: 2, cin: 5, cout: 17, h: 7, w: 5, k: 1, pad: 1, config: { algorithm: 'direct', directCit: 2, directTm: 4 } });
W({ n: 2, cin: 3, cout: 9, h: 7, w: 5, k: 3, accumulate: true, config: { algorithm: 'direct', slices: 1 } });
W({ n: 3, cin: 5, cout: 17, h: 9, w: 11, k: 3, accumulate: true, config: { algorithm: 'direct', slices: 6 }, minSplits: 6 });
W({ n: 2, cin: 8, cout: 8, h: 16, w: 16, k: 3, config: { algorithm: 'direct' } }); // automatic slices

// central finite differences on sampled weights, against a float64 host forward conv
conv2dGradWeightCases.push({
  name: 'dW finite differences N2 C2→3 5x6 k3 pad1',
  async run(e) {
    const [n, cin, cout, h, w, k, pad] = [2, 2, 3, 5, 6, 3, 1];
    const xData = randn(n * cin * h * w, 71);
    const g = randn(n * cout * h * w, 72); // L(W) = Σ conv(x, W) · g, so dL/dy = g
    const w0 = randn(cout * cin * k * k, 73, 0.5);
    const loss = (wt: Float64Array): number => {
      let s = 0;
      for (let b = 0; b < n; b++)
        for (let co = 0; co < cout; co++)
          for (let oy = 0; oy < h; oy++)
            for (let ox = 0; ox < w; ox++) {
              let y = 0;
              for (let ci = 0; ci < cin; ci++)
                for (let ky = 0; ky < k; ky++)
                  for (let kx = 0; kx < k; kx++) {
                    const iy = oy + ky - pad;
                    const ix = ox + kx - pad;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    y += xData[((b * cin + ci) * h + iy) * w + ix]! * wt[((co * cin + ci) * k + ky) * k + kx]!;
                  }
              s += y * g[((b * cout + co) * h + oy) * w + ox]!;
            }
      return s;
    };
    const x = e.tensor(xData, [n, cin, h, w]);
    const dy = e.tensor(g, [n, cout, h, w]);
    const dW = conv2dBackwardWeight(x, dy, 3, { config: { splits: 2 } });
    const got = await dW.read();
    const eps = 1e-2;
    for (const idx of [0, 4, 8, 13, 22, 31, 40, 53]) {
      const wp = Float64Array.from(w0);
      const wm = Float64Array.from(w0);
      wp[idx]! += eps;
      wm[idx]! -= eps;
      const fd = (loss(wp) - loss(wm)) / (2 * eps);
      assertClose([got[idx]!], [fd], `finite difference at weight ${idx}`, { atol: 1e-3, rtol: 1e-3 });
    }
    x.dispose();
    dy.dispose();
    dW.dispose();
  },
});

// bias gradient
for (const [shape, opts, accumulate] of [
  [[2, 6, 7, 5], {}, false],
  [[3, 17, 9, 11], {}, false],
  [[1, 1, 7, 5], {}, false],
  [[3, 17, 9, 11], { chunks: 5 }, false],
  [[2, 32, 7, 5], { chunks: 3 }, false],
  [[2, 6, 7, 5], {}, true],
  [[3, 17, 9, 11], { chunks: 4 }, true],
  [[1, 32, 9, 11], { chunks: 2 }, true],
] as [Shape4, { chunks?: number }, boolean][]) {
  conv2dGradWeightCases.push({
    name: `db ${shape.join('x')}${opts.chunks ? ` chunks${opts.chunks}` : ''}${accumulate ? ' accumulate' : ''}`,
    async run(e) {
      const data = randn(prod(shape), prod(shape) + 5);
      let want = await refBiasGrad(data, shape);
      const dy = e.tensor(data, shape, 'dy');
      let acc: Tensor | undefined;
      if (accumulate) {
        const prev = randn(shape[1], 9, 2);
        acc = e.tensor(prev, [shape[1]], 'acc');
        want = want.map((v, i) => v + prev[i]!);
      }
      const db = conv2dBackwardBias(dy, { ...opts, accumulate: acc });
      if (acc) assert(db === acc, 'accumulate: the accumulated tensor itself is returned');
      assertClose(await db.read(), want, 'db', tolFor(shape[0] * shape[2] * shape[3]));
      dy.dispose();
      db.dispose();
    },
  });
}

// shape errors: thrown before anything is allocated (runCase checks that nothing leaks)
conv2dGradWeightCases.push({
  name: 'shape errors',
  async run(e) {
    const x = e.zeros([2, 3, 7, 5]);
    const dy = e.zeros([2, 6, 7, 5]);
    const dyValid = e.zeros([2, 6, 5, 3]);
    const x3 = e.zeros([3, 7, 5]);
    const wrongAcc = e.zeros([6, 3, 1, 1]);
    const biasAcc = e.zeros([5]);
    const dyBatch1 = e.zeros([1, 6, 7, 5]);
    const tinyX = e.zeros([1, 1, 2, 2]);
    const tinyDy = e.zeros([1, 1, 1, 1]);
    const expectShape = async (fn: () => unknown, pattern: RegExp, what: string) => {
      const err = await assertThrows(fn, pattern, what);
      assert(err instanceof ShapeError, `${what}: expected ShapeError, got ${err.name}`);
    };
    await expectShape(() => conv2dBackwardWeight(x, dyBatch1, 3), /\[1, 6, 7, 5\].*\[2, 3, 7, 5\]/, 'batch mismatch');
    await expectShape(() => conv2dBackwardWeight(x, dy, 3, { padding: 0 }), /\[2, 6, 7, 5\].*expected \[2, Cout, 5, 3\]/, 'H/W mismatch (valid conv)');
    await expectShape(() => conv2dBackwardWeight(x, dyValid, 3), /\[2, 6, 5, 3\].*expected \[2, Cout, 7, 5\]/, 'H/W mismatch (same conv)');
    await expectShape(() => conv2dBackwardWeight(x, dy, 5 as 3), /kernel size must be 1 or 3, got 5/, 'kernel size');
    await expectShape(() => conv2dBackwardWeight(x3, dy, 1), /rank 4.*\[3, 7, 5\]/, 'rank-3 x');
    await expectShape(() => conv2dBackwardWeight(x, dy, 3, { accumulate: wrongAcc }), /accumulate \[6, 3, 1, 1\].*\[6, 3, 3, 3\]/, 'accumulate shape');
    await expectShape(() => conv2dBackwardWeight(tinyX, tinyDy, 3, { padding: 0 }), /smaller than the 3x3 kernel/, 'input smaller than kernel');
    await expectShape(() => conv2dBackwardBias(dy, { accumulate: biasAcc }), /accumulate \[5\].*\[6\]/, 'bias accumulate shape');
    await expectShape(() => conv2dBackwardBias(x3), /rank 4/, 'bias rank');
    await expectShape(() => conv2dBackwardWeight(x, dy, 3, { padding: 0.5 }), /padding must be a non-negative integer/, 'fractional padding');
    // a disposed input throws before any output is allocated
    const gone = e.zeros([2, 6, 7, 5]);
    gone.dispose();
    const err = await assertThrows(() => conv2dBackwardWeight(x, gone, 3), /after dispose/, 'disposed dy');
    assert(err instanceof DisposedError, `disposed dy: expected DisposedError, got ${err.name}`);
    await assertThrows(() => conv2dBackwardBias(gone), /after dispose/, 'disposed dy (bias)');
    for (const t of [x, dy, dyValid, x3, wrongAcc, biasAcc, dyBatch1, tinyX, tinyDy]) t.dispose();
  },
});

import { ShapeError } from '../../src/gpu/errors';
import type { Engine } from '../../src/gpu/engine';
import { maxPool2d, maxPool2dBackward } from '../../src/kernels/pool';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { nchwToNhwc, nhwcToNchw, tfCpu } from '../helpers/tf';
import type { Case } from './case';

/**
 * Plain TypeScript MaxPool2d(2, 2) with PyTorch's rule `val > maxval || isnan(val)` (first max on
 * ties, NaN propagates, a later NaN replaces an earlier one): y, argmax codes (dy*2 + dx) and the
 * backward scatter.
 */
function refPool(x: Float32Array, [n, c, h, w]: number[]): { y: Float32Array; arg: Float32Array } {
  const ho = h >> 1;
  const wo = w >> 1;
  const y = new Float32Array(n * c * ho * wo);
  const arg = new Float32Array(y.length);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        let m = -Infinity;
        let k = 0;
        for (let a = 0; a < 2; a++) {
          for (let b = 0; b < 2; b++) {
            const v = x[(p * h + 2 * i + a) * w + 2 * j + b]!;
            if (v > m || Number.isNaN(v)) {
              m = v;
              k = 2 * a + b;
            }
          }
        }
        y[(p * ho + i) * wo + j] = m;
        arg[(p * ho + i) * wo + j] = k;
      }
    }
  }
  return { y, arg };
}

function refPoolBackward(dy: Float32Array, arg: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const ho = h >> 1;
  const wo = w >> 1;
  const dx = new Float32Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        const o = (p * ho + i) * wo + j;
        const k = arg[o]!;
        dx[(p * h + 2 * i + (k >> 1)) * w + 2 * j + (k & 1)] = dy[o]!;
      }
    }
  }
  return dx;
}

const EXACT = { atol: 0, rtol: 0 };

/** Bitwise-level equality that also accepts NaN = NaN and ±inf = ±inf (assertClose does not). */
function assertSame(got: Float32Array, want: Float32Array, what: string): void {
  assert(got.length === want.length, `${what}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (!(a === b || (Number.isNaN(a) && Number.isNaN(b)))) throw new Error(`${what}: at [${i}] got ${a}, expected ${b}`);
  }
}

async function checkPool(e: Engine, shape: number[], data: Float32Array, seed: number, useTf: boolean): Promise<void> {
  const tf = await tfCpu();
  const [n, c, h, w] = shape as [number, number, number, number];
  const yShape = [n, c, h >> 1, w >> 1];
  const dyData = randn(prod(yShape), seed + 1);
  const x = e.tensor(data, shape, 'x');
  const { y, argmax } = maxPool2d(x);
  assert(y.shape.join() === yShape.join() && argmax.shape.join() === yShape.join(), `y/argmax shape ${y.shape}`);
  const dy = e.tensor(dyData, yShape, 'dy');
  const dx = maxPool2dBackward(dy, argmax, shape);
  const [gy, garg, gdx] = [await y.read(), await argmax.read(), await dx.read()];
  const ref = refPool(data, shape);
  const what = `maxpool ${shape.join('x')}`;
  assertSame(gy, ref.y, `${what} y vs TS reference`);
  assertSame(garg, ref.arg, `${what} argmax vs TS reference`);
  assertSame(gdx, refPoolBackward(dyData, ref.arg, shape), `${what} dx vs TS reference`);
  if (useTf) {
    const [wantY, wantDx] = tf.tidy(() => {
      const xt = nchwToNhwc(tf, data, shape);
      const dyt = nchwToNhwc(tf, dyData, yShape);
      const f = (v: tfTypes.Tensor) => tf.maxPool(v as tfTypes.Tensor4D, 2, 2, 'valid');
      const g = tf.grad((v: tfTypes.Tensor) => tf.sum(tf.mul(f(v), dyt)))(xt);
      return [nhwcToNchw(tf, f(xt)), nhwcToNchw(tf, g)];
    });
    assertClose(gy, wantY, `${what} y vs tf.maxPool`, EXACT);
    assertClose(gdx, wantDx, `${what} dx vs tf.grad(maxPool)`, { atol: 1e-6, rtol: 1e-6 });
  }
  for (const t of [x, y, argmax, dy, dx]) t.dispose();
}

export const poolCases: Case[] = [];

// scalar forward + scalar backward (W % 4 != 0), vec4 forward (W % 8 == 0), scalar forward with
// vec4 backward (W % 4 == 0, W % 8 != 0), odd H with both vec4 paths, batch 1–3, C 1, 3, 5, 6, 13
const SHAPES = [
  [2, 3, 5, 7],
  [1, 5, 9, 3],
  [3, 6, 4, 8],
  [2, 13, 7, 8],
  [1, 1, 6, 12],
  [2, 3, 9, 16],
  [1, 1, 1, 5],
];
for (const shape of SHAPES) {
  poolCases.push({
    name: `maxPool2d fwd/bwd ${shape.join('x')} vs tf`,
    run: (e) => checkPool(e, shape, randn(prod(shape), prod(shape) + 7), prod(shape), true),
  });
}

poolCases.push({
  name: 'maxPool2d ties keep the first max (row-major window order)',
  async run(e) {
    for (const shape of [
      [2, 3, 6, 8],
      [1, 5, 5, 7],
    ]) {
      // three levels: most windows hold ties, including all-equal windows
      const data = uniform(prod(shape), 11 + shape[3]!, 0, 3).map((v) => Math.floor(v));
      await checkPool(e, shape, data, 5, true);
    }
  },
});

poolCases.push({
  name: 'maxPool2d NaN propagates, -inf and +inf handled like PyTorch',
  async run(e) {
    for (const shape of [
      [1, 2, 4, 8],
      [1, 2, 5, 5],
    ]) {
      const data = randn(prod(shape), 3);
      const special = [NaN, -Infinity, Infinity, NaN, NaN];
      for (let i = 0; i < data.length; i += 3) data[i] = special[(i / 3) % special.length]!;
      // an all -inf window and a window with two NaNs (PyTorch: the later NaN wins)
      data.set([-Infinity, -Infinity], 0);
      data.set([-Infinity, -Infinity], shape[3]!);
      data.set([NaN, 1], 2);
      data.set([2, NaN], 2 + shape[3]!);
      // tf.maxPool lets numbers win over NaN (`pixel > maxValue` only), so PyTorch semantics are
      // checked against the TS reference alone
      await checkPool(e, shape, data, 9, false);
    }
  },
});

poolCases.push({
  name: 'maxPool2d bad shapes are ShapeErrors naming the shapes',
  async run(e) {
    const x3 = e.tensor(new Float32Array(12), [3, 2, 2], 'x3');
    const x = e.tensor(new Float32Array(2 * 3 * 5 * 7), [2, 3, 5, 7], 'x');
    const { y, argmax } = maxPool2d(x);
    const before = e.memory().liveBytes;
    const err = await assertThrows(() => maxPool2d(x3), /\[3, 2, 2\]/, 'rank 3');
    assert(err instanceof ShapeError, 'ShapeError');
    await assertThrows(() => maxPool2dBackward(y, argmax, [2, 3, 6, 7]), /\[2, 3, 3, 3\].*\[2, 3, 6, 7\]/, 'wrong xShape');
    await assertThrows(() => maxPool2dBackward(y, argmax, [2, 3, 5]), /\[2, 3, 5\]/, 'rank-3 xShape');
    await assertThrows(() => maxPool2dBackward(x, argmax, [2, 3, 5, 7]), /dy \[2, 3, 5, 7\]/, 'dy of x shape');
    assert(e.memory().liveBytes === before, 'failed calls allocate nothing');
    for (const t of [x3, x, y, argmax]) t.dispose();
  },
});

import { ShapeError } from '../../src/gpu/errors';
import type { Engine } from '../../src/gpu/engine';
import {
  upsampleBilinear2x,
  upsampleBilinear2xBackward,
  upsampleNearest2x,
  upsampleNearest2xBackward,
} from '../../src/kernels/upsample';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { nchwToNhwc, nhwcToNchw, tfCpu } from '../helpers/tf';
import type { Case } from './case';

type Shape = [number, number, number, number];
const TOL = { atol: 1e-6, rtol: 1e-5 };

// ------------------------------------------------------------------ plain TypeScript references

/** PyTorch nearest, scale 2: source index floor(dst / 2). */
function refNearest(x: Float32Array, [n, c, h, w]: Shape): Float32Array {
  const y = new Float32Array(n * c * 4 * h * w);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < 2 * h; i++)
      for (let j = 0; j < 2 * w; j++) y[(p * 2 * h + i) * 2 * w + j] = x[(p * h + (i >> 1)) * w + (j >> 1)]!;
  return y;
}

function refNearestBackward(dy: Float32Array, [n, c, h, w]: Shape): Float32Array {
  const dx = new Float64Array(n * c * h * w);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < 2 * h; i++)
      for (let j = 0; j < 2 * w; j++) dx[(p * h + (i >> 1)) * w + (j >> 1)]! += dy[(p * 2 * h + i) * 2 * w + j]!;
  return Float32Array.from(dx);
}

/** PyTorch upsample_bilinear2d, align_corners=False, scale 2 (area_pixel_compute_source_index). */
function taps(dst: number, size: number): [number, number, number, number] {
  const r = Math.max((dst + 0.5) * 0.5 - 0.5, 0);
  const i0 = Math.floor(r);
  const i1 = i0 + (i0 < size - 1 ? 1 : 0);
  const l1 = r - i0;
  return [i0, i1, 1 - l1, l1];
}

function refBilinear(x: Float32Array, [n, c, h, w]: Shape): Float32Array {
  const y = new Float32Array(n * c * 4 * h * w);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < 2 * h; i++) {
      const [h0, h1, a0, a1] = taps(i, h);
      for (let j = 0; j < 2 * w; j++) {
        const [w0, w1, b0, b1] = taps(j, w);
        const at = (r: number, q: number) => x[(p * h + r) * w + q]!;
        y[(p * 2 * h + i) * 2 * w + j] = a0 * (b0 * at(h0, w0) + b1 * at(h0, w1)) + a1 * (b0 * at(h1, w0) + b1 * at(h1, w1));
      }
    }
  return y;
}

/** The adjoint as PyTorch computes it (scatter-add of each dy into its four taps), in f64. */
function refBilinearBackward(dy: Float32Array, [n, c, h, w]: Shape): Float32Array {
  const dx = new Float64Array(n * c * h * w);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < 2 * h; i++) {
      const [h0, h1, a0, a1] = taps(i, h);
      for (let j = 0; j < 2 * w; j++) {
        const [w0, w1, b0, b1] = taps(j, w);
        const g = dy[(p * 2 * h + i) * 2 * w + j]!;
        dx[(p * h + h0) * w + w0]! += a0 * b0 * g;
        dx[(p * h + h0) * w + w1]! += a0 * b1 * g;
        dx[(p * h + h1) * w + w0]! += a1 * b0 * g;
        dx[(p * h + h1) * w + w1]! += a1 * b1 * g;
      }
    }
  return Float32Array.from(dx);
}

/** Channels [off, off + c) of an NCHW array with ct channels and plane size hw. */
function channelSlice(a: Float32Array, n: number, ct: number, hw: number, off: number, c: number): Float32Array {
  const out = new Float32Array(n * c * hw);
  for (let b = 0; b < n; b++) out.set(a.subarray((b * ct + off) * hw, (b * ct + off + c) * hw), b * c * hw);
  return out;
}

// ------------------------------------------------------------------ cases

// scalar paths (W % 4 != 0) and vec4 paths (W % 4 == 0), odd H/W, H = 1, batch 1–3, C 1, 3, 5, 6, 13
const SHAPES: Shape[] = [
  [2, 3, 5, 7],
  [1, 5, 9, 3],
  [3, 6, 4, 8],
  [1, 13, 3, 4],
  [2, 1, 1, 1],
  [1, 3, 1, 4],
  [2, 5, 2, 12],
];

export const upsampleCases: Case[] = [];

for (const shape of SHAPES) {
  const [n, c, h, w] = shape;
  const yShape: Shape = [n, c, 2 * h, 2 * w];
  upsampleCases.push({
    name: `nearest 2x fwd/bwd ${shape.join('x')} vs tf`,
    async run(e) {
      const tf = await tfCpu();
      const data = randn(prod(shape), prod(shape) + 1);
      const dyData = randn(prod(yShape), prod(shape) + 2);
      const x = e.tensor(data, shape);
      const dy = e.tensor(dyData, yShape);
      const y = upsampleNearest2x(x);
      const dx = upsampleNearest2xBackward(dy);
      assert(y.shape.join() === yShape.join() && dx.shape.join() === shape.join(), `shapes ${y.shape} ${dx.shape}`);
      const [gy, gdx] = [await y.read(), await dx.read()];
      const what = `nearest ${shape.join('x')}`;
      assertClose(gy, refNearest(data, shape), `${what} y vs TS`, { atol: 0, rtol: 0 });
      assertClose(gdx, refNearestBackward(dyData, shape), `${what} dx vs TS`, TOL);
      // for an exact 2x, floor(dst/2) is what tf gives with and without half-pixel centers
      const [want, want2, wantDx] = tf.tidy(() => {
        const xt = nchwToNhwc(tf, data, shape);
        const dyt = nchwToNhwc(tf, dyData, yShape);
        const f = (v: tfTypes.Tensor) => tf.image.resizeNearestNeighbor(v as tfTypes.Tensor4D, [2 * h, 2 * w], false, false);
        // tfjs 4.22's CPU ResizeNearestNeighborGrad offsets dy by x's batch stride (wrong for
        // batch > 1), so take tf.grad one batch item at a time
        const gs: tfTypes.Tensor[] = [];
        for (let b = 0; b < n; b++) {
          const xb = tf.slice(xt, [b, 0, 0, 0], [1, h, w, c]);
          const dyb = tf.slice(dyt, [b, 0, 0, 0], [1, 2 * h, 2 * w, c]);
          gs.push(tf.grad((v: tfTypes.Tensor) => tf.sum(tf.mul(f(v), dyb)))(xb));
        }
        const g = tf.concat(gs, 0);
        return [nhwcToNchw(tf, f(xt)), nhwcToNchw(tf, tf.image.resizeNearestNeighbor(xt, [2 * h, 2 * w], false, true)), nhwcToNchw(tf, g)];
      });
      assertClose(gy, want, `${what} y vs tf`, { atol: 0, rtol: 0 });
      assertClose(gy, want2, `${what} y vs tf halfPixelCenters`, { atol: 0, rtol: 0 });
      assertClose(gdx, wantDx, `${what} dx vs tf.grad`, TOL);
      for (const t of [x, dy, y, dx]) t.dispose();
    },
  });
  upsampleCases.push({
    name: `bilinear 2x fwd/bwd ${shape.join('x')} vs tf / TS`,
    async run(e) {
      const tf = await tfCpu();
      const data = randn(prod(shape), prod(shape) + 3);
      const dyData = randn(prod(yShape), prod(shape) + 4);
      const x = e.tensor(data, shape);
      const dy = e.tensor(dyData, yShape);
      const y = upsampleBilinear2x(x);
      const dx = upsampleBilinear2xBackward(dy);
      assert(y.shape.join() === yShape.join() && dx.shape.join() === shape.join(), `shapes ${y.shape} ${dx.shape}`);
      const [gy, gdx] = [await y.read(), await dx.read()];
      const what = `bilinear ${shape.join('x')}`;
      assertClose(gy, refBilinear(data, shape), `${what} y vs TS (PyTorch formula)`, TOL);
      // halfPixelCenters = true is PyTorch's align_corners=False
      const want = tf.tidy(() => nhwcToNchw(tf, tf.image.resizeBilinear(nchwToNhwc(tf, data, shape), [2 * h, 2 * w], false, true)));
      assertClose(gy, want, `${what} y vs tf.image.resizeBilinear(halfPixelCenters)`, TOL);
      // tfjs's ResizeBilinearGrad ignores halfPixelCenters (it differentiates the legacy
      // dst*scale mapping), so the backward is checked against PyTorch's scatter formulation
      assertClose(gdx, refBilinearBackward(dyData, shape), `${what} dx vs TS (PyTorch scatter)`, TOL);
      for (const t of [x, dy, y, dx]) t.dispose();
    },
  });
}

async function sliceCase(e: Engine, mode: 'nearest' | 'bilinear', shape: Shape): Promise<void> {
  const [n, c, h, w] = shape;
  const ct = c + 4;
  const off = 3;
  const hw = 4 * h * w;
  const fwd = mode === 'nearest' ? upsampleNearest2x : upsampleBilinear2x;
  const bwd = mode === 'nearest' ? upsampleNearest2xBackward : upsampleBilinear2xBackward;
  const ref = mode === 'nearest' ? refNearest : refBilinear;
  const refB = mode === 'nearest' ? refNearestBackward : refBilinearBackward;
  const data = randn(prod(shape), 21 + w);
  const sentinel = randn(n * ct * hw, 22 + w);
  const x = e.tensor(data, shape);
  const out = e.tensor(sentinel, [n, ct, 2 * h, 2 * w]);
  const y = fwd(x, { out, outChannelOffset: off });
  assert(y === out, 'returns out');
  const got = await out.read();
  const what = `${mode} ${shape.join('x')} into channels [${off}, ${off + c}) of ${ct}`;
  assertClose(channelSlice(got, n, ct, hw, off, c), ref(data, shape), `${what}: slice`, TOL);
  assertClose(channelSlice(got, n, ct, hw, 0, off), channelSlice(sentinel, n, ct, hw, 0, off), `${what}: channels before untouched`, { atol: 0, rtol: 0 });
  assertClose(channelSlice(got, n, ct, hw, off + c, ct - off - c), channelSlice(sentinel, n, ct, hw, off + c, ct - off - c), `${what}: channels after untouched`, { atol: 0, rtol: 0 });
  // backward straight from a channel slice of a wider dy (the concat's gradient)
  const dx = bwd(out, { channelOffset: off, channels: c });
  assertClose(await dx.read(), refB(channelSlice(got, n, ct, hw, off, c), shape), `${what}: backward from the slice`, TOL);
  // channels defaults to the rest of dy
  const dx2 = bwd(out, { channelOffset: off });
  assert(dx2.shape.join() === [n, ct - off, h, w].join(), `default channels: ${dx2.shape}`);
  for (const t of [x, out, dx, dx2]) t.dispose();
}

for (const mode of ['nearest', 'bilinear'] as const) {
  upsampleCases.push({
    name: `${mode} 2x writes into a channel slice of out and reads a dy slice`,
    async run(e) {
      for (const shape of [
        [2, 3, 5, 7],
        [3, 5, 3, 8],
        [1, 1, 2, 4],
      ] as Shape[]) {
        await sliceCase(e, mode, shape);
      }
    },
  });
}

upsampleCases.push({
  name: 'bilinear 2x backward: central finite differences of the GPU forward',
  async run(e) {
    for (const shape of [
      [1, 1, 3, 5],
      [1, 2, 2, 4],
    ] as Shape[]) {
      const [n, c, h, w] = shape;
      const r = randn(n * c * 4 * h * w, 31 + w); // L(x) = Σ up(x) · r, so dL/dx = backward(r)
      const data = randn(prod(shape), 32 + w);
      const rt = e.tensor(r, [n, c, 2 * h, 2 * w]);
      const dx = upsampleBilinear2xBackward(rt);
      const grad = await dx.read();
      const loss = async (v: Float32Array): Promise<number> => {
        const x = e.tensor(v, shape);
        const y = upsampleBilinear2x(x);
        const out = await y.read();
        x.dispose();
        y.dispose();
        let s = 0;
        for (let i = 0; i < out.length; i++) s += out[i]! * r[i]!;
        return s;
      };
      const eps = 1e-2;
      const fd = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const p = data.slice();
        p[i] = data[i]! + eps;
        const lp = await loss(p);
        p[i] = data[i]! - eps;
        fd[i] = (lp - (await loss(p))) / (2 * eps);
      }
      assertClose(grad, fd, `bilinear backward vs finite differences ${shape.join('x')}`, { atol: 2e-3, rtol: 2e-3 });
      rt.dispose();
      dx.dispose();
    }
  },
});

upsampleCases.push({
  name: 'upsample bad shapes are ShapeErrors naming the shapes',
  async run(e) {
    const x = e.tensor(new Float32Array(2 * 3 * 5 * 7), [2, 3, 5, 7], 'x');
    const x3 = e.tensor(new Float32Array(6), [1, 2, 3], 'x3');
    const out = e.empty([2, 8, 10, 14], 'out');
    const before = e.memory().liveBytes;
    for (const [fwd, name] of [
      [upsampleNearest2x, 'upsampleNearest2x'],
      [upsampleBilinear2x, 'upsampleBilinear2x'],
    ] as const) {
      const err = await assertThrows(() => fwd(x3), /\[1, 2, 3\]/, `${name} rank 3`);
      assert(err instanceof ShapeError, 'ShapeError');
      await assertThrows(() => fwd(x, { out, outChannelOffset: 6 }), /channels \[6, 9\) of out \[2, 8, 10, 14\]/, `${name} slice past the end`);
      await assertThrows(() => fwd(x, { out: x }), /out \[2, 3, 5, 7\]/, `${name} out of the wrong size`);
      await assertThrows(() => fwd(x, { outChannelOffset: 1 }), /needs an out tensor/, `${name} offset without out`);
    }
    for (const [bwd, name] of [
      [upsampleNearest2xBackward, 'nearest'],
      [upsampleBilinear2xBackward, 'bilinear'],
    ] as const) {
      await assertThrows(() => bwd(x), /dy \[2, 3, 5, 7\] must have even H and W/, `${name} backward of odd dy`);
      await assertThrows(() => bwd(out, { channelOffset: 5, channels: 4 }), /channels \[5, 9\) are out of range for dy \[2, 8, 10, 14\]/, `${name} slice out of range`);
    }
    assert(e.memory().liveBytes === before, 'failed calls allocate nothing');
    for (const t of [x, x3, out]) t.dispose();
  },
});

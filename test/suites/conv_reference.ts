/**
 * Shared by the conv suites (conv2d, conv2d_splitk, conv2d_dx_small): tfjs-cpu references for the
 * forward conv and its input gradient (NCHW / OIHW data in, NCHW out), the √K tolerance, and the
 * expected contents of an output tensor whose channel slice a conv wrote into.
 */
import type { Tolerance } from '../helpers/compare';
import { nchwToNhwc, nhwcToNchw, oihwToHwio, tfCpu } from '../helpers/tf';

/** f32 sums of K products: error grows roughly with √K; scale the bound with it. */
export const convTol = (K: number): Tolerance => ({ atol: 2e-6 * Math.sqrt(K) + 1e-6, rtol: 1e-4 * Math.sqrt(K) });

export interface ConvProblem {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
}

/** conv2d(x, w) (+ bias, ReLU) with stride 1 and `pad` on tfjs-cpu. */
export async function refConvForward(c: ConvProblem, pad: number, x: Float32Array, w: Float32Array, b: Float32Array | null, relu = false): Promise<Float32Array> {
  const tf = await tfCpu();
  return tf.tidy(() => {
    let y = tf.conv2d(nchwToNhwc(tf, x, [c.n, c.cin, c.h, c.w]), oihwToHwio(tf, w, [c.cout, c.cin, c.k, c.k]), 1, pad);
    if (b) y = tf.add(y, tf.tensor1d(b));
    if (relu) y = tf.relu(y);
    return nhwcToNchw(tf, y);
  });
}

/** dx of sum(conv2d(x, w) · dy) by tf.grad: an independent route to the input gradient. */
export async function refConvInputGrad(c: ConvProblem, pad: number, dy: Float32Array, w: Float32Array): Promise<Float32Array> {
  const tf = await tfCpu();
  const oh = c.h + 2 * pad - c.k + 1;
  const ow = c.w + 2 * pad - c.k + 1;
  return tf.tidy(() => {
    const f = oihwToHwio(tf, w, [c.cout, c.cin, c.k, c.k]);
    const g = nchwToNhwc(tf, dy, [c.n, c.cout, oh, ow]);
    const grad = tf.grad((x) => tf.sum(tf.mul(tf.conv2d(x as typeof f, f, 1, pad), g)));
    return nhwcToNchw(tf, grad(tf.zeros([c.n, c.h, c.w, c.cin])));
  });
}

/**
 * `sentinel` ([n, ctot, plane]) with `want` ([n, cout, plane]) written into channels
 * [slice, slice + cout): what an output tensor must hold after a conv wrote its channel slice.
 */
export function withChannelSlice(sentinel: Float32Array, want: Float32Array, n: number, cout: number, ctot: number, slice: number, plane: number): Float32Array {
  const expect = sentinel.slice();
  for (let i = 0; i < n; i++) expect.set(want.subarray(i * cout * plane, (i + 1) * cout * plane), (i * ctot + slice) * plane);
  return expect;
}

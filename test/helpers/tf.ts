/** The independent reference: tfjs-core on the plain-JS CPU backend. */
import * as tf from '@tensorflow/tfjs-core';
// A named import, not a bare one: the package's Node entry is not in its `sideEffects` list, so
// bundlers (esbuild for the GPU machine) would drop a bare import and the backend never registers.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

let ready: Promise<boolean> | null = null;
export async function tfCpu(): Promise<typeof tf> {
  if (!version_cpu) throw new Error('@tensorflow/tfjs-backend-cpu did not load');
  ready ??= tf.setBackend('cpu');
  await ready;
  return tf;
}

/** NCHW host array → tfjs NHWC tensor. */
export function nchwToNhwc(t: typeof tf, data: Float32Array, [n, c, h, w]: readonly number[]): tf.Tensor4D {
  return t.tidy(() => t.transpose(t.tensor4d(data, [n!, c!, h!, w!]), [0, 2, 3, 1]) as tf.Tensor4D);
}

/** tfjs NHWC tensor → NCHW host array. */
export function nhwcToNchw(t: typeof tf, x: tf.Tensor): Float32Array {
  return t.tidy(() => t.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
}

/** OIHW conv weights → tfjs HWIO filter. */
export function oihwToHwio(t: typeof tf, w: Float32Array, [o, i, kh, kw]: readonly number[]): tf.Tensor4D {
  return t.tidy(() => t.transpose(t.tensor4d(w, [o!, i!, kh!, kw!]), [2, 3, 1, 0]) as tf.Tensor4D);
}

import { describe, expect, it } from 'vitest';
import h5wasm from 'h5wasm';
import {
  type LoadedWeights,
  WeightFileError,
  formatReport,
  normalizationFromMetadata,
  readKerasH5,
  readWeights,
  reportOk,
  sniffFormat,
  vgg19Convs,
} from '../../src/weights/index';
import { uniform } from '../helpers/random';
import { assertClose } from '../helpers/compare';
import { tfCpu } from '../helpers/tf';
import { type KerasLayer, SMALL, kerasH5Bytes, randomKerasLayers } from './fixtures';

type TF = Awaited<ReturnType<typeof tfCpu>>;

/** First two VGG blocks (4 convs, ReLU, one 2x2 max-pool) in NHWC with HWIO kernels. */
function twoBlocks(tf: TF, x: ReturnType<TF['tensor4d']>, kernels: ReturnType<TF['tensor4d']>[], biases: ReturnType<TF['tensor1d']>[]) {
  let y = x;
  for (let i = 0; i < 4; i++) {
    y = tf.relu(tf.add(tf.conv2d(y, kernels[i]!, 1, 'same'), biases[i]!)) as ReturnType<TF['tensor4d']>;
    if (i === 1) y = tf.maxPool(y, 2, 2, 'valid');
  }
  return y;
}

/** Keras' own pipeline: RGB [0,255] → BGR → minus caffe means → convs with the original HWIO kernels. */
function kerasForward(tf: TF, rgb255: Float32Array, h: number, w: number, layers: KerasLayer[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(rgb255, [1, h, w, 3]);
    const bgr = tf.sub(tf.reverse(x, 3), tf.tensor1d([103.939, 116.779, 123.68]));
    const k = layers.slice(0, 4).map((l) => tf.tensor4d(l.kernel, l.kshape as [number, number, number, number]));
    const b = layers.slice(0, 4).map((l) => tf.tensor1d(l.bias));
    return twoBlocks(tf, bgr as ReturnType<TF['tensor4d']>, k, b).dataSync() as Float32Array;
  });
}

/** The engine's pipeline from converted weights: RGB → [0,1] → (x − mean)/std from metadata → OIHW convs. */
function convertedForward(tf: TF, rgb255: Float32Array, h: number, w: number, cw: LoadedWeights): Float32Array {
  const n = normalizationFromMetadata(cw.metadata);
  expect(n.colorOrder).toBe('RGB');
  return tf.tidy(() => {
    const x = tf.div(tf.sub(tf.div(tf.tensor4d(rgb255, [1, h, w, 3]), 255), tf.tensor1d(n.mean)), tf.tensor1d(n.std));
    const convs = vgg19Convs().slice(0, 4);
    const k = convs.map((c) => {
      const t = cw.tensors.get(`${c.canonical}.weight`)!;
      return tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [2, 3, 1, 0]) as ReturnType<TF['tensor4d']>;
    });
    const b = convs.map((c) => tf.tensor1d(cw.tensors.get(`${c.canonical}.bias`)!.data));
    return twoBlocks(tf, x as ReturnType<TF['tensor4d']>, k, b).dataSync() as Float32Array;
  });
}

describe('Keras .h5 (full-size VGG19 notop layout)', () => {
  const layers = randomKerasLayers({}, 1);
  let bytes: Uint8Array;
  let cw: LoadedWeights;

  it('reads all 32 tensors with canonical names and OIHW shapes', async () => {
    bytes = await kerasH5Bytes(layers, 'keras2');
    expect(sniffFormat(bytes, 'vgg19_notop.h5')).toBe('keras-h5');
    cw = await readWeights(bytes, { file: 'vgg19_notop.h5' });
    expect(cw.format).toBe('keras-h5');
    expect(reportOk(cw.report)).toBe(true);
    expect(cw.report.unexpected).toEqual([]);
    expect(cw.tensors.size).toBe(32);
    expect(cw.tensors.get('encoder.features.0.weight')!.shape).toEqual([64, 3, 3, 3]);
    expect(cw.tensors.get('encoder.features.34.weight')!.shape).toEqual([512, 512, 3, 3]);
    expect(cw.metadata).toMatchObject({
      architecture: 'vgg19-features', source_format: 'keras-h5', color_order: 'RGB', input_channels: '3',
      normalization: 'caffe-imagenet', source_color_order: 'BGR', first_conv: 'permuted-bgr-to-rgb', layout: 'OIHW',
    });
  });

  it('HWIO → OIHW element mapping, and BGR → RGB on the first conv only', () => {
    for (const li of [0, 1, 9, 15]) {
      const l = layers[li]!;
      const c = vgg19Convs()[li]!;
      const [, , ci, co] = l.kshape as [number, number, number, number];
      const got = cw.tensors.get(`${c.canonical}.weight`)!.data;
      for (const [o, i, y, x] of [[0, 0, 0, 0], [co - 1, ci - 1, 2, 2], [7, 2, 1, 0], [co >> 1, 1, 0, 2]] as const) {
        const src = li === 0 ? 2 - i : i; // canonical RGB channel i came from Keras BGR channel 2 − i
        expect(got[((o * ci + i) * 3 + y) * 3 + x]).toBe(l.kernel[((y * 3 + x) * ci + src) * co + o]);
      }
      expect([...cw.tensors.get(`${c.canonical}.bias`)!.data]).toEqual([...l.bias]);
    }
  });

  it('features from converted weights (RGB, [0,1], recorded mean/std) equal Keras features (BGR, caffe)', async () => {
    const tf = await tfCpu();
    const [h, w] = [10, 14];
    const rgb = uniform(h * w * 3, 21, 0, 255);
    const want = kerasForward(tf, rgb, h, w, layers);
    const got = convertedForward(tf, rgb, h, w, cw);
    expect(want.length).toBe((h / 2) * (w / 2) * 128);
    let maxAbs = 0;
    for (const v of want) maxAbs = Math.max(maxAbs, Math.abs(v));
    expect(maxAbs).toBeGreaterThan(1); // not trivially zero after ReLU
    assertClose(got, want, 'VGG19 blocks 1-2', { atol: 1e-4 * maxAbs, rtol: 1e-4 });
  });
});

describe('Keras .h5 layout variations (small widths)', () => {
  const layers = randomKerasLayers(SMALL, 2);
  let reference: LoadedWeights;

  it.each(['keras2', 'keras1', 'model_weights', 'keras3', 'no_attrs'] as const)('%s layout gives identical tensors', async (variant) => {
    const bytes = await kerasH5Bytes(layers, variant);
    const got = await readKerasH5(bytes, { file: `${variant}.h5`, spec: SMALL });
    expect(formatReport(got.report)).toBe('all tensors present with the expected shapes');
    reference ??= got;
    expect(got.tensors.size).toBe(32);
    for (const [k, t] of reference.tensors) expect([...got.tensors.get(k)!.data]).toEqual([...t.data]);
  });

  it('extra layers with weights (with-top file) are reported as unexpected, not fatal', async () => {
    const bytes = await kerasH5Bytes(layers, 'keras2', (f) => {
      const g = f.create_group('fc1');
      g.create_attribute('weight_names', ['fc1/kernel:0', 'fc1/bias:0']);
      g.create_group('fc1').create_dataset({ name: 'kernel:0', data: new Float32Array(6), shape: [3, 2], dtype: '<f' });
    });
    const got = await readKerasH5(bytes, { file: 'top.h5', spec: SMALL });
    expect(reportOk(got.report)).toBe(true);
    expect(got.report.unexpected).toEqual(['fc1']);
  });

  it('a missing layer and a wrong shape are reported by name', async () => {
    const broken = layers.filter((l) => l.name !== 'block3_conv2').map((l) =>
      l.name === 'block4_conv1' ? { ...l, kshape: [3, 3, 7, 8], kernel: new Float32Array(9 * 7 * 8), bias: new Float32Array(8) } : l,
    );
    const got = await readKerasH5(await kerasH5Bytes(broken, 'keras2'), { file: 'broken.h5', spec: SMALL });
    expect(got.report.missing).toEqual(['encoder.features.12.weight', 'encoder.features.12.bias']);
    expect(got.report.mismatched).toEqual([
      { name: 'encoder.features.19.weight', expected: [9, 7, 3, 3], got: [8, 7, 3, 3] },
      { name: 'encoder.features.19.bias', expected: [9], got: [8] },
    ]);
    expect(got.tensors.has('encoder.features.19.weight')).toBe(false);
  });

  it('1-channel Keras kernels are accepted as grey input', async () => {
    const grey = randomKerasLayers(SMALL, 3, 1);
    const got = await readKerasH5(await kerasH5Bytes(grey), { file: 'grey.h5', spec: SMALL });
    expect(reportOk(got.report)).toBe(true);
    expect(got.metadata.input_channels).toBe('1');
    expect(got.metadata.color_order).toBe('GRAY');
  });
});

describe('Keras .h5 hostile and wrong files', () => {
  const layers = randomKerasLayers(SMALL, 4);
  const rejects = async (bytes: Uint8Array, pattern: RegExp) => {
    const err = await readKerasH5(bytes, { file: 'bad.h5', spec: SMALL }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WeightFileError);
    expect((err as Error).message).toMatch(/^bad\.h5: /);
    expect((err as Error).message).toMatch(pattern);
  };

  it('not HDF5 at all', () => rejects(new TextEncoder().encode('<html>404 Not Found</html>'), /not an HDF5 file/));
  it('truncated HDF5', async () => {
    const b = await kerasH5Bytes(layers);
    await rejects(b.slice(0, 600), /could not open|could not read|truncated/);
  });
  it('HDF5 without VGG19 layers', async () => {
    const { FS } = await h5wasm.ready;
    const f = new h5wasm.File('/other.h5', 'w');
    f.create_group('dense_1').create_dataset({ name: 'w', data: new Float32Array(4), shape: [2, 2], dtype: '<f' });
    f.close();
    const b = FS.readFile('/other.h5') as Uint8Array;
    FS.unlink('/other.h5');
    await rejects(b, /no VGG19 layers.*top-level entries: \[dense_1\]/);
  });
  it('channels-first (Theano) kernels', async () => {
    const th = layers.map((l, i) => (i === 2 ? { ...l, kshape: [6, 5, 3, 3] } : l));
    await rejects(await kerasH5Bytes(th), /block2_conv1.*channels-first \(Theano\)/);
  });
  it('weight_names pointing nowhere', async () => {
    const b = await kerasH5Bytes(layers, 'keras2', (f) => {
      const g = f.get('block1_conv1') as InstanceType<typeof h5wasm.Group>;
      g.delete_attribute('weight_names');
      g.create_attribute('weight_names', ['block1_conv1/kernel:0', 'nope:0']);
    });
    await rejects(b, /weight_names lists nope:0/);
  });
  it('two kernels in one layer', async () => {
    const b = await kerasH5Bytes(layers, 'no_attrs', (f) => {
      (f.get('block1_conv1') as InstanceType<typeof h5wasm.Group>).create_dataset({ name: 'k2', data: new Float32Array(9 * 15), shape: [3, 3, 3, 5], dtype: '<f' });
    });
    await rejects(b, /block1_conv1 has more than one kernel/);
  });
  it('integer kernels', async () => {
    const b = await kerasH5Bytes(layers.slice(1), 'no_attrs', (f) => {
      const g = f.create_group('block1_conv1');
      g.create_dataset({ name: 'kernel', data: new Int32Array(9 * 15), shape: [3, 3, 3, 5], dtype: '<i' });
      g.create_dataset({ name: 'bias', data: new Float32Array(5), shape: [5], dtype: '<f' });
    });
    await rejects(b, /not a floating-point dataset/);
  });
  it('NaN in a kernel', async () => {
    const bad = layers.map((l, i) => (i === 5 ? { ...l, kernel: Float32Array.from(l.kernel, (v, j) => (j === 17 ? NaN : v)) } : l));
    await rejects(await kerasH5Bytes(bad), /block3_conv2.*non-finite value \(NaN\) at flat index 17/);
  });
});

/** Generated weight files in every supported format (no real weights are downloadable here). */
import h5wasm from 'h5wasm';
import { uniform } from '../helpers/random';
import { type VggSpec, vgg19Convs, writeSafetensors, type WriteTensor } from '../../src/weights/index';
import { unetPlusPlusExpected } from '../../src/weights/smp';

/** A small VGG19 for fast tests: same 16 convs and names, narrow widths (not multiples of 4). */
export const SMALL: VggSpec = { widths: [5, 5, 6, 6, 7, 7, 7, 7, 9, 9, 9, 9, 9, 9, 9, 9] };
export const SMALL_DECODER = [12, 10, 8, 6, 4] as const;

export interface KerasLayer {
  name: string;
  /** HWIO [3, 3, cin, cout] */
  kshape: number[];
  kernel: Float32Array;
  bias: Float32Array;
}

/** Random Keras-layout VGG19 layers (HWIO kernels), seeded. */
export function randomKerasLayers(spec: VggSpec = {}, seed = 1, inputChannels = 3): KerasLayer[] {
  return vgg19Convs({ ...spec, inputChannels }).map((c, i) => {
    const kshape = [3, 3, c.inChannels, c.outChannels];
    return {
      name: c.keras,
      kshape,
      kernel: uniform(9 * c.inChannels * c.outChannels, seed * 1000 + 2 * i, -0.08, 0.08),
      bias: uniform(c.outChannels, seed * 1000 + 2 * i + 1, -0.1, 0.1),
    };
  });
}

export type KerasVariant = 'keras2' | 'keras1' | 'model_weights' | 'keras3' | 'no_attrs';

let n = 0;
/** Writes layers the way Keras does (see src/weights/keras_h5.ts for the layouts) and returns the bytes. */
export async function kerasH5Bytes(
  layers: KerasLayer[],
  variant: KerasVariant = 'keras2',
  extra: (f: InstanceType<typeof h5wasm.File>) => void = () => {},
): Promise<Uint8Array> {
  const { FS } = await h5wasm.ready;
  const path = `/fixture-${++n}.h5`;
  const f = new h5wasm.File(path, 'w');
  try {
    if (variant === 'keras3') {
      const root = f.create_group('layers');
      for (const l of layers) {
        const v = root.create_group(l.name).create_group('vars');
        v.create_dataset({ name: '0', data: l.kernel, shape: l.kshape, dtype: '<f' });
        v.create_dataset({ name: '1', data: l.bias, shape: [l.bias.length], dtype: '<f' });
      }
    } else {
      const root = variant === 'model_weights' ? f.create_group('model_weights') : f;
      if (variant !== 'no_attrs') {
        // h5py (Keras 2) writes fixed-length byte strings; Keras 1 fixtures use variable-length ones.
        const strAttr = (obj: { create_attribute: (n: string, d: string[], s?: number[] | null, t?: string | null) => void }, key: string, xs: string[]) =>
          variant === 'keras1' ? obj.create_attribute(key, xs) : obj.create_attribute(key, xs, [xs.length], `S${Math.max(...xs.map((x) => x.length))}`);
        strAttr(root, 'layer_names', layers.map((l) => l.name));
        root.create_attribute('backend', 'tensorflow');
        root.create_attribute('keras_version', variant === 'keras1' ? '1.2.2' : '2.2.4');
      }
      for (const l of layers) {
        const g = root.create_group(l.name);
        const names = variant === 'keras1' ? [`${l.name}_W_1:0`, `${l.name}_b_1:0`] : [`${l.name}/kernel:0`, `${l.name}/bias:0`];
        if (variant !== 'no_attrs')
          variant === 'keras1' ? g.create_attribute('weight_names', names) : g.create_attribute('weight_names', names, [2], `S${Math.max(...names.map((x) => x.length))}`);
        let parent = g;
        if (variant !== 'keras1') parent = g.create_group(l.name);
        const leaf = (s: string) => s.split('/').pop()!;
        parent.create_dataset({ name: leaf(names[0]!), data: l.kernel, shape: l.kshape, dtype: '<f' });
        parent.create_dataset({ name: leaf(names[1]!), data: l.bias, shape: [l.bias.length], dtype: '<f' });
      }
    }
    extra(f);
  } finally {
    f.close();
  }
  const bytes = FS.readFile(path) as Uint8Array;
  FS.unlink(path);
  return bytes;
}

/** tfjs layers model: model.json + shards, weights in manifest order split across `nShards`. */
export function tfjsFiles(layers: KerasLayer[], nShards = 2, prefix = ''): Map<string, Uint8Array> {
  const weights: { name: string; shape: number[]; dtype: string }[] = [];
  const parts: Float32Array[] = [];
  for (const l of layers) {
    weights.push({ name: `${prefix}${l.name}/kernel`, shape: l.kshape, dtype: 'float32' });
    parts.push(l.kernel);
    weights.push({ name: `${prefix}${l.name}/bias`, shape: [l.bias.length], dtype: 'float32' });
    parts.push(l.bias);
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
    o += p.byteLength;
  }
  // Cut at odd byte positions so a tensor (even a float) straddles the shard boundary.
  const paths: string[] = [];
  const files = new Map<string, Uint8Array>();
  for (let s = 0; s < nShards; s++) {
    const a = Math.floor((total * s) / nShards) + (s ? 3 : 0);
    const b = s === nShards - 1 ? total : Math.floor((total * (s + 1)) / nShards) + 3;
    const name = `group1-shard${s + 1}of${nShards}.bin`;
    paths.push(name);
    files.set(name, all.slice(a, b));
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.2.4',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { class_name: 'Model', config: { name: 'vgg19', layers: [] } },
    weightsManifest: [{ paths, weights }],
  };
  files.set('model.json', new TextEncoder().encode(JSON.stringify(modelJson)));
  return files;
}

/** torchvision/timm names (`features.N.*`, OIHW) from Keras-layout layers: explicit index math. */
export function torchvisionTensors(spec: VggSpec = {}, seed = 7, extras = true): Map<string, WriteTensor> {
  const m = new Map<string, WriteTensor>();
  for (const [i, c] of vgg19Convs(spec).entries()) {
    m.set(`${c.torch}.weight`, { shape: [c.outChannels, c.inChannels, 3, 3], data: uniform(9 * c.inChannels * c.outChannels, seed * 100 + 2 * i, -0.08, 0.08) });
    m.set(`${c.torch}.bias`, { shape: [c.outChannels], data: uniform(c.outChannels, seed * 100 + 2 * i + 1, -0.1, 0.1) });
  }
  if (extras) {
    // timm's conv-ified classifier and head (ignored by the encoder conversion).
    m.set('pre_logits.fc1.weight', { shape: [4, 9, 1, 1], data: uniform(36, 5) });
    m.set('head.fc.weight', { shape: [3, 4], data: uniform(12, 6) });
  }
  return m;
}

/** A whole smp UnetPlusPlus state_dict with shrunken channels. */
export function smpTensors(classes = 3, seed = 11, spec: VggSpec = SMALL, decoderChannels: readonly number[] = SMALL_DECODER): Map<string, WriteTensor> {
  const m = new Map<string, WriteTensor>();
  unetPlusPlusExpected({ ...spec, classes, decoderChannels }).forEach((e, i) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.name.endsWith('num_batches_tracked')) m.set(e.name, { shape: [], data: new Float32Array([123456]), dtype: 'I64' });
    else if (e.name.endsWith('running_var')) m.set(e.name, { shape: e.shape, data: uniform(n, seed * 1000 + i, 0.5, 1.5) });
    else m.set(e.name, { shape: e.shape, data: uniform(n, seed * 1000 + i, -0.1, 0.1) });
  });
  return m;
}

export const safetensorsBytes = (m: Map<string, WriteTensor>, md: Record<string, string> = {}): Uint8Array => writeSafetensors(m, md);

/** Raw safetensors with an arbitrary header object (for hostile-file tests). */
export function craftSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

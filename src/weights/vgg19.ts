/**
 * VGG19 (torchvision `features`, no batch norm) name/shape table, the Keras names of the same
 * layers, input normalisation of each source, and the layout conversions to the engine's
 * canonical form: smp names `encoder.features.N.{weight,bias}`, weights OIHW, f32.
 *
 * Colour decision for Keras weights: the first conv's input channels are permuted BGR→RGB at
 * conversion, so every canonical file takes RGB input; the Keras (caffe-style) normalisation is
 * recorded in RGB order. All normalisation is recorded for inputs scaled to [0,1]:
 * `x_norm[c] = (x[c] − mean[c]) / std[c]`. Caffe "[0,255] minus mean" is the same map with
 * mean = meanBGR/255 (reordered to RGB) and std = 1/255.
 */
import {
  type ExpectedTensor,
  type LoadedWeights,
  type ShapeMismatch,
  type TensorReport,
  type WeightMap,
  type WeightTensor,
  WeightFileError,
  numel,
  sameShape,
  shapeStr,
} from './types';

import { vgg19Expected, type VggSpec } from '../model/architecture';

export { VGG19_CONV_INDICES, VGG19_WIDTHS, VGG19_KERAS_NAMES, vgg19Convs, vgg19Expected, type VggSpec, type VggConv } from '../model/architecture';

// ---------------------------------------------------------------------------------------------
// Normalisation

export interface Normalization {
  /** Identifier recorded in metadata. */
  name: 'torchvision-imagenet' | 'caffe-imagenet';
  /** Order of the input channels the weights expect. */
  colorOrder: 'RGB' | 'GRAY';
  /** Per-channel mean and std for inputs scaled to [0,1]. */
  mean: number[];
  std: number[];
  /** Human description of the original convention. */
  description: string;
}

export const TORCHVISION_NORMALIZATION: Normalization = {
  name: 'torchvision-imagenet',
  colorOrder: 'RGB',
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  description: 'RGB in [0,1], minus mean (0.485,0.456,0.406), divided by std (0.229,0.224,0.225)',
};

/** Keras/caffe means, as Keras lists them (BGR order, [0,255] scale). */
export const KERAS_MEAN_BGR_255 = [103.939, 116.779, 123.68] as const;

/** Keras weights after the first conv is permuted to RGB: caffe normalisation in RGB order. */
export const CAFFE_NORMALIZATION: Normalization = {
  name: 'caffe-imagenet',
  colorOrder: 'RGB',
  mean: [KERAS_MEAN_BGR_255[2] / 255, KERAS_MEAN_BGR_255[1] / 255, KERAS_MEAN_BGR_255[0] / 255],
  std: [1 / 255, 1 / 255, 1 / 255],
  description:
    'caffe (Keras VGG19): RGB in [0,255] minus (123.68,116.779,103.939); the original Keras weights take BGR, the first conv was permuted to RGB',
};

/**
 * One-channel (grey) normalisation derived from an RGB one: mean of the three means and mean of
 * the three stds. Rationale: smp makes a 1-channel encoder by summing the first conv over RGB;
 * a grey image g replicated to RGB and normalised with the same (mean, std) in every channel
 * gives exactly Σ_c w_c·(g−m)/s = (Σ_c w_c)·(g−m)/s, i.e. the summed conv on the 1-channel input.
 * Averaging is the closest channel-independent normalisation (stds differ by ≤ 2%, means by
 * ≤ 0.08 on [0,1]). smp itself leaves 1-channel normalisation to the user.
 */
export function grayNormalization(n: Normalization): Normalization {
  if (n.colorOrder === 'GRAY') return n;
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    name: n.name,
    colorOrder: 'GRAY',
    mean: [avg(n.mean)],
    std: [avg(n.std)],
    description: `${n.description}; 1 channel: first conv summed over RGB (as smp does), normalisation = mean of the RGB means and of the stds`,
  };
}

export type Architecture = 'vgg19-features' | 'unetplusplus-vgg19';

/** The engine's metadata keys (all values are strings, as safetensors requires). */
export function canonicalMetadata(args: {
  architecture: Architecture;
  sourceFormat: string;
  normalization: Normalization;
  inputChannels: number;
  extra?: Record<string, string>;
}): Record<string, string> {
  const n = args.normalization;
  return {
    format: 'osteo-weights',
    format_version: '1',
    architecture: args.architecture,
    source_format: args.sourceFormat,
    layout: 'OIHW',
    input_channels: String(args.inputChannels),
    color_order: n.colorOrder,
    input_range: '0,1',
    normalization: n.name,
    input_mean: JSON.stringify(n.mean),
    input_std: JSON.stringify(n.std),
    normalization_description: n.description,
    ...(args.extra ?? {}),
  };
}

/** Reads the normalisation back from canonical metadata (throws when absent or malformed). */
export function normalizationFromMetadata(md: Record<string, string>, file = 'weights'): Normalization {
  const parse = (k: string): number[] => {
    try {
      const v = JSON.parse(md[k] ?? '') as unknown;
      if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as number[];
    } catch {
      /* fall through */
    }
    throw new WeightFileError(`${file}: metadata ${k} is missing or not a list of numbers`, file);
  };
  const name = md.normalization;
  if (name !== 'torchvision-imagenet' && name !== 'caffe-imagenet')
    throw new WeightFileError(`${file}: unknown normalization ${JSON.stringify(name)}`, file);
  const colorOrder = md.color_order;
  if (colorOrder !== 'RGB' && colorOrder !== 'GRAY') throw new WeightFileError(`${file}: unknown color_order ${JSON.stringify(colorOrder)}`, file);
  return { name, colorOrder, mean: parse('input_mean'), std: parse('input_std'), description: md.normalization_description ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Layout conversions

/** Keras/TF conv kernel HWIO [kh, kw, cin, cout] → PyTorch OIHW [cout, cin, kh, kw]. */
export function hwioToOihw(data: Float32Array, shape: readonly number[]): { data: Float32Array; shape: number[] } {
  if (shape.length !== 4) throw new WeightFileError(`HWIO kernel must be 4-D, got ${shapeStr(shape)}`);
  const [kh, kw, ci, co] = shape as [number, number, number, number];
  if (data.length !== kh * kw * ci * co) throw new WeightFileError(`HWIO kernel ${shapeStr(shape)} has ${data.length} values`);
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++) {
        const src = ((y * kw + x) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[src + o]!;
      }
  return { data: out, shape: [co, ci, kh, kw] };
}

/** Reorders the input channels of an OIHW kernel: new[:, c] = old[:, perm[c]]. */
export function permuteInputChannels(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const [co, ci, kh, kw] = shape as [number, number, number, number];
  if (perm.length !== ci) throw new WeightFileError(`channel permutation of length ${perm.length} for ${ci} input channels`);
  const k = kh * kw;
  const out = new Float32Array(data.length);
  for (let o = 0; o < co; o++)
    for (let c = 0; c < ci; c++) out.set(data.subarray((o * ci + perm[c]!) * k, (o * ci + perm[c]! + 1) * k), (o * ci + c) * k);
  return out;
}

/** BGR↔RGB is its own inverse. */
export const BGR_TO_RGB = [2, 1, 0] as const;

export const FIRST_CONV = 'encoder.features.0.weight';

/**
 * One input channel, as smp's `patch_first_conv` does for in_channels=1: the first conv's
 * weights summed over the colour channels. Returns a new map (other tensors shared).
 */
export function toSingleChannel(weights: WeightMap, name = FIRST_CONV): WeightMap {
  const w = weights.get(name);
  if (!w) throw new WeightFileError(`toSingleChannel: no tensor ${name}`, undefined, name);
  if (w.shape.length !== 4) throw new WeightFileError(`toSingleChannel: ${name} is ${shapeStr(w.shape)}, expected OIHW`, undefined, name);
  const [co, ci, kh, kw] = w.shape as [number, number, number, number];
  if (ci === 1) return new Map(weights);
  const k = kh * kw;
  const out = new Float32Array(co * k);
  for (let o = 0; o < co; o++)
    for (let c = 0; c < ci; c++) {
      const src = (o * ci + c) * k;
      for (let j = 0; j < k; j++) out[o * k + j] += w.data[src + j]!;
    }
  const res = new Map(weights);
  res.set(name, { shape: [co, 1, kh, kw], data: out });
  return res;
}

/**
 * The first conv for grey input, exact: a grey image g in [0, 1] normalised once as
 * x = (g − m̄) / s̄ (m̄, s̄ the means of the per-channel mean and std, grayNormalization) gives in the
 * interior of the image the same first-conv output as the source weights on the grey image copied
 * into each of their channels with their own per-channel normalisation x_c = (g − m_c) / s_c:
 * since x_c = x · s̄/s_c + (m̄ − m_c)/s_c, the kernel is W' = Σ_c W_c · s̄/s_c and the bias
 * b' = b + Σ_c (m̄ − m_c)/s_c · Σ_taps W_c. (Keras' caffe weights take BGR in [0, 255] minus
 * (103.939, 116.779, 123.68): the per-channel means differ by up to 20 grey levels, which a plain sum
 * over channels would leave as a bias error.) Only the zero-padded border differs, as in any
 * channel fold. `n`: the source's normalisation, channels in the kernel's order.
 */
export function toGreyExact(weights: WeightMap, n: Normalization, name = FIRST_CONV): WeightMap {
  const w = weights.get(name);
  const b = weights.get(name.replace(/weight$/, 'bias'));
  if (!w || !b) throw new WeightFileError(`toGreyExact: no tensor ${!w ? name : name.replace(/weight$/, 'bias')}`, undefined, name);
  const [co, ci, kh, kw] = w.shape as [number, number, number, number];
  if (ci === 1) return new Map(weights);
  if (n.mean.length !== ci || n.std.length !== ci) throw new WeightFileError(`toGreyExact: ${ci} input channels but a ${n.mean.length}-channel normalisation`, undefined, name);
  const g = grayNormalization(n);
  const mBar = g.mean[0]!, sBar = g.std[0]!;
  const k = kh * kw;
  const out = new Float32Array(co * k);
  const bias = Float32Array.from(b.data);
  for (let o = 0; o < co; o++) {
    for (let c = 0; c < ci; c++) {
      const src = (o * ci + c) * k;
      let sum = 0;
      for (let j = 0; j < k; j++) {
        out[o * k + j] += (w.data[src + j]! * sBar) / n.std[c]!;
        sum += w.data[src + j]!;
      }
      bias[o] += ((mBar - n.mean[c]!) / n.std[c]!) * sum;
    }
  }
  const res = new Map(weights);
  res.set(name, { shape: [co, 1, kh, kw], data: out });
  res.set(name.replace(/weight$/, 'bias'), { shape: [...b.shape], data: bias });
  return res;
}

/** Metadata after `toSingleChannel`. */
export function singleChannelMetadata(md: Record<string, string>): Record<string, string> {
  const n = grayNormalization(normalizationFromMetadata(md));
  return {
    ...md,
    input_channels: '1',
    color_order: 'GRAY',
    input_mean: JSON.stringify(n.mean),
    input_std: JSON.stringify(n.std),
    normalization_description: n.description,
    first_conv: 'summed-over-rgb',
  };
}

// ---------------------------------------------------------------------------------------------
// Matching against a table

/**
 * Keeps the tensors whose canonical name and shape match `expected`, and reports the rest.
 * `unexpected` source names are passed through into the report.
 */
export function matchExpected(
  found: WeightMap,
  expected: readonly ExpectedTensor[],
  unexpected: string[] = [],
): { tensors: WeightMap; report: TensorReport } {
  const tensors: WeightMap = new Map();
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  const known = new Set<string>();
  for (const e of expected) {
    known.add(e.name);
    const t = found.get(e.name);
    if (!t) {
      if (!e.optional) missing.push(e.name);
      continue;
    }
    if (!sameShape(t.shape, e.shape)) mismatched.push({ name: e.name, expected: [...e.shape], got: [...t.shape] });
    else if (t.data.length !== numel(t.shape)) mismatched.push({ name: e.name, expected: [...e.shape], got: [t.data.length] });
    else tensors.set(e.name, t);
  }
  const extra = [...unexpected, ...[...found.keys()].filter((k) => !known.has(k))];
  return { tensors, report: { missing, unexpected: extra, mismatched } };
}

export type { WeightTensor };

/**
 * The loaded result of a Keras-layout VGG19 (Keras .h5 and tfjs layers models share it): the
 * matched canonical tensors and their report, with caffe (BGR, mean-subtracted) normalisation —
 * averaged to one channel for a grey first conv.
 */
export function kerasVgg19Result(
  format: 'keras-h5' | 'tfjs-layers',
  found: WeightMap,
  unexpected: string[],
  inputChannels: number,
  spec: VggSpec = {},
): LoadedWeights {
  const { tensors, report } = matchExpected(found, vgg19Expected({ ...spec, inputChannels }), unexpected);
  const metadata = canonicalMetadata({
    architecture: 'vgg19-features',
    sourceFormat: format,
    normalization: inputChannels === 1 ? grayNormalization(CAFFE_NORMALIZATION) : CAFFE_NORMALIZATION,
    inputChannels,
    extra: { source_color_order: inputChannels === 3 ? 'BGR' : 'GRAY', first_conv: inputChannels === 3 ? 'permuted-bgr-to-rgb' : 'as-is' },
  });
  return { format, tensors, metadata, report };
}

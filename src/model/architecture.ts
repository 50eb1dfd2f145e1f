/**
 * The architecture tables of U-Net++/VGG19 (docs/DESIGN.md §3): torchvision VGG19 `features` convs,
 * smp UnetPlusPlus decoder nodes, and every tensor's canonical (smp) name and shape. The model
 * builds its parameters from them; the weight readers (src/weights/) match files against them.
 */
import { ShapeError } from '../gpu/errors';

/** An expected tensor: canonical name and shape; optional tensors are not reported as missing. */
export interface ExpectedTensor {
  name: string;
  shape: number[];
  optional?: boolean;
}

/** `features.N` indices of the 16 convolutions. */
export const VGG19_CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34] as const;
/** Output channels of the 16 convolutions. */
export const VGG19_WIDTHS = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512] as const;
/** Keras layer names, in the same order. */
export const VGG19_KERAS_NAMES = [
  'block1_conv1', 'block1_conv2',
  'block2_conv1', 'block2_conv2',
  'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_conv4',
  'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_conv4',
  'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4',
] as const;

export interface VggSpec {
  /** Input channels of the first conv (3 for ImageNet files; 1 after `toSingleChannel`). */
  inputChannels?: number;
  /** Override the 16 output widths (tests shrink the network with this). */
  widths?: readonly number[];
}

export interface VggConv {
  /** 0..15 */
  layer: number;
  /** torchvision index N of `features.N`. */
  index: number;
  keras: string;
  /** torchvision/timm prefix, e.g. `features.0`. */
  torch: string;
  /** canonical (smp) prefix, e.g. `encoder.features.0`. */
  canonical: string;
  inChannels: number;
  outChannels: number;
}

export function vgg19Convs(spec: VggSpec = {}): VggConv[] {
  const widths = spec.widths ?? VGG19_WIDTHS;
  if (widths.length !== 16 || !widths.every((w) => Number.isInteger(w) && w > 0))
    throw new ShapeError(`VGG19 needs 16 positive conv widths, got ${JSON.stringify(widths)}`);
  let cin = spec.inputChannels ?? 3;
  return VGG19_CONV_INDICES.map((index, layer) => {
    const c: VggConv = {
      layer,
      index,
      keras: VGG19_KERAS_NAMES[layer]!,
      torch: `features.${index}`,
      canonical: `encoder.features.${index}`,
      inChannels: cin,
      outChannels: widths[layer]!,
    };
    cin = c.outChannels;
    return c;
  });
}

/** Canonical expected tensors of the encoder (OIHW weights + biases). */
export function vgg19Expected(spec: VggSpec = {}): ExpectedTensor[] {
  return vgg19Convs(spec).flatMap((c) => [
    { name: `${c.canonical}.weight`, shape: [c.outChannels, c.inChannels, 3, 3] },
    { name: `${c.canonical}.bias`, shape: [c.outChannels] },
  ]);
}

export const UNETPP_DECODER_CHANNELS = [256, 128, 64, 32, 16] as const;

export interface DecoderBlockSpec {
  name: string;
  /** Channels of the upsampled previous node. */
  in: number;
  /** Channels of the concatenated skips (0 for x_0_4). */
  skip: number;
  out: number;
}

/** The 11 decoder nodes, as smp builds them (x_0_0 … x_3_3, then x_0_4). */
export function unetPlusPlusBlocks(encoderWidths: readonly number[] = VGG19_WIDTHS, decoder: readonly number[] = UNETPP_DECODER_CHANNELS): DecoderBlockSpec[] {
  if (decoder.length !== 5) throw new ShapeError(`UnetPlusPlus needs 5 decoder channels, got ${decoder.length}`);
  const w = encoderWidths;
  // Encoder features deepest first: f0 = pool5 (512@H/32), f1 = 512@H/16, f2 = 512@H/8, f3 = 256@H/4, f4 = 128@H/2.
  const head = w[15]!;
  const skips = [w[15]!, w[11]!, w[7]!, w[3]!, 0];
  const ins = [head, ...decoder.slice(0, -1)];
  const blocks: DecoderBlockSpec[] = [];
  for (let l = 0; l < ins.length - 1; l++)
    for (let d = 0; d <= l; d++) {
      if (d === 0) blocks.push({ name: `x_0_${l}`, in: ins[l]!, skip: skips[l]! * (l + 1), out: decoder[l]! });
      else blocks.push({ name: `x_${d}_${l}`, in: skips[l - 1]!, skip: skips[l]! * (l + 1 - d), out: skips[l]! });
    }
  blocks.push({ name: `x_0_${ins.length - 1}`, in: ins[ins.length - 1]!, skip: 0, out: decoder[decoder.length - 1]! });
  return blocks;
}

export interface UnetPPSpec extends VggSpec {
  /** Number of output heatmaps (landmarks). */
  classes: number;
  decoderChannels?: readonly number[];
}

/** Every tensor of an smp UnetPlusPlus/VGG19 state_dict (num_batches_tracked optional). */
export function unetPlusPlusExpected(spec: UnetPPSpec): ExpectedTensor[] {
  const out: ExpectedTensor[] = [...vgg19Expected(spec)];
  const decoder = spec.decoderChannels ?? UNETPP_DECODER_CHANNELS;
  for (const b of unetPlusPlusBlocks(spec.widths ?? VGG19_WIDTHS, decoder)) {
    for (const [conv, ci] of [['conv1', b.in + b.skip], ['conv2', b.out]] as const) {
      const p = `decoder.blocks.${b.name}.${conv}`;
      out.push({ name: `${p}.0.weight`, shape: [b.out, ci, 3, 3] });
      for (const s of ['weight', 'bias', 'running_mean', 'running_var']) out.push({ name: `${p}.1.${s}`, shape: [b.out] });
      out.push({ name: `${p}.1.num_batches_tracked`, shape: [], optional: true });
    }
  }
  const last = decoder[decoder.length - 1]!;
  out.push({ name: 'segmentation_head.0.weight', shape: [spec.classes, last, 3, 3] });
  out.push({ name: 'segmentation_head.0.bias', shape: [spec.classes] });
  return out;
}

/**
 * smp UnetPlusPlus(encoder_name="vgg19", decoder_channels=(256,128,64,32,16)) state_dict table
 * (DESIGN §4): encoder `encoder.features.N.*`, decoder `decoder.blocks.x_d_l.conv{1,2}.{0,1}.*`,
 * head `segmentation_head.0.*`. Channel counts follow smp's UnetPlusPlusDecoder construction so
 * that a shrunken encoder (tests) gives the matching shrunken decoder.
 */
import { WeightFileError, type ExpectedTensor } from './types';
import { type VggSpec, VGG19_WIDTHS, vgg19Expected } from './vgg19';

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
  if (decoder.length !== 5) throw new WeightFileError(`UnetPlusPlus needs 5 decoder channels, got ${decoder.length}`);
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

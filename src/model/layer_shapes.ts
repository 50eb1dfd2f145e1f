/**
 * Every distinct layer shape of U-Net++/VGG19 at one input size, derived from the model's own
 * structure tables (vgg19Convs, unetPlusPlusBlocks, decoderSchedule), so the kernel suite follows
 * the model if it changes. Shapes are NCHW.
 */
import { UNETPP_DECODER_CHANNELS, unetPlusPlusBlocks, VGG19_WIDTHS, vgg19Convs } from './architecture';
import { decoderSchedule } from './unetpp';

export interface ConvShape {
  layers: string[];
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  /** Encoder convs: bias + ReLU fused; decoder convs: neither (BatchNorm follows). */
  bias: boolean;
  relu: boolean;
  /** The network's input conv: its dx is never needed. */
  first: boolean;
}

export interface MapShape {
  layers: string[];
  n: number;
  c: number;
  h: number;
  w: number;
}

export interface ConcatShape {
  layers: string[];
  n: number;
  /** Channels of each part, in order. */
  parts: number[];
  h: number;
  w: number;
}

export interface LayerShapes {
  convs: ConvShape[];
  pools: MapShape[];
  /** Inputs of the 2x upsamples (small side). */
  upsamples: MapShape[];
  concats: ConcatShape[];
  /** BatchNorm inputs (decoder conv outputs). */
  batchNorms: MapShape[];
}

export interface ModelShapeConfig {
  size: number;
  batch: number;
  classes?: number;
  inChannels?: number;
  widths?: readonly number[];
  decoderChannels?: readonly number[];
}

const POOL_AFTER = new Set([1, 3, 7, 11, 15]);

function addUnique<T extends { layers: string[] }>(list: T[], item: T, key: (t: T) => string): void {
  const k = key(item);
  const found = list.find((t) => key(t) === k);
  if (found) found.layers.push(...item.layers);
  else list.push(item);
}

export function unetppLayerShapes(cfg: ModelShapeConfig): LayerShapes {
  const { size: S, batch: n } = cfg;
  if (S % 32 !== 0 || S < 32) throw new RangeError(`bench: size must be a multiple of 32 (U-Net++ pools five times), got ${S}`);
  const widths = cfg.widths ?? VGG19_WIDTHS;
  const decoder = cfg.decoderChannels ?? UNETPP_DECODER_CHANNELS;
  const classes = cfg.classes ?? 19;
  const out: LayerShapes = { convs: [], pools: [], upsamples: [], concats: [], batchNorms: [] };
  const convKey = (c: ConvShape) => `${c.n}x${c.cin}x${c.h}x${c.w}>${c.cout}${c.bias ? 'b' : ''}${c.relu ? 'r' : ''}`;
  const mapKey = (m: MapShape) => `${m.n}x${m.c}x${m.h}x${m.w}`;

  // Encoder: 3x3 convs (bias, ReLU), 2x2 max-pools after stages.
  let h = S;
  for (const conv of vgg19Convs({ inputChannels: (cfg.inChannels ?? 1) as 1 | 3, widths })) {
    addUnique(out.convs, { layers: [conv.canonical], n, cin: conv.inChannels, cout: conv.outChannels, h, w: h, bias: true, relu: true, first: conv.layer === 0 }, convKey);
    if (POOL_AFTER.has(conv.layer)) {
      addUnique(out.pools, { layers: [`pool after ${conv.canonical}`], n, c: conv.outChannels, h, w: h }, mapKey);
      h /= 2;
    }
  }

  // Decoder: node x_d_l lives at S / 2^(4-l) (x_0_4 at S); its prev is upsampled from half that.
  const blocks = new Map(unetPlusPlusBlocks(widths, decoder).map((b) => [b.name, b]));
  const channels = new Map<string, number>([
    ['f0', widths[15]!],
    ['f1', widths[15]!],
    ['f2', widths[11]!],
    ['f3', widths[7]!],
    ['f4', widths[3]!],
  ]);
  for (const step of decoderSchedule()) {
    const b = blocks.get(step.name)!;
    const l = Number(step.name.split('_')[2]);
    const res = l >= 4 ? S : S / 2 ** (4 - l);
    const name = `decoder.blocks.${step.name}`;
    addUnique(out.upsamples, { layers: [name], n, c: b.in, h: res / 2, w: res / 2 }, mapKey);
    const parts = [b.in, ...step.skips.map((s) => channels.get(s)!)];
    if (parts.length > 1) addUnique(out.concats, { layers: [name], n, parts, h: res, w: res }, (c) => `${c.n}x${c.parts.join('+')}x${c.h}`);
    addUnique(out.convs, { layers: [`${name}.conv1`], n, cin: b.in + b.skip, cout: b.out, h: res, w: res, bias: false, relu: false, first: false }, convKey);
    addUnique(out.convs, { layers: [`${name}.conv2`], n, cin: b.out, cout: b.out, h: res, w: res, bias: false, relu: false, first: false }, convKey);
    addUnique(out.batchNorms, { layers: [`${name}.conv1.1`, `${name}.conv2.1`], n, c: b.out, h: res, w: res }, mapKey);
    channels.set(step.name, b.out);
  }
  const last = decoder[decoder.length - 1]!;
  addUnique(out.convs, { layers: ['segmentation_head.0'], n, cin: last, cout: classes, h: S, w: S, bias: true, relu: false, first: false }, convKey);
  return out;
}

/** 2·N·H·W·Cout·Cin·9: one 3x3 stride-1 "same" conv (forward, dx and dW cost the same). */
export const convFlops = (c: ConvShape): number => 2 * c.n * c.h * c.w * c.cout * c.cin * 9;

/** FLOPs of one forward of the whole model (convs only; the rest is bandwidth). */
export function modelForwardFlops(cfg: ModelShapeConfig): number {
  // count every layer, not just distinct shapes
  const s = unetppLayerShapes(cfg);
  return s.convs.reduce((sum, c) => sum + convFlops(c) * c.layers.length, 0);
}

/** FLOPs of one training step: forward + dx (all but the input conv) + dW. */
export function modelTrainFlops(cfg: ModelShapeConfig): number {
  const s = unetppLayerShapes(cfg);
  return s.convs.reduce((sum, c) => sum + convFlops(c) * c.layers.length * (c.first ? 2 : 3), 0);
}

export const layerLabel = (layers: readonly string[]): string => (layers.length > 1 ? `${layers[0]} (+${layers.length - 1})` : layers[0] ?? '');

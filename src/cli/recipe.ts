/**
 * The training recipe's options, shared by `osteo train` and `osteo experiment`, and their
 * translation into a TrainConfig (defaults live in src/train/config.ts only).
 */
import { existsSync } from 'node:fs';
import { didYouMean } from '../data/suggest';
import { IMAGENET_CANDIDATES } from '../node/train_io';
import type { LossName, TrainConfig } from '../train/config';
import { HEATMAP_LOSSES, REFINE_DEFAULTS, TRAIN_DEFAULTS } from '../train/config';
import { UNETPP_DECODER_CHANNELS, VGG19_WIDTHS } from '../weights/index';
import { UsageError } from './command';
import { checks, defineOptions, SOFTWARE_OPTION, type Check } from './options';

const SIZE_CHECK = checks.inputSize();

/** `--init`: imagenet, scratch, or a file that exists (checked before a GPU is acquired). */
export const checkInit: Check = (v, flag) => {
  if (v === 'imagenet' || v === 'scratch' || existsSync(v)) return;
  throw new UsageError(`--${flag} ${v}: no such file; expected imagenet, scratch, or a checkpoint / weight file${didYouMean(v, ['imagenet', 'scratch'])}`);
};

const D = TRAIN_DEFAULTS;

/**
 * The recipe's options. No parseArgs defaults: a resumed run tells the flags given from the
 * defaults (withDefaults applies them).
 */
export const RECIPE_OPTIONS = defineOptions({
  size: { type: 'string', value: 'N', defaultText: `${D.size} (${REFINE_DEFAULTS.size} with --stage refine: the crop's side)`, description: 'model input size in pixels (images are resized to N x N), a multiple of 32', check: SIZE_CHECK },
  batch: { type: 'string', value: 'N', defaultText: `2 with --init scratch, ${REFINE_DEFAULTS.batch} with --stage refine, else 4`, description: 'images per step', check: checks.int(1) },
  accum: { type: 'string', value: 'N', defaultText: '1 with --init scratch, else 4', description: 'steps whose gradients add up to one update (effective batch = batch × accum)', check: checks.int(1) },
  epochs: { type: 'string', value: 'N', defaultText: String(D.epochs), description: 'most epochs (early stopping may end the run sooner)', check: checks.int(1) },
  lr: { type: 'string', value: 'LR', defaultText: '2e-3 with --init scratch, else 1e-5', description: 'learning rate (of AdamW, or SGD with --optimizer sgd)', check: checks.number({ above: 0 }) },
  'weight-decay': { type: 'string', value: 'WD', defaultText: String(D.weightDecay), description: 'weight decay (AdamW: decoupled; SGD: added to the gradient)', check: checks.number({ min: 0 }) },
  'clip-grad-norm': { type: 'string', value: 'N', defaultText: 'none', description: 'scale each update\'s gradients to a global L2 norm of at most N (as torch clip_grad_norm_): for a loss that turns NaN', check: checks.number({ above: 0 }) },
  sigma: { type: 'string', value: 'PX', defaultText: 'spatial_ce: size / 64 (1.5 at 64, 2 at 128); other losses: 5 at --size 256, scaled with the size; at least 1.5', description: 'σ of the Gaussian target heatmaps, in model pixels', check: checks.number({ above: 0 }) },
  loss: { type: 'string', value: 'mse|bce|softmax_ce|spatial_ce|awing', defaultText: 'spatial_ce with --init scratch, else mse', description: 'heatmap loss (softmax_ce: softmax over the landmark maps at each pixel; spatial_ce: softmax over each map\'s pixels; awing: adaptive wing)', check: checks.oneOf([...HEATMAP_LOSSES]) },
  'target-scale': { type: 'string', value: 'X', defaultText: String(D.targetScale), description: 'multiplies the target heatmaps, --loss mse only (MSE on small Gaussians learns faster with a larger peak)', check: checks.number({ above: 0 }) },
  'val-split': { type: 'string', value: 'F', defaultText: String(D.valSplit), description: 'fraction of the training items held out for validation, in [0, 1) (0: none; the metric is then the training loss)', check: checks.number({ min: 0, below: 1 }) },
  patience: { type: 'string', value: 'N', defaultText: String(D.patience), description: 'ReduceLROnPlateau: halve the learning rate after N epochs without a better validation MRE', check: checks.int(1) },
  'early-stop': { type: 'string', value: 'N', defaultText: String(D.earlyStop), description: 'stop after N epochs without a better validation MRE', check: checks.int(1) },
  'no-augment': { type: 'boolean', description: 'train without the shift / scale / rotation / intensity augmentation' },
  'freeze-bn': { type: 'boolean', description: 'batch norm in eval mode while training: running statistics used and kept, γ and β still learn (fine-tuning on a few images at a small batch)' },
  'freeze-encoder': { type: 'string', value: 'N', defaultText: '0', description: "freeze the first N of the encoder's 5 VGG19 blocks (not updated)", check: checks.int(0) },
  decode: { type: 'string', value: 'argmax|blob', defaultText: D.decode, description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around the peak (the paper authors\' way)', check: checks.oneOf(['argmax', 'blob']) },
  widths: { type: 'string', value: 'W1,…,W16', defaultText: `VGG19's ${VGG19_WIDTHS.join(',')}`, description: 'channels of the 16 VGG19 convs (narrow models for tests and the CPU fallback; ImageNet weights need the default)', check: checks.intList({ count: 16 }) },
  decoder: { type: 'string', value: 'D1,…,D5', defaultText: UNETPP_DECODER_CHANNELS.join(','), description: 'channels of the 5 U-Net++ decoder stages', check: checks.intList({ count: 5 }) },
  weights: { type: 'string', value: 'FILE', defaultText: `the first of ${IMAGENET_CANDIDATES.join(', ')}, weights/vgg19-imagenet*.safetensors`, description: 'ImageNet VGG19 weights for the imagenet init (osteo weights fetch writes them)', check: checks.exists('file') },
  strict: { type: 'boolean', description: 'stop at the first bad item of the data (unreadable image, bad row) instead of skipping and counting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every item', description: 'use at most N items of each data set (sorted by id)', check: checks.int(1) },
  software: SOFTWARE_OPTION,
});

/** Parsed flag values (strings and switches) by option name. */
export type Flags = Partial<Record<string, string | boolean>>;

function parseList(s: string, what: string, n: number): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== n || !v.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`--${what} needs ${n} positive integers separated by commas, got '${s}'`);
  return v;
}

/** Only the options given on the command line, as config fields. */
export function configFromFlags(v: Flags): Partial<TrainConfig> {
  const num = (k: string): number | undefined => {
    const s = v[k];
    if (s === undefined) return undefined;
    const n = Number(s);
    if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${k} expects a number, got '${String(s)}'`);
    return n;
  };
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const c: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, x: TrainConfig[K] | undefined) => {
    if (x !== undefined) c[k] = x;
  };
  set('data', str('data'));
  set('split', str('split'));
  set('init', str('init'));
  set('weights', str('weights'));
  if (v['reset-head']) c.resetHead = true;
  set('size', num('size'));
  set('batch', num('batch'));
  set('accum', num('accum'));
  set('epochs', num('epochs'));
  set('lr', num('lr'));
  set('weightDecay', num('weight-decay'));
  set('clipGradNorm', num('clip-grad-norm'));
  set('sigma', num('sigma'));
  set('loss', str('loss') as LossName | undefined);
  set('targetScale', num('target-scale'));
  set('valSplit', num('val-split'));
  set('seed', num('seed'));
  set('out', str('out'));
  set('patience', num('patience'));
  set('earlyStop', num('early-stop'));
  if (v['no-augment']) c.augment = false;
  if (v['freeze-bn']) c.freezeBn = true;
  if (typeof v['freeze-encoder'] === 'string') c.freezeEncoder = Number(v['freeze-encoder']);
  if (v.strict) c.strict = true;
  if (typeof v.widths === 'string') c.widths = parseList(v.widths, 'widths', 16);
  if (typeof v.decoder === 'string') c.decoder = parseList(v.decoder, 'decoder', 5);
  set('decode', str('decode') as 'argmax' | 'blob' | undefined);
  set('limit', num('limit'));
  return c;
}

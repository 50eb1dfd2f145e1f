/**
 * Every training setting and its default, once (host-neutral). The CLI's flags, the library's
 * `train()` and the transfer study all fill a {@link TrainConfig} through {@link withDefaults}.
 *
 * From ImageNet weights or a checkpoint the recipe is the paper authors' (docs/DESIGN.md §5): 1 channel,
 * min-max to [0, 1] then the weights' normalisation, Gaussian σ = 5 px at 256 px (scaled with the
 * input size, at least 1.5), MSE, AdamW (lr 1e-5, weight decay 1e-4), effective batch 16 (batch 4 ×
 * accum 4), ReduceLROnPlateau(0.5, 13) and early stopping (27) on validation MRE, at most 200
 * epochs, small shift / scale / rotation / intensity augmentation. From scratch, the loss, σ, lr,
 * schedule and batch are the recipe measured on ISBI 2015 ({@link initDefaults}, docs/recipes.md).
 */
import { HEATMAP_LOSSES, type HeatmapLoss } from '../autograd/graph';
import { OsteoError } from '../gpu/errors';

/** A training setting that cannot be used; the message names the setting (as its CLI flag). */
export class ConfigError extends OsteoError {}

/**
 * Heatmap loss: mean squared error, binary cross-entropy with logits, softmax cross-entropy per
 * pixel over the landmark channels (`softmax_ce`), or softmax cross-entropy over each map's pixels
 * (`spatial_ce`: each landmark's map is one distribution over the image; targets are normalised
 * to sum 1 per map, and predictions decode the per-map softmax).
 */
export type LossName = HeatmapLoss;
export { HEATMAP_LOSSES };

/** Heatmap → point decoding: the peak with sub-pixel refinement, or the blob centroid. */
export type DecodeMethod = 'argmax' | 'blob';

/**
 * Learning-rate schedule: ReduceLROnPlateau on validation MRE, cosine decay to lr/10 over the epochs, or step decay
 * (lr · gamma every `stepSize` epochs, torch StepLR).
 */
export type ScheduleName = 'plateau' | 'cosine' | 'step';

/**
 * The optimizer: AdamW (decoupled weight decay, the recipe's) or SGD (torch.optim.SGD: weight decay added to the
 * gradient, optional momentum). Both leave biases and batch-norm parameters undecayed.
 */
export type OptimizerName = 'adamw' | 'sgd';
/** Every optimizer name (the CLI's choices and the config check). */
export const OPTIMIZERS: readonly OptimizerName[] = ['adamw', 'sgd'];
/** Every schedule name (the CLI's choices and the config check). */
export const SCHEDULES: readonly ScheduleName[] = ['plateau', 'cosine', 'step'];

/** Which network a run trains: the whole-image (coarse) stage or the crop refinement stage (src/train/refine.ts). */
export type StageName = 'coarse' | 'refine';

/** One training run's settings. */
export interface TrainConfig {
  /** The data it trains on: a data spec (Node) or a name for an in-memory set (recorded only). */
  data: string;
  /** Named split of the data to train on. */
  split?: string;
  /** 'imagenet' | 'scratch' | a checkpoint or weight file / name. */
  init: string;
  /** ImageNet weight file (default: found by the host). */
  weights?: string;
  /** With a checkpoint init for another landmark count: a new segmentation head. */
  resetHead: boolean;
  /** Model input side in pixels, a multiple of 32. */
  size: number;
  /** Images per step. */
  batch: number;
  /** Steps whose gradients add up to one update. */
  accum: number;
  /** Most epochs. */
  epochs: number;
  /** Learning rate (of AdamW or SGD). */
  lr: number;
  /** Weight decay (AdamW's decoupled; SGD's added to the gradient). */
  weightDecay: number;
  /** The optimizer (default AdamW). */
  optimizer?: OptimizerName;
  /** SGD momentum (default 0: plain SGD). */
  momentum?: number;
  /** Scale each update's gradients to at most this global L2 norm (torch clip_grad_norm_); absent: no clipping. */
  clipGradNorm?: number;
  /** σ of the Gaussian target heatmaps, in model pixels. */
  sigma: number;
  /** Heatmap loss. */
  loss: LossName;
  /** Multiplies the target heatmaps. */
  targetScale: number;
  /** Fraction of the training items held out for validation, in [0, 1). */
  valSplit: number;
  /** Seed of new layers, the validation split, the data order and the augmentation. */
  seed: number;
  /** Run folder (Node) or store name. */
  out: string;
  /** ReduceLROnPlateau patience (epochs). */
  patience: number;
  /** Early-stopping patience (epochs). */
  earlyStop: number;
  /** Shift / scale / rotation / intensity augmentation. */
  augment: boolean;
  /** Stop at the first bad data item instead of skipping it. */
  strict: boolean;
  /** Channels of the 16 VGG19 convs (default VGG19's). */
  widths?: number[];
  /** Channels of the 5 decoder stages (default smp's 256,128,64,32,16). */
  decoder?: number[];
  /** Heatmap decoding. */
  decode: DecodeMethod;
  /** At most this many items of the data. */
  limit?: number;
  /** Learning-rate schedule (default: cosine from scratch, else plateau; see initDefaults). */
  schedule?: ScheduleName;
  /** Epochs of linear warm-up from lr/10 in front of the schedule (default 0). */
  warmup?: number;
  /** Step schedule: epochs between decays (required with schedule 'step'). */
  stepSize?: number;
  /** Step schedule: the factor of each decay (default 0.1, as torch StepLR). */
  gamma?: number;
  /** Stage to train (default coarse). */
  stage?: StageName;
  /** Refinement stage: the coarse stage's checkpoint it refines. */
  coarse?: string;
  /** Refinement stage: crop side as a fraction of the image's longer side. */
  crop?: number;
  /**
   * Refinement stage: crops per training image and epoch (landmarks drawn without replacement; default every landmark).
   */
  crops?: number;
  /**
   * Batch norm in eval mode while training (running statistics used and kept, γ and β still
   * learn): for fine-tuning on a few images at a small batch, whose batch statistics are noisy.
   */
  freezeBn?: boolean;
  /** Freeze the first N of the encoder's 5 VGG19 blocks (their convs are not updated); 0 = none. */
  freezeEncoder?: number;
}

/** The last conv index + 1 of each VGG19 block (features.0–2, 5–7, 10–16, 19–25, 28–34). */
export const VGG19_BLOCK_ENDS = [4, 9, 18, 27, 36] as const;

/** Parameter-name test for the convs of the encoder's first `blocks` blocks (encoder.features.N.*). */
export function inFrozenBlocks(blocks: number): (name: string) => boolean {
  const end = blocks > 0 ? VGG19_BLOCK_ENDS[Math.min(blocks, 5) - 1]! : 0;
  return (name) => {
    const m = /^encoder\.features\.(\d+)\./.exec(name);
    return m !== null && Number(m[1]) < end;
  };
}

/**
 * Defaults of the refinement stage (src/train/refine.ts), measured on ISBI (docs/recipes.md): crops
 * 0.14 of the image's longer side (34 mm on a 240 mm ISBI cephalogram, wide enough that a coarse
 * error of ~10 mm stays well inside) resampled to 32 px (~1 mm per pixel), 6 crops per image and
 * epoch, batch 4; the loss, lr and schedule are the from-scratch ones ({@link initDefaults}).
 */
export const REFINE_DEFAULTS = { crop: 0.14, size: 32, crops: 6, batch: 4 } as const;

/**
 * σ of the target heatmaps at an input size: for `spatial_ce` 1.5 px at 64 px and 2 at 128 (size /
 * 64, at least 1.5; measured on ISBI, docs/recipes.md); otherwise the paper authors' 5 px at 256 px,
 * scaled with the size, at least 1.5.
 */
export const defaultSigma = (size: number, loss?: LossName): number => (loss === 'spatial_ce' ? Math.max(1.5, size / 64) : Math.max(1.5, (5 * size) / 256));

/**
 * The settings that depend on the init. From scratch (the CPU fallback's case), the recipe measured
 * on real X-rays (docs/recipes.md, ISBI 2015 at 64 and 128 px): spatial softmax cross-entropy, lr
 * 2e-3 with cosine decay, batch 2 without accumulation. From ImageNet weights or a checkpoint, the
 * paper authors' recipe (docs/DESIGN.md §5): MSE, lr 1e-5, ReduceLROnPlateau, batch 4 × accum 4 — not
 * re-measured here (it needs the ImageNet weights and a GPU).
 */
export function initDefaults(init: string): { loss: LossName; lr: number; schedule: ScheduleName; batch: number; accum: number } {
  return init === 'scratch'
    ? { loss: 'spatial_ce', lr: 2e-3, schedule: 'cosine', batch: 2, accum: 1 }
    : { loss: 'mse', lr: 1e-5, schedule: 'plateau', batch: 4, accum: 4 };
}

/** AdamW learning rate for an init: 2e-3 from scratch, 1e-5 from pretrained weights (see {@link initDefaults}). */
export const defaultLr = (init: string): number => initDefaults(init).lr;

/**
 * The defaults that depend on nothing (loss, lr, schedule, batch and accum depend on the init: {@link initDefaults}; σ
 * on the size and loss).
 */
export const TRAIN_DEFAULTS = {
  resetHead: false,
  size: 256,
  epochs: 200,
  weightDecay: 1e-4,
  targetScale: 1,
  valSplit: 0.2,
  seed: 1,
  out: 'runs/train',
  patience: 13,
  earlyStop: 27,
  augment: true,
  strict: false,
  decode: 'argmax',
} as const satisfies Partial<TrainConfig>;

const INT_KEYS = ['size', 'batch', 'accum', 'epochs', 'seed', 'patience', 'earlyStop', 'limit', 'crops', 'stepSize'] as const;

/** A config key as its CLI flag (`weightDecay` → `--weight-decay`). */
export const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;

/** Checks a config; throws a ConfigError naming the bad setting. */
export function validateConfig(c: TrainConfig): void {
  for (const k of INT_KEYS) {
    const v = c[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1)) throw new ConfigError(`${flagOf(k)} must be a ${k === 'seed' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  if (c.size % 32 !== 0) throw new ConfigError(`--size must be a multiple of 32 (the encoder halves it five times), got ${c.size}`);
  for (const [k, v] of [['lr', c.lr], ['sigma', c.sigma], ['target-scale', c.targetScale]] as const) if (!(v > 0 && Number.isFinite(v))) throw new ConfigError(`--${k} must be a positive number, got ${v}`);
  if (!(c.weightDecay >= 0)) throw new ConfigError(`--weight-decay must be ≥ 0, got ${c.weightDecay}`);
  if (c.clipGradNorm !== undefined && !(c.clipGradNorm > 0 && Number.isFinite(c.clipGradNorm))) throw new ConfigError(`--clip-grad-norm must be a positive number, got ${c.clipGradNorm}`);
  if (!(c.valSplit >= 0 && c.valSplit < 1)) throw new ConfigError(`--val-split must be in [0, 1), got ${c.valSplit}`);
  if (c.freezeEncoder !== undefined && !(Number.isInteger(c.freezeEncoder) && c.freezeEncoder >= 0 && c.freezeEncoder <= 5)) throw new ConfigError(`--freeze-encoder must be 0 to 5 (VGG19 blocks), got ${c.freezeEncoder}`);
  if (!HEATMAP_LOSSES.includes(c.loss)) throw new ConfigError(`--loss must be one of ${HEATMAP_LOSSES.join(', ')}, got ${c.loss}`);
  if (c.targetScale !== 1 && c.loss !== 'mse') throw new ConfigError(`--target-scale scales MSE targets only (${c.loss} needs targets in [0, 1]${c.loss === 'spatial_ce' ? ', normalised per map' : ''}); drop it or use --loss mse`);
  if (!['argmax', 'blob'].includes(c.decode)) throw new ConfigError(`--decode must be argmax or blob, got ${c.decode}`);
  if (c.optimizer !== undefined && !OPTIMIZERS.includes(c.optimizer)) throw new ConfigError(`--optimizer must be ${OPTIMIZERS.join(' or ')}, got ${c.optimizer}`);
  if (c.momentum !== undefined && !(c.momentum >= 0 && c.momentum < 1)) throw new ConfigError(`--momentum must be in [0, 1), got ${c.momentum}`);
  if (c.momentum !== undefined && c.momentum !== 0 && c.optimizer !== 'sgd') throw new ConfigError('--momentum is for --optimizer sgd (AdamW keeps its own moments)');
  if (c.schedule !== undefined && !SCHEDULES.includes(c.schedule)) throw new ConfigError(`--schedule must be ${SCHEDULES.join(', ')}, got ${c.schedule}`);
  if (c.schedule === 'step' && c.stepSize === undefined) throw new ConfigError('--schedule step needs --step-size N (epochs between decays)');
  if ((c.stepSize !== undefined || c.gamma !== undefined) && c.schedule !== 'step') throw new ConfigError('--step-size and --gamma are for --schedule step');
  if (c.gamma !== undefined && !(c.gamma > 0 && c.gamma <= 1)) throw new ConfigError(`--gamma must be in (0, 1], got ${c.gamma}`);
  if (c.warmup !== undefined && !(Number.isInteger(c.warmup) && c.warmup >= 0)) throw new ConfigError(`--warmup must be a non-negative integer, got ${c.warmup}`);
  if (c.stage !== undefined && !['coarse', 'refine'].includes(c.stage)) throw new ConfigError(`--stage must be coarse or refine, got ${c.stage}`);
  if (c.crop !== undefined && !(c.crop > 0 && c.crop <= 1)) throw new ConfigError(`--crop must be a fraction of the image's longer side in (0, 1], got ${c.crop}`);
  if (c.stage === 'refine' && !c.coarse) throw new ConfigError('--stage refine needs --coarse CKPT (the coarse stage it refines)');
  for (const [k, v, n] of [['widths', c.widths, 16], ['decoder', c.decoder, 5]] as const) {
    if (v !== undefined && !(v.length === n && v.every((x) => Number.isInteger(x) && x > 0))) throw new ConfigError(`--${k} needs ${n} positive integers, got ${v.join(',')}`);
  }
}

/**
 * The full config: the given settings over the defaults (loss, lr, schedule and batch from the init and stage, σ from
 * the size and loss), checked.
 */
export function withDefaults(c: Partial<TrainConfig> & { data: string; init: string }): TrainConfig {
  const refine = c.stage === 'refine';
  const size = c.size ?? (refine ? REFINE_DEFAULTS.size : TRAIN_DEFAULTS.size);
  const byInit = { ...initDefaults(c.init), ...(refine ? { batch: REFINE_DEFAULTS.batch, crops: REFINE_DEFAULTS.crops } : {}) };
  const loss = c.loss ?? byInit.loss;
  const full: TrainConfig = {
    ...TRAIN_DEFAULTS,
    ...byInit,
    size,
    sigma: defaultSigma(size, loss),
    ...stripUndefined(c),
    data: c.data,
    init: c.init,
  };
  validateConfig(full);
  return full;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

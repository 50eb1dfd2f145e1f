/**
 * `osteo train`: fine-tunes (or trains from scratch) U-Net++/VGG19 on a landmark data set.
 *
 * Recipe (the paper authors' setup, DESIGN.md §6, as defaults): 1 channel, min-max to [0, 1] then
 * the weights' normalisation, Gaussian σ=5 targets at 256 px (σ scales with --size), MSE, AdamW
 * (lr 1e-5 from ImageNet or a checkpoint, 1e-4 from scratch), effective batch 16 (--batch 4
 * --accum 4), ReduceLROnPlateau(0.5, 13) and early stopping (27) on validation MRE, at most 200
 * epochs, small shift/scale/rotation/intensity augmentation.
 *
 * Every epoch writes OUT/checkpoint-last.safetensors (model, optimizer, schedule, early stopping,
 * history; atomic), OUT/checkpoint-best.safetensors when validation MRE improves, and
 * OUT/metrics.json (atomic). `--resume` continues a killed run from checkpoint-last: only the
 * unfinished epoch is lost, and the result equals an uninterrupted run's (same data order and
 * augmentation, restored optimizer moments and schedule).
 *
 * Shared with eval / predict / experiment: data preparation (decode once, pre-resize, skip and
 * count bad items), model initialisation (imagenet / scratch / checkpoint / weight file) and the
 * training loop itself (`runTraining`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, type LandmarkDataset, type Point } from '../../data/types';
import type { Engine } from '../../gpu/engine';
import { OsteoError } from '../../gpu/errors';
import { initializeUnetPP } from '../../model/init';
import { UnetPlusPlus } from '../../model/unetpp';
import { EarlyStopping, ReduceLROnPlateau } from '../../nn/schedule';
import {
  CHECKPOINT_BEST, CHECKPOINT_LAST, CheckpointError, loadCheckpoint, modelFromCheckpoint, saveCheckpoint,
  type Checkpoint, type EpochRecord, type TrainingState, type TrainSettings,
} from '../../node/checkpoint';
import { loadItemImage, readDataset } from '../../node/data_readers';
import { readWeightsFile, writeFileAtomic } from '../../node/weights_io';
import { statsJson } from '../../landmarks/report_json';
import { buildSet, splitTrainVal, subset, type SetItem } from '../../train/data';
import { LandmarkTrainer, type LandmarkSet, type LossName, type StepInfo } from '../../train/trainer';
import { grayNormalization, normalizationFromMetadata, toSingleChannel, TORCHVISION_NORMALIZATION, UNETPP_DECODER_CHANNELS, VGG19_WIDTHS } from '../../weights/index';
import { didYouMean } from '../../data/suggest';
import { UsageError, type Command } from '../command';
import { engineProvider, withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, checkSpec, defineOptions, parseOptions, type Check, SOFTWARE_OPTION } from '../options';

// ------------------------------------------------------------------------------ engine

export { engineProvider, withEngine };

export const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// ------------------------------------------------------------------------------ errors

/** ImageNet weights requested but not on disk. */
export class MissingWeightsError extends OsteoError {}
/** Model and data disagree on the number of landmarks. */
export class LandmarkCountError extends OsteoError {}

// ------------------------------------------------------------------------------ data

export interface PreparedData {
  spec: string;
  name: string;
  k: number;
  unit: 'mm' | 'px';
  landmarkNames?: string[];
  /** Cached working copies at `size` (see src/train/data.ts), in dataset order. */
  set: LandmarkSet & { ids: string[] };
  size: number;
  /** Original image paths by index (for messages and outputs). */
  paths: string[];
  splits?: Record<string, string[]>;
  /** Items left out: parse/check errors of the reader plus images that failed to decode. */
  skipped: number;
  missingImages: number;
  errors: string[];
  notes: string[];
}

export interface PrepareOptions {
  size: number;
  strict?: boolean;
  /** Keep only this named split (e.g. ISBI 2015 'train', 'test1'). */
  split?: string;
  limit?: number;
  quiet?: boolean;
}

/**
 * Reads a data set, decodes every image once and keeps a pre-resized working copy. A bad item
 * (reader error or undecodable image) is reported and skipped, or thrown with --strict.
 */
export function prepareData(spec: string, opts: PrepareOptions): PreparedData {
  const ds: LandmarkDataset = readDataset(spec, { ...(opts.strict ? { strict: true } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) });
  const report = ds.report ?? { skipped: 0, errors: [], missingImages: 0, notes: [] };
  const errors = report.errors.map((e) => e.message);
  let skipped = report.skipped;
  let items = ds.items;
  if (opts.split) {
    const ids = ds.splits?.[opts.split];
    if (!ids) throw new UsageError(`data ${spec} has no split '${opts.split}'${ds.splits ? ` (it has ${Object.keys(ds.splits).join(', ')})` : ' (it defines no splits)'}`);
    const keep = new Set(ids);
    items = items.filter((it) => keep.has(it.id));
  }
  const loaded: SetItem[] = [];
  const paths: string[] = [];
  const t0 = performance.now();
  let lastReport = t0;
  for (const [i, it] of items.entries()) {
    try {
      const image = loadItemImage(it);
      if (it.points.length !== ds.k) throw new DataError(it.imagePath, undefined, `${it.points.length} landmarks, the data set has ${ds.k}`);
      loaded.push({ id: it.id, image, points: it.points, mmPerPixel: it.mmPerPixel });
      paths.push(it.imagePath);
    } catch (e) {
      if (!(e instanceof DataError) || opts.strict) throw e;
      skipped++;
      errors.push(e.message);
      if (!opts.quiet) log(`skipped: ${e.message}`);
    }
    if (!opts.quiet && performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      log(`loading images: ${i + 1}/${items.length}`);
    }
  }
  // Keep the cache small: decoded originals are dropped after resizing (loaded[] goes out of scope).
  const set = buildSet(loaded, opts.size) as LandmarkSet & { ids: string[] };
  if (!opts.quiet) {
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    log(`data ${spec}: ${set.images.length} images, K=${ds.k}, errors in ${ds.unit}${opts.split ? `, split ${opts.split}` : ''} (${secs}s to load)` +
      (skipped ? `; ${skipped} bad item(s) skipped` : '') + (report.missingImages ? `; ${report.missingImages} labelled row(s) without an image` : ''));
    for (const e of report.errors.slice(0, 5)) log(`  skipped: ${e.message}`);
    if (report.errors.length > 5) log(`  … and ${report.errors.length - 5} more`);
  }
  if (set.images.length === 0) throw new DataError(spec, undefined, `no usable images${skipped ? ` (${skipped} skipped: ${errors[0]})` : ''}`);
  const out: PreparedData = {
    spec, name: ds.name, k: ds.k, unit: ds.unit, set, size: opts.size, paths, skipped, missingImages: report.missingImages, errors, notes: report.notes,
  };
  if (ds.landmarkNames) out.landmarkNames = ds.landmarkNames;
  if (ds.splits) out.splits = ds.splits;
  return out;
}

/** A prepared data set restricted to the given indices. */
export function selectData(d: PreparedData, idx: readonly number[]): PreparedData {
  return { ...d, set: subset(d.set, idx) as LandmarkSet & { ids: string[] }, paths: idx.map((i) => d.paths[i]!) };
}

// ------------------------------------------------------------------------------ settings

export interface TrainConfig {
  data: string;
  split?: string;
  /** 'imagenet' | 'scratch' | path of a checkpoint or weight file. */
  init: string;
  /** ImageNet weight file (default: found under weights/). */
  weights?: string;
  /** With --init CKPT: a new segmentation head when K differs. */
  resetHead: boolean;
  size: number;
  batch: number;
  accum: number;
  epochs: number;
  lr: number;
  weightDecay: number;
  sigma: number;
  loss: LossName;
  targetScale: number;
  valSplit: number;
  seed: number;
  out: string;
  patience: number;
  earlyStop: number;
  augment: boolean;
  strict: boolean;
  widths?: number[];
  decoder?: number[];
  decode: 'argmax' | 'blob';
  limit?: number;
}

const INT_KEYS = ['size', 'batch', 'accum', 'epochs', 'seed', 'patience', 'earlyStop', 'limit'] as const;

function parseList(s: string, what: string, n: number): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== n || !v.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`--${what} needs ${n} positive integers separated by commas, got '${s}'`);
  return v;
}

/** Checks a config; throws UsageError naming the bad option. */
export function validateConfig(c: TrainConfig): void {
  for (const k of INT_KEYS) {
    const v = c[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1)) throw new UsageError(`--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)} must be a ${k === 'seed' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  if (c.size % 32 !== 0) throw new UsageError(`--size must be a multiple of 32 (the encoder halves it five times), got ${c.size}`);
  for (const [k, v] of [['lr', c.lr], ['sigma', c.sigma], ['target-scale', c.targetScale]] as const) if (!(v > 0 && Number.isFinite(v))) throw new UsageError(`--${k} must be a positive number, got ${v}`);
  if (!(c.weightDecay >= 0)) throw new UsageError(`--weight-decay must be ≥ 0, got ${c.weightDecay}`);
  if (!(c.valSplit >= 0 && c.valSplit < 1)) throw new UsageError(`--val-split must be in [0, 1), got ${c.valSplit}`);
  if (!['mse', 'bce', 'softmax_ce'].includes(c.loss)) throw new UsageError(`--loss must be mse, bce or softmax_ce, got ${c.loss}`);
  if (!['argmax', 'blob'].includes(c.decode)) throw new UsageError(`--decode must be argmax or blob, got ${c.decode}`);
}

export const IMAGENET_CANDIDATES = ['weights/vgg19-imagenet-1ch.safetensors', 'weights/vgg19-imagenet.safetensors'];
const IMAGENET_CANDIDATES_TEXT = IMAGENET_CANDIDATES.join(', ');

const SIZE_CHECK = checks.inputSize();

/** `--init`: imagenet, scratch, or a file that exists (checked before a GPU is acquired). */
const checkInit: Check = (v, flag) => {
  if (v === 'imagenet' || v === 'scratch' || existsSync(v)) return;
  throw new UsageError(`--${flag} ${v}: no such file; expected imagenet, scratch, or a checkpoint / weight file${didYouMean(v, ['imagenet', 'scratch'])}`);
};

/**
 * The training recipe's options, shared by `osteo train` and `osteo experiment`. No parseArgs
 * defaults: a resumed run tells the flags given from the defaults (withDefaults applies them).
 */
export const RECIPE_OPTIONS = defineOptions({
  size: { type: 'string', value: 'N', defaultText: '256', description: 'model input size in pixels (images are resized to N x N), a multiple of 32', check: SIZE_CHECK },
  batch: { type: 'string', value: 'N', defaultText: '4', description: 'images per step', check: checks.int(1) },
  accum: { type: 'string', value: 'N', defaultText: '4', description: 'steps whose gradients add up to one update (effective batch = batch × accum)', check: checks.int(1) },
  epochs: { type: 'string', value: 'N', defaultText: '200', description: 'most epochs (early stopping may end the run sooner)', check: checks.int(1) },
  lr: { type: 'string', value: 'LR', defaultText: '1e-5 (1e-4 with --init scratch)', description: 'AdamW learning rate', check: checks.number({ above: 0 }) },
  'weight-decay': { type: 'string', value: 'WD', defaultText: '1e-4', description: 'AdamW weight decay', check: checks.number({ min: 0 }) },
  sigma: { type: 'string', value: 'PX', defaultText: '5 at --size 256, scaled with the size (at least 1.5)', description: 'σ of the Gaussian target heatmaps, in model pixels', check: checks.number({ above: 0 }) },
  loss: { type: 'string', value: 'mse|bce|softmax_ce', defaultText: 'mse', description: 'heatmap loss', check: checks.oneOf(['mse', 'bce', 'softmax_ce']) },
  'target-scale': { type: 'string', value: 'X', defaultText: '1', description: 'multiplies the target heatmaps (MSE on small Gaussians learns faster with a larger peak)', check: checks.number({ above: 0 }) },
  'val-split': { type: 'string', value: 'F', defaultText: '0.2', description: 'fraction of the training items held out for validation, in [0, 1) (0: none; the metric is then the training loss)', check: checks.number({ min: 0, below: 1 }) },
  patience: { type: 'string', value: 'N', defaultText: '13', description: 'ReduceLROnPlateau: halve the learning rate after N epochs without a better validation MRE', check: checks.int(1) },
  'early-stop': { type: 'string', value: 'N', defaultText: '27', description: 'stop after N epochs without a better validation MRE', check: checks.int(1) },
  'no-augment': { type: 'boolean', description: 'train without the shift / scale / rotation / intensity augmentation' },
  decode: { type: 'string', value: 'argmax|blob', defaultText: 'argmax', description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around the peak (the paper authors\' way)', check: checks.oneOf(['argmax', 'blob']) },
  widths: { type: 'string', value: 'W1,…,W16', defaultText: `VGG19's ${VGG19_WIDTHS.join(',')}`, description: 'channels of the 16 VGG19 convs (narrow models for tests and the CPU fallback; ImageNet weights need the default)', check: checks.intList({ count: 16 }) },
  decoder: { type: 'string', value: 'D1,…,D5', defaultText: UNETPP_DECODER_CHANNELS.join(','), description: 'channels of the 5 U-Net++ decoder stages', check: checks.intList({ count: 5 }) },
  weights: { type: 'string', value: 'FILE', defaultText: `the first of ${IMAGENET_CANDIDATES_TEXT}, weights/vgg19-imagenet*.safetensors`, description: 'ImageNet VGG19 weights for the imagenet init (osteo weights fetch writes them)', check: checks.exists('file') },
  strict: { type: 'boolean', description: 'stop at the first bad item of the data (unreadable image, bad row) instead of skipping and counting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every item', description: 'use at most N items of each data set (sorted by id)', check: checks.int(1) },
  software: SOFTWARE_OPTION,
});

export const TRAIN_OPTIONS = defineOptions({
  data: { type: 'string', value: 'SPEC', required: true, description: 'landmark data to train on (not with --resume); see data specs below', check: checks.dataSpec() },
  split: { type: 'string', value: 'NAME', defaultText: "'train' when the data defines splits (ISBI 2015: train, test1, test2), else every item", description: 'train on this named split of the data' },
  init: { type: 'string', value: 'imagenet|scratch|CKPT', defaultText: 'imagenet', description: 'ImageNet VGG19 encoder, random (PyTorch-style) initialisation, or an osteo checkpoint / weight file (smp U-Net++, VGG19)', check: checkInit },
  'reset-head': { type: 'boolean', description: 'with --init CKPT for another landmark count: keep everything but the segmentation head, start a new head' },
  seed: { type: 'string', value: 'N', defaultText: '1', description: 'seed of new layers, the validation split, the data order and the augmentation', check: checks.int(0) },
  out: { type: 'string', value: 'DIR', defaultText: 'runs/train', description: 'run folder: checkpoint-last.safetensors (every epoch), checkpoint-best.safetensors, metrics.json', check: checks.writableDir() },
  resume: { type: 'boolean', description: 'continue the interrupted run in --out from its checkpoint-last, with its settings' },
  ...RECIPE_OPTIONS,
});

type Flags = Partial<Record<keyof typeof TRAIN_OPTIONS, string | boolean>>;

/** Only the options given on the command line, as config fields. */
function explicitConfig(v: Flags): Partial<TrainConfig> {
  const num = (k: keyof typeof TRAIN_OPTIONS): number | undefined => {
    const s = v[k];
    if (s === undefined) return undefined;
    const n = Number(s);
    if (typeof s !== 'string' || s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${k} expects a number, got '${String(s)}'`);
    return n;
  };
  const c: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, x: TrainConfig[K] | undefined) => {
    if (x !== undefined) c[k] = x;
  };
  set('data', v.data as string | undefined);
  set('split', v.split as string | undefined);
  set('init', v.init as string | undefined);
  set('weights', v.weights as string | undefined);
  if (v['reset-head']) c.resetHead = true;
  set('size', num('size'));
  set('batch', num('batch'));
  set('accum', num('accum'));
  set('epochs', num('epochs'));
  set('lr', num('lr'));
  set('weightDecay', num('weight-decay'));
  set('sigma', num('sigma'));
  set('loss', v.loss as LossName | undefined);
  set('targetScale', num('target-scale'));
  set('valSplit', num('val-split'));
  set('seed', num('seed'));
  set('out', v.out as string | undefined);
  set('patience', num('patience'));
  set('earlyStop', num('early-stop'));
  if (v['no-augment']) c.augment = false;
  if (v.strict) c.strict = true;
  if (typeof v.widths === 'string') c.widths = parseList(v.widths, 'widths', 16);
  if (typeof v.decoder === 'string') c.decoder = parseList(v.decoder, 'decoder', 5);
  set('decode', v.decode as 'argmax' | 'blob' | undefined);
  set('limit', num('limit'));
  return c;
}

/** Defaults that depend on other settings (lr on the init, σ on the size). */
export function withDefaults(c: Partial<TrainConfig> & { data: string; init: string }): TrainConfig {
  const size = c.size ?? 256;
  const full: TrainConfig = {
    resetHead: false,
    size,
    batch: 4,
    accum: 4,
    epochs: 200,
    lr: c.init === 'scratch' ? 1e-4 : 1e-5,
    weightDecay: 1e-4,
    sigma: Math.max(1.5, (5 * size) / 256),
    loss: 'mse',
    targetScale: 1,
    valSplit: 0.2,
    seed: 1,
    out: 'runs/train',
    patience: 13,
    earlyStop: 27,
    augment: true,
    strict: false,
    decode: 'argmax',
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

// ------------------------------------------------------------------------------ init


/** The ImageNet VGG19 file to use: the given one, or the first of weights/vgg19-imagenet*.safetensors. */
export function findImagenetWeights(given?: string): string {
  if (given) {
    if (!existsSync(given)) throw new MissingWeightsError(`ImageNet weights ${given} not found`);
    return given;
  }
  const found = IMAGENET_CANDIDATES.find((f) => existsSync(f));
  if (found) return found;
  const other = existsSync('weights') ? readdirSync('weights').filter((f) => /^vgg19-imagenet.*\.safetensors$/.test(f)).sort() : [];
  if (other.length) return join('weights', other[0]!);
  throw new MissingWeightsError(
    `ImageNet VGG19 weights not found (looked for ${IMAGENET_CANDIDATES.join(', ')} and weights/vgg19-imagenet*.safetensors under ${resolve('.')}). ` +
      'Run `osteo weights fetch` (downloads and converts them; needs internet), or download them by hand and run ' +
      '`osteo weights convert FILE --channels 1`, or pass --weights FILE; or train with --init scratch.',
  );
}

export interface Normalisation {
  name: string;
  mean: number;
  std: number;
}

/** The grey torchvision normalisation: scratch runs use it too, so arms differ only in their weights. */
export const DEFAULT_NORMALISATION: Normalisation = (() => {
  const g = grayNormalization(TORCHVISION_NORMALIZATION);
  return { name: g.name, mean: g.mean[0]!, std: g.std[0]! };
})();

/** Loads the VGG19 encoder of an ImageNet file into `model` (first conv summed to 1 channel when needed). */
export async function loadImagenetEncoder(model: UnetPlusPlus, file: string): Promise<{ tensors: number; normalisation: Normalisation; describe: string }> {
  const loaded = await readWeightsFile(file, { spec: { widths: model.config.widths } });
  const bad = [...loaded.report.missing.filter((n) => n.startsWith('encoder.')), ...loaded.report.mismatched.map((m) => `${m.name} (file [${m.got.join(', ')}], model [${m.expected.join(', ')}])`)];
  if (bad.length) {
    throw new MissingWeightsError(`${file} does not fit this model's VGG19 encoder (widths ${model.config.widths.join(',')}): ${bad.slice(0, 4).join('; ')}${bad.length > 4 ? '; …' : ''}`);
  }
  const tensors = loaded.tensors.get('encoder.features.0.weight')?.shape[1] === 3 && model.config.inChannels === 1 ? toSingleChannel(loaded.tensors) : loaded.tensors;
  let n = 0;
  for (const [name, t] of tensors) {
    if (!name.startsWith('encoder.')) continue;
    model.params.load(name, t.data);
    n++;
  }
  if (n === 0) throw new MissingWeightsError(`${file} holds no VGG19 encoder tensors`);
  const norm = grayNormalization(normalizationFromMetadata(loaded.metadata, file));
  const normalisation = { name: norm.name, mean: norm.mean[0]!, std: norm.std[0]! };
  return { tensors: n, normalisation, describe: `imagenet (${file}: ${n} encoder tensors from ${loaded.metadata.source_format ?? loaded.format}; normalisation ${norm.name}, mean ${normalisation.mean.toFixed(3)}, std ${normalisation.std.toFixed(3)})` };
}

export interface InitResult {
  model: UnetPlusPlus;
  normalisation: Normalisation;
  /** One line: which init was used. */
  describe: string;
  kind: 'imagenet' | 'scratch' | 'checkpoint' | 'weights';
  /** The checkpoint's settings (init from an osteo checkpoint). */
  from?: Checkpoint;
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Builds the model and applies the init (imagenet | scratch | checkpoint / weight file). */
export async function initModel(engine: Engine, c: TrainConfig, k: number, dataSpec: string): Promise<InitResult> {
  const widths = c.widths ?? [...VGG19_WIDTHS];
  const decoder = c.decoder ?? [...UNETPP_DECODER_CHANNELS];
  const fresh = (classes: number, w = widths, d = decoder): UnetPlusPlus => {
    const m = new UnetPlusPlus(engine, { classes, inChannels: 1, widths: w, decoderChannels: d });
    initializeUnetPP(m, c.seed);
    return m;
  };
  if (c.init === 'scratch') {
    return { model: fresh(k), normalisation: DEFAULT_NORMALISATION, describe: `scratch (random PyTorch-style initialisation, seed ${c.seed})`, kind: 'scratch' };
  }
  if (c.init === 'imagenet') {
    const file = findImagenetWeights(c.weights);
    const model = fresh(k);
    try {
      const r = await loadImagenetEncoder(model, file);
      return { model, normalisation: r.normalisation, describe: r.describe, kind: 'imagenet' };
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  // A file: an osteo checkpoint, or any weight file the readers know (smp UnetPlusPlus, VGG19).
  const file = c.init;
  if (!existsSync(file)) throw new UsageError(`--init ${file}: no such file (expected imagenet, scratch, or a checkpoint / weight file)`);
  let ck: Checkpoint | undefined;
  try {
    ck = await loadCheckpoint(file);
  } catch (e) {
    if (!(e instanceof CheckpointError) || !/not an osteo training checkpoint/.test(e.message)) throw e;
  }
  if (ck) {
    if (c.widths && !sameList(c.widths, ck.model.widths)) throw new UsageError(`--widths ${c.widths.join(',')} differs from the checkpoint's ${ck.model.widths.join(',')} (${file})`);
    if (c.decoder && !sameList(c.decoder, ck.model.decoderChannels)) throw new UsageError(`--decoder ${c.decoder.join(',')} differs from the checkpoint's ${ck.model.decoderChannels.join(',')} (${file})`);
    if (ck.model.classes !== k && !c.resetHead) {
      throw new LandmarkCountError(`checkpoint ${file} predicts K=${ck.model.classes} landmarks, data ${dataSpec} has K=${k}; pass --reset-head to fine-tune it with a new head for ${k} landmarks`);
    }
    let model: UnetPlusPlus;
    if (ck.model.classes === k) model = modelFromCheckpoint(engine, ck);
    else {
      model = fresh(k, ck.model.widths, ck.model.decoderChannels);
      for (const [name, data] of ck.tensors) if (!name.startsWith('segmentation_head.') && model.params.has(name)) model.params.load(name, data);
    }
    const n = ck.train.normalization;
    const head = ck.model.classes === k ? '' : `; new head for K=${k} (checkpoint had K=${ck.model.classes})`;
    return { model, normalisation: { name: n.name, mean: n.mean, std: n.std }, describe: `checkpoint ${file} (epoch ${ck.state.epoch}, best validation MRE ${fmt(ck.state.bestMetric)}${head})`, kind: 'checkpoint', from: ck };
  }
  const loaded = await readWeightsFile(file, { spec: { widths }, decoderChannels: decoder });
  const classes = loaded.tensors.get('segmentation_head.0.weight')?.shape[0];
  if (classes !== undefined && classes !== k && !c.resetHead) {
    throw new LandmarkCountError(`weights ${file} predict K=${classes} landmarks, data ${dataSpec} has K=${k}; pass --reset-head to use them with a new head`);
  }
  const bad = loaded.report.mismatched.map((m) => `${m.name} (file [${m.got.join(', ')}], model [${m.expected.join(', ')}])`);
  if (bad.length) throw new UsageError(`${file} does not fit this model (widths ${widths.join(',')}, decoder ${decoder.join(',')}): ${bad.slice(0, 3).join('; ')}`);
  const model = fresh(k);
  const tensors = loaded.tensors.get('encoder.features.0.weight')?.shape[1] === 3 ? toSingleChannel(loaded.tensors) : loaded.tensors;
  let count = 0;
  for (const [name, t] of tensors) {
    if (name.startsWith('segmentation_head.') && classes !== k) continue;
    if (!model.params.has(name)) continue;
    model.params.load(name, t.data);
    count++;
  }
  const norm = grayNormalization(normalizationFromMetadata(loaded.metadata, file));
  return { model, normalisation: { name: norm.name, mean: norm.mean[0]!, std: norm.std[0]! }, describe: `weights ${file} (${count} tensors, ${loaded.format})`, kind: 'weights' };
}

/** 75 → '1m15s', 4000 → '1h06m'. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

// ------------------------------------------------------------------------------ training loop

export interface TrainResult {
  out: string;
  init: string;
  initKind: InitResult['kind'];
  epochs: number;
  bestEpoch: number;
  bestMetric: number | null;
  unit: 'mm' | 'px';
  history: EpochRecord[];
  finished: string;
  lastCheckpoint: string;
  bestCheckpoint: string;
  trainImages: number;
  valImages: number;
  skipped: number;
  seconds: number;
}

export interface RunHooks {
  /** Preloaded data (at the config's size): skips reading. */
  data?: PreparedData;
  /** Train only on these item ids of the data (the rest is not used). */
  ids?: readonly string[];
  /** Called after every step (tests throw here to simulate a crash). */
  onStep?: (s: StepInfo) => void;
  /** No progress bar / per-epoch lines. */
  quiet?: boolean;
  /** Prefix for log lines (experiment arms). */
  tag?: string;
  /** Resume from OUT/checkpoint-last.safetensors (its settings are used). */
  resume?: Checkpoint;
  /** Extra fields recorded in the checkpoints' run settings. */
  runExtra?: Record<string, unknown>;
}

/** Builds the progress display: cli-progress on a TTY, nothing otherwise (epoch lines are always printed). */
async function progressBar(enabled: boolean): Promise<{ start: (total: number, epoch: number, epochs: number) => void; update: (v: number, p: Record<string, string>) => void; stop: () => void }> {
  if (!enabled || !process.stderr.isTTY) return { start: () => {}, update: () => {}, stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {ep} [{bar}] {value}/{total} steps | loss {loss} | lr {lr} | {ips} img/s | epoch ETA {eta_formatted} | run ETA {run}',
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start: (total, epoch, epochs) => {
      bar.start(total, 0, { ep: `${epoch}/${epochs}`, loss: '-', lr: '-', ips: '-', run: '-' });
      running = true;
    },
    update: (v, p) => bar.update(v, p),
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}

/**
 * Trains one model according to `c`, writing checkpoints and metrics.json into c.out. Returns
 * the run's summary. Throws on bad settings, missing weights, K mismatch or data errors.
 */
export async function runTraining(engine: Engine, c: TrainConfig, hooks: RunHooks = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const out = resolve(c.out);
  const say = hooks.quiet ? () => {} : (s: string) => log(hooks.tag ? `[${hooks.tag}] ${s}` : s);
  let data = hooks.data ?? prepareData(c.data, { size: c.size, strict: c.strict, ...(c.split ? { split: c.split } : {}), ...(c.limit !== undefined ? { limit: c.limit } : {}), quiet: !!hooks.quiet });
  if (data.size !== c.size) throw new RangeError(`prepared data is at ${data.size} px, the run needs ${c.size}`);
  if (hooks.ids) {
    const want = new Set(hooks.ids);
    data = selectData(data, data.set.ids.flatMap((id, i) => (want.has(id) ? [i] : [])));
    if (data.set.images.length === 0) throw new DataError(c.data, undefined, 'none of the requested items is in the data set');
  }
  const split = splitTrainVal(data.set.images.length, c.valSplit, c.seed);
  const train = subset(data.set, split.train);
  const val = subset(data.set, split.val);

  const resume = hooks.resume;
  let init: InitResult;
  if (resume) {
    if (resume.model.classes !== data.k) throw new LandmarkCountError(`checkpoint ${resume.path} predicts K=${resume.model.classes} landmarks, data ${c.data} has K=${data.k}`);
    const n = resume.train.normalization;
    const run = resume.train.run as { initDescribe?: string; initKind?: InitResult['kind'] } | undefined;
    init = { model: modelFromCheckpoint(engine, resume), normalisation: { name: n.name, mean: n.mean, std: n.std }, describe: run?.initDescribe ?? 'resumed', kind: run?.initKind ?? 'checkpoint' };
  } else {
    init = await initModel(engine, c, data.k, c.data);
  }
  const model = init.model;
  let trainer: LandmarkTrainer | undefined;
  try {
    say(`init: ${init.describe}${resume ? ` — resuming ${resume.path} after epoch ${resume.state.epoch}` : ''}`);
    say(`model: U-Net++/VGG19${c.widths ? ` (widths ${c.widths.join(',')})` : ''}, ${model.parameterCount.toLocaleString()} parameters, ${c.size}x${c.size}, K=${data.k}; ` +
      `train ${train.images.length} / val ${val.images.length} images; batch ${c.batch} x accum ${c.accum}, lr ${c.lr}, loss ${c.loss}, σ ${c.sigma}`);
    trainer = new LandmarkTrainer(engine, model, {
      size: c.size,
      batch: c.batch,
      accum: c.accum,
      lr: c.lr,
      weightDecay: c.weightDecay,
      sigma: c.sigma,
      loss: c.loss,
      targetScale: c.targetScale,
      mean: init.normalisation.mean,
      std: init.normalisation.std,
      seed: c.seed,
      augment: c.augment ? {} : false,
      decode: { method: c.decode },
    });
    const plateau = resume?.state.plateau ? ReduceLROnPlateau.fromJSON(resume.state.plateau) : new ReduceLROnPlateau(c.lr, { factor: 0.5, patience: c.patience });
    const early = resume?.state.early ? EarlyStopping.fromJSON(resume.state.early) : new EarlyStopping(c.earlyStop);
    if (resume?.optimizer) trainer.optimizer.loadState(resume.optimizer);
    trainer.optimizer.lr = plateau.lr;
    const history: EpochRecord[] = resume ? [...resume.state.history] : [];
    let epoch = resume?.state.epoch ?? 0;
    let bestMetric: number | null = resume?.state.bestMetric ?? null;
    let bestEpoch = resume?.state.bestEpoch ?? 0;
    let finished = resume?.state.finished === 'early-stop' ? 'early-stop' : '';
    const settings: TrainSettings = {
      size: c.size,
      sigma: c.sigma,
      loss: c.loss,
      targetScale: c.targetScale,
      normalization: init.normalisation,
      decode: c.decode,
      unit: data.unit,
      run: { ...c, initDescribe: init.describe, initKind: init.kind, k: data.k, ...(hooks.runExtra ?? {}) },
    };
    if (data.landmarkNames) settings.landmarkNames = data.landmarkNames;
    const lastPath = join(out, CHECKPOINT_LAST);
    const bestPath = join(out, CHECKPOINT_BEST);
    const metricsPath = join(out, 'metrics.json');
    const bar = await progressBar(!hooks.quiet);
    const writeMetrics = async () => {
      const doc = {
        out, data: { spec: c.data, name: data.name, k: data.k, unit: data.unit, train: train.images.length, val: val.images.length, skipped: data.skipped, errors: data.errors.slice(0, 50) },
        init: init.describe, initKind: init.kind, device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback,
        config: c, epochs: epoch, best: { epoch: bestEpoch, metric: bestMetric, unit: data.unit }, finished: finished || null, history,
      };
      await writeFileAtomic(metricsPath, new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`));
    };
    let evalSecs = 0;
    if (finished) say(`training already finished (${finished} after epoch ${epoch}); nothing to do`);
    while (!finished && epoch < c.epochs) {
      const te = performance.now();
      let ips = 0;
      const lrNow = trainer.optimizer.lr;
      bar.start(Math.max(1, Math.floor(train.images.length / c.batch)), epoch + 1, c.epochs);
      let trainLoss: number;
      try {
        trainLoss = await trainer.trainEpoch(train, epoch, (s) => {
          ips = s.imagesPerSecond;
          // Whole-run estimate: this epoch's pace (plus validation, as measured so far) for the epochs left.
          const elapsed = (performance.now() - te) / 1000;
          const epochSecs = (elapsed / s.step) * s.steps + evalSecs;
          const run = epochSecs - elapsed + epochSecs * (c.epochs - epoch - 1);
          bar.update(s.step, { loss: s.loss.toFixed(5), lr: lrNow.toExponential(2), ips: s.imagesPerSecond.toFixed(1), run: duration(run) });
          hooks.onStep?.(s);
        });
      } finally {
        bar.stop();
      }
      if (!Number.isFinite(trainLoss)) throw new OsteoError(`training diverged in epoch ${epoch + 1} (loss ${trainLoss}); lower --lr (now ${lrNow})`);
      let valMre = trainLoss;
      let valStd = 0;
      let valSdrPercent: Record<string, number> = {};
      if (val.images.length) {
        const tv = performance.now();
        const ev = (await trainer.evaluate(val, { keepHeatmaps: 0 })).evaluation;
        evalSecs = (performance.now() - tv) / 1000;
        valMre = ev.overall.mre;
        valStd = ev.overall.std;
        valSdrPercent = statsJson(ev.overall, ev.unit, ev.thresholds).sdrPercent;
      }
      epoch++;
      plateau.step(valMre);
      early.step(valMre);
      trainer.optimizer.lr = plateau.lr;
      const improved = early.improved;
      if (improved) {
        bestMetric = valMre;
        bestEpoch = epoch;
      }
      const rec: EpochRecord = {
        epoch, trainLoss, valMre, valStd, valSdrPercent, unit: data.unit, lr: lrNow,
        seconds: (performance.now() - te) / 1000, imagesPerSecond: ips, best: improved,
      };
      history.push(rec);
      if (early.shouldStop) finished = 'early-stop';
      else if (epoch >= c.epochs) finished = 'epochs';
      const state = (): TrainingState => ({
        epoch, bestMetric, bestEpoch, plateau: plateau.toJSON(), early: early.toJSON(), history, ...(finished ? { finished } : {}),
      });
      if (improved) await saveCheckpoint(bestPath, model, { train: settings, state: state() });
      await saveCheckpoint(lastPath, model, { train: settings, state: state(), optimizer: await trainer.optimizer.state() });
      await writeMetrics();
      say(`epoch ${epoch}/${c.epochs}: loss ${trainLoss.toFixed(5)}, val MRE ${val.images.length ? `${fmt(valMre)} ± ${fmt(valStd)} ${data.unit}` : 'n/a (no validation split; metric = training loss)'}` +
        `, lr ${lrNow.toExponential(2)}${plateau.lr !== lrNow ? ` → ${plateau.lr.toExponential(2)}` : ''}, ${rec.seconds.toFixed(1)}s${improved ? ' (best)' : ''}`);
    }
    if (finished === 'early-stop') say(`early stop: no improvement for ${c.earlyStop} epochs (best ${fmt(bestMetric)} ${data.unit} at epoch ${bestEpoch})`);
    if (!existsSync(metricsPath)) await writeMetrics();
    return {
      out, init: init.describe, initKind: init.kind, epochs: epoch, bestEpoch, bestMetric, unit: data.unit, history, finished: finished || 'epochs',
      lastCheckpoint: lastPath, bestCheckpoint: bestPath, trainImages: train.images.length, valImages: val.images.length, skipped: data.skipped,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}

// ------------------------------------------------------------------------------ command

/** Settings a resumed run keeps from its checkpoint (changing them would change the run). */
const RESUME_FIXED: (keyof TrainConfig)[] = ['data', 'split', 'init', 'size', 'batch', 'accum', 'loss', 'sigma', 'seed', 'valSplit', 'widths', 'decoder', 'targetScale', 'limit'];

export async function trainMain(argv: string[], hooks: Omit<RunHooks, 'resume'> = {}): Promise<TrainResult> {
  const { values } = parseOptions(TRAIN_OPTIONS, argv);
  const explicit = explicitConfig(values as Flags);
  let config: TrainConfig;
  let resume: Checkpoint | undefined;
  if (values.resume) {
    const out = explicit.out ?? 'runs/train';
    const last = join(out, CHECKPOINT_LAST);
    if (!existsSync(last)) throw new UsageError(`--resume: nothing to resume in ${out} (no ${CHECKPOINT_LAST}); start the run without --resume`);
    resume = await loadCheckpoint(last);
    const saved = resume.train.run as Partial<TrainConfig> | undefined;
    if (!saved?.data || !saved.init) throw new CheckpointError(`${last}: the checkpoint does not record its run settings; cannot resume`);
    for (const k of RESUME_FIXED) {
      const a = explicit[k], b = saved[k];
      if (a !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
        throw new UsageError(`--resume: --${String(k).replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)} ${JSON.stringify(a)} differs from the interrupted run's ${JSON.stringify(b)}; resume with the same settings or start a new --out`);
      }
    }
    const keep = Object.fromEntries(Object.entries(saved).filter(([k]) => k in TRAIN_CONFIG_KEYS)) as Partial<TrainConfig>;
    config = withDefaults({ ...keep, ...explicit, out, data: saved.data, init: saved.init });
  } else {
    if (!explicit.data) throw new UsageError('--data SPEC is required (e.g. --data isbi2015:/data/ISBI2015, --data synthetic:hand?n=64)');
    config = withDefaults({ ...explicit, data: explicit.data, init: explicit.init ?? 'imagenet' });
    if (existsSync(join(config.out, CHECKPOINT_LAST)) && !hooks.quiet) {
      log(`note: ${join(config.out, CHECKPOINT_LAST)} exists and will be overwritten; use --resume to continue that run`);
    }
  }
  // Everything that can be checked without a GPU is checked before one is acquired.
  if (!hooks.data) checkSpec(config.data, 'data');
  if (!resume && config.init === 'imagenet') findImagenetWeights(config.weights);
  const software = values.software;
  return withEngine(software, async (engine) => {
    log(`osteo train — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    let data = hooks.data;
    if (!data) {
      data = prepareData(config.data, { size: config.size, strict: config.strict, ...(config.split ? { split: config.split } : {}), ...(config.limit !== undefined ? { limit: config.limit } : {}), quiet: !!hooks.quiet });
      // ISBI 2015 and other sets with a 'train' split train on it unless told otherwise.
      if (!config.split && data.splits?.train) {
        log(`data has a 'train' split (${Object.keys(data.splits).join(', ')}): training on it; pass --split to choose`);
        config.split = 'train';
        const keep = new Set(data.splits.train);
        data = selectData(data, data.set.ids.flatMap((id, i) => (keep.has(id) ? [i] : [])));
      }
    }
    return runTraining(engine, config, { ...hooks, data, ...(resume ? { resume } : {}) });
  });
}

const TRAIN_CONFIG_KEYS: Record<keyof TrainConfig, true> = {
  data: true, split: true, init: true, weights: true, resetHead: true, size: true, batch: true, accum: true, epochs: true, lr: true,
  weightDecay: true, sigma: true, loss: true, targetScale: true, valSplit: true, seed: true, out: true, patience: true, earlyStop: true,
  augment: true, strict: true, widths: true, decoder: true, decode: true, limit: true,
};

export const trainCommand: Command = {
  name: 'train',
  summary: 'train U-Net++/VGG19 on a landmark data set (ImageNet, scratch or checkpoint init); checkpoints, metrics.json, --resume',
  usage: 'osteo train --data SPEC [--init imagenet|scratch|CKPT] [options]\nosteo train --resume [--out DIR]',
  options: TRAIN_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo train --data isbi2015:/data/ISBI2015 --out runs/isbi', what: "fine-tune from ImageNet on ISBI 2015's training split with the paper's recipe (needs osteo weights fetch first)" },
    { command: "osteo train --data 'synthetic:hand?n=64&size=128' --init scratch --size 64 --epochs 5 --out runs/try", what: 'a small run from scratch on generated hand X-rays: no files, no weights needed' },
    { command: 'osteo train --resume --out runs/isbi', what: 'continue that run after an interruption (only the unfinished epoch is lost)' },
  ],
  async run(argv) {
    const r = await trainMain(argv);
    console.log(JSON.stringify({
      out: r.out, init: r.initKind, describe: r.init, epochs: r.epochs, finished: r.finished, bestEpoch: r.bestEpoch,
      bestMre: r.bestMetric === null ? null : round(r.bestMetric), unit: r.unit, train: r.trainImages, val: r.valImages, skipped: r.skipped,
      best: r.bestCheckpoint, last: r.lastCheckpoint, seconds: round(r.seconds),
    }));
    return 0;
  },
};

export const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

/** Points → plain arrays rounded for JSON. */
export const roundPoints = (pts: Point[]): [number, number][] => pts.map(([x, y]) => [round(x, 2), round(y, 2)]);


/**
 * A model's initial weights (host-neutral): random (PyTorch-style), the ImageNet VGG19 encoder,
 * an osteo checkpoint (optionally with a new head for another landmark count), or any U-Net++ /
 * VGG19 weight file the readers know. The host reads the files and hands over an
 * {@link InitSource}; nothing here touches a file system.
 */
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import { grayNormalization, normalizationFromMetadata, partialEncoderLayers, toGreyExact, toSingleChannel, TORCHVISION_NORMALIZATION, UNETPP_DECODER_CHANNELS, VGG19_WIDTHS, type LoadedWeights } from '../weights/index';
import { modelFromCheckpoint, type Checkpoint, type Normalisation } from './checkpoint';
import { ConfigError } from './config';
import { fmt } from './format';

/** ImageNet weights requested but missing, or not fitting the model's encoder. */
export class MissingWeightsError extends OsteoError {}
/** Model and data disagree on the number of landmarks. */
export class LandmarkCountError extends OsteoError {}

/** Where a model's initial weights come from (files already read by the host). */
export type InitSource =
  | { kind: 'scratch' }
  | { kind: 'imagenet'; weights: LoadedWeights; source: string }
  | { kind: 'checkpoint'; checkpoint: Checkpoint }
  | { kind: 'weights'; weights: LoadedWeights; source: string };

/** The grey torchvision normalisation: scratch runs use it too, so arms differ only in their weights. */
export const DEFAULT_NORMALISATION: Normalisation = (() => {
  const g = grayNormalization(TORCHVISION_NORMALIZATION);
  return { name: g.name, mean: g.mean[0]!, std: g.std[0]! };
})();

/** A model and what its init decided. */
export interface InitResult {
  model: UnetPlusPlus;
  normalisation: Normalisation;
  /** One line: which init was used. */
  describe: string;
  kind: 'imagenet' | 'scratch' | 'checkpoint' | 'weights';
  /** The checkpoint's settings (init from an osteo checkpoint). */
  from?: Checkpoint;
  /**
   * ImageNet init: the encoder layers that came from ImageNet, and those a partial file lacked (started from scratch).
   */
  imagenetLayers?: string[];
  scratchLayers?: string[];
}

/**
 * Loads the VGG19 encoder of ImageNet weights (read with `spec: { widths }` of the model) into
 * `model`, the first conv summed to 1 channel when needed. Throws MissingWeightsError when they
 * do not fit.
 */
export function loadImagenetEncoder(model: UnetPlusPlus, loaded: LoadedWeights, source: string): { tensors: number; normalisation: Normalisation; describe: string; imagenetLayers: string[]; scratchLayers: string[] } {
  // A partial copy (later layers could not be obtained) loads what it has; the rest keeps its random init.
  const absent = partialEncoderLayers(loaded) ?? [];
  const bad = [...loaded.report.missing.filter((n) => n.startsWith('encoder.') && !absent.includes(n.replace(/\.(weight|bias)$/, ''))), ...loaded.report.mismatched.map((m) => `${m.name} (file [${m.got.join(', ')}], model [${m.expected.join(', ')}])`)];
  if (bad.length) {
    throw new MissingWeightsError(`${source} does not fit this model's VGG19 encoder (widths ${model.config.widths.join(',')}): ${bad.slice(0, 4).join('; ')}${bad.length > 4 ? '; …' : ''}`);
  }
  // Grey input: the first conv folded exactly (toGreyExact), so it sees a grey X-ray as the source saw it copied into
  // its channels.
  const rgb = loaded.tensors.get('encoder.features.0.weight')?.shape[1] === 3 && model.config.inChannels === 1;
  const tensors = rgb && loaded.tensors.has('encoder.features.0.bias') ? toGreyExact(loaded.tensors, normalizationFromMetadata(loaded.metadata, source)) : rgb ? toSingleChannel(loaded.tensors) : loaded.tensors;
  let n = 0;
  const layers = new Set<string>();
  for (const [name, t] of tensors) {
    if (!name.startsWith('encoder.')) continue;
    model.params.load(name, t.data);
    layers.add(name.replace(/\.(weight|bias)$/, ''));
    n++;
  }
  if (n === 0) throw new MissingWeightsError(`${source} holds no VGG19 encoder tensors`);
  const norm = grayNormalization(normalizationFromMetadata(loaded.metadata, source));
  const normalisation = { name: norm.name, mean: norm.mean[0]!, std: norm.std[0]! };
  const imagenetLayers = [...layers].sort(byLayer);
  const partial = absent.length ? `; PARTIAL: ${imagenetLayers.length} conv layers from ImageNet (${imagenetLayers.join(', ')}), ${absent.length} from scratch (${absent.join(', ')})` : '';
  return {
    tensors: n, normalisation, imagenetLayers, scratchLayers: absent.slice().sort(byLayer),
    describe: `imagenet (${source}: ${n} encoder tensors from ${loaded.metadata.source_format ?? loaded.format}; normalisation ${norm.name}, mean ${normalisation.mean.toFixed(3)}, std ${normalisation.std.toFixed(3)}${partial})`,
  };
}

/** encoder.features.2 before encoder.features.10. */
const byLayer = (a: string, b: string): number => Number(/\d+$/.exec(a)?.[0]) - Number(/\d+$/.exec(b)?.[0]);

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** What initModel needs of a training config. */
export interface InitSettings {
  seed: number;
  resetHead: boolean;
  widths?: number[];
  decoder?: number[];
}

/** Builds the model for `k` landmarks and applies the init. `dataName` names the data in errors. */
export async function initModel(engine: Engine, c: InitSettings, source: InitSource, k: number, dataName: string): Promise<InitResult> {
  const widths = c.widths ?? [...VGG19_WIDTHS];
  const decoder = c.decoder ?? [...UNETPP_DECODER_CHANNELS];
  const fresh = (classes: number, w = widths, d = decoder): UnetPlusPlus => {
    const m = new UnetPlusPlus(engine, { classes, inChannels: 1, widths: w, decoderChannels: d });
    initializeUnetPP(m, c.seed);
    return m;
  };
  if (source.kind === 'scratch') {
    return { model: fresh(k), normalisation: DEFAULT_NORMALISATION, describe: `scratch (random PyTorch-style initialisation, seed ${c.seed})`, kind: 'scratch' };
  }
  if (source.kind === 'imagenet') {
    const model = fresh(k);
    try {
      const r = loadImagenetEncoder(model, source.weights, source.source);
      return { model, normalisation: r.normalisation, describe: r.describe, kind: 'imagenet', imagenetLayers: r.imagenetLayers, scratchLayers: r.scratchLayers };
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  if (source.kind === 'checkpoint') {
    const ck = source.checkpoint;
    const file = ck.path;
    if (c.widths && !sameList(c.widths, ck.model.widths)) throw new ConfigError(`--widths ${c.widths.join(',')} differs from the checkpoint's ${ck.model.widths.join(',')} (${file})`);
    if (c.decoder && !sameList(c.decoder, ck.model.decoderChannels)) throw new ConfigError(`--decoder ${c.decoder.join(',')} differs from the checkpoint's ${ck.model.decoderChannels.join(',')} (${file})`);
    if (ck.model.classes !== k && !c.resetHead) {
      throw new LandmarkCountError(`checkpoint ${file} predicts K=${ck.model.classes} landmarks, data ${dataName} has K=${k}; pass --reset-head to fine-tune it with a new head for ${k} landmarks`);
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
  // Any weight file the readers know (smp UnetPlusPlus, VGG19), read with this model's widths.
  const { weights: loaded, source: file } = source;
  const classes = loaded.tensors.get('segmentation_head.0.weight')?.shape[0];
  if (classes !== undefined && classes !== k && !c.resetHead) {
    throw new LandmarkCountError(`weights ${file} predict K=${classes} landmarks, data ${dataName} has K=${k}; pass --reset-head to use them with a new head`);
  }
  const bad = loaded.report.mismatched.map((m) => `${m.name} (file [${m.got.join(', ')}], model [${m.expected.join(', ')}])`);
  if (bad.length) throw new ConfigError(`${file} does not fit this model (widths ${widths.join(',')}, decoder ${decoder.join(',')}): ${bad.slice(0, 3).join('; ')}`);
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

/**
 * Training checkpoints (Node): the engine's safetensors (smp names, OIHW, f32; BN
 * num_batches_tracked I64) plus
 *   - metadata: the canonical weight keys (architecture `unetplusplus-vgg19`, normalisation,
 *     input channels, classes: so `readWeightsFile` and `osteo weights convert` accept the file
 *     too), and `osteo_checkpoint` = "1", `osteo_model` (classes, widths, decoder channels),
 *     `osteo_train` (input size, σ, loss, decoding, landmark names, the run's settings) and
 *     `osteo_state` (epoch, best metric, optimizer step counts and lr, ReduceLROnPlateau and
 *     EarlyStopping state, metric history) as JSON strings;
 *   - optimizer moments as extra tensors `optim.<kind>.<parameter>` (AdamW: exp_avg, exp_avg_sq).
 * Written atomically (temp file in the same folder, fsync, rename, fsync of the folder): a crash
 * leaves the previous checkpoint intact, never a half-written one under the final name.
 */
import { promises as fsp } from 'node:fs';
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import type { OptimizerState } from '../nn/optim';
import type { EarlyStoppingState, PlateauState } from '../nn/schedule';
import { canonicalMetadata, readSafetensors, WeightFileError, writeSafetensors, type Normalization, type WriteTensor } from '../weights/index';
import { writeFileAtomic } from './weights_io';

export const CHECKPOINT_LAST = 'checkpoint-last.safetensors';
export const CHECKPOINT_BEST = 'checkpoint-best.safetensors';

/** A checkpoint that cannot be used: unreadable, corrupt, truncated, or not a checkpoint. */
export class CheckpointError extends OsteoError {}

export interface ModelConfig {
  classes: number;
  inChannels: 1 | 3;
  widths: number[];
  decoderChannels: number[];
}

/** What inference needs besides the weights (and what a resumed run must keep). */
export interface TrainSettings {
  /** Model input side (square). */
  size: number;
  sigma: number;
  loss: 'mse' | 'bce' | 'softmax_ce';
  targetScale: number;
  /** Input normalisation after min-max to [0, 1]. */
  normalization: { name: string; mean: number; std: number };
  decode: 'argmax' | 'blob';
  landmarkNames?: string[];
  unit?: 'mm' | 'px';
  /** Free-form run settings (data spec, init, batch, lr, seed, …) for resume and provenance. */
  run?: Record<string, unknown>;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valMre: number;
  valStd: number;
  /** Validation SDR in percent, keyed "<radius> <unit>" in increasing radius (e.g. "2.5 mm"). */
  valSdrPercent: Record<string, number>;
  unit: 'mm' | 'px';
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  best: boolean;
}

export interface TrainingState {
  /** Completed epochs. */
  epoch: number;
  bestMetric: number | null;
  bestEpoch: number;
  plateau?: PlateauState;
  early?: EarlyStoppingState;
  history: EpochRecord[];
  /** Optimizer state without its tensors (those are stored as `optim.*` tensors). */
  optimizer?: Omit<OptimizerState, 'tensors'>;
  /** Why training stopped, once it has ('epochs', 'early-stop'). */
  finished?: string;
}

export interface Checkpoint {
  path: string;
  model: ModelConfig;
  train: TrainSettings;
  state: TrainingState;
  /** Model parameters and buffers by smp name. */
  tensors: Map<string, Float32Array>;
  /** Optimizer state with tensors, when the file holds one. */
  optimizer?: OptimizerState;
  metadata: Record<string, string>;
}

const OPTIM_PREFIX = 'optim.';

/** JSON with ±Infinity / NaN kept as strings. */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
}

/**
 * Serialises a checkpoint (model tensors from `ParameterSet.stateDict()`, optimizer from
 * `state()`). `shapeOf` gives each model tensor's shape (flat 1-D when it returns undefined).
 */
export function encodeCheckpoint(args: {
  model: ModelConfig;
  train: TrainSettings;
  state: TrainingState;
  tensors: Map<string, Float32Array>;
  optimizer?: OptimizerState;
  shapeOf?: (name: string) => readonly number[] | undefined;
}): Uint8Array {
  const out = new Map<string, WriteTensor>();
  const shape = (name: string, n: number): readonly number[] => {
    const s = args.shapeOf?.(name);
    return s && s.reduce((a, b) => a * b, 1) === n ? s : [n];
  };
  for (const [name, data] of args.tensors) {
    if (name.endsWith('num_batches_tracked')) out.set(name, { shape: data.length === 1 ? [] : [data.length], data: data.map(Math.round), dtype: 'I64' });
    else out.set(name, { shape: shape(name, data.length), data });
  }
  let optimizer: Omit<OptimizerState, 'tensors'> | undefined;
  if (args.optimizer) {
    const { tensors, ...rest } = args.optimizer;
    optimizer = rest;
    for (const [kind, byName] of Object.entries(tensors)) {
      for (const [name, data] of Object.entries(byName)) out.set(`${OPTIM_PREFIX}${kind}.${name}`, { shape: shape(name, data.length), data });
    }
  }
  const n = args.train.normalization;
  const norm: Normalization = {
    name: n.name === 'caffe-imagenet' ? 'caffe-imagenet' : 'torchvision-imagenet',
    colorOrder: 'GRAY',
    mean: [n.mean],
    std: [n.std],
    description: `grey input min-max scaled to [0,1], then (x - ${n.mean}) / ${n.std}`,
  };
  const state: TrainingState = { ...args.state, ...(optimizer ? { optimizer } : {}) };
  const metadata = canonicalMetadata({
    architecture: 'unetplusplus-vgg19',
    sourceFormat: 'osteo-checkpoint',
    normalization: norm,
    inputChannels: args.model.inChannels,
    extra: {
      classes: String(args.model.classes),
      osteo_checkpoint: '1',
      osteo_model: toJson(args.model),
      osteo_train: toJson(args.train),
      osteo_state: toJson(state),
      epoch: String(args.state.epoch),
      best_metric: String(args.state.bestMetric ?? ''),
      input_size: String(args.train.size),
      loss: args.train.loss,
      sigma: String(args.train.sigma),
    },
  });
  return writeSafetensors(out, metadata);
}

/** Saves model (+ optimizer) state atomically, with the model's tensor shapes. Returns the byte count. */
export async function saveCheckpoint(
  path: string,
  model: UnetPlusPlus,
  args: { train: TrainSettings; state: TrainingState; optimizer?: OptimizerState },
): Promise<number> {
  const tensors = await model.params.stateDict();
  const bytes = encodeCheckpoint({
    model: modelConfigOf(model),
    train: args.train,
    state: args.state,
    tensors,
    ...(args.optimizer ? { optimizer: args.optimizer } : {}),
    shapeOf: (name) => (model.params.has(name) ? model.params.shape(name) : undefined),
  });
  await writeFileAtomic(path, bytes);
  return bytes.byteLength;
}

export function modelConfigOf(model: UnetPlusPlus): ModelConfig {
  const c = model.config;
  return { classes: c.classes, inChannels: c.inChannels, widths: [...c.widths], decoderChannels: [...c.decoderChannels] };
}

function parseJson<T>(md: Record<string, string>, key: string, file: string): T {
  const text = md[key];
  if (text === undefined) throw new CheckpointError(`${file}: metadata ${key} is missing; not an osteo training checkpoint`);
  try {
    return JSON.parse(text, (_k, v: unknown) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v)) as T;
  } catch (e) {
    throw new CheckpointError(`${file}: metadata ${key} is not valid JSON (${(e as Error).message}); the checkpoint is corrupt`);
  }
}

/** True when the bytes' metadata marks an osteo training checkpoint (cheap: header only). */
export function isCheckpointMetadata(md: Record<string, string>): boolean {
  return md.osteo_checkpoint === '1';
}

/** Decodes checkpoint bytes; every problem is a CheckpointError naming the file. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): Checkpoint {
  let st;
  try {
    st = readSafetensors(bytes, { file: path });
  } catch (e) {
    if (e instanceof WeightFileError) {
      throw new CheckpointError(
        `${e.message} — the checkpoint is corrupt or truncated (a copy or write that did not finish?); ` +
          `use the other checkpoint in its folder (checkpoint-best / checkpoint-last) or train again`,
      );
    }
    throw e;
  }
  const md = st.metadata;
  if (!isCheckpointMetadata(md)) {
    throw new CheckpointError(`${path}: not an osteo training checkpoint (no osteo_checkpoint metadata); plain weight files are used with --init FILE or converted with \`osteo weights convert\``);
  }
  const model = parseJson<ModelConfig>(md, 'osteo_model', path);
  const train = parseJson<TrainSettings>(md, 'osteo_train', path);
  const state = parseJson<TrainingState>(md, 'osteo_state', path);
  if (!(Number.isInteger(model.classes) && model.classes > 0) || !Array.isArray(model.widths) || model.widths.length !== 16 || !Array.isArray(model.decoderChannels) || model.decoderChannels.length !== 5) {
    throw new CheckpointError(`${path}: osteo_model metadata is malformed (${md.osteo_model})`);
  }
  if (!(Number.isInteger(train.size) && train.size > 0 && train.size % 32 === 0)) throw new CheckpointError(`${path}: input size ${train.size} in osteo_train is invalid`);
  const tensors = new Map<string, Float32Array>();
  const optTensors: Record<string, Record<string, Float32Array>> = {};
  for (const [name, t] of st.tensors) {
    if (name.startsWith(OPTIM_PREFIX)) {
      const rest = name.slice(OPTIM_PREFIX.length);
      const dot = rest.indexOf('.');
      if (dot <= 0) throw new CheckpointError(`${path}: optimizer tensor ${name} has no state kind`);
      const kind = rest.slice(0, dot);
      (optTensors[kind] ??= {})[rest.slice(dot + 1)] = t.data;
    } else tensors.set(name, t.data);
  }
  const ck: Checkpoint = { path, model, train, state, tensors, metadata: md };
  if (state.optimizer) ck.optimizer = { ...state.optimizer, tensors: optTensors };
  return ck;
}

/** Reads and validates a checkpoint file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** A model built from a checkpoint's config with its weights loaded (strict: every tensor). */
export function modelFromCheckpoint(engine: Engine, ck: Checkpoint): UnetPlusPlus {
  const model = new UnetPlusPlus(engine, {
    classes: ck.model.classes,
    inChannels: ck.model.inChannels,
    widths: ck.model.widths,
    decoderChannels: ck.model.decoderChannels,
  });
  try {
    initializeUnetPP(model, 0);
    const dict = new Map([...ck.tensors].filter(([n]) => model.params.has(n)));
    const missing = [...model.params.names, ...model.params.bufferNames].filter((n) => !n.endsWith('num_batches_tracked') && !dict.has(n));
    if (missing.length) throw new CheckpointError(`${ck.path}: missing ${missing.length} model tensors (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''})`);
    for (const [n, d] of dict) {
      const want = model.params.shape(n).reduce((a, b) => a * b, 1);
      if (d.length !== want) throw new CheckpointError(`${ck.path}: ${n} holds ${d.length} values, the model expects ${want}`);
    }
    model.params.loadStateDict(dict, { strict: false });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

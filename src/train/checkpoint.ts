/**
 * Training checkpoints as bytes (host-neutral; src/node/checkpoint.ts reads and writes files).
 * The file is the engine's safetensors (smp names, OIHW, f32; BN num_batches_tracked I64) plus
 *   - metadata: the canonical weight keys (architecture `unetplusplus-vgg19`, normalisation,
 *     input channels, classes: so weight readers and `osteo weights convert` accept the file too),
 *     and `osteo_checkpoint` = "1", `osteo_model` (classes, widths, decoder channels),
 *     `osteo_train` (input size, σ, loss, decoding, landmark names, the run's settings) and
 *     `osteo_state` (epoch, best metric, optimizer step counts and lr, ReduceLROnPlateau and
 *     EarlyStopping state, metric history) as JSON strings;
 *   - optimizer moments as extra tensors `optim.<kind>.<parameter>` (AdamW: exp_avg, exp_avg_sq; SGD: momentum_buffer);
 *   - a two-stage checkpoint (src/train/refine.ts) also holds the refinement network as tensors
 *     `refine.<smp name>` and its settings as `osteo_refine` (crop, size, σ, normalisation, the
 *     coarse errors it was trained for). The main tensors and `osteo_train` stay the coarse
 *     stage's, so a reader that knows nothing of refinement loads the coarse stage unchanged;
 *   - a calibrated checkpoint (`osteo calibrate`, src/train/calibrate.ts) also holds the guards
 *     of src/train/guards.ts as `osteo_guards`: the shape model of the training annotations, the
 *     peak → expected-error calibration and the orientation check's threshold.
 *
 * Decoding validates every metadata field against a schema (valibot: declarative, small enough
 * for the browser bundle, and its issues carry the path of the bad field), so a corrupt or
 * hand-edited file fails with the file and the field named instead of a NaN deep in training.
 */
import * as v from 'valibot';
import type { Engine } from '../gpu/engine';
import { OsteoError } from '../gpu/errors';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import type { OptimizerState } from '../nn/optim';
import type { EarlyStoppingState, PlateauState } from '../nn/schedule';
import { canonicalMetadata, readSafetensors, WeightFileError, writeSafetensors, type Normalization, type WriteTensor } from '../weights/index';
import { HEATMAP_LOSSES, type DecodeMethod, type LossName } from './config';
import type { GuardModel } from './guards';

/** File name of the checkpoint written after every epoch. */
export const CHECKPOINT_LAST = 'checkpoint-last.safetensors';
/** File name of the checkpoint with the best validation metric so far. */
export const CHECKPOINT_BEST = 'checkpoint-best.safetensors';

/** A checkpoint that cannot be used: unreadable, corrupt, truncated, or not a checkpoint. */
export class CheckpointError extends OsteoError {}

/** The network's shape: what is needed to build it before loading weights. */
export interface ModelConfig {
  /** Number of landmarks (heatmap channels). */
  classes: number;
  /** Input channels (1: grey X-rays). */
  inChannels: 1 | 3;
  /** Channels of the 16 VGG19 convs. */
  widths: number[];
  /** Channels of the 5 U-Net++ decoder stages. */
  decoderChannels: number[];
}

/** Input normalisation after min-max to [0, 1]: `(x - mean) / std`. */
export interface Normalisation {
  name: string;
  mean: number;
  std: number;
}

/** What inference needs besides the weights (and what a resumed run must keep). */
export interface TrainSettings {
  /** Model input side (square). */
  size: number;
  sigma: number;
  loss: LossName;
  targetScale: number;
  /** Input normalisation after min-max to [0, 1]. */
  normalization: Normalisation;
  decode: DecodeMethod;
  landmarkNames?: string[];
  unit?: 'mm' | 'px';
  /** Free-form run settings (data spec, init, batch, lr, seed, …) for resume and provenance. */
  run?: Record<string, unknown>;
}

/** One epoch of a run's history. */
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
  /** Refinement runs: validation MRE when every crop's point is used (no confidence threshold). */
  everyCropRefinedMre?: number;
}

/** Where a run stands: enough to resume it exactly. */
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

/** The refinement stage of a two-stage checkpoint (src/train/refine.ts). */
export interface RefineSettings {
  model: ModelConfig;
  /** Crop side in model pixels. */
  size: number;
  /** Crop side as a fraction of the image's longer side. */
  crop: number;
  sigma: number;
  loss: LossName;
  targetScale: number;
  normalization: Normalisation;
  decode: DecodeMethod;
  /**
   * A refined point whose heatmap peak is below this keeps its coarse position (chosen on validation; absent: always
   * refine).
   */
  minConfidence?: number;
  /**
   * The coarse stage's validation errors the crops were sampled with (MRE in `unit`, RMS per axis relative to the
   * longer side).
   */
  coarseError?: { mre: number; unit: 'mm' | 'px'; sigmaRel: number; n: number };
  /** Free-form run settings, for provenance. */
  run?: Record<string, unknown>;
}

/** A refinement network's settings and weights, as stored in a two-stage checkpoint. */
export interface RefineStage {
  settings: RefineSettings;
  /** Parameters and buffers by smp name (without the `refine.` prefix). */
  tensors: Map<string, Float32Array>;
}

/** A decoded checkpoint. */
export interface Checkpoint {
  /** Where it came from (a path, URL or name), for messages. */
  path: string;
  model: ModelConfig;
  train: TrainSettings;
  state: TrainingState;
  /** Model parameters and buffers by smp name. */
  tensors: Map<string, Float32Array>;
  /** Optimizer state with tensors, when the file holds one. */
  optimizer?: OptimizerState;
  /** The refinement stage, when the file holds two stages. */
  refine?: RefineStage;
  /** Shape model, calibration and orientation threshold (`osteo calibrate`), when the file has them. */
  guards?: GuardModel;
  metadata: Record<string, string>;
}

const OPTIM_PREFIX = 'optim.';
/** Tensor name prefix of the refinement stage. */
export const REFINE_PREFIX = 'refine.';

// ------------------------------------------------------------------------------ schemas

const posInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const nonNegInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const positive = v.pipe(v.number(), v.finite(), v.gtValue(0));
const finite = v.pipe(v.number(), v.finite());
/** Metrics may be ±Infinity / NaN (stored as strings, revived before validation). */
const metric = v.number();
const best = v.union([v.number(), v.string()]);

const ModelSchema = v.object({
  classes: posInt,
  inChannels: v.picklist([1, 3]),
  widths: v.pipe(v.array(posInt), v.length(16, 'must list 16 conv widths')),
  decoderChannels: v.pipe(v.array(posInt), v.length(5, 'must list 5 decoder widths')),
});

const TrainSchema = v.object({
  size: v.pipe(posInt, v.multipleOf(32, 'must be a multiple of 32')),
  sigma: positive,
  loss: v.picklist([...HEATMAP_LOSSES]),
  targetScale: positive,
  normalization: v.object({ name: v.string(), mean: finite, std: v.pipe(v.number(), v.finite(), v.gtValue(0, 'must be > 0 (inputs are divided by it)')) }),
  decode: v.picklist(['argmax', 'blob']),
  landmarkNames: v.optional(v.array(v.string())),
  unit: v.optional(v.picklist(['mm', 'px'])),
  run: v.optional(v.record(v.string(), v.unknown())),
});

const RefineSchema = v.object({
  model: ModelSchema,
  size: v.pipe(posInt, v.multipleOf(32, 'must be a multiple of 32')),
  crop: v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(1)),
  sigma: positive,
  loss: v.picklist([...HEATMAP_LOSSES]),
  targetScale: positive,
  normalization: v.object({ name: v.string(), mean: finite, std: v.pipe(v.number(), v.finite(), v.gtValue(0, 'must be > 0 (inputs are divided by it)')) }),
  decode: v.picklist(['argmax', 'blob']),
  minConfidence: v.optional(v.pipe(v.number(), v.finite())),
  coarseError: v.optional(v.object({ mre: v.number(), unit: v.picklist(['mm', 'px']), sigmaRel: v.pipe(v.number(), v.finite(), v.minValue(0)), n: nonNegInt })),
  run: v.optional(v.record(v.string(), v.unknown())),
});

const pointSchema = v.pipe(v.array(finite), v.length(2));
const GuardsSchema = v.object({
  version: v.literal(1),
  shape: v.optional(v.object({
    mean: v.pipe(v.array(pointSchema), v.minLength(3)),
    spread: v.array(positive),
    n: posInt,
    zLimit: positive,
  })),
  calibration: v.optional(v.object({
    knots: v.pipe(v.array(finite), v.minLength(1)),
    values: v.pipe(v.array(v.pipe(v.number(), v.finite(), v.minValue(0))), v.minLength(1)),
    factor: v.array(positive),
    n: posInt,
    score: v.picklist(['coarse', 'refined', 'both']),
    unit: v.picklist(['mm', 'px']),
    unitPerLongerSide: positive,
    flagAbove: positive,
  })),
  orientation: v.optional(v.object({
    unsureBelow: finite,
    margin: v.pipe(v.number(), v.finite(), v.minValue(0)),
    validation: v.object({ min: finite, median: finite, n: posInt }),
  })),
  provenance: v.optional(v.record(v.string(), v.unknown())),
});

const EpochSchema = v.object({
  epoch: posInt,
  trainLoss: metric,
  valMre: metric,
  valStd: metric,
  valSdrPercent: v.record(v.string(), metric),
  unit: v.picklist(['mm', 'px']),
  lr: v.pipe(v.number(), v.finite(), v.minValue(0)),
  seconds: metric,
  imagesPerSecond: metric,
  best: v.boolean(),
  everyCropRefinedMre: v.optional(metric),
});

const PlateauSchema = v.looseObject({
  type: v.literal('ReduceLROnPlateau'),
  options: v.looseObject({ mode: v.picklist(['min', 'max']), factor: positive, patience: nonNegInt }),
  lr: v.pipe(v.number(), v.finite(), v.minValue(0)),
  best,
  numBadEpochs: nonNegInt,
  cooldownCounter: nonNegInt,
  lastEpoch: v.pipe(v.number(), v.integer()),
});

const EarlySchema = v.looseObject({
  type: v.literal('EarlyStopping'),
  patience: posInt,
  minDelta: v.pipe(v.number(), v.finite(), v.minValue(0)),
  mode: v.picklist(['min', 'max']),
  best,
  bestEpoch: nonNegInt,
  badEpochs: nonNegInt,
  epoch: nonNegInt,
});

const OptimizerSchema = v.object({
  type: v.picklist(['adamw', 'sgd']),
  lr: v.pipe(v.number(), v.finite(), v.minValue(0)),
  stepCount: nonNegInt,
  groups: v.optional(v.array(v.object({ name: v.string(), lrScale: finite }))),
  steps: v.record(v.string(), nonNegInt),
});

const StateSchema = v.object({
  epoch: nonNegInt,
  bestMetric: v.nullable(v.number()),
  bestEpoch: nonNegInt,
  plateau: v.optional(PlateauSchema),
  early: v.optional(EarlySchema),
  history: v.array(EpochSchema),
  optimizer: v.optional(OptimizerSchema),
  finished: v.optional(v.string()),
});

/** JSON with ±Infinity / NaN kept as strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
}

function parseMetadata<S extends v.GenericSchema>(md: Record<string, string>, key: string, file: string, schema: S): v.InferOutput<S> {
  const text = md[key];
  if (text === undefined) throw new CheckpointError(`${file}: metadata ${key} is missing; not an osteo training checkpoint`);
  let raw: unknown;
  try {
    raw = JSON.parse(text, (_k, x: unknown) => (x === 'Infinity' ? Infinity : x === '-Infinity' ? -Infinity : x === 'NaN' ? NaN : x));
  } catch (e) {
    throw new CheckpointError(`${file}: metadata ${key} is not valid JSON (${(e as Error).message}); the checkpoint is corrupt`);
  }
  const r = v.safeParse(schema, raw);
  if (!r.success) {
    const issue = r.issues[0];
    const path = v.getDotPath(issue);
    const got = issue.input === undefined ? 'missing' : JSON.stringify(issue.input)?.slice(0, 80);
    throw new CheckpointError(`${file}: metadata ${key}${path ? `.${path}` : ''} is invalid: ${issue.message} (got ${got}); the checkpoint is corrupt or from an incompatible version`);
  }
  return r.output;
}

// ------------------------------------------------------------------------------ encode / decode

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
  /** The refinement stage (a two-stage checkpoint); `shapeOf` gets its names without the prefix. */
  refine?: { settings: RefineSettings; tensors: Map<string, Float32Array>; shapeOf?: (name: string) => readonly number[] | undefined };
  /** The prediction guards (`osteo calibrate`). */
  guards?: GuardModel;
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
  if (args.refine) {
    for (const [name, data] of args.refine.tensors) {
      const key = `${REFINE_PREFIX}${name}`;
      if (name.endsWith('num_batches_tracked')) out.set(key, { shape: data.length === 1 ? [] : [data.length], data: data.map(Math.round), dtype: 'I64' });
      else {
        const sh = args.refine.shapeOf?.(name);
        out.set(key, { shape: sh && sh.reduce((a, b) => a * b, 1) === data.length ? sh : [data.length], data });
      }
    }
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
      ...(args.refine ? { osteo_refine: toJson(args.refine.settings) } : {}),
      ...(args.guards ? { osteo_guards: toJson(args.guards) } : {}),
    },
  });
  return writeSafetensors(out, metadata);
}

/** The checkpoint bytes of a model (+ optimizer state), with the model's tensor shapes. */
export async function checkpointBytes(
  model: UnetPlusPlus,
  args: { train: TrainSettings; state: TrainingState; optimizer?: OptimizerState; refine?: { model: UnetPlusPlus; settings: Omit<RefineSettings, 'model'> }; guards?: GuardModel },
): Promise<Uint8Array> {
  const tensors = await model.params.stateDict();
  const r = args.refine;
  return encodeCheckpoint({
    model: modelConfigOf(model),
    train: args.train,
    state: args.state,
    tensors,
    ...(args.optimizer ? { optimizer: args.optimizer } : {}),
    ...(args.guards ? { guards: args.guards } : {}),
    shapeOf: (name) => (model.params.has(name) ? model.params.shape(name) : undefined),
    ...(r
      ? {
          refine: {
            settings: { ...r.settings, model: modelConfigOf(r.model) },
            tensors: await r.model.params.stateDict(),
            shapeOf: (name: string) => (r.model.params.has(name) ? r.model.params.shape(name) : undefined),
          },
        }
      : {}),
  });
}

/** The ModelConfig of a built model. */
export function modelConfigOf(model: UnetPlusPlus): ModelConfig {
  const c = model.config;
  return { classes: c.classes, inChannels: c.inChannels, widths: [...c.widths], decoderChannels: [...c.decoderChannels] };
}

/** True when the metadata marks an osteo training checkpoint (cheap: header only). */
export function isCheckpointMetadata(md: Record<string, string>): boolean {
  return md.osteo_checkpoint === '1';
}

/**
 * Decodes checkpoint bytes; every problem is a CheckpointError naming `path` (a file, URL or
 * name) and, for bad metadata, the field.
 */
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
  const model = parseMetadata(md, 'osteo_model', path, ModelSchema);
  const train = parseMetadata(md, 'osteo_train', path, TrainSchema) as TrainSettings;
  const state = parseMetadata(md, 'osteo_state', path, StateSchema) as TrainingState;
  if (train.landmarkNames && train.landmarkNames.length !== model.classes) {
    throw new CheckpointError(`${path}: metadata osteo_train.landmarkNames is invalid: ${train.landmarkNames.length} names for ${model.classes} landmarks; the checkpoint is corrupt`);
  }
  const tensors = new Map<string, Float32Array>();
  const refineTensors = new Map<string, Float32Array>();
  const optTensors: Record<string, Record<string, Float32Array>> = {};
  for (const [name, t] of st.tensors) {
    if (name.startsWith(REFINE_PREFIX)) refineTensors.set(name.slice(REFINE_PREFIX.length), t.data);
    else if (name.startsWith(OPTIM_PREFIX)) {
      const rest = name.slice(OPTIM_PREFIX.length);
      const dot = rest.indexOf('.');
      if (dot <= 0) throw new CheckpointError(`${path}: optimizer tensor ${name} has no state kind`);
      const kind = rest.slice(0, dot);
      (optTensors[kind] ??= {})[rest.slice(dot + 1)] = t.data;
    } else tensors.set(name, t.data);
  }
  const ck: Checkpoint = { path, model, train, state, tensors, metadata: md };
  if (state.optimizer) ck.optimizer = { ...state.optimizer, tensors: optTensors };
  if (md.osteo_refine !== undefined || refineTensors.size) {
    if (md.osteo_refine === undefined) throw new CheckpointError(`${path}: ${refineTensors.size} ${REFINE_PREFIX}* tensors but no osteo_refine metadata; the checkpoint is corrupt`);
    const settings = parseMetadata(md, 'osteo_refine', path, RefineSchema) as RefineSettings;
    if (settings.model.classes !== model.classes) {
      throw new CheckpointError(`${path}: metadata osteo_refine.model.classes is invalid: the refinement stage predicts ${settings.model.classes} landmarks, the coarse stage ${model.classes}; the checkpoint is corrupt`);
    }
    ck.refine = { settings, tensors: refineTensors };
  }
  if (md.osteo_guards !== undefined) {
    const guards = parseMetadata(md, 'osteo_guards', path, GuardsSchema) as GuardModel;
    const k = model.classes;
    const bad = guards.shape && (guards.shape.mean.length !== k || guards.shape.spread.length !== k) ? 'shape' : guards.calibration && guards.calibration.factor.length !== k ? 'calibration.factor' : guards.calibration && guards.calibration.knots.length !== guards.calibration.values.length ? 'calibration.values' : undefined;
    if (bad) throw new CheckpointError(`${path}: metadata osteo_guards.${bad} is invalid: its length does not match ${bad === 'calibration.values' ? 'calibration.knots' : `the ${k} landmarks`}; the checkpoint is corrupt`);
    ck.guards = guards;
  }
  return ck;
}

/**
 * The same checkpoint bytes with the guards replaced (or removed with `undefined`): the tensors'
 * bytes are copied unchanged, only the safetensors header's metadata changes.
 */
export function withGuards(bytes: Uint8Array, guards: GuardModel | undefined, path = 'checkpoint'): Uint8Array {
  const ck = decodeCheckpoint(bytes, path); // validates the file first
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown> & { __metadata__?: Record<string, string> };
  const md = { ...(header.__metadata__ ?? ck.metadata) };
  if (guards) md.osteo_guards = toJson(guards);
  else delete md.osteo_guards;
  header.__metadata__ = md;
  let text = JSON.stringify(header);
  // the data section stays 8-byte aligned: pad the header with spaces (allowed by the format)
  text += ' '.repeat((8 - (new TextEncoder().encode(text).length % 8)) % 8);
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(bytes.subarray(8 + n), 8 + head.length);
  return out;
}

/** A model built from a checkpoint's config with its weights loaded (strict: every tensor). */
export function modelFromCheckpoint(engine: Engine, ck: Checkpoint): UnetPlusPlus {
  return buildModel(engine, ck.model, ck.tensors, ck.path, '');
}

/** The refinement network of a two-stage checkpoint (undefined for a one-stage one). */
export function refineModelFromCheckpoint(engine: Engine, ck: Checkpoint): UnetPlusPlus | undefined {
  return ck.refine ? buildModel(engine, ck.refine.settings.model, ck.refine.tensors, ck.path, REFINE_PREFIX) : undefined;
}

function buildModel(engine: Engine, config: ModelConfig, tensors: Map<string, Float32Array>, path: string, prefix: string): UnetPlusPlus {
  const model = new UnetPlusPlus(engine, {
    classes: config.classes,
    inChannels: config.inChannels,
    widths: config.widths,
    decoderChannels: config.decoderChannels,
  });
  try {
    initializeUnetPP(model, 0);
    const dict = new Map([...tensors].filter(([n]) => model.params.has(n)));
    const missing = [...model.params.names, ...model.params.bufferNames].filter((n) => !n.endsWith('num_batches_tracked') && !dict.has(n));
    if (missing.length) throw new CheckpointError(`${path}: missing ${missing.length} model tensors (${missing.slice(0, 4).map((n) => prefix + n).join(', ')}${missing.length > 4 ? ', …' : ''})`);
    for (const [n, d] of dict) {
      const want = model.params.shape(n).reduce((a, b) => a * b, 1);
      if (d.length !== want) throw new CheckpointError(`${path}: ${prefix}${n} holds ${d.length} values, the model expects ${want}`);
    }
    model.params.loadStateDict(dict, { strict: false });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * `osteo train`: fine-tunes (or trains from scratch) U-Net++/VGG19 on a landmark data set — flag
 * parsing, resume checks and progress display around src/train/run.ts (the loop, checkpoints,
 * metrics.json) with src/train/config.ts's defaults (the paper authors' recipe).
 *
 * `--resume` continues a killed run from OUT/checkpoint-last: only the unfinished epoch is lost,
 * and the result equals an uninterrupted run's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_LAST, CheckpointError, loadCheckpoint, type Checkpoint } from '../../node/checkpoint';
import { checkWritableDir } from '../../node/out_dir';
import { folderStore } from '../../node/store';
import { findImagenetWeights, prepareDataSpec, resolveInit } from '../../node/train_io';
import { flagOf, OPTIMIZERS, REFINE_DEFAULTS, SCHEDULES, TRAIN_DEFAULTS, withDefaults, type TrainConfig } from '../../train/config';
import { round } from '../../train/format';
import { selectIds, type PreparedData } from '../../train/prepare';
import { refineCacheSize, runRefineTraining } from '../../train/refine';
import { runTraining, type TrainResult } from '../../train/run';
import type { StepInfo } from '../../train/trainer';
import { UsageError, type Command } from '../command';
import { withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, checkSpec, defineOptions, parseOptions } from '../options';
import { log, trainPrinter } from '../progress';
import { checkInit, configFromFlags, RECIPE_OPTIONS } from '../recipe';

export const TRAIN_OPTIONS = defineOptions({
  data: { type: 'string', value: 'SPEC', required: true, description: 'landmark data to train on (not with --resume); see data specs below', check: checks.dataSpec() },
  split: { type: 'string', value: 'NAME', defaultText: "'train' when the data defines splits (ISBI 2015: train, test1, test2), else every item", description: 'train on this named split of the data' },
  init: { type: 'string', value: 'imagenet|scratch|CKPT', defaultText: 'imagenet', description: 'ImageNet VGG19 encoder, random (PyTorch-style) initialisation, or an osteo checkpoint / weight file (smp U-Net++, VGG19)', check: checkInit },
  'reset-head': { type: 'boolean', description: 'with --init CKPT for another landmark count: keep everything but the segmentation head, start a new head' },
  seed: { type: 'string', value: 'N', defaultText: String(TRAIN_DEFAULTS.seed), description: 'seed of new layers, the validation split, the data order and the augmentation', check: checks.int(0) },
  out: { type: 'string', value: 'DIR', defaultText: TRAIN_DEFAULTS.out, description: 'run folder: checkpoint-last.safetensors (every epoch), checkpoint-best.safetensors, metrics.json', check: checks.writableDir() },
  resume: { type: 'boolean', description: 'continue the interrupted run in --out from its checkpoint-last, with its settings' },
  ...RECIPE_OPTIONS,
  optimizer: { type: 'string', value: 'adamw|sgd', defaultText: 'adamw', description: 'AdamW (decoupled --weight-decay), or SGD as torch.optim.SGD (--weight-decay added to the gradient, --momentum); biases and batch norm are not decayed', check: checks.oneOf([...OPTIMIZERS]) },
  momentum: { type: 'string', value: 'M', defaultText: '0', description: 'with --optimizer sgd: momentum in [0, 1)', check: checks.number({ min: 0, below: 1 }) },
  schedule: { type: 'string', value: 'plateau|cosine|step', defaultText: 'cosine with --init scratch, else plateau', description: 'learning-rate schedule: ReduceLROnPlateau on validation MRE (--patience), cosine decay to lr/10 over --epochs, or step decay: lr × --gamma every --step-size epochs', check: checks.oneOf([...SCHEDULES]) },
  'step-size': { type: 'string', value: 'N', defaultText: 'none (required with --schedule step)', description: 'with --schedule step: epochs between decays', check: checks.int(1) },
  gamma: { type: 'string', value: 'G', defaultText: '0.1', description: 'with --schedule step: the factor of each decay, in (0, 1]', check: checks.number({ above: 0, max: 1 }) },
  warmup: { type: 'string', value: 'N', defaultText: '0', description: 'epochs of linear learning-rate warm-up from lr/10', check: checks.int(0) },
  stage: { type: 'string', value: 'coarse|refine', defaultText: 'coarse', description: 'coarse: the whole-image network; refine: a second network on crops around the coarse points (needs --coarse); its checkpoints hold both stages', check: checks.oneOf(['coarse', 'refine']) },
  coarse: { type: 'string', value: 'CKPT', defaultText: 'none (required with --stage refine)', description: 'with --stage refine: the coarse stage checkpoint to refine (its validation errors set the crop offsets)', check: checks.exists('file') },
  crop: { type: 'string', value: 'F', defaultText: String(REFINE_DEFAULTS.crop), description: "with --stage refine: crop side as a fraction of the image's longer side (0.14 of a 240 mm cephalogram is 34 mm); --size is the crop's side in pixels", check: checks.number({ above: 0, max: 1 }) },
  crops: { type: 'string', value: 'N', defaultText: String(REFINE_DEFAULTS.crops), description: 'with --stage refine: crops per training image and epoch (landmarks drawn without replacement; at most every landmark)', check: checks.int(1) },
});

/** Settings a resumed run keeps from its checkpoint (changing them would change the run). */
// the optimizer too: its saved state (AdamW's moments, SGD's momentum buffers) only resumes the same optimizer
const RESUME_FIXED: (keyof TrainConfig)[] = ['data', 'split', 'init', 'size', 'batch', 'accum', 'loss', 'sigma', 'seed', 'valSplit', 'widths', 'decoder', 'targetScale', 'limit', 'optimizer', 'momentum'];

const TRAIN_CONFIG_KEYS: Record<keyof TrainConfig, true> = {
  data: true, split: true, init: true, weights: true, resetHead: true, size: true, batch: true, accum: true, epochs: true, lr: true,
  weightDecay: true, clipGradNorm: true, sigma: true, loss: true, targetScale: true, valSplit: true, seed: true, out: true, patience: true, earlyStop: true,
  augment: true, strict: true, widths: true, decoder: true, decode: true, limit: true,
  optimizer: true, momentum: true, schedule: true, warmup: true, stepSize: true, gamma: true, stage: true, coarse: true, crop: true, crops: true, freezeBn: true, freezeEncoder: true,
};

/** The options of this command beyond the shared recipe's (src/cli/recipe.ts), as config fields. */
function stageFromFlags(v: Record<string, unknown>): Partial<TrainConfig> {
  const c: Partial<TrainConfig> = {};
  if (typeof v.schedule === 'string') c.schedule = v.schedule as TrainConfig['schedule'];
  if (typeof v.warmup === 'string') c.warmup = Number(v.warmup);
  if (typeof v['step-size'] === 'string') c.stepSize = Number(v['step-size']);
  if (typeof v.gamma === 'string') c.gamma = Number(v.gamma);
  if (typeof v.optimizer === 'string') c.optimizer = v.optimizer as TrainConfig['optimizer'];
  if (typeof v.momentum === 'string') c.momentum = Number(v.momentum);
  if (typeof v.stage === 'string') c.stage = v.stage as TrainConfig['stage'];
  if (typeof v.coarse === 'string') c.coarse = v.coarse;
  if (typeof v.crop === 'string') c.crop = Number(v.crop);
  if (typeof v.crops === 'string') c.crops = Number(v.crops);
  return c;
}

/** What tests and the study hand a run besides the flags. */
export interface TrainHooks {
  /** Preloaded data (at the config's size): skips reading. */
  data?: PreparedData;
  /** Called after every step (tests throw here to simulate a crash). */
  onStep?: (s: StepInfo) => void;
  /** No progress bar / per-epoch lines. */
  quiet?: boolean;
}

export async function trainMain(argv: string[], hooks: TrainHooks = {}): Promise<TrainResult> {
  const { values } = parseOptions(TRAIN_OPTIONS, argv);
  const explicit = { ...configFromFlags(values), ...stageFromFlags(values) };
  let config: TrainConfig;
  let resume: Checkpoint | undefined;
  if (values.resume && explicit.stage === 'refine') throw new UsageError('--resume continues coarse runs only; start the refinement run again (it is short)');
  if (values.resume) {
    const out = explicit.out ?? TRAIN_DEFAULTS.out;
    const last = join(out, CHECKPOINT_LAST);
    if (!existsSync(last)) throw new UsageError(`--resume: nothing to resume in ${out} (no ${CHECKPOINT_LAST}); start the run without --resume`);
    resume = await loadCheckpoint(last);
    const saved = resume.train.run as Partial<TrainConfig> | undefined;
    if (!saved?.data || !saved.init) throw new CheckpointError(`${last}: the checkpoint does not record its run settings; cannot resume`);
    for (const k of RESUME_FIXED) {
      const a = explicit[k], b = saved[k];
      if (a !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
        throw new UsageError(`--resume: ${flagOf(k)} ${JSON.stringify(a)} differs from the interrupted run's ${JSON.stringify(b)}; resume with the same settings or start a new --out`);
      }
    }
    const keep = Object.fromEntries(Object.entries(saved).filter(([k]) => k in TRAIN_CONFIG_KEYS)) as Partial<TrainConfig>;
    config = withDefaults({ ...keep, ...explicit, out, data: saved.data, init: saved.init });
  } else {
    if (!explicit.data) throw new UsageError('--data SPEC is required (e.g. --data isbi2015:/data/ISBI2015, --data synthetic:hand?n=64)');
    config = withDefaults({ ...explicit, data: explicit.data, init: explicit.init ?? (explicit.stage === 'refine' ? 'scratch' : 'imagenet') });
    if (existsSync(join(config.out, CHECKPOINT_LAST)) && !hooks.quiet) {
      log(`note: ${join(config.out, CHECKPOINT_LAST)} exists and will be overwritten; use --resume to continue that run`);
    }
  }
  // Everything that can be checked without a GPU is checked before one is acquired
  // (the run folder too when --out was not given: its default was never checked by the option table).
  if (!explicit.out) checkWritableDir(config.out, '--out', `${config.out} (the default --out)`);
  if (!hooks.data) checkSpec(config.data, 'data');
  const refine = config.stage === 'refine';
  if (!resume && !refine && config.init === 'imagenet') findImagenetWeights(config.weights);
  // --stage refine: --init scratch (a new refinement network) or a two-stage checkpoint whose refinement network to
  // fine-tune
  const initRefine = refine && explicit.init !== undefined && explicit.init !== 'scratch' ? await loadCheckpoint(explicit.init) : undefined;
  if (initRefine && !initRefine.refine) throw new UsageError(`--init ${explicit.init}: with --stage refine, --init is scratch or a two-stage checkpoint whose refinement network to fine-tune; this one holds the coarse stage only`);
  const coarse = refine ? await loadCheckpoint(config.coarse!) : undefined;
  if (coarse?.refine) log(`note: ${config.coarse} already holds a refinement stage; it is replaced`);
  return withEngine(values.software, async (engine) => {
    log(`osteo train — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    let data = hooks.data;
    if (!data) {
      data = prepareDataSpec(config.data, { size: refine ? refineCacheSize(config) : config.size, strict: config.strict, ...(config.split ? { split: config.split } : {}), ...(config.limit !== undefined ? { limit: config.limit } : {}), ...(hooks.quiet ? {} : { log }) });
      // ISBI 2015 and other sets with a 'train' split train on it unless told otherwise.
      if (!config.split && data.splits?.train) {
        log(`data has a 'train' split (${Object.keys(data.splits).join(', ')}): training on it; pass --split to choose`);
        config.split = 'train';
        data = selectIds(data, data.splits.train);
      }
    }
    const printer = await trainPrinter({ ...(hooks.quiet ? { quiet: true } : {}), ...(hooks.onStep ? { onStep: hooks.onStep } : {}) });
    try {
      if (coarse) return await runRefineTraining(engine, config, { data, store: folderStore(config.out), coarse, ...(initRefine ? { initRefine } : {}), onProgress: (p) => printer.onProgress(p) });
      return await runTraining(engine, config, {
        data, store: folderStore(config.out), onProgress: (p) => printer.onProgress(p), ...(resume ? { resume } : { init: await resolveInit(config) }),
      });
    } finally {
      printer.stop();
    }
  });
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train U-Net++/VGG19 on a landmark data set (ImageNet, scratch or checkpoint init); checkpoints, metrics.json, --resume',
  usage: 'osteo train --data SPEC [--init imagenet|scratch|CKPT] [options]\nosteo train --resume [--out DIR]',
  options: TRAIN_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo train --data isbi2015:/data/ISBI2015 --out runs/isbi', what: "fine-tune from ImageNet on ISBI 2015's training split with the paper's recipe (needs osteo weights fetch first)" },
    { command: "osteo train --data 'synthetic:hand?n=64&size=128' --init scratch --size 64 --epochs 5 --out runs/try", what: 'a small run from scratch on generated hand X-rays: no files, no weights needed' },
    { command: 'osteo train --data isbi2015:/data/ISBI2015 --stage refine --coarse runs/isbi/checkpoint-best.safetensors --init scratch --size 64 --out runs/isbi-refine', what: 'train the refinement stage on crops around the coarse points; its checkpoints hold both stages (predict / eval use them as one model)' },
    { command: 'osteo train --resume --out runs/isbi', what: 'continue that run after an interruption (only the unfinished epoch is lost)' },
  ],
  async run(argv) {
    const r = await trainMain(argv);
    console.log(JSON.stringify(trainSummary(r)));
    return 0;
  },
};

/**
 * The summary line. Without a validation split the best epoch is chosen by training loss:
 * then `bestMre` is null and `bestTrainLoss` says what was compared (it is not an error in mm).
 */
export function trainSummary(r: Awaited<ReturnType<typeof trainMain>>): Record<string, unknown> {
  const best = r.bestMetric === null ? null : round(r.bestMetric);
  return {
    out: r.out, init: r.initKind, describe: r.init, ...(r.imagenetLayers ? { imagenetLayers: r.imagenetLayers, scratchLayers: r.scratchLayers } : {}), epochs: r.epochs, finished: r.finished, bestEpoch: r.bestEpoch,
    ...(r.valImages ? { bestMre: best, unit: r.unit } : { bestMre: null, bestTrainLoss: best }),
    train: r.trainImages, val: r.valImages, skipped: r.skipped,
    best: r.bestCheckpoint, last: r.lastCheckpoint, seconds: round(r.seconds),
  };
}

/**
 * The transfer study of Di Via et al. (ISBI 2024) on the user's data (host-neutral). Three arms
 * with the same target budget (epochs, batch, schedule, early stopping), the same seeds and the
 * same train / validation / test items:
 *   imagenet  — ImageNet VGG19 encoder → fine-tune on the target;
 *   indomain  — ImageNet → fine-tune on the source set(s) (in order, a new head for each K) →
 *               fine-tune on the target (new head);
 *   scratch   — random init → train on the target (its own lr, default 10x: the authors' 1e-4).
 * Each run keeps its best-validation checkpoint, which is scored on the held-out target test
 * items: the 'train' split's complement when the target defines one (ISBI 2015: Test1 + Test2),
 * k folds, else a fixed seeded test fraction. Writes results.json, results.md (MRE ± std and SDR
 * per arm, seed and fold; means per arm; paired differences) and transfer.svg into the store.
 * Finished runs are reused when the study runs again with the same settings; an interrupted run
 * resumes from its last checkpoint.
 */
import type { Engine } from '../gpu/engine';
import type { Evaluation } from '../landmarks/metrics';
import type { LoadedWeights } from '../weights/index';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, decodeCheckpoint, type Checkpoint, type EpochRecord } from './checkpoint';
import { ConfigError, withDefaults, type TrainConfig } from './config';
import { permutation } from '../nn/random';
import { kFolds } from './data';
import { evaluateCheckpoint, predictorFromCheckpoint } from './evaluate';
import { ARM_LABELS, markdownReport, sdrKeys, summarise, svgPlot, type Arm, type ArmSummary, type RunRow, type Split } from './experiment_report';
import { fmt as f, round } from './format';
import { MissingWeightsError, type InitSource } from './init';
import { selectIds, type PreparedData } from './prepare';
import { runTraining, type TrainProgress } from './run';
import { substore, utf8, type RunStore } from './store';

export { ARMS, ARM_LABELS, markdownReport, svgPlot, type Arm, type ArmSummary, type RunRow } from './experiment_report';

/** Target train/test splits: the data's own 'train' split, k folds, or a fixed held-out fraction. */
export function targetSplits(data: PreparedData, opts: { folds?: number; testSplit: number; splitSeed: number }): { splits: Split[]; describe: string } {
  const ids = data.set.ids;
  if (opts.folds) {
    const folds = kFolds(ids.length, opts.folds, opts.splitSeed);
    return {
      splits: folds.map((f, i) => ({ fold: i + 1, train: f.train.map((j) => ids[j]!), test: f.test.map((j) => ids[j]!) })),
      describe: `${opts.folds}-fold cross-validation over ${ids.length} target images (fold seed ${opts.splitSeed})`,
    };
  }
  const own = data.splits?.train;
  if (own) {
    const inTrain = new Set(own);
    const train = ids.filter((id) => inTrain.has(id));
    const test = ids.filter((id) => !inTrain.has(id));
    if (train.length && test.length) {
      const others = Object.keys(data.splits!).filter((k) => k !== 'train');
      return { splits: [{ fold: null, train, test }], describe: `the data's own split: train ${train.length}, test ${test.length} (${others.join(' + ') || 'the rest'})` };
    }
  }
  if (!(opts.testSplit > 0 && opts.testSplit < 1)) throw new ConfigError(`--test-split must be in (0, 1), got ${opts.testSplit}`);
  const p = permutation(ids.length, opts.splitSeed * 17 + 11);
  const nTest = Math.min(ids.length - 2, Math.max(1, Math.round(ids.length * opts.testSplit)));
  if (nTest < 1 || ids.length - nTest < 2) throw new ConfigError(`target has ${ids.length} images: too few to hold out a test set`);
  const testIdx = new Set(p.slice(0, nTest));
  return {
    splits: [{ fold: null, train: ids.filter((_, i) => !testIdx.has(i)), test: ids.filter((_, i) => testIdx.has(i)) }],
    describe: `held-out test fraction ${opts.testSplit}: train ${ids.length - nTest}, test ${nTest} (split seed ${opts.splitSeed})`,
  };
}


/** The study's settings; the host reads the files (data, ImageNet weights) and provides the store. */
export interface ExperimentOptions {
  /** Data spec (or name) of the target set. */
  target: string;
  /** Source sets of the indomain arm, in order. */
  sources: string[];
  seeds: number[];
  arms: Arm[];
  /** The recipe shared by every run. */
  base: Omit<TrainConfig, 'data' | 'init' | 'out' | 'seed' | 'lr'>;
  /** lr of the imagenet and indomain arms. */
  lr: number;
  lrScratch: number;
  sourceEpochs: number;
  folds?: number;
  testSplit: number;
  splitSeed: number;
  /** The ImageNet weights (read with the model's widths), or why they are missing. */
  imagenet?: { weights: LoadedWeights; source: string } | { missing: string };
  /** Without ImageNet weights, run the scratch arm alone instead of failing. */
  allowMissingImagenet: boolean;
  /** The study folder: results and one sub-folder per run. */
  store: RunStore;
  /** Reads and prepares a data set (spec → decoded images at `size`). */
  prepare: (spec: string, opts: { size: number; strict: boolean; limit?: number }) => PreparedData | Promise<PreparedData>;
  /** Lines for the user. */
  log?: (line: string) => void;
  /** Progress of each training run, with its tag (e.g. "imagenet seed 1"). */
  onRunProgress?: (tag: string, p: TrainProgress) => void;
  signal?: AbortSignal;
}

/** What the study produced. */
export interface ExperimentResult {
  out: string;
  rows: RunRow[];
  summary: ArmSummary[];
  notes: string[];
  skippedArms: Arm[];
  files: { json: string; markdown: string; plot: string };
}


/** A finished training run's summary, as kept in its done.json. */
export interface RunSummary {
  best: string;
  epochs: number;
  bestEpoch: number;
  bestMetric: number | null;
  history: EpochRecord[];
  seconds: number;
}

/** Reads a checkpoint from a store (a ConfigError when it is missing). */
export async function readStoredCheckpoint(store: RunStore, name: string): Promise<Checkpoint> {
  const bytes = await store.read(name);
  if (!bytes) throw new ConfigError(`${store.locate(name)}: no such checkpoint`);
  return decodeCheckpoint(bytes, store.locate(name));
}

/**
 * Trains one run of a study in `dir` of `store`, or reuses it: a run whose done.json holds the same
 * settings and item ids (and whose best checkpoint exists) is not trained again; an interrupted run
 * with a matching checkpoint-last resumes from it. Returns the run's summary.
 */
export async function trainResumable(engine: Engine, r: {
  store: RunStore; dir: string; config: TrainConfig; init: InitSource; data: PreparedData; ids: readonly string[] | undefined; tag: string;
  log?: (line: string) => void; onProgress?: (p: TrainProgress) => void; signal?: AbortSignal;
}): Promise<RunSummary> {
  const log = r.log ?? (() => undefined);
  const c = r.config;
  const run = substore(r.store, r.dir);
  const key = JSON.stringify({ c, ids: r.ids ?? null });
  const marker = await run.read('done.json');
  if (marker) {
    try {
      const done = JSON.parse(new TextDecoder().decode(marker)) as { key: string; result: RunSummary };
      if (done.key === key && (await run.exists(CHECKPOINT_BEST))) {
        log(`[${r.tag}] reusing finished run in ${c.out}`);
        return done.result;
      }
    } catch {
      /* redo */
    }
  }
  let resume: Checkpoint | undefined;
  if (await run.exists(CHECKPOINT_LAST)) {
    try {
      const ck = await readStoredCheckpoint(r.store, `${r.dir}/${CHECKPOINT_LAST}`);
      if ((ck.train.run as { idsKey?: string } | undefined)?.idsKey === key) resume = ck;
    } catch (e) {
      log(`[${r.tag}] ignoring ${run.locate(CHECKPOINT_LAST)}: ${(e as Error).message}`);
    }
  }
  const t = await runTraining(engine, c, {
    data: r.data, store: run, init: r.init, ...(r.ids ? { ids: r.ids } : {}), ...(resume ? { resume } : {}), runExtra: { idsKey: key },
    ...(r.onProgress ? { onProgress: r.onProgress } : {}), ...(r.signal ? { signal: r.signal } : {}),
  });
  const result: RunSummary = { best: t.bestCheckpoint, epochs: t.epochs, bestEpoch: t.bestEpoch, bestMetric: t.bestMetric, history: t.history, seconds: t.seconds };
  await run.write('done.json', utf8(`${JSON.stringify({ key, result })}\n`));
  return result;
}

/** Runs the whole study on one engine. */
export async function runExperiment(engine: Engine, o: ExperimentOptions): Promise<ExperimentResult> {
  const store = o.store;
  const out = store.locate('');
  const log = o.log ?? (() => undefined);
  const notes: string[] = [];
  const skippedArms: Arm[] = [];
  let arms = [...o.arms];
  let imagenet: { weights: LoadedWeights; source: string } | undefined;
  if (arms.some((a) => a !== 'scratch')) {
    if (!o.imagenet || 'missing' in o.imagenet) {
      const why = o.imagenet && 'missing' in o.imagenet ? o.imagenet.missing : 'ImageNet VGG19 weights not given.';
      if (!o.allowMissingImagenet) throw new MissingWeightsError(`${why} The imagenet and indomain arms need them; pass --allow-missing-imagenet to run the scratch arm alone.`);
      const skip = arms.filter((a) => a !== 'scratch');
      skippedArms.push(...skip);
      arms = arms.filter((a) => a === 'scratch');
      notes.push(`**ImageNet weights missing: arms ${skip.join(', ')} were skipped** (--allow-missing-imagenet). ${why}`);
      log(`WARNING: ImageNet weights missing; skipping arms ${skip.join(', ')}`);
    } else imagenet = o.imagenet;
  }
  if (!arms.length) throw new ConfigError('no arm left to run');
  if (imagenet) notes.push(`ImageNet weights: ${imagenet.source}`);

  const size = o.base.size;
  const prep = { size, strict: o.base.strict, ...(o.base.limit !== undefined ? { limit: o.base.limit } : {}) };
  const target = await o.prepare(o.target, prep);
  const { splits, describe } = targetSplits(target, { ...(o.folds ? { folds: o.folds } : {}), testSplit: o.testSplit, splitSeed: o.splitSeed });
  notes.push(`Target ${o.target}: ${target.set.images.length} images, K=${target.k}, errors in ${target.unit}${target.skipped ? `, ${target.skipped} bad item(s) skipped` : ''}; test set: ${describe}.`);
  notes.push(`Same budget for every arm on the target: at most ${o.base.epochs} epochs, batch ${o.base.batch} × accum ${o.base.accum}, ReduceLROnPlateau(0.5, ${o.base.patience}), early stop ${o.base.earlyStop}, validation fraction ${o.base.valSplit} of the training items; lr ${o.lr} (ImageNet / in-domain init), ${o.lrScratch} (scratch). Each run is scored with its best-validation checkpoint.`);
  const sources: PreparedData[] = [];
  if (arms.includes('indomain')) for (const s of o.sources) sources.push(await o.prepare(s, prep));
  if (arms.includes('indomain')) {
    notes.push(`In-domain pre-training: ImageNet → ${o.sources.map((s, i) => `${s} (${sources[i]!.set.images.length} images, K=${sources[i]!.k})`).join(' → ')}, ${o.sourceEpochs} epochs at most per source, new head for each set; then the target.`);
  }
  notes.push(`Seeds ${o.seeds.join(', ')}: a seed fixes the initialisation of new layers, the validation split, the data order and the augmentation; arms with the same seed see the same items in the same order.`);

  const rows: RunRow[] = [];
  const config = (seed: number, init: string, dir: string, lr: number, data: string): TrainConfig =>
    withDefaults({ ...o.base, data, init, out: store.locate(dir), seed, lr, ...(imagenet ? { weights: imagenet.source } : {}) });
  const readCheckpoint = (name: string): Promise<Checkpoint> => readStoredCheckpoint(store, name);

  const train = (c: TrainConfig, dir: string, init: InitSource, data: PreparedData, ids: readonly string[] | undefined, tag: string): Promise<RunSummary> =>
    trainResumable(engine, { store, dir, config: c, init, data, ids, tag, log, ...(o.onRunProgress ? { onProgress: (p: TrainProgress) => o.onRunProgress!(tag, p) } : {}), ...(o.signal ? { signal: o.signal } : {}) });

  const sourceCkpt = new Map<number, { path: string; name: string }>();
  for (const seed of o.seeds) {
    if (arms.includes('indomain')) {
      let init = 'imagenet';
      let source: InitSource = { kind: 'imagenet', ...imagenet! };
      for (const [i, src] of sources.entries()) {
        const dir = `source/seed-${seed}/stage-${i + 1}`;
        const c = { ...config(seed, init, dir, o.lr, src.spec), epochs: o.sourceEpochs, resetHead: true };
        log(`[source seed ${seed}] ${init === 'imagenet' ? 'ImageNet' : 'previous stage'} → ${src.spec}`);
        const r = await train(c, dir, source, src, undefined, `source ${i + 1} seed ${seed}`);
        init = r.best;
        source = { kind: 'checkpoint', checkpoint: await readCheckpoint(`${dir}/${CHECKPOINT_BEST}`) };
      }
      const last = sources.length ? `source/seed-${seed}/stage-${sources.length}/${CHECKPOINT_BEST}` : '';
      sourceCkpt.set(seed, { path: init, name: last });
    }
    for (const split of splits) {
      for (const arm of arms) {
        const dir = [arm, `seed-${seed}`, ...(split.fold !== null ? [`fold-${split.fold}`] : [])].join('/');
        const from = sourceCkpt.get(seed);
        const init = arm === 'scratch' ? 'scratch' : arm === 'imagenet' ? 'imagenet' : from!.path;
        const source: InitSource = arm === 'scratch' ? { kind: 'scratch' } : arm === 'imagenet' || !from!.name ? { kind: 'imagenet', ...imagenet! } : { kind: 'checkpoint', checkpoint: await readCheckpoint(from!.name) };
        const c = { ...config(seed, init, dir, arm === 'scratch' ? o.lrScratch : o.lr, o.target), resetHead: arm === 'indomain' };
        const tag = `${arm} seed ${seed}${split.fold !== null ? ` fold ${split.fold}` : ''}`;
        log(`[${tag}] ${ARM_LABELS[arm]}`);
        const r = await train(c, dir, source, target, split.train, tag);
        const testSet = selectIds(target, split.test);
        const p = predictorFromCheckpoint(engine, await readCheckpoint(`${dir}/${CHECKPOINT_BEST}`), { decode: o.base.decode, batch: o.base.batch });
        let ev: Evaluation;
        try {
          ev = await evaluateCheckpoint(p, testSet);
        } finally {
          p.dispose();
        }
        const row: RunRow = {
          arm, seed, fold: split.fold, testImages: testSet.set.images.length, unit: ev.unit,
          mre: ev.overall.mre, std: ev.overall.std, median: ev.overall.median, sdr: ev.overall.sdr,
          epochs: r.epochs, bestEpoch: r.bestEpoch, bestValMre: r.bestMetric, seconds: r.seconds, checkpoint: r.best,
          valCurve: r.history.map((h) => h.valMre),
        };
        rows.push(row);
        log(`[${tag}] test MRE ${f(row.mre)} ± ${f(row.std)} ${row.unit} (${row.testImages} images; best epoch ${row.bestEpoch}/${row.epochs})`);
      }
    }
  }

  const summary = summarise(rows, arms);
  const unit = rows[0]?.unit ?? target.unit;
  const thresholds = sdrKeys(rows[0]?.sdr ?? {});
  const title = `Transfer study: ${o.target}`;
  const settings = {
    target: o.target, sources: o.sources, seeds: o.seeds, arms, skippedArms, folds: o.folds ?? null, testSplit: o.testSplit, splitSeed: o.splitSeed,
    lr: o.lr, lrScratch: o.lrScratch, sourceEpochs: o.sourceEpochs, ...o.base, device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback,
  };
  const files = { json: store.locate('results.json'), markdown: store.locate('results.md'), plot: store.locate('transfer.svg') };
  const roundRow = (r: RunRow) => ({ ...r, mre: round(r.mre, 4), std: round(r.std, 4), median: round(r.median, 4), sdr: Object.fromEntries(Object.entries(r.sdr).map(([k, v]) => [k, round(v, 2)])), valCurve: r.valCurve.map((v) => round(v, 4)), seconds: round(r.seconds, 1) });
  await store.write('results.json', utf8(`${JSON.stringify({ title, unit, notes, settings, summary, runs: rows.map(roundRow) }, null, 2)}\n`));
  await store.write('results.md', utf8(markdownReport({ title, rows, summary, notes, settings, unit, thresholds })));
  await store.write('transfer.svg', utf8(svgPlot(rows, summary, unit, title)));
  log(`wrote ${files.markdown}, ${files.json}, ${files.plot}`);
  return { out, rows, summary, notes, skippedArms, files };
}

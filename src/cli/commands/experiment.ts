/**
 * `osteo experiment transfer --target SPEC --source SPEC[,SPEC] …`: the transfer study of
 * src/train/experiment.ts (ImageNet vs ImageNet → in-domain vs scratch, same budget and seeds) —
 * flag parsing, the checks before a GPU, and progress on stderr. Writes OUT/results.json,
 * OUT/results.md and OUT/transfer.svg; finished runs are reused, interrupted ones resumed.
 * `osteo experiment learning-curve --data SPEC --fractions …`: src/cli/learning_curve.ts.
 */
import { didYouMean } from '../../data/suggest';
import { checkWritableDir } from '../../node/out_dir';
import { folderStore } from '../../node/store';
import { findImagenetWeights, prepareDataSpec, readImagenetWeights } from '../../node/train_io';
import { withDefaults } from '../../train/config';
import { ARMS, runExperiment, type Arm, type ExperimentOptions, type ExperimentResult } from '../../train/experiment';
import { round } from '../../train/format';
import { MissingWeightsError } from '../../train/init';
import { UsageError, type Command } from '../command';
import { LEARNING_CURVE_OPTIONS, learningCurveMain } from '../learning_curve';
import type { LearningCurveResult } from '../../report/learning_curve';
import { withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, checkSpec, defineOptions, parseOptions } from '../options';
import { log, trainPrinter } from '../progress';
import { configFromFlags, RECIPE_OPTIONS } from '../recipe';

function parseIntList(s: string, what: string): number[] {
  const v = s.split(',').filter((x) => x.trim() !== '').map((x) => Number(x));
  if (!v.length || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--${what} expects non-negative integers separated by commas, got '${s}'`);
  return v;
}

const EXPERIMENT_OPTIONS = defineOptions({
  target: { type: 'string', value: 'SPEC', required: true, description: 'the data set the study is about; see data specs below', check: checks.dataSpec() },
  source: { type: 'string', value: 'SPEC[,SPEC]', defaultText: 'none (required for the indomain arm)', description: 'in-domain set(s) the indomain arm fine-tunes on before the target, in order', check: checks.dataSpecs() },
  arms: { type: 'string', value: 'A[,A]', default: ARMS.join(','), description: 'which arms to run: imagenet (ImageNet → target), indomain (ImageNet → source → target), scratch (random → target)', check: checks.someOf(ARMS) },
  seeds: { type: 'string', value: 'S[,S]', default: '1,2,3', description: 'one run per arm, seed (and fold); a seed fixes new layers, validation split, data order and augmentation', check: checks.intList({ min: 0 }) },
  folds: { type: 'string', value: 'K', defaultText: "none: the target's own train split, else a held-out --test-split", description: 'k-fold cross-validation over the target images instead', check: checks.int(2) },
  'test-split': { type: 'string', value: 'F', default: '0.3', description: "fraction of the target held out for testing when it defines no 'train' split and --folds is not given", check: checks.number({ above: 0, below: 1 }) },
  'split-seed': { type: 'string', value: 'N', default: '0', description: 'seed of the test split / folds (the same for every arm and seed)', check: checks.int(0) },
  'source-epochs': { type: 'string', value: 'N', defaultText: '--epochs', description: 'most epochs on each source set', check: checks.int(1) },
  'lr-scratch': { type: 'string', value: 'LR', defaultText: '10 × --lr (1e-4)', description: 'learning rate of the scratch arm', check: checks.number({ above: 0 }) },
  'allow-missing-imagenet': { type: 'boolean', description: 'without ImageNet weights, run the scratch arm alone (noted in the results) instead of failing' },
  out: { type: 'string', value: 'DIR', defaultText: 'runs/transfer, runs/learning-curve', description: 'study folder: results.md, results.json, transfer.svg (learning-curve.{md,json,svg}) and one folder per run (finished runs are reused)', check: checks.writableDir() },
  ...RECIPE_OPTIONS,
  ...LEARNING_CURVE_OPTIONS,
  lr: { ...RECIPE_OPTIONS.lr, defaultText: '1e-5', description: 'AdamW learning rate of the imagenet and indomain arms' },
});

const KINDS = ['transfer', 'learning-curve'];

export async function experimentMain(argv: string[]): Promise<ExperimentResult> {
  const { values, positionals, given } = parseOptions(EXPERIMENT_OPTIONS, argv, { positionals: true });
  const [kind, ...rest] = positionals;
  if (kind !== 'transfer') throw new UsageError(kind ? `unknown experiment '${kind}'${didYouMean(kind, KINDS)} (available: ${KINDS.join(', ')})` : `which experiment? (available: ${KINDS.join(', ')})`);
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  for (const k of Object.keys(LEARNING_CURVE_OPTIONS)) if (given.has(k as keyof typeof EXPERIMENT_OPTIONS & string)) throw new UsageError(`--${k} belongs to learning-curve, not to the transfer study`);
  const out = values.out ?? 'runs/transfer';
  checkWritableDir(out, '--out');
  if (!values.target) throw new UsageError('--target SPEC is required');
  const arms = values.arms.split(',').map((a) => a.trim()) as Arm[];
  for (const a of arms) if (!ARMS.includes(a)) throw new UsageError(`--arms: unknown arm '${a}' (${ARMS.join(', ')})`);
  const sources = (values.source ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (arms.includes('indomain') && !sources.length) throw new UsageError('--source SPEC[,SPEC] is required for the indomain arm (or leave it out with --arms imagenet,scratch)');
  const num = (k: string, s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
  // The recipe flags as config fields; lr, weights and out are the study's own.
  const { lr: lrGiven, weights: _w, out: _o, ...partial } = configFromFlags(values);
  // Validate once with a placeholder; each run revalidates with its own init.
  const full = withDefaults({ ...partial, data: values.target, init: 'imagenet' });
  const { data: _d, init: _i, out: _out, seed: _s, lr: lrDefault, weights: _w2, split: _sp, ...base } = full;
  const lr = lrGiven ?? lrDefault;
  const lrScratch = num('lr-scratch', values['lr-scratch']) ?? lr * 10;
  const seeds = parseIntList(values.seeds, 'seeds');
  const folds = num('folds', values.folds);
  const sourceEpochs = num('source-epochs', values['source-epochs']) ?? base.epochs;
  const allowMissingImagenet = !!values['allow-missing-imagenet'];
  // Checked before a GPU is acquired: the source specs (the target's is checked with the flags) and the ImageNet
  // weights.
  for (const s of sources) checkSpec(s, 'source');
  let weightsFile: string | undefined;
  let missing: string | undefined;
  if (arms.some((a) => a !== 'scratch')) {
    try {
      weightsFile = findImagenetWeights(values.weights);
    } catch (e) {
      if (!(e instanceof MissingWeightsError)) throw e;
      if (!allowMissingImagenet) throw new MissingWeightsError(`${e.message} The imagenet and indomain arms need them; pass --allow-missing-imagenet to run the scratch arm alone.`);
      missing = e.message;
    }
  }
  return withEngine(values.software, async (engine) => {
    log(`osteo experiment transfer — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    const printer = await trainPrinter();
    const opts: ExperimentOptions = {
      target: values.target!, sources, seeds, arms, base, lr, lrScratch, sourceEpochs,
      testSplit: num('test-split', values['test-split'])!, splitSeed: num('split-seed', values['split-seed'])!,
      allowMissingImagenet, store: folderStore(out),
      prepare: (spec, o) => prepareDataSpec(spec, { ...o, log }),
      log, onRunProgress: (tag, p) => printer.onProgress(p, tag),
      ...(folds ? { folds } : {}),
      ...(weightsFile ? { imagenet: await readImagenetWeights(weightsFile, base.widths) } : missing ? { imagenet: { missing } } : {}),
    };
    try {
      return await runExperiment(engine, opts);
    } finally {
      printer.stop();
    }
  });
}

/** `osteo experiment learning-curve …` */
export async function learningCurveCommandMain(argv: string[]): Promise<LearningCurveResult> {
  const { values, positionals, given } = parseOptions(EXPERIMENT_OPTIONS, argv, { positionals: true });
  if (positionals[0] !== 'learning-curve') throw new UsageError(`expected 'learning-curve', got '${positionals[0] ?? ''}'`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return learningCurveMain(values, given);
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'studies: the transfer study (ImageNet vs in-domain vs scratch) and the learning curve (error vs annotated images, images needed for a target); markdown + JSON + plot',
  usage: 'osteo experiment transfer --target SPEC --source SPEC[,SPEC] [options]\nosteo experiment transfer --target SPEC --arms imagenet,scratch [options]\nosteo experiment learning-curve --data SPEC --fractions 0.1,0.25,0.5,1 [--repeats N] [--init imagenet|scratch|CKPT] [--target-mre X] [--annotation-minutes-per-image M] [--cost-per-hour C] [options]',
  options: EXPERIMENT_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo experiment transfer --target isbi2015:/data/ISBI2015 --source hand:/data/dha', what: "the paper's study on ISBI 2015 (tested on Test1 + Test2), in-domain pre-training on the hand atlas, seeds 1, 2, 3" },
    { command: "osteo experiment transfer --target 'synthetic:head?n=40' --arms imagenet,scratch --folds 5 --seeds 1 --epochs 20", what: 'ImageNet vs scratch only, 5-fold cross-validation, one seed, short runs' },
    { command: 'osteo experiment learning-curve --data isbi2015:/data/ISBI2015 --fractions 0.1,0.25,0.5,1 --repeats 3 --target-mre 2 --annotation-minutes-per-image 6 --cost-per-hour 40', what: 'test MRE on Test1 + Test2 against 15 to 150 training images; how many annotated images reach 2 mm, and at what cost' },
  ],
  async run(argv) {
    if (parseOptions(EXPERIMENT_OPTIONS, argv, { positionals: true }).positionals[0] === 'learning-curve') {
      const lc = await learningCurveCommandMain(argv);
      console.log(JSON.stringify({ files: lc.files, fit: lc.doc.fit && { a: round(lc.doc.fit.a), b: round(lc.doc.fit.b), c: round(lc.doc.fit.c) }, prediction: lc.doc.prediction, bySize: lc.doc.bySize }));
      return 0;
    }
    const r = await experimentMain(argv);
    console.log(JSON.stringify({
      out: r.out, skippedArms: r.skippedArms, files: r.files,
      summary: r.summary.map((s) => ({ arm: s.arm, runs: s.runs, mre: round(s.mre), mreStd: round(s.mreStd), sdr: Object.fromEntries(Object.entries(s.sdr).map(([k, v]) => [k, round(v, 2)])) })),
    }));
    return 0;
  },
};

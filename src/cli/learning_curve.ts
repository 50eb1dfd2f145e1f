/**
 * `osteo experiment learning-curve --data SPEC --fractions 0.1,0.25,0.5,1 …`: the host side of
 * src/report/learning_curve.ts — its options (merged into `osteo experiment`'s table), the checks
 * before a GPU, and progress on stderr. Writes OUT/learning-curve.{json,md,svg}; finished runs are
 * kept, so a killed run continues where it stopped.
 */
import { checkWritableDir } from '../node/out_dir';
import { folderStore } from '../node/store';
import { findImagenetWeights, prepareDataSpec, resolveInit } from '../node/train_io';
import { runLearningCurve, type LearningCurveResult } from '../report/learning_curve';
import { withDefaults } from '../train/config';
import { UsageError } from './command';
import { withEngine } from './engine';
import { checks, defineOptions } from './options';
import { log, trainPrinter } from './progress';
import { checkInit, configFromFlags, type Flags } from './recipe';

export const LEARNING_CURVE_OPTIONS = defineOptions({
  data: { type: 'string', value: 'SPEC', defaultText: 'none (required by learning-curve)', description: "learning-curve: the annotated images (the training split's images are subsampled; the test split stays fixed); see data specs below", check: checks.dataSpec() },
  fractions: { type: 'string', value: 'F[,F]', defaultText: '0.1,0.25,0.5,1', description: 'learning-curve: fractions of the training images, each in (0, 1]; nested subsets', check: (v, f) => { for (const x of v.split(',')) if (!(Number(x) > 0 && Number(x) <= 1)) throw new UsageError(`--${f}: '${x}' is not a fraction in (0, 1]`); } },
  repeats: { type: 'string', value: 'N', defaultText: '3', description: 'learning-curve: runs per fraction (repeat r: its own subset order and training seed r)', check: checks.int(1) },
  init: { type: 'string', value: 'imagenet|scratch|CKPT', defaultText: 'imagenet', description: 'learning-curve: the initialisation of every run (the prototype is ImageNet-initialised)', check: checkInit },
  budget: { type: 'string', value: 'epochs|updates', defaultText: 'epochs', description: "learning-curve: every size gets --epochs (with early stopping), or as many updates as the full run (epochs × N/n)", check: checks.oneOf(['epochs', 'updates']) },
  'target-mre': { type: 'string', value: 'X', defaultText: 'none', description: "learning-curve: the test MRE to reach, in the data's unit: how many annotated images are predicted to reach it", check: checks.number({ above: 0 }) },
  'annotation-minutes-per-image': { type: 'string', value: 'M', defaultText: '5', description: 'learning-curve: minutes to annotate one image (for the time and cost estimate)', check: checks.number({ above: 0 }) },
  'cost-per-hour': { type: 'string', value: 'C', defaultText: 'none', description: 'learning-curve: annotation cost per hour', check: checks.number({ min: 0 }) },
});

/** Options of `osteo experiment` that only the transfer study takes. */
export const TRANSFER_ONLY = ['target', 'source', 'arms', 'seeds', 'folds', 'source-epochs', 'lr-scratch', 'allow-missing-imagenet'];

export async function learningCurveMain(values: Flags & { out?: string; software?: boolean }, given: ReadonlySet<string>): Promise<LearningCurveResult> {
  for (const k of TRANSFER_ONLY) if (given.has(k)) throw new UsageError(`--${k} belongs to the transfer study, not to learning-curve`);
  if (typeof values.data !== 'string') throw new UsageError('--data SPEC is required');
  const out = typeof values.out === 'string' ? values.out : 'runs/learning-curve';
  checkWritableDir(out, '--out');
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const fractions = (str('fractions') ?? '0.1,0.25,0.5,1').split(',').map(Number);
  const init = str('init') ?? 'imagenet';
  const { out: _o, data: _d, split: _s, seed: _seed, ...partial } = configFromFlags(values);
  const full = withDefaults({ ...partial, data: values.data, init });
  const { data: _d2, init: _i, out: _o2, seed: _s2, split: _sp, ...base } = full;
  // Checked before a GPU: the ImageNet weights when the runs start from them.
  if (init === 'imagenet') findImagenetWeights(full.weights);
  const num = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
  return withEngine(values.software, async (engine) => {
    log(`osteo experiment learning-curve — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    const source = await resolveInit(full);
    const printer = await trainPrinter();
    try {
      return await runLearningCurve(engine, {
        data: values.data as string, fractions, repeats: num('repeats') ?? 3, init: source, initName: init, base, budget: (str('budget') ?? 'epochs') as 'epochs' | 'updates',
        testSplit: num('test-split') ?? 0.3, splitSeed: num('split-seed') ?? 0,
        ...(num('target-mre') !== undefined ? { targetMre: num('target-mre')! } : {}),
        minutesPerImage: num('annotation-minutes-per-image') ?? 5, ...(num('cost-per-hour') !== undefined ? { costPerHour: num('cost-per-hour')! } : {}),
        store: folderStore(out), prepare: (spec, o) => prepareDataSpec(spec, { ...o, log }), log, onRunProgress: (tag, p) => printer.onProgress(p, tag),
        settings: { device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback },
      });
    } finally {
      printer.stop();
    }
  });
}

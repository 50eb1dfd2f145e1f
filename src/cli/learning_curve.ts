/**
 * `osteo experiment learning-curve --data SPEC --fractions 0.1,0.25,0.5,1 …`: the host side of
 * src/report/learning_curve.ts — its options (merged into `osteo experiment`'s table), the checks
 * before a GPU, and progress on stderr. Writes OUT/learning-curve.{json,md,svg}; finished runs are
 * kept, so a killed run continues where it stopped.
 */
import { checkWritableDir } from '../node/out_dir';
import { folderStore } from '../node/store';
import { findImagenetWeights, prepareDataSpec, resolveInit } from '../node/train_io';
import { basename } from 'node:path';
import { runArms, type ArmPlan } from '../report/arms';
import { runLearningCurve, type LearningCurveResult } from '../report/learning_curve';
import type { TrainProgress } from '../train/run';
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
  init: { type: 'string', value: 'INIT[,INIT]', defaultText: 'imagenet', description: 'learning-curve: the initialisation of every run (imagenet, scratch or a checkpoint / weight file); several, comma-separated: one curve per arm (OUT/ARM/) and their comparison (OUT/arms.{json,md,svg})', check: (v, f) => { for (const x of v.split(',')) checkInit(x.trim(), f); } },
  sizes: { type: 'string', value: 'N[,N]', defaultText: 'from --fractions', description: 'learning-curve: training-set sizes in images (e.g. 5,10,20,40,80) instead of --fractions', check: checks.intList({ min: 3 }) },
  'target-annotators': { type: 'string', value: 'F', defaultText: '1.5 when the data has two annotators', description: "learning-curve: without --target-mre, the target is F × the annotators' mean disagreement (1.5: their level plus 50 %)", check: checks.number({ above: 0 }) },
  budget: { type: 'string', value: 'epochs|updates', defaultText: 'epochs', description: "learning-curve: every size gets --epochs (with early stopping), or as many updates as the full run (epochs × N/n)", check: checks.oneOf(['epochs', 'updates']) },
  'target-mre': { type: 'string', value: 'X', defaultText: 'none', description: "learning-curve: the test MRE to reach, in the data's unit: how many annotated images are predicted to reach it", check: checks.number({ above: 0 }) },
  'annotation-minutes-per-image': { type: 'string', value: 'M', defaultText: '5', description: 'learning-curve: minutes to annotate one image (for the time and cost estimate)', check: checks.number({ above: 0 }) },
  'cost-per-hour': { type: 'string', value: 'C', defaultText: 'none', description: 'learning-curve: annotation cost per hour', check: checks.number({ min: 0 }) },
});

/** Options of `osteo experiment` that only the transfer study takes. */
export const TRANSFER_ONLY = ['target', 'source', 'arms', 'seeds', 'folds', 'source-epochs', 'lr-scratch', 'allow-missing-imagenet'];

/** One arm's name: its init, a checkpoint by its file name. */
export const armName = (init: string): string => (init === 'imagenet' || init === 'scratch' ? init : `from ${basename(init).replace(/\.[^.]*$/, '')}`);

export async function learningCurveMain(values: Flags & { out?: string; software?: boolean }, given: ReadonlySet<string>): Promise<LearningCurveResult> {
  for (const k of TRANSFER_ONLY) if (given.has(k)) throw new UsageError(`--${k} belongs to the transfer study, not to learning-curve`);
  if (typeof values.data !== 'string') throw new UsageError('--data SPEC is required');
  const out = typeof values.out === 'string' ? values.out : 'runs/learning-curve';
  checkWritableDir(out, '--out');
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const fractions = (str('fractions') ?? '0.1,0.25,0.5,1').split(',').map(Number);
  const sizes = str('sizes')?.split(',').map(Number);
  const inits = (str('init') ?? 'imagenet').split(',').map((x) => x.trim()).filter(Boolean);
  if (new Set(inits).size !== inits.length) throw new UsageError(`--init lists an arm twice: ${inits.join(',')}`);
  const multi = inits.length > 1;
  const { out: _o, data: _d, split: _s, seed: _seed, ...partial } = configFromFlags(values);
  // Several arms share one recipe: the flags given over the from-scratch defaults (the same for every arm).
  const full = withDefaults({ ...partial, data: values.data, init: multi ? 'scratch' : inits[0]! });
  const { data: _d2, init: _i, out: _o2, seed: _s2, split: _sp, ...base } = full;
  const num = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
  // Checked before a GPU: the ImageNet weights when the (only) arm starts from them.
  if (!multi && inits[0] === 'imagenet') findImagenetWeights(full.weights);
  return withEngine(values.software, async (engine) => {
    log(`osteo experiment learning-curve — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    const printer = await trainPrinter();
    const store = folderStore(out);
    const common = {
      data: values.data as string, fractions, ...(sizes ? { sizes } : {}), repeats: num('repeats') ?? 3, base, budget: (str('budget') ?? 'epochs') as 'epochs' | 'updates',
      testSplit: num('test-split') ?? 0.3, splitSeed: num('split-seed') ?? 0,
      ...(num('target-mre') !== undefined ? { targetMre: num('target-mre')! } : { targetFromAnnotators: num('target-annotators') ?? 1.5 }),
      minutesPerImage: num('annotation-minutes-per-image') ?? 5, ...(num('cost-per-hour') !== undefined ? { costPerHour: num('cost-per-hour')! } : {}),
      prepare: (spec: string, o: { size: number; strict: boolean; limit?: number }) => prepareDataSpec(spec, { ...o, log }), log,
      onRunProgress: (tag: string, p: TrainProgress) => printer.onProgress(p, tag),
      settings: { device: engine.adapter.description || engine.adapter.architecture, fallback: engine.adapter.fallback },
    };
    try {
      if (!multi) return await runLearningCurve(engine, { ...common, store, init: await resolveInit(full), initName: inits[0]! });
      const plans: ArmPlan[] = inits.map((init) => {
        const name = armName(init);
        const why = init === 'imagenet' ? imagenetArmBlocked(engine.adapter.fallback, full) : undefined;
        return why ? { name, init, notRun: why } : { name, init, source: () => resolveInit({ ...full, init }) };
      });
      const device = `${engine.adapter.description || engine.adapter.architecture}${engine.adapter.fallback ? ' (software fallback)' : ''}`;
      return (await runArms(engine, plans, { ...common, store, device })).last;
    } finally {
      printer.stop();
    }
  });
}


/**
 * Why the ImageNet arm cannot run here, or undefined. ImageNet weights need the full-width encoder
 * (blocks 1–3 at 64/128/256 channels): on the CPU fallback one such step at 128 px takes over a
 * minute, so a grid of runs there would take days. Narrow widths cannot take ImageNet weights.
 */
function imagenetArmBlocked(fallback: boolean, c: ReturnType<typeof withDefaults>): string | undefined {
  const why: string[] = [];
  if (c.widths && c.widths[0] !== 64) why.push(`the ImageNet weights need the full-width encoder (64 channels in block 1); these runs use widths ${c.widths.slice(0, 3).join(',')}…`);
  if (fallback) why.push('a full-width training step at 128 px takes over a minute on the CPU fallback (SwiftShader), days for a grid of runs: run this arm on a GPU (bench/gpu_site_study.ts)');
  try {
    findImagenetWeights(c.weights);
  } catch {
    why.push('and no ImageNet VGG19 weight file was given (--weights FILE) or found under weights/');
  }
  return why.length ? why.join('; ') : undefined;
}

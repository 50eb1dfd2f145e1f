/**
 * The learning curve (host-neutral): how test error falls with the number of annotated training
 * images, and how many would reach a target. Runs train on growing, nested subsets of the training
 * split (repeat r draws one seeded order of the training pool; fraction f takes its first
 * round(f·N) images, so each subset contains the smaller ones), with the same recipe, budget rule
 * and seed r across fractions, and every run is scored with its best-validation checkpoint on the
 * same fixed test split. MRE(n) = a·n^(−b) + c is fitted with a bootstrap over the repeats
 * (src/report/powerlaw.ts). Each finished run keeps done.json and test.json in its folder
 * (n-N/rep-R/), so a killed study continues where it stopped, finished runs kept; an interrupted run
 * resumes from its last checkpoint. Writes learning-curve.json, learning-curve.md and
 * learning-curve.svg into the store.
 */
import type { AnnotatorAgreement } from '../data/annotators';
import type { Engine } from '../gpu/engine';
import { mixSeed } from '../nn/random';
import { ConfigError, withDefaults, type TrainConfig } from '../train/config';
import { CHECKPOINT_BEST } from '../train/checkpoint';
import { permutation } from '../nn/random';
import { evaluateCheckpoint, predictorFromCheckpoint } from '../train/evaluate';
import { readStoredCheckpoint, targetSplits, trainResumable } from '../train/experiment';
import { fmt, round } from '../train/format';
import type { InitSource } from '../train/init';
import { selectIds, type PreparedData } from '../train/prepare';
import type { TrainProgress } from '../train/run';
import { substore, utf8, type RunStore } from '../train/store';
import { learningCurveSvg } from './charts';
import { bootstrapPowerLaw, predictTarget, type PowerLaw, type PowerLawFit, type TargetPrediction } from './powerlaw';
import { mean, sd } from '../util/stats';
import { collectionEstimate, type CollectionEstimate } from './verdict';

export interface LearningCurveOptions {
  /** Data spec of the annotated images. */
  data: string;
  /** Fractions of the training pool, in (0, 1]. */
  fractions: number[];
  /** Training-set sizes (images) instead of fractions: each at most the pool. */
  sizes?: number[];
  repeats: number;
  /** The initialisation every run starts from, and its name for the results (imagenet, scratch, a file). */
  init: InitSource;
  initName: string;
  /** The recipe shared by every run (lr included). */
  base: Omit<TrainConfig, 'data' | 'init' | 'out' | 'seed'>;
  /**
   * 'epochs': the same epoch budget (and early stopping) for every size; 'updates': epochs scaled by N/n so every run
   * gets as many updates as the full one.
   */
  budget: 'epochs' | 'updates';
  testSplit: number;
  splitSeed: number;
  /** Target test MRE in the data's unit. */
  targetMre?: number;
  /**
   * Without targetMre, on data marked by two annotators: the target is this multiple of their mean
   * disagreement (e.g. 1.5: the annotators' level plus 50 %).
   */
  targetFromAnnotators?: number;
  minutesPerImage: number;
  costPerHour?: number;
  bootstrapReps?: number;
  store: RunStore;
  prepare: (spec: string, opts: { size: number; strict: boolean; limit?: number }) => PreparedData | Promise<PreparedData>;
  log?: (line: string) => void;
  onRunProgress?: (tag: string, p: TrainProgress) => void;
  signal?: AbortSignal;
  /** Extra fields for the settings block (the device). */
  settings?: Record<string, unknown>;
}

export interface CurveRow {
  fraction: number;
  n: number;
  repeat: number;
  seed: number;
  testImages: number;
  mre: number;
  std: number;
  median: number;
  sdr: Record<string, number>;
  epochs: number;
  bestEpoch: number;
  seconds: number;
  /** The run's best checkpoint, relative to the study folder (n-N/rep-R/checkpoint-best.safetensors). */
  checkpoint: string;
}

/** learning-curve.json: what `osteo report --learning-curve` reads. */
export interface LearningCurveDoc {
  kind: 'osteo-learning-curve';
  title: string;
  data: string;
  unit: 'mm' | 'px';
  /** Annotated images in the training pool (fraction 1). */
  poolImages: number;
  testImages: number;
  describeSplit: string;
  init: string;
  budget: 'epochs' | 'updates';
  fractions: number[];
  repeats: number;
  rows: CurveRow[];
  /** Mean and SD of the test MRE per size. */
  bySize: { n: number; runs: number; mre: number; sd: number }[];
  fit: (PowerLawFit & { method: string; reps: number; seed: number }) | null;
  /** Bootstrap replicates [a, b, c] (a report asks them about its own target). */
  samples: [number, number, number][];
  target: number | null;
  /** Why that target (given, or derived from the annotators' disagreement). */
  targetWhy: string | null;
  /** The annotators' disagreement on this data (the floor of any measurement), when it has two. */
  annotators: AnnotatorAgreement | null;
  prediction: TargetPrediction | null;
  collection: CollectionEstimate | null;
  minutesPerImage: number;
  costPerHour: number | null;
  notes: string[];
  settings: Record<string, unknown>;
}

export interface LearningCurveResult {
  doc: LearningCurveDoc;
  files: { json: string; markdown: string; plot: string };
}

/** Training images at fraction f of a pool of N (at least 3: a validation image and two to train on). */
export const subsetSize = (f: number, pool: number): number => Math.min(pool, Math.max(3, Math.round(f * pool)));

/** Runs (or continues) the learning curve. */
export async function runLearningCurve(engine: Engine, o: LearningCurveOptions): Promise<LearningCurveResult> {
  const store = o.store;
  const log = o.log ?? (() => undefined);
  if (o.sizes && (!o.sizes.length || o.sizes.some((n) => !(Number.isInteger(n) && n >= 3)))) throw new ConfigError(`--sizes must be whole numbers of images, at least 3 each, got ${o.sizes.join(',')}`);
  if (!o.sizes && (!o.fractions.length || o.fractions.some((f) => !(f > 0 && f <= 1)))) throw new ConfigError(`--fractions must be numbers in (0, 1], got ${o.fractions.join(',')}`);
  if (!(Number.isInteger(o.repeats) && o.repeats >= 1)) throw new ConfigError(`--repeats must be a positive integer, got ${o.repeats}`);
  const fractions = [...new Set(o.fractions)].sort((a, b) => a - b);
  const prep = { size: o.base.size, strict: o.base.strict, ...(o.base.limit !== undefined ? { limit: o.base.limit } : {}) };
  const data = await o.prepare(o.data, prep);
  const { splits, describe } = targetSplits(data, { testSplit: o.testSplit, splitSeed: o.splitSeed });
  const { train: pool, test } = splits[0]!;
  if (pool.length < 3) throw new ConfigError(`${o.data}: ${pool.length} training images; a learning curve needs at least 3`);
  const testSet = selectIds(data, test);
  const notes = [
    `Data ${o.data}: ${data.set.images.length} images, K=${data.k}, errors in ${data.unit}; ${describe}. Every run is scored on the same ${test.length} test images.`,
    `Nested subsets of the ${pool.length} training images: repeat r draws one seeded order of them and each fraction takes its first images; training seed r for every fraction of repeat r.`,
    `Budget: ${o.budget === 'epochs' ? `at most ${o.base.epochs} epochs for every size` : `the full run's updates for every size (${o.base.epochs} epochs × N/n)`}, ${o.base.schedule === 'cosine' ? 'cosine learning-rate decay over the run' : o.base.schedule === 'step' ? `step decay (×${o.base.gamma ?? 0.1} every ${o.base.stepSize} epochs)` : `ReduceLROnPlateau(0.5, ${o.base.patience})`}, early stop ${o.base.earlyStop}, validation fraction ${o.base.valSplit}; each run scored with its best-validation checkpoint. Init: ${o.initName}.`,
  ];
  const rows: CurveRow[] = [];
  const agreement = data.annotators?.agreement ?? null;
  if (agreement) notes.push(`The annotators ${agreement.annotators.join(' and ')} differ by ${fmt(agreement.mean)} ${agreement.unit} on average over the ${agreement.images} images both marked: no model can be measured below this.`);
  let target = o.targetMre, targetWhy: string | null = o.targetMre !== undefined ? 'given' : null;
  if (target === undefined && o.targetFromAnnotators !== undefined && agreement && agreement.unit === data.unit) {
    target = o.targetFromAnnotators * agreement.mean;
    targetWhy = `${o.targetFromAnnotators} × the annotators' mean disagreement of ${fmt(agreement.mean)} ${agreement.unit}`;
  }
  const sizes = o.sizes
    ? [...new Set(o.sizes.map((n) => Math.min(n, pool.length)))].sort((a, b) => a - b)
    : [...new Set(fractions.map((f) => subsetSize(f, pool.length)))];
  if (o.sizes && o.sizes.some((n) => n > pool.length)) notes.push(`Sizes above the ${pool.length} training images were run at ${pool.length}.`);
  if (!o.sizes && sizes.length < fractions.length) notes.push(`Some fractions give the same number of images (at least 3 each): sizes ${sizes.join(', ')}.`);
  for (let rep = 1; rep <= o.repeats; rep++) {
    const order = permutation(pool.length, mixSeed(o.splitSeed, rep, 0x1c));
    for (const n of sizes) {
      o.signal?.throwIfAborted();
      const fraction = n / pool.length;
      const chosen = new Set(order.slice(0, n).map((i) => pool[i]!));
      const ids = pool.filter((id) => chosen.has(id));
      const dir = `n-${n}/rep-${rep}`;
      const epochs = o.budget === 'updates' ? Math.min(o.base.epochs * 20, Math.ceil((o.base.epochs * pool.length) / n)) : o.base.epochs;
      const c = withDefaults({ ...o.base, epochs, data: o.data, init: o.initName, out: store.locate(dir), seed: rep });
      const tag = `n ${n} rep ${rep}`;
      log(`[${tag}] training on ${n}/${pool.length} images (fraction ${round(fraction, 3)})`);
      const r = await trainResumable(engine, {
        store, dir, config: c, init: o.init, data, ids, tag, log,
        ...(o.onRunProgress ? { onProgress: (p: TrainProgress) => o.onRunProgress!(tag, p) } : {}), ...(o.signal ? { signal: o.signal } : {}),
      });
      const run = substore(store, dir);
      const key = JSON.stringify({ best: r.best, bestEpoch: r.bestEpoch, epochs: r.epochs, test });
      let row: CurveRow | undefined;
      const kept = await run.read('test.json');
      if (kept) {
        try {
          const d = JSON.parse(new TextDecoder().decode(kept)) as { key: string; row: CurveRow };
          // a row kept by an older version named the checkpoint by its absolute path: always the study-relative one
          if (d.key === key) row = { ...d.row, checkpoint: `${dir}/${CHECKPOINT_BEST}` };
        } catch {
          /* score again */
        }
      }
      if (!row) {
        const p = predictorFromCheckpoint(engine, await readStoredCheckpoint(store, `${dir}/${CHECKPOINT_BEST}`), { decode: o.base.decode, batch: o.base.batch });
        try {
          const ev = await evaluateCheckpoint(p, testSet);
          row = {
            fraction: round(fraction, 4), n, repeat: rep, seed: rep, testImages: test.length, mre: ev.overall.mre, std: ev.overall.std, median: ev.overall.median, sdr: ev.overall.sdr,
            epochs: r.epochs, bestEpoch: r.bestEpoch, seconds: r.seconds, checkpoint: `${dir}/${CHECKPOINT_BEST}`,
          };
        } finally {
          p.dispose();
        }
        await run.write('test.json', utf8(`${JSON.stringify({ key, row })}\n`));
      }
      rows.push(row);
      log(`[${tag}] test MRE ${fmt(row.mre)} ± ${fmt(row.std)} ${data.unit}`);
    }
  }
  const doc = summariseCurve({ o: { ...o, ...(target !== undefined ? { targetMre: target } : {}) }, data, rows, sizes, poolImages: pool.length, testImages: test.length, describe, notes, targetWhy, agreement });
  const files = { json: store.locate('learning-curve.json'), markdown: store.locate('learning-curve.md'), plot: store.locate('learning-curve.svg') };
  await store.write('learning-curve.json', utf8(`${JSON.stringify(doc, null, 2)}\n`));
  await store.write('learning-curve.md', utf8(learningCurveMarkdown(doc)));
  await store.write('learning-curve.svg', utf8(learningCurveSvg(doc)));
  log(`wrote ${files.markdown}, ${files.json}, ${files.plot}`);
  return { doc, files };
}

function summariseCurve(a: { o: LearningCurveOptions; data: PreparedData; rows: CurveRow[]; sizes: number[]; poolImages: number; testImages: number; describe: string; notes: string[]; targetWhy: string | null; agreement: AnnotatorAgreement | null }): LearningCurveDoc {
  const { o, rows } = a;
  const bySize = a.sizes.map((n) => {
    const v = rows.filter((r) => r.n === n).map((r) => r.mre);
    return { n, runs: v.length, mre: round(mean(v), 4), sd: round(sd(v), 4) };
  });
  let fit: LearningCurveDoc['fit'] = null;
  let samples: PowerLaw[] = [];
  let prediction: TargetPrediction | null = null;
  let collection: CollectionEstimate | null = null;
  if (a.sizes.length >= 3) {
    const b = bootstrapPowerLaw(rows.map((r) => ({ n: r.n, mre: r.mre })), { reps: o.bootstrapReps ?? 400, seed: o.splitSeed + 1 });
    fit = { ...b.fit, method: b.method, reps: b.reps, seed: b.seed };
    samples = b.samples;
    a.notes.push(`Fit MRE(n) = a·n^(−b) + c by least squares (a, b, c ≥ 0): a = ${fmt(b.fit.a)}, b = ${fmt(b.fit.b)}, c = ${fmt(b.fit.c)} ${a.data.unit}, RMS residual ${fmt(b.fit.rmse)}; uncertainty from ${b.samples.length} bootstrap refits over the ${b.method}.`);
    if (b.fit.b >= 2.99 || b.fit.b <= 0.011) a.notes.push(`The exponent b = ${fmt(b.fit.b)} sits at the edge of its range [0.01, 3]: the measured sizes barely constrain the curve's shape (measure more sizes or repeats); the asymptote c is the better-determined part.`);
    if (o.targetMre !== undefined) {
      prediction = predictTarget(b, o.targetMre);
      collection = collectionEstimate(prediction, { unit: a.data.unit, currentImages: a.poolImages, minutesPerImage: o.minutesPerImage, ...(o.costPerHour !== undefined ? { costPerHour: o.costPerHour } : {}), asymptote: b.fit.c });
    }
  } else a.notes.push(`No fit: runs at ${a.sizes.length} training-set size(s); the power law needs three or more (give more --fractions).`);
  return {
    kind: 'osteo-learning-curve', title: `Learning curve: ${o.data}`, data: o.data, unit: a.data.unit, poolImages: a.poolImages, testImages: a.testImages, describeSplit: a.describe,
    init: o.initName, budget: o.budget, fractions: o.fractions, repeats: o.repeats,
    rows: rows.map((r) => ({ ...r, mre: round(r.mre, 4), std: round(r.std, 4), median: round(r.median, 4), sdr: Object.fromEntries(Object.entries(r.sdr).map(([k, v]) => [k, round(v, 2)])), seconds: round(r.seconds, 1) })),
    bySize, fit, samples: samples.map((s) => [round(s.a, 6), round(s.b, 6), round(s.c, 6)]), target: o.targetMre ?? null, targetWhy: a.targetWhy, annotators: a.agreement, prediction, collection,
    minutesPerImage: o.minutesPerImage, costPerHour: o.costPerHour ?? null, notes: a.notes,
    settings: { ...o.base, fractions: o.fractions, ...(o.sizes ? { sizes: o.sizes } : {}), repeats: o.repeats, budget: o.budget, testSplit: o.testSplit, splitSeed: o.splitSeed, init: o.initName, ...(o.settings ?? {}) },
  };
}

/** How far past the measured pool a predicted image count is still quoted as a number to plan on. */
export const FAR = 100;

const n0 = (v: number): string => (Number.isFinite(v) ? Math.ceil(v).toLocaleString('en') : '∞');

/** A sentence about the prediction (markdown and the report). */
export function predictionSentence(p: TargetPrediction, c: CollectionEstimate | null, unit: string): string {
  // a fit extrapolated far past the measured sizes says nothing usable about how many images
  if (c && Number.isFinite(p.images) && p.images > FAR * Math.max(1, c.currentImages)) {
    return `MRE ${fmt(p.target, 2)} ${unit} is not reached within ${FAR}× the ${c.currentImages} measured images: the fit would need about ${n0(p.images)}, an extrapolation too far to plan on — more images of this kind are no practical way to reach it.`;
  }
  if (!Number.isFinite(p.images)) return `MRE ${fmt(p.target, 2)} ${unit} is not reached by more data of this kind: the curve levels off at c = ${fmt(c?.asymptote, 3)} ${unit} (${(100 * p.unreachableShare).toFixed(0)}% of bootstrap refits agree).`;
  const more = c ? `: ${n0(c.moreImages)} more than the ${c.currentImages} measured (95% interval ${n0(c.moreImagesLo)}–${n0(c.moreImagesHi)}), about ${c.hours.toFixed(1)} h of annotation at ${c.minutesPerImage} min per image${c.cost !== undefined ? `, cost ${c.cost.toFixed(0)} at ${c.costPerHour} per hour` : ''}` : '';
  return `MRE ${fmt(p.target, 2)} ${unit} is predicted at ${n0(p.images)} annotated images (95% interval ${n0(p.lo)}–${n0(p.hi)}; ${(100 * p.unreachableShare).toFixed(0)}% of bootstrap refits never reach it)${more}.`;
}

/** learning-curve.md */
export function learningCurveMarkdown(d: LearningCurveDoc): string {
  const u = d.unit;
  const keys = Object.keys(d.rows[0]?.sdr ?? {}).sort((a, b) => Number(a) - Number(b));
  const lines = [`# ${d.title}`, '', ...d.notes.map((n) => `- ${n}`), ''];
  if (d.prediction) lines.push('## Prediction', '', predictionSentence(d.prediction, d.collection, u), '');
  lines.push('## Test MRE by training-set size', '', `| training images | runs | MRE (${u}) mean | SD over runs |`, '|---|---|---|---|', ...d.bySize.map((s) => `| ${s.n} | ${s.runs} | ${fmt(s.mre)} | ${fmt(s.sd)} |`), '');
  lines.push('## Runs', '', `| n | repeat | MRE (${u}) | std | median | ${keys.map((k) => `SDR ${k} ${u}`).join(' | ')} | epochs | best epoch |`, `|---|---|---|---|---|${keys.map(() => '---|').join('')}---|---|`,
    ...d.rows.map((r) => `| ${r.n} | ${r.repeat} | ${fmt(r.mre)} | ${fmt(r.std)} | ${fmt(r.median)} | ${keys.map((k) => `${fmt(r.sdr[k], 1)}%`).join(' | ')} | ${r.epochs} | ${r.bestEpoch} |`), '');
  lines.push('![learning curve](learning-curve.svg)', '');
  return lines.join('\n');
}

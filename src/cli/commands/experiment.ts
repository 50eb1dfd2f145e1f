/**
 * `osteo experiment transfer --target SPEC --source SPEC[,SPEC] …`: the study of Di Via et al.
 * (ISBI 2024) on the user's data. Three arms with the same target budget (epochs, batch, schedule,
 * early stopping), the same seeds and the same train / validation / test items:
 *   imagenet  — ImageNet VGG19 encoder → fine-tune on the target;
 *   indomain  — ImageNet → fine-tune on the source set(s) (in order, a new head for each K) →
 *               fine-tune on the target (new head);
 *   scratch   — random init → train on the target (its own lr, default 10x: the authors' 1e-4).
 * Each run keeps its best-validation checkpoint, which is scored on the held-out target test
 * items: the 'train' split's complement when the target defines one (ISBI 2015: Test1 + Test2),
 * k folds with --folds K, else a fixed seeded --test-split fraction. Writes OUT/results.json,
 * OUT/results.md (MRE ± std and SDR per arm, seed and fold; means per arm; paired differences)
 * and OUT/transfer.svg (test MRE per arm, validation curves). Finished runs are reused when the
 * command is run again with the same settings; an interrupted run resumes from its last checkpoint.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Engine } from '../../gpu/engine';
import type { Evaluation } from '../../landmarks/metrics';
import { CHECKPOINT_LAST, loadCheckpoint, type EpochRecord } from '../../node/checkpoint';
import { writeFileAtomic } from '../../node/weights_io';
import { kFolds, permutation } from '../../train/data';
import { didYouMean } from '../../data/suggest';
import { UsageError, type Command } from '../command';
import { DATA_SPEC_SECTION } from '../help';
import { checks, checkSpec, defineOptions, parseOptions } from '../options';
import { evaluateCheckpoint, loadPredictor } from './eval';
import {
  findImagenetWeights, log, MissingWeightsError, prepareData, RECIPE_OPTIONS, round, runTraining, selectData, withDefaults, withEngine,
  type PreparedData, type TrainConfig,
} from './train';

export type Arm = 'imagenet' | 'indomain' | 'scratch';
export const ARMS: readonly Arm[] = ['imagenet', 'indomain', 'scratch'];
export const ARM_LABELS: Record<Arm, string> = {
  imagenet: 'ImageNet → target',
  indomain: 'ImageNet → source → target',
  scratch: 'scratch → target',
};

export interface RunRow {
  arm: Arm;
  seed: number;
  fold: number | null;
  testImages: number;
  unit: 'mm' | 'px';
  mre: number;
  std: number;
  median: number;
  sdr: Record<string, number>;
  epochs: number;
  bestEpoch: number;
  bestValMre: number | null;
  seconds: number;
  checkpoint: string;
  /** Validation MRE per epoch (for the curves). */
  valCurve: number[];
}

export interface ArmSummary {
  arm: Arm;
  label: string;
  runs: number;
  mre: number;
  /** Standard deviation of the runs' MREs (over seeds and folds). */
  mreStd: number;
  /** Mean of the runs' within-run error std. */
  errorStd: number;
  sdr: Record<string, number>;
}

interface Split {
  fold: number | null;
  train: string[];
  test: string[];
}

const mean = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const sd = (v: number[]): number => {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

function parseIntList(s: string, what: string): number[] {
  const v = s.split(',').filter((x) => x.trim() !== '').map((x) => Number(x));
  if (!v.length || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new UsageError(`--${what} expects non-negative integers separated by commas, got '${s}'`);
  return v;
}

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
  if (!(opts.testSplit > 0 && opts.testSplit < 1)) throw new UsageError(`--test-split must be in (0, 1), got ${opts.testSplit}`);
  const p = permutation(ids.length, opts.splitSeed * 17 + 11);
  const nTest = Math.min(ids.length - 2, Math.max(1, Math.round(ids.length * opts.testSplit)));
  if (nTest < 1 || ids.length - nTest < 2) throw new UsageError(`target has ${ids.length} images: too few to hold out a test set`);
  const testIdx = new Set(p.slice(0, nTest));
  return {
    splits: [{ fold: null, train: ids.filter((_, i) => !testIdx.has(i)), test: ids.filter((_, i) => testIdx.has(i)) }],
    describe: `held-out test fraction ${opts.testSplit}: train ${ids.length - nTest}, test ${nTest} (split seed ${opts.splitSeed})`,
  };
}

function summarise(rows: RunRow[], arms: Arm[]): ArmSummary[] {
  return arms.flatMap((arm) => {
    const r = rows.filter((x) => x.arm === arm);
    if (!r.length) return [];
    const keys = sdrKeys(r[0]!.sdr);
    return [{
      arm, label: ARM_LABELS[arm], runs: r.length, mre: mean(r.map((x) => x.mre)), mreStd: sd(r.map((x) => x.mre)), errorStd: mean(r.map((x) => x.std)),
      sdr: Object.fromEntries(keys.map((k) => [k, mean(r.map((x) => x.sdr[k]!))])),
    }];
  });
}

/** Paired differences of test MRE between two arms over the runs they share (same seed and fold). */
function paired(rows: RunRow[], a: Arm, b: Arm): { n: number; mean: number; sd: number } | null {
  const key = (r: RunRow) => `${r.seed}/${r.fold}`;
  const rb = new Map(rows.filter((r) => r.arm === b).map((r) => [key(r), r]));
  const d = rows.filter((r) => r.arm === a && rb.has(key(r))).map((r) => r.mre - rb.get(key(r))!.mre);
  return d.length ? { n: d.length, mean: mean(d), sd: sd(d) } : null;
}

/** SDR thresholds in numeric order (object keys put '2.5' after the integers). */
const sdrKeys = (o: Record<string, number>): string[] => Object.keys(o).sort((a, b) => Number(a) - Number(b));

/** JSON with short number arrays on one line. */
const prettyJson = (v: unknown): string => JSON.stringify(v, null, 2).replace(/\[\s+([-\d.e,\s]+?)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`);

const f = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

export function markdownReport(doc: { title: string; rows: RunRow[]; summary: ArmSummary[]; notes: string[]; settings: Record<string, unknown>; unit: string; thresholds: string[] }): string {
  const u = doc.unit;
  const sdrHead = doc.thresholds.map((t) => `SDR ${t} ${u}`);
  const lines = [
    `# ${doc.title}`,
    '',
    ...doc.notes.map((n) => `- ${n}`),
    '',
    '## Summary (test set, mean over runs)',
    '',
    `| arm | runs | MRE (${u}) | ± std over runs | mean error std | ${sdrHead.join(' | ')} |`,
    `|---|---|---|---|---|${sdrHead.map(() => '---').join('|')}|`,
    ...doc.summary.map((s) => `| ${s.label} | ${s.runs} | ${f(s.mre)} | ${f(s.mreStd)} | ${f(s.errorStd)} | ${doc.thresholds.map((t) => `${f(s.sdr[t]!, 1)}%`).join(' | ')} |`),
    '',
  ];
  const pairs: [Arm, Arm][] = [['indomain', 'imagenet'], ['imagenet', 'scratch'], ['indomain', 'scratch']];
  const diff = pairs.flatMap(([a, b]) => {
    const p = paired(doc.rows, a, b);
    return p ? [`| ${ARM_LABELS[a]} − ${ARM_LABELS[b]} | ${p.n} | ${f(p.mean)} | ${f(p.sd)} |`] : [];
  });
  if (diff.length) {
    lines.push('## Paired differences of test MRE (same seed and fold; negative: the first arm is better)', '', `| comparison | pairs | mean Δ (${u}) | std |`, '|---|---|---|---|', ...diff, '');
  }
  lines.push(
    '## Runs',
    '',
    `| arm | seed | fold | test images | MRE (${u}) | std | median | ${sdrHead.join(' | ')} | epochs | best epoch | best val MRE |`,
    `|---|---|---|---|---|---|---|${sdrHead.map(() => '---').join('|')}|---|---|---|`,
    ...doc.rows.map((r) => `| ${r.arm} | ${r.seed} | ${r.fold ?? '-'} | ${r.testImages} | ${f(r.mre)} | ${f(r.std)} | ${f(r.median)} | ${doc.thresholds.map((t) => `${f(r.sdr[t]!, 1)}%`).join(' | ')} | ${r.epochs} | ${r.bestEpoch} | ${r.bestValMre === null ? 'n/a' : f(r.bestValMre)} |`),
    '',
    '## Settings',
    '',
    '```json',
    prettyJson(doc.settings),
    '```',
    '',
  );
  return lines.join('\n');
}

const COLOURS: Record<Arm, string> = { imagenet: '#1f77b4', indomain: '#2ca02c', scratch: '#d62728' };
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels: test MRE per arm (bar = mean, whisker = ± std over runs, dots = runs) and validation MRE per epoch (mean over runs). */
export function svgPlot(rows: RunRow[], summary: ArmSummary[], unit: string, title: string): string {
  const W = 960, H = 420, pad = 56;
  const pw = (W - 3 * pad) / 2, ph = H - 2 * pad - 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  const axes = (x0: number, y0: number, ymax: number, label: string, xlabel: string) => {
    out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + ph}" stroke="#333"/>`, `<line x1="${x0}" y1="${y0 + ph}" x2="${x0 + pw}" y2="${y0 + ph}" stroke="#333"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4, y = y0 + ph - (ph * i) / 4;
      out.push(`<line x1="${x0 - 4}" y1="${y}" x2="${x0 + pw}" y2="${y}" stroke="#ddd"/>`, `<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${f(v, 2)}</text>`);
    }
    out.push(`<text transform="translate(${x0 - 42},${y0 + ph / 2}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`);
    out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 34}" text-anchor="middle">${esc(xlabel)}</text>`);
  };
  const y0 = pad + 10;
  // Panel 1: bars.
  const x1 = pad;
  const ymax1 = Math.max(1e-9, ...rows.map((r) => r.mre), ...summary.map((s) => s.mre + s.mreStd)) * 1.15;
  axes(x1, y0, ymax1, `test MRE (${unit})`, 'arm');
  const bw = pw / Math.max(1, summary.length);
  const Y1 = (v: number) => y0 + ph - (ph * v) / ymax1;
  summary.forEach((s, i) => {
    const cx = x1 + bw * (i + 0.5);
    out.push(`<rect x="${cx - bw * 0.3}" y="${Y1(s.mre)}" width="${bw * 0.6}" height="${y0 + ph - Y1(s.mre)}" fill="${COLOURS[s.arm]}" fill-opacity="0.55"/>`);
    out.push(`<line x1="${cx}" y1="${Y1(Math.max(0, s.mre - s.mreStd))}" x2="${cx}" y2="${Y1(s.mre + s.mreStd)}" stroke="#000"/>`);
    out.push(`<text x="${cx}" y="${Y1(s.mre) - 6}" text-anchor="middle">${f(s.mre)}</text>`);
    rows.filter((r) => r.arm === s.arm).forEach((r, j, a) => {
      const dx = a.length > 1 ? ((j / (a.length - 1)) - 0.5) * bw * 0.3 : 0;
      out.push(`<circle cx="${cx + dx}" cy="${Y1(r.mre)}" r="3" fill="#000"/>`);
    });
    out.push(`<text x="${cx}" y="${y0 + ph + 16}" text-anchor="middle">${esc(ARM_LABELS[s.arm])}</text>`);
  });
  // Panel 2: validation curves.
  const x2 = 2 * pad + pw;
  const curves = summary.map((s) => {
    const rs = rows.filter((r) => r.arm === s.arm);
    const n = Math.max(0, ...rs.map((r) => r.valCurve.length));
    const c: number[] = [];
    for (let e = 0; e < n; e++) {
      const v = rs.map((r) => r.valCurve[e]).filter((x): x is number => x !== undefined && Number.isFinite(x));
      c.push(mean(v));
    }
    return { arm: s.arm, c };
  });
  const maxEpoch = Math.max(1, ...curves.map((c) => c.c.length));
  const ymax2 = Math.max(1e-9, ...curves.flatMap((c) => c.c.filter(Number.isFinite))) * 1.1;
  axes(x2, y0, ymax2, `validation MRE (${unit})`, 'epoch');
  const X2 = (e: number) => x2 + (maxEpoch <= 1 ? pw / 2 : (pw * (e - 1)) / (maxEpoch - 1));
  const Y2 = (v: number) => y0 + ph - (ph * v) / ymax2;
  for (let e = 1; e <= maxEpoch; e += Math.max(1, Math.ceil(maxEpoch / 10))) out.push(`<text x="${X2(e)}" y="${y0 + ph + 16}" text-anchor="middle">${e}</text>`);
  curves.forEach(({ arm, c }, i) => {
    const pts = c.map((v, e) => (Number.isFinite(v) ? `${X2(e + 1).toFixed(1)},${Y2(v).toFixed(1)}` : '')).filter(Boolean);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${COLOURS[arm]}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${COLOURS[arm]}"/>`);
    }
    out.push(`<rect x="${x2 + pw - 190}" y="${y0 + 8 + i * 18}" width="12" height="12" fill="${COLOURS[arm]}"/>`, `<text x="${x2 + pw - 172}" y="${y0 + 18 + i * 18}">${esc(ARM_LABELS[arm])}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

interface ExperimentOptions {
  target: string;
  sources: string[];
  seeds: number[];
  arms: Arm[];
  out: string;
  base: Omit<TrainConfig, 'data' | 'init' | 'out' | 'seed' | 'lr'>;
  lr: number;
  lrScratch: number;
  sourceEpochs: number;
  folds?: number;
  testSplit: number;
  splitSeed: number;
  weights?: string;
  allowMissingImagenet: boolean;
  software?: boolean;
}

export interface ExperimentResult {
  out: string;
  rows: RunRow[];
  summary: ArmSummary[];
  notes: string[];
  skippedArms: Arm[];
  files: { json: string; markdown: string; plot: string };
}

function settingsKey(o: unknown): string {
  return JSON.stringify(o);
}

async function writeText(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Runs the whole study on one engine. */
export async function runExperiment(engine: Engine, o: ExperimentOptions): Promise<ExperimentResult> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const notes: string[] = [];
  const skippedArms: Arm[] = [];
  let arms = [...o.arms];
  let weights: string | undefined;
  if (arms.some((a) => a !== 'scratch')) {
    try {
      weights = findImagenetWeights(o.weights);
    } catch (e) {
      if (!(e instanceof MissingWeightsError)) throw e;
      if (!o.allowMissingImagenet) {
        throw new MissingWeightsError(`${e.message} The imagenet and indomain arms need them; pass --allow-missing-imagenet to run the scratch arm alone.`);
      }
      const skip = arms.filter((a) => a !== 'scratch');
      skippedArms.push(...skip);
      arms = arms.filter((a) => a === 'scratch');
      notes.push(`**ImageNet weights missing: arms ${skip.join(', ')} were skipped** (--allow-missing-imagenet). ${e.message}`);
      log(`WARNING: ImageNet weights missing; skipping arms ${skip.join(', ')}`);
    }
  }
  if (!arms.length) throw new UsageError('no arm left to run');
  if (weights) notes.push(`ImageNet weights: ${weights}`);

  const size = o.base.size;
  const target = prepareData(o.target, { size, strict: o.base.strict, ...(o.base.limit !== undefined ? { limit: o.base.limit } : {}) });
  const { splits, describe } = targetSplits(target, { ...(o.folds ? { folds: o.folds } : {}), testSplit: o.testSplit, splitSeed: o.splitSeed });
  notes.push(`Target ${o.target}: ${target.set.images.length} images, K=${target.k}, errors in ${target.unit}${target.skipped ? `, ${target.skipped} bad item(s) skipped` : ''}; test set: ${describe}.`);
  notes.push(`Same budget for every arm on the target: at most ${o.base.epochs} epochs, batch ${o.base.batch} × accum ${o.base.accum}, ReduceLROnPlateau(0.5, ${o.base.patience}), early stop ${o.base.earlyStop}, validation fraction ${o.base.valSplit} of the training items; lr ${o.lr} (ImageNet / in-domain init), ${o.lrScratch} (scratch). Each run is scored with its best-validation checkpoint.`);
  const sources = arms.includes('indomain') ? o.sources.map((s) => prepareData(s, { size, strict: o.base.strict, ...(o.base.limit !== undefined ? { limit: o.base.limit } : {}) })) : [];
  if (arms.includes('indomain')) {
    notes.push(`In-domain pre-training: ImageNet → ${o.sources.map((s, i) => `${s} (${sources[i]!.set.images.length} images, K=${sources[i]!.k})`).join(' → ')}, ${o.sourceEpochs} epochs at most per source, new head for each set; then the target.`);
  }
  notes.push(`Seeds ${o.seeds.join(', ')}: a seed fixes the initialisation of new layers, the validation split, the data order and the augmentation; arms with the same seed see the same items in the same order.`);

  const rows: RunRow[] = [];
  const base = (seed: number, init: string, dir: string, lr: number, data: string): TrainConfig =>
    withDefaults({ ...o.base, data, init, out: dir, seed, lr, ...(weights ? { weights } : {}) });

  /** Trains (or reuses / resumes) one run; returns its training summary fields. */
  const train = async (c: TrainConfig, data: PreparedData, ids: readonly string[] | undefined, tag: string): Promise<{ best: string; epochs: number; bestEpoch: number; bestMetric: number | null; history: EpochRecord[]; seconds: number }> => {
    const marker = join(c.out, 'done.json');
    const key = settingsKey({ c, ids: ids ?? null });
    if (existsSync(marker)) {
      try {
        const done = JSON.parse(readFileSync(marker, 'utf8')) as { key: string; result: { best: string; epochs: number; bestEpoch: number; bestMetric: number | null; history: EpochRecord[]; seconds: number } };
        if (done.key === key && existsSync(done.result.best)) {
          log(`[${tag}] reusing finished run in ${c.out}`);
          return done.result;
        }
      } catch {
        /* redo */
      }
    }
    let resume;
    const last = join(c.out, CHECKPOINT_LAST);
    if (existsSync(last)) {
      try {
        const ck = await loadCheckpoint(last);
        if ((ck.train.run as { idsKey?: string } | undefined)?.idsKey === key) resume = ck;
      } catch (e) {
        log(`[${tag}] ignoring ${last}: ${(e as Error).message}`);
      }
    }
    const r = await runTraining(engine, c, { data, ...(ids ? { ids } : {}), tag, ...(resume ? { resume } : {}), runExtra: { idsKey: key } });
    const result = { best: r.bestCheckpoint, epochs: r.epochs, bestEpoch: r.bestEpoch, bestMetric: r.bestMetric, history: r.history, seconds: r.seconds };
    await writeText(marker, `${JSON.stringify({ key, result })}\n`);
    return result;
  };

  const sourceCkpt = new Map<number, string>();
  for (const seed of o.seeds) {
    if (arms.includes('indomain')) {
      let init = 'imagenet';
      for (const [i, src] of sources.entries()) {
        const dir = join(out, 'source', `seed-${seed}`, `stage-${i + 1}`);
        const c = { ...base(seed, init, dir, o.lr, src.spec), epochs: o.sourceEpochs, resetHead: true };
        log(`[source seed ${seed}] ${init === 'imagenet' ? 'ImageNet' : 'previous stage'} → ${src.spec}`);
        const r = await train(c, src, undefined, `source ${i + 1} seed ${seed}`);
        init = r.best;
      }
      sourceCkpt.set(seed, init);
    }
    for (const split of splits) {
      for (const arm of arms) {
        const dir = join(out, arm, `seed-${seed}`, ...(split.fold !== null ? [`fold-${split.fold}`] : []));
        const init = arm === 'scratch' ? 'scratch' : arm === 'imagenet' ? 'imagenet' : sourceCkpt.get(seed)!;
        const c = { ...base(seed, init, dir, arm === 'scratch' ? o.lrScratch : o.lr, o.target), resetHead: arm === 'indomain' };
        const tag = `${arm} seed ${seed}${split.fold !== null ? ` fold ${split.fold}` : ''}`;
        log(`[${tag}] ${ARM_LABELS[arm]}`);
        const r = await train(c, target, split.train, tag);
        const testSet = selectData(target, target.set.ids.flatMap((id, i) => (split.test.includes(id) ? [i] : [])));
        const p = await loadPredictor(engine, r.best, { decode: o.base.decode, batch: o.base.batch });
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
  const files = { json: join(out, 'results.json'), markdown: join(out, 'results.md'), plot: join(out, 'transfer.svg') };
  const roundRow = (r: RunRow) => ({ ...r, mre: round(r.mre, 4), std: round(r.std, 4), median: round(r.median, 4), sdr: Object.fromEntries(Object.entries(r.sdr).map(([k, v]) => [k, round(v, 2)])), valCurve: r.valCurve.map((v) => round(v, 4)), seconds: round(r.seconds, 1) });
  await writeText(files.json, `${JSON.stringify({ title, unit, notes, settings, summary, runs: rows.map(roundRow) }, null, 2)}\n`);
  await writeText(files.markdown, markdownReport({ title, rows, summary, notes, settings, unit, thresholds }));
  await writeText(files.plot, svgPlot(rows, summary, unit, title));
  log(`wrote ${files.markdown}, ${files.json}, ${files.plot}`);
  return { out, rows, summary, notes, skippedArms, files };
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
  out: { type: 'string', value: 'DIR', default: 'runs/transfer', description: 'study folder: results.md, results.json, transfer.svg and one folder per run (finished runs are reused)', check: checks.writableDir() },
  ...RECIPE_OPTIONS,
  lr: { ...RECIPE_OPTIONS.lr, defaultText: '1e-5', description: 'AdamW learning rate of the imagenet and indomain arms' },
});

export async function experimentMain(argv: string[]): Promise<ExperimentResult> {
  const { values, positionals } = parseOptions(EXPERIMENT_OPTIONS, argv, { positionals: true });
  const [kind, ...rest] = positionals;
  if (kind !== 'transfer') throw new UsageError(kind ? `unknown experiment '${kind}'${didYouMean(kind, ['transfer'])} (available: transfer)` : 'which experiment? (available: transfer)');
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (!values.target) throw new UsageError('--target SPEC is required');
  const arms = values.arms.split(',').map((a) => a.trim()) as Arm[];
  for (const a of arms) if (!ARMS.includes(a)) throw new UsageError(`--arms: unknown arm '${a}' (${ARMS.join(', ')})`);
  const sources = (values.source ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (arms.includes('indomain') && !sources.length) throw new UsageError('--source SPEC[,SPEC] is required for the indomain arm (or leave it out with --arms imagenet,scratch)');
  const num = (k: string, s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${k} expects a number, got '${s}'`);
    return n;
  };
  const list = (s: string | undefined, what: string, n: number): number[] | undefined => {
    if (s === undefined) return undefined;
    const v = s.split(',').map(Number);
    if (v.length !== n || !v.every((x) => Number.isInteger(x) && x > 0)) throw new UsageError(`--${what} needs ${n} positive integers separated by commas`);
    return v;
  };
  const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const partial = strip({
    size: num('size', values.size), batch: num('batch', values.batch), accum: num('accum', values.accum), epochs: num('epochs', values.epochs),
    weightDecay: num('weight-decay', values['weight-decay']), sigma: num('sigma', values.sigma), loss: values.loss as TrainConfig['loss'] | undefined,
    targetScale: num('target-scale', values['target-scale']), valSplit: num('val-split', values['val-split']), patience: num('patience', values.patience),
    earlyStop: num('early-stop', values['early-stop']), decode: values.decode as TrainConfig['decode'] | undefined, widths: list(values.widths, 'widths', 16),
    decoder: list(values.decoder, 'decoder', 5), limit: num('limit', values.limit), ...(values['no-augment'] ? { augment: false } : {}), ...(values.strict ? { strict: true } : {}),
  });
  // Validate once with a placeholder; each run revalidates with its own init.
  const full = withDefaults({ ...partial, data: values.target, init: 'imagenet' });
  const { data: _d, init: _i, out: _o, seed: _s, lr: lrDefault, weights: _w, split: _sp, ...base } = full;
  const lr = num('lr', values.lr) ?? lrDefault;
  const lrScratch = num('lr-scratch', values['lr-scratch']) ?? lr * 10;
  if (!(lr > 0) || !(lrScratch > 0)) throw new UsageError('--lr and --lr-scratch must be positive');
  const seeds = parseIntList(values.seeds, 'seeds');
  const folds = num('folds', values.folds);
  if (folds !== undefined && !(Number.isInteger(folds) && folds >= 2)) throw new UsageError(`--folds must be an integer ≥ 2, got ${values.folds}`);
  const sourceEpochs = num('source-epochs', values['source-epochs']) ?? base.epochs;
  if (!(Number.isInteger(sourceEpochs) && sourceEpochs >= 1)) throw new UsageError(`--source-epochs must be a positive integer`);
  const testSplit = num('test-split', values['test-split'])!;
  const splitSeed = num('split-seed', values['split-seed'])!;
  const opts: ExperimentOptions = {
    target: values.target, sources, seeds, arms, out: values.out, base, lr, lrScratch, sourceEpochs, testSplit, splitSeed,
    allowMissingImagenet: !!values['allow-missing-imagenet'], software: values.software,
    ...(folds ? { folds } : {}), ...(values.weights ? { weights: values.weights } : {}),
  };
  // Checked before a GPU is acquired: the source specs (the target's is checked with the flags) and the ImageNet weights.
  for (const s of sources) checkSpec(s, 'source');
  if (arms.some((a) => a !== 'scratch') && !opts.allowMissingImagenet) {
    try {
      findImagenetWeights(opts.weights);
    } catch (e) {
      if (!(e instanceof MissingWeightsError)) throw e;
      throw new MissingWeightsError(`${e.message} The imagenet and indomain arms need them; pass --allow-missing-imagenet to run the scratch arm alone.`);
    }
  }
  return withEngine(values.software, async (engine) => {
    log(`osteo experiment transfer — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);
    return runExperiment(engine, opts);
  });
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'the transfer study: ImageNet vs ImageNet → in-domain source vs scratch on a target set; markdown + JSON table and a plot',
  usage: 'osteo experiment transfer --target SPEC --source SPEC[,SPEC] [options]\nosteo experiment transfer --target SPEC --arms imagenet,scratch [options]',
  options: EXPERIMENT_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo experiment transfer --target isbi2015:/data/ISBI2015 --source hand:/data/dha', what: "the paper's study on ISBI 2015 (tested on Test1 + Test2), in-domain pre-training on the hand atlas, seeds 1, 2, 3" },
    { command: "osteo experiment transfer --target 'synthetic:head?n=40' --arms imagenet,scratch --folds 5 --seeds 1 --epochs 20", what: 'ImageNet vs scratch only, 5-fold cross-validation, one seed, short runs' },
  ],
  async run(argv) {
    const r = await experimentMain(argv);
    console.log(JSON.stringify({
      out: r.out, skippedArms: r.skippedArms, files: r.files,
      summary: r.summary.map((s) => ({ arm: s.arm, runs: s.runs, mre: round(s.mre), mreStd: round(s.mreStd), sdr: Object.fromEntries(Object.entries(s.sdr).map(([k, v]) => [k, round(v, 2)])) })),
    }));
    return 0;
  },
};

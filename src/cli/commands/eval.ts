/**
 * `osteo eval --model CKPT --data SPEC [--split NAME] [--decode argmax|blob] [--reference SPEC] [--json] [--out FILE]`:
 * MRE ± std, median, SDR at 2 / 2.5 / 3 / 4 (mm when every image has a spacing, else pixels),
 * overall and per landmark, and per image, beside the mean-shape baseline (every landmark at its
 * mean training position). With --reference (a test split from the training site): the same
 * metrics on both, their difference with a bootstrap interval, and image-level shift signals.
 * Errors are measured in the original images' pixels.
 */
import { resolve } from 'node:path';
import { formatEvaluation } from '../../landmarks/metrics';
import type { StatsJson } from '../../landmarks/report_json';
import { meanShapeFromSpec } from '../../node/report_io';
import { prepareDataSpec } from '../../node/train_io';
import { writeFileAtomic } from '../../node/weights_io';
import { clinicalMetrics, type BaselineSource } from '../../report/clinical';
import type { ShiftSection } from '../../report/document';
import { compareSites } from '../../report/report';
import { checkK, evalReport, type EvalReport } from '../../train/evaluate';
import { fmt } from '../../train/format';
import { UsageError, type Command } from '../command';
import { withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';
import { GUARD_OPTIONS, guardOptionsOf, loadPredictorFile, REFINE_OPTIONS, refineOptionsOf } from '../predictor';
import { tallyText, type GuardTally } from '../../train/guards';
import { log } from '../progress';

const EVAL_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', required: true, description: 'osteo checkpoint to evaluate (e.g. runs/train/checkpoint-best.safetensors)', check: checks.exists('file') },
  data: { type: 'string', value: 'SPEC', required: true, description: 'landmark data with ground truth; see data specs below', check: checks.dataSpec() },
  split: { type: 'string', value: 'NAME', defaultText: 'every image', description: 'evaluate only this named split of the data (ISBI 2015: train, test1, test2)' },
  decode: { type: 'string', value: 'argmax|blob', defaultText: "the checkpoint's, else argmax", description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around it', check: checks.oneOf(['argmax', 'blob']) },
  json: { type: 'boolean', description: 'print the report as one JSON line instead of tables' },
  out: { type: 'string', value: 'FILE.json', defaultText: 'not written', description: 'also write the report (overall, per landmark, per image) as JSON', check: checks.writableFile() },
  strict: { type: 'boolean', description: 'stop at the first bad item of the data instead of skipping and counting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every item', description: 'evaluate at most N items (sorted by id)', check: checks.int(1) },
  batch: { type: 'string', value: 'N', default: '4', description: 'images per inference batch', check: checks.int(1) },
  reference: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'annotated test images from the training site: the same metrics on both, their difference (bootstrap interval) and image-level shift signals', check: checks.dataSpec() },
  'reference-split': { type: 'string', value: 'NAME', defaultText: 'every image', description: 'use only this split of --reference' },
  ...GUARD_OPTIONS,
  ...REFINE_OPTIONS,
  software: SOFTWARE_OPTION,
});

/** The evaluation report with the mean-shape baseline and, with --reference, the site comparison. */
export type EvalReportWithBaseline = EvalReport & { baseline: { describe: string; overall: StatsJson }; shift?: ShiftSection; guards?: GuardTally };

/** The training split's annotations when the data has one and another split is evaluated, else leave-one-out. */
function baselineOf(data: { splits?: Record<string, string[]> }, spec: string, split?: string): BaselineSource {
  const ids = data.splits?.train;
  if (!ids || !split || split === 'train') return { kind: 'leave-one-out' };
  const m = meanShapeFromSpec(spec, new Set(ids));
  return { kind: 'shape', shape: m.shape, describe: `mean of the ${m.images} annotated images of split 'train'` };
}

export async function evalMain(argv: string[]): Promise<EvalReportWithBaseline> {
  // every option (the model file and the data spec included) is checked before a GPU is acquired
  const { values } = parseOptions(EVAL_OPTIONS, argv);
  if (!values.model) throw new UsageError('--model CKPT is required');
  if (!values.data) throw new UsageError('--data SPEC is required');
  const limit = values.limit !== undefined ? Number(values.limit) : undefined;
  const batch = Number(values.batch);
  return withEngine(values.software, async (engine) => {
    const p = await loadPredictorFile(engine, values.model!, { ...(values.decode ? { decode: values.decode as 'argmax' | 'blob' } : {}), batch, guards: guardOptionsOf(values), refine: refineOptionsOf(values) });
    try {
      const data = prepareDataSpec(values.data!, { size: p.ck.train.size, strict: !!values.strict, ...(values.split ? { split: values.split } : {}), ...(limit ? { limit } : {}), log });
      if (!values.split && data.splits) log(`note: the data defines splits (${Object.keys(data.splits).join(', ')}); evaluating all ${data.set.images.length} images (use --split NAME)`);
      checkK(p.ck, data.k, data.spec);
      const t0 = performance.now();
      const names = data.landmarkNames ?? p.ck.train.landmarkNames;
      const clinical = await clinicalMetrics(p.trainer, data, baselineOf(data, values.data!, values.split), names);
      const ev = clinical.evaluation;
      const decode = values.decode ?? p.ck.train.decode ?? 'argmax';
      const base = clinical.baseline;
      const report: EvalReportWithBaseline = {
        ...evalReport(ev, { model: resolve(values.model!), data, ...(values.split ? { split: values.split } : {}), decode, ...(names ? { names } : {}) }),
        baseline: { describe: base.describe, overall: base.json.overall },
        // the guards' counts over the evaluated images (before --reference runs through the same guard)
        ...(p.guard ? { guards: { ...p.guard.tally } } : {}),
      };
      log(`evaluated ${ev.errors.length} images in ${((performance.now() - t0) / 1000).toFixed(1)}s (decode ${decode})`);
      if (values.reference) {
        const reference = prepareDataSpec(values.reference, { size: p.ck.train.size, strict: !!values.strict, ...(values['reference-split'] ? { split: values['reference-split'] } : {}), ...(limit ? { limit } : {}), log });
        report.shift = await compareSites(p, { data, clinical }, reference, names);
      }
      if (values.out) {
        await writeFileAtomic(values.out, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
        log(`wrote ${values.out}`);
      }
      if (values.json) console.log(JSON.stringify(report));
      else {
        console.log(`${ev.errors.length} images, MRE ${ev.overall.mre.toFixed(3)} ± ${ev.overall.std.toFixed(3)} ${ev.unit}; ` +
          `SDR ${ev.thresholds.map((t) => `${t}${ev.unit} ${ev.overall.sdr[String(t)]!.toFixed(1)}%`).join(', ')}`);
        console.log(formatEvaluation(ev, names));
        console.log(`mean-shape baseline (${base.describe}): MRE ${fmt(base.evaluation.overall.mre)} ± ${fmt(base.evaluation.overall.std)} ${ev.unit}; ` +
          `SDR ${ev.thresholds.map((t) => `${t}${ev.unit} ${base.evaluation.overall.sdr[String(t)]!.toFixed(1)}%`).join(', ')}`);
        if (report.guards) console.log(tallyText(report.guards));
        if (report.shift) console.log(shiftText(report.shift));
      }
      return report;
    } finally {
      p.dispose();
    }
  });
}

/** The site comparison as lines of text. */
function shiftText(s: ShiftSection): string {
  const g = s.signals;
  const d = (i: { value: number; lo: number; hi: number }, n = 3) => `${fmt(i.value, n)} [${fmt(i.lo, n)}, ${fmt(i.hi, n)}]`;
  return [
    ...(s.mreDifference && s.sdrDifference
      ? [`vs reference ${s.reference} (${s.referenceImages} images): MRE ${fmt(s.targetOverall.mre)} vs ${fmt(s.referenceOverall.mre)} ${s.unit}, difference ${d(s.mreDifference)} (95% bootstrap interval)`,
        `  SDR ${s.sdrDifference.radius} ${s.unit}: difference ${d(s.sdrDifference, 1)} percentage points`]
      : [`vs reference ${s.reference} (${s.referenceImages} images): MRE ${fmt(s.targetOverall.mre)} ${s.unit} vs ${fmt(s.referenceOverall.mre)} ${s.referenceUnit} (errors in different units: not compared)`]),
    `  shift signals: intensity histogram distance ${fmt(g.intensity.distance, 4)} (chance ${fmt(g.intensity.chance, 4)}, p ${fmt(g.intensity.p, 3)}); noise σ ${fmt(g.noise.target, 4)} vs ${fmt(g.noise.reference, 4)}` +
      (g.confidence ? `; heatmap confidence ${fmt(g.confidence.target)} vs ${fmt(g.confidence.reference)}` : ''),
    `  ${g.shifted ? `SHIFTED: ${g.reasons.join('; ')}` : 'no clear shift from the reference'}`,
  ].join('\n');
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint on a data set: MRE ± std, SDR at 2/2.5/3/4 mm (or px), per landmark',
  usage: 'osteo eval --model CKPT --data SPEC [--split NAME] [--decode argmax|blob] [--refine-passes N] [--tta none|shifts|shifts-scales] [--reference SPEC [--reference-split NAME]] [--orientation auto|always|off|NAME] [--flag-above X] [--no-guards] [--json] [--out FILE.json] [--strict] [--limit N] [--batch N] [--software]',
  options: EVAL_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo eval --model runs/isbi/checkpoint-best.safetensors --data isbi2015:/data/ISBI2015 --split test1', what: 'MRE and SDR of a trained model on the ISBI 2015 Test1 images, overall and per landmark' },
    { command: "osteo eval --model runs/try/checkpoint-best.safetensors --data 'synthetic:hand?n=16&seed=7' --out eval.json", what: 'score it on 16 fresh synthetic hands and keep the report as JSON' },
  ],
  async run(argv) {
    await evalMain(argv);
    return 0;
  },
};

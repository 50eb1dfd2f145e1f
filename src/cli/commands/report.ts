/**
 * `osteo report --model CKPT --data SPEC [--split NAME] [--thresholds …] [--out DIR]`: the decision
 * report of src/report/report.ts — is the prototype accurate enough, fast enough, and would more
 * annotated images pay off. Flag parsing, data and file access; writes OUT/report.{html,json,md}.
 */
import { resolve } from 'node:path';
import type { LandmarkItem } from '../../data/types';
import { readDataset } from '../../node/data_readers';
import { prepareDataFast } from '../../node/decode_prepare';
import { fileImageLoader, meanShapeOfItems, readLearningCurve } from '../../node/report_io';
import { prepareDataSpec } from '../../node/train_io';
import { writeFileAtomic } from '../../node/weights_io';
import type { BaselineSource } from '../../report/clinical';
import { runReport, type ReportResult } from '../../report/report';
import { DEFAULT_THRESHOLDS, METRIC_KEYS, parseThresholds, ThresholdError, type Threshold } from '../../report/thresholds';
import type { PreparedData } from '../../train/prepare';
import { UsageError, type Command } from '../command';
import { withEngine } from '../engine';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';
import { GUARD_OPTIONS, guardOptionsOf, loadPredictorFile } from '../predictor';
import { log } from '../progress';

const REPORT_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', required: true, description: 'the prototype: an osteo checkpoint (e.g. runs/train/checkpoint-best.safetensors)', check: checks.exists('file') },
  data: { type: 'string', value: 'SPEC', required: true, description: "annotated test images from the site the model is for; see data specs below", check: checks.dataSpec() },
  split: { type: 'string', value: 'NAME', defaultText: 'every image', description: 'evaluate only this named split of the data (ISBI 2015: test1, test2)' },
  range: { type: 'string', value: 'A:B', defaultText: 'every image', description: 'evaluate only images A to B (1-based, in id order, within --split); the others give the mean-shape baseline', check: (v, f) => { if (!/^\d+:\d+$/.test(v) || Number(v.split(':')[0]) < 1 || Number(v.split(':')[0]) > Number(v.split(':')[1])) throw new UsageError(`--${f} expects A:B with 1 ≤ A ≤ B, got '${v}'`); } },
  thresholds: { type: 'string', value: 'LIST', default: DEFAULT_THRESHOLDS, description: `acceptance thresholds set in advance, KEY OP VALUE[UNIT] separated by commas; keys: ${Object.keys(METRIC_KEYS).join(', ')}; units mm|px, ms|s, %, MiB|GiB`, check: (v) => { thresholdsOf(v); } },
  'learning-curve': { type: 'string', value: 'FILE', defaultText: 'none', description: 'learning-curve.json of osteo experiment learning-curve: the verdict says how many more images to annotate', check: checks.exists('file') },
  reference: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'annotated test images from the training site: the same metrics on both, their difference, and image-level shift signals', check: checks.dataSpec() },
  'reference-split': { type: 'string', value: 'NAME', defaultText: 'every image', description: 'use only this split of --reference' },
  'baseline-split': { type: 'string', value: 'NAME', defaultText: "'train' when the data has it and --split is another, else the images outside --range, else leave-one-out", description: "split of --data whose annotations give the mean-shape baseline" },
  out: { type: 'string', value: 'DIR', default: 'runs/report', description: 'where report.html, report.json and report.md go', check: checks.writableDir() },
  'timing-runs': { type: 'string', value: 'N', default: '20', description: 'images timed one by one at batch 1 after the first', check: checks.int(1) },
  'max-batch': { type: 'string', value: 'N', defaultText: '8 on a software adapter, 32 on a GPU', description: 'largest batch size tried for throughput (powers of two)', check: checks.int(1) },
  'no-timing': { type: 'boolean', description: 'skip the operational measurements (their thresholds become not assessable)' },
  'minutes-per-image': { type: 'string', value: 'M', defaultText: "the learning curve's", description: 'annotation time per image for the collection estimate', check: checks.number({ above: 0 }) },
  'cost-per-hour': { type: 'string', value: 'C', defaultText: "the learning curve's", description: 'annotation cost per hour', check: checks.number({ min: 0 }) },
  worst: { type: 'string', value: 'N', default: '3', description: 'worst images drawn as overlays', check: checks.int(0) },
  json: { type: 'boolean', description: 'print report.json as one line on stdout' },
  strict: { type: 'boolean', description: 'stop at the first bad item of the data instead of skipping it' },
  limit: { type: 'string', value: 'N', defaultText: 'every item', description: 'read at most N items of each data set (sorted by id)', check: checks.int(1) },
  batch: { type: 'string', value: 'N', default: '4', description: 'images per inference batch for the clinical metrics', check: checks.int(1) },
  ...GUARD_OPTIONS,
  software: SOFTWARE_OPTION,
});

function thresholdsOf(v: string): Threshold[] {
  try {
    return parseThresholds(v);
  } catch (e) {
    if (e instanceof ThresholdError) throw new UsageError(`--thresholds: ${e.message}`);
    throw e;
  }
}

/**
 * The evaluated images (--split, then its --range) decoded, and where the baseline's mean shape
 * comes from; images outside the range are never decoded (their annotations and header sizes suffice).
 */
function loadData(spec: string, v: { split?: string; range?: string; 'baseline-split'?: string }, o: { size: number; strict: boolean; limit?: number }): { data: PreparedData; baseline: BaselineSource } {
  const ds = readDataset(spec, { ...(o.strict ? { strict: true } : {}), ...(o.limit ? { limit: o.limit } : {}) });
  const inSplit = (name: string, flag: string): Set<string> => {
    const ids = ds.splits?.[name];
    if (!ids) throw new UsageError(`${flag} ${name}: data ${spec} has no such split${ds.splits ? ` (it has ${Object.keys(ds.splits).join(', ')})` : ''}`);
    return new Set(ids);
  };
  let items = ds.items;
  if (v.split) {
    const ids = inSplit(v.split, '--split');
    items = items.filter((it) => ids.has(it.id));
  }
  let rest: LandmarkItem[] = [];
  if (v.range) {
    const [a, b] = v.range.split(':').map(Number) as [number, number];
    if (a > items.length) throw new UsageError(`--range ${v.range}: the data has ${items.length} items${v.split ? ` in split ${v.split}` : ''}`);
    rest = [...items.slice(0, a - 1), ...items.slice(b)];
    items = items.slice(a - 1, b);
  }
  // the same loader as eval and the reference set (libvips working copies, disk cache): a second resampler here made
  // report and eval disagree on the same files, and the site comparison compared two resamplers as well as two sites
  const data = prepareDataFast(spec, { ...ds, items }, { size: o.size, strict: o.strict, log });
  const bs = v['baseline-split'] ?? (ds.splits?.train && v.split && v.split !== 'train' ? 'train' : undefined);
  if (bs) {
    const ids = inSplit(bs, '--baseline-split');
    const m = meanShapeOfItems(ds.items.filter((it) => ids.has(it.id)), spec);
    return { data, baseline: { kind: 'shape', shape: m.shape, describe: `mean of the ${m.images} annotated images of split '${bs}'` } };
  }
  if (rest.length) {
    const m = meanShapeOfItems(rest, spec);
    return { data, baseline: { kind: 'shape', shape: m.shape, describe: `mean of the ${m.images} annotated images outside --range ${v.range}` } };
  }
  return { data, baseline: { kind: 'leave-one-out' } };
}

export async function reportMain(argv: string[]): Promise<ReportResult & { files: { html: string; json: string; markdown: string } }> {
  const { values } = parseOptions(REPORT_OPTIONS, argv);
  if (!values.model) throw new UsageError('--model CKPT is required');
  if (!values.data) throw new UsageError('--data SPEC is required');
  const thresholds = thresholdsOf(values.thresholds);
  const lcFile = values['learning-curve'];
  const lcDoc = lcFile ? readLearningCurve(lcFile) : undefined;
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const limit = num(values.limit);
  return withEngine(values.software, async (engine) => {
    // the model as predict runs it: the same guards (orientation, shape, calibrated confidence) unless turned off
    const p = await loadPredictorFile(engine, values.model!, { batch: Number(values.batch), guards: guardOptionsOf(values) });
    try {
      const size = p.ck.train.size;
      const strict = !!values.strict;
      const { data, baseline } = loadData(values.data!, values, { size, strict, ...(limit ? { limit } : {}) });
      const reference = values.reference ? prepareDataSpec(values.reference, { size, strict, ...(values['reference-split'] ? { split: values['reference-split'] } : {}), ...(limit ? { limit } : {}), log }) : undefined;
      const names = data.landmarkNames ?? p.ck.train.landmarkNames;
      const minutes = num(values['minutes-per-image']), cost = num(values['cost-per-hour']);
      const r = await runReport(engine, {
        predictor: p, modelName: values.model!, data, baseline, thresholds, worst: Number(values.worst), log,
        ...(values.split ? { split: values.split } : {}), ...(names ? { names } : {}), ...(reference ? { reference } : {}),
        operational: values['no-timing'] ? null : { count: data.set.images.length, load: fileImageLoader(data), runs: Number(values['timing-runs']), ...(values['max-batch'] ? { maxBatch: Number(values['max-batch']) } : {}) },
        ...(lcDoc ? { learningCurve: { doc: lcDoc, file: lcFile!, ...(minutes !== undefined ? { minutesPerImage: minutes } : {}), ...(cost !== undefined ? { costPerHour: cost } : {}) } } : {}),
      });
      const out = resolve(values.out);
      const files = { html: `${out}/report.html`, json: `${out}/report.json`, markdown: `${out}/report.md` };
      const enc = (s: string) => new TextEncoder().encode(s);
      await writeFileAtomic(files.json, enc(`${JSON.stringify(r.doc, null, 2)}\n`));
      await writeFileAtomic(files.markdown, enc(r.markdown));
      await writeFileAtomic(files.html, enc(r.html));
      log(`wrote ${files.html}, ${files.json}, ${files.markdown}`);
      return { ...r, files };
    } finally {
      p.dispose();
    }
  });
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'the decision report: thresholds met or missed, clinical (MRE, SDR, baseline) and operational (latency, throughput) metrics, what to do next; HTML + JSON + markdown',
  usage: 'osteo report --model CKPT --data SPEC [--split NAME] [--thresholds LIST] [--learning-curve FILE] [--reference SPEC] [--orientation auto|always|off|NAME] [--no-guards] [--out DIR]',
  options: REPORT_OPTIONS,
  sections: [
    { title: 'thresholds', lines: [`e.g. "${DEFAULT_THRESHOLDS}": MRE at most 2 mm, 80% of landmarks within 2 mm, 95% of single images in 150 ms (decode to points), 20 images/s at the best batch size.`, 'Other keys: median (mm|px), sdr2.5, sdr3, sdr4 (fraction or %), p50, first (ms|s), memory (MiB|GiB). Errors in px (no pixel spacing) need px thresholds.'] },
    DATA_SPEC_SECTION,
  ],
  examples: [
    { command: 'osteo report --model runs/isbi/checkpoint-best.safetensors --data isbi2015:/data/ISBI2015 --split test1 --thresholds "mre<=2mm,sdr2>=0.8,p95<=150ms,ips>=20"', what: 'the decision on ISBI 2015 Test1 (baseline from the train split)' },
    { command: 'osteo report --model m.safetensors --data generic:site-b/labels.csv --reference isbi2015:/data/ISBI2015 --reference-split test1 --learning-curve runs/lc/learning-curve.json', what: 'a new site: shift against the training site, and how many more images to annotate' },
  ],
  async run(argv) {
    const r = await reportMain(argv);
    if (argv.includes('--json')) console.log(JSON.stringify(r.doc));
    else console.log(`Verdict: ${r.doc.verdict.sentence}\n${r.doc.thresholds.map((t) => `  ${t.status === 'met' ? '✔' : t.status === 'missed' ? '✘' : '–'} ${t.text}: ${t.detail}`).join('\n')}\n${r.files.html}`);
    return 0;
  },
};

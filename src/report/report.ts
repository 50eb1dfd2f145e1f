/**
 * `osteo report` as a function (host-neutral): the decision for one model and one site, in the
 * order of Di Via et al.'s procedure — thresholds set in advance, the prototype's clinical metrics
 * (beside the mean-shape baseline) and operational metrics on this device, then the verdict, folded
 * with a learning curve (how many more annotated images) and a site comparison (is this site's data
 * unlike the training site's) when given. The host supplies the data, an image loader for timing,
 * and writes the files.
 */
import type { AnnotatorAgreement } from '../data/annotators';
import type { GreyImage } from '../data/types';
import type { Engine } from '../gpu/engine';
import { drawOverlay } from '../landmarks/draw';

import type { Predictor } from '../train/evaluate';
import { checkK } from '../train/evaluate';
import { fmt, round } from '../train/format';
import { tallyText } from '../train/guards';
import type { PreparedData } from '../train/prepare';
import { learningCurveSvg } from './charts';
import { clinicalMetrics, worstImages, type BaselineSource, type ClinicalResult } from './clinical';
import type { ClinicalSection, LearningCurveSection, ReportDoc, ShiftSection } from './document';
import type { LearningCurveDoc } from './learning_curve';
import { predictionSentence } from './learning_curve';
import { measureOperational, type OperationalOptions, type OperationalReport } from './operational';
import { pngDataUri } from './png';
import { predictTarget } from './powerlaw';
import { renderHtml, renderMarkdown } from './render';
import { shiftSignals } from './shift';
import { bootstrapMeanDiff } from '../util/stats';
import { checkThresholds, type Threshold } from './thresholds';
import { collectionEstimate, decide } from './verdict';

export interface ReportOptions {
  predictor: Predictor;
  /** The model's name in the report (its path). */
  modelName: string;
  data: PreparedData;
  split?: string;
  baseline: BaselineSource;
  thresholds: Threshold[];
  /** Operational timing: image loader (decode included) over `data`'s images, runs, batch sizes; null skips it. */
  operational: Omit<OperationalOptions, 'log' | 'now'> | null;
  /** A test split from the training site, to compare with (site shift). */
  reference?: PreparedData;
  /** A learning curve's results, and where they were read from. */
  learningCurve?: { doc: LearningCurveDoc; file: string; minutesPerImage?: number; costPerHour?: number };
  /** Worst images drawn as overlays (default 3). */
  worst?: number;
  names?: string[];
  title?: string;
  /** ISO date of the report (default now). */
  date?: string;
  log?: (line: string) => void;
  now?: () => number;
}

export interface ReportResult {
  doc: ReportDoc;
  markdown: string;
  html: string;
}

/** The clinical section of a clinicalMetrics result. */
export function clinicalSection(r: ClinicalResult, worst: number, annotators?: AnnotatorAgreement): ClinicalSection {
  const rows = r.perImage.map((p) => ({ id: p.id, mre: round(p.mre, 4), max: round(p.max, 4), confidence: round(p.confidence, 4) }));
  const o = r.offsets;
  return {
    offsets: { ...o, mre: round(o.mre, 4), spread: round(o.spread, 4), systematicShare: round(o.systematicShare, 4), perLandmark: o.perLandmark.map((l) => ({ ...l, dx: round(l.dx, 3), dy: round(l.dy, 3), offset: round(l.offset, 3), mre: round(l.mre, 3), spread: round(l.spread, 3) })) },
    ...(annotators ? { annotators } : {}),
    unit: r.json.unit, sdrRadii: r.json.sdrRadii, images: r.perImage.length, overall: r.json.overall, perLandmark: r.json.perLandmark,
    baseline: { describe: r.baseline.describe, overall: r.baseline.json.overall, perLandmark: r.baseline.json.perLandmark.map((l) => ({ landmark: l.landmark, name: l.name, mre: l.mre })) },
    worst: worstImages(r.perImage, worst).map((i) => rows[i]!), perImage: rows,
  };
}

/**
 * The same metrics on a reference split from the training site, their difference with bootstrap
 * intervals (over images), and the annotation-free shift signals.
 */
export async function compareSites(p: Predictor, target: { data: PreparedData; clinical: ClinicalResult }, reference: PreparedData, names?: readonly string[]): Promise<ShiftSection> {
  checkK(p.ck, reference.k, reference.spec);
  const ref = await clinicalMetrics(p.trainer, reference, { kind: 'leave-one-out' }, names);
  const radius = String(ref.evaluation.thresholds[0]);
  const withinRadius = (c: ClinicalResult) => c.evaluation.errors.map((e) => (100 * e.filter((v) => v <= Number(radius)).length) / e.length);
  const meanConf = (c: ClinicalResult) => c.confidence.map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  const signals = shiftSignals(reference.set.images, target.data.set.images, { confidence: { reference: meanConf(ref), target: meanConf(target.clinical) } });
  const r4 = (i: { value: number; lo: number; hi: number }) => ({ value: round(i.value, 4), lo: round(i.lo, 4), hi: round(i.hi, 4) });
  // errors in px on one side and mm on the other are not comparable: no difference then
  const same = ref.evaluation.unit === target.clinical.evaluation.unit;
  return {
    reference: reference.spec, referenceImages: reference.set.images.length, images: target.data.set.images.length, unit: target.clinical.evaluation.unit, referenceUnit: ref.evaluation.unit,
    referenceOverall: ref.json.overall, targetOverall: target.clinical.json.overall,
    mreDifference: same ? r4(bootstrapMeanDiff(target.clinical.perImage.map((x) => x.mre), ref.perImage.map((x) => x.mre), { seed: 3 })) : null,
    sdrDifference: same ? { ...r4(bootstrapMeanDiff(withinRadius(target.clinical), withinRadius(ref), { seed: 4 })), radius } : null,
    signals,
  };
}

/** The learning curve asked about the report's MRE threshold (or its own target). */
function learningSection(lc: NonNullable<ReportOptions['learningCurve']>, thresholds: readonly Threshold[], unit: 'mm' | 'px', notes: string[]): LearningCurveSection {
  const d = lc.doc;
  const mreT = thresholds.find((t) => t.key === 'mre' && t.unit === d.unit);
  const target = mreT?.value ?? d.target;
  if (d.unit !== unit) notes.push(`The learning curve (${lc.file}) measured errors in ${d.unit}, this data in ${unit}.`);
  const base = { file: lc.file, data: d.data, unit: d.unit, target, fit: d.fit };
  if (!d.fit || target === null) {
    return { ...base, prediction: null, collection: null, sentence: d.fit ? 'The learning curve has no target: give an mre threshold or --target-mre.' : 'The learning curve has no fit (it needs runs at three or more sizes).' };
  }
  const prediction = predictTarget({ fit: d.fit, samples: d.samples.map(([a, b, c]) => ({ a, b, c })) }, target);
  const minutes = lc.minutesPerImage ?? d.minutesPerImage;
  const cost = lc.costPerHour ?? d.costPerHour ?? undefined;
  const collection = collectionEstimate(prediction, { unit: d.unit, currentImages: d.poolImages, minutesPerImage: minutes, ...(cost !== undefined ? { costPerHour: cost } : {}), asymptote: d.fit.c });
  return { ...base, prediction, collection, sentence: predictionSentence(prediction, collection, d.unit) };
}

/** Measures, decides and renders the report. */
export async function runReport(engine: Engine, o: ReportOptions): Promise<ReportResult> {
  const log = o.log ?? (() => undefined);
  const p = o.predictor;
  checkK(p.ck, o.data.k, o.data.spec);
  const notes: string[] = [];
  log(`clinical metrics on ${o.data.set.images.length} images of ${o.data.spec}${o.split ? ` (split ${o.split})` : ''}`);
  const clinical = await clinicalMetrics(p.trainer, o.data, o.baseline, o.names);
  // what the guards did to these images (counted before timing and the reference set add to the tally)
  if (p.guard) notes.push(`Prediction guards on, as in predict (docs/guards.md): ${tallyText(p.guard.tally).replace(/^guards: /, '')}.`);
  else notes.push('Prediction guards off: the points are the network\'s own (a model without calibration, or --no-guards).');
  const ev = clinical.evaluation;
  log(`MRE ${fmt(ev.overall.mre)} ± ${fmt(ev.overall.std)} ${ev.unit}; mean-shape baseline ${fmt(clinical.baseline.evaluation.overall.mre)} ${ev.unit}`);
  let operational: OperationalReport | null = null;
  if (o.operational) {
    log(`timing on ${engine.adapter.description || engine.adapter.architecture}${engine.adapter.fallback ? ' (software adapter)' : ''}`);
    operational = await measureOperational(engine, p.trainer, { ...o.operational, log, ...(o.now ? { now: o.now } : {}) });
  } else notes.push('Operational metrics were not measured (--no-timing).');
  let shift: ShiftSection | null = null;
  if (o.reference) {
    log(`site comparison with ${o.reference.spec} (${o.reference.set.images.length} images)`);
    shift = await compareSites(p, { data: o.data, clinical }, o.reference, o.names);
  }
  const checks = checkThresholds(o.thresholds, {
    unit: ev.unit, mre: ev.overall.mre, median: ev.overall.median, sdrPercent: ev.overall.sdr,
    ...(operational ? { p50Ms: operational.latency.p50Ms, p95Ms: operational.latency.p95Ms, firstMs: operational.first.totalMs, ips: operational.throughput.imagesPerSecond, peakBytes: operational.memory.peakBytesBest } : {}),
  });
  const learningCurve = o.learningCurve ? learningSection(o.learningCurve, o.thresholds, ev.unit, notes) : null;
  const verdict = decide(checks, {
    ...(shift?.signals.shifted ? { shifted: { reasons: shift.signals.reasons } } : {}),
    ...(learningCurve?.collection ? { collection: learningCurve.collection, collectionOnThisSite: sameSite(o.learningCurve!.doc.data, o.data.spec) } : {}),
    ...(operational ? { fallback: operational.fallback } : {}),
    baseline: { model: ev.overall.mre, baseline: clinical.baseline.evaluation.overall.mre, unit: ev.unit },
  });
  if (operational?.fallback) notes.push('This device is a software adapter (SwiftShader on the CPU): the operational numbers say nothing about a GPU; run the report on the deployment machine.');
  if (o.baseline.kind === 'leave-one-out') notes.push('No training annotations were given for the mean-shape baseline; it is computed leave-one-out over the evaluated images.');
  const doc: ReportDoc = {
    kind: 'osteo-report',
    title: o.title ?? `osteo decision report: ${o.data.spec}`,
    generated: o.date ?? new Date().toISOString(),
    verdict, thresholds: checks.map((c) => ({ ...c, value: round(c.value, 6), measured: c.measured === null ? null : round(c.measured, 6) })),
    model: { path: o.modelName, size: p.ck.train.size, landmarks: p.ck.model.classes, parameters: p.model.parameterCount, decode: p.trainer.options.decode.method ?? 'argmax' },
    data: { spec: o.data.spec, split: o.split ?? null, images: o.data.set.images.length, skipped: o.data.skipped, unit: ev.unit },
    clinical: clinicalSection(clinical, o.worst ?? 3, o.data.annotators?.agreement),
    operational: operational && roundOperational(operational),
    learningCurve, shift, notes,
  };
  const overlays = await Promise.all(worstImages(clinical.perImage, o.worst ?? 3).map(async (i) => {
    const r = clinical.perImage[i]!;
    const img: GreyImage = o.data.set.images[i]!;
    const drawn = drawOverlay(img, clinical.drawn.predicted[i], clinical.drawn.truth[i], { minSize: 480, title: `${r.id}: MRE ${fmt(r.mre, 2)} ${ev.unit}, max ${fmt(r.max, 2)}` });
    return { id: r.id, mre: r.mre, uri: await pngDataUri(drawn) };
  }));
  const lcSvg = o.learningCurve && learningCurve ? learningCurveSvg({ ...o.learningCurve.doc, target: learningCurve.target, prediction: learningCurve.prediction }) : undefined;
  return { doc, markdown: renderMarkdown(doc), html: renderHtml(doc, { overlays, ...(lcSvg ? { learningCurveSvg: lcSvg } : {}) }) };
}

function roundOperational(r: OperationalReport): OperationalReport {
  const ms = (v: number) => round(v, 2);
  return {
    ...r,
    first: { totalMs: ms(r.first.totalMs), decodeMs: ms(r.first.decodeMs) },
    latency: { ...r.latency, p50Ms: ms(r.latency.p50Ms), p95Ms: ms(r.latency.p95Ms), meanMs: ms(r.latency.meanMs), minMs: ms(r.latency.minMs), maxMs: ms(r.latency.maxMs), decodeMeanMs: ms(r.latency.decodeMeanMs) },
    throughput: { ...r.throughput, imagesPerSecond: round(r.throughput.imagesPerSecond, 3), perBatch: r.throughput.perBatch.map((p) => ({ batch: p.batch, imagesPerSecond: round(p.imagesPerSecond, 3) })) },
  };
}



/** Two data specs name the same images (the same kind and path, whatever their options: split, test=…). */
function sameSite(a: string, b: string): boolean {
  const base = (s: string) => s.replace(/\?[^?]*$/, '').replace(/\/+$/, '');
  return base(a) === base(b);
}

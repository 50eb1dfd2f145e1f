/**
 * The decision (host-neutral), following the procedure of Di Via et al. (ISBI 2024): the
 * ImageNet-initialised prototype is measured against thresholds set in advance, and more in-domain
 * data is collected only when they are missed. One sentence says what to do next:
 *   - every threshold met → deploy the prototype;
 *   - clinical thresholds missed and the images look shifted from the training site → fix the
 *     shift first (more data like the old site will not help);
 *   - clinical missed, a learning curve at hand → collect N more annotated images (hours, cost),
 *     or, when the curve's asymptote lies above the target, change the model or recipe instead;
 *   - clinical missed, no curve → run the learning curve to size the collection;
 *   - only operational thresholds missed → a faster device or smaller input, not more data.
 */
import { fmt } from '../train/format';
import type { TargetPrediction } from './powerlaw';
import type { ThresholdCheck } from './thresholds';

export type Decision = 'deploy' | 'collect-data' | 'data-will-not-help' | 'site-shift' | 'run-learning-curve' | 'speed-up' | 'set-thresholds';

/** The learning curve's answer for the report's target, with the annotation effort. */
export interface CollectionEstimate {
  /** The MRE target the prediction is for, in `unit`. */
  target: number;
  unit: string;
  prediction: TargetPrediction;
  /** Annotated images the curve was measured up to (the full training pool). */
  currentImages: number;
  /** Predicted images still to annotate (Infinity when unreachable). */
  moreImages: number;
  moreImagesLo: number;
  moreImagesHi: number;
  minutesPerImage: number;
  hours: number;
  costPerHour?: number;
  cost?: number;
  /** Asymptote c of the fit. */
  asymptote: number;
}

export interface Verdict {
  decision: Decision;
  /** The one sentence. */
  sentence: string;
  met: string[];
  missed: string[];
  notAssessable: string[];
}

const list = (v: readonly ThresholdCheck[]): string => v.map((c) => c.text).join(', ');
const int = (v: number): string => (Number.isFinite(v) ? Math.ceil(v).toLocaleString('en') : '∞');

/** Makes the decision from the threshold checks and, when given, the shift and the learning curve. */
export function decide(checks: readonly ThresholdCheck[], ctx: { shifted?: { reasons: string[] }; collection?: CollectionEstimate; collectionOnThisSite?: boolean; fallback?: boolean; baseline?: { model: number; baseline: number; unit: string } } = {}): Verdict {
  const met = checks.filter((c) => c.status === 'met');
  const missed = checks.filter((c) => c.status === 'missed');
  const na = checks.filter((c) => c.status === 'not assessable');
  const clinicalMissed = missed.filter((c) => c.kind === 'clinical');
  const opMissed = missed.filter((c) => c.kind === 'operational');
  const base = { met: met.map((c) => c.text), missed: missed.map((c) => c.text), notAssessable: na.map((c) => c.text) };
  const b = ctx.baseline;
  const baseNote = b && b.model >= b.baseline ? ` The model is no better than the mean-shape baseline (MRE ${fmt(b.model, 2)} vs ${fmt(b.baseline, 2)} ${b.unit}): it has not learnt from the images yet — train longer or check the data first.` : '';
  const opNote = baseNote + (opMissed.length ? ` Also too slow here (${list(opMissed)}${ctx.fallback ? ', on a software adapter: measure on the deployment GPU' : ''}).` : '');
  if (!checks.length || met.length + missed.length === 0) {
    return { ...base, decision: 'set-thresholds', sentence: `No threshold could be checked${na.length ? ` (${na.map((c) => `${c.text}: ${c.detail}`).join('; ')})` : ''}: set thresholds in this data's units before deciding.` };
  }
  if (clinicalMissed.length) {
    const c0 = ctx.collection;
    if (ctx.shifted && ctx.shifted.reasons.length && c0 && ctx.collectionOnThisSite && Number.isFinite(c0.prediction.images)) {
      // the learning curve was measured on this site's own annotated images: it says how many of them fix the shift
      const cost = c0.cost !== undefined ? `, cost about ${c0.cost.toFixed(0)}` : '';
      return { ...base, decision: 'collect-data', sentence: `Do not deploy: ${list(clinicalMissed)} missed and the data is shifted from the training site (${ctx.shifted.reasons.join('; ')}). Annotate images of this site and fine-tune on them: about ${int(c0.currentImages + c0.moreImages)} annotated images (${int(c0.moreImages)} more than the ${int(c0.currentImages)} measured; 95% interval ${int(c0.moreImagesLo)}–${int(c0.moreImagesHi)} more) are predicted to reach MRE ${fmt(c0.target, 2)} ${c0.unit} by the learning curve on this site — about ${c0.hours.toFixed(1)} h of annotation at ${c0.minutesPerImage} min per image${cost}.${opNote}` };
    }
    if (ctx.shifted && ctx.shifted.reasons.length && c0 && ctx.collectionOnThisSite) {
      // measured on this site's own images, and the curve levels off above the target
      return { ...base, decision: 'data-will-not-help', sentence: `Do not deploy: ${list(clinicalMissed)} missed and the data is shifted from the training site (${ctx.shifted.reasons.join('; ')}). The learning curve on this site's own annotated images levels off at ${fmt(c0.asymptote, 2)} ${c0.unit}, above MRE ${fmt(c0.target, 2)} ${c0.unit}: more images of this site will not reach it with the model the curve trained; change the model or recipe (input size, a refinement stage, longer training) and fine-tune it on the site's images.${opNote}` };
    }
    if (ctx.shifted && ctx.shifted.reasons.length) {
      return { ...base, decision: 'site-shift', sentence: `Do not deploy: ${list(clinicalMissed)} missed and the data looks shifted from the training site (${ctx.shifted.reasons.join('; ')}); check acquisition and preprocessing, and annotate images from this site, before collecting more data like the old.${opNote}` };
    }
    const c = ctx.collection;
    if (c) {
      if (!Number.isFinite(c.prediction.images)) {
        return { ...base, decision: 'data-will-not-help', sentence: `Do not deploy: ${list(clinicalMissed)} missed, and more annotated images of this kind are not predicted to reach MRE ${fmt(c.target, 2)} ${c.unit} (the learning curve levels off at ${fmt(c.asymptote, 2)} ${c.unit}); change the model or recipe (input size, heatmap σ, longer training) instead.${opNote}` };
      }
      if (c.moreImages === 0) {
        return { ...base, decision: 'run-learning-curve', sentence: `Do not deploy yet: ${list(clinicalMissed)} missed, although the learning curve predicts MRE ${fmt(c.target, 2)} ${c.unit} with the ${int(c.currentImages)} images it was measured on; the test images here differ from its test split or the fit is loose — score the model on more test images from this site before collecting data.${opNote}` };
      }
      const cost = c.cost !== undefined ? `, cost about ${c.cost.toFixed(0)}` : '';
      return { ...base, decision: 'collect-data', sentence: `Do not deploy yet: ${list(clinicalMissed)} missed; collect about ${int(c.moreImages)} more annotated images (95% interval ${int(c.moreImagesLo)}–${int(c.moreImagesHi)}; ${int(c.currentImages + c.moreImages)} in all) to reach MRE ${fmt(c.target, 2)} ${c.unit} by the learning curve — about ${c.hours.toFixed(1)} h of annotation at ${c.minutesPerImage} min per image${cost}.${opNote}` };
    }
    return { ...base, decision: 'run-learning-curve', sentence: `Do not deploy yet: ${list(clinicalMissed)} missed; run \`osteo experiment learning-curve\` on your annotated images to predict how many more would reach the target, and pass its results with --learning-curve.${opNote}` };
  }
  if (opMissed.length) {
    return { ...base, decision: 'speed-up', sentence: `Accurate enough (${list(met.filter((c) => c.kind === 'clinical')) || 'no clinical threshold given'}) but too slow on this device (${list(opMissed)})${ctx.fallback ? ': it runs on a software adapter, so measure on the deployment GPU' : ': deploy on a faster GPU, or use a smaller input size or batch the images'}; more data will not change speed.` };
  }
  return { ...base, decision: 'deploy', sentence: `Deploy the prototype: every threshold is met (${list(met)})${na.length ? `; not assessable: ${list(na)}` : ''}.` };
}

/** The annotation effort for a learning-curve prediction. */
export function collectionEstimate(p: TargetPrediction, o: { unit: string; currentImages: number; minutesPerImage: number; costPerHour?: number; asymptote: number }): CollectionEstimate {
  const more = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.ceil(n) - o.currentImages) : Infinity);
  const moreImages = more(p.images);
  const hours = (moreImages * o.minutesPerImage) / 60;
  return {
    target: p.target, unit: o.unit, prediction: p, currentImages: o.currentImages, moreImages, moreImagesLo: more(p.lo), moreImagesHi: more(p.hi),
    minutesPerImage: o.minutesPerImage, hours, asymptote: o.asymptote,
    ...(o.costPerHour !== undefined ? { costPerHour: o.costPerHour, cost: hours * o.costPerHour } : {}),
  };
}

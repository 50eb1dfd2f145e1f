/**
 * The numbers of the second-site decision (issue 23) as the README and weights/README.md quote them,
 * rendered from bench/results/site-hamedan.json (bench/site_decision.sh, bench/site_summary.mjs).
 * Pure: no I/O.
 */
// fixed decimals, 'n/a' when missing: the library's formatter of metrics (bench/stats' fmt is 3 significant digits)
import { fmt } from '../src/train/format';

/** What the prediction guards did over an evaluation (src/train/guards.ts GuardTally). */
interface Tally { images: number; points: number; orientationChanged: number; orientationUnsure: number; flaggedPoints: number; lowConfidence: number; implausible: number; redecoded: number }
interface Overall { images: number; unit: string; mre: number; std: number; median: number; max: number; sdrPercent: Record<string, number>; perLandmark: { name: string; mre: number }[]; guards?: Tally | null }
interface Arm {
  name: string; init: string; status: 'run' | 'not run'; reason: string | null;
  bySize: { n: number; runs: number; mre: number; sd: number }[] | null;
  fit: { a: number; b: number; c: number } | null;
  prediction: { target: number; images: number; lo: number; hi: number; unreachableShare: number } | null;
  collection: { moreImages: number; hours: number; cost?: number; minutesPerImage: number; currentImages: number } | null;
  seconds: number;
}
interface Run { dir: string; epochs: number; bestEpoch: number; seconds: number; config: { size: number; lr: number; epochs: number; stage: string } | null }

/** bench/results/site-hamedan.json */
export interface SiteFile {
  date: string;
  machine: string;
  models: {
    isbi: { file: string; hamedan: Overall | null; isbi: Overall | null };
    twoSite: { file: string; hamedan: Overall | null; isbi: Overall | null; training: Run[] };
  };
  annotators: { annotators: [string, string]; images: number; mean: number; median: number; unit: string } | null;
  study: { target: number | null; targetWhy: string; budget: string; crossings: string[]; arms: Arm[] } | null;
  report: { verdict: string; decision: string; offsets: { mre: number; spread: number; systematicShare: number } | null } | null;
  fineTuning?: { what: string; options: FineTuningOption[] } | null;
  reportTwoSite?: { verdict: string; decision: string } | null;
}

/** One fine-tuning option's learning curve (bench/site_study_freeze.sh); the first is the plain ISBI arm. */
interface FineTuningOption { name: string; flags: string; bySize: { n: number; runs: number; mre: number; sd: number }[]; seconds: number; runs: number }

/**
 * Whether an option helps, from the numbers: lower than the plain arm at every shared size by more than the two
 * arms' repeat SDs together at most sizes is "helps"; higher in the same way "hurts"; otherwise no clear effect.
 */
export function fineTuningEffect(plain: FineTuningOption, o: FineTuningOption): { sizes: number[]; diffs: number[]; word: 'helps' | 'hurts' | 'no clear effect' } {
  const pairs = o.bySize.flatMap((b) => { const p = plain.bySize.find((q) => q.n === b.n); return p ? [{ n: b.n, d: b.mre - p.mre, noise: b.sd + p.sd }] : []; });
  const clear = (sign: number) => pairs.every((p) => sign * p.d > 0) && pairs.filter((p) => Math.abs(p.d) > p.noise).length * 2 > pairs.length;
  return { sizes: pairs.map((p) => p.n), diffs: pairs.map((p) => p.d), word: !pairs.length ? 'no clear effect' : clear(-1) ? 'helps' : clear(1) ? 'hurts' : 'no clear effect' };
}

/** The fine-tuning options' table and the sentence that follows from it. */
function fineTuningLines(t: { options: FineTuningOption[] }): string[] {
  const [plain, ...rest] = t.options;
  if (!plain || !rest.length) return [];
  const sizes = [...new Set(rest.flatMap((o) => o.bySize.map((b) => b.n)))].sort((p, q) => p - q);
  const cell = (o: FineTuningOption, n: number) => { const b = o.bySize.find((y) => y.n === n); return b ? `${fmt(b.mre, 1)} ± ${fmt(b.sd, 1)} px` : '—'; };
  const out = ['', `**Frozen BatchNorm statistics or encoder blocks?** The ISBI arm again with each option (same recipe, budget, split and seeds; \`bench/site_study_freeze.sh\`):`, ''];
  out.push(`| annotated Hamedan images | ${t.options.map((o) => (o.flags ? `${o.name} (\`${o.flags}\`)` : o.name)).join(' | ')} |`, `|---|${t.options.map(() => '---|').join('')}`);
  for (const n of sizes) out.push(`| ${n} | ${t.options.map((o) => cell(o, n)).join(' | ')} |`);
  out.push('');
  for (const o of rest) {
    const e = fineTuningEffect(plain, o);
    const d = e.diffs.map((v, i) => `${v > 0 ? '+' : ''}${fmt(v, 1)} px at ${e.sizes[i]}`).join(', ');
    out.push(`- \`${o.flags}\`: ${e.word === 'helps' ? 'helps' : e.word === 'hurts' ? 'hurts' : 'no clear effect'} (${d} against the plain arm; ${mins(o.seconds)} of CPU training for ${o.runs} runs).`);
  }
  return out;
}

const n0 = (v: number): string => (Number.isFinite(v) ? Math.ceil(v).toLocaleString('en') : '∞');
const sdr = (o: Overall) => `SDR ${['2 mm', '2.5 mm', '3 mm', '4 mm'].map((k) => fmt(o.sdrPercent[k], 1)).join(' / ')} % at 2 / 2.5 / 3 / 4 mm`;
const mins = (s: number) => `${Math.round(s / 60)} min`;

/** The README's worked example: the shipped model at the second site, the study, the two-site model. */
export function siteDecision(f: SiteFile): string {
  const a = f.annotators, i = f.models.isbi, t = f.models.twoSite, s = f.study;
  const out: string[] = [];
  out.push(`Measured on this project's machine (${f.machine}, ${f.date}; \`bench/results/site-hamedan.json\`, \`docs/examples/site-hamedan/\`).`);
  if (i.hamedan && a) {
    out.push('', `**The shipped ISBI model at the second site.** On the 30 fixed Hamedan test images it misses by ${fmt(i.hamedan.mre, 1)} px on average (median ${fmt(i.hamedan.median, 1)}, worst ${fmt(i.hamedan.max, 0)} px), ${fmt(i.hamedan.mre / a.mean, 1)}× the annotators' own disagreement of ${fmt(a.mean, 2)} px` +
      (f.report?.offsets ? `; ${fmt(100 * f.report.offsets.systematicShare, 0)} % of that error is a systematic offset per landmark (removing each landmark's median offset leaves ${fmt(f.report.offsets.spread, 1)} px), the mark of another annotation convention that a few annotated images of the site would estimate.` : '.'));
  }
  const g = i.hamedan?.guards, g2 = t.hamedan?.guards;
  if (g) {
    out.push('', `It does not fail silently: with the prediction guards on (as \`osteo predict\` runs it), ${g.orientationUnsure} of the ${g.images} images are reported as unlike the training images in any orientation (every point flagged: do not use) and ${g.flaggedPoints} of ${g.points} points are flagged in all` +
      (g2 ? `; for the two-site model below, ${g2.orientationUnsure} image${g2.orientationUnsure === 1 ? '' : 's'} and ${g2.flaggedPoints} points.` : '.'));
  }
  if (f.report) out.push('', `The report's verdict (thresholds set in advance: \`mre<=17.7px,median<=15px,p95<=2s\`, 17.7 px being the annotators' level + 50 %):`, '', `> ${f.report.verdict}`);
  if (s) {
    out.push('', `**Annotate at the site, and how many?** Learning curves on the Hamedan training images (${s.budget.replace(/^Budget: /, 'budget: ')}):`, '');
    const sizes = [...new Set(s.arms.flatMap((x) => (x.bySize ?? []).map((b) => b.n)))].sort((p, q) => p - q);
    const run = s.arms.filter((x) => x.bySize);
    out.push(`| annotated Hamedan images | ${run.map((x) => x.name).join(' | ')} |`, `|---|${run.map(() => '---|').join('')}`);
    for (const n of sizes) out.push(`| ${n} | ${run.map((x) => { const b = x.bySize!.find((y) => y.n === n); return b ? `${fmt(b.mre, 1)} ± ${fmt(b.sd, 1)} px` : '—'; }).join(' | ')} |`);
    out.push('');
    for (const c of s.crossings) out.push(`- ${c.replace(/(\d+\.\d{1})\d+/g, '$1')}`);
    for (const x of s.arms) {
      if (x.status !== 'run') { out.push(`- ${x.name}: not run — ${x.reason}`); continue; }
      const p = x.prediction, c = x.collection;
      if (!p || !s.target) continue;
      out.push(Number.isFinite(p.images) && c && p.images > 100 * Math.max(1, c.currentImages)
        ? `- ${x.name}: ${fmt(s.target, 1)} px is not reached within 100× the ${c.currentImages} measured images (the fit would need about ${n0(p.images)}: too far an extrapolation to plan on); ${mins(x.seconds)} of CPU training for the curve.`
        : Number.isFinite(p.images)
        ? `- ${x.name}: ${fmt(s.target, 1)} px is predicted at ${n0(p.images)} annotated images (95 % interval ${n0(p.lo)}–${n0(p.hi)})${c ? `, about ${c.hours.toFixed(1)} h of annotation at ${c.minutesPerImage} min per image` : ''}; ${mins(x.seconds)} of CPU training for the curve.`
        : `- ${x.name}: ${fmt(s.target, 1)} px is not reached by more images at this size: the curve levels off at ${fmt(x.fit?.c, 1)} px (${fmt(100 * p.unreachableShare, 0)} % of bootstrap refits agree); ${mins(x.seconds)} of CPU training for the curve.`);
    }
  }
  if (f.fineTuning) out.push(...fineTuningLines(f.fineTuning));
  if (t.hamedan && t.isbi && i.hamedan && i.isbi) {
    out.push('', `**A model for both sites** (\`${t.file}\`: the ISBI model fine-tuned on ISBI + the 80 Hamedan training images, 128 px + refinement): Hamedan test ${fmt(t.hamedan.mre, 1)} px (median ${fmt(t.hamedan.median, 1)}; the ISBI model ${fmt(i.hamedan.mre, 1)}), ISBI held-out images ${fmt(t.isbi.mre, 2)} mm, ${sdr(t.isbi)} (the ISBI model ${fmt(i.isbi.mre, 2)} mm).`);
    if (f.reportTwoSite) out.push('', 'Its report on the same test images and thresholds:', '', `> ${f.reportTwoSite.verdict}`);
  }
  return out.join('\n');
}

/** weights/README.md's figures of the two-site model. */
export function twoSiteModel(f: SiteFile): string {
  const t = f.models.twoSite, i = f.models.isbi;
  if (!t.hamedan || !t.isbi) return 'Not measured yet (bench/site_decision.sh).';
  const train = t.training.map((r) => `${r.config?.stage ?? 'coarse'} ${r.epochs} epochs (best ${r.bestEpoch}) in ${mins(r.seconds)}`).join(', ');
  return [
    `**Validation, per site** (\`bench/results/site-hamedan.json\`, ${f.date}): Hamedan — the 30 fixed test images, never used for training or selection — MRE ${fmt(t.hamedan.mre, 2)} px (median ${fmt(t.hamedan.median, 2)}, max ${fmt(t.hamedan.max, 1)}) against the annotators' mean${f.annotators ? `, who differ by ${fmt(f.annotators.mean, 2)} px` : ''}; the ISBI-only model ${fmt(i.hamedan?.mre, 2)} px.`,
    `ISBI 2015 — the 15 training-split images both models held out (their best epochs were picked on them) — MRE ${fmt(t.isbi.mre, 2)} mm, ${sdr(t.isbi)}; the ISBI-only model ${fmt(i.isbi?.mre, 2)} mm.`,
    `**Training** on the CPU fallback (${f.machine}): ${train} (bench/site_two_site_model.sh), then \`osteo calibrate\`. The figures are the shipped file's, guards on (as predict runs it).`,
  ].join('\n');
}

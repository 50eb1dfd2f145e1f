/**
 * Learning curves of several initialisations on one site (host-neutral): for each arm (from a
 * model trained elsewhere, from scratch, from ImageNet) test MRE against annotated images of the
 * site, where the arms cross, and how many annotated images each needs to reach a target — by
 * default the annotators' own disagreement plus 50 %, since no model can be measured below the
 * disagreement of the truth it is scored against. An arm that could not run is listed with why.
 */
import type { AnnotatorAgreement } from '../data/annotators';
import { fmt } from '../train/format';
import type { Engine } from '../gpu/engine';
import { ConfigError } from '../train/config';
import type { InitSource } from '../train/init';
import type { TrainProgress } from '../train/run';
import { substore, utf8 } from '../train/store';
import { escapeHtml as esc } from '../util/html';
import { legend, svgOpen, ticks, yGrid } from '../util/svg_chart';
import { COLOURS } from './charts';
import { type LearningCurveDoc, type LearningCurveOptions, type LearningCurveResult, predictionSentence, runLearningCurve } from './learning_curve';
import { band, powerLaw } from './powerlaw';

/** One arm's curve, or why it has none. */
export interface ArmCurve {
  name: string;
  /** What its runs start from (scratch, imagenet, a file). */
  init: string;
  status: 'run' | 'not run';
  reason?: string;
  curve?: Pick<LearningCurveDoc, 'bySize' | 'rows' | 'fit' | 'samples' | 'prediction' | 'collection'>;
}

/** arms.json */
export interface ArmsDoc {
  kind: 'osteo-learning-curve-arms';
  title: string;
  data: string;
  unit: 'mm' | 'px';
  poolImages: number;
  testImages: number;
  describeSplit: string;
  /** The annotators' disagreement on this data, when it has two annotators. */
  annotators: AnnotatorAgreement | null;
  target: number | null;
  targetWhy: string;
  budget: string;
  arms: ArmCurve[];
  crossings: string[];
  notes: string[];
}

/** Which arm is better at each measured size, and where that changes. */
export function crossings(arms: readonly ArmCurve[], unit: string): string[] {
  const run = arms.filter((a) => a.curve);
  const out: string[] = [];
  for (let i = 0; i < run.length; i++) {
    for (let j = i + 1; j < run.length; j++) {
      const a = run[i]!, b = run[j]!;
      const sizes = a.curve!.bySize.map((s) => s.n).filter((n) => b.curve!.bySize.some((s) => s.n === n)).sort((x, y) => x - y);
      if (!sizes.length) continue;
      const diff = sizes.map((n) => a.curve!.bySize.find((s) => s.n === n)!.mre - b.curve!.bySize.find((s) => s.n === n)!.mre);
      const better = (d: number) => (d < 0 ? a.name : b.name);
      const flips = sizes.slice(1).flatMap((n, k) => (Math.sign(diff[k + 1]!) !== Math.sign(diff[k]!) && diff[k]! !== 0 ? [`between ${sizes[k]} and ${n} images (${better(diff[k]!)} better before, ${better(diff[k + 1]!)} better after)`] : []));
      const gap = (k: number) => `${fmt(Math.abs(diff[k]!), 3)} ${unit}`;
      out.push(flips.length
        ? `${a.name} vs ${b.name}: the curves cross ${flips.join('; ')}.`
        : `${a.name} vs ${b.name}: ${better(diff[0]!)} is better at every measured size (by ${gap(0)} at ${sizes[0]} images, ${gap(diff.length - 1)} at ${sizes[sizes.length - 1]}).`);
    }
  }
  return out;
}

/** arms.md */
export function armsMarkdown(d: ArmsDoc): string {
  const u = d.unit;
  const run = d.arms.filter((a) => a.curve);
  const sizes = [...new Set(run.flatMap((a) => a.curve!.bySize.map((s) => s.n)))].sort((x, y) => x - y);
  const lines = [`# ${d.title}`, '', `Data ${d.data}: ${d.poolImages} annotated training images, ${d.testImages} fixed test images (${d.describeSplit}); ${d.budget}.`, ''];
  if (d.annotators) lines.push(`The annotators (${d.annotators.annotators.join(' and ')}) differ by ${fmt(d.annotators.mean)} ${u} on average over ${d.annotators.images} images: no model can be measured below this.`, '');
  if (d.target !== null) lines.push(`Target: test MRE ≤ ${fmt(d.target)} ${u} (${d.targetWhy}).`, '');
  lines.push('## Test MRE by annotated images (mean ± SD over repeats)', '', `| images | ${run.map((a) => esc(a.name)).join(' | ')} |`, `|---|${run.map(() => '---|').join('')}`);
  for (const n of sizes) {
    lines.push(`| ${n} | ${run.map((a) => { const s = a.curve!.bySize.find((x) => x.n === n); return s ? `${fmt(s.mre)} ± ${fmt(s.sd)} (${s.runs})` : '—'; }).join(' | ')} |`);
  }
  lines.push('');
  if (d.crossings.length) lines.push('## Where the arms cross', '', ...d.crossings.map((c) => `- ${c}`), '');
  lines.push('## Images to reach the target', '');
  for (const a of d.arms) {
    if (!a.curve) lines.push(`- **${a.name}** (init ${a.init}): not run — ${a.reason}`);
    else if (a.curve.prediction) lines.push(`- **${a.name}** (init ${a.init}): ${predictionSentence(a.curve.prediction, a.curve.collection, u)}`);
    else lines.push(`- **${a.name}** (init ${a.init}): no prediction (${a.curve.fit ? 'no target' : 'too few sizes for a fit'}).`);
  }
  lines.push('', ...d.notes.map((n) => `- ${n}`), '', '![learning curves per arm](arms.svg)', '');
  return lines.join('\n');
}

const ARM_COLOURS = ['#1f77b4', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/**
 * Test MRE against annotated images (log axis) per arm: mean ± SD, fit and band; the annotators' level and the target.
 */
export function armsSvg(d: ArmsDoc): string {
  const W = 900, left = 80, right = W - 30;
  const run = d.arms.filter((a) => a.curve);
  // the legend wraps inside the chart; the plot starts under it (and under the line naming the arms not run)
  const lg = legend([
    ...run.map((a, i) => ({ label: a.name, colour: ARM_COLOURS[i % ARM_COLOURS.length]! })),
    ...(d.annotators ? [{ label: "annotators' disagreement", colour: COLOURS.reference, kind: 'dash' as const }] : []),
    ...(d.target !== null ? [{ label: 'target', colour: COLOURS.target, kind: 'dash' as const }] : []),
  ], left + 10, 42, { right: W - 20 });
  const notRunY = 42 + lg.height;
  const top = notRunY + 6, bottom = top + 346, h = bottom + 50;
  const all = run.flatMap((a) => a.curve!.bySize);
  const nLo = Math.max(1, Math.min(...all.map((s) => s.n), 5) / 1.5);
  const nHi = Math.max(...all.map((s) => s.n), 10) * 1.5;
  const lines = [...(d.annotators ? [d.annotators.mean] : []), ...(d.target !== null ? [d.target] : [])];
  const yMax = Math.max(1e-9, ...all.map((s) => s.mre + s.sd), ...lines) * 1.1;
  const tk = ticks(yMax);
  const top_ = tk[tk.length - 1]!;
  const X = (n: number) => left + ((right - left) * Math.log(n / nLo)) / Math.log(nHi / nLo);
  const Y = (v: number) => bottom - ((bottom - top) * Math.min(Math.max(v, 0), top_)) / top_;
  const out = [svgOpen({ id: 'chart-arms', width: W, height: h, title: d.title }), lg.svg];
  const notRun = d.arms.filter((a) => !a.curve);
  if (notRun.length) out.push(`<text x="${left + 10}" y="${notRunY}" fill="#555">${esc(`not run: ${notRun.map((a) => a.name).join(', ')} (see arms.md)`)}</text>`);
  out.push(yGrid({ left, right, top, bottom }, tk, Y));
  for (let e = Math.floor(Math.log10(nLo)); e <= Math.floor(Math.log10(nHi)); e++) {
    for (const m of [1, 2, 5]) {
      const n = m * 10 ** e;
      if (n >= nLo && n <= nHi) out.push(`<line x1="${X(n)}" y1="${top}" x2="${X(n)}" y2="${bottom}" stroke="#eee"/><text x="${X(n)}" y="${bottom + 16}" text-anchor="middle">${n}</text>`);
    }
  }
  out.push(`<text transform="translate(22,${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">test MRE (${d.unit})</text>`, `<text x="${(left + right) / 2}" y="${h - 12}" text-anchor="middle">annotated training images of the site (log scale)</text>`);
  const xs = Array.from({ length: 50 }, (_, i) => nLo * (nHi / nLo) ** (i / 49));
  run.forEach((a, i) => {
    const col = ARM_COLOURS[i % ARM_COLOURS.length]!;
    const c = a.curve!;
    if (c.fit && c.samples.length) {
      const samples = c.samples.map(([sa, sb, sc]) => ({ a: sa, b: sb, c: sc }));
      const bands = xs.map((n) => band(samples, n));
      const poly = [...xs.map((n, k) => `${X(n).toFixed(1)},${Y(bands[k]!.hi).toFixed(1)}`), ...xs.map((n, k) => `${X(n).toFixed(1)},${Y(bands[k]!.lo).toFixed(1)}`).reverse()];
      out.push(`<polygon class="band" points="${poly.join(' ')}" fill="${col}" fill-opacity="0.12"/>`);
      out.push(`<polyline class="fit" points="${xs.map((n) => `${X(n).toFixed(1)},${Y(powerLaw(c.fit!, n)).toFixed(1)}`).join(' ')}" fill="none" stroke="${col}" stroke-width="1.5"/>`);
    }
    for (const s of c.bySize) {
      const x = X(s.n) + (i - (run.length - 1) / 2) * 5;
      out.push(`<line x1="${x}" y1="${Y(s.mre - s.sd)}" x2="${x}" y2="${Y(s.mre + s.sd)}" stroke="${col}" stroke-width="2"/><circle class="arm-mean" cx="${x}" cy="${Y(s.mre)}" r="5" fill="${col}"><title>${esc(a.name)}, ${s.n} images: ${fmt(s.mre)} ± ${fmt(s.sd)} ${d.unit}</title></circle>`);
    }
  });
  if (d.annotators) out.push(`<line x1="${left}" y1="${Y(d.annotators.mean)}" x2="${right}" y2="${Y(d.annotators.mean)}" stroke="${COLOURS.reference}" stroke-width="2" stroke-dasharray="5 3"/>`);
  if (d.target !== null) out.push(`<line x1="${left}" y1="${Y(d.target)}" x2="${right}" y2="${Y(d.target)}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="5 3"/>`);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n');
}

/** One arm to run: its name and init, the init's weights (read by the host), or why it cannot run here. */
export type ArmPlan = { name: string; init: string } & ({ source: () => Promise<InitSource> } | { notRun: string });

/**
 * Runs a learning curve per arm with one recipe (`o` without its init), each in the store's folder
 * named after the arm, and writes their comparison: arms.json, arms.md, arms.svg. An arm with
 * `notRun` is listed with its reason. Finished runs are kept (each curve resumes).
 */
export async function runArms(engine: Engine, plans: readonly ArmPlan[], o: Omit<LearningCurveOptions, 'init' | 'initName'> & { device: string }): Promise<{ doc: ArmsDoc; last: LearningCurveResult }> {
  const arms: ArmCurve[] = [];
  let last: LearningCurveResult | undefined;
  for (const p of plans) {
    if ('notRun' in p) {
      o.log?.(`[${p.name}] not run: ${p.notRun}`);
      arms.push({ name: p.name, init: p.init, status: 'not run', reason: p.notRun });
      continue;
    }
    last = await runLearningCurve(engine, {
      ...o, init: await p.source(), initName: p.init, store: substore(o.store, p.name.replace(/[^A-Za-z0-9._-]+/g, '-')),
      ...(o.onRunProgress ? { onRunProgress: (tag: string, q: TrainProgress) => o.onRunProgress!(`${p.name} ${tag}`, q) } : {}),
    });
    const d = last.doc;
    arms.push({ name: p.name, init: p.init, status: 'run', curve: { bySize: d.bySize, rows: d.rows, fit: d.fit, samples: d.samples, prediction: d.prediction, collection: d.collection } });
  }
  if (!last) throw new ConfigError(`no arm could run: ${arms.map((a) => `${a.name}: ${a.reason}`).join('; ')}`);
  const d = last.doc;
  const b = o.base;
  const doc: ArmsDoc = {
    kind: 'osteo-learning-curve-arms', title: `Learning curves per initialisation: ${d.data}`, data: d.data, unit: d.unit, poolImages: d.poolImages, testImages: d.testImages,
    describeSplit: d.describeSplit, annotators: d.annotators, target: d.target, targetWhy: d.targetWhy ?? '',
    budget: (d.notes.find((n) => n.startsWith('Budget:')) ?? d.budget).replace(/ Init: [^;]*$/, '').replace(/\.$/, ''),
    arms, crossings: crossings(arms, d.unit),
    notes: [`The same recipe for every arm: ${JSON.stringify({ size: b.size, loss: b.loss, sigma: b.sigma, lr: b.lr, schedule: b.schedule, batch: b.batch, epochs: b.epochs, valSplit: b.valSplit, widths: b.widths ?? 'full' })}.`, `Device: ${o.device}.`],
  };
  await o.store.write('arms.json', utf8(`${JSON.stringify(doc, null, 2)}\n`));
  await o.store.write('arms.md', utf8(armsMarkdown(doc)));
  await o.store.write('arms.svg', utf8(armsSvg(doc)));
  o.log?.(`wrote ${o.store.locate('arms.md')}, arms.json, arms.svg`);
  return { doc, last };
}

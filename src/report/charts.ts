/**
 * The report's charts as inline SVG strings (host-neutral, no scripts, no external assets): error
 * per landmark (model beside the mean-shape baseline), SDR per radius, throughput per batch size,
 * and the learning curve (runs, mean ± SD per size, fit with its 95 % band, target line).
 */
import { fmt } from '../train/format';
import { escapeHtml as esc } from '../util/html';
import { legend, type LegendItem, svgOpen, ticks, tickText, yGrid } from '../util/svg_chart';
import type { LearningCurveDoc } from './learning_curve';
import { band, powerLaw } from './powerlaw';

const W = 900;
export const COLOURS = { model: '#1f77b4', baseline: '#ff7f0e', target: '#2ca02c', band: '#1f77b4', reference: '#7f7f7f', missed: '#d62728' };

/** The report's chart frame: 900 wide, the chart's id and title (src/util/svg_chart.ts draws every chart). */
const open = (id: string, h: number, title: string): string => svgOpen({ id, width: W, height: h, title });

/** A legend wrapped inside the report's width. */
const legendAt = (items: readonly LegendItem[], x: number, y: number): string => legend(items, x, y, { right: W - 20 }).svg;

/** Horizontal bars per landmark: the model's MRE and the baseline's, with the model's SD as a whisker. */
export function perLandmarkChart(rows: readonly { name: string; mre: number; std: number; baseline: number }[], unit: string): string {
  const left = 190, right = W - 30, top = 48, rowH = 22;
  const h = top + rows.length * rowH + 50;
  const max = Math.max(1e-9, ...rows.flatMap((r) => [r.mre + r.std, r.baseline]));
  const tk = ticks(max);
  const X = (v: number) => left + ((right - left) * v) / tk[tk.length - 1]!;
  const out = [open('chart-landmarks', h, `Radial error per landmark (${unit}): model vs mean-shape baseline`), legendAt([{ label: 'model MRE (whisker: ± SD)', colour: COLOURS.model }, { label: 'mean-shape baseline MRE', colour: COLOURS.baseline }], left, 38)];
  for (const t of tk) out.push(`<line x1="${X(t)}" y1="${top - 4}" x2="${X(t)}" y2="${h - 44}" stroke="#ddd"/><text x="${X(t)}" y="${h - 30}" text-anchor="middle">${tickText(t)}</text>`);
  out.push(`<text x="${(left + right) / 2}" y="${h - 10}" text-anchor="middle">mean radial error (${unit})</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(`${i + 1}. ${r.name}`.slice(0, 30))}</text>`);
    out.push(`<rect class="bar model" x="${left}" y="${y + 2}" width="${Math.max(1, X(r.mre) - left)}" height="9" fill="${COLOURS.model}"><title>${esc(r.name)}: ${fmt(r.mre)} ± ${fmt(r.std)} ${unit}</title></rect>`);
    out.push(`<line x1="${X(Math.max(0, r.mre - r.std))}" y1="${y + 6.5}" x2="${X(r.mre + r.std)}" y2="${y + 6.5}" stroke="#000"/>`);
    out.push(`<rect class="bar baseline" x="${left}" y="${y + 12}" width="${Math.max(1, X(r.baseline) - left)}" height="7" fill="${COLOURS.baseline}"><title>${esc(r.name)} baseline: ${fmt(r.baseline)} ${unit}</title></rect>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** SDR at each radius: model vs baseline (grouped bars, percent), with the SDR thresholds marked. */
export function sdrChart(radii: readonly string[], model: readonly number[], baseline: readonly number[], unit: string, goals: readonly { radius: string; percent: number }[] = []): string {
  const left = 70, right = W - 30, top = 50, bottom = 300, h = 350;
  const Y = (v: number) => bottom - ((bottom - top) * v) / 100;
  const gw = (right - left) / radii.length;
  const out = [open('chart-sdr', h, `Successful detection rate (share of landmarks within the radius)`), legendAt([{ label: 'model', colour: COLOURS.model }, { label: 'mean-shape baseline', colour: COLOURS.baseline }, { label: 'threshold', colour: COLOURS.target, kind: 'dash' }], left + 10, 40)];
  out.push(yGrid({ left, right, top, bottom }, [0, 20, 40, 60, 80, 100], Y, (t) => `${t}%`));
  out.push(`<text transform="translate(20,${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">SDR (%)</text>`, `<text x="${(left + right) / 2}" y="${h - 12}" text-anchor="middle">radius (${unit})</text>`);
  radii.forEach((r, i) => {
    const cx = left + gw * (i + 0.5);
    const bw = gw * 0.3;
    out.push(`<rect class="bar model" x="${cx - bw}" y="${Y(model[i]!)}" width="${bw}" height="${bottom - Y(model[i]!)}" fill="${COLOURS.model}"><title>model SDR ${r} ${unit}: ${fmt(model[i], 1)}%</title></rect><text x="${cx - bw / 2}" y="${Y(model[i]!) - 4}" text-anchor="middle">${fmt(model[i], 1)}</text>`);
    out.push(`<rect class="bar baseline" x="${cx}" y="${Y(baseline[i]!)}" width="${bw}" height="${bottom - Y(baseline[i]!)}" fill="${COLOURS.baseline}"><title>baseline SDR ${r} ${unit}: ${fmt(baseline[i], 1)}%</title></rect><text x="${cx + bw / 2}" y="${Y(baseline[i]!) - 4}" text-anchor="middle">${fmt(baseline[i], 1)}</text>`);
    out.push(`<text x="${cx}" y="${bottom + 16}" text-anchor="middle">${esc(r)} ${unit}</text>`);
    for (const g of goals.filter((x) => x.radius === r)) out.push(`<line x1="${cx - gw * 0.4}" y1="${Y(g.percent)}" x2="${cx + gw * 0.4}" y2="${Y(g.percent)}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="5 3"/>`);
  });
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n');
}

/** Images per second at each batch size (bars), with an optional threshold line. */
export function throughputChart(perBatch: readonly { batch: number; imagesPerSecond: number }[], goal?: number): string {
  const left = 80, right = W - 30, top = 50, bottom = 260, h = 310;
  const max = Math.max(1e-9, goal ?? 0, ...perBatch.map((p) => p.imagesPerSecond)) * 1.1;
  const tk = ticks(max);
  const Y = (v: number) => bottom - ((bottom - top) * v) / tk[tk.length - 1]!;
  const gw = (right - left) / Math.max(1, perBatch.length);
  const out = [open('chart-throughput', h, 'Throughput on this device (images/s) by batch size'), legendAt([{ label: 'images/s', colour: COLOURS.model }, ...(goal !== undefined ? [{ label: 'threshold', colour: COLOURS.target, kind: 'dash' as const }] : [])], left + 10, 40)];
  out.push(yGrid({ left, right, top, bottom }, tk, Y));
  out.push(`<text transform="translate(22,${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">images / s</text>`, `<text x="${(left + right) / 2}" y="${h - 12}" text-anchor="middle">batch size</text>`);
  perBatch.forEach((p, i) => {
    const cx = left + gw * (i + 0.5);
    out.push(`<rect class="bar" x="${cx - gw * 0.3}" y="${Y(p.imagesPerSecond)}" width="${gw * 0.6}" height="${bottom - Y(p.imagesPerSecond)}" fill="${COLOURS.model}"><title>batch ${p.batch}: ${fmt(p.imagesPerSecond, 2)} images/s</title></rect>`);
    out.push(`<text x="${cx}" y="${Y(p.imagesPerSecond) - 4}" text-anchor="middle">${fmt(p.imagesPerSecond, 2)}</text><text x="${cx}" y="${bottom + 16}" text-anchor="middle">${p.batch}</text>`);
  });
  if (goal !== undefined) out.push(`<line x1="${left}" y1="${Y(goal)}" x2="${right}" y2="${Y(goal)}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="5 3"/>`);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n');
}

/**
 * Test MRE against annotated training images (log axis): every run (dots), mean ± SD per size,
 * the fitted power law with its 95 % bootstrap band, the target line, and the predicted size.
 */
export function learningCurveSvg(d: Pick<LearningCurveDoc, 'rows' | 'bySize' | 'fit' | 'samples' | 'target' | 'prediction' | 'unit' | 'title'>, target = d.target): string {
  const left = 80, right = W - 30, top = 56, bottom = 400, h = 450;
  const nMax0 = Math.max(...d.bySize.map((s) => s.n), 2);
  const predicted = d.prediction && Number.isFinite(d.prediction.images) ? d.prediction.images : 0;
  const nLo = Math.max(1, Math.min(...d.bySize.map((s) => s.n)) / 1.5);
  const nHi = Math.min(nMax0 * 100, Math.max(nMax0 * 1.5, predicted * 1.3));
  const samples = d.samples.map(([a, b, c]) => ({ a, b, c }));
  const xs = Array.from({ length: 60 }, (_, i) => nLo * (nHi / nLo) ** (i / 59));
  const curve = d.fit ? xs.map((n) => powerLaw(d.fit!, n)) : [];
  const bands = d.fit && samples.length ? xs.map((n) => band(samples, n)) : [];
  const yMax = Math.max(1e-9, ...d.rows.map((r) => r.mre), ...d.bySize.map((s) => s.mre + s.sd), ...(target !== null && target !== undefined ? [target] : []), ...curve.slice(0, 3)) * 1.15;
  const tk = ticks(yMax);
  const X = (n: number) => left + ((right - left) * Math.log(n / nLo)) / Math.log(nHi / nLo);
  const Y = (v: number) => bottom - ((bottom - top) * Math.min(Math.max(v, 0), tk[tk.length - 1]!)) / tk[tk.length - 1]!;
  const out = [open('chart-learning-curve', h, d.title), legendAt([
    { label: 'runs', colour: '#000' }, { label: 'mean ± SD', colour: COLOURS.model }, { label: 'fit a·n^(−b) + c', colour: COLOURS.model, kind: 'line' }, { label: '95% band', colour: '#b9d3ea' }, { label: 'target', colour: COLOURS.target, kind: 'dash' },
  ], left + 10, 40)];
  out.push(yGrid({ left, right, top, bottom }, tk, Y));
  for (let e = Math.floor(Math.log10(nLo)); e <= Math.floor(Math.log10(nHi)); e++) {
    for (const m of [1, 2, 5]) {
      const n = m * 10 ** e;
      if (n < nLo || n > nHi) continue;
      out.push(`<line x1="${X(n)}" y1="${top}" x2="${X(n)}" y2="${bottom}" stroke="#eee"/><text x="${X(n)}" y="${bottom + 16}" text-anchor="middle">${n.toLocaleString('en')}</text>`);
    }
  }
  out.push(`<text transform="translate(22,${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">test MRE (${d.unit})</text>`, `<text x="${(left + right) / 2}" y="${h - 12}" text-anchor="middle">annotated training images (log scale)</text>`);
  if (bands.length) {
    const upper = xs.map((n, i) => `${X(n).toFixed(1)},${Y(bands[i]!.hi).toFixed(1)}`);
    const lower = xs.map((n, i) => `${X(n).toFixed(1)},${Y(bands[i]!.lo).toFixed(1)}`).reverse();
    out.push(`<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="#b9d3ea" fill-opacity="0.7"/>`);
  }
  if (curve.length) out.push(`<polyline class="fit" fill="none" stroke="${COLOURS.model}" stroke-width="2" points="${xs.map((n, i) => `${X(n).toFixed(1)},${Y(curve[i]!).toFixed(1)}`).join(' ')}"/>`);
  if (target !== null && target !== undefined) out.push(`<line class="target" x1="${left}" y1="${Y(target)}" x2="${right}" y2="${Y(target)}" stroke="${COLOURS.target}" stroke-width="2" stroke-dasharray="5 3"/><text x="${right - 4}" y="${Y(target) - 5}" text-anchor="end" fill="${COLOURS.target}">target ${fmt(target, 2)} ${d.unit}</text>`);
  if (predicted && target !== null && target !== undefined) out.push(`<line x1="${X(predicted)}" y1="${Y(target)}" x2="${X(predicted)}" y2="${bottom}" stroke="${COLOURS.target}" stroke-dasharray="2 2"/><text x="${X(predicted) + 4}" y="${bottom - 6}" fill="${COLOURS.target}">${Math.ceil(predicted).toLocaleString('en')} images</text>`);
  for (const r of d.rows) out.push(`<circle class="run" cx="${X(r.n).toFixed(1)}" cy="${Y(r.mre).toFixed(1)}" r="3" fill="#000" fill-opacity="0.6"><title>n ${r.n}, repeat ${r.repeat}: ${fmt(r.mre)} ${d.unit}</title></circle>`);
  for (const s of d.bySize) {
    out.push(`<line x1="${X(s.n)}" y1="${Y(s.mre - s.sd)}" x2="${X(s.n)}" y2="${Y(s.mre + s.sd)}" stroke="${COLOURS.model}" stroke-width="2"/><rect class="mean" x="${X(s.n) - 5}" y="${Y(s.mre) - 5}" width="10" height="10" fill="${COLOURS.model}"><title>n ${s.n}: ${fmt(s.mre)} ± ${fmt(s.sd)} ${d.unit} (${s.runs} runs)</title></rect>`);
  }
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n');
}

/** The two sets' pooled intensity histograms (each image min-max scaled), as outlines. */
export function histogramChart(reference: readonly number[], target: readonly number[], labels: [string, string]): string {
  const left = 70, right = W - 30, top = 50, bottom = 260, h = 310;
  const max = Math.max(1e-9, ...reference, ...target) * 1.1;
  const tk = ticks(max * 100);
  const X = (i: number) => left + ((right - left) * i) / reference.length;
  const Y = (v: number) => bottom - ((bottom - top) * v * 100) / tk[tk.length - 1]!;
  const step = (v: readonly number[]) => v.map((p, i) => `${X(i).toFixed(1)},${Y(p).toFixed(1)} ${X(i + 1).toFixed(1)},${Y(p).toFixed(1)}`).join(' ');
  const out = [open('chart-histograms', h, 'Intensity histograms (each image min-max scaled to [0, 1], pooled)'), legendAt([{ label: labels[0], colour: COLOURS.reference, kind: 'line' }, { label: labels[1], colour: COLOURS.missed, kind: 'line' }], left + 10, 40)];
  out.push(yGrid({ left, right, top, bottom }, tk, (t) => Y(t / 100), (t) => `${tickText(t)}%`));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) out.push(`<text x="${X(v * reference.length)}" y="${bottom + 16}" text-anchor="middle">${v}</text>`);
  out.push(`<text transform="translate(20,${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">share of pixels</text>`, `<text x="${(left + right) / 2}" y="${h - 12}" text-anchor="middle">intensity</text>`);
  out.push(`<polyline fill="none" stroke="${COLOURS.reference}" stroke-width="2" points="${step(reference)}"/>`, `<polyline fill="none" stroke="${COLOURS.missed}" stroke-width="2" points="${step(target)}"/>`);
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333"/>`, '</svg>');
  return out.join('\n');
}

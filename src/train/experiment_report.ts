/**
 * The transfer study's results as text (host-neutral): per-arm summary, paired differences,
 * markdown report and SVG plot (see src/train/experiment.ts).
 */
import { escapeHtml as esc } from '../util/html';
import { axes, coord, type Frame, legend, lineChartBody, linearScale, SVG_CLOSE, svgOpen, ticks, yGrid } from '../util/svg_chart';
import { mean, sd } from '../util/stats';
import { fmt as f } from './format';

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

export interface Split {
  fold: number | null;
  train: string[];
  test: string[];
}


/** Per-arm means over the runs (seeds and folds). */
export function summarise(rows: RunRow[], arms: Arm[]): ArmSummary[] {
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
export function paired(rows: RunRow[], a: Arm, b: Arm): { n: number; mean: number; sd: number } | null {
  const key = (r: RunRow) => `${r.seed}/${r.fold}`;
  const rb = new Map(rows.filter((r) => r.arm === b).map((r) => [key(r), r]));
  const d = rows.filter((r) => r.arm === a && rb.has(key(r))).map((r) => r.mre - rb.get(key(r))!.mre);
  return d.length ? { n: d.length, mean: mean(d), sd: sd(d) } : null;
}

/** SDR thresholds in numeric order (object keys put '2.5' after the integers). */
export const sdrKeys = (o: Record<string, number>): string[] => Object.keys(o).sort((a, b) => Number(a) - Number(b));

/** JSON with short number arrays on one line. */
export const prettyJson = (v: unknown): string => JSON.stringify(v, null, 2).replace(/\[\s+([-\d.e,\s]+?)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`);

/** results.md: summary, paired differences, every run, settings. */
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

/**
 * Two panels: test MRE per arm (bar = mean, whisker = ± std over runs, dots = runs) and validation MRE per epoch (mean
 * over runs, a line per arm), under one legend of the arms.
 */
export function svgPlot(rows: RunRow[], summary: ArmSummary[], unit: string, title: string): string {
  const W = 960, pad = 64;
  const lg = legend(summary.map((s) => ({ label: `${s.arm}: ${ARM_LABELS[s.arm]}`, colour: COLOURS[s.arm] })), pad, 44, { right: W - 20 });
  const top = 44 + lg.height + 10, ph = 300;
  const H = top + ph + 56;
  const pw = (W - 3 * pad) / 2;
  const out: string[] = [svgOpen({ width: W, height: H, title, titleSize: 15 }), lg.svg];
  // Panel 1: bars.
  const p1: Frame = { left: pad, right: pad + pw, top, bottom: top + ph };
  const tk = ticks(Math.max(1e-9, ...rows.map((r) => r.mre), ...summary.map((s) => s.mre + s.mreStd)) * 1.1);
  const Y1 = linearScale(0, tk[tk.length - 1]!, p1.bottom, p1.top);
  out.push(yGrid(p1, tk, Y1), axes(p1, 'arm', `test MRE (${unit})`));
  const bw = pw / Math.max(1, summary.length);
  summary.forEach((s, i) => {
    const cx = p1.left + bw * (i + 0.5);
    out.push(`<rect x="${coord(cx - bw * 0.3)}" y="${coord(Y1(s.mre))}" width="${coord(bw * 0.6)}" height="${coord(p1.bottom - Y1(s.mre))}" fill="${COLOURS[s.arm]}" fill-opacity="0.55"><title>${esc(ARM_LABELS[s.arm])}: ${f(s.mre)} ± ${f(s.mreStd)} ${esc(unit)} (${s.runs} runs)</title></rect>`);
    out.push(`<line x1="${coord(cx)}" y1="${coord(Y1(Math.max(0, s.mre - s.mreStd)))}" x2="${coord(cx)}" y2="${coord(Y1(s.mre + s.mreStd))}" stroke="#000"/>`);
    out.push(`<text x="${coord(cx)}" y="${coord(Y1(s.mre) - 6)}" text-anchor="middle">${f(s.mre)}</text>`);
    rows.filter((r) => r.arm === s.arm).forEach((r, j, a) => {
      const dx = a.length > 1 ? (j / (a.length - 1) - 0.5) * bw * 0.3 : 0;
      out.push(`<circle cx="${coord(cx + dx)}" cy="${coord(Y1(r.mre))}" r="3" fill="#000"/>`);
    });
    // the arm's short name under its bar (the full labels are long enough to collide; the legend gives them)
    out.push(`<text x="${coord(cx)}" y="${p1.bottom + 16}" text-anchor="middle">${esc(s.arm)}</text>`);
  });
  // Panel 2: validation curves, the mean over each arm's runs per epoch.
  const series = summary.map((s) => {
    const rs = rows.filter((r) => r.arm === s.arm);
    const n = Math.max(0, ...rs.map((r) => r.valCurve.length));
    const points: [number, number][] = [];
    for (let e = 0; e < n; e++) {
      const v = rs.map((r) => r.valCurve[e]).filter((x): x is number => x !== undefined && Number.isFinite(x));
      points.push([e + 1, v.length ? mean(v) : Number.NaN]);
    }
    return { label: ARM_LABELS[s.arm], colour: COLOURS[s.arm], points, dots: true };
  });
  out.push(lineChartBody({ xTitle: 'epoch', yTitle: `validation MRE (${unit})`, series }, { left: 2 * pad + pw, right: 2 * pad + 2 * pw, top, bottom: top + ph }).svg);
  out.push(SVG_CLOSE);
  return `${out.join('\n')}\n`;
}

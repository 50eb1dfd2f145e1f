/**
 * The transfer study's results as text (host-neutral): per-arm summary, paired differences,
 * markdown report and SVG plot (see src/train/experiment.ts).
 */
import { escapeHtml as esc } from '../util/html';
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
 * over runs).
 */
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


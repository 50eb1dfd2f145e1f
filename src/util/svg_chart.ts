/**
 * The one SVG chart module (host-neutral, no DOM, no scripts): every chart of the decision report,
 * the experiment studies, the benchmark pages and the recipe curves is an inline SVG string built
 * from these pieces — the opening tag with its title, a wrapping legend, nice linear and log axes,
 * and a line chart with optional bands. Text goes through the one HTML escaper; points that are not
 * finite are skipped, and a single point or all-equal values still give finite coordinates.
 */
import { escapeHtml as esc } from './html';

/** Series colours, in order (matplotlib's tab10). */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const;

/** The plot area inside a chart, in SVG units. */
export interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A number as an SVG coordinate: one decimal, and 0 for anything not finite (never "NaN" in the markup). */
export const coord = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0');

/**
 * The opening `<svg>` tag, a white background and (when given) the title centred on top. `id`
 * gives the chart a class `chart` and that id (the report pages find their charts by them).
 */
export function svgOpen(o: { id?: string; width: number; height: number; title?: string; fontSize?: number; titleSize?: number }): string {
  const { width: w, height: h } = o;
  const fs = o.fontSize ?? 12;
  const id = o.id ? ` class="chart" id="${esc(o.id)}"` : '';
  const title = o.title ? `<text x="${w / 2}" y="18" text-anchor="middle" font-size="${o.titleSize ?? fs + 2}">${esc(o.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg"${id} width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="${fs}"><rect width="${w}" height="${h}" fill="white"/>${title}`;
}

export const SVG_CLOSE = '</svg>';

/** A legend entry: a filled box (bars, areas), a line, a dashed line (thresholds) or a dot (points). */
export interface LegendItem {
  label: string;
  colour: string;
  kind?: 'box' | 'line' | 'dash' | 'dot';
}

/**
 * A legend from (x, y) (the baseline of its first row), wrapped before `right` so no entry is
 * clipped at the chart's edge. Returns the SVG and the height its rows take.
 */
export function legend(items: readonly LegendItem[], x: number, y: number, o: { right?: number; fontSize?: number } = {}): { svg: string; height: number } {
  const fs = o.fontSize ?? 12;
  const right = o.right ?? Number.POSITIVE_INFINITY;
  const charW = fs * 0.6, rowH = fs + 6;
  const parts: string[] = [];
  let cx = x, cy = y;
  for (const it of items) {
    const w = 20 + it.label.length * charW;
    if (cx + w > right && cx > x) {
      cx = x;
      cy += rowH;
    }
    const mid = cy - fs / 3;
    const mark = it.kind === 'line' || it.kind === 'dash'
      ? `<line x1="${cx}" y1="${coord(mid)}" x2="${cx + 16}" y2="${coord(mid)}" stroke="${it.colour}" stroke-width="2"${it.kind === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`
      : it.kind === 'dot'
        ? `<circle cx="${cx + 6}" cy="${coord(mid)}" r="3.5" fill="${it.colour}"/>`
        : `<rect x="${cx}" y="${coord(cy - fs + 2)}" width="${fs - 2}" height="${fs - 2}" fill="${it.colour}"/>`;
    parts.push(`<g class="legend-item">${mark}<text x="${cx + 20}" y="${cy}">${esc(it.label)}</text></g>`);
    cx += w + 14;
  }
  return { svg: parts.join(''), height: cy - y + rowH };
}

/** A tick label: no trailing zeros (0, 2.5, 40). */
export const tickText = (t: number): string => String(Number(t.toPrecision(4)));

/** Ticks from 0 up to a "nice" bound at or above `max` (1, 2, 2.5 or 5 × 10^k steps). */
export function ticks(max: number, count = 5): number[] {
  const m = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = m / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= m + step * 0.999; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

/** Integer ticks from `lo` to `hi` (epochs, sizes), at most about `count` of them. */
export function intTicks(lo: number, hi: number, count = 12): number[] {
  const a = Math.ceil(lo), b = Math.floor(hi);
  if (!(b >= a)) return [a];
  const step = Math.max(1, Math.ceil((b - a + 1) / count));
  const out: number[] = [];
  for (let v = a; v <= b; v += step) out.push(v);
  return out;
}

/** A linear map of [lo, hi] onto [a, b]; an empty domain (lo = hi) maps to the middle. */
export function linearScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const span = hi - lo;
  if (!(Math.abs(span) > 0) || !Number.isFinite(span)) return () => (a + b) / 2;
  return (v) => a + ((v - lo) / span) * (b - a);
}

/** A log10 map of [lo, hi] onto [a, b] (values below lo are drawn at lo). */
export function logScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const l0 = Math.log10(lo), l1 = Math.log10(hi);
  return (v) => a + ((Math.log10(Math.max(v, lo)) - l0) / (l1 - l0 || 1)) * (b - a);
}

/** Decade bounds around the positive finite values, `pad`× beyond them ([0.1, 10] when there are none). */
export function niceLogBounds(values: readonly number[], pad = 2): [number, number] {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (!v.length) return [0.1, 10];
  return [10 ** Math.floor(Math.log10(Math.min(...v) / pad)), 10 ** Math.ceil(Math.log10(Math.max(...v) * pad))];
}

/** The powers of ten from lo to hi. */
export function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.round(Math.log10(lo)); e <= Math.round(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

/** Horizontal grid lines with their labels left of the frame. */
export function yGrid(f: Frame, values: readonly number[], Y: (v: number) => number, label: (v: number) => string = tickText): string {
  return values.map((t) => `<line x1="${f.left}" y1="${coord(Y(t))}" x2="${f.right}" y2="${coord(Y(t))}" stroke="#ddd"/><text x="${f.left - 6}" y="${coord(Y(t) + 4)}" text-anchor="end">${esc(label(t))}</text>`).join('');
}

/** Labels (and light vertical grid lines) under the frame at the given x values. */
export function xGrid(f: Frame, values: readonly number[], X: (v: number) => number, label: (v: number) => string = tickText): string {
  return values.map((t) => `<line x1="${coord(X(t))}" y1="${f.top}" x2="${coord(X(t))}" y2="${f.bottom}" stroke="#eee"/><text x="${coord(X(t))}" y="${f.bottom + 16}" text-anchor="middle">${esc(label(t))}</text>`).join('');
}

/** The frame's left and bottom axis lines, the x-axis title under the tick labels, the y-axis title on its side. */
export function axes(f: Frame, xTitle: string, yTitle: string): string {
  const cy = (f.top + f.bottom) / 2;
  return `<line x1="${f.left}" y1="${f.bottom}" x2="${f.right}" y2="${f.bottom}" stroke="#333"/><line x1="${f.left}" y1="${f.top}" x2="${f.left}" y2="${f.bottom}" stroke="#333"/>` +
    `<text x="${(f.left + f.right) / 2}" y="${f.bottom + 36}" text-anchor="middle">${esc(xTitle)}</text>` +
    `<text transform="translate(${f.left - 48},${cy}) rotate(-90)" text-anchor="middle">${esc(yTitle)}</text>`;
}

/** Consecutive runs of finite points (a missing value breaks the line instead of drawing it at 0). */
export function finiteRuns<T extends readonly number[]>(points: readonly T[]): T[][] {
  const runs: T[][] = [];
  let cur: T[] = [];
  for (const p of points) {
    if (p.every(Number.isFinite)) cur.push(p);
    else if (cur.length) {
      runs.push(cur);
      cur = [];
    }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** One line of a line chart: (x, y) points, an optional band (x, low, high) drawn under it, dots on the points. */
export interface LineSeries {
  label: string;
  colour?: string;
  points: readonly (readonly [number, number])[];
  band?: readonly (readonly [number, number, number])[];
  /** Legend label of the band (default: none, the band has no legend entry). */
  bandLabel?: string;
  dots?: boolean;
  dashed?: boolean;
  /** A class on the line (tests and pages find it by it). */
  className?: string;
}

export interface LineChartSpec {
  id?: string;
  title?: string;
  width?: number;
  height?: number;
  xTitle: string;
  yTitle: string;
  series: readonly LineSeries[];
  /** x ticks (default: integers over the data when they are integers, else nice ticks). */
  xTicks?: readonly number[];
  /** Clip the y axis at this value (a diverging run would flatten the rest); the axis title says so. */
  yClip?: number;
  /** Start the y axis at 0 (default) or at the data's minimum. */
  yFromZero?: boolean;
  /** Horizontal reference lines (a target, a threshold), dashed, with their own legend entries. */
  refs?: readonly { label: string; y: number; colour?: string }[];
}

/**
 * The body of a line chart inside `f` (axes, grid, bands, lines, dots, reference lines; no legend):
 * for a panel of a larger SVG. Returns the SVG and the scales it used.
 */
export function lineChartBody(spec: LineChartSpec, f: Frame): { svg: string; X: (v: number) => number; Y: (v: number) => number } {
  const pts = spec.series.flatMap((s) => s.points.filter((p) => p.every(Number.isFinite)));
  const bandPts = spec.series.flatMap((s) => (s.band ?? []).filter((p) => p.every(Number.isFinite)));
  const refs = (spec.refs ?? []).filter((r) => Number.isFinite(r.y));
  const xs = [...pts.map((p) => p[0]), ...bandPts.map((p) => p[0])];
  const rawYs = [...pts.map((p) => p[1]), ...bandPts.flatMap((p) => [p[1], p[2]]), ...refs.map((r) => r.y)];
  const ys = spec.yClip === undefined ? rawYs : rawYs.map((y) => Math.min(y, spec.yClip!));
  const xLo = xs.length ? Math.min(...xs) : 0, xHi = xs.length ? Math.max(...xs) : 1;
  const yMaxData = ys.length ? Math.max(...ys) : 1;
  const yMinData = ys.length ? Math.min(...ys) : 0;
  const fromZero = spec.yFromZero ?? true;
  // clipped: the axis ends at the clip value (a point above sits on the top line); else at a nice tick over the data
  const clipped = spec.yClip !== undefined && rawYs.some((y) => y > spec.yClip!);
  const yTicksAll = fromZero && yMinData >= 0
    ? clipped ? ticks(spec.yClip!).filter((t) => t <= spec.yClip! * (1 + 1e-9)) : ticks(yMaxData * 1.05 || 1)
    : niceRange(yMinData, yMaxData);
  const y0 = yTicksAll[0]!, y1 = clipped && fromZero && yMinData >= 0 ? spec.yClip! : yTicksAll[yTicksAll.length - 1]!;
  // a single x value sits in the middle; a single y value on its tick
  const X = linearScale(xLo, xHi, f.left, f.right);
  const Yraw = linearScale(y0, y1, f.bottom, f.top);
  const Y = (v: number) => Yraw(Math.min(Math.max(v, y0), y1));
  const allInt = xs.every(Number.isInteger);
  const xTicks = spec.xTicks ?? (xs.length ? (allInt ? intTicks(xLo, xHi) : rangeTicks(xLo, xHi)) : []);
  const out: string[] = [yGrid(f, yTicksAll, Y), xGrid(f, xTicks.filter((t) => t >= xLo && t <= xHi), X)];
  spec.series.forEach((s, i) => {
    const c = s.colour ?? PALETTE[i % PALETTE.length]!;
    for (const run of finiteRuns(s.band ?? [])) {
      const upper = run.map((p) => `${coord(X(p[0]))},${coord(Y(p[2]))}`);
      const lower = run.map((p) => `${coord(X(p[0]))},${coord(Y(p[1]))}`).reverse();
      out.push(`<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${c}" fill-opacity="0.2"/>`);
    }
  });
  spec.series.forEach((s, i) => {
    const c = s.colour ?? PALETTE[i % PALETTE.length]!;
    const cls = s.className ? ` class="${esc(s.className)}"` : '';
    for (const run of finiteRuns(s.points)) {
      if (run.length > 1) out.push(`<polyline${cls} fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${run.map((p) => `${coord(X(p[0]))},${coord(Y(p[1]))}`).join(' ')}"/>`);
      if (s.dots || run.length === 1) for (const p of run) out.push(`<circle cx="${coord(X(p[0]))}" cy="${coord(Y(p[1]))}" r="3" fill="${c}"><title>${esc(`${s.label}: ${tickText(p[0])}, ${tickText(p[1])}`)}</title></circle>`);
    }
  });
  for (const r of refs) out.push(`<line class="ref" x1="${f.left}" y1="${coord(Y(r.y))}" x2="${f.right}" y2="${coord(Y(r.y))}" stroke="${r.colour ?? PALETTE[2]}" stroke-width="2" stroke-dasharray="5 3"/>`);
  const above = spec.yClip !== undefined && pts.some((p) => p[1] > spec.yClip!);
  out.push(axes(f, spec.xTitle, above ? `${spec.yTitle} (clipped at ${tickText(spec.yClip!)})` : spec.yTitle));
  return { svg: out.join('\n'), X, Y };
}

/** The legend entries of a line chart: each series, each labelled band, each reference line. */
export function lineLegend(spec: Pick<LineChartSpec, 'series' | 'refs'>): LegendItem[] {
  return [
    ...spec.series.flatMap((s, i): LegendItem[] => {
      const c = s.colour ?? PALETTE[i % PALETTE.length]!;
      return [{ label: s.label, colour: c, kind: s.dashed ? 'dash' : 'line' }, ...(s.bandLabel ? [{ label: s.bandLabel, colour: c, kind: 'box' as const }] : [])];
    }),
    ...(spec.refs ?? []).map((r): LegendItem => ({ label: r.label, colour: r.colour ?? PALETTE[2], kind: 'dash' })),
  ];
}

/** A whole line chart: title, legend above the plot (wrapped to the width), axes, bands and lines. */
export function lineChart(spec: LineChartSpec): string {
  const w = spec.width ?? 900;
  const lg = legend(lineLegend(spec), 80, 40, { right: w - 20 });
  const top = 40 + lg.height + 4;
  const h = spec.height ?? 420 + lg.height;
  const body = lineChartBody(spec, { left: 80, right: w - 30, top, bottom: h - 50 });
  return [svgOpen({ id: spec.id, width: w, height: h, title: spec.title }), lg.svg, body.svg, SVG_CLOSE].join('\n');
}

/** Nice ticks spanning [lo, hi] when the axis does not start at 0. */
function niceRange(lo: number, hi: number): number[] {
  if (!(hi > lo)) {
    const v = Number.isFinite(lo) ? lo : 0;
    const d = Math.abs(v) > 0 ? Math.abs(v) * 0.1 : 1;
    return [v - d, v, v + d];
  }
  return rangeTicks(lo, hi);
}

/** About 5 nice ticks covering [lo, hi]. */
function rangeTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.999; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

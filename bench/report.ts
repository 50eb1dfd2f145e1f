/**
 * Renders benchmark results as a markdown table (stdout) and as one self-contained HTML page with
 * inline SVG charts (no scripts, no external assets: it opens offline): speed-up vs tfjs per
 * kernel, share of the device ceiling, a roofline, and the whole-model times. Host-agnostic.
 */
import { escapeHtml as esc } from '../src/util/html';
import { decades, legend, logScale, niceLogBounds, SVG_CLOSE, svgOpen } from '../src/util/svg_chart';
import { geomean } from '../src/util/stats';
import { fmt } from './stats';
import type { BenchResults, KernelRow, ModelRow } from './types';

const pct = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '–' : `${fmt(x * 100)}%`);
const ms = (x: number | null | undefined): string => fmt(x);

/** Geometric-mean speed-up per op family (and how many rows reach `goal`). */
export function opSummary(rows: readonly KernelRow[], goal = 2): { op: string; rows: number; geomeanRatio: number; minRatio: number; atGoal: number; osteoGeomeanRate: number; tfjsGeomeanRate: number; unit: string }[] {
  const ops = [...new Set(rows.map((r) => r.op))];
  return ops.map((op) => {
    const rs = rows.filter((r) => r.op === op);
    const ratios = rs.map((r) => r.ratio).filter((x): x is number => x != null);
    return {
      op,
      rows: rs.length,
      geomeanRatio: geomean(ratios),
      minRatio: ratios.length ? Math.min(...ratios) : NaN,
      atGoal: ratios.filter((x) => x >= goal).length,
      osteoGeomeanRate: geomean(rs.map((r) => r.osteoRate)),
      tfjsGeomeanRate: geomean(rs.map((r) => r.tfjsRate)),
      unit: rs[0]!.unit,
    };
  });
}

/**
 * Geometric-mean speed-up of osteo over each extra tfjs backend (Chromium: webgl, wasm) per op
 * family, over the rows where that backend produced a time.
 */
export function extraSummary(rows: readonly KernelRow[]): { op: string; backend: string; rows: number; geomeanRatio: number }[] {
  const out: { op: string; backend: string; rows: number; geomeanRatio: number }[] = [];
  const backends = [...new Set(rows.flatMap((k) => Object.keys(k.extra ?? {})))];
  for (const op of new Set(rows.map((r) => r.op))) {
    for (const backend of backends) {
      const ratios = rows
        .filter((r) => r.op === op && r.osteo && r.extra?.[backend] != null)
        .map((r) => r.extra![backend]! / r.osteo!.median);
      out.push({ op, backend, rows: ratios.length, geomeanRatio: geomean(ratios) });
    }
  }
  return out;
}

/** "vendor / architecture", with the adapter's description when the architecture is empty (Dawn on some drivers). */
export function adapterName(a: BenchResults['meta']['adapter']): string {
  const arch = a.architecture || a.description || 'unknown architecture';
  return `${a.vendor || 'unknown vendor'} / ${arch}${a.fallback ? ' (software adapter)' : ''}`;
}

function title(r: BenchResults): string {
  return `osteo vs tfjs-${r.meta.tfjsBackend} ${r.meta.tfjsVersion}${r.model.some((m) => m.runtimes) ? ' and ONNX Runtime' : ''} — ${r.meta.host}, ${adapterName(r.meta.adapter)}`;
}

/** Date, device, sizes and ceilings; then how it was timed. */
function headerLines(r: BenchResults): string[] {
  const m = r.meta;
  return [
    `${m.date}. Adapter: ${m.adapter.description || m.adapter.architecture || m.adapter.vendor} (${m.adapter.source}).${r.kernels.length ? ` Kernel shapes at ${m.size}x${m.size}, batch ${m.batch};` : ''} ${m.reps} repetitions after warm-up.`,
    `Measured ceilings: FMA ${fmt(m.ceilings.fmaGflops)} GFLOP/s, copy ${fmt(m.ceilings.copyGbps)} GB/s (${m.ceilings.timing} timing).`,
    `Timing: ${m.timing}`,
  ];
}

const kernelExtras = (rows: readonly KernelRow[]): string[] => [...new Set(rows.flatMap((k) => Object.keys(k.extra ?? {})))];
/** A table cell's text: no pipes or line breaks (they would split the row). */
const cell = (s: string): string => s.replace(/\|/g, '/').replace(/\s*\n\s*/g, ' ');

/** The per-kernel table of `rows`; an errors column (with the text) when any row has one. */
function kernelTable(rows: readonly KernelRow[], extras: readonly string[]): string[] {
  const withErrors = rows.some((k) => k.errors?.length);
  const out = [
    `| op | layer | shape | osteo ms | tfjs ms | ratio | osteo rate | tfjs rate | osteo % ceiling | osteo GPU ms (timestamps) |${extras.map((e) => ` tfjs-${e} ms |`).join('')}${withErrors ? ' errors |' : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|${extras.map(() => '---|').join('')}${withErrors ? '---|' : ''}`,
  ];
  for (const k of rows) {
    const t = (x: KernelRow['osteo']) => (x ? `${ms(x.median)} [${ms(x.min)}–${ms(x.max)}]` : '–');
    out.push(
      `| ${k.op} | ${k.layer} | ${k.shape} | ${t(k.osteo)} | ${t(k.tfjs)} | ${k.ratio ? `${fmt(k.ratio)}x` : '–'} | ${fmt(k.osteoRate)} ${k.unit} | ${fmt(k.tfjsRate)} | ${pct(k.osteoCeilingShare)} | ${ms(k.osteoGpuMs)} |${extras.map((e) => ` ${ms(k.extra?.[e])} |`).join('')}` +
        (withErrors ? ` ${cell(k.errors?.join('; ') ?? '')} |` : ''),
    );
  }
  return out;
}

function perOpTable(rows: readonly KernelRow[], extras: readonly string[]): string[] {
  const vsExtra = extraSummary(rows);
  const out = [
    `| op | rows | speed-up geomean | min | rows ≥ 2x | osteo rate | tfjs rate |${extras.map((e) => ` vs tfjs-${e} (geomean) |`).join('')}`,
    `|---|---|---|---|---|---|---|${extras.map(() => '---|').join('')}`,
  ];
  for (const s of opSummary(rows)) {
    const ex = extras.map((e) => {
      const v = vsExtra.find((x) => x.op === s.op && x.backend === e);
      return ` ${v && v.rows ? `${fmt(v.geomeanRatio)}x (${v.rows} rows)` : '–'} |`;
    });
    out.push(`| ${s.op} | ${s.rows} | ${fmt(s.geomeanRatio)}x | ${fmt(s.minRatio)}x | ${s.atGoal}/${s.rows} | ${fmt(s.osteoGeomeanRate)} ${s.unit} | ${fmt(s.tfjsGeomeanRate)} ${s.unit} |${ex.join('')}`);
  }
  return out;
}

function modelTable(rows: readonly ModelRow[]): string[] {
  const extras = [...new Set(rows.flatMap((m) => Object.keys(m.extra ?? {})))];
  const withErrors = rows.some((m) => m.errors?.length);
  const out = [
    `| step | batch | size | osteo first ms | osteo steady ms [min–max] | osteo GPU ms | tfjs first ms | tfjs steady ms [min–max] | speed-up | osteo GFLOP/s |${extras.map((e) => ` tfjs-${e} steady ms (speed-up) |`).join('')}${withErrors ? ' errors |' : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|${extras.map(() => '---|').join('')}${withErrors ? '---|' : ''}`,
  ];
  for (const m of rows) {
    const st = (p: ModelRow['osteo']) => (p ? `${ms(p.steady.median)} [${ms(p.steady.min)}–${ms(p.steady.max)}]` : '–');
    const ex = extras.map((e) => {
      const p = m.extra?.[e];
      return ` ${p ? `${ms(p.steady.median)}${m.osteo ? ` (${fmt(p.steady.median / m.osteo.steady.median)}x)` : ''}` : '–'} |`;
    });
    out.push(
      `| ${m.name} | ${m.batch} | ${m.size} | ${ms(m.osteo?.firstMs)} | ${st(m.osteo)} | ${ms(m.osteoGpuMs)} | ${ms(m.tfjs?.firstMs)} | ${st(m.tfjs)} | ${m.ratio ? `${fmt(m.ratio)}x` : '–'} | ${m.osteo ? fmt(m.flops / (m.osteo.steady.median * 1e6)) : '–'} |${ex.join('')}` +
        (withErrors ? ` ${cell(m.errors?.join('; ') ?? '')} |` : ''),
    );
  }
  return out;
}

const MODEL_TITLE = '## Whole model (U-Net++/VGG19, 1 channel in, 19 heatmaps out)';
const KERNEL_NOTE = 'ratio = tfjs time / osteo time (> 1: osteo faster); time = median ms per op [min–max]; rate in GFLOP/s (convs) or GB/s (data movement).';

export function markdownReport(r: BenchResults): string {
  const out = [`# ${title(r)}`, '', ...headerLines(r)];
  if (r.kernels.length) {
    const extras = kernelExtras(r.kernels);
    out.push('', '## Kernels', '', KERNEL_NOTE, '', ...kernelTable(r.kernels, extras));
    out.push('', '### Per op (geometric means)', '', ...perOpTable(r.kernels, extras));
  }
  if (r.model.length) out.push('', MODEL_TITLE, '', ...modelTable(r.model));
  out.push(...runtimesTable(r.model));
  if (r.notes.length) out.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

/** The ONNX runtimes' rows: the exported model (same weights, same input), checked, then timed. */
function runtimesTable(rows: readonly ModelRow[]): string[] {
  const entries = rows.flatMap((m) => Object.entries(m.runtimes ?? {}).map(([name, b]) => ({ m, name, b })));
  if (!entries.length) return [];
  const out = [
    '',
    '### ONNX runtimes (osteo\'s model exported by `osteo export onnx`: same weights, same input)',
    '',
    'Each runtime\'s output was compared with osteo\'s before timing; "first" is session creation + the first run.',
    '',
    '| step | batch | size | runtime | session ms | first ms | steady ms [min–max] | osteo steady ms | faster (steady) | max abs diff vs osteo (output scale) | runtime detail |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { m, name, b } of entries) {
    const p = b.phase;
    const ratio = p && m.osteo ? p.steady.median / m.osteo.steady.median : null;
    const faster = ratio == null ? '–' : ratio >= 1 ? `osteo ${fmt(ratio)}x` : `${name} ${fmt(1 / ratio)}x`;
    const diff = b.maxAbsDiff != null ? `${b.maxAbsDiff.toExponential(2)} (${b.outputScale != null ? b.outputScale.toExponential(2) : '–'})` : '–';
    out.push(
      `| ${m.name} | ${m.batch} | ${m.size} | ${name} | ${ms(b.createMs)} | ${ms(p?.firstMs)} | ${p ? `${ms(p.steady.median)} [${ms(p.steady.min)}–${ms(p.steady.max)}]` : '–'} | ${ms(m.osteo?.steady.median)} | ${faster} | ${diff} | ${cell(`${b.detail}${b.error ? `; error: ${b.error}` : ''}`)} |`,
    );
  }
  return out;
}

// ------------------------------------------------------------------ SVG charts

const W = 900;
const COLORS = { osteo: '#1f77b4', tfjs: '#ff7f0e', goal: '#2ca02c', ceil: '#d62728' };

/** A benchmark chart's opening tag: 900 wide, 10 px text, its id (the page's script finds the charts by it). */
const open = (id: string, h: number): string => svgOpen({ id, width: W, height: h, fontSize: 10 });

/** Horizontal bars of tfjs/osteo per kernel row on a log axis, with lines at 1x and the 2x goal. */
export function ratioChart(rows: readonly KernelRow[]): string {
  const data = rows.filter((r) => r.ratio != null);
  const left = 330, right = W - 60, rowH = 14, top = 30;
  const h = top + data.length * rowH + 40;
  const [lo, hi] = niceLogBounds([...data.map((r) => r.ratio!), 1, 2]);
  const x = logScale(lo, hi, left, right);
  const parts: string[] = [open('chart-ratio', h)];
  parts.push(`<text x="${left}" y="14" font-size="12">speed-up of osteo over tfjs (tfjs time / osteo time, log scale)</text>`);
  for (const d of decades(lo, hi)) parts.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${top - 4}" y2="${h - 30}" stroke="#ddd"/><text x="${x(d)}" y="${h - 16}" text-anchor="middle">${fmt(d)}x</text>`);
  parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${h - 30}" stroke="#000"/>`);
  parts.push(`<line x1="${x(2)}" x2="${x(2)}" y1="${top - 4}" y2="${h - 30}" stroke="${COLORS.goal}" stroke-dasharray="4 3"/><text x="${x(2) + 3}" y="${top - 6}" fill="${COLORS.goal}">2x goal</text>`);
  data.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(1), x1 = x(r.ratio!);
    parts.push(`<text x="${left - 6}" y="${y + 10}" text-anchor="end">${esc(`${r.op} ${r.shape}`.slice(0, 60))}</text>`);
    parts.push(
      `<rect class="point" data-key="${esc(r.key)}" data-value="${r.ratio}" x="${Math.min(x0, x1)}" y="${y + 2}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 4}" fill="${r.ratio! >= 1 ? COLORS.osteo : COLORS.tfjs}"><title>${esc(r.key)}: ${fmt(r.ratio)}x</title></rect>`,
    );
  });
  parts.push(SVG_CLOSE);
  return parts.join('\n');
}

const BASELINE_COLORS = ['#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** A legend of coloured boxes from (x, y), wrapped to the chart's width (a long row was clipped at the SVG's edge). */
const legendOf = (items: readonly { label: string; color: string }[], x: number, y: number) => legend(items.map((i) => ({ label: i.label, colour: i.color })), x, y, { right: W - 10, fontSize: 10 });

/**
 * Per op family, osteo's geometric-mean speed-up over every tfjs backend measured in the run
 * (webgpu always; webgl and wasm in Chromium): grouped bars on a log axis around 1x.
 */
export function baselinesChart(rows: readonly KernelRow[], mainBackend: string): string {
  const ops = opSummary(rows);
  const extra = extraSummary(rows);
  const backends = [mainBackend, ...new Set(extra.map((e) => e.backend))];
  const value = (op: string, b: string): number | null => {
    if (b === mainBackend) {
      const s = ops.find((o) => o.op === op)!;
      return Number.isFinite(s.geomeanRatio) ? s.geomeanRatio : null;
    }
    const e = extra.find((x) => x.op === op && x.backend === b);
    return e && e.rows && Number.isFinite(e.geomeanRatio) ? e.geomeanRatio : null;
  };
  const lg = legendOf(backends.map((b, i) => ({ label: `tfjs-${b}`, color: BASELINE_COLORS[i % BASELINE_COLORS.length]! })), 160, 32);
  const left = 160, right = W - 60, top = 32 + lg.height + 6, barH = 10;
  const groupH = backends.length * barH + 8;
  const h = top + ops.length * groupH + 40;
  const vals = ops.flatMap((o) => backends.map((b) => value(o.op, b) ?? NaN));
  const [lo, hi] = niceLogBounds([...vals, 1]);
  const x = logScale(lo, hi, left, right);
  const parts: string[] = [open('chart-baselines', h)];
  parts.push(`<text x="${left}" y="14" font-size="12">geomean speed-up of osteo per op over each tfjs backend (log scale, &gt; 1x: osteo faster)</text>`, lg.svg);
  for (const d of decades(lo, hi)) parts.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${top - 4}" y2="${h - 30}" stroke="#ddd"/><text x="${x(d)}" y="${h - 16}" text-anchor="middle">${fmt(d)}x</text>`);
  parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${h - 30}" stroke="#000"/>`);
  ops.forEach((o, i) => {
    const y0 = top + i * groupH;
    parts.push(`<text x="${left - 6}" y="${y0 + (backends.length * barH) / 2 + 4}" text-anchor="end">${esc(o.op)}</text>`);
    backends.forEach((b, j) => {
      const v = value(o.op, b);
      if (v == null) return;
      const x0 = x(1), x1 = x(v);
      parts.push(
        `<rect class="point" data-series="${esc(b)}" data-key="${esc(o.op)}" data-value="${v}" x="${Math.min(x0, x1)}" y="${y0 + j * barH}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${barH - 2}" fill="${BASELINE_COLORS[j % BASELINE_COLORS.length]}"><title>${esc(o.op)} vs tfjs-${esc(b)}: ${fmt(v)}x</title></rect>`,
      );
    });
  });
  parts.push(SVG_CLOSE);
  return parts.join('\n');
}

/** osteo's and tfjs's share of the device ceiling (FMA for convs, copy for data movement), per row. */
export function ceilingChart(rows: readonly KernelRow[]): string {
  const data = rows.filter((r) => r.osteoCeilingShare != null || r.tfjsCeilingShare != null);
  const left = 330, right = W - 60, rowH = 16, top = 30;
  const h = top + data.length * rowH + 40;
  const [lo] = niceLogBounds(data.flatMap((r) => [r.osteoCeilingShare ?? NaN, r.tfjsCeilingShare ?? NaN]).map((v) => v * 100));
  const x = logScale(Math.max(lo, 1e-4), 100, left, right);
  const parts: string[] = [open('chart-ceiling', h)];
  parts.push(`<text x="${left}" y="14" font-size="12">share of the measured device ceiling, % (log scale): <tspan fill="${COLORS.osteo}">osteo</tspan>, <tspan fill="${COLORS.tfjs}">tfjs</tspan></text>`);
  for (const d of decades(Math.max(lo, 1e-4), 100)) parts.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${top - 4}" y2="${h - 30}" stroke="#ddd"/><text x="${x(d)}" y="${h - 16}" text-anchor="middle">${fmt(d)}%</text>`);
  data.forEach((r, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y + 11}" text-anchor="end">${esc(`${r.op} ${r.shape}`.slice(0, 60))}</text>`);
    const bar = (v: number | null, series: 'osteo' | 'tfjs', dy: number) =>
      v == null ? '' : `<rect class="point" data-series="${series}" data-key="${esc(r.key)}" data-value="${v}" x="${left}" y="${y + dy}" width="${Math.max(1, x(v * 100) - left)}" height="6" fill="${COLORS[series]}"><title>${series} ${esc(r.key)}: ${pct(v)}</title></rect>`;
    parts.push(bar(r.osteoCeilingShare, 'osteo', 1), bar(r.tfjsCeilingShare, 'tfjs', 8));
  });
  parts.push(SVG_CLOSE);
  return parts.join('\n');
}

/** Roofline: arithmetic intensity (FLOP/byte) vs achieved GFLOP/s, under min(FMA, AI·copy). */
export function rooflineChart(rows: readonly KernelRow[], ceilings: { fmaGflops: number; copyGbps: number }): string {
  const data = rows.filter((r) => r.flops > 0 && r.bytes > 0);
  const left = 70, right = W - 30, top = 30, bottom = 420, h = 460;
  const ai = data.map((r) => r.flops / r.bytes);
  const [xlo, xhi] = niceLogBounds([...ai, ceilings.fmaGflops / ceilings.copyGbps]);
  const [ylo] = niceLogBounds(data.flatMap((r) => [r.osteoRate ?? NaN, r.tfjsRate ?? NaN]));
  const yhi = 10 ** Math.ceil(Math.log10(ceilings.fmaGflops * 2));
  const x = logScale(xlo, xhi, left, right);
  const y = logScale(ylo, yhi, bottom, top);
  const parts: string[] = [open('chart-roofline', h)];
  parts.push(`<text x="${left}" y="14" font-size="12">roofline: arithmetic intensity (FLOP/byte, minimum traffic) vs achieved GFLOP/s — <tspan fill="${COLORS.osteo}">● osteo</tspan> <tspan fill="${COLORS.tfjs}">▲ tfjs</tspan></text>`);
  for (const d of decades(xlo, xhi)) parts.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${top}" y2="${bottom}" stroke="#eee"/><text x="${x(d)}" y="${bottom + 14}" text-anchor="middle">${fmt(d)}</text>`);
  for (const d of decades(ylo, yhi)) parts.push(`<line x1="${left}" x2="${right}" y1="${y(d)}" y2="${y(d)}" stroke="#eee"/><text x="${left - 4}" y="${y(d) + 3}" text-anchor="end">${fmt(d)}</text>`);
  // the two ceilings: bandwidth slope up to the ridge, then flat FMA
  const ridge = ceilings.fmaGflops / ceilings.copyGbps;
  const pts: string[] = [];
  for (const a of [xlo, Math.min(Math.max(ridge, xlo), xhi), xhi]) pts.push(`${x(a)},${y(Math.min(ceilings.fmaGflops, a * ceilings.copyGbps))}`);
  parts.push(`<polyline class="ceiling" points="${pts.join(' ')}" fill="none" stroke="${COLORS.ceil}" stroke-width="2"/>`);
  parts.push(`<text x="${right - 4}" y="${y(ceilings.fmaGflops) - 4}" text-anchor="end" fill="${COLORS.ceil}">FMA ceiling ${fmt(ceilings.fmaGflops)} GFLOP/s</text>`);
  parts.push(`<text x="${x(xlo) + 4}" y="${y(Math.min(ceilings.fmaGflops, xlo * ceilings.copyGbps)) - 6}" fill="${COLORS.ceil}">copy ${fmt(ceilings.copyGbps)} GB/s</text>`);
  data.forEach((r, i) => {
    const a = ai[i]!;
    if (r.osteoRate) parts.push(`<circle class="point" data-series="osteo" data-key="${esc(r.key)}" data-value="${r.osteoRate}" cx="${x(a)}" cy="${y(r.osteoRate)}" r="4" fill="${COLORS.osteo}" fill-opacity="0.7"><title>osteo ${esc(r.key)}: ${fmt(r.osteoRate)} GFLOP/s</title></circle>`);
    if (r.tfjsRate) {
      const cx = x(a), cy = y(r.tfjsRate);
      parts.push(`<polygon class="point" data-series="tfjs" data-key="${esc(r.key)}" data-value="${r.tfjsRate}" points="${cx},${cy - 5} ${cx - 4},${cy + 3} ${cx + 4},${cy + 3}" fill="${COLORS.tfjs}" fill-opacity="0.7"><title>tfjs ${esc(r.key)}: ${fmt(r.tfjsRate)} GFLOP/s</title></polygon>`);
    }
  });
  parts.push(`<text x="${(left + right) / 2}" y="${h - 8}" text-anchor="middle">FLOP / byte</text>`);
  parts.push(SVG_CLOSE);
  return parts.join('\n');
}

/**
 * Whole-model steady and first-run times: osteo, tfjs (its main backend), any extra tfjs backends and ONNX runtimes.
 */
export function modelChart(rows: readonly ModelRow[], mainBackend = 'webgpu', id = 'chart-model'): string {
  const extras = [...new Set(rows.flatMap((r) => Object.keys(r.extra ?? {})))];
  const runtimes = [...new Set(rows.flatMap((r) => Object.keys(r.runtimes ?? {})))];
  const series: { id: string; label: string; color: string; phase: (r: ModelRow) => ModelRow['osteo'] | undefined }[] = [
    { id: 'osteo', label: 'osteo', color: COLORS.osteo, phase: (r) => r.osteo },
    { id: 'tfjs', label: `tfjs-${mainBackend}`, color: COLORS.tfjs, phase: (r) => r.tfjs },
    ...extras.map((e, i) => ({ id: e, label: `tfjs-${e}`, color: BASELINE_COLORS[(i + 1) % BASELINE_COLORS.length]!, phase: (r: ModelRow) => r.extra?.[e] })),
    ...runtimes.map((e, i) => ({ id: e, label: e, color: BASELINE_COLORS[(extras.length + i + 1) % BASELINE_COLORS.length]!, phase: (r: ModelRow) => r.runtimes?.[e]?.phase ?? undefined })),
  ];
  const lg = legendOf(series, 160, 32);
  const left = 160, right = W - 250, top = 32 + lg.height + 6; // room for the value labels right of the bars
  const rowH = series.length * 16 + 12;
  const h = top + rows.length * rowH + 40;
  const vals = rows.flatMap((r) => series.flatMap((s) => [s.phase(r)?.steady.median ?? NaN, s.phase(r)?.firstMs ?? NaN]));
  const [lo, hi] = niceLogBounds(vals);
  const x = logScale(lo, hi, left, right);
  const parts: string[] = [open(id, h)];
  parts.push(`<text x="${left}" y="14" font-size="12">whole model, ms (log scale, shorter is faster): steady-state bars, first run (compile / session creation) as a hollow marker</text>`, lg.svg);
  for (const d of decades(lo, hi)) parts.push(`<line x1="${x(d)}" x2="${x(d)}" y1="${top - 4}" y2="${h - 30}" stroke="#ddd"/><text x="${x(d)}" y="${h - 16}" text-anchor="middle">${fmt(d)}</text>`);
  rows.forEach((r, i) => {
    const y0 = top + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y0 + 18}" text-anchor="end">${esc(`${r.name} b${r.batch} ${r.size}²`)}</text>`);
    series.forEach((s, j) => {
      const p = s.phase(r);
      if (!p) return;
      const yy = y0 + 4 + j * 16;
      parts.push(`<rect class="point" data-series="${esc(s.id)}" data-key="${r.name}" data-value="${p.steady.median}" x="${left}" y="${yy}" width="${Math.max(1, x(p.steady.median) - left)}" height="12" fill="${s.color}"><title>${esc(s.label)} ${r.name} steady ${fmt(p.steady.median)} ms</title></rect>`);
      parts.push(`<rect x="${x(p.firstMs) - 3}" y="${yy}" width="6" height="12" fill="none" stroke="${s.color}"><title>${esc(s.label)} first run ${fmt(p.firstMs)} ms</title></rect>`);
      parts.push(`<text x="${x(Math.max(p.steady.median, p.firstMs)) + 6}" y="${yy + 10}">${esc(s.label)} ${fmt(p.steady.median)} ms (first ${fmt(p.firstMs)})</text>`);
    });
  });
  parts.push(SVG_CLOSE);
  return parts.join('\n');
}

/** Minimal markdown-table → HTML (the report reuses the markdown text for its tables). */
function mdToHtml(md: string): string {
  const lines = md.split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        if (!/^\|[-| ]+\|$/.test(lines[i]!)) rows.push(lines[i]!.split('|').slice(1, -1).map((c) => c.trim()));
        i++;
      }
      out.push('<table>', `<tr>${rows[0]!.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`, ...rows.slice(1).map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`), '</table>');
      continue;
    }
    if (l.startsWith('### ')) out.push(`<h3>${esc(l.slice(4))}</h3>`);
    else if (l.startsWith('## ')) out.push(`<h2>${esc(l.slice(3))}</h2>`);
    else if (l.startsWith('# ')) out.push(`<h1>${esc(l.slice(2))}</h1>`);
    else if (l.startsWith('- ')) out.push(`<li>${esc(l.slice(2))}</li>`);
    else if (l.trim()) out.push(`<p>${esc(l)}</p>`);
    i++;
  }
  return out.join('\n');
}

/**
 * One page, most important first: title, device, date and method; the verdicts (goals met or
 * missed, baselines); one summary chart of the whole model against every baseline and its tables;
 * the per-op summary; then every kernel row, collapsed by op, and the per-kernel charts, collapsed.
 */
export function htmlReport(r: BenchResults): string {
  return htmlPage(`osteo benchmark — ${r.meta.host} ${adapterName(r.meta.adapter)}`, [`<h1>${esc(title(r))}</h1>`, ...htmlBody(r)], [r]);
}

/** One host's report sections (everything below the title). */
function htmlBody(r: BenchResults): string[] {
  const md = (lines: string[]) => mdToHtml(lines.join('\n'));
  const body: string[] = [md(headerLines(r))];
  if (r.notes.length) body.push('<h2>Verdicts and notes</h2>', `<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  if (r.model.length) body.push(`<h2>${esc(MODEL_TITLE.slice(3))}: osteo against every baseline</h2>`, modelChart(r.model, r.meta.tfjsBackend), md(modelTable(r.model)), md(runtimesTable(r.model)));
  if (r.kernels.length) {
    const extras = kernelExtras(r.kernels);
    body.push('<h2>Kernels: speed-up per op over every tfjs backend</h2>', baselinesChart(r.kernels, r.meta.tfjsBackend), md(perOpTable(r.kernels, extras)));
    body.push('<h2>Every kernel row, by op</h2>', `<p>${esc(KERNEL_NOTE)}</p>`);
    for (const s of opSummary(r.kernels)) {
      const rows = r.kernels.filter((k) => k.op === s.op);
      const errors = rows.filter((k) => k.errors?.length).length;
      body.push(
        `<details class="op"><summary>${esc(s.op)}: ${s.rows} rows, osteo ${fmt(s.geomeanRatio)}x tfjs (geomean), ${s.atGoal}/${s.rows} ≥ 2x${errors ? `, ${errors} with errors` : ''}</summary>`,
        md(kernelTable(rows, extras)),
        '</details>',
      );
    }
    body.push(
      '<details class="charts"><summary>Per-kernel charts: speed-up, share of the device ceiling, roofline</summary>',
      ratioChart(r.kernels), ceilingChart(r.kernels), rooflineChart(r.kernels, r.meta.ceilings),
      '</details>',
    );
  }
  return body;
}

/** A self-contained page: the report's styles, `body`, and the results as embedded JSON. */
function htmlPage(pageTitle: string, body: string[], results: readonly BenchResults[]): string {
  const data = results.length === 1 ? results[0] : results;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(pageTitle)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1400px}table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f3f3f3}svg.chart{display:block;margin:8px 0 24px}details{margin:4px 0}summary{cursor:pointer}</style>
</head><body>
${body.join('\n')}
<script type="application/json" id="results">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}

// ------------------------------------------------------------------ several hosts in one report

/** The whole-model rows of every host, named by host, so one chart and one table compare them all. */
function hostRows(runs: readonly BenchResults[]): ModelRow[] {
  return runs.flatMap((r) => r.model.map((m) => ({ ...m, name: `${r.meta.host}: ${m.name}` as ModelRow['name'] })));
}

/** Per host and baseline: steady ms and how it compares with osteo on the same host and run. */
function summaryTable(runs: readonly BenchResults[]): string[] {
  const out = [
    '| host | step | batch | size | runtime | first ms | steady ms | osteo steady ms, same run | faster (steady) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    for (const m of r.model) {
      if (!m.osteo) continue;
      const base = m.osteo.steady.median;
      const entries: [string, ModelRow['osteo'] | null | undefined][] = [
        ['osteo', m.osteo],
        [`tfjs-${r.meta.tfjsBackend}`, m.tfjs],
        ...Object.entries(m.extra ?? {}).map(([k, p]): [string, ModelRow['osteo'] | null] => [`tfjs-${k}`, p]),
        ...Object.entries(m.runtimes ?? {}).map(([k, b]): [string, ModelRow['osteo'] | null] => [k, b.phase]),
      ];
      for (const [name, p] of entries) {
        const ratio = p ? p.steady.median / base : null;
        const faster = name === 'osteo' || ratio == null ? '–' : ratio >= 1 ? `osteo ${fmt(ratio)}x` : `${name} ${fmt(1 / ratio)}x`;
        out.push(`| ${r.meta.host} | ${m.name} | ${m.batch} | ${m.size} | ${name} | ${ms(p?.firstMs)} | ${p ? ms(p.steady.median) : 'failed or not run'} | ${ms(base)} | ${faster} |`);
      }
    }
  }
  return out;
}

const hostsTitle = (runs: readonly BenchResults[]): string =>
  `osteo against every baseline — ${runs.map((r) => `${r.meta.host} (${adapterName(r.meta.adapter)})`).join(', ')}`;

/** Several hosts' runs (`osteo bench --host both`) as one markdown document: summary first, then each host. */
export function combinedMarkdownReport(runs: readonly BenchResults[]): string {
  const parts = [`# ${hostsTitle(runs)}`, '', '## Summary: whole model, every runtime', '', ...summaryTable(runs), ''];
  for (const r of runs) parts.push(markdownReport(r).replace(/^# /, '## ').replace(/\n(#{2,3}) /g, '\n#$1 '));
  return parts.join('\n');
}

/**
 * Several hosts' runs as one page: title and the summary chart and table of the whole model
 * against every baseline (tfjs backends, ONNX runtimes) on every host first, then each host's
 * own report, collapsed.
 */
export function combinedHtmlReport(runs: readonly BenchResults[]): string {
  const md = (lines: string[]) => mdToHtml(lines.join('\n'));
  const body = [
    `<h1>${esc(hostsTitle(runs))}</h1>`,
    `<p>${esc(runs.map((r) => `${r.meta.host}: ${r.meta.date}, ${r.meta.adapter.description || r.meta.adapter.architecture}`).join('; '))}. Each runtime was timed in the same run as osteo on its host; compare within a host.</p>`,
    '<h2>Summary: whole model, every runtime</h2>',
    modelChart(hostRows(runs), runs[0]?.meta.tfjsBackend, 'chart-summary'),
    md(summaryTable(runs)),
  ];
  for (const r of runs) body.push(`<details class="host" open><summary><b>${esc(title(r))}</b></summary>`, ...htmlBody(r), '</details>');
  return htmlPage(hostsTitle(runs), body, runs);
}

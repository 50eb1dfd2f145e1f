/**
 * The decision report as markdown and as one self-contained HTML page (host-neutral): the verdict
 * first (the one sentence and every threshold met or missed), then the clinical metrics beside the
 * mean-shape baseline, the worst images, the operational metrics, the learning curve and the site
 * comparison. The page has no scripts and no external assets (charts are inline SVG, overlays are
 * data URIs), so it opens offline and can be mailed.
 */
import { fmt } from '../train/format';
import { escapeHtml as esc } from '../util/html';
import { histogramChart, perLandmarkChart, sdrChart, throughputChart } from './charts';
import type { ReportDoc } from './document';
import { formatValue } from './thresholds';

const mib = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
const STATUS_MARK = { met: '✔ met', missed: '✘ missed', 'not assessable': '– not assessable' } as const;
const interval = (i: { value: number; lo: number; hi: number }, d = 3): string => `${fmt(i.value, d)} [${fmt(i.lo, d)}, ${fmt(i.hi, d)}]`;

/** Markdown table lines. */
const table = (head: string[], rows: string[][]): string[] => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];

function sections(d: ReportDoc): { title: string; lines: string[]; id: string }[] {
  const c = d.clinical;
  const u = c.unit;
  const radii = c.sdrRadii.map((r) => `${r} ${u}`);
  const out: { title: string; lines: string[]; id: string }[] = [];
  out.push({
    id: 'thresholds', title: 'Thresholds (set in advance)',
    lines: table(['threshold', 'what', 'measured', 'status'], d.thresholds.map((t) => [t.text, t.kind, t.measured === null ? t.detail : formatValue(t.key, t.measured, t.unit), STATUS_MARK[t.status]])),
  });
  out.push({
    id: 'clinical', title: `Clinical: ${c.images} images of ${d.data.spec}${d.data.split ? ` (split ${d.data.split})` : ''}`,
    lines: [
      ...table(['', `MRE (${u})`, 'SD', 'median', 'max', ...radii.map((r) => `SDR ${r}`)], [
        ['model', fmt(c.overall.mre), fmt(c.overall.std), fmt(c.overall.median), fmt(c.overall.max), ...radii.map((r) => `${fmt(c.overall.sdrPercent[r], 1)}%`)],
        ['mean-shape baseline', fmt(c.baseline.overall.mre), fmt(c.baseline.overall.std), fmt(c.baseline.overall.median), fmt(c.baseline.overall.max), ...radii.map((r) => `${fmt(c.baseline.overall.sdrPercent[r], 1)}%`)],
      ]),
      '',
      `Baseline: every landmark at its mean position (${c.baseline.describe}). It sees nothing of the image but its size; the model must be far below it.`,
      ...(d.data.skipped ? ['', `${d.data.skipped} bad item(s) of the data were skipped.`] : []),
    ],
  });
  out.push({
    id: 'landmarks', title: 'Per landmark',
    lines: table(['#', 'landmark', `MRE (${u})`, 'SD', 'median', ...radii.map((r) => `SDR ${r}`), `baseline MRE (${u})`], c.perLandmark.map((l, i) => [
      String(l.landmark), l.name, fmt(l.mre), fmt(l.std), fmt(l.median), ...radii.map((r) => `${fmt(l.sdrPercent[r], 1)}%`), fmt(c.baseline.perLandmark[i]?.mre),
    ])),
  });
  if (c.annotators) {
    const a = c.annotators;
    out.push({
      id: 'annotators', title: "The annotators' own disagreement",
      lines: [`The annotators ${a.annotators.join(' and ')} differ by ${fmt(a.mean)} ${a.unit} on average (median ${fmt(a.median)}, 90th percentile ${fmt(a.p90)}) over the ${a.images} images both marked: the truth is that uncertain, so no model can be measured below it. The model's MRE is ${fmt(c.overall.mre / a.mean, 2)}× their disagreement${a.unit !== u ? ` (their distance in ${a.unit}, the model's error in ${u})` : ''}.`],
    });
  }
  if (c.offsets) {
    const f = c.offsets;
    out.push({
      id: 'offsets', title: 'Systematic offset per landmark',
      lines: [
        `The same shift on every image (another annotation convention for the landmark, or another field of view) is cheap to fix — a few annotated images of the site estimate it — while the spread around it is not. Removing each landmark's median offset takes the mean error from ${fmt(f.mre)} to ${fmt(f.spread)} ${f.unit}: ${fmt(100 * f.systematicShare, 0)}% of the error is systematic.`,
        '',
        ...table(['#', 'landmark', `MRE (${f.unit})`, `median offset dx, dy (${f.unit})`, `|offset| (${f.unit})`, `spread after removing it (${f.unit})`],
          f.perLandmark.map((l) => [String(l.landmark), l.name, fmt(l.mre), `${fmt(l.dx, 1)}, ${fmt(l.dy, 1)}`, fmt(l.offset), fmt(l.spread)])),
      ],
    });
  }
  out.push({
    id: 'worst', title: 'Worst images',
    lines: table(['image', `MRE (${u})`, `max (${u})`, 'mean heatmap peak'], c.worst.map((w) => [w.id, fmt(w.mre), fmt(w.max), fmt(w.confidence)])),
  });
  const o = d.operational;
  if (o) {
    const adapter = `${o.adapter.description || o.adapter.architecture || o.adapter.vendor} (${o.adapter.vendor || 'unknown vendor'}, ${o.adapter.source})`;
    out.push({
      id: 'operational', title: 'Operational, measured on this device',
      lines: table(['', 'value'], [
        ['adapter', adapter],
        ['software fallback', o.fallback ? 'yes (CPU: not representative of a GPU)' : 'no'],
        ['first image (shader compilation included)', `${fmt(o.first.totalMs, 1)} ms (decode ${fmt(o.first.decodeMs, 1)} ms)`],
        [`latency per image, batch 1 (${o.latency.runs} images)`, `p50 ${fmt(o.latency.p50Ms, 1)} ms, p95 ${fmt(o.latency.p95Ms, 1)} ms (mean ${fmt(o.latency.meanMs, 1)}, decode ${fmt(o.latency.decodeMeanMs, 1)} of it)`],
        ['throughput', `${fmt(o.throughput.imagesPerSecond, 2)} images/s at batch ${o.throughput.bestBatch} (${o.throughput.perBatch.map((p) => `b${p.batch}: ${fmt(p.imagesPerSecond, 2)}`).join(', ')})`],
        ['peak GPU memory', `${mib(o.memory.peakBytesBatch1)} at batch 1, ${mib(o.memory.peakBytesBest)} at batch ${o.throughput.bestBatch}`],
      ]).concat(['', `Latency includes ${o.latency.includes}. Throughput: ${o.throughput.includes}. Memory: ${o.memory.what}.`]),
    });
  }
  const lc = d.learningCurve;
  if (lc) {
    out.push({
      id: 'learning-curve', title: `Learning curve (${lc.file})`,
      lines: [
        lc.sentence,
        ...(lc.fit ? ['', `Fit on ${lc.data}: MRE(n) = ${fmt(lc.fit.a)}·n^(−${fmt(lc.fit.b)}) + ${fmt(lc.fit.c)} ${lc.unit} (RMS residual ${fmt(lc.fit.rmse)}).`] : []),
      ],
    });
  }
  const s = d.shift;
  if (s) {
    const sg = s.signals;
    out.push({
      id: 'shift', title: `Site shift: this data vs ${s.reference} (training site)`,
      lines: [
        ...table(['', 'this data', 'reference', 'difference [95% interval]'], [
          ['images', String(s.images), String(s.referenceImages), ''],
          ...(s.mreDifference && s.sdrDifference
            ? [
                [`MRE (${s.unit})`, fmt(s.targetOverall.mre), fmt(s.referenceOverall.mre), interval(s.mreDifference)],
                [`SDR ${s.sdrDifference.radius} ${s.unit} (%)`, fmt(s.targetOverall.sdrPercent[`${s.sdrDifference.radius} ${s.unit}`], 1), fmt(s.referenceOverall.sdrPercent[`${s.sdrDifference.radius} ${s.unit}`], 1), interval(s.sdrDifference, 1)],
              ]
            : [['MRE', `${fmt(s.targetOverall.mre)} ${s.unit}`, `${fmt(s.referenceOverall.mre)} ${s.referenceUnit}`, `not compared: errors in ${s.unit} here, ${s.referenceUnit} on the reference`]]),
          ['intensity histogram distance (W1)', fmt(sg.intensity.distance, 4), `chance ${fmt(sg.intensity.chance, 4)}`, `p = ${fmt(sg.intensity.p, 3)} (${sg.intensity.permutations} permutations)`],
          ['noise σ (of the intensity range)', fmt(sg.noise.target, 4), fmt(sg.noise.reference, 4), interval(sg.noise, 4)],
          ...(sg.confidence ? [['mean heatmap peak', fmt(sg.confidence.target, 3), fmt(sg.confidence.reference, 3), interval(sg.confidence, 3)]] : []),
        ]),
        '',
        sg.shifted ? `**Shifted**: ${sg.reasons.join('; ')}.` : 'No clear shift: the image signals are within what two samples of one site give.',
      ],
    });
  }
  if (d.notes.length) out.push({ id: 'notes', title: 'Notes', lines: d.notes.map((n) => `- ${n}`) });
  return out;
}

/** report.md */
export function renderMarkdown(d: ReportDoc): string {
  const lines = [`# ${d.title}`, '', `**Verdict: ${d.verdict.sentence}**`, '',
    `Model ${d.model.path} (${d.model.landmarks} landmarks, ${d.model.size}x${d.model.size} input, ${d.model.parameters.toLocaleString('en')} parameters, decode ${d.model.decode}); generated ${d.generated}.`, ''];
  for (const s of sections(d)) lines.push(`## ${s.title}`, '', ...s.lines, '');
  return lines.join('\n');
}

/** Markdown lines (tables, bold, lists, paragraphs) → HTML. */
function mdHtml(lines: string[]): string {
  const out: string[] = [];
  const inline = (s: string) => esc(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/`(.+?)`/g, '<code>$1</code>');

  for (let i = 0; i < lines.length;) {
    const l = lines[i]!;
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('|')) {
        if (!/^\|[-| ]+\|$/.test(lines[i]!)) rows.push(lines[i]!.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '')));
        i++;
      }
      const cls = (c: string) => (c.startsWith('✔') ? ' class="met"' : c.startsWith('✘') ? ' class="missed"' : '');
      out.push('<table>', `<tr>${rows[0]!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`, ...rows.slice(1).map((r) => `<tr>${r.map((c) => `<td${cls(c)}>${inline(c)}</td>`).join('')}</tr>`), '</table>');
      continue;
    }
    if (l.startsWith('- ')) out.push(`<li>${inline(l.slice(2))}</li>`);
    else if (l.trim()) out.push(`<p>${inline(l)}</p>`);
    i++;
  }
  return out.join('\n');
}

const DECISION_COLOUR: Record<string, string> = { deploy: '#e6f4ea', 'speed-up': '#fff4e5', 'set-thresholds': '#eeeeee' };

/** report.html: one page, the verdict in the first screen. */
export function renderHtml(d: ReportDoc, extra: { overlays: { id: string; mre: number; uri: string }[]; learningCurveSvg?: string }): string {
  const c = d.clinical;
  const u = c.unit;
  const bg = DECISION_COLOUR[d.verdict.decision] ?? '#fdecea';
  const chips = d.thresholds.map((t) => `<span class="chip ${t.status === 'met' ? 'met' : t.status === 'missed' ? 'missed' : 'na'}">${esc(t.text)}: ${esc(STATUS_MARK[t.status])}${t.measured !== null ? ` (${esc(formatValue(t.key, t.measured, t.unit))})` : ''}</span>`).join(' ');
  const body: string[] = [
    `<h1>${esc(d.title)}</h1>`,
    `<section id="verdict" class="verdict" style="background:${bg}"><p class="decision">Verdict: ${esc(d.verdict.sentence).replace(/`(.+?)`/g, '<code>$1</code>')}</p><p class="chips">${chips}</p></section>`,
    `<p class="meta">Model ${esc(d.model.path)} — ${d.model.landmarks} landmarks, ${d.model.size}×${d.model.size} input, ${d.model.parameters.toLocaleString('en')} parameters, decode ${esc(d.model.decode)}. Data ${esc(d.data.spec)}${d.data.split ? `, split ${esc(d.data.split)}` : ''}: ${d.data.images} images, errors in ${u}. Generated ${esc(d.generated)}.</p>`,
  ];
  const goals = d.thresholds.filter((t) => t.key.startsWith('sdr')).map((t) => ({ radius: t.key.slice(3), percent: t.value * 100 }));
  for (const s of sections(d)) {
    body.push(`<h2 id="h-${s.id}">${esc(s.title)}</h2>`, mdHtml(s.lines));
    if (s.id === 'clinical') {
      const radii = c.sdrRadii.map(String);
      body.push(sdrChart(radii, radii.map((r) => c.overall.sdrPercent[`${r} ${u}`]!), radii.map((r) => c.baseline.overall.sdrPercent[`${r} ${u}`]!), u, goals));
    }
    if (s.id === 'landmarks') body.push(perLandmarkChart(c.perLandmark.map((l, i) => ({ name: l.name, mre: l.mre, std: l.std, baseline: c.baseline.perLandmark[i]?.mre ?? NaN })), u));
    if (s.id === 'worst' && extra.overlays.length) {
      body.push('<div class="overlays">', ...extra.overlays.map((o) => `<figure><img src="${o.uri}" alt="overlay of ${esc(o.id)}"><figcaption>${esc(o.id)}: MRE ${fmt(o.mre, 2)} ${u} — truth green, prediction red (numbered), error yellow</figcaption></figure>`), '</div>');
    }
    if (s.id === 'operational' && d.operational) {
      const goal = d.thresholds.find((t) => t.key === 'ips')?.value;
      body.push(throughputChart(d.operational.throughput.perBatch, goal));
    }
    if (s.id === 'learning-curve' && extra.learningCurveSvg) body.push(extra.learningCurveSvg);
    if (s.id === 'shift' && d.shift) body.push(histogramChart(d.shift.signals.intensity.reference, d.shift.signals.intensity.target, [`reference: ${d.shift.reference}`, `this data: ${d.data.spec}`]));
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; line-height: 1.4; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.verdict { border: 2px solid #444; border-radius: 8px; padding: 12px 16px; }
.verdict .decision { font-size: 20px; font-weight: 600; margin: 0 0 8px; }
.chip { display: inline-block; border-radius: 12px; padding: 2px 10px; margin: 2px; font-size: 14px; }
.chip.met { background: #c8e6c9; } .chip.missed { background: #ffcdd2; } .chip.na { background: #e0e0e0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.met { background: #c8e6c9; } td.missed { background: #ffcdd2; }
.meta, .note { color: #555; font-size: 13px; }
.overlays { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; } figure img { width: 460px; max-width: 100%; border: 1px solid #ccc; } figcaption { font-size: 12px; color: #555; max-width: 460px; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}

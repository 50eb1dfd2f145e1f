/**
 * Collects recipe arms (run folders of `osteo train`, each with its metrics.json) into one results
 * file and draws their learning curves (validation MRE per epoch) as an SVG with a legend.
 *
 *   npx vite-node --config vitest.config.ts bench/recipe_report.ts -- OUT.json OUT.svg NAME=DIR …
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { byName, dataSpecTail } from './portable_paths';
import type { RecipeArm } from './recipe_numbers';

const [outJson, outSvg, ...specs] = process.argv.slice(2).filter((a) => a !== '--');
if (!outJson || !outSvg || !specs.length) throw new Error('usage: recipe_report.ts OUT.json OUT.svg NAME=DIR …');
const arms: RecipeArm[] = specs.map((s) => {
  const eq = s.indexOf('=');
  const name = s.slice(0, eq), dir = s.slice(eq + 1);
  const m = JSON.parse(readFileSync(`${dir}/metrics.json`, 'utf8'));
  // the run folder and the coarse checkpoint by name only: they are scratch folders of this machine
  const { out: _o, ...config } = m.config;
  if (typeof config.coarse === 'string') config.coarse = byName(config.coarse);
  // an absolute data path (the appendix's copies in a temp folder) by its last two segments
  if (typeof config.data === 'string') config.data = dataSpecTail(config.data);
  return {
    name, dir: basename(dir), config, stage: m.stage ?? 'coarse', train: m.data.train, val: m.data.val,
    epochs: m.history.map((h: { epoch: number; trainLoss: number; valMre: number; valSdrPercent: Record<string, number>; seconds: number; everyCropRefinedMre?: number }) => ({
      epoch: h.epoch, trainLoss: +h.trainLoss.toFixed(5), valMre: +h.valMre.toFixed(3), sdr2: h.valSdrPercent['2 mm'] ?? null, seconds: +h.seconds.toFixed(1),
      ...(h.everyCropRefinedMre !== undefined ? { everyCropRefinedMre: +h.everyCropRefinedMre.toFixed(3) } : {}),
    })),
    best: { epoch: m.best.epoch, mre: m.best.metric === null ? null : +m.best.metric.toFixed(3) },
    ...(m.coarseError ? { coarseError: m.coarseError } : {}),
  };
});
writeFileSync(outJson, `${JSON.stringify({ what: 'ISBI 2015 recipe arms: validation MRE (mm) per epoch, fixed 135 / 15 split (val-split 0.1, seed 1); wall times were taken on 2 CPU cores shared with other jobs (2-4x slower than quiet) and are not comparable between arms', date: new Date().toISOString().slice(0, 10), arms }, null, 1)}\n`);

// learning curves
const W = 900, H = 460, L = 60, R = 330, T = 30, B = 50;
const maxEpoch = Math.max(...arms.flatMap((a) => a.epochs.map((e) => e.epoch)));
const mres = arms.flatMap((a) => a.epochs.map((e) => e.valMre)).filter(Number.isFinite);
const top = Math.min(20, Math.max(...mres)) * 1.05;
const x = (e: number) => L + ((e - 1) / Math.max(1, maxEpoch - 1)) * (W - L - R);
const y = (v: number) => T + (1 - Math.min(v, top) / top) * (H - T - B);
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
for (let v = 0; v <= top; v += top > 20 ? 5 : 2) parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
for (let e = 1; e <= maxEpoch; e++) parts.push(`<text x="${x(e)}" y="${H - B + 16}" text-anchor="middle">${e}</text>`);
parts.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`, `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">validation MRE (mm, clipped at ${top.toFixed(0)})</text>`);
arms.forEach((a, i) => {
  const c = colours[i % colours.length]!;
  parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${a.epochs.map((e) => `${x(e.epoch).toFixed(1)},${y(e.valMre).toFixed(1)}`).join(' ')}"/>`);
  for (const e of a.epochs) parts.push(`<circle cx="${x(e.epoch).toFixed(1)}" cy="${y(e.valMre).toFixed(1)}" r="3" fill="${c}"/>`);
  parts.push(`<line x1="${W - R + 15}" x2="${W - R + 35}" y1="${T + 10 + i * 20}" y2="${T + 10 + i * 20}" stroke="${c}" stroke-width="3"/><text x="${W - R + 40}" y="${T + 14 + i * 20}">${a.name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
});
parts.push('</svg>');
writeFileSync(outSvg, `${parts.join('\n')}\n`);
console.log(`wrote ${outJson} and ${outSvg} (${arms.length} arms)`);

/**
 * Collects recipe arms (run folders of `osteo train`, each with its metrics.json) into one results
 * file and draws their learning curves (validation MRE per epoch) as an SVG with a legend.
 *
 *   npx vite-node --config vitest.config.ts bench/recipe_report.ts -- OUT.json OUT.svg NAME=DIR …
 *   npx vite-node --config vitest.config.ts bench/recipe_report.ts -- --svg-from IN.json OUT.svg   (redraw only)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { byName, dataSpecTail } from './portable_paths';
import { recipeCurvesSvg } from './recipe_chart';
import type { RecipeArm } from './recipe_numbers';

const argv = process.argv.slice(2).filter((a) => a !== '--');
if (argv[0] === '--svg-from') {
  // the committed results file holds every point the chart draws: redraw it without the run folders
  const [, inJson, svgOut] = argv;
  if (!inJson || !svgOut) throw new Error('usage: recipe_report.ts --svg-from IN.json OUT.svg');
  writeFileSync(svgOut, `${recipeCurvesSvg((JSON.parse(readFileSync(inJson, 'utf8')) as { arms: RecipeArm[] }).arms)}\n`);
  console.log(`wrote ${svgOut}`);
  process.exit(0);
}
const [outJson, outSvg, ...specs] = argv;
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

const svg = recipeCurvesSvg(arms);
writeFileSync(outSvg, `${svg}\n`);
console.log(`wrote ${outJson} and ${outSvg} (${arms.length} arms)`);

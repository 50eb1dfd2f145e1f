/**
 * Issue 24 §1's training levers as docs/recipes.md quotes them, rendered from their result files
 * (bench/results/lever-refine-longer.json: bench/lever_refine_longer.sh, bench/lever_summary.mjs). Pure: no I/O.
 */
import { fmt } from '../src/train/format';

interface Scored { images: number; unit: string; mre: number; median: number; max: number; sdrPercent: Record<string, number> }

/** bench/results/lever-refine-longer.json */
export interface RefineLongerFile {
  date: string;
  machine: string;
  validation: string;
  curve: { epoch: number; valMre: number; unit: string; lr: number; seconds: number }[];
  trainingSeconds: number;
  scored: string;
  pairs: Record<'base' | 'longer', { file: string; isbi: Scored | null; hamedan: Scored | null }>;
}

/** The longer refinement schedule: the validation curve and both pairs on both sites. */
export function refineLonger(f: RefineLongerFile): string {
  const b = f.pairs.base, l = f.pairs.longer;
  if (!b.isbi || !l.isbi || !b.hamedan || !l.hamedan) return 'Not measured yet (bench/lever_refine_longer.sh).';
  const best = f.curve.reduce((p, c) => (c.valMre < p.valMre ? c : p));
  const row = (name: string, p: { isbi: Scored; hamedan: Scored }) =>
    `| ${name} | ${fmt(p.isbi.mre, 3)} mm | ${fmt(p.isbi.sdrPercent['2 mm'], 1)} % | ${fmt(p.isbi.median, 2)} mm | ${fmt(p.hamedan.mre, 2)} px | ${fmt(p.hamedan.median, 2)} px |`;
  return [
    `Measured ${f.date} on ${f.machine} (\`bench/results/lever-refine-longer.json\`). Validation MRE of the two-site pair's refiner by epoch (${f.validation}): ${f.curve.map((c) => `${c.epoch}: ${fmt(c.valMre, 2)}`).join(', ')} ${f.curve[0]?.unit ?? ''}; best epoch ${best.epoch} (the 4 more epochs took ${Math.round(f.trainingSeconds / 60)} min).`,
    '',
    `Scored with ${f.scored}:`,
    '',
    '| refiner | ISBI MRE | ISBI SDR@2mm | ISBI median | Hamedan MRE | Hamedan median |',
    '|---|---|---|---|---|---|',
    row('2 epochs (before)', { isbi: b.isbi, hamedan: b.hamedan }),
    row(`${best.epoch} epochs (best of 6)`, { isbi: l.isbi, hamedan: l.hamedan }),
  ].join('\n');
}

/**
 * docs/recipes.md's table and gap paragraph of the inference-time accuracy levers (issue 24 §1),
 * rendered from bench/results/accuracy-levers.json (bench/accuracy_levers.ts). Spliced by
 * bench/readme_docs.ts (`npm run docs:numbers`), checked by test/docs/readme_numbers.test.ts. Pure.
 */
import { ISBI2015_LANDMARKS } from '../src/data/datasets';

export interface LeversArm {
  arm: string;
  options: string;
  images: number;
  unit: string;
  mre: number;
  median: number;
  sdrPercent: Record<string, number>;
  perLandmarkMre: number[];
  secondsPerImage: { mean: number; median: number } | null;
  choices?: Record<string, number>;
}

export interface LeversFile {
  data: string;
  models: { file: string; images: number; arms: LeversArm[]; loadPerImage: number[]; perImageMre: ({ id: string } & Record<string, number | string>)[] }[];
  machine: { cpus: number; adapter: string };
  load: { atStart: number[]; atEnd: number[] };
  started: string;
  seconds: number;
}

/** The targets of issue 24 §1 for the shipped model (ISBI Test1; here measured on the held-out images). */
export const LEVER_TARGETS = { mre: 1.5, sdr2: 75 };

const mm = (x: number): string => x.toFixed(2);
const pc = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));
const SDR_KEYS = ['2 mm', '2.5 mm', '3 mm', '4 mm'] as const;
const short = (file: string): string => file.replace(/^weights\//, '').replace(/\.safetensors$/, '');

/** Arms × models: MRE, median, SDR, latency per image. */
export function accuracyLevers(f: LeversFile): string {
  const rows = f.models.flatMap((m) => m.arms.map((a) => {
    const lat = a.secondsPerImage ? `${a.secondsPerImage.mean.toFixed(1)} s (median ${a.secondsPerImage.median.toFixed(1)})` : 'the arms it picks from';
    return `| ${short(m.file)} | ${a.arm} | ${a.images} | ${mm(a.mre)} | ${mm(a.median)} | ${SDR_KEYS.map((k) => pc(a.sdrPercent[k])).join(' / ')} | ${lat} |`;
  }));
  const loads = f.models.flatMap((m) => m.loadPerImage);
  return [
    '| model | arm | images | MRE (mm) | median (mm) | SDR 2 / 2.5 / 3 / 4 mm (%) | latency per image, loaded CPU |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Latency: wall clock of the coarse stage plus the arm's refinement passes, one image at a time, ${f.machine.adapter} on ${f.machine.cpus} CPU cores ` +
      `shared with a training run (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} while measuring): compare arms with each other, not with other tables.`,
  ].join('\n');
}

/** For each refined arm: on how many images its MRE is below the baseline's, and the mean difference. */
function paired(m: LeversFile['models'][number], base: string): string {
  const arms = m.arms.filter((a) => a.secondsPerImage && a.arm !== base && a.arm !== 'coarse only').map((a) => a.arm);
  return arms.map((a) => {
    const d = m.perImageMre.map((r) => (r[a] as number) - (r[base] as number));
    const mean = d.reduce((x, y) => x + y, 0) / d.length;
    return `${a} lower on ${d.filter((x) => x < 0).length} of ${d.length} (mean ${mean >= 0 ? '+' : '−'}${Math.abs(mean).toFixed(3)} mm)`;
  }).join(', ');
}

/** The gap to the targets and the worst landmarks, per model (prose: wrap it). */
export function leversGap(f: LeversFile): string {
  const parts = f.models.map((m) => {
    const base = m.arms.find((a) => a.arm.startsWith('baseline'))!;
    const measured = m.arms.filter((a) => a.secondsPerImage);
    const best = measured.filter((a) => a.arm !== 'coarse only').reduce((b, a) => (a.mre < b.mre ? a : b));
    const names = base.perLandmarkMre.length === ISBI2015_LANDMARKS.length ? ISBI2015_LANDMARKS : base.perLandmarkMre.map((_, j) => `landmark ${j + 1}`);
    const worst = base.perLandmarkMre.map((e, j) => ({ e, n: names[j]! })).sort((a, b) => b.e - a.e).slice(0, 4);
    const sdr = best.sdrPercent['2 mm'] ?? 0;
    const gap = (what: string, by: number, unit: string, d: (x: number) => string) => (by > 0 ? `${d(by)} ${unit} short of the ${what} target` : `the ${what} target met`);
    return `${short(m.file)} (${m.images} images): baseline ${mm(base.mre)} mm / SDR@2mm ${pc(base.sdrPercent['2 mm'])} %; lowest MRE of the arms "${best.arm}" ` +
      `${mm(best.mre)} mm / ${pc(sdr)} %: ${gap('MRE', best.mre - LEVER_TARGETS.mre, 'mm', mm)}, ${gap('SDR@2mm', LEVER_TARGETS.sdr2 - sdr, 'points', pc)}; ` +
      `worst landmarks (baseline) ${worst.map((w) => `${w.n} ${mm(w.e)} mm`).join(', ')}; per image against the baseline: ${paired(m, base.arm)}.`;
  });
  return parts.join(' ');
}

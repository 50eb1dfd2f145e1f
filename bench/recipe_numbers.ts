/**
 * The numbers docs/recipes.md, weights/README.md and README.md quote about the ISBI 2015 recipe
 * and the shipped two-stage model, rendered from bench/results/recipe-isbi-*.json (written by
 * bench/recipe_report.ts and bench/pair_stages.ts). Spliced by bench/readme_docs.ts
 * (`npm run docs:numbers`) and checked by test/docs/readme_numbers.test.ts. Pure: no I/O.
 */

/** One arm of bench/recipe_report.ts: a run folder's metrics per epoch. */
export interface RecipeArm {
  name: string;
  dir: string;
  config: Record<string, unknown>;
  stage: string;
  train: number;
  val: number;
  epochs: { epoch: number; trainLoss: number; valMre: number; sdr2: number | null; seconds: number; everyCropRefinedMre?: number }[];
  best: { epoch: number; mre: number | null };
  coarseError?: { mre: number; unit: string; sigmaRel: number; n: number };
}

export interface RecipeArmsFile {
  what: string;
  date: string;
  arms: RecipeArm[];
}

interface Stats { n: number; mre: number; std: number; median: number; max: number; sdrPercent: Record<string, number>; msPerImage?: number }

/** bench/pair_stages.ts's OUT.json: the shipped pair on the coarse run's validation split. */
export interface TwoStageFile {
  coarse: string;
  refined: string;
  out: string;
  data: string;
  validation: number;
  minConfidence: number;
  everyCropRefinedMre: number;
  coarseOnly: Stats;
  twoStage: Stats;
  meanShape: Stats;
  device: string;
  note: string;
}

/** bench/decode_compare.ts's output (session 4's MSE file has no loss / unit fields). */
export interface DecodeCompareFile {
  checkpoint: string;
  loss?: string;
  images: number;
  results: { decode: string; mre: number; sdr2: number; sdr4: number }[];
}

export interface RecipeFiles {
  recipeDecode: DecodeCompareFile;
  recipeDecodeMse: DecodeCompareFile;
  recipeCoarse: RecipeArmsFile;
  recipeRefine: RecipeArmsFile;
  recipeTwoStage: TwoStageFile;
  /** The same refinement on the 64 px coarse stage (the pair trained within the issue's 2 hours). */
  recipeTwoStage64: TwoStageFile;
}

const mm = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toFixed(2));
const pc = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : x.toFixed(1));
const SDR_KEYS = ['2 mm', '2.5 mm', '3 mm', '4 mm'] as const;
const sdrs = (s: Stats): string => SDR_KEYS.map((k) => pc(s.sdrPercent[k])).join(' / ');

/** Wall time of an arm's epochs (training + validation), minutes. */
const minutes = (a: RecipeArm): string => (a.epochs.reduce((s, e) => s + e.seconds, 0) / 60).toFixed(0);

/** The epoch with the lowest validation MRE (ties: the earlier). */
function bestEpoch(a: RecipeArm): RecipeArm['epochs'][number] | undefined {
  return a.epochs.reduce<RecipeArm['epochs'][number] | undefined>((b, e) => (b === undefined || e.valMre < b.valMre ? e : b), undefined);
}

/** Coarse arms: validation MRE after epochs 1–4 (the common budget), best epoch, its SDR@2mm. */
export function recipeCoarse(f: RecipeFiles): string {
  const rows = f.recipeCoarse.arms.map((a) => {
    const at = (n: number) => mm(a.epochs.find((e) => e.epoch === n)?.valMre);
    const b = bestEpoch(a);
    const planned = typeof a.config.epochs === 'number' ? a.config.epochs : '?';
    return `| ${a.name} | ${a.config.size as number} | ${a.epochs.length} of ${planned} | ${[1, 2, 3, 4].map(at).join(' / ')} | ${b ? `${mm(b.valMre)} (${b.epoch})` : '–'} | ${pc(b?.sdr2)} | ${minutes(a)} |`;
  });
  return [
    '| arm | input px | epochs run | val MRE (mm) after epoch 1 / 2 / 3 / 4 | best val MRE, mm (epoch) | SDR@2mm at best, % | wall time of the epochs run, min |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The decodings of two coarse checkpoints side by side (same rows in the same order). */
export function recipeDecode(f: RecipeFiles): string {
  const a = f.recipeDecode, b = f.recipeDecodeMse;
  const rows = a.results.map((r, i) => {
    const o = b.results[i];
    return `| ${r.decode} | ${mm(r.mre)} | ${pc(r.sdr2)} / ${pc(r.sdr4)} | ${o ? `${mm(o.mre)} | ${pc(o.sdr2)} / ${pc(o.sdr4)}` : '– | –'} |`;
  });
  return [
    `| decoding (${a.images} validation images) | spatial softmax CE, 64 px: MRE (mm) | SDR 2 / 4 mm (%) | MSE x10, 64 px (session 4): MRE (mm) | SDR 2 / 4 mm (%) |`,
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Refinement arms: the coarse stage refined, every crop refined and the pair per epoch, best pair. */
export function recipeRefine(f: RecipeFiles): string {
  const rows = f.recipeRefine.arms.map((a) => {
    const b = bestEpoch(a);
    const all = a.epochs.map((e) => (e.everyCropRefinedMre === undefined ? '–' : mm(e.everyCropRefinedMre))).join(', ');
    return `| ${a.name} | ${mm(a.coarseError?.mre)} | ${a.epochs.length} of ${typeof a.config.epochs === 'number' ? a.config.epochs : '?'} | ${all} | ${a.epochs.map((e) => mm(e.valMre)).join(', ')} | ${b ? `${mm(b.valMre)} (${b.epoch})` : '–'} | ${pc(b?.sdr2)} | ${minutes(a)} |`;
  });
  return [
    '| refinement arm | coarse val MRE, mm | epochs run | every crop refined, per epoch (mm) | pair with threshold, per epoch (mm) | best pair, mm (epoch) | SDR@2mm at best, % | wall time of the epochs run, min |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The shipped pair and the 64 px pair against their coarse stages and the mean-shape baseline, with latency. */
export function recipeTwoStage(f: RecipeFiles): string {
  const t = f.recipeTwoStage, u = f.recipeTwoStage64;
  const lat = (s: Stats) => (s.msPerImage === undefined ? '–' : `${(s.msPerImage / 1000).toFixed(2)} s`);
  const row = (name: string, s: Stats, bold = false) => {
    const b = (x: string) => (bold ? `**${x}**` : x);
    return `| ${b(name)} | ${b(mm(s.mre))} | ${mm(s.median)} / ${mm(s.max)} | ${b(sdrs(s))} | ${lat(s)} |`;
  };
  return [
    `| on the ${t.validation} validation images | MRE (mm) | median / max (mm) | SDR 2 / 2.5 / 3 / 4 mm (%) | latency per image |`,
    '|---|---|---|---|---|',
    row('mean-shape baseline', t.meanShape),
    row('coarse 128 px alone (`recipe-isbi-two-stage.json`)', t.coarseOnly),
    `| coarse 128 px, every crop refined | ${mm(t.everyCropRefinedMre)} | – | – | – |`,
    row('coarse 128 px + refinement (shipped)', t.twoStage, true),
    row('coarse 64 px alone (`recipe-isbi-two-stage-64.json`)', u.coarseOnly),
    `| coarse 64 px, every crop refined | ${mm(u.everyCropRefinedMre)} | – | – | – |`,
    row('coarse 64 px + refinement (trained within 2 h)', u.twoStage, true),
  ].join('\n');
}

/** weights/README.md's validation and latency paragraph (prose: `wrap` it). */
export function shippedModel(f: RecipeFiles): string {
  const t = f.recipeTwoStage;
  const secs = (s: Stats) => (s.msPerImage === undefined ? '–' : `${(s.msPerImage / 1000).toFixed(2)} s`);
  return (
    `**Validation** (${t.validation} held-out training-split images, \`bench/results/recipe-isbi-two-stage.json\`): two stages MRE ${mm(t.twoStage.mre)} mm, ` +
    `SDR ${sdrs(t.twoStage)} % at 2 / 2.5 / 3 / 4 mm; coarse stage alone ${mm(t.coarseOnly.mre)} mm (SDR@2mm ${pc(t.coarseOnly.sdrPercent['2 mm'])} %); ` +
    `mean-shape baseline ${mm(t.meanShape.mre)} mm (SDR@2mm ${pc(t.meanShape.sdrPercent['2 mm'])} %). The refinement's confidence threshold and both stages' ` +
    'best epochs were chosen on these same images, so the figures are optimistic by those choices; not measured on the ISBI test sets (not in `../shared/data`). ' +
    `**Latency** per image: ${secs(t.coarseOnly)} (coarse) / ${secs(t.twoStage)} (two stages), ${t.note.replace(/^latency: /, '')}.`
  );
}

/** README.md's sentence on the shipped model. */
export function isbiModel(f: RecipeFiles): string {
  const t = f.recipeTwoStage;
  return (
    `On ${t.validation} held-out ISBI 2015 training images it places the 19 landmarks with an MRE of ${mm(t.twoStage.mre)} mm ` +
    `(SDR@2mm ${pc(t.twoStage.sdrPercent['2 mm'])} %; coarse stage alone ${mm(t.coarseOnly.mre)} mm; mean-shape baseline ${mm(t.meanShape.mre)} mm), ` +
    '`bench/results/recipe-isbi-two-stage.json`.'
  );
}

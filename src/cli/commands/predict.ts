/**
 * `osteo predict IMAGE|FOLDER... --model CKPT [--out DIR] [--data SPEC]`: landmarks for each image
 * as an osteo points file (OUT/points.json, docs/points-format.md: what the web app imports and
 * `osteo train --data points:` trains on), the full report with ground-truth errors as JSON
 * (stdout and OUT/predictions.json), an overlay per image (predictions as red crosses; with ground
 * truth from --data, true points in green and yellow error vectors) and a heatmap montage per
 * image, each as PNG, JPEG or not at all. Without IMAGE arguments, every image of --data is
 * predicted. Per-image time is split into decode / model / draw / encode / write (predictions.json's
 * `timing`), and stderr shows each image with the run's ETA.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { LandmarkItem } from '../../data/types';
import { readImageAsync } from '../../node/data_image';
import { listImageFiles, readDataset } from '../../node/data_readers';
import type { PictureFormat } from '../../node/image_encode';
import { MONTAGE_MAX_DEFAULT, predictJobs, type PredictJob, type PredictReport } from '../../node/predict_files';
import { checkK } from '../../train/evaluate';
import { DEFAULT_CEPH_MODEL, findShippedCephModel } from '../shipped_model';
import { UsageError, type Command } from '../command';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, requireExisting, SOFTWARE_OPTION } from '../options';
import { withEngine } from '../engine';
import { GUARD_OPTIONS, guardOptionsOf, loadPredictorFile, REFINE_OPTIONS, refineOptionsOf } from '../predictor';
import { tallyText } from '../../train/guards';
import { log } from '../progress';

export { PREDICT_PHASES, type PredictionRecord, type PredictReport, type PredictTiming } from '../../node/predict_files';

const stem = (p: string): string => basename(p, extname(p));

const PREDICT_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', defaultText: `${DEFAULT_CEPH_MODEL} when present`, description: 'osteo checkpoint to predict with (e.g. runs/train/checkpoint-best.safetensors; a two-stage file refines every point)', check: checks.exists('file') },
  out: { type: 'string', value: 'DIR', default: 'runs/predict', description: 'output folder: points.json (osteo points format), predictions.json (report), NAME.overlay.jpg and NAME.heatmaps.jpg per image', check: checks.writableDir() },
  overlays: { type: 'string', value: 'none|png|jpeg', default: 'jpeg', description: 'overlay picture per image: JPEG (a fraction of the PNG\'s bytes: bench/results/predict-breakdown.json), lossless PNG, or none (fastest)', check: checks.oneOf(['none', 'png', 'jpeg']) },
  heatmaps: { type: 'string', value: 'none|png|jpeg', defaultText: `the --overlays format up to ${MONTAGE_MAX_DEFAULT} images, none above`, description: 'heatmap montage per image (every landmark\'s heatmap, labelled)', check: checks.oneOf(['none', 'png', 'jpeg']) },
  quiet: { type: 'boolean', description: 'no progress lines on stderr (the JSON report still goes to stdout)' },
  data: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'ground truth for the images (matched by path or file name; overlays then show error vectors); without IMAGE arguments, predict every image of the set', check: checks.dataSpec() },
  decode: { type: 'string', value: 'argmax|blob', defaultText: "the checkpoint's, else argmax", description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around it', check: checks.oneOf(['argmax', 'blob']) },
  strict: { type: 'boolean', description: 'stop at the first unreadable image instead of skipping and reporting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every image', description: 'predict at most the first N images', check: checks.int(1) },
  ...GUARD_OPTIONS,
  ...REFINE_OPTIONS,
  software: SOFTWARE_OPTION,
});

export async function predictMain(argv: string[]): Promise<PredictReport> {
  // every option, the model, the data spec and the image files are checked before a GPU is acquired
  const { values, positionals } = parseOptions(PREDICT_OPTIONS, argv, { positionals: true });
  const modelPath = values.model ?? findShippedCephModel();
  if (!modelPath) throw new UsageError(`--model CKPT is required (${DEFAULT_CEPH_MODEL}, the default cephalometric model, is not here)`);
  if (!positionals.length && !values.data) throw new UsageError('give one or more IMAGE files or folders (or --data SPEC to predict a data set)');
  for (const p of positionals) requireExisting(p, 'IMAGE');
  // a folder stands for its image files (by extension, sorted)
  const files = positionals.flatMap((p) => {
    if (!statSync(p).isDirectory()) return [p];
    const inside = listImageFiles(p);
    if (!inside.length) throw new UsageError(`IMAGE ${p}: a folder without image files (.png, .jpg, .bmp, .dcm, .tif, .mha …)`);
    return inside;
  });
  const limit = values.limit !== undefined ? Number(values.limit) : undefined;
  const quiet = !!values.quiet;
  const say = (line: string): void => { if (!quiet) log(line); };
  const out = resolve(values.out);

  // Ground truth: items of --data matched to the images by path or by id (file name without extension).
  const ds = values.data ? readDataset(values.data, { ...(values.strict ? { strict: true } : {}) }) : undefined;
  const byPath = new Map<string, LandmarkItem>();
  const byId = new Map<string, LandmarkItem>();
  for (const it of ds?.items ?? []) {
    byPath.set(resolve(it.imagePath), it);
    byId.set(it.id, it);
    byId.set(stem(it.imagePath), it);
  }
  let jobs: PredictJob[] = files.map((p) => {
    const item = byPath.get(resolve(p)) ?? byId.get(stem(p));
    return { name: p, id: stem(p), isFile: true, load: () => readImageAsync(p), ...(item ? { item } : {}) };
  });
  if (!jobs.length && ds) jobs = ds.items.map((it) => ({ name: it.imagePath, id: it.id, isFile: !it.image, load: async () => it.image ?? readImageAsync(it.imagePath), item: it }));
  if (limit) jobs = jobs.slice(0, limit);
  const overlays = values.overlays as PictureFormat | 'none';
  const heatmaps = (values.heatmaps ?? (jobs.length > MONTAGE_MAX_DEFAULT ? 'none' : overlays)) as PictureFormat | 'none';
  if (values.heatmaps === undefined && heatmaps === 'none' && overlays !== 'none') say(`heatmap montages off for ${jobs.length} images (more than ${MONTAGE_MAX_DEFAULT}); --heatmaps jpeg writes them`);

  return withEngine(values.software, async (engine) => {
    const p = await loadPredictorFile(engine, modelPath, { ...(values.decode ? { decode: values.decode as 'argmax' | 'blob' } : {}), guards: guardOptionsOf(values), refine: refineOptionsOf(values) });
    try {
      if (ds) checkK(p.ck, ds.k, values.data!);
      // the output folder is made when the first file is written: a run that fails leaves none behind
      const report = await predictJobs(p, jobs, { out, modelPath, overlays, heatmaps, ...(values.strict ? { strict: true } : {}), ...(quiet ? {} : { log }) });
      if (p.guard && !quiet) log(tallyText(p.guard.tally));
      console.log(JSON.stringify(report));
      return report;
    } finally {
      p.dispose();
    }
  });
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'predict landmarks on images or folders with a checkpoint: an osteo points file, overlays (error vectors with --data), heatmap montages',
  usage: 'osteo predict IMAGE|FOLDER... --model CKPT [--out runs/predict] [--overlays none|png|jpeg] [--heatmaps none|png|jpeg] [--data SPEC (ground truth)] [--decode argmax|blob] [--refine-passes N] [--tta none|shifts|shifts-scales] [--strict] [--limit N] [--quiet] [--software]\nosteo predict --model CKPT --data SPEC [options]',
  options: PREDICT_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo predict xray1.png xray2.jpg --model runs/isbi/checkpoint-best.safetensors --out runs/pred', what: 'landmarks of two X-rays (runs/pred/points.json), with an overlay and a heatmap montage for each' },
    { command: 'osteo predict /data/clinic --overlays none --out runs/clinic', what: 'every image of a folder with the shipped model, points only (fastest); correct them in osteo serve, then osteo train --data points:FILE' },
    { command: 'osteo predict scan.dcm --model runs/isbi/checkpoint-best.safetensors', what: "a DICOM X-ray: points in pixels and, from the file's PixelSpacing, in mm (pointsMm)" },
    { command: "osteo predict --model runs/try/checkpoint-best.safetensors --data 'synthetic:hand?n=4' --limit 2", what: 'predict the first 2 images of a data set, overlays with the true points and error vectors' },
  ],
  async run(argv) {
    await predictMain(argv);
    return 0;
  },
};

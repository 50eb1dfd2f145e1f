/**
 * `osteo predict IMAGE... --model CKPT [--out DIR] [--data SPEC]`: landmarks for each image as
 * JSON (stdout and OUT/predictions.json), an overlay PNG per image (predictions as red crosses;
 * with ground truth from --data, true points in green and yellow error vectors) and a heatmap
 * montage PNG per image. Without IMAGE arguments, every image of --data is predicted.
 */
import { mkdirBounded } from '../../node/out_dir';
import { basename, extname, join, resolve } from 'node:path';
import { DataError, mmPerPixelOf, type GreyImage, type LandmarkItem, type PixelSpacing, type Point } from '../../data/types';
import { radialErrors } from '../../landmarks/metrics';
import { windowed } from '../../data/window';
import { readImageAsync } from '../../node/data_image';
import { writeHeatmapMontagePng, writeJsonAtomicSync, writeOverlayPng } from '../../node/data_png';
import { readDataset } from '../../node/data_readers';
import { writeFileAtomic } from '../../node/weights_io';
import { DEFAULT_CEPH_MODEL, findShippedCephModel } from '../shipped_model';
import { UsageError, type Command } from '../command';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, requireExisting, SOFTWARE_OPTION } from '../options';
import { checkK } from '../../train/evaluate';
import { round, roundPoints } from '../../train/format';
import { withEngine } from '../engine';
import { loadPredictorFile } from '../predictor';
import { log } from '../progress';

export interface PredictionRecord {
  image: string;
  id: string;
  width: number;
  height: number;
  points: [number, number][];
  /**
   * The image file's pixel spacing (DICOM PixelSpacing / ImagerPixelSpacing, MetaImage ElementSpacing), when it states
   * one.
   */
  spacing?: PixelSpacing;
  /** With a spacing: the points in mm from the top-left pixel centre. */
  pointsMm?: [number, number][];
  /** What the decoder noted (multi-frame, calibration of the spacing). */
  notes?: string[];
  confidence: number[];
  /** 1-based numbers of the landmarks predicted outside the image (drawn clamped to its border, in magenta). */
  outside: number[];
  overlay: string;
  heatmaps: string;
  truth?: [number, number][];
  errors?: number[];
  mre?: number;
  unit?: 'mm' | 'px';
}

export interface PredictReport {
  model: string;
  size: number;
  k: number;
  landmarkNames: string[] | null;
  /** Predicted points outside their image, over all images. */
  outsidePoints: number;
  images: PredictionRecord[];
  skipped: { image: string; error: string }[];
}

const stem = (p: string): string => basename(p, extname(p));

const PREDICT_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', defaultText: `${DEFAULT_CEPH_MODEL} when present`, description: 'osteo checkpoint to predict with (e.g. runs/train/checkpoint-best.safetensors; a two-stage file refines every point)', check: checks.exists('file') },
  out: { type: 'string', value: 'DIR', default: 'runs/predict', description: 'output folder: predictions.json, NAME.overlay.png and NAME.heatmaps.png per image', check: checks.writableDir() },
  data: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'ground truth for the images (matched by path or file name; overlays then show error vectors); without IMAGE arguments, predict every image of the set', check: checks.dataSpec() },
  decode: { type: 'string', value: 'argmax|blob', defaultText: "the checkpoint's, else argmax", description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around it', check: checks.oneOf(['argmax', 'blob']) },
  strict: { type: 'boolean', description: 'stop at the first unreadable image instead of skipping and reporting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every image', description: 'predict at most the first N images', check: checks.int(1) },
  software: SOFTWARE_OPTION,
});

export async function predictMain(argv: string[]): Promise<PredictReport> {
  // every option, the model, the data spec and the image files are checked before a GPU is acquired
  const { values, positionals } = parseOptions(PREDICT_OPTIONS, argv, { positionals: true });
  const modelPath = values.model ?? findShippedCephModel();
  if (!modelPath) throw new UsageError(`--model CKPT is required (${DEFAULT_CEPH_MODEL}, the default cephalometric model, is not here)`);
  if (!positionals.length && !values.data) throw new UsageError('give one or more IMAGE files (or --data SPEC to predict a data set)');
  for (const p of positionals) requireExisting(p, 'IMAGE');
  const limit = values.limit !== undefined ? Number(values.limit) : undefined;
  const out = resolve(values.out);
  // The output folder is made when the first file is written: a run that fails leaves none behind.
  let outMade = false;
  const inOut = (file: string): string => {
    if (!outMade) mkdirBounded(out);
    outMade = true;
    return join(out, file);
  };

  // Ground truth: items of --data matched to the images by path or by id (file name without extension).
  const ds = values.data ? readDataset(values.data, { ...(values.strict ? { strict: true } : {}) }) : undefined;
  const byPath = new Map<string, LandmarkItem>();
  const byId = new Map<string, LandmarkItem>();
  for (const it of ds?.items ?? []) {
    byPath.set(resolve(it.imagePath), it);
    byId.set(it.id, it);
    byId.set(stem(it.imagePath), it);
  }
  type Job = { name: string; id: string; load: () => Promise<GreyImage>; item?: LandmarkItem };
  let jobs: Job[] = positionals.map((p) => {
    const item = byPath.get(resolve(p)) ?? byId.get(stem(p));
    return { name: p, id: stem(p), load: () => readImageAsync(p), ...(item ? { item } : {}) };
  });
  if (!jobs.length && ds) jobs = ds.items.map((it) => ({ name: it.imagePath, id: it.id, load: async () => it.image ?? readImageAsync(it.imagePath), item: it }));
  if (limit) jobs = jobs.slice(0, limit);

  return withEngine(values.software, async (engine) => {
    const p = await loadPredictorFile(engine, modelPath, values.decode ? { decode: values.decode as 'argmax' | 'blob' } : {});
    try {
      if (ds) checkK(p.ck, ds.k, values.data!);
      const k = p.ck.model.classes;
      const size = p.ck.train.size;
      const report: PredictReport = { model: resolve(modelPath), size, k, landmarkNames: p.ck.train.landmarkNames ?? null, outsidePoints: 0, images: [], skipped: [] };
      const used = new Set<string>();
      for (const job of jobs) {
        let image: GreyImage;
        try {
          image = await job.load();
        } catch (e) {
          if (!(e instanceof DataError) || values.strict) throw e;
          report.skipped.push({ image: job.name, error: e.message });
          log(`skipped: ${e.message}`);
          continue;
        }
        const r = await p.trainer.predict([image], 1);
        const pts = r.points[0]!;
        let name = job.id.replace(/[^A-Za-z0-9._-]/g, '_') || 'image';
        for (let n = 2; used.has(name); n++) name = `${job.id}-${n}`;
        used.add(name);
        const overlay = inOut(`${name}.overlay.png`);
        const montage = inOut(`${name}.heatmaps.png`);
        const truth: Point[] | undefined = job.item?.points;
        const names = p.ck.train.landmarkNames;
        // shown through the file's display window (DICOM VOI), as a viewer shows it
        const drawn = writeOverlayPng(overlay, windowed(image), pts, truth, { title: job.id });
        writeHeatmapMontagePng(montage, r.heatmaps[0]!, k, size, size, names ? { names } : {});
        const rec: PredictionRecord = {
          image: job.name, id: job.id, width: image.width, height: image.height, points: roundPoints(pts),
          confidence: r.confidence[0]!.map((c) => round(c, 4)), outside: drawn.outside.map((i) => i + 1), overlay, heatmaps: montage,
        };
        if (image.spacing) {
          rec.spacing = image.spacing;
          rec.pointsMm = roundPoints(pts.map(([x, y]) => [x * image.spacing!.x, y * image.spacing!.y] as Point));
        }
        if (image.notes?.length) { rec.notes = image.notes; for (const n of image.notes) log(`${job.name}: ${n}`); }
        report.outsidePoints += drawn.outside.length;
        if (drawn.outside.length) log(`${job.name}: ${drawn.outside.length} predicted point(s) outside the image (landmarks ${rec.outside.join(', ')})`);
        if (truth) {
          // the labels' spacing, else the image file's own
          const mm = job.item?.mmPerPixel ?? (image.spacing ? mmPerPixelOf(image.spacing) : undefined);
          // the file's spacing per axis (an anisotropic PixelSpacing is not one number)
          const sp = image.spacing;
          const perAxis = sp && sp.x !== sp.y && mm === mmPerPixelOf(sp);
          const errs = perAxis ? pts.map((p, i) => Math.hypot((p[0] - truth[i]![0]) * sp.x, (p[1] - truth[i]![1]) * sp.y)) : radialErrors(pts, truth, mm);
          rec.truth = roundPoints(truth);
          rec.errors = errs.map((e) => round(e, 3));
          rec.mre = round(errs.reduce((a, b) => a + b, 0) / errs.length, 3);
          rec.unit = mm !== undefined ? 'mm' : 'px';
        }
        report.images.push(rec); writeJsonAtomicSync(join(out, 'predictions.json'), report); // as it goes: a crash at image 149 of 150 keeps 148
        log(`${job.name}: ${k} landmarks${rec.mre !== undefined ? `, MRE ${rec.mre} ${rec.unit}` : ''} → ${overlay}`);
      }
      if (!report.images.length) throw new DataError(jobs[0]?.name ?? 'input', undefined, `no image could be read (${report.skipped.length} skipped)`);
      await writeFileAtomic(join(out, 'predictions.json'), new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
      log(`wrote ${join(out, 'predictions.json')}`);
      console.log(JSON.stringify(report));
      return report;
    } finally {
      p.dispose();
    }
  });
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'predict landmarks on images with a checkpoint: JSON points, overlay PNGs (error vectors with --data), heatmap montages',
  usage: 'osteo predict IMAGE... --model CKPT [--out runs/predict] [--data SPEC (ground truth)] [--decode argmax|blob] [--strict] [--limit N] [--software]\nosteo predict --model CKPT --data SPEC [options]',
  options: PREDICT_OPTIONS,
  sections: [DATA_SPEC_SECTION],
  examples: [
    { command: 'osteo predict xray1.png xray2.jpg --model runs/isbi/checkpoint-best.safetensors --out runs/pred', what: 'landmarks of two X-rays as JSON, with an overlay and a heatmap montage for each' },
    { command: 'osteo predict scan.dcm --model runs/isbi/checkpoint-best.safetensors', what: "a DICOM X-ray: points in pixels and, from the file's PixelSpacing, in mm (pointsMm)" },
    { command: "osteo predict --model runs/try/checkpoint-best.safetensors --data 'synthetic:hand?n=4' --limit 2", what: 'predict the first 2 images of a data set, overlays with the true points and error vectors' },
  ],
  async run(argv) {
    await predictMain(argv);
    return 0;
  },
};

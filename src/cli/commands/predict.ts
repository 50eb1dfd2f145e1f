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
import { mkdirBounded } from '../../node/out_dir';
import { statSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { DataError, mmPerPixelOf, type GreyImage, type LandmarkItem, type PixelSpacing, type Point } from '../../data/types';
import { radialErrors } from '../../landmarks/metrics';
import { windowed } from '../../data/window';
import { readImageAsync } from '../../node/data_image';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../../node/data_png';
import { listImageFiles, readDataset } from '../../node/data_readers';
import { encodePicture, pictureEncoder, PICTURE_EXT, type PictureFormat } from '../../node/image_encode';
import { drawOverlay, heatmapMontage } from '../../landmarks/draw';
import { serializePoints, type PointsDocument, type PointsImage } from '../../data/points_format';
import { writeFileAtomic } from '../../node/weights_io';
import { DEFAULT_CEPH_MODEL, findShippedCephModel } from '../shipped_model';
import { UsageError, type Command } from '../command';
import { DATA_SPEC_SECTION } from '../help';
import { checks, defineOptions, parseOptions, requireExisting, SOFTWARE_OPTION } from '../options';
import { checkK } from '../../train/evaluate';
import { duration, round, roundPoints } from '../../train/format';
import { withEngine } from '../engine';
import { loadPredictorFile } from '../predictor';
import { log } from '../progress';

export interface PredictionRecord {
  image: string;
  id: string;
  width: number;
  height: number;
  points: [number, number][];
  /** The image file's pixel spacing (DICOM PixelSpacing / ImagerPixelSpacing, MetaImage ElementSpacing), when it states one. */
  spacing?: PixelSpacing;
  /** With a spacing: the points in mm from the top-left pixel centre. */
  pointsMm?: [number, number][];
  /** What the decoder noted (multi-frame, calibration of the spacing). */
  notes?: string[];
  confidence: number[];
  /** 1-based numbers of the landmarks predicted outside the image (drawn clamped to its border, in magenta). */
  outside: number[];
  /** The overlay picture (absent with --overlays none). */
  overlay?: string;
  /** The heatmap montage (absent with --heatmaps none). */
  heatmaps?: string;
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
  /** The osteo points file of this run (docs/points-format.md). */
  points: string;
  images: PredictionRecord[];
  skipped: { image: string; error: string }[];
  /** Seconds spent per phase over the run, and per image on average. */
  timing: PredictTiming;
}

export const PREDICT_PHASES = ['decode', 'model', 'draw', 'encode', 'write'] as const;
export type PredictPhase = (typeof PREDICT_PHASES)[number];
export interface PredictTiming {
  /** Total seconds per phase: decode (read + decode the file), model (resize, network, points), draw (overlay + montage pixels), encode (PNG / JPEG), write (files, JSON). */
  seconds: Record<PredictPhase, number>;
  /** The same per predicted image. */
  perImage: Record<PredictPhase, number>;
  overlays: PictureFormat | 'none';
  heatmaps: PictureFormat | 'none';
  /** Which encoder made the pictures: libvips through sharp, or the pure-JS pngjs / jpeg-js. */
  encoder: 'sharp' | 'js';
}

/** Above this many images the heatmap montages are off unless asked for (they are for inspecting one image). */
export const MONTAGE_MAX_DEFAULT = 10;

const stem = (p: string): string => basename(p, extname(p));

const PREDICT_OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', defaultText: `${DEFAULT_CEPH_MODEL} when present`, description: 'osteo checkpoint to predict with (e.g. runs/train/checkpoint-best.safetensors; a two-stage file refines every point)', check: checks.exists('file') },
  out: { type: 'string', value: 'DIR', default: 'runs/predict', description: 'output folder: points.json (osteo points format), predictions.json (report), NAME.overlay.jpg and NAME.heatmaps.jpg per image', check: checks.writableDir() },
  overlays: { type: 'string', value: 'none|png|jpeg', default: 'jpeg', description: 'overlay picture per image: JPEG (about a tenth of a PNG: 0.4 MB for an ISBI X-ray, 4.6 MB as PNG), lossless PNG, or none (fastest)', check: checks.oneOf(['none', 'png', 'jpeg']) },
  heatmaps: { type: 'string', value: 'none|png|jpeg', defaultText: `the --overlays format up to ${MONTAGE_MAX_DEFAULT} images, none above`, description: 'heatmap montage per image (every landmark\'s heatmap, labelled)', check: checks.oneOf(['none', 'png', 'jpeg']) },
  quiet: { type: 'boolean', description: 'no progress lines on stderr (the JSON report still goes to stdout)' },
  data: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'ground truth for the images (matched by path or file name; overlays then show error vectors); without IMAGE arguments, predict every image of the set', check: checks.dataSpec() },
  decode: { type: 'string', value: 'argmax|blob', defaultText: "the checkpoint's, else argmax", description: 'heatmap → point: the peak with sub-pixel refinement, or the centroid of the blob around it', check: checks.oneOf(['argmax', 'blob']) },
  strict: { type: 'boolean', description: 'stop at the first unreadable image instead of skipping and reporting it' },
  limit: { type: 'string', value: 'N', defaultText: 'every image', description: 'predict at most the first N images', check: checks.int(1) },
  software: SOFTWARE_OPTION,
});

/** Where the points file refers to an image: relative to the points file's folder, or the name as given when it is no file. */
function imageRef(out: string, name: string, isFile: boolean): string {
  if (!isFile) return name;
  const rel = relative(out, resolve(name));
  return (isAbsolute(rel) ? rel : rel.split(sep).join('/')) || name;
}

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
  type Job = { name: string; id: string; isFile: boolean; load: () => Promise<GreyImage>; item?: LandmarkItem };
  let jobs: Job[] = files.map((p) => {
    const item = byPath.get(resolve(p)) ?? byId.get(stem(p));
    return { name: p, id: stem(p), isFile: true, load: () => readImageAsync(p), ...(item ? { item } : {}) };
  });
  if (!jobs.length && ds) jobs = ds.items.map((it) => ({ name: it.imagePath, id: it.id, isFile: !it.image, load: async () => it.image ?? readImageAsync(it.imagePath), item: it }));
  if (limit) jobs = jobs.slice(0, limit);
  const overlays = values.overlays as PictureFormat | 'none';
  const heatmaps = (values.heatmaps ?? (jobs.length > MONTAGE_MAX_DEFAULT ? 'none' : overlays)) as PictureFormat | 'none';
  if (values.heatmaps === undefined && heatmaps === 'none' && overlays !== 'none') say(`heatmap montages off for ${jobs.length} images (more than ${MONTAGE_MAX_DEFAULT}); --heatmaps jpeg writes them`);

  return withEngine(values.software, async (engine) => {
    const p = await loadPredictorFile(engine, modelPath, values.decode ? { decode: values.decode as 'argmax' | 'blob' } : {});
    try {
      if (ds) checkK(p.ck, ds.k, values.data!);
      const k = p.ck.model.classes;
      const size = p.ck.train.size;
      const names = p.ck.train.landmarkNames;
      const seconds = Object.fromEntries(PREDICT_PHASES.map((ph) => [ph, 0])) as Record<PredictPhase, number>;
      const timing: PredictTiming = { seconds, perImage: { ...seconds }, overlays, heatmaps, encoder: pictureEncoder() };
      const pointsPath = join(out, 'points.json');
      const report: PredictReport = { model: resolve(modelPath), size, k, landmarkNames: names ?? null, outsidePoints: 0, points: pointsPath, images: [], skipped: [], timing };
      const points: PointsDocument = { format: 'osteo-points', version: 1, model: basename(modelPath), ...(names ? { landmarks: names } : {}), images: [] };
      /** Runs `f`, adding its time to the phase. */
      const timed = async <T>(phase: PredictPhase, f: () => T | Promise<T>): Promise<T> => {
        const t0 = performance.now();
        try { return await f(); } finally { seconds[phase] += (performance.now() - t0) / 1000; }
      };
      const used = new Set<string>();
      const started = performance.now();
      for (const [i, job] of jobs.entries()) {
        let image: GreyImage;
        try {
          image = await timed('decode', job.load);
        } catch (e) {
          if (!(e instanceof DataError) || values.strict) throw e;
          report.skipped.push({ image: job.name, error: e.message });
          say(`skipped: ${e.message}`);
          continue;
        }
        const r = await timed('model', () => p.trainer.predict([image], 1));
        const pts = r.points[0]!;
        let name = job.id.replace(/[^A-Za-z0-9._-]/g, '_') || 'image';
        for (let n = 2; used.has(name); n++) name = `${job.id}-${n}`;
        used.add(name);
        const truth: Point[] | undefined = job.item?.points;
        // shown through the file's display window (DICOM VOI), as a viewer shows it
        const drawn = await timed('draw', () => drawOverlay(windowed(image), pts, truth, { title: job.id }));
        const rec: PredictionRecord = {
          image: job.name, id: job.id, width: image.width, height: image.height, points: roundPoints(pts),
          confidence: r.confidence[0]!.map((c) => round(c, 4)), outside: drawn.outside.map((i) => i + 1),
        };
        if (overlays !== 'none') {
          const bytes = await timed('encode', () => encodePicture(drawn, overlays));
          rec.overlay = inOut(`${name}.overlay.${PICTURE_EXT[overlays]}`);
          await timed('write', () => writeFileAtomicSync(rec.overlay!, bytes));
        }
        if (heatmaps !== 'none') {
          const montage = await timed('draw', () => heatmapMontage(r.heatmaps[0]!, k, size, size, names ? { names } : {}));
          const bytes = await timed('encode', () => encodePicture(montage, heatmaps));
          rec.heatmaps = inOut(`${name}.heatmaps.${PICTURE_EXT[heatmaps]}`);
          await timed('write', () => writeFileAtomicSync(rec.heatmaps!, bytes));
        }
        if (image.spacing) {
          rec.spacing = image.spacing;
          rec.pointsMm = roundPoints(pts.map(([x, y]) => [x * image.spacing!.x, y * image.spacing!.y] as Point));
        }
        if (image.notes?.length) { rec.notes = image.notes; for (const n of image.notes) say(`${job.name}: ${n}`); }
        report.outsidePoints += drawn.outside.length;
        if (drawn.outside.length) say(`${job.name}: ${drawn.outside.length} predicted point(s) outside the image (landmarks ${rec.outside.join(', ')})`);
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
        const mm = image.spacing ? mmPerPixelOf(image.spacing) : job.item?.mmPerPixel;
        const entry: PointsImage = {
          image: imageRef(out, job.name, job.isFile), width: image.width, height: image.height, ...(mm !== undefined ? { mmPerPixel: mm } : {}),
          points: pts.map(([x, y], j) => ({ x, y, confidence: r.confidence[0]![j]!, ...(drawn.outside.includes(j) ? { flags: ['implausible'] } : {}) })),
          ...(drawn.outside.length ? { warnings: [`${drawn.outside.length} point(s) predicted outside the image`] } : {}),
        };
        points.images.push(entry);
        report.images.push(rec);
        // as it goes: a crash at image 149 of 150 keeps 148
        await timed('write', () => {
          writeJsonAtomicSync(inOut('predictions.json'), report);
          writeFileAtomicSync(pointsPath, serializePoints(points));
        });
        const done = i + 1;
        const elapsed = (performance.now() - started) / 1000;
        const eta = jobs.length > 1 ? ` | ${done}/${jobs.length}, ETA ${duration((elapsed / done) * (jobs.length - done))}` : '';
        say(`${job.name}: ${k} landmarks${rec.mre !== undefined ? `, MRE ${rec.mre} ${rec.unit}` : ''}${rec.overlay ? ` → ${rec.overlay}` : ''}${eta}`);
      }
      if (!report.images.length) throw new DataError(jobs[0]?.name ?? 'input', undefined, `no image could be read (${report.skipped.length} skipped)`);
      for (const ph of PREDICT_PHASES) {
        seconds[ph] = round(seconds[ph], 3);
        timing.perImage[ph] = round(seconds[ph] / report.images.length, 3);
      }
      await writeFileAtomic(join(out, 'predictions.json'), new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
      say(`wrote ${pointsPath} (osteo points: osteo train --data points:${pointsPath}) and ${join(out, 'predictions.json')}`);
      say(`per image: ${PREDICT_PHASES.map((ph) => `${ph} ${timing.perImage[ph]} s`).join(', ')}`);
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
  usage: 'osteo predict IMAGE|FOLDER... --model CKPT [--out runs/predict] [--overlays none|png|jpeg] [--heatmaps none|png|jpeg] [--data SPEC (ground truth)] [--decode argmax|blob] [--strict] [--limit N] [--quiet] [--software]\nosteo predict --model CKPT --data SPEC [options]',
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

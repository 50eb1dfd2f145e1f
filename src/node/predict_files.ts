/**
 * The per-image work of `osteo predict` (Node): decode each image, predict its points, draw and
 * encode the overlay and heatmap montage (PNG, JPEG or none), and write predictions.json and the
 * osteo points file points.json (docs/points-format.md) after every image, so that a run that dies
 * keeps what was done. The time of each phase (decode, model, draw, encode, write) is added up in
 * the report's `timing`. The CLI (src/cli/commands/predict.ts) parses flags and finds the images;
 * bench/predict_breakdown.ts calls this directly.
 */
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { serializePoints, type PointsDocument, type PointsImage } from '../data/points_format';
import { DataError, mmPerPixelOf, type GreyImage, type LandmarkItem, type PixelSpacing, type Point } from '../data/types';
import { windowed } from '../data/window';
import { drawOverlay, heatmapMontage } from '../landmarks/draw';
import { radialErrors } from '../landmarks/metrics';
import type { Predictor } from '../train/evaluate';
import { duration, round, roundPoints } from '../train/format';
import { writeFileAtomicSync, writeJsonAtomicSync } from './data_png';
import { encodePicture, pictureEncoder, PICTURE_EXT, type PictureFormat } from './image_encode';
import { mkdirBounded } from './out_dir';
import { writeFileAtomic } from './weights_io';
import { isWarningFlag, type GuardTally } from '../train/guards';

export interface PredictionRecord {
  image: string;
  id: string;
  width: number;
  height: number;
  points: [number, number][];
  /**
   * The image file's pixel spacing (DICOM PixelSpacing / ImagerPixelSpacing, MetaImage ElementSpacing), when it
   * states one.
   */
  spacing?: PixelSpacing;
  /** With a spacing: the points in mm from the top-left pixel centre. */
  pointsMm?: [number, number][];
  /** What the decoder noted (multi-frame, calibration of the spacing). */
  notes?: string[];
  confidence: number[];
  /** Guards (docs/guards.md): the orientation the points were found in ("identity": as given). */
  orientation?: string;
  /** Guards: per landmark, the calibrated expected error in the image's pixels (and mm with a spacing). */
  expectedError?: number[];
  expectedErrorMm?: number[];
  /** Guards: per landmark, its flags (low-confidence, implausible, redecoded, orientation-unsure). */
  flags?: string[][];
  /** Guards: what the user should know about this image. */
  warnings?: string[];
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
  /** What the guards did over all images (absent with --no-guards or an uncalibrated model). */
  guards?: GuardTally;
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
  /**
   * Total seconds per phase: decode (read + decode the file), model (resize, network, points), draw (overlay +
   * montage pixels), encode (PNG / JPEG), write (files, JSON).
   */
  seconds: Record<PredictPhase, number>;
  /** The same per predicted image. */
  perImage: Record<PredictPhase, number>;
  /**
   * CPU seconds of this process (every thread: SwiftShader's, libvips') per phase and predicted
   * image: what the phase costs whatever else the machine runs, where wall time includes waiting.
   */
  cpuPerImage: Record<PredictPhase, number>;
  overlays: PictureFormat | 'none';
  heatmaps: PictureFormat | 'none';
  /** Which encoder made the pictures: libvips through sharp, or the pure-JS pngjs / jpeg-js. */
  encoder: 'sharp' | 'js';
}

/** Above this many images the heatmap montages are off unless asked for (they are for inspecting one image). */
export const MONTAGE_MAX_DEFAULT = 10;

/** One image to predict: its name (a path, or a data set's pseudo path), how to load it, and its ground truth. */
export interface PredictJob {
  name: string;
  id: string;
  /** Whether `name` is a file (the points file then refers to it by a relative path). */
  isFile: boolean;
  load: () => Promise<GreyImage>;
  item?: LandmarkItem;
}

export interface PredictJobsOptions {
  /** Output folder (made when the first file is written). */
  out: string;
  /** The checkpoint's path, for the report and the points file. */
  modelPath: string;
  overlays: PictureFormat | 'none';
  heatmaps: PictureFormat | 'none';
  /** Stop at the first unreadable image instead of skipping it. */
  strict?: boolean;
  /** Progress lines (none when absent). */
  log?: (line: string) => void;
}

/**
 * Where the points file refers to an image: relative to the points file's folder, or the name as given when it is no
 * file.
 */
function imageRef(out: string, name: string, isFile: boolean): string {
  if (!isFile) return name;
  const rel = relative(out, resolve(name));
  return (isAbsolute(rel) ? rel : rel.split(sep).join('/')) || name;
}

/** Predicts every job in order; see the module comment. Throws a DataError when no image could be read. */
export async function predictJobs(p: Predictor, jobs: PredictJob[], opts: PredictJobsOptions): Promise<PredictReport> {
  const { out, modelPath, overlays, heatmaps } = opts;
  const say = opts.log ?? (() => undefined);
  let outMade = false;
  const inOut = (file: string): string => {
    if (!outMade) mkdirBounded(out);
    outMade = true;
    return join(out, file);
  };
  const k = p.ck.model.classes;
  const size = p.ck.train.size;
  const names = p.ck.train.landmarkNames;
  const seconds = Object.fromEntries(PREDICT_PHASES.map((ph) => [ph, 0])) as Record<PredictPhase, number>;
  const cpu = { ...seconds };
  const timing: PredictTiming = { seconds, perImage: { ...seconds }, cpuPerImage: { ...seconds }, overlays, heatmaps, encoder: pictureEncoder() };
  const pointsPath = join(out, 'points.json');
  const report: PredictReport = { model: resolve(modelPath), size, k, landmarkNames: names ?? null, outsidePoints: 0, points: pointsPath, images: [], skipped: [], timing };
  const points: PointsDocument = { format: 'osteo-points', version: 1, model: basename(modelPath), ...(names ? { landmarks: names } : {}), images: [] };
  /** Runs `f`, adding its time to the phase. */
  const timed = async <T>(phase: PredictPhase, f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try { return await f(); } finally {
      seconds[phase] += (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      cpu[phase] += (c.user + c.system) / 1e6;
    }
  };
  const used = new Set<string>();
  const started = performance.now();
  for (const [i, job] of jobs.entries()) {
    let image: GreyImage;
    try {
      image = await timed('decode', job.load);
    } catch (e) {
      if (!(e instanceof DataError) || opts.strict) throw e;
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
    const g = r.guarded?.[0];
    if (g) {
      rec.orientation = g.orientation;
      if (g.expectedError) {
        rec.expectedError = g.expectedError.map((e) => round(e, 2));
        if (image.spacing) rec.expectedErrorMm = g.expectedError.map((e) => round(e * Math.sqrt(image.spacing!.x * image.spacing!.y), 3));
      }
      rec.flags = g.flags;
      if (g.warnings.length) rec.warnings = g.warnings;
      for (const w of g.warnings) say(`${job.name}: ${w}`);
      const flagged = g.flags.map((f, j) => (f.some(isWarningFlag) ? `${names?.[j] ?? j + 1} (${f.filter(isWarningFlag).join(', ')})` : '')).filter(Boolean);
      if (flagged.length) say(`${job.name}: ${flagged.length} flagged point(s): ${flagged.join('; ')}`);
    }
    if (p.guard) report.guards = { ...p.guard.tally };
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
      points: pts.map(([x, y], j) => {
        // the guards' flags, and 'implausible' for a point outside the image
        const flags = [...new Set([...(g?.flags[j] ?? []), ...(drawn.outside.includes(j) ? ['implausible'] : [])])];
        return { x, y, confidence: r.confidence[0]![j]!, ...(g?.expectedError ? { expectedError: g.expectedError[j]! * (mm ?? 1) } : {}), ...(flags.length ? { flags } : {}) };
      }),
      ...(drawn.outside.length || g?.warnings.length ? { warnings: [...(g?.warnings ?? []), ...(drawn.outside.length ? [`${drawn.outside.length} point(s) predicted outside the image`] : [])] } : {}),
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
    timing.cpuPerImage[ph] = round(cpu[ph] / report.images.length, 3);
  }
  await writeFileAtomic(join(out, 'predictions.json'), new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
  say(`wrote ${pointsPath} (osteo points: osteo train --data points:${pointsPath}) and ${join(out, 'predictions.json')}`);
  say(`per image: ${PREDICT_PHASES.map((ph) => `${ph} ${timing.perImage[ph]} s`).join(', ')}`);
  return report;
}

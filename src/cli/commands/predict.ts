/**
 * `osteo predict IMAGE... --model CKPT [--out DIR] [--data SPEC]`: landmarks for each image as
 * JSON (stdout and OUT/predictions.json), an overlay PNG per image (predictions as red crosses;
 * with ground truth from --data, true points in green and yellow error vectors) and a heatmap
 * montage PNG per image. Without IMAGE arguments, every image of --data is predicted.
 */
import { mkdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DataError, type GreyImage, type LandmarkItem, type Point } from '../../data/types';
import { radialErrors } from '../../landmarks/metrics';
import { readImage } from '../../node/data_image';
import { writeHeatmapMontagePng, writeOverlayPng } from '../../node/data_png';
import { loadItemImage, readDataset } from '../../node/data_readers';
import { writeFileAtomic } from '../../node/weights_io';
import { UsageError, type Command } from '../command';
import { checkK, loadPredictor } from './eval';
import { log, round, roundPoints, withEngine } from './train';

export interface PredictionRecord {
  image: string;
  id: string;
  width: number;
  height: number;
  points: [number, number][];
  confidence: number[];
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
  images: PredictionRecord[];
  skipped: { image: string; error: string }[];
}

const stem = (p: string): string => basename(p, extname(p));

export async function predictMain(argv: string[]): Promise<PredictReport> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      out: { type: 'string', default: 'runs/predict' },
      data: { type: 'string' },
      decode: { type: 'string' },
      strict: { type: 'boolean' },
      limit: { type: 'string' },
      software: { type: 'boolean' },
    },
  });
  if (!values.model) throw new UsageError('--model CKPT is required');
  if (!positionals.length && !values.data) throw new UsageError('give one or more IMAGE files (or --data SPEC to predict a data set)');
  if (values.decode && !['argmax', 'blob'].includes(values.decode)) throw new UsageError(`--decode must be argmax or blob, got ${values.decode}`);
  const limit = values.limit !== undefined ? Number(values.limit) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit must be a positive integer, got ${values.limit}`);
  const out = resolve(values.out!);
  mkdirSync(out, { recursive: true });

  // Ground truth: items of --data matched to the images by path or by id (file name without extension).
  const ds = values.data ? readDataset(values.data, { ...(values.strict ? { strict: true } : {}) }) : undefined;
  const byPath = new Map<string, LandmarkItem>();
  const byId = new Map<string, LandmarkItem>();
  for (const it of ds?.items ?? []) {
    byPath.set(resolve(it.imagePath), it);
    byId.set(it.id, it);
    byId.set(stem(it.imagePath), it);
  }
  type Job = { name: string; id: string; load: () => GreyImage; item?: LandmarkItem };
  let jobs: Job[] = positionals.map((p) => {
    const item = byPath.get(resolve(p)) ?? byId.get(stem(p));
    return { name: p, id: stem(p), load: () => readImage(p), ...(item ? { item } : {}) };
  });
  if (!jobs.length && ds) jobs = ds.items.map((it) => ({ name: it.imagePath, id: it.id, load: () => loadItemImage(it), item: it }));
  if (limit) jobs = jobs.slice(0, limit);

  return withEngine(values.software, async (engine) => {
    const p = await loadPredictor(engine, values.model!, values.decode ? { decode: values.decode as 'argmax' | 'blob' } : {});
    try {
      if (ds) checkK(p.ck, ds.k, values.data!);
      const k = p.ck.model.classes;
      const size = p.ck.train.size;
      const report: PredictReport = { model: resolve(values.model!), size, k, landmarkNames: p.ck.train.landmarkNames ?? null, images: [], skipped: [] };
      const used = new Set<string>();
      for (const job of jobs) {
        let image: GreyImage;
        try {
          image = job.load();
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
        const overlay = join(out, `${name}.overlay.png`);
        const montage = join(out, `${name}.heatmaps.png`);
        const truth: Point[] | undefined = job.item?.points;
        writeOverlayPng(overlay, image, pts, truth);
        writeHeatmapMontagePng(montage, r.heatmaps[0]!, k, size, size);
        const rec: PredictionRecord = {
          image: job.name, id: job.id, width: image.width, height: image.height, points: roundPoints(pts),
          confidence: r.confidence[0]!.map((c) => round(c, 4)), overlay, heatmaps: montage,
        };
        if (truth) {
          const mm = job.item?.mmPerPixel;
          const errs = radialErrors(pts, truth, mm);
          rec.truth = roundPoints(truth);
          rec.errors = errs.map((e) => round(e, 3));
          rec.mre = round(errs.reduce((a, b) => a + b, 0) / errs.length, 3);
          rec.unit = mm !== undefined ? 'mm' : 'px';
        }
        report.images.push(rec);
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
  usage: 'osteo predict IMAGE... --model CKPT [--out runs/predict] [--data SPEC (ground truth)] [--decode argmax|blob] [--strict] [--limit N] [--software]',
  async run(argv) {
    await predictMain(argv);
    return 0;
  },
};

/**
 * Operational metrics of a model on this engine (host-neutral): what one image costs from its file
 * to its points, and how many images per second the device sustains.
 *   - first image: decode + preprocessing + forward (shader compilation included) + decoding the
 *     heatmaps to points, reported apart;
 *   - latency at batch 1 over `runs` further images: p50, p95, mean, and the decode share;
 *   - throughput at batch sizes 1, 2, 4, … (decoded images; each batch size warmed up once), best;
 *   - peak GPU memory held by osteo's buffer pool (model, activations, staging), at batch 1 and at
 *     the best batch size.
 * The clock and the image loader are injected: the host decodes its files (Node: read + decode).
 */
import type { GreyImage } from '../data/types';
import type { AdapterSummary, Engine } from '../gpu/engine';
import type { LandmarkTrainer } from '../train/trainer';
import { mean, quantile } from '../util/stats';

export interface OperationalOptions {
  /** Images available to `load`. */
  count: number;
  /** The i-th image as the host gets it from storage (decode included). */
  load: (i: number) => GreyImage | Promise<GreyImage>;
  /** Timed single images after the first (default 20). */
  runs?: number;
  /** Largest batch size tried for throughput (default 8 on a software adapter, 32 on a GPU). */
  maxBatch?: number;
  /** Timed batches per batch size (default 3). */
  batchReps?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export interface OperationalReport {
  adapter: { vendor: string; architecture: string; description: string; source: string };
  fallback: boolean;
  /** First image: decode, then the rest (preprocess, compile + forward, postprocess). */
  first: { totalMs: number; decodeMs: number };
  latency: { batch: 1; runs: number; p50Ms: number; p95Ms: number; meanMs: number; minMs: number; maxMs: number; decodeMeanMs: number; includes: string };
  throughput: { bestBatch: number; imagesPerSecond: number; perBatch: { batch: number; imagesPerSecond: number }[]; includes: string };
  memory: { peakBytesBatch1: number; peakBytesBest: number; what: string };
}

const adapterJson = (a: AdapterSummary) => ({ vendor: a.vendor, architecture: a.architecture, description: a.description, source: a.source });

/** Times `trainer`'s model on images from `o.load`. */
export async function measureOperational(engine: Engine, trainer: LandmarkTrainer, o: OperationalOptions): Promise<OperationalReport> {
  const now = o.now ?? (() => performance.now());
  const log = o.log ?? (() => undefined);
  if (o.count < 1) throw new RangeError('measureOperational: no images');
  const runs = o.runs ?? 20;
  engine.pool.resetPeak();

  const one = async (i: number): Promise<{ total: number; decode: number; image: GreyImage }> => {
    const t0 = now();
    const image = await o.load(i % o.count);
    const t1 = now();
    await trainer.predict([image], 1, 0);
    return { total: now() - t0, decode: t1 - t0, image };
  };
  const first = await one(0);
  log(`first image: ${first.total.toFixed(1)} ms (decode ${first.decode.toFixed(1)} ms; shader compilation included)`);
  const totals: number[] = [], decodes: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = await one(r + 1);
    totals.push(t.total);
    decodes.push(t.decode);
  }
  const peakBytesBatch1 = engine.memory().peakBytes;
  log(`latency at batch 1 over ${runs} images: p50 ${quantile(totals, 0.5).toFixed(1)} ms, p95 ${quantile(totals, 0.95).toFixed(1)} ms`);

  // Throughput on decoded images (decode runs on the CPU and overlaps the GPU in a pipeline).
  const maxBatch = o.maxBatch ?? (engine.adapter.fallback ? 8 : 32);
  const reps = o.batchReps ?? 3;
  const pool: GreyImage[] = [];
  for (let i = 0; i < Math.min(maxBatch, o.count); i++) pool.push(await o.load(i));
  const perBatch: { batch: number; imagesPerSecond: number; peak: number }[] = [];
  for (let b = 1; b <= maxBatch; b *= 2) {
    const batch = Array.from({ length: b }, (_, i) => pool[i % pool.length]!);
    engine.pool.resetPeak();
    await trainer.predict(batch, b, 0); // compiles this batch size's pipelines
    const t0 = now();
    for (let r = 0; r < reps; r++) await trainer.predict(batch, b, 0);
    const ips = (b * reps) / ((now() - t0) / 1000);
    perBatch.push({ batch: b, imagesPerSecond: ips, peak: engine.memory().peakBytes });
    log(`throughput at batch ${b}: ${ips.toFixed(2)} images/s`);
  }
  const best = perBatch.reduce((a, x) => (x.imagesPerSecond > a.imagesPerSecond ? x : a));
  return {
    adapter: adapterJson(engine.adapter),
    fallback: engine.adapter.fallback,
    first: { totalMs: first.total, decodeMs: first.decode },
    latency: {
      batch: 1, runs, p50Ms: quantile(totals, 0.5), p95Ms: quantile(totals, 0.95), meanMs: mean(totals), minMs: Math.min(...totals), maxMs: Math.max(...totals), decodeMeanMs: mean(decodes),
      includes: 'image decode from storage, preprocessing (resize, normalise), upload, forward pass, readback, heatmap decoding to points in the image\'s pixels',
    },
    throughput: {
      bestBatch: best.batch, imagesPerSecond: best.imagesPerSecond, perBatch: perBatch.map(({ batch, imagesPerSecond }) => ({ batch, imagesPerSecond })),
      includes: 'decoded images: preprocessing, forward pass, readback and heatmap decoding (not the file decode)',
    },
    memory: { peakBytesBatch1, peakBytesBest: best.peak, what: "peak bytes held by osteo's GPU buffer pool (weights, activations, staging)" },
  };
}

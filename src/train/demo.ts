/**
 * The main job (`osteo demo`, `npm start`), host-neutral: fine-tune U-Net++/VGG19 on built-in
 * synthetic hand X-rays, evaluate it beside the untrained network and the mean-shape baseline, and
 * hand back what the host draws and writes. The work is fixed (images, epochs, seeds), never a time
 * budget, so every machine reaches the same result; only how long it takes differs.
 */
import { synthesize } from '../data/synthetic';
import type { Point } from '../data/types';
import type { Engine } from '../gpu/engine';
import { meanShape, meanShapePrediction } from '../landmarks/baseline';
import { outsidePoints } from '../landmarks/draw';
import { evaluate, type Evaluation } from '../landmarks/metrics';
import { evaluationJson, statsJson, type EvaluationJson, type StatsJson } from '../landmarks/report_json';
import { initializeUnetPP } from '../model/init';
import { UnetPlusPlus } from '../model/unetpp';
import { CosineAnnealingLR } from '../nn/schedule';
import type { LoadedWeights } from '../weights/types';
import { round } from './format';
import { loadImagenetEncoder } from './init';
import { LandmarkTrainer, type LandmarkSet, type LossName } from './trainer';

/** What the main job runs on one kind of adapter. */
export interface DemoProfile {
  /** Model input side. */
  size: number;
  /** VGG19 conv widths (undefined: the full network). */
  widths?: number[];
  decoderChannels?: number[];
  train: number;
  val: number;
  batch: number;
  lr: number;
  /** Gaussian heatmap σ in model pixels. */
  sigma: number;
  epochs: number;
  loss?: LossName;
  /** Cosine decay of the learning rate over the epochs, down to lr/10 (else constant). */
  cosine?: boolean;
  /** Pose variation of the synthetic hands (see SynthOptions; default there). */
  pose?: { rotationDeg?: number; scaleRange?: [number, number]; shift?: number };
}

/**
 * The CPU fallback (SwiftShader, 2 cores): VGG19 at 1/8 width from scratch. The full network is
 * ~40 M parameters, far too slow there; at 1/8 width one epoch of 64 images at 64² takes tens of
 * seconds, and small batches matter more than throughput: on 2 cores the number of updates limits
 * what is learnt. Chosen by runs on this machine (bench/results/demo-recipe.json, validation MRE
 * against an 8.2 mm mean-shape baseline): MSE heatmaps (σ 4) were at 38.7 mm after 2 epochs;
 * the per-pixel softmax cross-entropy over the landmark channels (σ 2) at 22.6 (not a spatial
 * softmax: see `softmaxCrossEntropy` in src/kernels/loss.ts); and with the last decoder blocks 16 channels
 * wide instead of 8 (8 channels must separate 37 landmark maps at full resolution) 6.2 mm after
 * 2 epochs and 3.5 after 8. A cosine decay keeps the late epochs from undoing the early ones.
 */
export const CPU_DEMO: DemoProfile = {
  size: 64,
  widths: [8, 8, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 64, 64, 64, 64],
  decoderChannels: [32, 16, 16, 16, 16],
  train: 64,
  val: 16,
  batch: 2,
  lr: 2e-3,
  cosine: true,
  loss: 'softmax_ce',
  sigma: 2,
  epochs: 10,
};

/** A GPU: the full network at 256², from ImageNet weights when the host finds them. */
export const GPU_DEMO: DemoProfile = { size: 256, train: 256, val: 64, batch: 8, lr: 1e-4, sigma: 5, epochs: 40 };

export interface DemoOptions {
  seed?: number;
  /** Override the profile's epoch count. */
  epochs?: number;
  /** Override parts of the adapter's profile (tests run a tiny demo; recipe studies vary it). */
  profile?: Partial<DemoProfile>;
  /** ImageNet VGG19 encoder weights (used only by the full-width GPU profile). */
  weights?: { result: LoadedWeights; source: string };
  onProgress?: (p: DemoProgress) => void;
}

export type DemoProgress =
  | { phase: 'start'; device: string; fallback: boolean; model: string; init: string; note?: string }
  | { phase: 'step'; epoch: number; epochs: number; step: number; steps: number; loss: number; imagesPerSecond: number }
  | { phase: 'epoch'; epoch: number; epochs: number; loss: number; mre: number; unit: string; seconds: number }
  | { phase: 'evaluated'; what: 'untrained' | 'trained' | 'baseline'; mre: number; unit: string };

export interface DemoSummary {
  init: 'imagenet' | 'scratch';
  device: string;
  fallback: boolean;
  model: string;
  parameters: number;
  images: number;
  validation: number;
  size: number;
  epochs: number;
  unit: 'mm' | 'px';
  /** Validation mean radial error of the trained model. */
  mre: number;
  /** The same network before training. */
  mreUntrained: number;
  /** Every landmark at its mean training position (see src/landmarks/baseline.ts). */
  mreBaseline: number;
  sdrPercent: Record<string, number>;
  /** Predicted points (over all validation images) outside their image. */
  outsidePoints: number;
  seconds: number;
}

export interface DemoResult {
  summary: DemoSummary;
  history: { epoch: number; loss: number; mre: number; seconds: number }[];
  evaluation: EvaluationJson;
  baseline: StatsJson;
  untrained: StatsJson;
  landmarkNames: string[];
  /** The first validation image with its prediction, truth and heatmaps, for the pictures. */
  example: { image: { width: number; height: number; data: Float32Array }; predicted: Point[]; truth: Point[]; heatmaps: Float32Array; heatmapSize: number; outside: number[]; mre: number };
}

const now = (): number => performance.now();

export async function runDemo(engine: Engine, options: DemoOptions = {}): Promise<DemoResult> {
  const t0 = now();
  const profile: DemoProfile = { ...(engine.adapter.fallback ? CPU_DEMO : GPU_DEMO), ...options.profile };
  const epochs = options.epochs ?? profile.epochs;
  const seed = options.seed ?? 1;
  const progress = options.onProgress ?? (() => undefined);

  // Data: synthetic hand X-rays (37 landmarks), drawn at twice the model size then resized like real data.
  const all = synthesize({ kind: 'hand', n: profile.train + profile.val, size: profile.size * 2, seed, ...profile.pose });
  const pick = (from: number, to: number): LandmarkSet => ({
    images: all.images.slice(from, to),
    points: all.points.slice(from, to),
    mmPerPixel: all.mmPerPixel.slice(from, to),
  });
  const train = pick(0, profile.train);
  const val = pick(profile.train, profile.train + profile.val);

  const model = new UnetPlusPlus(engine, {
    classes: all.k,
    inChannels: 1,
    ...(profile.widths ? { widths: profile.widths } : {}),
    ...(profile.decoderChannels ? { decoderChannels: profile.decoderChannels } : {}),
  });
  let trainer: LandmarkTrainer | undefined;
  try {
    initializeUnetPP(model, seed);
    let init: DemoSummary['init'] = 'scratch';
    let initText = 'scratch';
    let note: string | undefined;
    let mean = 0;
    let std = 1;
    if (options.weights && !profile.widths) {
      const loaded = loadImagenetEncoder(model, options.weights.result, options.weights.source);
      mean = loaded.normalisation.mean;
      std = loaded.normalisation.std;
      init = 'imagenet';
      initText = loaded.describe;
    } else if (options.weights) {
      note = `${options.weights.source} is present but the CPU demo uses a 1/8-width encoder; ImageNet weights need the full-width model (run on a GPU)`;
    }
    const modelText = `U-Net++/VGG19${profile.widths ? ' at 1/8 width' : ''}, ${model.parameterCount.toLocaleString('en')} parameters, ${profile.size}x${profile.size}, ${all.k} landmarks`;
    const device = engine.adapter.description || engine.adapter.architecture;
    progress({ phase: 'start', device, fallback: engine.adapter.fallback, model: modelText, init: initText, ...(note ? { note } : {}) });

    trainer = new LandmarkTrainer(engine, model, {
      size: profile.size,
      batch: profile.batch,
      lr: profile.lr,
      sigma: profile.sigma,
      ...(profile.loss ? { loss: profile.loss } : {}),
      mean,
      std,
      seed,
      augment: { rotationDeg: 8, scale: [0.92, 1.08], shift: 0.04 },
    });

    // the baseline: every landmark at its mean training position
    const shape = meanShape(train.images.map((im, i) => ({ width: im.width, height: im.height, points: train.points[i]! })));
    const baseline = evaluate(val.images.map((im) => meanShapePrediction(shape, im.width, im.height)), val.points, val.mmPerPixel);
    progress({ phase: 'evaluated', what: 'baseline', mre: baseline.overall.mre, unit: baseline.unit });

    const before = await trainer.evaluate(val);
    progress({ phase: 'evaluated', what: 'untrained', mre: before.evaluation.overall.mre, unit: before.evaluation.unit });

    const tTrain = now();
    const history: DemoResult['history'] = [];
    let after = before;
    const schedule = profile.cosine ? new CosineAnnealingLR(profile.lr, epochs, profile.lr / 10) : null;
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (schedule) trainer.optimizer.lr = schedule.lrAt(epoch);
      const loss = await trainer.trainEpoch(train, epoch, (s) => progress({ phase: 'step', epoch: epoch + 1, epochs, step: s.step, steps: s.steps, loss: s.loss, imagesPerSecond: s.imagesPerSecond }));
      after = await trainer.evaluate(val);
      const seconds = (now() - tTrain) / 1000;
      history.push({ epoch: epoch + 1, loss: round(loss, 5), mre: round(after.evaluation.overall.mre), seconds: round(seconds, 1) });
      progress({ phase: 'epoch', epoch: epoch + 1, epochs, loss, mre: after.evaluation.overall.mre, unit: after.evaluation.unit, seconds });
    }
    const ev: Evaluation = after.evaluation;
    progress({ phase: 'evaluated', what: 'trained', mre: ev.overall.mre, unit: ev.unit });

    let outside = 0;
    after.points.forEach((p, i) => (outside += outsidePoints(p, val.images[i]!.width, val.images[i]!.height).length));
    const image = val.images[0]!;
    const summary: DemoSummary = {
      init,
      device,
      fallback: engine.adapter.fallback,
      model: modelText,
      parameters: model.parameterCount,
      images: train.images.length,
      validation: val.images.length,
      size: profile.size,
      epochs,
      unit: ev.unit,
      mre: round(ev.overall.mre),
      mreUntrained: round(before.evaluation.overall.mre),
      mreBaseline: round(baseline.overall.mre),
      sdrPercent: statsJson(ev.overall, ev.unit, ev.thresholds).sdrPercent,
      outsidePoints: outside,
      seconds: round((now() - t0) / 1000, 1),
    };
    return {
      summary,
      history,
      evaluation: evaluationJson(ev, all.landmarkNames),
      baseline: statsJson(baseline.overall, baseline.unit, baseline.thresholds),
      untrained: statsJson(before.evaluation.overall, before.evaluation.unit, before.evaluation.thresholds),
      landmarkNames: all.landmarkNames,
      example: {
        image: { width: image.width, height: image.height, data: Float32Array.from(image.data) },
        predicted: after.points[0]!,
        truth: after.truth[0]!,
        heatmaps: after.heatmaps[0]!,
        heatmapSize: profile.size,
        outside: outsidePoints(after.points[0]!, image.width, image.height),
        mre: ev.errors[0]!.reduce((a, b) => a + b, 0) / ev.errors[0]!.length,
      },
    };
  } finally {
    trainer?.dispose();
    model.dispose();
  }
}


import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { synthesize } from '../../data/synthetic';
import type { Engine } from '../../gpu/engine';
import { initializeUnetPP } from '../../model/init';
import { UnetPlusPlus } from '../../model/unetpp';
import { writeFileAtomicSync, writeHeatmapMontagePng, writeOverlayPng } from '../../node/data_png';
import { readWeightsFile } from '../../node/weights_io';
import { LandmarkTrainer, type LandmarkSet } from '../../train/trainer';
import { grayNormalization, normalizationFromMetadata, toSingleChannel } from '../../weights/vgg19';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';

/** What the main job runs: sized so the CPU fallback finishes in a few minutes. */
interface Profile {
  size: number;
  widths?: number[];
  decoderChannels?: number[];
  train: number;
  val: number;
  batch: number;
  lr: number;
  /** Gaussian heatmap σ in model pixels. */
  sigma: number;
  /** Seconds of training to aim for. */
  budget: number;
  maxEpochs: number;
}

const CPU_PROFILE: Profile = {
  size: 64,
  // VGG19 at 1/8 width: the full network is ~40 M parameters, far too slow for a CPU demo
  widths: [8, 8, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 64, 64, 64, 64],
  decoderChannels: [32, 16, 16, 8, 8],
  train: 64,
  val: 16,
  // small batches: on 2 CPU cores the number of updates, not throughput, limits what is learnt
  batch: 2,
  lr: 5e-3,
  // coarse targets (σ 4 px at 64 px) learn in a few hundred updates
  sigma: 4,
  budget: 200,
  maxEpochs: 40,
};

const GPU_PROFILE: Profile = { size: 256, train: 256, val: 64, batch: 8, lr: 1e-4, sigma: 5, budget: 240, maxEpochs: 60 };

const DEMO_OPTIONS = defineOptions({
  out: { type: 'string', value: 'DIR', default: 'runs/demo', description: 'output folder: overlay.png, heatmaps.png, metrics.json' },
  budget: { type: 'string', value: 'SECONDS', defaultText: `GPU: ${GPU_PROFILE.budget}, CPU fallback: ${CPU_PROFILE.budget}`, description: 'training time to aim for; no new epoch starts that would end past it', check: checks.number({ above: 0 }) },
  epochs: { type: 'string', value: 'N', defaultText: `as many as fit the budget, at most GPU: ${GPU_PROFILE.maxEpochs}, CPU fallback: ${CPU_PROFILE.maxEpochs}`, description: 'train exactly N epochs (ignores the budget)', check: checks.int(1) },
  weights: { type: 'string', value: 'FILE', defaultText: 'weights/vgg19-imagenet-1ch.safetensors or weights/vgg19-imagenet.safetensors when present, else scratch', description: 'ImageNet VGG19 encoder weights (GPU only: the CPU demo trains a 1/8-width model from scratch)', check: checks.exists('file') },
  seed: { type: 'string', value: 'N', default: '1', description: 'seed of the synthetic data, the initialisation and the augmentation', check: checks.int(0) },
  software: SOFTWARE_OPTION,
});

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the main job (npm start): fine-tune on the built-in synthetic hand X-rays, evaluate, write an overlay and metrics',
  usage: 'osteo demo [--out DIR] [--budget SECONDS] [--epochs N] [--weights FILE] [--seed N] [--software]',
  options: DEMO_OPTIONS,
  examples: [
    { command: 'osteo demo', what: 'the main job (what npm start runs): minutes on the CPU fallback; writes runs/demo/overlay.png, heatmaps.png and metrics.json' },
    { command: 'osteo demo --epochs 3 --seed 2 --out runs/demo2', what: 'a shorter run with another seed, into another folder' },
  ],
  async run(argv) {
    const { values } = parseOptions(DEMO_OPTIONS, argv);
    const t0 = performance.now();
    const engine = await engineProvider.acquire(values.software);
    try {
      return await runDemo(engine, values, t0);
    } finally {
      engineProvider.release(engine);
    }
  },
};

async function runDemo(engine: Engine, values: { out?: string; budget?: string; epochs?: string; weights?: string; seed?: string }, t0: number): Promise<number> {
  const profile = engine.adapter.fallback ? CPU_PROFILE : GPU_PROFILE;
  const budget = values.budget ? Number(values.budget) : profile.budget;
  const seed = Number(values.seed ?? 1);
  const out = resolve(values.out ?? 'runs/demo');
  mkdirSync(out, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`osteo demo — device: ${engine.adapter.description || engine.adapter.architecture} (${engine.adapter.fallback ? 'software fallback' : 'GPU'})`);

  // Data: synthetic hand X-rays (37 landmarks), drawn at twice the model size then resized like real data.
  const all = synthesize({ kind: 'hand', n: profile.train + profile.val, size: profile.size * 2, seed });
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
  initializeUnetPP(model, seed);
  let init = 'scratch';
  let mean = 0;
  let std = 1;
  const weightsFile = values.weights ?? ['weights/vgg19-imagenet-1ch.safetensors', 'weights/vgg19-imagenet.safetensors'].find((f) => existsSync(f));
  if (weightsFile && !profile.widths) {
    const loaded = await readWeightsFile(weightsFile);
    const tensors = loaded.tensors.get('encoder.features.0.weight')?.shape[1] === 3 ? toSingleChannel(loaded.tensors) : loaded.tensors;
    let n = 0;
    for (const [name, t] of tensors) {
      if (name.startsWith('encoder.')) {
        model.params.load(name, t.data);
        n++;
      }
    }
    const norm = grayNormalization(normalizationFromMetadata(loaded.metadata, weightsFile));
    mean = norm.mean[0]!;
    std = norm.std[0]!;
    init = `imagenet (${weightsFile}, ${n} encoder tensors)`;
  } else if (weightsFile) {
    log(`note: ${weightsFile} is present but the CPU demo uses a 1/8-width encoder; ImageNet weights need the full-width model (run on a GPU)`);
  }
  log(`model: U-Net++/VGG19${profile.widths ? ' at 1/8 width' : ''}, ${model.parameterCount.toLocaleString()} parameters, ${profile.size}x${profile.size}, ${all.k} landmarks; init: ${init}`);

  const trainer = new LandmarkTrainer(engine, model, {
    size: profile.size,
    batch: profile.batch,
    lr: profile.lr,
    sigma: profile.sigma,
    mean,
    std,
    seed,
    augment: { rotationDeg: 8, scale: [0.92, 1.08], shift: 0.04 },
  });
  try {
    const before = await trainer.evaluate(val);
    log(`untrained: MRE ${before.evaluation.overall.mre.toFixed(2)} ${before.evaluation.unit}`);

    const maxEpochs = values.epochs ? Number(values.epochs) : profile.maxEpochs;
    const tTrain = performance.now();
    let epochs = 0;
    const history: { epoch: number; loss: number; mre: number; seconds: number }[] = [];
    while (epochs < maxEpochs) {
      const te = performance.now();
      const loss = await trainer.trainEpoch(train, epochs, (s) => {
        const elapsed = (performance.now() - tTrain) / 1000;
        process.stderr.write(`\repoch ${epochs + 1} step ${s.step}/${s.steps} loss ${s.loss.toFixed(4)} ${s.imagesPerSecond.toFixed(1)} img/s elapsed ${elapsed.toFixed(0)}s / budget ${budget}s   `);
      });
      epochs++;
      const epochSeconds = (performance.now() - te) / 1000;
      const elapsed = (performance.now() - tTrain) / 1000;
      history.push({ epoch: epochs, loss, mre: NaN, seconds: elapsed });
      process.stderr.write('\n');
      if (!values.epochs && elapsed + epochSeconds > budget) break;
    }
    const after = await trainer.evaluate(val);
    const ev = after.evaluation;
    history[history.length - 1]!.mre = ev.overall.mre;
    log(`trained ${epochs} epochs: MRE ${ev.overall.mre.toFixed(2)} ± ${ev.overall.std.toFixed(2)} ${ev.unit} (untrained ${before.evaluation.overall.mre.toFixed(2)})`);

    writeOverlayPng(join(out, 'overlay.png'), val.images[0]!, after.points[0], val.points[0]);
    writeHeatmapMontagePng(join(out, 'heatmaps.png'), after.heatmaps[0]!, all.k, profile.size, profile.size);
    const summary = {
      init: init.startsWith('imagenet') ? 'imagenet' : 'scratch',
      device: engine.adapter.description || engine.adapter.architecture,
      fallback: engine.adapter.fallback,
      images: train.images.length,
      size: profile.size,
      epochs,
      mre: round(ev.overall.mre),
      unit: ev.unit,
      mreUntrained: round(before.evaluation.overall.mre),
      sdr: Object.fromEntries(Object.entries(ev.overall.sdr).map(([k, v]) => [k, round(v)])),
      seconds: round((performance.now() - t0) / 1000),
    };
    const metricsPath = join(out, 'metrics.json');
    writeFileAtomicSync(metricsPath, JSON.stringify({ summary, history, perLandmark: ev.perLandmark }, null, 2));
    log(`wrote ${join(out, 'overlay.png')}, ${join(out, 'heatmaps.png')}, ${metricsPath}`);
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * `osteo demo` (`npm start`): the main job of src/train/demo.ts, with progress on stderr, the
 * pictures and metrics.json in --out, and the summary as the last stdout line.
 */
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync, writeHeatmapMontagePng, writeOverlayPng } from '../../node/data_png';
import { readWeightsFile } from '../../node/weights_io';
import { CPU_DEMO, GPU_DEMO, runDemo, type DemoProgress, type DemoResult } from '../../train/demo';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { VERSION as OSTEO_VERSION } from '../version';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';

const WEIGHT_FILES = ['weights/vgg19-imagenet-1ch.safetensors', 'weights/vgg19-imagenet.safetensors'];

const DEMO_OPTIONS = defineOptions({
  out: { type: 'string', value: 'DIR', default: 'runs/demo', description: 'output folder: overlay.png, heatmaps.png, metrics.json', check: checks.writableDir() },
  epochs: { type: 'string', value: 'N', defaultText: `GPU: ${GPU_DEMO.epochs}, CPU fallback: ${CPU_DEMO.epochs} (fixed work: the same result on every machine)`, description: 'training epochs', check: checks.int(1) },
  weights: { type: 'string', value: 'FILE', defaultText: `${WEIGHT_FILES.join(' or ')} when present, else scratch`, description: 'ImageNet VGG19 encoder weights (GPU only: the CPU demo trains a 1/8-width model from scratch)', check: checks.exists('file') },
  seed: { type: 'string', value: 'N', default: '1', description: 'seed of the synthetic data, the initialisation and the augmentation', check: checks.int(0) },
  software: SOFTWARE_OPTION,
});

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the main job (npm start): train on the built-in synthetic hand X-rays, evaluate beside the mean-shape baseline, write an overlay and metrics',
  usage: 'osteo demo [--out DIR] [--epochs N] [--weights FILE] [--seed N] [--software]',
  options: DEMO_OPTIONS,
  examples: [
    { command: 'osteo demo', what: 'the main job (what npm start runs): a few minutes on the CPU fallback; writes runs/demo/overlay.png, heatmaps.png and metrics.json' },
    { command: 'osteo demo --epochs 3 --seed 2 --out runs/demo2', what: 'a shorter run with another seed, into another folder' },
  ],
  async run(argv) {
    const { values } = parseOptions(DEMO_OPTIONS, argv);
    const out = resolve(values.out);
    mkdirSync(out, { recursive: true });
    const weightsFile = values.weights ?? WEIGHT_FILES.find((f) => existsSync(f));
    const engine = await engineProvider.acquire(values.software);
    try {
      const weights = weightsFile && !engine.adapter.fallback ? { result: await readWeightsFile(weightsFile), source: weightsFile } : undefined;
      const result = await runDemo(engine, {
        seed: Number(values.seed),
        ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
        ...(weights ? { weights } : {}),
        onProgress: progressPrinter(weightsFile && engine.adapter.fallback ? `note: ${weightsFile} is present but the CPU demo trains a 1/8-width encoder from scratch; ImageNet weights need the full-width model (run on a GPU)` : undefined),
      });
      const s = result.summary;
      const files = writeDemoOutputs(out, result);
      process.stderr.write(`wrote ${files.overlay}, ${files.heatmaps}, ${files.metrics}\n`);
      console.log(JSON.stringify(s));
      return 0;
    } finally {
      engineProvider.release(engine);
    }
  },
};

/** overlay.png (the first validation image), heatmaps.png (its heatmaps, labelled) and metrics.json in `out`. */
export function writeDemoOutputs(out: string, result: DemoResult): { overlay: string; heatmaps: string; metrics: string } {
  const s = result.summary;
  const ex = result.example;
  const overlay = join(out, 'overlay.png');
  const heatmaps = join(out, 'heatmaps.png');
  const metrics = join(out, 'metrics.json');
  writeOverlayPng(overlay, ex.image, ex.predicted, ex.truth, {
    // short lines: the legend is no wider than the image
    title: `validation image 1 of ${s.validation}: MRE ${ex.mre.toFixed(1)} ${s.unit}\nall ${s.validation}: MRE ${s.mre.toFixed(1)} ${s.unit}\nmean-shape baseline: ${s.mreBaseline.toFixed(1)} ${s.unit}`,
  });
  writeHeatmapMontagePng(heatmaps, ex.heatmaps, result.landmarkNames.length, ex.heatmapSize, ex.heatmapSize, { names: result.landmarkNames });
  const doc = { summary: s, environment: environment(), history: result.history, baseline: result.baseline, untrained: result.untrained, evaluation: result.evaluation, example: { outside: ex.outside.map((i) => i + 1), mre: Number(ex.mre.toFixed(3)) } };
  writeFileAtomicSync(metrics, `${JSON.stringify(doc, null, 2)}\n`);
  return { overlay, heatmaps, metrics };
}

/** Where a result came from: metrics.json says it without the terminal it ran in. */
function environment(): { date: string; cpus: number; cpuModel: string; node: string; platform: string; version: string } {
  const cpus = os.cpus();
  return { date: new Date().toISOString(), cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.arch()}`, version: OSTEO_VERSION };
}

/** Progress lines on stderr; steps overwrite one line. */
function progressPrinter(note: string | undefined): (p: DemoProgress) => void {
  const err = (s: string) => process.stderr.write(s);
  const tty = process.stderr.isTTY;
  return (p) => {
    switch (p.phase) {
      case 'start':
        err(`osteo demo — device: ${p.device} (${p.fallback ? 'software fallback' : 'GPU'})\nmodel: ${p.model}; init: ${p.init}\n`);
        if (note) err(`${note}\n`);
        if (p.note) err(`note: ${p.note}\n`);
        err('compiling shaders and evaluating the untrained network…\n');
        break;
      case 'step':
        if (tty) err(`\repoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${p.imagesPerSecond.toFixed(1)} img/s   `);
        break;
      case 'epoch':
        err(`${tty ? '\r' : ''}epoch ${p.epoch}/${p.epochs}: loss ${p.loss.toFixed(4)}, validation MRE ${p.mre.toFixed(2)} ${p.unit} (${p.seconds.toFixed(0)} s)          \n`);
        break;
      case 'evaluated':
        err(`${p.what === 'baseline' ? 'mean-shape baseline (every landmark at its mean training position)' : p.what}: MRE ${p.mre.toFixed(2)} ${p.unit}\n`);
        break;
    }
  };
}

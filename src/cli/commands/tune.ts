import { sweepMarkdown, sweepUnetpp, tuningFromSweep } from '../../model/tile_sweep';
import { writeFileAtomicSync } from '../../node/data_png';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { checks, defineOptions, parseOptions } from '../options';

const SIZE = checks.inputSize();
const OPTIONS = defineOptions({
  'train-size': { type: 'string', value: 'N', default: '256', description: 'training-step input size in pixels, a multiple of 32', check: SIZE },
  'train-batch': { type: 'string', value: 'N', default: '4', description: 'training-step batch', check: checks.int(1) },
  'infer-size': { type: 'string', value: 'N', default: '512', description: 'inference input size in pixels (batch 1), a multiple of 32', check: SIZE },
  budget: { type: 'string', value: 'SECONDS', default: '300', description: 'time budget of the sweep (70 % for the training-step convs, the rest for inference); layers not reached keep the built-in choice', check: checks.int(1) },
  reps: { type: 'string', value: 'N', default: '5', description: 'timed repetitions per candidate tile (the median counts)', check: checks.int(1) },
  out: { type: 'string', value: 'FILE', default: 'tuning.json', description: 'where the tuning table is written (JSON; use it with OSTEO_TUNING=FILE)', check: checks.writableFile() },
});

/**
 * Measures, on this machine's GPU, the fastest conv tile / split for every conv of a U-Net++
 * training step and inference, and writes them as a tuning table (src/kernels/tuning.ts) that
 * OSTEO_TUNING=FILE installs into every engine of later runs.
 */
export const tuneCommand: Command = {
  name: 'tune',
  summary: 'time conv tiles and split-K for every U-Net++ layer on this GPU and write a tuning table (use it with OSTEO_TUNING=FILE)',
  usage: 'osteo tune [--train-size 256] [--train-batch 4] [--infer-size 512] [--budget SECONDS] [--reps 5] [--out tuning.json]',
  options: OPTIONS,
  examples: [
    { command: 'osteo tune --out tuning/my-gpu.json && OSTEO_TUNING=tuning/my-gpu.json osteo profile', what: 'measure this GPU\'s best conv tiles, then profile inference with them' },
    { command: 'osteo tune --train-size 32 --infer-size 32 --budget 60', what: 'a quick sweep that finishes on the CPU fallback' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv);
    const trainSize = Number(values['train-size']);
    const inferSize = Number(values['infer-size']);
    const batch = Number(values['train-batch']);
    const budget = Number(values.budget);
    const reps = Number(values.reps);
    const engine = await engineProvider.acquire();
    try {
      if (engine.adapter.fallback) {
        console.error(`osteo tune: ${engine.adapter.description || engine.adapter.architecture} is a software adapter; its kernels (direct forms) are chosen by plan, and a sweep here takes very long. Try --train-size 32 --infer-size 32 --budget 60 to see it work.`);
      }
      const t0 = performance.now();
      const log = (s: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);
      const rows = await sweepUnetpp(engine, { trainSize, trainBatch: batch, inferSize, reps, budgetS: budget, log });
      const device = `${engine.adapter.vendor} ${engine.adapter.architecture} ${engine.adapter.description}`.trim();
      const table = tuningFromSweep(rows, `${device}, measured ${new Date().toISOString()} by osteo tune (training b${batch} ${trainSize}², inference b1 ${inferSize}²)`);
      console.log(sweepMarkdown(rows));
      writeFileAtomicSync(values.out, JSON.stringify(table, null, 1) + '\n');
      console.log(`wrote ${values.out}: ${Object.keys(table.conv).length} conv + ${Object.keys(table.dw).length} grad-weight choices; use it with OSTEO_TUNING=${values.out}`);
    } finally {
      engineProvider.release(engine);
    }
  },
};

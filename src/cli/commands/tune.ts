import { parseArgs } from 'node:util';
import { sweepMarkdown, sweepUnetpp, tuningFromSweep } from '../../../bench/tile_sweep';
import { acquireNodeEngine } from '../../node/acquire_node';
import { writeFileAtomicSync } from '../../node/data_png';
import type { Command } from '../command';

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${v}`);
  return n;
}

/**
 * Measures, on this machine's GPU, the fastest conv tile / split for every conv of a U-Net++
 * training step and inference, and writes them as a tuning table (src/kernels/tuning.ts) that
 * OSTEO_TUNING=FILE installs into every engine of later runs.
 */
export const tuneCommand: Command = {
  name: 'tune',
  summary: 'time conv tiles and split-K for every U-Net++ layer on this GPU and write a tuning table (use it with OSTEO_TUNING=FILE)',
  usage: 'osteo tune [--train-size 256] [--train-batch 4] [--infer-size 512] [--budget SECONDS] [--reps 5] [--out tuning.json]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'train-size': { type: 'string', default: '256' },
        'train-batch': { type: 'string', default: '4' },
        'infer-size': { type: 'string', default: '512' },
        budget: { type: 'string', default: '300' },
        reps: { type: 'string', default: '5' },
        out: { type: 'string', default: 'tuning.json' },
      },
    });
    const trainSize = positive('train-size', values['train-size']!);
    const inferSize = positive('infer-size', values['infer-size']!);
    for (const [n, s] of [['train-size', trainSize], ['infer-size', inferSize]] as const) {
      if (s % 32) throw new RangeError(`--${n} ${s} must be a multiple of 32 (U-Net++ pools five times)`);
    }
    const batch = positive('train-batch', values['train-batch']!);
    const budget = positive('budget', values.budget!);
    const reps = positive('reps', values.reps!);
    const engine = await acquireNodeEngine();
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
      writeFileAtomicSync(values.out!, JSON.stringify(table, null, 1) + '\n');
      console.log(`wrote ${values.out}: ${Object.keys(table.conv).length} conv + ${Object.keys(table.dw).length} grad-weight choices; use it with OSTEO_TUNING=${values.out}`);
    } finally {
      engine.destroy();
    }
  },
};

import { parseArgs } from 'node:util';
import { measureMemory } from '../../model/memory';
import { acquireNodeEngine } from '../../node/acquire_node';
import type { Command } from '../command';

const GiB = 1024 ** 3;

export const memoryCommand: Command = {
  name: 'memory',
  summary: 'peak GPU memory of U-Net++/VGG19 inference and of a training step (dry run: no kernels execute)',
  usage: 'osteo memory [--classes 19] [--infer-size 512] [--infer-batch 1] [--train-size 256] [--train-batch 4] [--json]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        classes: { type: 'string', default: '19' },
        'infer-size': { type: 'string', default: '512' },
        'infer-batch': { type: 'string', default: '1' },
        'train-size': { type: 'string', default: '256' },
        'train-batch': { type: 'string', default: '4' },
        json: { type: 'boolean' },
      },
    });
    const engine = await acquireNodeEngine();
    try {
      const r = await measureMemory(
        engine,
        { classes: Number(values.classes), inChannels: 1 },
        {
          inference: { batch: Number(values['infer-batch']), size: Number(values['infer-size']) },
          training: { batch: Number(values['train-batch']), size: Number(values['train-size']) },
        },
      );
      if (values.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      const g = (b: number) => `${(b / GiB).toFixed(2)} GiB`;
      console.log(`U-Net++/VGG19, ${r.parameters.toLocaleString()} parameters: ${g(r.modelBytes)} (their gradients, as much again, exist only once training starts)`);
      console.log(`inference b${r.inference.batch} ${r.inference.size}²: peak ${g(r.inference.peakBytes)}${r.inference.peakBytes < 16 * GiB ? ' (fits a 16 GiB GPU)' : ' (does NOT fit 16 GiB)'}`);
      console.log(`training  b${r.training.batch} ${r.training.size}²: peak ${g(r.training.peakBytes)} incl. AdamW state ${g(r.training.optimizerBytes)}${r.training.peakBytes < 16 * GiB ? ' (fits a 16 GiB GPU)' : ' (does NOT fit 16 GiB)'}`);
    } finally {
      engine.destroy();
    }
  },
};

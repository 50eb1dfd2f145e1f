import { measureMemory } from '../../model/memory';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { checks, defineOptions, parseOptions } from '../options';

const GiB = 1024 ** 3;

const SIZE = checks.inputSize();
const OPTIONS = defineOptions({
  classes: { type: 'string', value: 'K', default: '19', description: 'landmarks (output channels) of the model', check: checks.int(1) },
  'infer-size': { type: 'string', value: 'N', default: '512', description: 'inference input size in pixels (N x N), a multiple of 32', check: SIZE },
  'infer-batch': { type: 'string', value: 'N', default: '1', description: 'inference batch', check: checks.int(1) },
  'train-size': { type: 'string', value: 'N', default: '256', description: 'training input size in pixels, a multiple of 32', check: SIZE },
  'train-batch': { type: 'string', value: 'N', default: '4', description: 'training batch (per step, before gradient accumulation)', check: checks.int(1) },
  json: { type: 'boolean', description: 'print the measurement as JSON' },
});

export const memoryCommand: Command = {
  name: 'memory',
  summary: 'peak GPU memory of U-Net++/VGG19 inference and of a training step (dry run: no kernels execute)',
  usage: 'osteo memory [--classes 19] [--infer-size 512] [--infer-batch 1] [--train-size 256] [--train-batch 4] [--json]',
  options: OPTIONS,
  examples: [
    { command: 'osteo memory', what: 'peak memory of b1 512² inference and a b4 256² AdamW training step with 19 landmarks' },
    { command: 'osteo memory --train-size 512 --train-batch 8 --classes 37 --json', what: 'would a b8 512² hand-landmark training step fit? as JSON' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv);
    const engine = await engineProvider.acquire();
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
      engineProvider.release(engine);
    }
  },
};

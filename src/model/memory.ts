/**
 * Peak GPU memory of U-Net++ inference and of a training step, measured by running the real
 * model code on a dry-run engine: every op allocates and frees its tensors exactly as it would,
 * but no kernel runs. The pool's peak then is the step's peak (plus rounding to size classes).
 */
import { Graph } from '../autograd/graph';
import type { Engine } from '../gpu/engine';
import { AdamW } from '../nn/optim';
import { precompileUnetPP } from './precompile';
import { UnetPlusPlus, type UnetPPConfig } from './unetpp';

export interface MemoryReport {
  parameters: number;
  /** Bytes of the parameter and buffer arenas, live before the step (gradients are allocated on the first backward). */
  modelBytes: number;
  inference: { batch: number; size: number; peakBytes: number };
  training: { batch: number; size: number; peakBytes: number; optimizerBytes: number };
}

export async function measureMemory(
  engine: Engine,
  config: UnetPPConfig,
  opts: {
    inference?: { batch: number; size: number };
    training?: { batch: number; size: number };
    /** Really run the kernels (slow; used to check that the dry run measures the same peak). */
    execute?: boolean;
  } = {},
): Promise<MemoryReport> {
  const inf = opts.inference ?? { batch: 1, size: 512 };
  const tr = opts.training ?? { batch: 4, size: 256 };
  // a real run compiles ahead (asynchronously) instead of on the first dispatch of each kernel
  if (opts.execute) await precompileUnetPP(engine, config, [inf, { ...tr, training: true }]);
  const wasDry = engine.dryRun;
  engine.dryRun = !opts.execute;
  const model = new UnetPlusPlus(engine, config);
  try {
    const modelBytes = engine.memory().liveBytes;

    engine.pool.resetPeak();
    const x = engine.empty([inf.batch, config.inChannels, inf.size, inf.size], 'images');
    const g = new Graph(engine, { grad: false, training: false });
    model.forward(g, g.input(x)).release();
    x.dispose();
    const inferencePeak = engine.memory().peakBytes;

    const opt = new AdamW(model.params, { lr: 1e-4 });
    const optimizerBytes = engine.memory().liveBytes - modelBytes;
    engine.pool.resetPeak();
    const xt = engine.empty([tr.batch, config.inChannels, tr.size, tr.size], 'images');
    const target = engine.empty([tr.batch, config.classes, tr.size, tr.size], 'heatmaps');
    const gt = new Graph(engine);
    const logits = model.forward(gt, gt.input(xt));
    const loss = gt.mseLoss(logits, gt.input(target));
    logits.release();
    await gt.backward(loss, { checkFinite: false });
    loss.release();
    opt.step();
    xt.dispose();
    target.dispose();
    const trainingPeak = engine.memory().peakBytes;
    opt.dispose();
    return {
      parameters: model.parameterCount,
      modelBytes,
      inference: { ...inf, peakBytes: inferencePeak },
      training: { ...tr, peakBytes: trainingPeak, optimizerBytes },
    };
  } finally {
    model.dispose();
    engine.dryRun = wasDry;
  }
}

/**
 * Compiles the pipelines of a U-Net++ inference or training step ahead, asynchronously
 * (`Engine.precompile`), so the first real step does not block the event loop for the seconds a
 * software adapter spends compiling ~50 shaders synchronously (a frozen page in a browser; a test
 * worker that misses its runner's RPC deadline in Node).
 */
import { Graph, type HeatmapLoss } from '../autograd/graph';
import type { Engine } from '../gpu/engine';
import { AdamW } from '../nn/optim';
import { UnetPlusPlus, type UnetPPConfig } from './unetpp';

export interface PrecompileStep {
  batch: number;
  size: number;
  /** A training step (forward, loss, backward, AdamW) instead of an inference forward. */
  training?: boolean;
  loss?: HeatmapLoss;
}

/**
 * Dry-runs the steps on a throwaway model of the same configuration (same shapes, so the same
 * kernels, tiles and BN-fold decisions as the real model) and compiles every pipeline they need
 * that is not cached yet. The real model's parameters, gradients and optimizer state are never
 * touched: a dry run allocates without initialising, so it must not create state a real run
 * later reads. Returns the number of pipelines compiled.
 */
export async function precompileUnetPP(engine: Engine, config: UnetPPConfig, steps: readonly PrecompileStep[]): Promise<number> {
  return engine.precompile(async () => {
    const model = new UnetPlusPlus(engine, config);
    try {
      for (const step of steps) {
        const x = engine.empty([step.batch, config.inChannels, step.size, step.size], 'images');
        try {
          if (!step.training) {
            const g = new Graph(engine, { grad: false, training: false });
            model.forward(g, g.input(x)).release();
            g.dispose();
            continue;
          }
          const target = engine.empty([step.batch, config.classes, step.size, step.size], 'heatmaps');
          const opt = new AdamW(model.params, { lr: 1e-4 });
          const g = new Graph(engine, { grad: true, training: true });
          try {
            const logits = model.forward(g, g.input(x));
            const t = g.input(target);
            const loss = g.heatmapLoss(step.loss ?? 'mse', logits, t);
            logits.release();
            await g.backward(loss, { checkFinite: false });
            loss.release();
            opt.step();
            opt.zeroGrad();
          } finally {
            g.dispose();
            opt.dispose();
            target.dispose();
          }
        } finally {
          x.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  });
}

/**
 * Model suite: U-Net++/VGG19 inference and one training step (forward + backward + optimizer),
 * osteo vs TfUnetPlusPlus (the tfjs implementation of the same network) with the same weights and
 * inputs, on the same device. First run (shader compilation, pipeline creation) apart from the
 * steady state. Host-agnostic.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { randomUnetPPWeights, TfUnetPlusPlus } from './reference/tfjs_unetpp';
import { Graph } from '../src/autograd/graph';
import type { Engine } from '../src/gpu/engine';
import { UnetPlusPlus } from '../src/model/unetpp';
import { AdamW } from '../src/nn/optim';
import { exportOnnx } from '../src/export/onnx';
import { runOnnxBaseline, type OnnxRuntimeHost } from './onnx_baseline';
import { modelForwardFlops, modelTrainFlops } from '../src/model/layer_shapes';
import { speedup, summarizeTimes } from './stats';
import { osteoGpuTime, tfSync, timeTf, type Tf, type Timed, } from './timing';
import { uniformData } from './stats';
import type { ModelPhase, ModelRow, RuntimeBaseline } from './types';

export interface ModelSuiteOptions {
  inference: { size: number; batch: number } | null;
  train: { size: number; batch: number } | null;
  reps: number;
  classes?: number;
  backend?: string;
  extraBackends?: string[];
  /** ONNX runtimes the host offers: they run the exported model (inference only). */
  onnx?: OnnxRuntimeHost[];
  log?: (line: string) => void;
}

const errText = (e: unknown): string => String((e as Error)?.message ?? e).split('\n').slice(0, 3).join(' ');

/** Times async whole-step runs: first run, then `reps` steady runs (each ends in a completion wait). */
async function timeSteps(run: () => Promise<void>, reps: number): Promise<Timed> {
  let t0 = performance.now();
  await run();
  const firstMs = performance.now() - t0;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return { firstMs, steady: summarizeTimes(times, 1) };
}

function toPhase(t: Timed): ModelPhase {
  return { firstMs: t.firstMs, steady: t.steady };
}

/**
 * The same network, weights and input in each ONNX runtime: osteo's output on the input is the
 * reference each runtime's must match before it is timed.
 */
async function onnxBaselines(
  engine: Engine,
  model: UnetPlusPlus,
  weights: Map<string, Float32Array>,
  input: Float32Array,
  dims: [number, number, number, number],
  hosts: readonly OnnxRuntimeHost[],
  reps: number,
  log: (line: string) => void,
): Promise<Record<string, RuntimeBaseline>> {
  const out: Record<string, RuntimeBaseline> = {};
  let reference: Float32Array;
  let bytes: Uint8Array;
  try {
    const x = engine.tensor(input, dims, 'bench.onnx.x');
    const g = new Graph(engine, { grad: false, training: false });
    try {
      const y = model.forward(g, g.input(x));
      reference = await y.value.read();
      y.release();
    } finally {
      g.dispose();
      x.dispose();
    }
    const c = model.config;
    bytes = exportOnnx({ model: { classes: c.classes, inChannels: c.inChannels, widths: c.widths, decoderChannels: c.decoderChannels }, tensors: weights }, { size: dims[2] }).bytes;
  } catch (e) {
    for (const h of hosts) out[h.name] = { detail: h.detail, phase: null, createMs: null, maxAbsDiff: null, outputScale: null, error: `${h.name}: no ONNX model or osteo reference output (${errText(e)})` };
    return out;
  }
  for (const h of hosts) {
    const r = await runOnnxBaseline(h, bytes, input, dims, reference, reps);
    out[h.name] = r;
    log(`model inference b${dims[0]} ${dims[2]}²: ${h.name} ${r.phase ? `first ${r.phase.firstMs.toFixed(0)} ms (session ${r.createMs?.toFixed(0)} ms), steady ${r.phase.steady.median.toFixed(1)} ms` : 'n/a'}; max |Δ| vs osteo ${r.maxAbsDiff?.toExponential(2) ?? 'n/a'} at output scale ${r.outputScale?.toExponential(2) ?? 'n/a'}`);
  }
  return out;
}

export async function runModelSuite(engine: Engine, tf: Tf, opts: ModelSuiteOptions): Promise<ModelRow[]> {
  const log = opts.log ?? (() => {});
  const classes = opts.classes ?? 19;
  const backend = opts.backend ?? 'webgpu';
  const config = { classes, inChannels: 1 as const };
  const weights = randomUnetPPWeights(config, 1234);
  const rows: ModelRow[] = [];

  const model = new UnetPlusPlus(engine, config);
  model.params.loadStateDict(weights, { strict: false });
  await engine.sync();
  try {
    for (const phase of ['inference', 'train_step'] as const) {
      const spec = phase === 'inference' ? opts.inference : opts.train;
      if (!spec) continue;
      const { size, batch } = spec;
      const shapeCfg = { size, batch, classes };
      const row: ModelRow = {
        name: phase, batch, size,
        flops: phase === 'inference' ? modelForwardFlops(shapeCfg) : modelTrainFlops(shapeCfg),
        osteo: null, osteoGpuMs: null, tfjs: null, ratio: null,
      };
      const errors: string[] = [];
      const input = uniformData(batch * size * size, 99, 1);
      const target = new Float32Array(batch * classes * size * size).map((_, i) => (i % 97 === 0 ? 1 : 0));

      // ---------------------------------------------------------------- osteo
      try {
        const x = engine.tensor(input, [batch, 1, size, size], 'bench.x');
        const t = phase === 'train_step' ? engine.tensor(target, [batch, classes, size, size], 'bench.t') : null;
        const optimizer = phase === 'train_step' ? new AdamW(model.params, { lr: 1e-5, weightDecay: 1e-4 }) : null;
        // record-only bodies (the profiler wants one synchronous-ish recording)
        const inferOnce = () => {
          const g = new Graph(engine, { grad: false, training: false });
          const y = model.forward(g, g.input(x));
          y.release();
          g.dispose();
        };
        const trainOnce = async () => {
          const g = new Graph(engine, { grad: true, training: true });
          try {
            const logits = model.forward(g, g.input(x));
            const loss = g.mseLoss(logits, g.input(t!));
            logits.release();
            await g.backward(loss);
            loss.release();
            optimizer!.step();
            optimizer!.zeroGrad();
          } finally {
            g.dispose();
          }
        };
        try {
          const run = phase === 'inference' ? async () => { inferOnce(); await engine.sync(); } : async () => { await trainOnce(); await engine.sync(); };
          row.osteo = toPhase(await timeSteps(run, opts.reps));
          if (engine.hasTimestamps) {
            if (phase === 'inference') row.osteoGpuMs = await osteoGpuTime(engine, inferOnce, 1);
            else {
              const prof = await engine.profile(trainOnce);
              row.osteoGpuMs = prof.mode === 'timestamp' ? prof.records.reduce((s, r) => s + r.ms, 0) : null;
            }
          }
        } finally {
          optimizer?.dispose();
          x.dispose();
          t?.dispose();
          await engine.sync();
        }
      } catch (e) {
        errors.push(`osteo: ${errText(e)}`);
      }
      log(`model ${phase} b${batch} ${size}²: osteo first ${row.osteo?.firstMs.toFixed(0) ?? 'n/a'} ms, steady ${row.osteo?.steady.median.toFixed(1) ?? 'n/a'} ms`);

      // ------------------------------------------------------- ONNX runtimes (inference only)
      if (phase === 'inference' && opts.onnx?.length) {
        row.runtimes = await onnxBaselines(engine, model, weights, input, [batch, 1, size, size], opts.onnx, opts.reps, log);
        for (const r of Object.values(row.runtimes)) if (r.error) errors.push(r.error);
      }

      // ----------------------------------------------------------------- tfjs
      const tfRun = async (name: string): Promise<ModelPhase | null> => {
        let ref: TfUnetPlusPlus | null = null;
        const xt = tf.tensor4d(input, [batch, 1, size, size]);
        const tt = phase === 'train_step' ? tf.tensor4d(target, [batch, classes, size, size]) : null;
        // tfjs has no AdamW; Adam costs the same per parameter (decoupled decay is one more FMA).
        const optimizer = phase === 'train_step' ? tf.train.adam(1e-5) : null;
        try {
          ref = new TfUnetPlusPlus(tf, config, weights);
          const vars = ref.trainableVariables();
          const m = ref;
          const runOnce = phase === 'inference'
            ? () => m.forward(xt as tfc.Tensor4D, { training: false })
            : () => {
                optimizer!.minimize(() => m.lossTensor(xt as tfc.Tensor4D, tt as tfc.Tensor4D, 'mse', { training: true }), false, vars);
                return null;
              };
          const timed = await timeTf(tf, runOnce, { reps: opts.reps, targetMs: 0, maxInner: 1 }, () => vars[0]!);
          return toPhase(timed);
        } catch (e) {
          errors.push(`tfjs-${name}: ${errText(e)}`);
          return null;
        } finally {
          ref?.dispose();
          optimizer?.dispose();
          xt.dispose();
          tt?.dispose();
          await tfSync(tf).catch(() => {});
        }
      };
      await tf.setBackend(backend);
      row.tfjs = await tfRun(backend);
      log(`model ${phase} b${batch} ${size}²: tfjs-${backend} first ${row.tfjs?.firstMs.toFixed(0) ?? 'n/a'} ms, steady ${row.tfjs?.steady.median.toFixed(1) ?? 'n/a'} ms`);
      for (const extra of opts.extraBackends ?? []) {
        row.extra ??= {};
        try {
          if (!(await tf.setBackend(extra))) throw new Error('setBackend returned false');
          row.extra[extra] = await tfRun(extra);
        } catch (e) {
          row.extra[extra] = null;
          errors.push(`tfjs-${extra}: ${errText(e)}`);
        }
        log(`model ${phase}: tfjs-${extra} steady ${row.extra[extra]?.steady.median.toFixed(1) ?? 'n/a'} ms`);
      }
      await tf.setBackend(backend);
      row.ratio = speedup(row.tfjs?.steady.median, row.osteo?.steady.median);
      if (errors.length) row.errors = errors;
      rows.push(row);
    }
  } finally {
    model.dispose();
    await engine.sync();
  }
  return rows;
}

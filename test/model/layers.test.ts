/**
 * Layer labels in profile records: a tiny U-Net++ training step (forward, backward, AdamW) under
 * `engine.profile` stamps each dispatch with its layer, the backward ones with `<layer> (backward)`,
 * and the Perfetto trace carries them. Also: eval-mode BN folding sees the parameters and running
 * stats a training step just wrote (the folded weights are never stale).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Graph } from '../../src/autograd/graph';
import { traceEvents } from '../../src/cli/commands/profile';
import type { Engine } from '../../src/gpu/engine';
import { summarize, type DispatchRecord } from '../../src/gpu/profiler';
import { relu } from '../../src/kernels/elementwise';
import { initializeUnetPP } from '../../src/model/init';
import { UnetPlusPlus, type UnetPPConfig } from '../../src/model/unetpp';
import { AdamW } from '../../src/nn/optim';
import { assertClose } from '../helpers/compare';
import { nodeEngine } from '../helpers/node_engine';
import { precompileUnetPP } from '../../src/model/precompile';
import { randn, uniform } from '../helpers/random';

const CONFIG: UnetPPConfig = { classes: 2, inChannels: 1, widths: [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8], decoderChannels: [8, 8, 4, 4, 4] };
const N = 2, S = 32;

let engine: Engine;
beforeAll(async () => {
  engine = await nodeEngine();
  // compile ahead and asynchronously: a first forward compiling ~50 shaders synchronously holds this worker's event
  // loop for seconds
  await precompileUnetPP(engine, CONFIG, [{ batch: N, size: S }, { batch: N, size: S, training: true }]);
});
afterAll(() => engine?.destroy());

describe('layer labels', () => {
  test('engine.label nests, restores on throw, and is stamped into records', async () => {
    const x = engine.tensor(new Float32Array(64).fill(-1), [64]);
    const ys: ReturnType<typeof relu>[] = [];
    const prof = await engine.profile(() => {
      ys.push(relu(x));
      engine.label('outer', () => {
        ys.push(relu(x));
        engine.label('inner', () => ys.push(relu(x)));
        ys.push(relu(x));
      });
      expect(() => engine.label('boom', () => { throw new Error('x'); })).toThrow('x');
      ys.push(relu(x));
    });
    expect(prof.records.map((r) => r.layer)).toEqual(['', 'outer', 'inner', 'outer', '']);
    expect(engine.layer).toBe('');
    for (const t of [x, ...ys]) t.dispose();
  });

  test('a training step’s records name their layers, forward and backward, and the trace has them', async () => {
    const model = new UnetPlusPlus(engine, CONFIG);
    initializeUnetPP(model, 1);
    const opt = new AdamW(model.params, { lr: 1e-3 });
    const x = engine.tensor(uniform(N * S * S, 1, 0, 1), [N, 1, S, S]);
    const t = engine.tensor(randn(N * CONFIG.classes * S * S, 2, 0.5), [N, CONFIG.classes, S, S]);
    const prof = await engine.profile(async () => {
      const g = new Graph(engine);
      const logits = model.forward(g, g.input(x));
      const loss = g.mseLoss(logits, g.input(t));
      logits.release();
      await g.backward(loss, { checkFinite: false });
      loss.release();
      opt.step();
      opt.zeroGrad();
    });
    const recs = prof.records;
    const has = (layer: string, kernel: RegExp) => recs.some((r) => r.layer === layer && kernel.test(r.kernel));
    const conv1 = 'decoder.blocks.x_0_0.conv1';
    expect(has(conv1, /^conv2d/)).toBe(true);
    expect(has(conv1, /^bn_stats/)).toBe(true);
    expect(has(`${conv1} (backward)`, /^conv2d_dW/)).toBe(true);
    expect(has(`${conv1} (backward)`, /^conv2d/)).toBe(true);
    expect(has(`${conv1} (backward)`, /^bn_bwd/)).toBe(true);
    expect(has('decoder.blocks.x_0_1', /^upsample|^copy|^concat/)).toBe(true);
    expect(has('encoder.features.0', /^conv2d/)).toBe(true);
    expect(has('encoder.features.0 (backward)', /^conv2d_dW/)).toBe(true);
    expect(has('encoder.features.4', /pool/)).toBe(true);
    expect(has('segmentation_head', /^conv2d/)).toBe(true);
    expect(has('segmentation_head (backward)', /^conv2d_db/)).toBe(true);
    expect(has('mseLoss (backward)', /^mse_backward/)).toBe(true);
    expect(has('optimizer.step', /^adamw/)).toBe(true);
    // every conv dispatch belongs to a layer; only the loss forward and the seed are unlabelled
    const unlabelled = recs.filter((r) => r.layer === '').map((r) => r.kernel);
    expect(recs.filter((r) => /^conv2d/.test(r.kernel) && r.layer === '')).toEqual([]);
    expect(unlabelled.length).toBeLessThanOrEqual(3);
    expect(summarize(recs, 'layer').find((s) => s.kernel === conv1)!.calls).toBeGreaterThanOrEqual(2);

    const trace = JSON.parse(JSON.stringify(traceEvents(recs, { fmaGflops: 1, copyGbps: 1 }, 'test'))) as ReturnType<typeof traceEvents>;
    expect(trace.traceEvents).toHaveLength(recs.length);
    const ev = trace.traceEvents.find((e) => e.args.layer === `${conv1} (backward)` && String(e.args.kernel).startsWith('conv2d_dW'))!;
    expect(ev).toBeDefined();
    expect(ev.name).toBe(`${conv1} (backward) [${ev.args.kernel}]`);
    expect(trace.traceEvents.some((e) => e.name.startsWith(`${conv1} [conv2d`))).toBe(true);

    // after the step wrote weights and running stats, folded eval inference sees the new values
    const infer = async (foldBatchNorm: boolean) => {
      const g = new Graph(engine, { grad: false, training: false });
      const y = model.forward(g, g.input(x), { foldBatchNorm });
      const out = await y.value.read();
      y.release();
      return out;
    };
    const folded = await infer(true);
    const plain = await infer(false);
    let m = 0;
    for (const v of plain) m = Math.max(m, Math.abs(v));
    assertClose(folded, plain, 'folded eval after a training step', { atol: 1e-4 * m + 1e-7, rtol: 1e-2 });
    // the step really changed the running stats (so the check above is not vacuous)
    const rv = await model.params.read(`${conv1}.1.running_var`);
    expect(rv.some((v) => Math.abs(v - 1) > 1e-4)).toBe(true);

    for (const r of recs as DispatchRecord[]) expect(typeof r.layer).toBe('string');
    x.dispose();
    t.dispose();
    opt.dispose();
    model.dispose();
  }, 300_000);
});

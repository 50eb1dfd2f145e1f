/**
 * The whole U-Net++/VGG19 on our engine against an independent tfjs implementation of the same
 * network (bench/reference/tfjs_unetpp.ts) with the same weights: eval-mode outputs, and in
 * training mode the loss, every parameter gradient and the BatchNorm running-stat updates.
 * Small widths and 32x32 inputs keep tfjs-cpu's backward affordable.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Graph } from '../../src/autograd/graph';
import type { Engine } from '../../src/gpu/engine';
import { ShapeError } from '../../src/gpu/errors';
import { foldPays, UnetPlusPlus } from '../../src/model/unetpp';
import { unetPlusPlusExpected } from '../../src/weights/smp';
import { randomUnetPPWeights, TfUnetPlusPlus, type UnetPPConfig } from '../../bench/reference/tfjs_unetpp';
import { assertClose } from '../helpers/compare';
import { nodeEngine } from '../helpers/node_engine';
import { precompileUnetPP } from '../../src/model/precompile';
import { randn, uniform } from '../helpers/random';
import { tfCpu } from '../helpers/tf';

const WIDTHS = [4, 4, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 32, 32, 32, 32];
const CONFIG: UnetPPConfig = { classes: 3, inChannels: 1, widths: WIDTHS, decoderChannels: [16, 8, 8, 4, 4] };
const N = 2, S = 32;

let engine: Engine;
beforeAll(async () => {
  engine = await nodeEngine();
  // compile ahead and asynchronously: a first forward compiling ~50 shaders synchronously holds this worker's event
  // loop for seconds
  await precompileUnetPP(engine, CONFIG, [{ batch: N, size: S }, { batch: N, size: S, training: true }]);
});
afterAll(() => engine?.destroy());

function loadInto(model: UnetPlusPlus, weights: Map<string, Float32Array>): void {
  for (const [name, data] of weights) {
    if (name.endsWith('num_batches_tracked')) continue;
    model.params.load(name, data);
  }
}

/** Relative L2-style bound: elementwise atol scaled to the tensor's largest magnitude. */
function tolFor(ref: Float32Array, rel = 2e-3) {
  let m = 0;
  for (const v of ref) m = Math.max(m, Math.abs(v));
  return { atol: rel * m + 1e-7, rtol: 1e-2 };
}

describe('U-Net++/VGG19 vs the tfjs reference', () => {
  test('the full-size model has smp’s 39.9 M parameters and names', () => {
    const expected = unetPlusPlusExpected({ classes: 1, inputChannels: 3 }).filter((t) => !/running|num_batches/.test(t.name));
    const count = expected.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(count).toBe(39_936_401);
    expect(expected.some((t) => t.name === 'decoder.blocks.x_0_1.conv1.0.weight' && t.shape.join() === '128,1280,3,3')).toBe(true);
  });

  test('eval-mode heatmaps equal', async () => {
    const tf = await tfCpu();
    const weights = randomUnetPPWeights(CONFIG, 3);
    const xData = uniform(N * S * S, 4, 0, 1);
    const ref = new TfUnetPlusPlus(tf, CONFIG, weights);
    const refOut = tf.tidy(() => ref.forward(tf.tensor4d(xData, [N, 1, S, S]), { training: false }).dataSync() as Float32Array);
    ref.dispose();

    const model = new UnetPlusPlus(engine, CONFIG);
    loadInto(model, weights);
    const x = engine.tensor(xData, [N, 1, S, S]);
    const g = new Graph(engine, { grad: false, training: false });
    const before = engine.memory().liveBytes;
    const y = model.forward(g, g.input(x));
    const got = await y.value.read();
    y.release();
    // inference frees every activation (what stays is the packed-weight cache of a software adapter's direct convs)
    expect(engine.memory().liveBytes - model.params.derivedBytes).toBe(before);
    assertClose(got, refOut, 'eval logits', tolFor(refOut));
    x.dispose();
    model.dispose();
  });

  test('training mode: loss, every parameter gradient and running stats equal', async () => {
    const tf = await tfCpu();
    const weights = randomUnetPPWeights(CONFIG, 5);
    const xData = uniform(N * S * S, 6, 0, 1);
    const tData = randn(N * CONFIG.classes * S * S, 7, 0.5);
    const ref = new TfUnetPlusPlus(tf, CONFIG, weights);
    const xs = tf.tensor4d(xData, [N, 1, S, S]);
    const ts = tf.tensor4d(tData, [N, CONFIG.classes, S, S]);
    const refRun = ref.lossAndGrads(xs, ts, 'mse', { training: true });
    tf.dispose([xs, ts]);
    ref.dispose();

    const model = new UnetPlusPlus(engine, CONFIG);
    loadInto(model, weights);
    const x = engine.tensor(xData, [N, 1, S, S]);
    const t = engine.tensor(tData, [N, CONFIG.classes, S, S]);
    model.params.zeroGrad(); // as a training loop does: the gradient arenas exist from here on
    const live = engine.memory().liveBytes - model.params.derivedBytes;
    const g = new Graph(engine);
    const logits = model.forward(g, g.input(x));
    const loss = g.mseLoss(logits, g.input(t));
    logits.release();
    const lossValue = (await loss.value.read())[0]!;
    await g.backward(loss);
    loss.release();
    expect(engine.memory().liveBytes - model.params.derivedBytes).toBe(live); // backward freed every activation and gradient

    assertClose([lossValue], [refRun.loss], 'loss', { atol: 1e-6, rtol: 1e-4 });
    const failures: string[] = [];
    let checked = 0;
    for (const [name, want] of refRun.grads) {
      try {
        assertClose(await model.params.readGrad(name), want, `d ${name}`, tolFor(want, 5e-3));
      } catch (e) {
        failures.push((e as Error).message);
      }
      checked++;
    }
    expect(checked).toBe(model.params.names.length);
    expect(failures).toEqual([]);
    for (const [name, want] of refRun.runningStats ?? new Map()) {
      assertClose(await model.params.read(name), want, name, { atol: 1e-5, rtol: 1e-4 });
    }
    expect(refRun.runningStats?.size).toBeGreaterThan(0);
    x.dispose();
    t.dispose();
    model.dispose();
  }, 300_000);

  test("eval mode 'auto': BN folded only where that moves fewer bytes, same output", async () => {
    const model = new UnetPlusPlus(engine, CONFIG);
    loadInto(model, randomUnetPPWeights(CONFIG, 13));
    const x = engine.tensor(uniform(N * S * S, 14, 0, 1), [N, 1, S, S]);
    const run = async (foldBatchNorm?: boolean | 'auto') => {
      let out!: Float32Array;
      const prof = await engine.profile(async () => {
        const g = new Graph(engine, { grad: false, training: false });
        const y = model.forward(g, g.input(x), foldBatchNorm === undefined ? {} : { foldBatchNorm });
        out = await y.value.read();
        y.release();
      });
      return { out, records: prof.records };
    };
    const auto = await run();
    const plain = await run(false);
    assertClose(auto.out, plain.out, "'auto' vs separate BN", tolFor(plain.out, 1e-4));
    // expected: the decoder convs whose input has N·H·W ≥ Cin·9 (the fold's weight traffic is smaller)
    const convs = auto.records.filter((r) => /^decoder\.blocks\.x_\d_\d\.conv[12]$/.test(r.layer) && /^conv2d/.test(r.kernel) && !/pack/.test(r.kernel));
    const folds = auto.records.filter((r) => /^conv_bn_fold/.test(r.kernel));
    const bns = auto.records.filter((r) => /^bn_apply_eval/.test(r.kernel));
    expect(folds.length + bns.length).toBe(22);
    expect(folds.length).toBeGreaterThan(0);
    expect(bns.length).toBeGreaterThan(0); // at 32² with these widths some layers are deep and small
    expect(convs.length).toBe(22);
    let expected = 0;
    for (const r of convs) {
      const w = model.params.get(`${r.layer}.0.weight`).shape;
      const [n, , h, wd] = r.shape.match(/\d+/g)!.map(Number) as number[]; // x [N, Cin, H, W] first in the shape text
      if (foldPays([n!, 0, h!, wd!], w)) expected++;
    }
    expect(folds.length).toBe(expected);
    x.dispose();
    model.dispose();
  }, 300_000);

  test('eval mode: BN folded into the convs equals the separate-BN path, with no BN dispatches', async () => {
    const weights = randomUnetPPWeights(CONFIG, 11);
    // running stats and affine far from the identity, so a wrong fold cannot hide
    let seed = 100;
    for (const name of weights.keys()) {
      const n = weights.get(name)!.length;
      if (name.endsWith('.1.running_mean')) weights.set(name, uniform(n, seed++, -0.5, 0.5));
      else if (name.endsWith('.1.running_var')) weights.set(name, uniform(n, seed++, 0.05, 3));
      else if (/\.conv[12]\.1\.weight$/.test(name)) weights.set(name, uniform(n, seed++, 0.3, 1.7));
      else if (/\.conv[12]\.1\.bias$/.test(name)) weights.set(name, uniform(n, seed++, -0.4, 0.4));
    }
    const model = new UnetPlusPlus(engine, CONFIG);
    loadInto(model, weights);
    const x = engine.tensor(uniform(N * S * S, 12, 0, 1), [N, 1, S, S]);
    const before = engine.memory().liveBytes;
    const infer = async (foldBatchNorm: boolean) => {
      let out!: Float32Array;
      const prof = await engine.profile(async () => {
        const g = new Graph(engine, { grad: false, training: false });
        const y = model.forward(g, g.input(x), { foldBatchNorm });
        out = await y.value.read();
        y.release();
      });
      return { out, kernels: prof.records.map((r) => r.kernel) };
    };
    const folded = await infer(true);
    const plain = await infer(false);
    expect(engine.memory().liveBytes - model.params.derivedBytes).toBe(before);
    assertClose(folded.out, plain.out, 'folded vs separate BN', tolFor(plain.out, 1e-4));

    const count = (ks: string[], re: RegExp) => ks.filter((k) => re.test(k)).length;
    const decoderConvs = 2 * 11; // 11 decoder nodes (10 of the nested grid + x_0_4), two convs each
    expect(count(folded.kernels, /^bn_/)).toBe(0);
    expect(count(folded.kernels, /^conv_bn_fold/)).toBe(decoderConvs);
    expect(count(plain.kernels, /^bn_apply_eval_relu/)).toBe(decoderConvs);
    // folding adds one small dispatch per conv and removes one BN pass per conv
    // (a software adapter's direct conv packs weights: cached for parameters, packed per pass for folded ones)
    const unpacked = (ks: string[]) => ks.filter((k) => !k.startsWith('conv2d_direct_pack')).length;
    expect(unpacked(folded.kernels)).toBe(unpacked(plain.kernels));

    // a training graph still normalises with batch statistics (folding is inference-only)
    const prof = await engine.profile(() => {
      const g = new Graph(engine, { grad: false, training: true });
      model.forward(g, g.input(x)).release();
    });
    const kernels = prof.records.map((r) => r.kernel);
    expect(count(kernels, /^bn_stats/)).toBe(decoderConvs);
    expect(count(kernels, /^conv_bn_fold/)).toBe(0);
    x.dispose();
    model.dispose();
  }, 300_000);

  test('input sides that are not multiples of 32 and wrong channels are clear errors', () => {
    const model = new UnetPlusPlus(engine, CONFIG);
    expect(() => model.checkInput([1, 1, 48, 64])).toThrow(/multiples of 32.*48x64/);
    expect(() => model.checkInput([1, 3, 64, 64])).toThrow(ShapeError);
    model.dispose();
  });
});

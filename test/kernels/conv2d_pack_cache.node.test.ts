/**
 * The direct conv (software adapters) packs its weights into a per-channel-group layout. For
 * parameters that layout is cached on the weight tensor and rebuilt only after the weights change
 * (Engine.write / ParameterSet.load, optimizer steps): every pass must still see current weights.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Engine } from '../../src/gpu/engine';
import { conv2d, conv2dBackwardInput } from '../../src/kernels/conv2d';
import { AdamW } from '../../src/nn/optim';
import { ParameterSet } from '../../src/nn/params';
import { assertClose } from '../helpers/compare';
import { nodeEngine } from '../helpers/node_engine';
import { randn } from '../helpers/random';
import { convTol, refConvForward, refConvInputGrad, type ConvProblem } from '../suites/conv_reference';

// planes over 16² so the input gradient takes the packed direct kernel, not the pixel-block one
const C: ConvProblem = { n: 2, cin: 5, cout: 6, h: 18, w: 20, k: 3 };
const K = C.cin * 9;

let engine: Engine;
beforeAll(async () => {
  engine = await nodeEngine();
});
afterAll(() => engine?.destroy());

/** Kernel names of the dispatches `fn` records. */
async function kernels(fn: () => void): Promise<string[]> {
  const prof = await engine.profile(fn);
  return prof.records.map((r) => r.kernel);
}

test('parameter weights are packed once per update, and every conv sees the current weights', async () => {
  const params = new ParameterSet(engine, [{ name: 'w', shape: [C.cout, C.cin, 3, 3] }]);
  const x = engine.tensor(randn(C.n * C.cin * C.h * C.w, 1), [C.n, C.cin, C.h, C.w]);
  const dy = engine.tensor(randn(C.n * C.cout * C.h * C.w, 4), [C.n, C.cout, C.h, C.w]);
  const w0 = randn(C.cout * C.cin * 9, 2, 0.3);
  const opts = { algorithm: 'direct' as const };
  try {
    params.load('w', w0);
    const w = params.get('w');
    let y: Float32Array = new Float32Array();
    const first = await kernels(() => {
      const t = conv2d(x, w, null, opts);
      void t.read().then((v) => (y = v));
    });
    expect(first.filter((k) => k.startsWith('conv2d_direct_pack'))).toHaveLength(1);
    assertClose(y, await refConvForward(C, 1, await x.read(), w0, null), 'first forward', convTol(K));

    // same weights: no pack; the input gradient packs its own (flipped) layout once
    const again = await kernels(() => {
      conv2d(x, w, null, opts).dispose();
      conv2dBackwardInput(dy, w, x.shape, opts).dispose();
      conv2dBackwardInput(dy, w, x.shape, opts).dispose();
    });
    expect(again.filter((k) => k.startsWith('conv2d_direct_pack'))).toEqual(['conv2d_direct_pack_k3_8_flip']);

    // a load replaces the weights: the next forward repacks and uses them
    const w1 = randn(w0.length, 3, 0.3);
    params.load('w', w1);
    const afterLoad = await kernels(() => conv2d(x, w, null, opts).dispose());
    expect(afterLoad.filter((k) => k.startsWith('conv2d_direct_pack'))).toHaveLength(1);
    const y1 = await conv2d(x, w, null, opts).read();
    assertClose(y1, await refConvForward(C, 1, await x.read(), w1, null), 'forward after load', convTol(K));

    // an optimizer step changes them too
    const opt = new AdamW(params, { lr: 0.05, weightDecay: 0 });
    params.loadGrad('w', randn(w0.length, 5));
    opt.step();
    const w2 = await params.read('w');
    expect(w2).not.toEqual(w1);
    const y2 = await conv2d(x, w, null, opts).read();
    assertClose(y2, await refConvForward(C, 1, await x.read(), w2, null), 'forward after an optimizer step', convTol(K));
    const dx2 = await conv2dBackwardInput(dy, w, x.shape, opts).read();
    assertClose(dx2, await refConvInputGrad(C, 1, await dy.read(), w2), 'input gradient after an optimizer step', convTol(C.cout * 9));
    opt.dispose();
  } finally {
    x.dispose();
    dy.dispose();
    params.dispose();
  }
  await engine.sync();
});

test('a plain tensor (not a parameter) is packed on every pass, and frees its packing', async () => {
  const x = engine.tensor(randn(C.n * C.cin * C.h * C.w, 6), [C.n, C.cin, C.h, C.w]);
  const w = engine.tensor(randn(C.cout * C.cin * 9, 7), [C.cout, C.cin, 3, 3]);
  await engine.sync();
  const live = engine.memory().liveBytes;
  const ks = await kernels(() => {
    conv2d(x, w, null, { algorithm: 'direct' }).dispose();
    conv2d(x, w, null, { algorithm: 'direct' }).dispose();
  });
  expect(ks.filter((k) => k.startsWith('conv2d_direct_pack'))).toHaveLength(2);
  expect(engine.memory().liveBytes).toBe(live);
  x.dispose();
  w.dispose();
});

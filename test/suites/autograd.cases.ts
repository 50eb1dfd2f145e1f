import { AutogradError, Graph, NonFiniteLossError } from '../../src/autograd/graph';
import type { Engine } from '../../src/gpu/engine';
import { ParameterSet } from '../../src/nn/params';
import { AdamW } from '../../src/nn/optim';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import { nchwToNhwc, nhwcToNchw, oihwToHwio, tfCpu } from '../helpers/tf';
import type { Case } from './case';

/**
 * A small composite network that exercises every rule the U-Net++ uses:
 *   a = conv3x3(x) + b1;  h = relu(bn(a));  p = maxpool(h);  c = relu(conv3x3(p) + b2)
 *   u = concat[up2x(c), h];  d = conv1x1(u) + b3;  loss = mse(d, target)
 * Every parameter gradient (and dx) is compared with tfjs-cpu's tf.grads of the same network.
 */
const N = 2, CIN = 3, H = 10, W = 12, C1 = 5, C2 = 6, COUT = 3;
const SHAPES: Record<string, number[]> = {
  w1: [C1, CIN, 3, 3],
  b1: [C1],
  gamma: [C1],
  beta: [C1],
  w2: [C2, C1, 3, 3],
  b2: [C2],
  w3: [COUT, C2 + C1, 1, 1],
  b3: [COUT],
};

function initial(seed: number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  let s = seed;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const fanIn = shape.length === 4 ? shape[1]! * shape[2]! * shape[3]! : 1;
    out[name] = name === 'gamma' ? uniform(prod(shape), s++, 0.5, 1.5) : randn(prod(shape), s++, shape.length === 4 ? Math.sqrt(2 / fanIn) : 0.1);
  }
  return out;
}

function makeParams(e: Engine, values: Record<string, Float32Array>): ParameterSet {
  const ps = new ParameterSet(
    e,
    Object.entries(SHAPES).map(([name, shape]) => ({ name, shape })),
    { buffers: [{ name: 'running_mean', shape: [C1] }, { name: 'running_var', shape: [C1] }], label: 'composite' },
  );
  for (const [k, v] of Object.entries(values)) ps.load(k, v);
  ps.load('running_mean', new Float32Array(C1));
  ps.load('running_var', new Float32Array(C1).fill(1));
  return ps;
}

/** Forward of the composite network on our engine; returns the loss Var. */
function forward(g: Graph, ps: ParameterSet, x: ReturnType<Graph['input']>, target: ReturnType<Graph['input']>) {
  const p = (n: string) => g.param(ps.get(n), () => ps.grad(n), n);
  const a = g.conv2d(x, p('w1'), p('b1'));
  const h = g.batchNorm(a, p('gamma'), p('beta'), { runningMean: ps.buffer('running_mean'), runningVar: ps.buffer('running_var'), relu: true });
  a.release();
  const pooled = g.maxPool2d(h);
  const c = g.conv2d(pooled, p('w2'), p('b2'), { relu: true });
  pooled.release();
  const u = g.upConcat(c, [h]);
  c.release();
  h.release();
  const d = g.conv2d(u, p('w3'), p('b3'));
  u.release();
  const loss = g.mseLoss(d, target);
  d.release();
  return loss;
}

async function reference(values: Record<string, Float32Array>, xData: Float32Array, tData: Float32Array) {
  const tf = await tfCpu();
  const x = nchwToNhwc(tf, xData, [N, CIN, H, W]);
  const target = nchwToNhwc(tf, tData, [N, COUT, H, W]);
  const vars: Record<string, import('@tensorflow/tfjs-core').Tensor> = {};
  for (const [k, v] of Object.entries(values)) vars[k] = SHAPES[k]!.length === 4 ? oihwToHwio(tf, v, SHAPES[k]!) : tf.tensor1d(v);
  const names = Object.keys(vars);
  const lossFn = (xx: import('@tensorflow/tfjs-core').Tensor, ...ws: import('@tensorflow/tfjs-core').Tensor[]) => {
    const v = Object.fromEntries(names.map((n, i) => [n, ws[i]!]));
    const a = tf.add(tf.conv2d(xx as never, v.w1 as never, 1, 'same'), v.b1!);
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    const h = tf.relu(tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), v.gamma!), v.beta!));
    const pooled = tf.maxPool(h as never, 2, 2, 'valid');
    const c = tf.relu(tf.add(tf.conv2d(pooled, v.w2 as never, 1, 'same'), v.b2!));
    // nearest 2x as stack+reshape: tfjs 4.22's resizeNearestNeighbor gradient is wrong for batch > 1
    const upW = tf.reshape(tf.stack([c, c], 3), [N, H / 2, W, C2]);
    const up = tf.reshape(tf.stack([upW, upW], 2), [N, H, W, C2]);
    const u = tf.concat([up, h], 3);
    const d = tf.add(tf.conv2d(u as never, v.w3 as never, 1, 'same'), v.b3!);
    return tf.mean(tf.square(tf.sub(d, target)));
  };
  const gradFn = tf.grads(lossFn as never);
  const grads = gradFn([x, ...names.map((n) => vars[n]!)]);
  const loss = (lossFn(x, ...names.map((n) => vars[n]!)).dataSync() as Float32Array)[0]!;
  const out: Record<string, Float32Array> = { x: nhwcToNchw(tf, grads[0]!) };
  names.forEach((n, i) => {
    const gr = grads[i + 1]!;
    out[n] = SHAPES[n]!.length === 4 ? (tf.transpose(gr, [3, 2, 0, 1]).dataSync() as Float32Array) : (gr.dataSync() as Float32Array);
  });
  tf.dispose([x, target, ...Object.values(vars), ...grads]);
  return { loss, grads: out };
}

const GRAD_TOL = { atol: 2e-5, rtol: 2e-3 };

export const autogradCases: Case[] = [
  {
    name: 'composite network: loss, dx and every parameter gradient vs tfjs',
    async run(e) {
      const values = initial(11);
      const xData = randn(N * CIN * H * W, 5);
      const tData = randn(N * COUT * H * W, 6);
      const ps = makeParams(e, values);
      const g = new Graph(e);
      const x = g.input(e.tensor(xData, [N, CIN, H, W]), true);
      const target = g.input(e.tensor(tData, [N, COUT, H, W]));
      const loss = forward(g, ps, x, target);
      const lossValue = (await loss.value.read())[0]!;
      await g.backward(loss);
      const ref = await reference(values, xData, tData);
      assertClose([lossValue], [ref.loss], 'loss', { atol: 1e-5, rtol: 1e-4 });
      const failures: string[] = [];
      const check = (got: Float32Array, want: Float32Array, what: string) => {
        try {
          assertClose(got, want, what, GRAD_TOL);
        } catch (err) {
          failures.push((err as Error).message);
        }
      };
      check(await x.grad!.read(), ref.grads.x!, 'dx');
      for (const name of Object.keys(SHAPES)) check(await ps.readGrad(name), ref.grads[name]!, `d${name}`);
      if (failures.length) throw new Error(failures.join('\n'));
      loss.release();
      x.grad!.dispose();
      x.value.dispose();
      target.value.dispose();
      ps.dispose();
    },
  },
  {
    name: 'gradients accumulate (+=) over two backward passes',
    async run(e) {
      const values = initial(21);
      const xData = randn(N * CIN * H * W, 7);
      const tData = randn(N * COUT * H * W, 8);
      const ps = makeParams(e, values);
      const xt = e.tensor(xData, [N, CIN, H, W]);
      const tt = e.tensor(tData, [N, COUT, H, W]);
      for (let i = 0; i < 2; i++) {
        const g = new Graph(e);
        const loss = forward(g, ps, g.input(xt), g.input(tt));
        await g.backward(loss);
        loss.release();
      }
      const ref = await reference(values, xData, tData);
      for (const name of ['w1', 'b2', 'w3']) {
        assertClose(await ps.readGrad(name), ref.grads[name]!.map((v) => 2 * v), `2·d${name}`, GRAD_TOL);
      }
      xt.dispose();
      tt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'a whole training step (forward, backward, AdamW) leaks nothing and loss falls',
    async run(e) {
      const ps = makeParams(e, initial(31));
      const opt = new AdamW(ps, { lr: 1e-2, weightDecay: 0 });
      const xt = e.tensor(randn(N * CIN * H * W, 9), [N, CIN, H, W]);
      const tt = e.tensor(randn(N * COUT * H * W, 10, 0.5), [N, COUT, H, W]);
      const losses: number[] = [];
      let live = -1;
      for (let step = 0; step < 30; step++) {
        const g = new Graph(e);
        opt.zeroGrad();
        const loss = forward(g, ps, g.input(xt), g.input(tt));
        losses.push((await loss.value.read())[0]!);
        await g.backward(loss);
        loss.release();
        opt.step();
        await e.sync();
        if (step === 1) live = e.memory().liveBytes;
        if (step > 1) assert(e.memory().liveBytes === live, `step ${step}: live bytes ${e.memory().liveBytes} != ${live} after step 1 (a leak)`);
      }
      assert(losses.at(-1)! < losses[0]! * 0.5, `loss fell from ${losses[0]} to ${losses.at(-1)} (expected at least 2x in 30 AdamW steps)`);
      xt.dispose();
      tt.dispose();
      opt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'no-grad mode records nothing and frees released values at once',
    async run(e) {
      const ps = makeParams(e, initial(41));
      const g = new Graph(e, { grad: false, training: false });
      const xt = e.tensor(randn(N * CIN * H * W, 12), [N, CIN, H, W]);
      const tt = e.tensor(randn(N * COUT * H * W, 13), [N, COUT, H, W]);
      const before = e.memory().liveBytes;
      const loss = forward(g, ps, g.input(xt), g.input(tt));
      // (plus, on a software adapter, the direct conv's packed weights cached on the parameters)
      const alive = e.memory().liveBytes - ps.derivedBytes - before;
      assert(alive <= 256, `only the loss is alive after an inference forward (${alive} bytes)`);
      await assertThrows(() => g.backward(loss), /no-grad graph/, 'backward in no-grad mode');
      loss.release();
      xt.dispose();
      tt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'bad use: backward without forward, non-scalar without seed, NaN loss',
    async run(e) {
      const ps = makeParams(e, initial(51));
      const xt = e.tensor(randn(N * CIN * H * W, 14), [N, CIN, H, W]);
      const g = new Graph(e);
      const x = g.input(xt);
      await assertThrows(() => g.backward(x), /without a forward/, 'backward on a leaf');
      const y = g.conv2d(x, g.param(ps.get('w1'), ps.grad('w1'), 'w1'), null);
      const err = await assertThrows(() => g.backward(y), /non-scalar output \[2, 5, 10, 12\] needs a seed/, 'non-scalar');
      assert(err instanceof AutogradError, 'AutogradError');
      y.release();
      g.dispose();

      const g2 = new Graph(e);
      const nanTarget = e.tensor(new Float32Array(N * C1 * H * W).fill(NaN), [N, C1, H, W]);
      const y2 = g2.conv2d(g2.input(xt), g2.param(ps.get('w1'), ps.grad('w1'), 'w1'), null);
      const loss = g2.mseLoss(y2, g2.input(nanTarget));
      y2.release();
      const nanErr = await assertThrows(() => g2.backward(loss), /loss is NaN/, 'NaN loss');
      assert(nanErr instanceof NonFiniteLossError, 'NonFiniteLossError');
      loss.release();
      nanTarget.dispose();
      xt.dispose();
      ps.dispose();
    },
  },
];

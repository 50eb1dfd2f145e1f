import { ShapeError } from '../../src/gpu/errors';
import { batchNorm } from '../../src/kernels/batchnorm';
import { foldBatchNorm } from '../../src/kernels/bn_fold';
import { conv2d } from '../../src/kernels/conv2d';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import type { Case } from './case';

/** Plain-TS (float64) fold: s = γ/√(var + eps), w' = w·s per output channel, b' = β − μ·s + s·b. */
function refFold(w: Float32Array, cout: number, bias: Float32Array | null, gamma: Float32Array, beta: Float32Array, mean: Float32Array, vr: Float32Array, eps: number) {
  const k = w.length / cout;
  const wf = new Float32Array(w.length);
  const bf = new Float32Array(cout);
  for (let co = 0; co < cout; co++) {
    const s = gamma[co]! / Math.sqrt(vr[co]! + eps);
    for (let j = 0; j < k; j++) wf[co * k + j] = w[co * k + j]! * s;
    bf[co] = beta[co]! - mean[co]! * s + s * (bias ? bias[co]! : 0);
  }
  return { wf, bf };
}

interface Spec {
  shape: [number, number, number, number];
  bias: boolean;
  eps?: number;
}

const SPECS: Spec[] = [
  { shape: [5, 3, 3, 3], bias: false },
  { shape: [7, 1, 1, 1], bias: true },
  { shape: [13, 6, 3, 3], bias: true, eps: 1e-3 },
  { shape: [3, 10, 1, 1], bias: false },
  // K = Cin·kh·kw a multiple of 4: the vec4 variant
  { shape: [13, 4, 3, 3], bias: true },
  { shape: [6, 8, 1, 1], bias: false },
  { shape: [37, 224, 3, 3], bias: false, eps: 1e-4 },
  { shape: [1, 1, 3, 3], bias: false },
  // ~70 000 weights: many workgroups, channel runs straddling workgroup boundaries
  { shape: [35, 222, 3, 3], bias: true },
];

export const bnFoldCases: Case[] = [
  ...SPECS.map(
    (spec, i): Case => ({
      name: `fold [${spec.shape.join(',')}]${spec.bias ? ' with conv bias' : ''} matches the host reference`,
      async run(e) {
        const [cout] = spec.shape;
        const eps = spec.eps ?? 1e-5;
        const wd = randn(prod(spec.shape), 10 + i, 0.5);
        const bd = spec.bias ? uniform(cout, 20 + i, -0.3, 0.3) : null;
        const gd = uniform(cout, 30 + i, 0.5, 1.5);
        const betad = uniform(cout, 40 + i, -0.5, 0.5);
        const md = uniform(cout, 50 + i, -0.4, 0.4);
        const vd = uniform(cout, 60 + i, 0.01, 3);
        const w = e.tensor(wd, spec.shape);
        const b = bd ? e.tensor(bd, [cout]) : null;
        const g = e.tensor(gd, [cout]);
        const beta = e.tensor(betad, [cout]);
        const m = e.tensor(md, [cout]);
        const v = e.tensor(vd, [cout]);
        const { weight, bias } = foldBatchNorm(w, b, g, beta, m, v, { eps });
        assert(weight.shape.join() === spec.shape.join() && bias.shape.join() === String(cout), `shapes ${weight.shape} / ${bias.shape}`);
        const ref = refFold(wd, cout, bd, gd, betad, md, vd, eps);
        assertClose(await weight.read(), ref.wf, 'folded weight', { atol: 1e-6, rtol: 1e-5 });
        assertClose(await bias.read(), ref.bf, 'folded bias', { atol: 1e-6, rtol: 1e-5 });
        for (const t of [w, b, g, beta, m, v, weight, bias]) t?.dispose();
      },
    }),
  ),
  {
    name: 'conv(w′, b′) + ReLU equals conv → eval BatchNorm → ReLU',
    async run(e) {
      const [n, cin, h, wd, cout] = [2, 3, 7, 5, 6];
      const x = e.tensor(randn(n * cin * h * wd, 1), [n, cin, h, wd]);
      const w = e.tensor(randn(cout * cin * 9, 2, 0.4), [cout, cin, 3, 3]);
      const g = e.tensor(uniform(cout, 3, 0.5, 1.5), [cout]);
      const beta = e.tensor(uniform(cout, 4, -0.5, 0.5), [cout]);
      const m = e.tensor(uniform(cout, 5, -0.3, 0.3), [cout]);
      const v = e.tensor(uniform(cout, 6, 0.2, 2), [cout]);
      const c = conv2d(x, w, null);
      const { y: want } = batchNorm(c, g, beta, m, v, { training: false, relu: true });
      const f = foldBatchNorm(w, null, g, beta, m, v);
      const got = conv2d(x, f.weight, f.bias, { relu: true });
      const ref = await want.read();
      assertClose(await got.read(), ref, 'folded conv', { atol: 1e-5, rtol: 1e-4 });
      for (const t of [x, w, g, beta, m, v, c, want, f.weight, f.bias, got]) t.dispose();
    },
  },
  {
    name: 'mismatched per-channel shapes are ShapeErrors and allocate nothing',
    async run(e) {
      const w = e.zeros([4, 2, 3, 3]);
      const ok = e.zeros([4]);
      const bad = e.zeros([5]);
      const live = e.memory().liveBytes;
      await assertThrows(() => foldBatchNorm(w, null, ok, ok, ok, bad), /runningVar \[5\] must be \[4\]/, 'bad var');
      await assertThrows(() => foldBatchNorm(w, bad, ok, ok, ok, ok), /conv bias \[5\]/, 'bad bias');
      const err = await assertThrows(() => foldBatchNorm(ok, null, ok, ok, ok, ok), /OIHW/, 'rank');
      assert(err instanceof ShapeError, 'ShapeError');
      assert(e.memory().liveBytes === live, 'nothing allocated by failing calls');
      for (const t of [w, ok, bad]) t.dispose();
    },
  },
];

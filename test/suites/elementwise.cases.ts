import type { Tensor } from '../../src/gpu/tensor';
import { add, addInto, fill, isFinite as allFinite, mul, reluBackward, scale, sigmoidBackward, sumAll } from '../../src/kernels/arith';
import { relu, sigmoid } from '../../src/kernels/elementwise';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { randn, prod, uniform } from '../helpers/random';
import { tfCpu } from '../helpers/tf';
import type { Case } from './case';

const SHAPES = [[1], [7], [2, 3, 5, 7], [3, 4, 8, 8], [1, 1, 33, 17]];

export const elementwiseCases: Case[] = [];
for (const [name, op, ref] of [
  ['relu', relu, 'relu'],
  ['sigmoid', sigmoid, 'sigmoid'],
] as const) {
  for (const shape of SHAPES) {
    elementwiseCases.push({
      name: `${name} ${shape.join('x')}`,
      async run(e) {
        const tf = await tfCpu();
        const data = randn(prod(shape), shape.length * 31 + prod(shape), 4);
        // include the tails where a naive sigmoid overflows
        if (data.length > 2) {
          data[0] = 90;
          data[1] = -90;
        }
        const x = e.tensor(data, shape);
        const y = op(x);
        const got = await y.read();
        const want = tf.tidy(() => tf[ref](tf.tensor(data)).dataSync() as Float32Array);
        assertClose(got, want, `${name} ${shape}`, { atol: 1e-6, rtol: 1e-5 });
        x.dispose();
        y.dispose();
      },
    });
  }
}

// ------------------------------------------------------------------ arith (autograd helpers)

const ARITH_SHAPES = [[1], [7], [2, 3, 5, 7], [3, 4, 8, 8], [1, 1, 33, 17]];

for (const shape of ARITH_SHAPES) {
  const n = prod(shape);
  const tag = shape.join('x');
  elementwiseCases.push({
    name: `arith binary ops ${tag}`,
    async run(e) {
      const tf = await tfCpu();
      const ad = randn(n, n + 1);
      const bd = randn(n, n + 2);
      const yd = Float32Array.from(randn(n, n + 3), (v) => (n > 1 ? v : 0.5)); // relu mask: signs vary
      const sd = uniform(n, n + 4, 0, 1); // a sigmoid output
      const a = e.tensor(ad, shape);
      const b = e.tensor(bd, shape);
      const y = e.tensor(yd, shape);
      const s = e.tensor(sd, shape);
      const k = e.tensor([-1.75], [1]);
      const outs = [add(a, b), mul(a, b), reluBackward(a, y), sigmoidBackward(a, s), scale(a, 0.3), scale(a, k)];
      const got = await Promise.all(outs.map((t) => t.read()));
      const want = tf.tidy(() => {
        const [ta, tb, ty, ts] = [ad, bd, yd, sd].map((d) => tf.tensor(d));
        const dRelu = tf.grad((v: import('@tensorflow/tfjs-core').Tensor) => tf.sum(tf.mul(tf.relu(v), ta!)))(ty!);
        return [
          tf.add(ta!, tb!),
          tf.mul(ta!, tb!),
          // relu' at y: y > 0 (y is also relu's input here, same mask)
          dRelu,
          tf.mul(tf.mul(ta!, ts!), tf.sub(1, ts!)),
          tf.mul(ta!, 0.3),
          tf.mul(ta!, -1.75),
        ].map((t) => t.dataSync() as Float32Array);
      });
      ['add', 'mul', 'reluBackward', 'sigmoidBackward', 'scale(number)', 'scale(tensor)'].forEach((name, i) =>
        assertClose(got[i]!, want[i]!, `${name} ${tag}`, { atol: 1e-6, rtol: 1e-5 }),
      );
      for (const t of [a, b, y, s, k, ...outs]) t.dispose();
    },
  });
  elementwiseCases.push({
    name: `arith in-place and reductions ${tag}`,
    async run(e) {
      const ad = randn(n, n + 5);
      const bd = randn(n, n + 6);
      const a = e.tensor(ad, shape);
      const b = e.tensor(bd, shape);
      addInto(a, b);
      const gotAdd = await a.read();
      assertClose(gotAdd, ad.map((v, i) => v + bd[i]!), `addInto ${tag}`, { atol: 1e-6, rtol: 1e-6 });
      addInto(b, b);
      assertClose(await b.read(), bd.map((v) => 2 * v), `addInto(self) ${tag}`, { atol: 0, rtol: 0 });
      const total = sumAll(a);
      let want = 0;
      for (const v of gotAdd) want += v;
      assertClose(await total.read(), [want], `sumAll ${tag}`, { atol: 1e-4, rtol: 1e-5 });
      const fin = allFinite(a);
      assertClose(await fin.read(), [1], `isFinite(finite) ${tag}`, { atol: 0, rtol: 0 });
      fill(a, 2.5);
      assertClose(await a.read(), new Float32Array(n).fill(2.5), `fill ${tag}`, { atol: 0, rtol: 0 });
      fill(a, 0);
      assertClose(await a.read(), new Float32Array(n), `fill 0 ${tag}`, { atol: 0, rtol: 0 });
      for (const t of [a, b, total, fin]) t.dispose();
    },
  });
}

elementwiseCases.push({
  name: 'sumAll and isFinite: two-stage sizes, NaN/Inf anywhere',
  async run(e) {
    for (const n of [8191, 8192, 8193, 3 * 4 * 67 * 67 + 1]) {
      const d = uniform(n, n, -1, 1);
      const x = e.tensor(d, [n]);
      const s = sumAll(x);
      const f = allFinite(x);
      let want = 0;
      for (const v of d) want += v;
      assertClose(await s.read(), [want], `sumAll ${n}`, { atol: 2e-3, rtol: 1e-4 });
      assertClose(await f.read(), [1], `isFinite ${n}`, { atol: 0, rtol: 0 });
      s.dispose();
      f.dispose();
      for (const [at, bad] of [
        [n - 1, NaN],
        [0, Infinity],
        [Math.floor(n / 2), -Infinity],
      ] as const) {
        const dd = Float32Array.from(d);
        dd[at] = bad;
        e.write(x, dd);
        const g = allFinite(x);
        assertClose(await g.read(), [0], `isFinite ${n} with ${bad} at ${at}`, { atol: 0, rtol: 0 });
        g.dispose();
      }
      x.dispose();
    }
  },
});

elementwiseCases.push({
  name: 'addInto between views of one arena (gradient accumulation)',
  async run(e) {
    const ar = e.arena([[3, 5], [3, 5], [7]], 'grads');
    const [g0, g1, g2] = ar.tensors as [Tensor, Tensor, Tensor];
    const d0 = randn(15, 1);
    const d1 = randn(15, 2);
    e.write(g0, d0);
    e.write(g1, d1);
    e.write(g2, new Float32Array(7).fill(1));
    addInto(g0, g1);
    fill(g2, -3);
    assertClose(await g0.read(), d0.map((v, i) => v + d1[i]!), 'arena addInto', { atol: 1e-6, rtol: 1e-6 });
    assertClose(await g1.read(), d1, 'arena src untouched', { atol: 0, rtol: 0 });
    assertClose(await g2.read(), new Float32Array(7).fill(-3), 'arena fill', { atol: 0, rtol: 0 });
    ar.dispose();
  },
});

elementwiseCases.push({
  name: 'arith errors name the shapes and leak nothing',
  async run(e) {
    const a = e.zeros([2, 3]);
    const b = e.zeros([3, 2]);
    const s2 = e.zeros([2]);
    const live = e.memory().liveBytes;
    await assertThrows(() => add(a, b), /\[2, 3\].*\[3, 2\]/, 'add');
    await assertThrows(() => mul(a, b), /\[2, 3\].*\[3, 2\]/, 'mul');
    await assertThrows(() => addInto(a, b), /dst \[2, 3\].*src \[3, 2\]/, 'addInto');
    await assertThrows(() => reluBackward(a, b), /dy \[2, 3\].*y \[3, 2\]/, 'reluBackward');
    await assertThrows(() => sigmoidBackward(a, b), /dy \[2, 3\].*y \[3, 2\]/, 'sigmoidBackward');
    await assertThrows(() => scale(a, s2), /\[1\].*\[2\]/, 'scale by non-scalar');
    const gone = e.zeros([2, 3]);
    gone.dispose();
    await assertThrows(() => add(a, gone), /dispose/, 'disposed input');
    await assertThrows(() => sumAll(gone), /dispose/, 'disposed sumAll');
    assert(e.memory().liveBytes === live, 'failed calls allocate nothing');
    for (const t of [a, b, s2]) t.dispose();
  },
});

import { ShapeError } from '../../src/gpu/errors';
import type { Engine } from '../../src/gpu/engine';
import { concat, copyChannels, sliceChannels } from '../../src/kernels/concat';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import { tfCpu } from '../helpers/tf';
import type { Case } from './case';

const EXACT = { atol: 0, rtol: 0 };

/** concat along channels of NCHW data: tf.concat on axis 1 needs no layout change. */
async function checkConcat(e: Engine, n: number, h: number, w: number, channels: number[], seed: number): Promise<void> {
  const tf = await tfCpu();
  const shapes = channels.map((c) => [n, c, h, w]);
  const datas = shapes.map((s, i) => randn(prod(s), seed + i));
  const xs = datas.map((d, i) => e.tensor(d, shapes[i]!, `x${i}`));
  const y = concat(xs);
  const total = channels.reduce((a, b) => a + b, 0);
  assert(y.shape.join() === [n, total, h, w].join(), `concat shape ${y.shape}`);
  const want = tf.tidy(() => tf.concat(datas.map((d, i) => tf.tensor4d(d, shapes[i] as [number, number, number, number])), 1).dataSync() as Float32Array);
  const got = await y.read();
  const what = `concat ${shapes.map((s) => s.join('x')).join(' + ')}`;
  assertClose(got, want, `${what} vs tf.concat`, EXACT);
  // backward: each input's gradient is its channel slice of dy
  let off = 0;
  for (let i = 0; i < xs.length; i++) {
    const g = sliceChannels(y, off, channels[i]!);
    assert(g.shape.join() === shapes[i]!.join(), `slice shape ${g.shape}`);
    assertClose(await g.read(), datas[i]!, `${what}: sliceChannels(${off}, ${channels[i]})`, EXACT);
    // and tf.slice agrees
    const ref = tf.tidy(() => tf.slice(tf.tensor4d(want, [n, total, h, w]), [0, off, 0, 0], [n, channels[i]!, h, w]).dataSync() as Float32Array);
    assertClose(await g.read(), ref, `${what}: sliceChannels vs tf.slice`, EXACT);
    g.dispose();
    off += channels[i]!;
  }
  for (const t of [...xs, y]) t.dispose();
}

export const concatCases: Case[] = [
  // H*W = 35: scalar path; H*W = 16 / 24: vec4 path; 9x3: scalar; batch 1–3; C 1, 3, 5, 6, 13
  { name: 'concat 2x[1,3,5]x5x7 (scalar)', run: (e) => checkConcat(e, 2, 5, 7, [1, 3, 5], 1) },
  { name: 'concat 3x[6,13]x4x4 (vec4)', run: (e) => checkConcat(e, 3, 4, 4, [6, 13], 2) },
  { name: 'concat 1x[3,1,5,6]x9x3 (scalar)', run: (e) => checkConcat(e, 1, 9, 3, [3, 1, 5, 6], 3) },
  { name: 'concat 2x[4,8]x5x7 (C*H*W multiple of 4 but H*W odd: vec4)', run: (e) => checkConcat(e, 2, 5, 7, [4, 8], 4) },
  { name: 'concat 2x[5]x2x6 (single input)', run: (e) => checkConcat(e, 2, 2, 6, [5], 5) },
  {
    name: 'concat / copyChannels into a channel slice of out leave the other channels alone',
    async run(e) {
      for (const [h, w] of [
        [5, 7],
        [4, 8],
      ] as const) {
        const n = 2;
        const ct = 13;
        const a = randn(n * 3 * h * w, 7);
        const b = randn(n * 5 * h * w, 8);
        const s = randn(n * 1 * h * w, 9);
        const sentinel = randn(n * ct * h * w, 10);
        const at = e.tensor(a, [n, 3, h, w]);
        const bt = e.tensor(b, [n, 5, h, w]);
        const st = e.tensor(s, [n, 1, h, w]);
        const out = e.tensor(sentinel, [n, ct, h, w]);
        const y = concat([at, bt], { out, outChannelOffset: 2 });
        assert(y === out, 'concat returns out');
        assert(copyChannels(st, out, 11) === out, 'copyChannels returns dst');
        // reference: sentinel with channels 2..4 = a, 5..9 = b, 11 = s
        const want = sentinel.slice();
        const hw = h * w;
        for (let k = 0; k < n; k++) {
          want.set(a.subarray(k * 3 * hw, (k + 1) * 3 * hw), (k * ct + 2) * hw);
          want.set(b.subarray(k * 5 * hw, (k + 1) * 5 * hw), (k * ct + 5) * hw);
          want.set(s.subarray(k * hw, (k + 1) * hw), (k * ct + 11) * hw);
        }
        assertClose(await out.read(), want, `concat into out ${h}x${w}`, EXACT);
        for (const t of [at, bt, st, out]) t.dispose();
      }
    },
  },
  {
    name: 'concat / copyChannels / sliceChannels bad shapes are ShapeErrors naming the shapes',
    async run(e) {
      const a = e.tensor(new Float32Array(2 * 3 * 5 * 7), [2, 3, 5, 7], 'a');
      const b = e.tensor(new Float32Array(2 * 2 * 5 * 6), [2, 2, 5, 6], 'b');
      const c = e.tensor(new Float32Array(1 * 2 * 5 * 7), [1, 2, 5, 7], 'c');
      const r3 = e.tensor(new Float32Array(6), [1, 2, 3], 'r3');
      const out = e.empty([2, 6, 5, 7], 'out');
      const before = e.memory().liveBytes;
      const err = await assertThrows(() => concat([a, b]), /differ in N, H or W: \[2, 3, 5, 7\], \[2, 2, 5, 6\]/, 'W mismatch');
      assert(err instanceof ShapeError, 'ShapeError');
      await assertThrows(() => concat([a, c]), /\[2, 3, 5, 7\], \[1, 2, 5, 7\]/, 'N mismatch');
      await assertThrows(() => concat([]), /no tensors/, 'empty list');
      await assertThrows(() => concat([a, r3]), /\[1, 2, 3\]/, 'rank 3');
      await assertThrows(() => concat([a, a], { out, outChannelOffset: 1 }), /channels \[1, 7\) of out \[2, 6, 5, 7\]/, 'out too small');
      await assertThrows(() => concat([a], { out: b }), /out \[2, 2, 5, 6\]/, 'out of the wrong H/W');
      await assertThrows(() => concat([a], { outChannelOffset: 1 }), /needs an out tensor/, 'offset without out');
      await assertThrows(() => copyChannels(a, out, 4), /src \[2, 3, 5, 7\].*channels \[4, 7\) of dst \[2, 6, 5, 7\]/, 'copyChannels past the end');
      await assertThrows(() => copyChannels(a, out, -1), /channel offset -1/, 'negative offset');
      await assertThrows(() => copyChannels(a, a, 0), /share memory/, 'aliasing');
      await assertThrows(() => sliceChannels(a, 2, 2), /channels \[2, 4\) are out of range for \[2, 3, 5, 7\]/, 'slice out of range');
      await assertThrows(() => sliceChannels(a, 0.5, 1), /channel offset 0.5/, 'fractional offset');
      assert(e.memory().liveBytes === before, 'failed calls allocate nothing');
      for (const t of [a, b, c, r3, out]) t.dispose();
    },
  },
];

import type { Engine } from '../../src/gpu/engine';
import { conv2d, conv2dBackwardInput, type ConvAlgorithm, type ConvDirectTile, type ConvTile } from '../../src/kernels/conv2d';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import type { Case } from './case';
import { convTol as tolFor, refConvForward, refConvInputGrad, withChannelSlice } from './conv_reference';

interface Fwd {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  pad?: number;
  bias?: boolean;
  relu?: boolean;
  /** write into channels [slice, slice+cout) of a tensor with cout+slice+2 channels */
  slice?: number;
  tile?: ConvTile;
  algorithm?: ConvAlgorithm;
  directTile?: ConvDirectTile;
}

function forwardCase(c: Fwd, seed: number): Case {
  const pad = c.pad ?? (c.k - 1) / 2;
  const name = `forward N${c.n} ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k} p${pad}${c.bias ? ' bias' : ''}${c.relu ? ' relu' : ''}${c.slice !== undefined ? ` slice@${c.slice}` : ''}${c.tile ? ` tile ${c.tile.BM}x${c.tile.BN}x${c.tile.BK}/${c.tile.TM}x${c.tile.TN}` : ''}${algName(c)}`;
  const alg = { tile: c.tile, algorithm: c.algorithm, directTile: c.directTile };
  return {
    name,
    async run(e) {
      const xs = [c.n, c.cin, c.h, c.w];
      const ws = [c.cout, c.cin, c.k, c.k];
      const xd = randn(prod(xs), seed, 1);
      const wd = randn(prod(ws), seed + 1, 1 / Math.sqrt(c.cin * c.k * c.k));
      const bd = c.bias ? randn(c.cout, seed + 2, 0.5) : null;
      const oh = c.h + 2 * pad - c.k + 1;
      const ow = c.w + 2 * pad - c.k + 1;
      const x = e.tensor(xd, xs);
      const w = e.tensor(wd, ws);
      const b = bd ? e.tensor(bd, [c.cout]) : null;
      const want = await refConvForward(c, pad, xd, wd, bd, c.relu);
      const tol = tolFor(c.cin * c.k * c.k);
      if (c.slice === undefined) {
        const y = conv2d(x, w, b, { padding: pad, relu: c.relu, ...alg });
        assert(y.shape.join() === [c.n, c.cout, oh, ow].join(), `${name}: shape ${y.shape}`);
        assertClose(await y.read(), want, name, tol);
        y.dispose();
      } else {
        // the slice lands in the middle; the channels around it keep a sentinel
        const ctot = c.cout + c.slice + 2;
        const sentinel = new Float32Array(c.n * ctot * oh * ow).fill(-7.5);
        const out = e.tensor(sentinel, [c.n, ctot, oh, ow]);
        const y = conv2d(x, w, b, { padding: pad, relu: c.relu, out, outChannelOffset: c.slice, ...alg });
        assert(y === out, `${name}: conv2d with out must return out`);
        assertClose(await out.read(), withChannelSlice(sentinel, want, c.n, c.cout, ctot, c.slice, oh * ow), name, tol);
        out.dispose();
      }
      x.dispose();
      w.dispose();
      b?.dispose();
    },
  };
}

interface Bwd {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  pad?: number;
  tile?: ConvTile;
  algorithm?: ConvAlgorithm;
  directTile?: ConvDirectTile;
}

const algName = (c: { algorithm?: ConvAlgorithm; directTile?: ConvDirectTile }): string =>
  c.directTile ? ` direct ${c.directTile.TM}x${c.directTile.PX}` : c.algorithm ? ` ${c.algorithm}` : '';

function backwardCase(c: Bwd, seed: number): Case {
  const pad = c.pad ?? (c.k - 1) / 2;
  const name = `backward-input N${c.n} ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k} p${pad}${c.tile ? ` tile ${c.tile.BM}x${c.tile.BN}x${c.tile.BK}/${c.tile.TM}x${c.tile.TN}` : ''}${algName(c)}`;
  return {
    name,
    async run(e) {
      const oh = c.h + 2 * pad - c.k + 1;
      const ow = c.w + 2 * pad - c.k + 1;
      const ws = [c.cout, c.cin, c.k, c.k];
      const dys = [c.n, c.cout, oh, ow];
      const wd = randn(prod(ws), seed, 1 / Math.sqrt(c.cin * c.k * c.k));
      const dyd = randn(prod(dys), seed + 1, 1);
      const w = e.tensor(wd, ws);
      const dy = e.tensor(dyd, dys);
      const dx = conv2dBackwardInput(dy, w, [c.n, c.cin, c.h, c.w], { padding: pad, tile: c.tile, algorithm: c.algorithm, directTile: c.directTile });
      assert(dx.shape.join() === [c.n, c.cin, c.h, c.w].join(), `${name}: shape ${dx.shape}`);
      const want = await refConvInputGrad(c, pad, dyd, wd);
      assertClose(await dx.read(), want, name, tolFor(c.cout * c.k * c.k));
      for (const t of [w, dy, dx]) t.dispose();
    },
  };
}

export const conv2dCases: Case[] = [];
let seed = 100;
const fwd = (c: Fwd) => conv2dCases.push(forwardCase(c, (seed += 7)));
const bwd = (c: Bwd) => conv2dCases.push(backwardCase(c, (seed += 7)));

// forward: kernel sizes, padding, bias / ReLU, odd sizes, Cin 1 and 3, counts not divisible by 4
fwd({ n: 2, cin: 1, cout: 6, h: 7, w: 5, k: 3 });
fwd({ n: 3, cin: 3, cout: 17, h: 9, w: 11, k: 3, bias: true });
fwd({ n: 2, cin: 5, cout: 32, h: 7, w: 5, k: 3, bias: true, relu: true });
fwd({ n: 2, cin: 13, cout: 1, h: 9, w: 11, k: 3, pad: 0, bias: true });
fwd({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, pad: 0, relu: true });
fwd({ n: 3, cin: 13, cout: 17, h: 9, w: 11, k: 1, bias: true });
fwd({ n: 2, cin: 5, cout: 1, h: 7, w: 5, k: 1, bias: true, relu: true });
fwd({ n: 2, cin: 8, cout: 6, h: 4, w: 6, k: 1, bias: true }); // vec4 weights and vec4 stores
fwd({ n: 2, cin: 4, cout: 17, h: 8, w: 6, k: 3, relu: true }); // K % 4 == 0: vec4 weight loads
// several tiles in every dimension (M, P and K)
fwd({ n: 2, cin: 20, cout: 36, h: 18, w: 18, k: 3, bias: true, relu: true });
fwd({ n: 2, cin: 20, cout: 36, h: 18, w: 18, k: 3, bias: true, tile: { BM: 16, BN: 32, BK: 8, TM: 4, TN: 4 } });
fwd({ n: 2, cin: 7, cout: 33, h: 9, w: 11, k: 3, tile: { BM: 64, BN: 64, BK: 8, TM: 8, TN: 8 } });
fwd({ n: 2, cin: 8, cout: 33, h: 8, w: 8, k: 3, bias: true, tile: { BM: 32, BN: 32, BK: 8, TM: 8, TN: 4 } });
// channel slices of a larger output (zero-copy concat)
fwd({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, bias: true, relu: true, slice: 3 });
fwd({ n: 3, cin: 5, cout: 17, h: 4, w: 4, k: 3, bias: true, slice: 5 });
fwd({ n: 2, cin: 13, cout: 6, h: 9, w: 11, k: 1, slice: 0 });

// backward w.r.t. the input
bwd({ n: 2, cin: 1, cout: 6, h: 7, w: 5, k: 3 });
bwd({ n: 3, cin: 3, cout: 17, h: 9, w: 11, k: 3 });
bwd({ n: 2, cin: 13, cout: 32, h: 7, w: 5, k: 3 });
bwd({ n: 2, cin: 5, cout: 1, h: 9, w: 11, k: 3, pad: 0 });
bwd({ n: 2, cin: 6, cout: 13, h: 9, w: 11, k: 1 });
bwd({ n: 2, cin: 3, cout: 5, h: 5, w: 7, k: 1, pad: 1 }); // k−1−p = −1: the gather crops dy
bwd({ n: 2, cin: 36, cout: 20, h: 18, w: 18, k: 3 });
bwd({ n: 2, cin: 17, cout: 6, h: 8, w: 8, k: 3, tile: { BM: 16, BN: 32, BK: 8, TM: 4, TN: 4 } });

// the direct path (default on software adapters) and the GEMM, each forced whatever the adapter
const G: ConvAlgorithm = 'gemm';
const D: ConvAlgorithm = 'direct';
fwd({ n: 2, cin: 1, cout: 6, h: 7, w: 5, k: 3, algorithm: D });
fwd({ n: 3, cin: 3, cout: 17, h: 9, w: 11, k: 3, bias: true, relu: true, algorithm: D });
fwd({ n: 2, cin: 5, cout: 37, h: 7, w: 13, k: 3, bias: true, relu: true, algorithm: D }); // strips + a partial one
fwd({ n: 2, cin: 13, cout: 1, h: 9, w: 11, k: 3, pad: 0, bias: true, algorithm: D });
fwd({ n: 3, cin: 5, cout: 6, h: 5, w: 9, k: 3, pad: 0, relu: true, algorithm: D, directTile: { TM: 4, PX: 3 } });
fwd({ n: 2, cin: 13, cout: 17, h: 9, w: 11, k: 1, bias: true, algorithm: D });
fwd({ n: 2, cin: 3, cout: 6, h: 5, w: 7, k: 1, pad: 1, bias: true, algorithm: D }); // 1x1 with padding: a zero border
fwd({ n: 2, cin: 3, cout: 6, h: 7, w: 5, k: 3, bias: true, relu: true, slice: 3, algorithm: D });
fwd({ n: 3, cin: 5, cout: 17, h: 4, w: 4, k: 3, bias: true, slice: 5, algorithm: D, directTile: { TM: 8, PX: 16 } });
fwd({ n: 2, cin: 13, cout: 6, h: 9, w: 11, k: 1, slice: 0, algorithm: D });
fwd({ n: 2, cin: 3, cout: 17, h: 9, w: 11, k: 3, bias: true, relu: true, algorithm: G });
fwd({ n: 2, cin: 5, cout: 6, h: 7, w: 5, k: 3, bias: true, slice: 2, algorithm: G });
bwd({ n: 2, cin: 1, cout: 6, h: 7, w: 5, k: 3, algorithm: D });
bwd({ n: 3, cin: 17, cout: 3, h: 9, w: 11, k: 3, algorithm: D });
bwd({ n: 2, cin: 37, cout: 5, h: 7, w: 13, k: 3, algorithm: D });
bwd({ n: 2, cin: 6, cout: 13, h: 9, w: 11, k: 3, pad: 0, algorithm: D });
bwd({ n: 3, cin: 6, cout: 5, h: 5, w: 9, k: 3, pad: 0, algorithm: D, directTile: { TM: 4, PX: 3 } });
bwd({ n: 2, cin: 6, cout: 13, h: 9, w: 11, k: 1, algorithm: D });
bwd({ n: 2, cin: 3, cout: 5, h: 5, w: 7, k: 1, pad: 1, algorithm: D }); // k−1−p = −1: the gather crops dy
bwd({ n: 2, cin: 1, cout: 17, h: 4, w: 4, k: 3, algorithm: D, directTile: { TM: 8, PX: 16 } });
bwd({ n: 2, cin: 6, cout: 13, h: 9, w: 11, k: 3, algorithm: G });

conv2dCases.push({
  name: 'backward-input vs central finite differences',
  async run(e) {
    // L(x) = Σ conv2d(x, w) · g, so ∂L/∂x = conv2dBackwardInput(g, w). Check a few elements of dx
    // against (L(x + εe_i) − L(x − εe_i)) / 2ε, with L summed in f64 on the host.
    const [n, cin, cout, h, wd, k] = [2, 3, 5, 5, 7, 3];
    const xs = [n, cin, h, wd];
    const xd = randn(prod(xs), 11, 1);
    const wt = e.tensor(randn(cout * cin * k * k, 12, 0.3), [cout, cin, k, k]);
    const gd = randn(n * cout * h * wd, 13, 1);
    const g = e.tensor(gd, [n, cout, h, wd]);
    const dx = conv2dBackwardInput(g, wt, xs);
    const got = await dx.read();
    const loss = async (data: Float32Array): Promise<number> => {
      const x = e.tensor(data, xs);
      const y = conv2d(x, wt);
      const yd = await y.read();
      x.dispose();
      y.dispose();
      let s = 0;
      for (let i = 0; i < yd.length; i++) s += yd[i]! * gd[i]!;
      return s;
    };
    const eps = 1e-2;
    for (const i of [0, 17, 34, 52, 69, 100, 141, prod(xs) - 1]) {
      const plus = xd.slice();
      plus[i]! += eps;
      const minus = xd.slice();
      minus[i]! -= eps;
      const fd = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
      // L is linear in x, so the only error is f32 rounding of L (|L| ~ 10) divided by 2ε
      const err = Math.abs(fd - got[i]!);
      assert(err <= 2e-2 + 1e-2 * Math.abs(fd), `dx[${i}]: finite difference ${fd}, kernel ${got[i]} (|err| ${err})`);
    }
    for (const t of [wt, g, dx]) t.dispose();
  },
});

async function errorCases(e: Engine): Promise<void> {
  const z = (shape: number[]) => e.zeros(shape);
  const x = z([2, 3, 7, 5]);
  const w1 = z([64, 1, 3, 3]);
  const w3 = z([6, 3, 3, 3]);
  const x3 = z([3, 7, 5]);
  const wNonSquare = z([6, 3, 3, 1]);
  const b5 = z([5]);
  const outNarrow = z([2, 8, 7, 5]);
  const outSmall = z([2, 6, 5, 3]);
  const xTiny = z([1, 3, 1, 1]);
  const dy = z([2, 6, 7, 5]);
  const shared = e.arena([[2, 3, 7, 5], [2, 6, 7, 5]]); // an input and an output view of one buffer
  const gone = e.zeros([2, 3, 7, 5]);
  gone.dispose();
  const made = [x, w1, w3, x3, wNonSquare, b5, outNarrow, outSmall, xTiny, dy];
  const before = e.memory().liveBytes;
  await assertThrows(() => conv2d(x, w1), /conv2d: x \[2, 3, 7, 5\] has 3 channels but w \[64, 1, 3, 3\] expects 1/, 'channel mismatch');
  await assertThrows(() => conv2d(x3, w3), /conv2d: x: expected an NCHW tensor of rank 4, got \[3, 7, 5\]/, 'rank');
  await assertThrows(() => conv2d(x, wNonSquare), /w \[6, 3, 3, 1\] must be OIHW with a square kernel/, 'non-square');
  await assertThrows(() => conv2d(x, w3, b5), /bias \[5\] does not match w \[6, 3, 3, 3\]/, 'bias');
  await assertThrows(
    () => conv2d(x, w3, null, { out: outNarrow, outChannelOffset: 3 }),
    /out \[2, 8, 7, 5\] cannot hold channels \[3, 9\)/,
    'slice past the end',
  );
  await assertThrows(() => conv2d(x, w3, null, { out: outSmall }), /out \[2, 6, 5, 3\] cannot hold/, 'out spatial');
  await assertThrows(() => conv2d(shared.tensors[0]!, w3, null, { out: shared.tensors[1] }), /shares a buffer with an input/, 'out aliases x');
  await assertThrows(() => conv2d(xTiny, w3, null, { padding: 0 }), /smaller than the 3x3 kernel/, 'too small');
  await assertThrows(
    () => conv2dBackwardInput(dy, w1, [2, 3, 7, 5]),
    /dy \[2, 6, 7, 5\] and x \[2, 3, 7, 5\] need w \[6, 3, k, k\], got w \[64, 1, 3, 3\]/,
    'backward channels',
  );
  await assertThrows(() => conv2dBackwardInput(dy, w3, [2, 3, 9, 5]), /dy \[2, 6, 7, 5\] is not the output of x \[2, 3, 9, 5\]/, 'backward spatial');
  await assertThrows(() => conv2d(gone, w3), /used after dispose/, 'disposed input');
  await assertThrows(() => conv2dBackwardInput(dy, w3, [2, 3, 7, 5], { tile: { BM: 64, BN: 64, BK: 16, TM: 4, TN: 2 } }), /TM and TN must be multiples of 4/, 'bad tile');
  assert(e.memory().liveBytes === before, `a failed conv2d call leaked ${e.memory().liveBytes - before} bytes`);
  for (const m of made) m.dispose();
  shared.dispose();
}

conv2dCases.push({ name: 'shape errors name both shapes and allocate nothing', run: errorCases });

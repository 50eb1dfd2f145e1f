import type { Engine } from '../../src/gpu/engine';
import type { Tensor } from '../../src/gpu/tensor';
import { conv2dBackwardInput } from '../../src/kernels/conv2d';
import type { ConvDxSmallTile } from '../../src/kernels/conv2d_dx_small';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import type { Case } from './case';
import { convTol as tolFor, refConvInputGrad } from './conv_reference';

/**
 * The pixel-block input gradient (src/kernels/conv2d_dx_small.ts): the default on software
 * adapters for planes up to 16², and forced with `smallTile` on any adapter. Reference: tf.grad of
 * the forward conv on tfjs's CPU backend.
 */

interface Dx {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  pad?: number;
  /** forced tile; without it the default selection runs */
  tile?: ConvDxSmallTile;
  /** default selection on a software adapter: which kernel must run ('small' unless the plane is too big) */
  expect?: 'small' | 'strip';
}

function dxCase(c: Dx, seed: number): Case {
  const pad = c.pad ?? (c.k - 1) / 2;
  const how = c.tile ? ` block ${c.tile.TM}x${c.tile.BH}x${c.tile.BW}` : ' default';
  const name = `dx N${c.n} ${c.cin}->${c.cout} ${c.h}x${c.w} k${c.k} p${pad}${how}`;
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
      let dx: Tensor | null = null;
      const prof = await e.profile(() => {
        dx = conv2dBackwardInput(dy, w, [c.n, c.cin, c.h, c.w], { padding: pad, smallTile: c.tile });
      });
      const out = dx as unknown as Tensor;
      const kernels = prof.records.map((r) => r.kernel);
      if (c.tile || e.adapter.fallback) {
        const small = kernels.some((k) => k.startsWith('conv2d_dx_small'));
        const want = c.tile ? 'small' : (c.expect ?? 'small');
        assert(small === (want === 'small'), `${name}: expected the ${want === 'small' ? 'block' : 'row-strip'} kernel, ran ${kernels.join(', ')}`);
      }
      assert(out.shape.join() === [c.n, c.cin, c.h, c.w].join(), `${name}: shape ${out.shape}`);
      const want = await refConvInputGrad(c, pad, dyd, wd);
      assertClose(await out.read(), want, name, tolFor(c.cout * c.k * c.k));
      for (const t of [w, dy, out]) t.dispose();
    },
  };
}

export const conv2dDxSmallCases: Case[] = [];
let seed = 900;
const dx = (c: Dx) => conv2dDxSmallCases.push(dxCase(c, (seed += 7)));

// default selection: whole planes up to 64 pixels (halo bounds known when generated)
dx({ n: 1, cin: 16, cout: 16, h: 1, w: 1, k: 3 }); // only the centre tap is real
dx({ n: 1, cin: 13, cout: 37, h: 2, w: 2, k: 3 }); // M % 4 != 0: scalar weights, a partial channel group
dx({ n: 3, cin: 16, cout: 24, h: 2, w: 2, k: 3 }); // vec4 weights, batch 3
dx({ n: 1, cin: 128, cout: 8, h: 2, w: 2, k: 3 }); // 8 channels per invocation
dx({ n: 3, cin: 13, cout: 37, h: 3, w: 5, k: 3 }); // non-square odd plane
dx({ n: 1, cin: 12, cout: 7, h: 4, w: 4, k: 3, pad: 0 }); // dy 2x2, gathered with padding 2
dx({ n: 1, cin: 64, cout: 9, h: 4, w: 4, k: 3 });
dx({ n: 3, cin: 8, cout: 5, h: 7, w: 7, k: 3 });
dx({ n: 1, cin: 20, cout: 9, h: 8, w: 8, k: 3 });
dx({ n: 3, cin: 13, cout: 37, h: 8, w: 8, k: 1 }); // 1x1
dx({ n: 1, cin: 8, cout: 6, h: 5, w: 3, k: 1, pad: 1 }); // k−1−p = −1: dy 7x5 is cropped
dx({ n: 2, cin: 5, cout: 7, h: 9, w: 7, k: 3, pad: 2 }); // k−1−p = 0: dy 11x9
dx({ n: 2, cin: 4, cout: 3, h: 1, w: 9, k: 3 }); // a single row
// larger planes: ~32-pixel blocks, the rows tested at run time
dx({ n: 2, cin: 6, cout: 5, h: 11, w: 13, k: 3 }); // 2x13 blocks, a partial last one
dx({ n: 1, cin: 16, cout: 8, h: 16, w: 16, k: 3 }); // 2x16 blocks, 8 channels
dx({ n: 2, cin: 36, cout: 20, h: 18, w: 18, k: 3, expect: 'strip' }); // over 256 pixels: the row-strip kernel
// forced tiles (any adapter): blocks smaller than the plane, partial blocks, guarded channel groups
dx({ n: 3, cin: 13, cout: 37, h: 3, w: 5, k: 3, tile: { TM: 8, BH: 2, BW: 2 } });
dx({ n: 1, cin: 16, cout: 9, h: 7, w: 7, k: 3, tile: { TM: 4, BH: 4, BW: 4 } });
dx({ n: 3, cin: 16, cout: 13, h: 3, w: 5, k: 3, tile: { TM: 8, BH: 3, BW: 5 } });
dx({ n: 1, cin: 12, cout: 5, h: 8, w: 8, k: 3, pad: 0, tile: { TM: 8, BH: 8, BW: 4 } });
dx({ n: 3, cin: 13, cout: 6, h: 2, w: 2, k: 1, pad: 0, tile: { TM: 4, BH: 1, BW: 1 } });
dx({ n: 1, cin: 8, cout: 7, h: 9, w: 11, k: 3, pad: 0, tile: { TM: 8, BH: 1, BW: 16 } }); // block wider than the plane
dx({ n: 2, cin: 17, cout: 6, h: 18, w: 18, k: 3, tile: { TM: 4, BH: 4, BW: 8 } });

conv2dDxSmallCases.push({
  name: 'dx block kernel: bad tiles and option clashes throw before allocating',
  async run(e: Engine) {
    const dy = e.zeros([1, 6, 4, 4]);
    const w = e.zeros([6, 8, 3, 3]);
    const before = e.memory().liveBytes;
    const xs = [1, 8, 4, 4];
    await assertThrows(() => conv2dBackwardInput(dy, w, xs, { smallTile: { TM: 3, BH: 2, BW: 2 } }), /dx block tile .*TM must be 4 or 8/, 'TM 3');
    await assertThrows(() => conv2dBackwardInput(dy, w, xs, { smallTile: { TM: 8, BH: 8, BW: 8 } }), /TM·BH·BW ≤ 256/, 'too many accumulators');
    await assertThrows(() => conv2dBackwardInput(dy, w, xs, { smallTile: { TM: 4, BH: 0, BW: 2 } }), /dx block tile/, 'BH 0');
    await assertThrows(
      () => conv2dBackwardInput(dy, w, xs, { smallTile: { TM: 4, BH: 4, BW: 4 }, algorithm: 'gemm' }),
      /smallTile cannot be combined/,
      'with gemm',
    );
    await assertThrows(
      () => conv2dBackwardInput(dy, w, xs, { smallTile: { TM: 4, BH: 4, BW: 4 }, directTile: { TM: 4, PX: 4 } }),
      /smallTile cannot be combined/,
      'with directTile',
    );
    assert(e.memory().liveBytes === before, 'a rejected call allocated');
    dy.dispose();
    w.dispose();
  },
});

import type { Engine } from '../../src/gpu/engine';
import type { Tensor } from '../../src/gpu/tensor';
import {
  chooseConv2dGemm,
  conv2d,
  conv2dBackwardInput,
  conv2dSplitK,
  planConv2dGemm,
  SPLITK_MIN_STEPS,
  type ConvGemmDevice,
  type ConvTile,
} from '../../src/kernels/conv2d';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn } from '../helpers/random';
import type { Case } from './case';
import { convTol as tolFor, refConvForward, refConvInputGrad, withChannelSlice } from './conv_reference';

/**
 * Split-K of the conv2d implicit GEMM (forward and grad-input): forced slice counts on the GEMM
 * path (even, uneven, more than the K steps), against tfjs-cpu; the kernels that actually ran
 * (split pass + reduce, or one pass); option errors; and the default heuristic as a pure function
 * of an H100-like device.
 */

interface Spec {
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
  splitK: number;
  tile?: ConvTile;
  /** slices that must run (else: the contract below) */
  slices?: number;
}

/** The documented contract: at most one slice per K step, then no empty slice. */
function expectedSlices(K: number, BK: number, splitK: number): number {
  const steps = Math.ceil(K / BK);
  const chunk = Math.ceil(steps / Math.min(splitK, steps));
  return Math.ceil(steps / chunk);
}

/** Runs `op` under the profiler and checks it ran as `slices` split-K slices (or one pass). */
async function runChecked(e: Engine, name: string, M: number, P: number, K: number, s: Spec, op: () => Tensor): Promise<Tensor> {
  const BK = (s.tile ?? planConv2dGemm(e, M, P, K).tile).BK;
  const slices = expectedSlices(K, BK, s.splitK);
  if (s.slices !== undefined) assert(slices === s.slices, `${name}: the contract gives ${slices} slices, the case expects ${s.slices}`);
  const plan = planConv2dGemm(e, M, P, K, { tile: s.tile, splitK: s.splitK });
  assert(plan.slices === slices && plan.kChunk % BK === 0, `${name}: plan ${JSON.stringify(plan)}, expected ${slices} slices`);
  let y: Tensor | null = null;
  const prof = await e.profile(() => {
    y = op();
  });
  const kernels = prof.records.map((r) => r.kernel);
  if (slices === 1) {
    assert(kernels.length === 1 && !kernels[0]!.includes('splitK'), `${name}: expected one single-pass dispatch, got ${kernels.join(', ')}`);
  } else {
    const [gemm, reduce] = prof.records;
    assert(prof.records.length === 2 && gemm!.kernel.endsWith('_splitK') && /_splitK_reduce(_y4)?$/.test(reduce!.kernel), `${name}: expected split + reduce, got ${kernels.join(', ')}`);
    assert(gemm!.shape.endsWith(`splitK${slices}`), `${name}: split pass shape "${gemm!.shape}", expected ${slices} slices`);
    assert(gemm!.flops === 2 * M * P * K && reduce!.bytes > 0, `${name}: flops ${gemm!.flops} / reduce bytes ${reduce!.bytes}`);
  }
  return y!;
}

const tileName = (t?: ConvTile): string => (t ? ` tile ${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}` : '');

function forwardCase(s: Spec, seed: number): Case {
  const pad = s.pad ?? (s.k - 1) / 2;
  const name = `forward N${s.n} ${s.cin}->${s.cout} ${s.h}x${s.w} k${s.k} p${pad}${s.bias ? ' bias' : ''}${s.relu ? ' relu' : ''}${s.slice !== undefined ? ` slice@${s.slice}` : ''}${tileName(s.tile)} splitK ${s.splitK}`;
  return {
    name,
    async run(e) {
      const xs = [s.n, s.cin, s.h, s.w];
      const ws = [s.cout, s.cin, s.k, s.k];
      const xd = randn(prod(xs), seed, 1);
      const wd = randn(prod(ws), seed + 1, 1 / Math.sqrt(s.cin * s.k * s.k));
      const bd = s.bias ? randn(s.cout, seed + 2, 0.5) : null;
      const oh = s.h + 2 * pad - s.k + 1;
      const ow = s.w + 2 * pad - s.k + 1;
      const want = await refConvForward(s, pad, xd, wd, bd, s.relu);
      const x = e.tensor(xd, xs);
      const w = e.tensor(wd, ws);
      const b = bd ? e.tensor(bd, [s.cout]) : null;
      const ctot = s.cout + (s.slice ?? 0) + 2;
      const sentinel = new Float32Array(s.n * ctot * oh * ow).fill(-7.5);
      const out = s.slice === undefined ? undefined : e.tensor(sentinel, [s.n, ctot, oh, ow]);
      const K = s.cin * s.k * s.k;
      const y = await runChecked(e, name, s.cout, s.n * oh * ow, K, s, () =>
        conv2d(x, w, b, { padding: pad, relu: s.relu, out, outChannelOffset: s.slice, algorithm: 'gemm', tile: s.tile, splitK: s.splitK }),
      );
      if (!out) {
        assert(y.shape.join() === [s.n, s.cout, oh, ow].join(), `${name}: shape ${y.shape}`);
        assertClose(await y.read(), want, name, tolFor(K));
      } else {
        // the slice lands in the middle; the channels around it keep the sentinel
        assert(y === out, `${name}: conv2d with out must return out`);
        assertClose(await out.read(), withChannelSlice(sentinel, want, s.n, s.cout, ctot, s.slice!, oh * ow), name, tolFor(K));
      }
      for (const t of [x, w, b, y]) t?.dispose();
    },
  };
}

function backwardCase(s: Spec, seed: number): Case {
  const pad = s.pad ?? (s.k - 1) / 2;
  const name = `backward-input N${s.n} ${s.cin}->${s.cout} ${s.h}x${s.w} k${s.k} p${pad}${tileName(s.tile)} splitK ${s.splitK}`;
  return {
    name,
    async run(e) {
      const oh = s.h + 2 * pad - s.k + 1;
      const ow = s.w + 2 * pad - s.k + 1;
      const ws = [s.cout, s.cin, s.k, s.k];
      const dys = [s.n, s.cout, oh, ow];
      const wd = randn(prod(ws), seed, 1 / Math.sqrt(s.cin * s.k * s.k));
      const dyd = randn(prod(dys), seed + 1, 1);
      const want = await refConvInputGrad(s, pad, dyd, wd);
      const w = e.tensor(wd, ws);
      const dy = e.tensor(dyd, dys);
      const K = s.cout * s.k * s.k;
      const dx = await runChecked(e, name, s.cin, s.n * s.h * s.w, K, s, () =>
        conv2dBackwardInput(dy, w, [s.n, s.cin, s.h, s.w], { padding: pad, algorithm: 'gemm', tile: s.tile, splitK: s.splitK }),
      );
      assert(dx.shape.join() === [s.n, s.cin, s.h, s.w].join(), `${name}: shape ${dx.shape}`);
      assertClose(await dx.read(), want, name, tolFor(K));
      for (const t of [w, dy, dx]) t.dispose();
    },
  };
}

export const conv2dSplitKCases: Case[] = [];
let seed = 900;
const fwd = (s: Spec) => conv2dSplitKCases.push(forwardCase(s, (seed += 7)));
const bwd = (s: Spec) => conv2dSplitKCases.push(backwardCase(s, (seed += 7)));
const small: ConvTile = { BM: 16, BN: 32, BK: 8, TM: 4, TN: 4 };

// forward. K = 117 = 13·9: 8 steps of 16, the last one partial (bounded by K inside the last slice)
fwd({ n: 2, cin: 13, cout: 6, h: 7, w: 5, k: 3, splitK: 2, slices: 2 });
fwd({ n: 3, cin: 13, cout: 17, h: 9, w: 11, k: 3, bias: true, relu: true, splitK: 3, slices: 3 }); // 3 + 3 + 2 steps
fwd({ n: 2, cin: 13, cout: 5, h: 9, w: 11, k: 3, pad: 0, splitK: 5, slices: 4 }); // 5 over 8 steps: 4 slices of 2
fwd({ n: 2, cin: 5, cout: 6, h: 7, w: 5, k: 3, bias: true, splitK: 50, slices: 3 }); // K = 45: clamped to its 3 steps
fwd({ n: 2, cin: 37, cout: 17, h: 9, w: 11, k: 1, bias: true, splitK: 3, slices: 3 }); // 1x1, K % 4 ≠ 0
fwd({ n: 2, cin: 40, cout: 10, h: 8, w: 6, k: 1, bias: true, relu: true, splitK: 2, slices: 2 }); // vec4 weights, vec4 stores
fwd({ n: 2, cin: 19, cout: 6, h: 5, w: 7, k: 1, pad: 1, splitK: 2, slices: 2 }); // 1x1 with a zero border
fwd({ n: 2, cin: 13, cout: 6, h: 7, w: 5, k: 3, bias: true, relu: true, slice: 3, splitK: 3 }); // scalar stores into a slice
fwd({ n: 3, cin: 12, cout: 17, h: 4, w: 4, k: 3, bias: true, slice: 5, splitK: 2 }); // vec4 stores into a slice
fwd({ n: 2, cin: 20, cout: 36, h: 18, w: 18, k: 3, bias: true, relu: true, tile: small, splitK: 3, slices: 3 }); // tiles in M, P and K
fwd({ n: 2, cin: 13, cout: 6, h: 7, w: 5, k: 3, bias: true, splitK: 1, slices: 1 }); // 1 = the single pass

// grad-input (the flipped-kernel GEMM: M = Cin, K = Cout·k·k)
bwd({ n: 2, cin: 6, cout: 13, h: 7, w: 5, k: 3, splitK: 2, slices: 2 });
bwd({ n: 3, cin: 17, cout: 13, h: 9, w: 11, k: 3, splitK: 3, slices: 3 });
bwd({ n: 2, cin: 5, cout: 20, h: 9, w: 11, k: 3, pad: 0, splitK: 5, slices: 4 }); // K = 180: 12 steps, chunks of 3
bwd({ n: 2, cin: 6, cout: 37, h: 9, w: 11, k: 1, splitK: 3, slices: 3 });
bwd({ n: 2, cin: 3, cout: 19, h: 5, w: 7, k: 1, pad: 1, splitK: 2, slices: 2 }); // k−1−p = −1: the gather crops dy
bwd({ n: 2, cin: 7, cout: 5, h: 7, w: 5, k: 3, splitK: 99, slices: 3 }); // clamped to K = 45's 3 steps
bwd({ n: 2, cin: 17, cout: 20, h: 8, w: 8, k: 3, tile: small, splitK: 4, slices: 4 }); // 23 steps of 8 in chunks of 6; vec4 stores

conv2dSplitKCases.push({
  name: 'splitK option errors name the value and allocate nothing',
  async run(e) {
    const x = e.zeros([2, 3, 7, 5]);
    const w = e.zeros([6, 3, 3, 3]);
    const dy = e.zeros([2, 6, 7, 5]);
    const before = e.memory().liveBytes;
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      await assertThrows(() => conv2d(x, w, null, { algorithm: 'gemm', splitK: bad }), /conv2d: splitK must be a positive integer \(1 = no split\)/, `splitK ${bad}`);
      await assertThrows(() => conv2dBackwardInput(dy, w, [2, 3, 7, 5], { splitK: bad }), /conv2dBackwardInput: splitK must be a positive integer/, `dx splitK ${bad}`);
    }
    await assertThrows(() => conv2d(x, w, null, { algorithm: 'direct', splitK: 2 }), /conv2d: splitK 2 needs the GEMM path/, 'direct + splitK');
    await assertThrows(() => conv2dBackwardInput(dy, w, [2, 3, 7, 5], { algorithm: 'direct', splitK: 3 }), /conv2dBackwardInput: splitK 3 needs the GEMM path/, 'dx direct + splitK');
    assert(e.memory().liveBytes === before, `a failed call leaked ${e.memory().liveBytes - before} bytes`);
    for (const t of [x, w, dy]) t.dispose();
  },
});

/** An H100 as the heuristic sees it (Dawn limits: 1024 invocations, 48 KiB workgroup memory). */
const H100: ConvGemmDevice = { software: false, maxInvocations: 1024, maxWorkgroupStorage: 49152, maxScratchBytes: 128 * 1024 * 1024 };
const SWIFTSHADER: ConvGemmDevice = { software: true, maxInvocations: 256, maxWorkgroupStorage: 32768, maxScratchBytes: 128 * 1024 * 1024 };

conv2dSplitKCases.push({
  name: 'heuristic: GPU layers with few tiles and a long K split to 1–2 waves; others stay single-pass',
  async run() {
    const workgroups = (M: number, P: number, t: ConvTile, s: number) => Math.ceil(M / t.BM) * Math.ceil(P / t.BN) * s;
    // [M, P, K] of small-plane, many-channel layers (forward and grad-input)
    const splitting: [string, number, number, number][] = [
      ['x[1,512,8,8] → 512 3x3', 512, 64, 512 * 9],
      ['dx of x[1,512,8,8] → 512 3x3', 512, 64, 512 * 9],
      ['x[1,1280,32,32] → 128 3x3', 128, 1024, 1280 * 9],
      ['x[1,1024,16,16] → 256 3x3', 256, 256, 1024 * 9],
      ['x[1,512,16,16] → 512 3x3', 512, 256, 512 * 9],
      ['dx of x[1,1024,16,16] → 256 3x3', 1024, 256, 256 * 9],
    ];
    for (const [what, M, P, K] of splitting) {
      const p = chooseConv2dGemm(H100, M, P, K);
      const wg = workgroups(M, P, p.tile, p.slices);
      assert(p.slices > 1, `${what}: expected a split, got ${JSON.stringify(p)}`);
      assert(wg >= 120 && wg <= 264, `${what}: ${wg} workgroups (${JSON.stringify(p)}), expected 1–2 waves of 132`);
      assert(p.kChunk % p.tile.BK === 0 && p.kChunk >= SPLITK_MIN_STEPS * p.tile.BK, `${what}: kChunk ${p.kChunk}`);
      assert((p.slices - 1) * p.kChunk < K && p.slices * p.kChunk >= K, `${what}: ${p.slices} slices of ${p.kChunk} do not tile K = ${K}`);
      assert(p.tile.BN <= 2 * P, `${what}: tile ${JSON.stringify(p.tile)} more than half empty for P = ${P}`);
    }
    const x8 = chooseConv2dGemm(H100, 512, 64, 512 * 9);
    assert(x8.tile.BM === 64 && x8.tile.BN === 64, `8² layer: tile ${JSON.stringify(x8.tile)}, expected 64x64`);
    const x32 = chooseConv2dGemm(H100, 128, 1024, 1280 * 9);
    assert(x32.tile.BM === 64 && x32.tile.BN === 128, `1280→128 at 32²: tile ${JSON.stringify(x32.tile)}, expected 64x128`);
    // big planes fill the GPU without a split; the tile choice is what it was before split-K
    for (const [M, P, K] of [[64, 65536, 576], [128, 16384, 384 * 9], [256, 4096, 256 * 9]] as const) {
      const p = chooseConv2dGemm(H100, M, P, K);
      assert(p.slices === 1 && p.tile.BM === 64 && p.tile.BN === 128, `M ${M} P ${P} K ${K}: ${JSON.stringify(p)}`);
    }
    // a short K cannot be split (fewer than SPLITK_MIN_STEPS steps per slice): the small tile, one pass
    const short = chooseConv2dGemm(H100, 128, 1024, 8 * 9);
    assert(short.slices === 1 && short.tile.BM === 16, `short K: ${JSON.stringify(short)}`);
    // software rasterisers never split
    for (const [M, P, K] of [[512, 64, 4608], [6, 70, 117], [128, 1024, 11520]] as const) {
      const p = chooseConv2dGemm(SWIFTSHADER, M, P, K);
      assert(p.slices === 1, `software M ${M} P ${P} K ${K}: ${JSON.stringify(p)}`);
    }
    // the scratch limit bounds the slices: 3 slices of M·P floats
    const capped = chooseConv2dGemm({ ...H100, maxScratchBytes: 3 * 4 * 512 * 64 }, 512, 64, 4608);
    assert(capped.slices === 3, `scratch-capped: ${JSON.stringify(capped)}`);
  },
});

conv2dSplitKCases.push({
  name: 'conv2dSplitK: slices for ~2·minWorkgroups, at least SPLITK_MIN_STEPS steps each',
  async run() {
    const cases: [number, number, number, number][] = [
      // tiles, K steps, minWorkgroups → slices
      [16, 720, 120, 15],
      [8, 576, 120, 30],
      [8, 100, 120, 12], // limited by 8 steps per slice
      [16, 15, 120, 1], // under two slices' worth of steps
      [120, 5000, 120, 2], // one wave, but a deep K: two slices (SPLITK_DEEP_STEPS)
      [200, 5000, 120, 2],
      [200, 255, 120, 1], // one wave, K not deep enough
      [128, 36, 120, 1],
      [240, 5000, 120, 1], // two waves: never split
      [1, 5000, 1, 1], // software: minWorkgroups 1
    ];
    for (const [tiles, steps, minWg, want] of cases) {
      const got = conv2dSplitK(tiles, steps, minWg);
      assert(got === want, `conv2dSplitK(${tiles}, ${steps}, ${minWg}) = ${got}, expected ${want}`);
    }
  },
});

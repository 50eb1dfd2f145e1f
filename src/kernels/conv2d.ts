import type { Engine } from '../gpu/engine';
import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, type Tensor } from '../gpu/tensor';
import template from '../../shaders/conv2d.wgsl';
import directTemplate from '../../shaders/conv2d_direct.wgsl';
import splitReduceTemplate from '../../shaders/conv2d_splitk_reduce.wgsl';
import { checkDxSmallTile, dispatchDxSmall, dxSmallTile, usesDxSmall, type ConvDxSmallTile } from './conv2d_dx_small';
import { tunedConv, tuningKey } from './tuning';
import { cachedCode, grid, specialize, Uniforms } from './wgsl';

/**
 * 2-D convolution (stride 1, square kernel, zero padding) as an implicit GEMM, and its gradient
 * with respect to the input as the same GEMM over the flipped kernel. The weight gradient lives in
 * conv2d_grad_weight.ts.
 *
 * GEMM view (forward): M = Cout rows, P = N·outH·outW columns (output pixels), K = Cin·k·k.
 * A = w viewed as [Cout, Cin·k·k] (OIHW is already row-major in k), B = im2col(x), gathered on the
 * fly and never materialised. See shaders/conv2d.wgsl for the tiling.
 *
 * Split-K (GPUs, small M×P with a long K): the 64x128 tiles of a 16² or 32² layer with many input
 * channels make only 8–32 workgroups on a 132-SM H100 (2–5 TFLOP/s instead of ~25), and falling
 * back to smaller tiles only trades idle SMs for slow 64-thread workgroups. Instead the reduction
 * is cut into S slices of kChunk (a multiple of BK, so each slice is whole K steps and the gather
 * needs no new bounds): workgroup (tile, z = s) reduces its slice and stores the raw sums into a
 * pooled scratch part[S, M, P4] (vec4 rows along the output pixels, coalesced), and a second
 * dispatch (shaders/conv2d_splitk_reduce.wgsl) sums the S partials and applies the epilogue (bias,
 * ReLU, the channel slice of `out`). WGSL has no float atomics, hence the second pass; its cost,
 * S·M·P·8 bytes of scratch traffic, is small next to the GEMM for the slices `conv2dSplitK` allows.
 * `planConv2dGemm` picks the tile and S (see `chooseConv2dGemm`); `splitK` forces S.
 *
 * Software adapters (SwiftShader) default to a direct form instead (shaders/conv2d_direct.wgsl):
 * each invocation owns TM output channels × PX consecutive output pixels of one row in named
 * registers and loops over the input channels (per channel: k·(PX+k−1) x loads and k·k·TM weight
 * loads for TM·PX·k·k FMAs), with no workgroup memory and no barriers. The GEMM's 64-wide tiles
 * are mostly empty for the narrow U-Net++ layers (Cout 8–64) and its barriers are coroutine
 * switches on a CPU rasteriser. The grad-input of planes up to 16² (256 pixels) takes the
 * pixel-block kernel of conv2d_dx_small.ts instead (weights read in place, no packing pass).
 */

/** Which implementation: the tiled implicit GEMM (GPUs) or the direct form (CPU rasterisers). */
export type ConvAlgorithm = 'gemm' | 'direct';

/** Direct-path register tile: TM output channels (4 or 8) × PX pixels of a row (1–16) per invocation. */
export interface ConvDirectTile {
  TM: number;
  PX: number;
}

/**
 * Workgroup tile: BM output channels × BN output pixels per workgroup, BK reduction slice per
 * step, TM × TN outputs per thread (multiples of 4). Threads = (BM/TM)·(BN/TN).
 */
export interface ConvTile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
  TN: number;
}

export interface Conv2dOptions {
  /** Zero padding on every side; default (k−1)/2 ("same" for odd k). */
  padding?: number;
  /** Fused ReLU epilogue: y = max(conv + bias, 0). */
  relu?: boolean;
  /** Write into channels [outChannelOffset, outChannelOffset+Cout) of this [N, C, outH, outW] tensor. */
  out?: Tensor;
  outChannelOffset?: number;
  /** Override the tile (benchmark sweeps); must pass `checkTile`. Implies the GEMM unless `algorithm` says otherwise. */
  tile?: ConvTile;
  /** Force an implementation; default 'direct' on a software adapter unless `tile` is given, else 'gemm'. */
  algorithm?: ConvAlgorithm;
  /** Override the direct path's register tile (implies 'direct' unless `algorithm` says otherwise). */
  directTile?: ConvDirectTile;
  /**
   * Force the GEMM's split-K slice count (tests, benchmark sweeps): 1 = single pass. A positive
   * integer; clamped to the number of K steps and the scratch limit (see `planConv2dGemm`). Implies
   * the GEMM unless `algorithm` says otherwise; with 'direct' only 1 is accepted.
   */
  splitK?: number;
}

export interface Conv2dBackwardInputOptions {
  padding?: number;
  tile?: ConvTile;
  algorithm?: ConvAlgorithm;
  directTile?: ConvDirectTile;
  /** As Conv2dOptions.splitK. */
  splitK?: number;
  /** Force the pixel-block kernel of conv2d_dx_small.ts with this tile (a direct form; not with tile, splitK, directTile or 'gemm'). */
  smallTile?: ConvDxSmallTile;
}

/** Whether conv2d / conv2dBackwardInput take the direct path for these options on this engine. */
export function usesDirectConv2d(engine: Engine, opts: { tile?: ConvTile; algorithm?: ConvAlgorithm; directTile?: ConvDirectTile; splitK?: number } = {}): boolean {
  if (opts.algorithm) return opts.algorithm === 'direct';
  if (opts.directTile) return true;
  return engine.adapter.fallback && opts.tile === undefined && opts.splitK === undefined;
}

/**
 * Default direct tile: 8 output channels (4 when M ≤ 4) × up to 16 pixels of a row (the whole row
 * when it is narrower). SwiftShader, 2 busy cores, 16→16 64² and 64→64 8², batch 8: 8x16 ran
 * 1.3–1.5 GFLOP/s vs 1.0–1.1 for 8x8, 0.6 for 8x4; TM 4 was no better. Each x/weight element
 * load costs several FMAs there (a 4-lane gather), so the per-channel loads, k·(PX+k−1) + k·k·TM,
 * must be spread over as many of the TM·PX·k·k FMAs as the registers allow.
 */
export function conv2dDirectTile(M: number, outW: number): ConvDirectTile {
  return { TM: M <= 4 ? 4 : 8, PX: Math.min(16, outW) };
}

function checkDirectTile(t: ConvDirectTile): void {
  if (!(t.TM === 4 || t.TM === 8)) throw new ShapeError(`conv2d direct tile ${JSON.stringify(t)}: TM must be 4 or 8`);
  if (!(Number.isInteger(t.PX) && t.PX >= 1 && t.PX <= 16)) throw new ShapeError(`conv2d direct tile ${JSON.stringify(t)}: PX must be an integer in 1–16`);
}

const threadsOf = (t: ConvTile): number => (t.BM / t.TM) * (t.BN / t.TN);

/** Throws unless the tile is one the shader template can build on this device. */
export function checkTile(engine: Engine, t: ConvTile): void {
  const why: string[] = [];
  const threads = threadsOf(t);
  if (t.TM % 4 || t.TN % 4) why.push('TM and TN must be multiples of 4');
  if (t.BM % t.TM || t.BN % t.TN) why.push('BM must be a multiple of TM and BN of TN');
  if (t.BK % 4 || t.BK < 4) why.push('BK must be a positive multiple of 4');
  if (threads > engine.limits.maxComputeInvocationsPerWorkgroup) why.push(`${threads} threads exceed maxComputeInvocationsPerWorkgroup ${engine.limits.maxComputeInvocationsPerWorkgroup}`);
  if (threads > engine.limits.maxComputeWorkgroupSizeX) why.push(`${threads} threads exceed maxComputeWorkgroupSizeX`);
  const bytes = (t.BM + t.BN) * t.BK * 4;
  if (bytes > engine.limits.maxComputeWorkgroupStorageSize) why.push(`${bytes} B of workgroup memory exceed ${engine.limits.maxComputeWorkgroupStorageSize}`);
  // each thread owns one B column (its pixel is decomposed once) and whole rows of the B tile
  if (threads % t.BN) why.push('threads must be a multiple of BN');
  else if ((t.BK * t.BN) % threads) why.push('BK·BN must be a multiple of the thread count');
  if (why.length) throw new ShapeError(`conv2d tile ${JSON.stringify(t)}: ${why.join('; ')}`);
}

/** What the GEMM tile / split-K heuristic needs to know about a device (a plain value, for tests). */
export interface ConvGemmDevice {
  /** Software rasteriser (engine.adapter.fallback): one big tile, never split. */
  software: boolean;
  maxInvocations: number;
  maxWorkgroupStorage: number;
  /** Largest split-K scratch buffer, in bytes. */
  maxScratchBytes: number;
}

/** A GEMM tile and its split-K: `slices` workgroups along z each reduce `kChunk` of K (a multiple of BK). */
export interface ConvGemmPlan {
  tile: ConvTile;
  /** 1: single pass, no scratch. */
  slices: number;
  kChunk: number;
}

/** GPUs: about one workgroup per SM (132 on an H100) before a GEMM counts as filling the machine. */
const GPU_MIN_WORKGROUPS = 120;
/** Split-K scratch cap (like conv2d_grad_weight's), within the device's buffer limits. */
const MAX_SPLIT_SCRATCH = 256 * 1024 * 1024;

/**
 * Fewest K steps (of BK) per split-K slice. A slice of s steps does BM·BN·s·BK FMAs per BM·BN
 * partial sums it writes (and the reduce reads back): with s ≥ 8 at BK 16 that is ≥ 128 FMAs per
 * 8 bytes of scratch traffic, while an H100 does ~70 FMAs (24 TFMA/s at the measured ceiling) in
 * the time it moves 8 bytes (2.7 TB/s), so the scratch costs at most about half the slice's
 * compute at peak and much less at the 20–25 TFLOP/s this GEMM reaches. Shorter slices would also
 * leave the register prefetch of the first step unhidden.
 */
export const SPLITK_MIN_STEPS = 8;

/** K steps from which a GEMM that already fills the SMs once is still split in two. */
export const SPLITK_DEEP_STEPS = 256;

/**
 * Split-K slices for a GEMM of `tiles` output tiles and `kSteps` reduction steps: 1 when the tiles
 * already make `minWorkgroups` (about one per SM), else enough slices for tiles·S ≈ 2·minWorkgroups
 * (240: one wave at two resident 256-thread workgroups per SM of a 132-SM H100, which hides the
 * gather latency better than one), but no slice shorter than `minSteps`.
 */
export function conv2dSplitK(tiles: number, kSteps: number, minWorkgroups: number, minSteps = SPLITK_MIN_STEPS): number {
  if (tiles <= 0 || minWorkgroups <= 1 || tiles >= 2 * minWorkgroups) return 1;
  // one workgroup per SM but a deep reduction: two slices still pay (H200, b4 896→64 ch at 64²,
  // 128 tiles, 504 K steps: 0.86 → 0.64 ms; neutral at 144–288 steps, a loss at 36)
  if (tiles >= minWorkgroups) return kSteps >= SPLITK_DEEP_STEPS ? 2 : 1;
  const want = Math.ceil((2 * minWorkgroups) / tiles);
  return Math.max(1, Math.min(want, Math.floor(kSteps / minSteps)));
}

/**
 * Normalises a slice count: at most one slice per K step, within the scratch and dispatch limits,
 * then re-derived from the chunk so that no slice is empty (S = 5 over 8 steps → 4 slices of 2).
 */
function splitRange(slices: number, K: number, BK: number, scratchSlices: number, maxZ: number): { slices: number; kChunk: number } {
  const steps = Math.max(1, Math.ceil(K / BK));
  const s = Math.max(1, Math.min(slices, steps, scratchSlices, maxZ));
  const chunkSteps = Math.ceil(steps / s);
  return { slices: Math.ceil(steps / chunkSteps), kChunk: chunkSteps * BK };
}

/** Scratch slices of M×P4 floats that fit `maxScratchBytes`. */
const scratchSlices = (d: ConvGemmDevice, M: number, P: number): number => Math.max(1, Math.floor(d.maxScratchBytes / (4 * M * Math.ceil(P / 4) * 4)));

/**
 * Default tile and split-K for an M×P×K GEMM: the biggest register tile whose grid fills the
 * machine, never much taller than M or wider than P (the 1×1 heads have tiny Cout, the 8² layers
 * few pixels), within the device limits. A tile that makes too few workgroups is still taken if
 * split-K over a long K brings it to a full wave (`conv2dSplitK`): big tiles with a split beat the
 * 64-thread 16x64 fallback, which ran the 16²–32² layers at 2–5 TFLOP/s on an H100. Only when no
 * tile gets there does the smallest one run, split as far as K allows.
 */
export function chooseConv2dGemm(d: ConvGemmDevice, M: number, P: number, K: number): ConvGemmPlan {
  // CPU rasterisers (SwiftShader): few invocations with big register tiles win (barriers are
  // coroutine switches there); measured 2-4x over 256-thread 4x4 tiles on 2 cores.
  const candidates: ConvTile[] = d.software
    ? [
        { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 },
        { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 },
      ]
    : // H200 sweep (bench/tile_sweep.ts: every conv of a b4 256² training step and a b1 512²
      // inference, GPU timestamps, candidates interleaved): 64x128 with 8x4 per thread (256
      // threads) is within 5% of the per-shape best in total (56.0 vs 53.1 ms forward, 30.2 vs
      // 28.3 grad-input) at 27–28 TFLOP/s on the big layers; 128x128/8x8 wins single shapes by a
      // few % but costs 19% in total. Per-shape winners go into tuning tables (tuning.ts).
      [
        { BM: 64, BN: 128, BK: 16, TM: 8, TN: 4 },
        { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
        { BM: 32, BN: 128, BK: 16, TM: 4, TN: 4 },
        { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 },
      ];
  const fits = candidates.filter((t) => threadsOf(t) <= d.maxInvocations && (t.BM + t.BN) * t.BK * 4 <= d.maxWorkgroupStorage);
  const minWorkgroups = d.software ? 1 : GPU_MIN_WORKGROUPS;
  // never more than half the rows (or columns) idle
  const shaped = fits.filter((t) => (t.BM === 16 || M > t.BM / 2) && (t.BN <= 64 || P > t.BN / 2));
  const maxS = scratchSlices(d, M, P);
  const plan = (t: ConvTile): ConvGemmPlan => {
    const tiles = Math.ceil(M / t.BM) * Math.ceil(P / t.BN);
    const want = Math.min(conv2dSplitK(tiles, Math.ceil(K / t.BK), minWorkgroups), maxS);
    return { tile: t, ...splitRange(want, K, t.BK, maxS, 65535) };
  };
  for (const t of shaped) {
    const p = plan(t);
    if (Math.ceil(M / t.BM) * Math.ceil(P / t.BN) * p.slices >= minWorkgroups) return p;
  }
  return plan(shaped[shaped.length - 1] ?? fits[fits.length - 1] ?? { BM: 16, BN: 64, BK: 8, TM: 4, TN: 4 });
}

const gemmDevice = (e: Engine): ConvGemmDevice => ({
  software: e.adapter.fallback,
  maxInvocations: e.limits.maxComputeInvocationsPerWorkgroup,
  maxWorkgroupStorage: e.limits.maxComputeWorkgroupStorageSize,
  maxScratchBytes: Math.min(e.limits.maxStorageBufferBindingSize, e.limits.maxBufferSize, MAX_SPLIT_SCRATCH),
});

/** Default tile for an M×P GEMM with a K-long reduction on this device (K = 0: ignore split-K). */
export function conv2dTile(engine: Engine, M: number, P: number, K = 0): ConvTile {
  return chooseConv2dGemm(gemmDevice(engine), M, P, K).tile;
}

function checkSplitK(splitK: number | undefined, what: string): void {
  if (splitK !== undefined && !(Number.isInteger(splitK) && splitK >= 1)) {
    throw new ShapeError(`${what}: splitK must be a positive integer (1 = no split), got ${splitK}`);
  }
}

/**
 * The GEMM's tile and split-K for an M×P×K problem: `tile` and `splitK` override the defaults of
 * `chooseConv2dGemm` (a given tile without `splitK` gets the split `conv2dSplitK` picks for it). A
 * forced `splitK` is clamped to the number of K steps (ceil(K / BK)), the scratch limit and the
 * dispatch limit, and re-derived so that no slice is empty. Throws ShapeError on a bad `splitK` or tile.
 */
export function planConv2dGemm(engine: Engine, M: number, P: number, K: number, opts: { tile?: ConvTile; splitK?: number } = {}, what = 'conv2d'): ConvGemmPlan {
  checkSplitK(opts.splitK, what);
  const d = gemmDevice(engine);
  const auto = chooseConv2dGemm(d, M, P, K);
  const tile = opts.tile ?? auto.tile;
  checkTile(engine, tile);
  if (opts.splitK === undefined && opts.tile === undefined) return auto;
  const tiles = Math.ceil(M / tile.BM) * Math.ceil(P / tile.BN);
  const want = opts.splitK ?? conv2dSplitK(tiles, Math.ceil(K / tile.BK), d.software ? 1 : GPU_MIN_WORKGROUPS);
  return { tile, ...splitRange(want, K, tile.BK, scratchSlices(d, M, P), engine.limits.maxComputeWorkgroupsPerDimension) };
}

type AMode = 'rows' | 'rows4' | 'flipped';

interface GemmConv {
  kernel: string;
  mode: AMode;
  M: number;
  P: number;
  K: number;
  KS: number;
  pad: number; // padding of the gathered input; may be negative
  cin: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  outC: number;
  outOff: number;
  relu: boolean;
  tile: ConvTile;
  /** GEMM split-K (absent or 1 slice: single pass). */
  split?: { slices: number; kChunk: number };
  x: GPUBufferBinding;
  w: GPUBufferBinding;
  y: GPUBufferBinding;
  bias: GPUBufferBinding | null;
  flops: number;
  /** Inputs (x, w, bias) read once plus the M·P outputs written once. */
  bytes: number;
  shape: string;
}

/** Epilogue of the single pass: bias, ReLU, store into the (possibly wider) output tensor. */
function epilogue(c: GemmConv, outVec4: boolean): string {
  const { BM, BN, TM, TN } = c.tile;
  const GM = TM / 4;
  const GN = TN / 4;
  const ep: string[] = [];
  for (let j = 0; j < GN; j++) {
    const q = `q0 + ${j * (BN / GN)}u + tx * 4u`;
    if (outVec4) {
      // outHW % 4 == 0: the 4 pixels are in one image and the address is 16-byte aligned
      ep.push(`  let yq${j} = ${q}; let yn${j} = yq${j} / p.outHW;`);
      ep.push(`  let base${j} = (yn${j} * p.outC + p.outOff) * p.outHW + (yq${j} - yn${j} * p.outHW);`);
    } else {
      for (let cc = 0; cc < 4; cc++) {
        ep.push(`  let yq${j}_${cc} = ${q} + ${cc}u; let yn${j}_${cc} = yq${j}_${cc} / p.outHW;`);
        ep.push(`  let base${j}_${cc} = (yn${j}_${cc} * p.outC + p.outOff) * p.outHW + (yq${j}_${cc} - yn${j}_${cc} * p.outHW);`);
      }
    }
  }
  for (let r = 0; r < TM; r++) {
    ep.push(`  { let m = m0 + ${(r >> 2) * (BM / GM) + (r & 3)}u + ty * 4u;`);
    ep.push(`    if (m < p.M) {`);
    ep.push(`      let bm = ${c.bias ? 'bias[m]' : '0.0'};`);
    for (let j = 0; j < GN; j++) {
      const v = c.relu ? `max(c${r}_${j} + bm, vec4<f32>(0.0))` : `c${r}_${j} + bm`;
      ep.push(`      let v${j} = ${v};`);
      if (outVec4) {
        ep.push(`      if (yq${j} < p.P) { y[(base${j} + m * p.outHW) / 4u] = v${j}; }`);
      } else {
        for (let cc = 0; cc < 4; cc++) ep.push(`      if (yq${j}_${cc} < p.P) { y[base${j}_${cc} + m * p.outHW] = v${j}[${cc}]; }`);
      }
    }
    ep.push('    }', '  }');
  }
  return ep.join('\n');
}

/**
 * Epilogue of the split-K pass: the raw sums of slice wid.z, as vec4s along q, into
 * part[(wid.z·M + m)·P4/4 + q/4]. q is a multiple of 4 and P4 = 4·p.p4, so each vec4 lies wholly
 * inside its row iff q < P; bias, ReLU and the output layout are the reduce pass's.
 */
function splitEpilogue(t: ConvTile): string {
  const { BM, BN, TM, TN } = t;
  const GM = TM / 4;
  const GN = TN / 4;
  const ep: string[] = [];
  for (let r = 0; r < TM; r++) {
    ep.push(`  { let m = m0 + ${(r >> 2) * (BM / GM) + (r & 3)}u + ty * 4u;`);
    ep.push('    if (m < p.M) {');
    ep.push('      let row = (wid.z * p.M + m) * p.p4;');
    for (let j = 0; j < GN; j++) {
      ep.push(`      { let q = q0 + ${j * (BN / GN)}u + tx * 4u; if (q < p.P) { y[row + q / 4u] = c${r}_${j}; } }`);
    }
    ep.push('    }', '  }');
  }
  return ep.join('\n');
}

/**
 * Generates the unrolled pieces of shaders/conv2d.wgsl for one tile and variant. `split`: the
 * split-K pass (its slice of K from wid.z; raw sums into part[s, m, q/4] instead of the epilogue).
 */
function buildShader(c: GemmConv, outVec4: boolean, split: boolean): string {
  const { BM, BN, BK, TM, TN } = c.tile;
  const T = threadsOf(c.tile);
  const aVec = c.mode === 'rows4';
  const aElems = aVec ? (BM * BK) / 4 : BM * BK;
  const aLoads = Math.ceil(aElems / T);
  const aGuard = aElems % T !== 0;
  const bLoads = (BK * BN) / T;
  const bStep = T / BN;
  const GM = TM / 4;
  const GN = TN / 4;

  // Global→register loads and register→workgroup stores stay WGSL loops over private arrays
  // (GPU compilers unroll them; SwiftShader takes minutes over dozens of inlined gathers).
  const reg: string[] = [];
  reg.push(`  var ra: array<${aVec ? 'vec4<f32>' : 'f32'}, ${aLoads}>;`);
  reg.push(`  var rb: array<f32, ${bLoads}>;`);
  for (let r = 0; r < TM; r++) for (let j = 0; j < GN; j++) reg.push(`  var c${r}_${j} = vec4<f32>(0.0);`);

  // flipped: A[ci, (co, r)] = w[co, ci, k−1−ky, k−1−kx] = w[(co·M + ci)·KK + KK−1−r]
  const aIndex = aVec ? '(m * p.K + k) / 4u' : c.mode === 'rows' ? 'm * p.K + k' : '((k / KK) * p.M + m) * KK + (KK - 1u - k % KK)';
  const zero = aVec ? 'vec4<f32>(0.0)' : '0.0';
  const load = (ind: string): string =>
    [
      `${ind}for (var i = 0u; i < ${aLoads}u; i++) {`,
      `${ind}  let e = lid + i * THREADS;`,
      // vec4 path: one vec4 along k (K % 4 == 0, so it is all in or all out)
      `${ind}  let m = m0 + e % BM; let k = k0 + (e / BM)${aVec ? ' * 4u' : ''};`,
      `${ind}  let ok = ${aGuard ? `e < ${aElems}u && ` : ''}m < p.M && k < p.K;`,
      `${ind}  ra[i] = select(${zero}, w[select(0u, ${aIndex}, ok)], ok);`,
      `${ind}}`,
      `${ind}for (var i = 0u; i < ${bLoads}u; i++) {`,
      `${ind}  rb[i] = gatherB(k0 + bRow + i * ${bStep}u, bValid, bBase, boy, box, p.K, p.inH, p.inW, inHW);`,
      `${ind}}`,
    ].join('\n');

  const store: string[] = [];
  store.push(`    for (var i = 0u; i < ${aLoads}u; i++) {`);
  store.push(`      let e = lid + i * THREADS; let row = e % BM; let col = (e / BM)${aVec ? ' * 4u' : ''};`);
  if (aGuard) store.push(`      if (e >= ${aElems}u) { break; }`);
  if (aVec) {
    for (let q = 0; q < 4; q++) store.push(`      As[(col + ${q}u) * (BM / 4u) + row / 4u][row % 4u] = ra[i][${q}];`);
  } else {
    store.push('      As[col * (BM / 4u) + row / 4u][row % 4u] = ra[i];');
  }
  store.push('    }');
  store.push(`    for (var i = 0u; i < ${bLoads}u; i++) {`);
  store.push(`      Bs[(bRow + i * ${bStep}u) * (BN / 4u) + bCol / 4u][bCol % 4u] = rb[i];`);
  store.push('    }');

  const compute: string[] = [];
  for (let g = 0; g < GM; g++) compute.push(`      let a${g} = As[kk * (BM / 4u) + ${g * (BM / TM)}u + ty];`);
  for (let j = 0; j < GN; j++) compute.push(`      let b${j} = Bs[kk * (BN / 4u) + ${j * (BN / TN)}u + tx];`);
  const comp = ['x', 'y', 'z', 'w'];
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < GN; j++) compute.push(`      c${r}_${j} = fma(vec4<f32>(a${r >> 2}.${comp[r & 3]}), b${j}, c${r}_${j});`);
  }

  return specialize(template, {
    W_T: aVec ? 'vec4<f32>' : 'f32',
    Y_T: outVec4 || split ? 'vec4<f32>' : 'f32',
    BIAS_DECL: c.bias && !split ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : '',
    BM,
    BN,
    BK,
    TN,
    THREADS: T,
    KS: c.KS,
    KK: c.KS * c.KS,
    PAD: `${c.pad}i`,
    AS_LEN: (BK * BM) / 4,
    BS_LEN: (BK * BN) / 4,
    REG_DECL: reg.join('\n'),
    // the last slice ends at K; kChunk is a multiple of BK, so the gather's `k < K` stays the only bound
    K_RANGE: split ? '  let kb = wid.z * p.kChunk;\n  let kEnd = min(p.K, kb + p.kChunk);' : '  let kb = 0u;\n  let kEnd = p.K;',
    LOAD: `  {\n    let k0 = kb;\n${load('    ')}\n  }`,
    LOAD_NEXT: load('      '),
    STORE: store.join('\n'),
    COMPUTE: compute.join('\n'),
    EPILOGUE: split ? splitEpilogue(c.tile) : epilogue(c, outVec4),
  });
}

/** Everything buildShader's text depends on besides the output and split variants. */
function shaderKey(c: GemmConv): string {
  const t = c.tile;
  return `conv2d_gemm|${t.BM},${t.BN},${t.BK},${t.TM},${t.TN}|${c.mode}|k${c.KS}|p${c.pad}|b${!!c.bias}|r${c.relu}`;
}

function dispatchGemmConv(e: Engine, c: GemmConv): void {
  const outVec4 = (c.outH * c.outW) % 4 === 0;
  const tilesM = Math.ceil(c.M / c.tile.BM);
  const tiles = tilesM * Math.ceil(c.P / c.tile.BN);
  const [gx, gy] = grid(tiles, e.limits.maxComputeWorkgroupsPerDimension);
  const t = c.tile;
  const name = `${c.kernel}_k${c.KS}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}${c.mode === 'rows4' ? '_a4' : ''}`;
  const split = c.split && c.split.slices > 1 ? c.split : null;
  const p4 = Math.ceil(c.P / 4);
  const uniforms = new Uniforms()
    .u32(c.M, c.P, c.K, c.cin, c.inH, c.inW, c.outW, c.outH * c.outW, c.outC, c.outOff, tilesM, tiles)
    .u32(split ? split.kChunk : 0, p4, 0, 0)
    .bytes();
  if (!split) {
    e.run({
      kernel: `${name}${outVec4 ? '_y4' : ''}`,
      code: cachedCode(`${shaderKey(c)}|y4${outVec4}`, () => buildShader(c, outVec4, false)),
      uniforms,
      buffers: c.bias ? [c.x, c.w, c.y, c.bias] : [c.x, c.w, c.y],
      workgroups: [gx, gy],
      flops: c.flops,
      bytes: c.bytes,
      shape: c.shape,
    });
    return;
  }
  const S = split.slices;
  const part = e.empty([S, c.M, p4 * 4], 'conv2d_splitK_partial');
  const partBytes = 4 * S * c.M * p4 * 4;
  const outBytes = 4 * c.M * c.P + (c.bias ? 4 * c.M : 0); // the output and the bias: the reduce's
  const shape = `${c.shape} splitK${S}`;
  e.run({
    kernel: `${name}_splitK`,
    code: cachedCode(`${shaderKey(c)}|split`, () => buildShader(c, false, true)),
    uniforms,
    buffers: [c.x, c.w, part.binding],
    workgroups: [gx, gy, S],
    flops: c.flops,
    bytes: c.bytes - outBytes + partBytes,
    shape,
  });
  const total = c.M * p4;
  const [rx, ry] = grid(Math.ceil(total / 256), e.limits.maxComputeWorkgroupsPerDimension);
  const b = c.bias ? 'bias[m]' : '0.0';
  const store: string[] = [];
  if (outVec4) {
    // outHW % 4 == 0: the 4 pixels are in one image and the address is 16-byte aligned
    store.push('  let n = q / p.outHW;');
    store.push('  y[((n * p.outC + p.outOff + m) * p.outHW + q - n * p.outHW) / 4u] = v;');
  } else {
    for (let cc = 0; cc < 4; cc++) {
      store.push(`  { let qc = q + ${cc}u; let n = qc / p.outHW;`);
      store.push(`    if (qc < p.P) { y[(n * p.outC + p.outOff + m) * p.outHW + qc - n * p.outHW] = v[${cc}]; } }`);
    }
  }
  e.run({
    kernel: `${c.kernel}_splitK_reduce${outVec4 ? '_y4' : ''}`,
    code: cachedCode(`conv2d_splitk_reduce|y4${outVec4}|b${!!c.bias}|r${c.relu}`, () =>
      specialize(splitReduceTemplate, {
        Y_T: outVec4 ? 'vec4<f32>' : 'f32',
        BIAS_DECL: c.bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : '',
        VALUE: c.relu ? `max(s + ${b}, vec4<f32>(0.0))` : `s + ${b}`,
        STORE: store.join('\n'),
      }),
    ),
    uniforms: new Uniforms().u32(total, p4, S, c.M * p4, c.P, c.outH * c.outW, c.outC, c.outOff, rx * 256, 0, 0, 0).bytes(),
    buffers: c.bias ? [part.binding, c.y, c.bias] : [part.binding, c.y],
    workgroups: [rx, ry],
    flops: S * c.M * c.P,
    bytes: partBytes + outBytes,
    shape,
  });
  part.dispose();
}

/** Generates the unrolled blocks of shaders/conv2d_direct.wgsl for one register tile and variant. */
function buildDirectShader(c: Omit<GemmConv, 'tile'>, t: ConvDirectTile, wg: number): string {
  const { TM, PX } = t;
  const KS = c.KS;
  const G = TM / 4;
  const cols = PX + KS - 1;
  const setup: string[] = [];
  // image-border tests once per invocation: invalid rows/columns read offset 0 (in bounds) and are zeroed
  for (let ky = 0; ky < KS; ky++) {
    setup.push(`  let iy${ky} = i32(oy) + ${ky} - PAD; let rv${ky} = iy${ky} >= 0 && iy${ky} < i32(p.inH); let ro${ky} = select(0, iy${ky} * W, rv${ky});`);
  }
  for (let j = 0; j < cols; j++) {
    setup.push(`  let ix${j} = i32(ox0) + ${j} - PAD; let cv${j} = ix${j} >= 0 && ix${j} < W; let co${j} = select(0, ix${j}, cv${j});`);
  }
  for (let g = 0; g < G; g++) for (let j = 0; j < PX; j++) setup.push(`  var a${g}_${j} = vec4<f32>(0.0);`);

  const body: string[] = [];
  const comp = ['x', 'y', 'z', 'w'];
  for (let ky = 0; ky < KS; ky++) {
    body.push('    {');
    for (let j = 0; j < cols; j++) body.push(`      let x${j} = select(0.0, x[cb + u32(ro${ky} + co${j})], rv${ky} && cv${j});`);
    for (let kx = 0; kx < KS; kx++) {
      const tap = ky * KS + kx;
      for (let g = 0; g < G; g++) {
        body.push(`      let w${g}_${tap} = wp[wc + ${tap * G + g}u];`);
      }
      for (let g = 0; g < G; g++) for (let j = 0; j < PX; j++) body.push(`      a${g}_${j} += x${j + kx} * w${g}_${tap};`);
    }
    body.push('    }');
  }

  const ep: string[] = [];
  ep.push('  let ybase = ((n * p.outC + p.outOff) * p.outH + oy) * p.outW + ox0;');
  ep.push('  let outHW = p.outH * p.outW;');
  for (let g = 0; g < G; g++)
    for (let r = 0; r < 4; r++) {
      ep.push(`  { let m = m0 + ${4 * g + r}u;`);
      ep.push('    if (m < p.M) {');
      ep.push(`      let bm = ${c.bias ? 'bias[m]' : '0.0'}; let yb = ybase + m * outHW;`);
      for (let j = 0; j < PX; j++) {
        const v = `a${g}_${j}.${comp[r]} + bm`;
        ep.push(`      if (ox0 + ${j}u < p.outW) { y[yb + ${j}u] = ${c.relu ? `max(${v}, 0.0)` : v}; }`);
      }
      ep.push('    }', '  }');
    }

  return specialize(directTemplate, {
    BIAS_DECL: c.bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : '',
    KS,
    PAD: `${c.pad}i`,
    PX,
    TM,
    WG: wg,
    SETUP: setup.join('\n'),
    BODY: body.join('\n'),
    EPILOGUE: ep.join('\n'),
  });
}

const DIRECT_WG = 16;

/**
 * Packs the weights for the direct shader: wp[((mg·cin + c)·KK + tap)·G + g][r] = W(mg·TM + 4g + r, c, tap)
 * (zero past M), W = w[m, c, tap] forward, w[c, m, KK−1−tap] for the grad-input.
 */
const PACK_WGSL = `
struct Params { M: u32, cin: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wp: array<vec4<f32>>;
const KK = {{KK}}u;
const TM = {{TM}}u;
const G = TM / 4u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) { return; }
  let g = i % G;
  let r1 = i / G;
  let tap = r1 % KK;
  let r2 = r1 / KK;
  let c = r2 % p.cin;
  let mg = r2 / p.cin;
  var v = vec4<f32>(0.0);
  for (var r = 0u; r < 4u; r++) {
    let m = mg * TM + 4u * g + r;
    if (m < p.M) { v[r] = w[{{INDEX}}]; }
  }
  wp[i] = v;
}
`;

function dispatchDirectConv(e: Engine, c: Omit<GemmConv, 'tile'>, t: ConvDirectTile): void {
  checkDirectTile(t);
  const KK0 = c.KS * c.KS;
  const groupsM = Math.ceil(c.M / t.TM);
  const packed = groupsM * c.cin * KK0 * (t.TM / 4);
  const wp = e.empty([packed * 4], 'conv2d_direct_wpack');
  const [px, py] = grid(Math.ceil(packed / 64), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `conv2d_direct_pack_k${c.KS}_${t.TM}${c.mode === 'flipped' ? '_flip' : ''}`,
    code: specialize(PACK_WGSL, {
      KK: KK0,
      TM: t.TM,
      INDEX: c.mode === 'flipped' ? '(c * p.M + m) * KK + KK - 1u - tap' : '(m * p.cin + c) * KK + tap',
    }),
    uniforms: new Uniforms().u32(c.M, c.cin, packed, px * 64).bytes(),
    buffers: [c.w, wp.binding],
    workgroups: [px, py],
    flops: 0,
    bytes: 4 * (c.M * c.cin * KK0 + packed * 4),
    shape: c.shape,
  });
  const strips = Math.ceil(c.outW / t.PX);
  const rows = (c.P / (c.outH * c.outW)) * c.outH;
  const total = strips * rows * Math.ceil(c.M / t.TM);
  const [gx, gy] = grid(Math.ceil(total / DIRECT_WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `${c.kernel}_direct_k${c.KS}_${t.TM}x${t.PX}`,
    code: cachedCode(`conv2d_direct|${t.TM},${t.PX}|${DIRECT_WG}|k${c.KS}|p${c.pad}|b${!!c.bias}|r${c.relu}`, () => buildDirectShader(c, t, DIRECT_WG)),
    uniforms: new Uniforms()
      .u32(c.M, c.cin, c.inH, c.inW, c.outH, c.outW, c.outC, c.outOff, strips, rows, total, 0)
      .bytes(),
    buffers: c.bias ? [c.x, wp.binding, c.y, c.bias] : [c.x, wp.binding, c.y],
    workgroups: [gx, gy],
    flops: c.flops,
    bytes: c.bytes,
    shape: c.shape,
  });
  wp.dispose();
}

/** The direct form when `dtile` is given, else the GEMM with `c.tile`. */
function dispatchConv(e: Engine, dtile: ConvDirectTile | null, c: Omit<GemmConv, 'tile'> & { tile: ConvTile | null }): void {
  if (dtile) dispatchDirectConv(e, c, dtile);
  else dispatchGemmConv(e, { ...c, tile: c.tile! });
}

/**
 * The caller's options, or, when they choose no implementation at all, the measured choice for
 * this shape on this device from its tuning table (src/kernels/tuning.ts), if it has one.
 */
function withTuning<O extends Conv2dBackwardInputOptions>(e: Engine, opts: O, key: string): O {
  const o = opts as O & { smallTile?: unknown };
  if (o.tile || o.splitK !== undefined || o.algorithm || o.directTile || o.smallTile) return opts;
  const tuned = tunedConv(e, key);
  return tuned ? { ...opts, ...tuned, algorithm: 'gemm' } : opts;
}

/** The GEMM plan, or null for the direct path (which takes no split: `splitK` must be absent or 1). */
function gemmPlanFor(e: Engine, direct: boolean, M: number, P: number, K: number, opts: { tile?: ConvTile; splitK?: number }, what: string): ConvGemmPlan | null {
  if (!direct) return planConv2dGemm(e, M, P, K, opts, what);
  checkSplitK(opts.splitK, what);
  if (opts.splitK !== undefined && opts.splitK !== 1) throw new ShapeError(`${what}: splitK ${opts.splitK} needs the GEMM path (algorithm 'gemm'), not 'direct'`);
  return null;
}

function squareKernel(w: Tensor, what: string): number {
  if (w.rank !== 4 || w.shape[2] !== w.shape[3] || w.shape[2]! < 1) {
    throw new ShapeError(`${what}: w ${formatShape(w.shape)} must be OIHW with a square kernel`);
  }
  return w.shape[2]!;
}

function checkPadding(padding: number, what: string): void {
  if (!Number.isInteger(padding) || padding < 0) throw new ShapeError(`${what}: padding must be a non-negative integer, got ${padding}`);
}

/**
 * y = conv2d(x, w) + bias, stride 1, zero padding, optionally ReLU'd and optionally written into a
 * channel slice of a larger pre-allocated tensor (zero-copy concat: returns `out` itself then).
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const [N, C, H, W] = nchw(x, 'conv2d: x');
  const k = squareKernel(w, 'conv2d');
  const [Cout, Cin] = w.shape as [number, number];
  if (C !== Cin) throw new ShapeError(`conv2d: x ${formatShape(x.shape)} has ${C} channels but w ${formatShape(w.shape)} expects ${Cin}`);
  const padding = opts.padding ?? Math.floor((k - 1) / 2);
  checkPadding(padding, 'conv2d');
  const OH = H + 2 * padding - k + 1;
  const OW = W + 2 * padding - k + 1;
  if (OH < 1 || OW < 1) throw new ShapeError(`conv2d: x ${formatShape(x.shape)} is smaller than the ${k}x${k} kernel with padding ${padding}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout)) {
    throw new ShapeError(`conv2d: bias ${formatShape(bias.shape)} does not match w ${formatShape(w.shape)} (expects [${Cout}])`);
  }
  const offset = opts.outChannelOffset ?? 0;
  const out = opts.out;
  if (out) {
    const [on, oc, oh, ow] = nchw(out, 'conv2d: out');
    if (on !== N || oh !== OH || ow !== OW || !Number.isInteger(offset) || offset < 0 || offset + Cout > oc) {
      throw new ShapeError(
        `conv2d: out ${formatShape(out.shape)} cannot hold channels [${offset}, ${offset + Cout}) of the [${N}, ${Cout}, ${OH}, ${OW}] result of x ${formatShape(x.shape)} * w ${formatShape(w.shape)}`,
      );
    }
  } else if (offset !== 0) {
    throw new ShapeError('conv2d: outChannelOffset needs out');
  }
  // touch every binding (throws on disposed inputs) before anything is allocated
  const xb = x.binding;
  const wb = w.binding;
  const bb = bias ? bias.binding : null;
  const ob = out ? out.binding : null;
  if (ob && [xb, wb, bb].some((b) => b && b.buffer === ob.buffer)) {
    throw new ShapeError(`conv2d: out ${formatShape(out!.shape)} shares a buffer with an input; WebGPU cannot bind it for reading and writing at once`);
  }
  const M = Cout;
  const P = N * OH * OW;
  const K = Cin * k * k;
  opts = withTuning(x.engine, opts, tuningKey('conv_fwd', N, Cin, H, W, Cout, k, padding));
  const direct = usesDirectConv2d(x.engine, opts);
  const dtile = direct ? (opts.directTile ?? conv2dDirectTile(M, OW)) : null;
  if (dtile) checkDirectTile(dtile);
  const gemm = gemmPlanFor(x.engine, direct, M, P, K, opts, 'conv2d');
  const y = out ?? x.engine.empty([N, Cout, OH, OW], 'conv2d');
  dispatchConv(x.engine, dtile, {
    kernel: opts.relu ? 'conv2d_relu' : 'conv2d',
    mode: K % 4 === 0 ? 'rows4' : 'rows',
    M,
    P,
    K,
    KS: k,
    pad: padding,
    cin: Cin,
    inH: H,
    inW: W,
    outH: OH,
    outW: OW,
    outC: y.shape[1]!,
    outOff: offset,
    relu: !!opts.relu,
    tile: gemm?.tile ?? null,
    split: gemm ? { slices: gemm.slices, kChunk: gemm.kChunk } : undefined,
    x: xb,
    w: wb,
    y: ob ?? y.binding,
    bias: bb,
    flops: 2 * P * M * K,
    bytes: 4 * (x.size + w.size + (bias ? Cout : 0) + P * M),
    shape: `${formatShape(x.shape)}*${formatShape(w.shape)} p${padding}`,
  });
  return y;
}

/**
 * dx for y = conv2d(x, w) (stride 1, padding p), given dy = ∂L/∂y:
 *
 *   dx[n, ci, iy, ix] = Σ_{co, ky, kx} dy[n, co, iy + p − ky, ix + p − kx] · w[co, ci, ky, kx]
 *                     = Σ_{co, ky', kx'} dy[n, co, iy + ky' − (k−1−p), ix + kx' − (k−1−p)] · w[co, ci, k−1−ky', k−1−kx']
 *
 * i.e. a stride-1 convolution of dy with the spatially flipped kernel, in/out channels swapped
 * (w'[ci, co] = flip(w[co, ci])), and padding k−1−p. Same implicit GEMM as the forward pass with
 * M = Cin, K = Cout·k·k; the A operand is gathered from w through the flip (no transposed copy).
 */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Conv2dBackwardInputOptions = {}): Tensor {
  const [N, Cout, OH, OW] = nchw(dy, 'conv2dBackwardInput: dy');
  const k = squareKernel(w, 'conv2dBackwardInput');
  if (xShape.length !== 4) throw new ShapeError(`conv2dBackwardInput: xShape ${formatShape(xShape)} must be NCHW`);
  const [xn, Cin, H, W] = xShape as [number, number, number, number];
  const padding = opts.padding ?? Math.floor((k - 1) / 2);
  checkPadding(padding, 'conv2dBackwardInput');
  if (w.shape[0] !== Cout || w.shape[1] !== Cin) {
    throw new ShapeError(
      `conv2dBackwardInput: dy ${formatShape(dy.shape)} and x ${formatShape(xShape)} need w [${Cout}, ${Cin}, k, k], got w ${formatShape(w.shape)}`,
    );
  }
  if (xn !== N || H + 2 * padding - k + 1 !== OH || W + 2 * padding - k + 1 !== OW) {
    throw new ShapeError(
      `conv2dBackwardInput: dy ${formatShape(dy.shape)} is not the output of x ${formatShape(xShape)} * w ${formatShape(w.shape)} with padding ${padding}`,
    );
  }
  const dyb = dy.binding;
  const wb = w.binding;
  const M = Cin;
  const P = N * H * W;
  const K = Cout * k * k;
  opts = withTuning(dy.engine, opts, tuningKey('conv_dx', N, Cin, H, W, Cout, k, padding));
  if (opts.smallTile && (opts.tile || opts.splitK !== undefined || opts.directTile || opts.algorithm === 'gemm')) {
    throw new ShapeError('conv2dBackwardInput: smallTile cannot be combined with tile, splitK, directTile or the gemm algorithm');
  }
  const direct = opts.smallTile !== undefined || usesDirectConv2d(dy.engine, opts);
  // planes up to 16x16 on software adapters: the pixel-block kernel (conv2d_dx_small.ts)
  const small = direct && !opts.directTile ? (opts.smallTile ?? (usesDxSmall(H, W, k) ? dxSmallTile(M, N, H, W) : null)) : null;
  if (small) checkDxSmallTile(small);
  const dtile = direct && !small ? (opts.directTile ?? conv2dDirectTile(M, W)) : null;
  if (dtile) checkDirectTile(dtile);
  const gemm = gemmPlanFor(dy.engine, direct, M, P, K, opts, 'conv2dBackwardInput');
  const dx = dy.engine.empty([N, Cin, H, W], 'conv2d_dx');
  const shape = `${formatShape(dy.shape)}*${formatShape(w.shape)}ᵀ p${padding}`;
  if (small) {
    const flops = 2 * P * M * K;
    const bytes = 4 * (dy.size + w.size + dx.size);
    dispatchDxSmall(dy.engine, { M, cin: Cout, KS: k, pad: k - 1 - padding, N, inH: OH, inW: OW, outH: H, outW: W, dy: dyb, w: wb, dx: dx.binding, flops, bytes, shape }, small);
    return dx;
  }
  dispatchConv(dy.engine, dtile, {
    kernel: 'conv2d_dx',
    mode: 'flipped',
    M,
    P,
    K,
    KS: k,
    pad: k - 1 - padding,
    cin: Cout,
    inH: OH,
    inW: OW,
    outH: H,
    outW: W,
    outC: Cin,
    outOff: 0,
    relu: false,
    tile: gemm?.tile ?? null,
    split: gemm ? { slices: gemm.slices, kChunk: gemm.kChunk } : undefined,
    x: dyb,
    w: wb,
    y: dx.binding,
    bias: null,
    flops: 2 * P * M * K,
    bytes: 4 * (dy.size + w.size + dx.size),
    shape,
  });
  return dx;
}

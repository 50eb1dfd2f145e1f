import type { Engine } from '../gpu/engine';
import { ShapeError } from '../gpu/errors';

/**
 * Planning of the conv GEMM (src/kernels/conv2d.ts, conv2d_gemm.ts): the workgroup tile, its
 * validity on a device, and split-K — how many slices of the reduction run side by side when the
 * output tiles alone cannot fill the GPU. Pure functions of the problem and a device description,
 * so the heuristics are unit-tested without a GPU.
 *
 * Split-K (GPUs, small M×P with a long K): the 64x128 tiles of a 16² or 32² layer with many input
 * channels make only 8–32 workgroups on a 132-SM H100 (2–5 TFLOP/s instead of ~25), and falling
 * back to smaller tiles only trades idle SMs for slow 64-thread workgroups. Instead the reduction
 * is cut into S slices of kChunk (a multiple of BK, so each slice is whole K steps and the gather
 * needs no new bounds), summed by a second dispatch (see conv2d_gemm.ts).
 */

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

/** Threads of a workgroup with this tile. */
export const threadsOf = (t: ConvTile): number => (t.BM / t.TM) * (t.BN / t.TN);

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

export function checkSplitK(splitK: number | undefined, what: string): void {
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

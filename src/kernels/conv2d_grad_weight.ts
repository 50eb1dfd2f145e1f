import type { Engine } from '../gpu/engine';
import { formatShape, LimitError, ShapeError } from '../gpu/errors';
import { nchw, sameShape, type Tensor } from '../gpu/tensor';
import gemmTemplate from '../../shaders/conv2d_grad_weight.wgsl';
import reduceTemplate from '../../shaders/conv2d_grad_reduce.wgsl';
import biasTemplate from '../../shaders/conv2d_grad_bias.wgsl';
import { grid, specialize, Uniforms } from './wgsl';

/**
 * conv2d backward w.r.t. weights and bias (stride 1).
 *
 * dW is an implicit GEMM, dW[co, (ci,ky,kx)] = Σ_q dy[co, q] · im2col(x)[(ci,ky,kx), q] over the
 * output pixels q ∈ N·Ho·Wo: M = Cout, N = Cin·k·k, and a long reduction K = N·Ho·Wo. The
 * reduction is split (split-K): workgroup (column tile, row tile, split) reduces one chunk of
 * pixels into a padded scratch [splits, Mp, Np]; a second small kernel sums the splits (and adds
 * into `accumulate`). WGSL has no float atomics, so this is how a small M×N fills a big GPU.
 */

/** Workgroup tile BM×BN (rows = Cout, columns = Cin·k·k), reduction step BK, per-thread TM×TN. */
export interface GradWeightTiles {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

/** Optional tuning knobs (a benchmark sweeps these); anything left out is chosen from the limits. */
export interface GradWeightConfig extends Partial<GradWeightTiles> {
  /** Force the number of split-K chunks (clamped to [1, ceil(K / bk)]). */
  splits?: number;
  /** Workgroups to aim for when choosing splits (default: 1024 on a GPU, 8 on a software adapter). */
  targetWorkgroups?: number;
  /** Fewest pixels per split when the split count is chosen automatically (default 256). */
  minChunk?: number;
}

export interface GradWeightPlan {
  tiles: GradWeightTiles;
  splits: number;
  /** Pixels per split (a multiple of bk). */
  chunk: number;
  tilesM: number;
  tilesN: number;
  workgroups: [number, number, number];
  /** Bytes of split-K scratch (0 with a single split). */
  scratchBytes: number;
}

const defaultTarget = (e: Engine): number => (e.adapter.fallback ? 8 : 1024);
const MAX_SCRATCH = 256 * 1024 * 1024;

function smemBytes(t: GradWeightTiles): number {
  return t.bk * (t.bm / 4 + 1) * 16 + t.bk * (t.bn / 4 + 1) * 16;
}

/** Why a tile shape is unusable on this device, or null when it is fine. */
function tileProblem(e: Engine, t: GradWeightTiles): string | null {
  const { bm, bn, bk, tm, tn } = t;
  const ints = [bm, bn, bk, tm, tn].every((v) => Number.isInteger(v) && v > 0);
  if (!ints) return 'tile sizes must be positive integers';
  if (tm % 4 || tn % 4) return 'tm and tn must be multiples of 4';
  if (bm % tm || bn % tn) return 'bm must be a multiple of tm and bn of tn';
  const wgx = bn / tn;
  const wgy = bm / tm;
  const threads = wgx * wgy;
  const lim = e.limits;
  if (threads > lim.maxComputeInvocationsPerWorkgroup) return `${threads} invocations exceed maxComputeInvocationsPerWorkgroup ${lim.maxComputeInvocationsPerWorkgroup}`;
  if (wgx > lim.maxComputeWorkgroupSizeX || wgy > lim.maxComputeWorkgroupSizeY) return `workgroup ${wgx}x${wgy} exceeds the per-dimension limits`;
  if (threads % bk) return `bk ${bk} must divide the ${threads} invocations`;
  if ((bm * bk) % (4 * threads) || (bn * bk) % (4 * threads)) return `bm·bk and bn·bk must be multiples of 4 × the ${threads} invocations`;
  const smem = smemBytes(t);
  if (smem > lim.maxComputeWorkgroupStorageSize) return `${smem} bytes of workgroup memory exceed maxComputeWorkgroupStorageSize ${lim.maxComputeWorkgroupStorageSize}`;
  return null;
}

/**
 * Default tiles: 64x64 (narrowed to 32 for a small Cout or Cin·k·k), BK 16. On a GPU each thread
 * owns 8x8 (64 invocations per workgroup): on an H200 this beat 4x4 on the large-pixel layers
 * (512² 64→64: 19.5 vs 17.6 TFLOP/s, wall clock) and tied elsewhere. On a software adapter 4x4.
 */
function defaultTiles(e: Engine, m: number, n: number): GradWeightTiles {
  const candidates: GradWeightTiles[] = [];
  const bm = m <= 32 ? 32 : 64;
  const bn = n <= 32 ? 32 : 64;
  candidates.push({ bm, bn, bk: 16, tm: 8, tn: 8 });
  candidates.push({ bm, bn, bk: 16, tm: 4, tn: 4 });
  candidates.push({ bm: 32, bn: 32, bk: 16, tm: 4, tn: 4 });
  candidates.push({ bm: 16, bn: 16, bk: 16, tm: 4, tn: 4 });
  candidates.push({ bm: 8, bn: 8, bk: 4, tm: 4, tn: 4 });
  const ok = candidates.find((t) => tileProblem(e, t) === null);
  if (!ok) throw new LimitError('conv2dBackwardWeight: no tile configuration fits this device');
  return ok;
}

/** The tiling and split-K plan for one problem (exported for benchmarks and tests). */
export function planConv2dBackwardWeight(e: Engine, cout: number, cinkk: number, pixels: number, config: GradWeightConfig = {}): GradWeightPlan {
  const base = defaultTiles(e, cout, cinkk);
  const tiles: GradWeightTiles = {
    bm: config.bm ?? base.bm,
    bn: config.bn ?? base.bn,
    bk: config.bk ?? base.bk,
    tm: config.tm ?? base.tm,
    tn: config.tn ?? base.tn,
  };
  const problem = tileProblem(e, tiles);
  if (problem) throw new LimitError(`conv2dBackwardWeight: tiles ${JSON.stringify(tiles)}: ${problem}`);
  const tilesM = Math.ceil(cout / tiles.bm);
  const tilesN = Math.ceil(cinkk / tiles.bn);
  const steps = Math.max(1, Math.ceil(pixels / tiles.bk));
  const perSplit = tilesM * tiles.bm * tilesN * tiles.bn * 4;
  let splits: number;
  if (config.splits !== undefined) {
    splits = Math.floor(config.splits);
  } else {
    const target = config.targetWorkgroups ?? defaultTarget(e);
    const minChunk = Math.max(tiles.bk, config.minChunk ?? 256);
    splits = Math.min(Math.ceil(target / Math.max(1, tilesM * tilesN)), Math.floor(pixels / minChunk));
  }
  const maxScratch = Math.min(e.limits.maxStorageBufferBindingSize, e.limits.maxBufferSize, MAX_SCRATCH);
  splits = Math.min(splits, Math.max(1, Math.floor(maxScratch / Math.max(1, perSplit))), e.limits.maxComputeWorkgroupsPerDimension, steps);
  splits = Math.max(1, splits);
  const chunk = Math.ceil(steps / splits) * tiles.bk;
  splits = Math.max(1, Math.ceil(pixels / chunk));
  return {
    tiles,
    splits,
    chunk,
    tilesM,
    tilesN,
    workgroups: [tilesN, tilesM, splits],
    scratchBytes: splits > 1 ? splits * perSplit : 0,
  };
}

export interface Conv2dBackwardWeightOptions {
  /** Zero padding of the forward conv; default (k − 1) / 2 ("same"). */
  padding?: number;
  /** Add the gradient into this OIHW tensor (gradient accumulation) and return it. */
  accumulate?: Tensor;
  config?: GradWeightConfig;
}

/**
 * dW (OIHW [Cout, Cin, k, k]) of a stride-1 conv2d, from its input x [N, Cin, H, W] and the output
 * gradient dy [N, Cout, Ho, Wo], Ho = H + 2·padding − k + 1. With `accumulate` the result is added
 * into that tensor, which is returned.
 */
export function conv2dBackwardWeight(x: Tensor, dy: Tensor, kernelSize: 1 | 3, opts: Conv2dBackwardWeightOptions = {}): Tensor {
  const what = 'conv2dBackwardWeight';
  const [n, cin, h, w] = nchw(x, `${what} x`);
  const [dn, cout, dh, dw] = nchw(dy, `${what} dy`);
  const k = kernelSize as number;
  if (k !== 1 && k !== 3) throw new ShapeError(`${what}: kernel size must be 1 or 3, got ${k}`);
  const pad = opts.padding ?? (k - 1) / 2;
  if (!Number.isInteger(pad) || pad < 0) throw new ShapeError(`${what}: padding must be a non-negative integer, got ${pad}`);
  const ho = h + 2 * pad - k + 1;
  const wo = w + 2 * pad - k + 1;
  if (ho < 1 || wo < 1) {
    throw new ShapeError(`${what}: x ${formatShape(x.shape)} is smaller than the ${k}x${k} kernel with padding ${pad}`);
  }
  if (dn !== n || dh !== ho || dw !== wo) {
    throw new ShapeError(
      `${what}: dy ${formatShape(dy.shape)} does not match x ${formatShape(x.shape)} with a ${k}x${k} kernel and padding ${pad} (expected [${n}, Cout, ${ho}, ${wo}])`,
    );
  }
  const wShape = [cout, cin, k, k];
  const acc = opts.accumulate;
  if (acc && !sameShape(acc.shape, wShape)) {
    throw new ShapeError(`${what}: accumulate ${formatShape(acc.shape)} must have the weight shape ${formatShape(wShape)}`);
  }
  // touch every input before allocating anything (a disposed input throws here, leaking nothing)
  const xb = x.binding;
  const dyb = dy.binding;
  const accb = acc?.binding;

  const e = x.engine;
  const cinkk = cin * k * k;
  const pixels = n * ho * wo;
  const plan = planConv2dBackwardWeight(e, cout, cinkk, pixels, opts.config);
  if (pixels === 0 || cout === 0 || cinkk === 0) return acc ?? e.zeros(wShape, 'dW');

  const out = acc ?? e.empty(wShape, 'dW');
  const outb = accb ?? out.binding;
  const { tiles, splits, chunk } = plan;
  const mp = plan.tilesM * tiles.bm;
  const np = plan.tilesN * tiles.bn;
  const partial = splits > 1 ? e.empty([splits, mp, np], 'conv2d_dW_partial') : null;
  const direct = acc
    ? 'if (m < p.cout) { for (var c = 0u; c < 4u; c++) { let col = c4 * 4u + c; if (col < p.cinkk) { let o = m * p.cinkk + col; out[o] = out[o] + v[c]; } } }'
    : 'if (m < p.cout) { for (var c = 0u; c < 4u; c++) { let col = c4 * 4u + c; if (col < p.cinkk) { out[m * p.cinkk + col] = v[c]; } } }';
  const code = specialize(gemmTemplate, {
    BM: tiles.bm,
    BN: tiles.bn,
    BK: tiles.bk,
    WGX: tiles.bn / tiles.tn,
    WGY: tiles.bm / tiles.tm,
    TM4: tiles.tm / 4,
    TN4: tiles.tn / 4,
    KS: k,
    OUT_T: partial ? 'vec4<f32>' : 'f32',
    STORE: partial ? 'out[wid.z * p.split_stride4 + m * p.np4 + c4] = v;' : direct,
  });
  const flops = 2 * pixels * cout * cinkk;
  const shape = `N${n} C${cin}→${cout} ${h}x${w} k${k} p${pad} split${splits}`;
  e.run({
    kernel: `conv2d_dW_${tiles.bm}x${tiles.bn}x${tiles.bk}_${tiles.tm}x${tiles.tn}${partial ? '_split' : acc ? '_acc' : ''}`,
    code,
    uniforms: new Uniforms()
      .u32(cout, cinkk, cin, pad)
      .u32(h, w, ho, wo)
      .u32(ho * wo, pixels, chunk, np / 4)
      .u32((mp * np) / 4, 0, 0, 0)
      .bytes(),
    buffers: [xb, dyb, partial ? partial.binding : outb],
    workgroups: plan.workgroups,
    flops,
    bytes: (x.size + dy.size + (partial ? splits * mp * np : (acc ? 2 : 1) * out.size)) * 4,
    shape,
  });
  if (partial) {
    reduceSplits(e, partial, out, splits, cout, cinkk, np, mp * np, !!acc, shape);
    partial.dispose();
  }
  return out;
}

/** out[m, c] (+)= Σ_s part[s·stride + m·np + c] for m < rows, c < ncols. */
function reduceSplits(e: Engine, part: Tensor, out: Tensor, splits: number, rows: number, ncols: number, np: number, stride: number, accumulate: boolean, shape: string): void {
  const vec = ncols % 4 === 0 && np % 4 === 0 && stride % 4 === 0;
  const u = vec ? 4 : 1;
  const t = vec ? 'vec4<f32>' : 'f32';
  const total = (rows * ncols) / u;
  const [gx, gy] = grid(Math.ceil(total / 256), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `conv2d_grad_reduce${vec ? '_vec4' : ''}${accumulate ? '_acc' : ''}`,
    code: specialize(reduceTemplate, { T: t, EPILOGUE: accumulate ? 'out[i] + s' : 's' }),
    uniforms: new Uniforms().u32(total, ncols / u, np / u, splits, stride / u, gx * 256, 0, 0).bytes(),
    buffers: [part.binding, out.binding],
    workgroups: [gx, gy],
    flops: splits * rows * ncols,
    bytes: (splits + (accumulate ? 2 : 1)) * rows * ncols * 4,
    shape,
  });
}

export interface Conv2dBackwardBiasOptions {
  /** Add the gradient into this [Cout] tensor and return it. */
  accumulate?: Tensor;
  /** Workgroups to aim for (default: 1024 on a GPU, 8 on a software adapter). */
  targetWorkgroups?: number;
  /** Force the number of pixel chunks (stage-1 workgroups per channel). */
  chunks?: number;
}

/** db [Cout] = Σ over N, H, W of dy [N, Cout, H, W]; with `accumulate`, added into that tensor. */
export function conv2dBackwardBias(dy: Tensor, opts: Conv2dBackwardBiasOptions = {}): Tensor {
  const what = 'conv2dBackwardBias';
  const [n, cout, h, w] = nchw(dy, `${what} dy`);
  const acc = opts.accumulate;
  if (acc && !sameShape(acc.shape, [cout])) {
    throw new ShapeError(`${what}: accumulate ${formatShape(acc.shape)} must have the bias shape [${cout}] of dy ${formatShape(dy.shape)}`);
  }
  const dyb = dy.binding;
  const accb = acc?.binding;
  const e = dy.engine;
  const hw = h * w;
  const pixels = n * hw;
  if (pixels === 0 || cout === 0) return acc ?? e.zeros([cout], 'db');

  const target = opts.targetWorkgroups ?? defaultTarget(e);
  const want = opts.chunks ?? Math.min(Math.ceil(target / cout), Math.floor(pixels / 2048));
  let chunks = Math.max(1, Math.min(Math.floor(want), pixels, e.limits.maxComputeWorkgroupsPerDimension));
  const chunk = Math.ceil(pixels / chunks);
  chunks = Math.ceil(pixels / chunk);
  if (cout > e.limits.maxComputeWorkgroupsPerDimension) {
    throw new LimitError(`${what}: ${cout} channels exceed maxComputeWorkgroupsPerDimension`);
  }
  const out = acc ?? e.empty([cout], 'db');
  const outb = accb ?? out.binding;
  const partial = chunks > 1 ? e.empty([chunks, cout], 'conv2d_db_partial') : null;
  const store = partial ? 'out[wid.y * p.cout + co] = red[0];' : acc ? 'out[co] = out[co] + red[0];' : 'out[co] = red[0];';
  const shape = `N${n} C${cout} ${h}x${w} chunks${chunks}`;
  e.run({
    kernel: `conv2d_db${partial ? '_split' : acc ? '_acc' : ''}`,
    code: specialize(biasTemplate, { STORE: store }),
    uniforms: new Uniforms().u32(cout, hw, pixels, chunk).bytes(),
    buffers: [dyb, partial ? partial.binding : outb],
    workgroups: [cout, chunks],
    flops: dy.size,
    bytes: (dy.size + (partial ? chunks * cout : cout)) * 4,
    shape,
  });
  if (partial) {
    reduceSplits(e, partial, out, chunks, 1, cout, cout, cout, !!acc, shape);
    partial.dispose();
  }
  return out;
}

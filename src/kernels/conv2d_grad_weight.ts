import type { Engine } from '../gpu/engine';
import { formatShape, LimitError, ShapeError } from '../gpu/errors';
import { nchw, sameShape, type Tensor } from '../gpu/tensor';
import gemmTemplate from '../../shaders/conv2d_grad_weight.wgsl';
import reduceTemplate from '../../shaders/conv2d_grad_reduce.wgsl';
import biasTemplate from '../../shaders/conv2d_grad_bias.wgsl';
import directTemplate from '../../shaders/conv2d_grad_weight_direct.wgsl';
import { tunedGradWeight, tuningKey } from './tuning';
import { grid, specialize, Uniforms } from '../gpu/wgsl';

/**
 * conv2d backward w.r.t. weights and bias (stride 1).
 *
 * dW is an implicit GEMM, dW[co, (ci,ky,kx)] = Σ_q dy[co, q] · im2col(x)[(ci,ky,kx), q] over the
 * output pixels q ∈ N·Ho·Wo: M = Cout, N = Cin·k·k, and a long reduction K = N·Ho·Wo. The
 * reduction is split (split-K): workgroup (column tile, row tile, split) reduces one chunk of
 * pixels into a padded scratch [splits, Mp, Np]; a second small kernel sums the splits (and adds
 * into `accumulate`). WGSL has no float atomics, so this is how a small M×N fills a big GPU.
 *
 * Software adapters (SwiftShader) default to a direct form instead (shaders/conv2d_grad_weight_direct.wgsl):
 * each invocation owns 8 output channels × the k×k taps of one input channel in named registers and
 * slides a k×k window of x along its pixel rows (k new loads + 8 dy loads per 72 FMAs, no workgroup
 * memory, no barriers, no index divisions in the pixel loop); row slices are summed by the same
 * reduce pass. On 2 cores it runs 10–100x faster than the GEMM, whose 32–64-wide tiles are mostly
 * empty for Cout 8–16 / Cin·9 = 9–72 and whose barriers are coroutine switches there.
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
  /**
   * 'gemm': the tiled split-K GEMM (GPUs). 'direct': one invocation per register tile sliding a
   * k×k window along the pixel rows, no workgroup memory (CPU rasterisers). Default: 'direct' on a
   * software adapter unless a GEMM option (tiles, splits, targetWorkgroups, minChunk) is given, else 'gemm'.
   */
  algorithm?: 'gemm' | 'direct';
  /** direct: output channels per invocation (4 or 8). */
  directTm?: number;
  /** direct: input channels per invocation (1–4). */
  directCit?: number;
  /** direct: force the number of row slices (partials summed by the reduce pass). */
  slices?: number;
  /** direct: invocations to aim for when choosing slices (default 2048). */
  targetInvocations?: number;
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
 * (512² 64→64: 19.5 vs 17.6 TFLOP/s, wall clock) and tied elsewhere. Software adapters use the
 * direct path unless the GEMM is forced.
 */
function defaultTiles(e: Engine, m: number, n: number): GradWeightTiles {
  const candidates: GradWeightTiles[] = [];
  // GPUs, Cout and Cin·k·k both ≥ 128: 128x64 tiles. H200 sweep (bench/tile_sweep.ts, timestamps,
  // candidates interleaved) over the 29 weight gradients of a b4 256² training step: 12% less
  // time in all (39.3 → 34.6 ms), 15–25% on the 256–1280-channel layers; the narrow layers keep 64x64
  if (!e.adapter.fallback && m >= 128 && n >= 128) candidates.push({ bm: 128, bn: 64, bk: 16, tm: 8, tn: 8 });
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

/** Plan of the direct (software-adapter) weight gradient. */
export interface GradWeightDirectPlan {
  /** Output channels per invocation (a multiple of 4). */
  tm: number;
  /** Input channels per invocation. */
  cit: number;
  /** Invocations per workgroup. */
  wg: number;
  /** Row slices (partials); 1 writes dW directly. */
  slices: number;
  /** Output rows (of N·Ho) per slice. */
  chunkRows: number;
  groupsC: number;
  groupsM: number;
  invocations: number;
}

/** Whether conv2dBackwardWeight takes the direct path for this config on this engine. */
export function usesDirectConv2dBackwardWeight(e: Engine, config: GradWeightConfig = {}): boolean {
  if (config.algorithm) return config.algorithm === 'direct';
  const gemmKeys = config.bm ?? config.bn ?? config.bk ?? config.tm ?? config.tn ?? config.splits ?? config.targetWorkgroups ?? config.minChunk;
  return e.adapter.fallback && gemmKeys === undefined;
}

/**
 * Direct plan: TM = 8 output channels per invocation (4 when Cout ≤ 4), one input channel for
 * 3x3 (72 accumulators) or 4 for 1x1; the N·Ho output rows are sliced until about
 * `targetInvocations` invocations run (each slice at least ~256 pixels). SwiftShader, 2 cores, U-Net++
 * shapes (Cout 8–64, Cin·9 9–576, 128–32768 pixels): 2048 beat 512 by about 1.5x (more, shorter
 * workgroups balance better across the cores); 8192 was no better. TM 8 beat TM 4 by ~2x.
 */
export function planConv2dBackwardWeightDirect(cout: number, cin: number, k: number, rows: number, wo: number, config: GradWeightConfig = {}): GradWeightDirectPlan {
  const tm = config.directTm ?? (cout <= 4 ? 4 : 8);
  const cit = config.directCit ?? (k === 1 ? Math.min(4, cin) : 1);
  if (!(tm === 4 || tm === 8)) throw new LimitError(`conv2dBackwardWeight: directTm must be 4 or 8, got ${tm}`);
  if (!(Number.isInteger(cit) && cit >= 1 && cit <= 4)) throw new LimitError(`conv2dBackwardWeight: directCit must be 1–4, got ${cit}`);
  const groupsC = Math.ceil(cin / cit);
  const groupsM = Math.ceil(cout / tm);
  const base = groupsC * groupsM;
  let slices: number;
  if (config.slices !== undefined) {
    slices = Math.floor(config.slices);
  } else {
    const target = config.targetInvocations ?? 2048;
    const minRows = Math.max(1, Math.ceil(256 / Math.max(1, wo)));
    slices = Math.min(Math.ceil(target / base), Math.floor(rows / minRows));
  }
  slices = Math.max(1, Math.min(slices, rows, 65535));
  const chunkRows = Math.ceil(rows / slices);
  slices = Math.max(1, Math.ceil(rows / chunkRows));
  return { tm, cit, wg: 16, slices, chunkRows, groupsC, groupsM, invocations: base * slices };
}

/** Generates the unrolled blocks of shaders/conv2d_grad_weight_direct.wgsl. */
function buildDirectShader(d: GradWeightDirectPlan, k: number, pad: number, store: (idx: string, v: string) => string): string {
  const { tm, cit } = d;
  const G = tm / 4;
  const reg: string[] = [];
  for (let t = 0; t < tm; t++) reg.push(`  let coff${t} = min(co0 + ${t}u, p.cout - 1u) * howo;`);
  for (let c = 0; c < cit; c++) reg.push(`  let cioff${c} = i32((min(ci0 + ${c}u, p.cin - 1u) - ci0) * hw);`);
  for (let g = 0; g < G; g++) for (let c = 0; c < cit; c++) for (let t = 0; t < k * k; t++) reg.push(`  var acc${g}_${c}_${t} = vec4<f32>(0.0);`);
  for (let c = 0; c < cit; c++) for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) reg.push(`  var w${c}_${ky}_${kx} = 0.0;`);

  const row: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    row.push(`    let iy${ky} = i32(oh) + ${ky - pad}; let rv${ky} = iy${ky} >= 0 && iy${ky} < i32(p.h);`);
    for (let c = 0; c < cit; c++) row.push(`    let xb${c}_${ky} = xn + cioff${c} + iy${ky} * W;`);
  }
  const init: string[] = [];
  for (let kx = 0; kx < k - 1; kx++) {
    init.push(`    { let ix = ${kx - pad}; let cv = ix >= 0 && ix < W;`);
    for (let c = 0; c < cit; c++) for (let ky = 0; ky < k; ky++) init.push(`      w${c}_${ky}_${kx + 1} = ld(xb${c}_${ky} + ix, rv${ky} && cv);`);
    init.push('    }');
  }
  // at the top of each pixel the window is shifted left by one: column kx holds ix = ow + kx − PAD
  const px: string[] = [];
  for (let c = 0; c < cit; c++)
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k - 1; kx++) px.push(`      w${c}_${ky}_${kx} = w${c}_${ky}_${kx + 1};`);
      px.push(`      w${c}_${ky}_${k - 1} = ld(xb${c}_${ky} + ix, rv${ky} && cv);`);
    }
  px.push('      let q = dyr + ow;');
  for (let g = 0; g < G; g++) {
    const parts = [0, 1, 2, 3].map((r) => `dy[q + coff${4 * g + r}]`);
    px.push(`      let d${g} = vec4<f32>(${parts.join(', ')});`);
  }
  for (let g = 0; g < G; g++)
    for (let c = 0; c < cit; c++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const t = ky * k + kx;
          px.push(`      acc${g}_${c}_${t} = fma(d${g}, vec4<f32>(w${c}_${ky}_${kx}), acc${g}_${c}_${t});`);
        }

  const st: string[] = [];
  for (let g = 0; g < G; g++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < cit; c++) {
        st.push(`  { let co = co0 + ${4 * g + r}u; let ci = ci0 + ${c}u;`);
        st.push(`    if (co < p.cout && ci < p.cin) { let o = co * p.cinkk + ci * KK;`);
        for (let t = 0; t < k * k; t++) st.push(`      ${store(`o + ${t}u`, `acc${g}_${c}_${t}[${r}]`)}`);
        st.push('    }', '  }');
      }
  return specialize(directTemplate, {
    TM: tm,
    CIT: cit,
    KS: k,
    PAD: pad,
    WG: d.wg,
    REG_DECL: reg.join('\n'),
    ROW_SETUP: row.join('\n'),
    WINDOW_INIT: init.join('\n'),
    PIXEL: px.join('\n'),
    STORE: st.join('\n'),
  });
}

function conv2dBackwardWeightDirect(
  e: Engine, xb: GPUBufferBinding, dyb: GPUBufferBinding, out: Tensor, acc: boolean,
  dims: { n: number; cin: number; cout: number; h: number; w: number; ho: number; wo: number; k: number; pad: number },
  config: GradWeightConfig | undefined, xSize: number, dySize: number,
): void {
  const { n, cin, cout, h, w, ho, wo, k, pad } = dims;
  const cinkk = cin * k * k;
  const rows = n * ho;
  const d = planConv2dBackwardWeightDirect(cout, cin, k, rows, wo, config);
  const split = d.slices > 1;
  const partial = split ? e.empty([d.slices, cout, cinkk], 'conv2d_dW_partial') : null;
  const store = split
    ? (i: string, v: string) => `out[slice * p.split_stride + ${i}] = ${v};`
    : acc
      ? (i: string, v: string) => `out[${i}] = out[${i}] + ${v};`
      : (i: string, v: string) => `out[${i}] = ${v};`;
  const [gx, gy] = grid(Math.ceil(d.invocations / d.wg), e.limits.maxComputeWorkgroupsPerDimension);
  const shape = `N${n} C${cin}→${cout} ${h}x${w} k${k} p${pad} slices${d.slices}`;
  e.run({
    kernel: `conv2d_dW_direct_k${k}_${d.tm}x${d.cit}${split ? '_split' : acc ? '_acc' : ''}`,
    code: buildDirectShader(d, k, pad, store),
    uniforms: new Uniforms()
      .u32(cout, cin, cinkk, h)
      .u32(w, ho, wo, rows)
      .u32(d.chunkRows, d.groupsC, d.groupsM, d.invocations)
      .u32(cout * cinkk, 0, 0, 0)
      .bytes(),
    buffers: [xb, dyb, partial ? partial.binding : out.binding],
    workgroups: [gx, gy],
    flops: 2 * n * ho * wo * cout * cinkk,
    bytes: (xSize + dySize + (partial ? d.slices : acc ? 2 : 1) * cout * cinkk) * 4,
    shape,
  });
  if (partial) {
    reduceSplits(e, partial, out, d.slices, cout, cinkk, cinkk, cout * cinkk, acc, shape);
    partial.dispose();
  }
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
  // a measured choice for this shape on this device (src/kernels/tuning.ts), unless the caller chose
  const config = opts.config ?? tunedGradWeight(e, tuningKey('conv_dw', n, cin, h, w, cout, k, pad));
  const direct = usesDirectConv2dBackwardWeight(e, config);
  const plan = direct ? null : planConv2dBackwardWeight(e, cout, cinkk, pixels, config);
  if (pixels === 0 || cout === 0 || cinkk === 0) return acc ?? e.zeros(wShape, 'dW');

  const out = acc ?? e.empty(wShape, 'dW');
  if (!plan) {
    conv2dBackwardWeightDirect(e, xb, dyb, out, !!acc, { n, cin, cout, h, w, ho, wo, k, pad }, config, x.size, dy.size);
    return out;
  }
  const outb = accb ?? out.binding;
  const { tiles, splits, chunk } = plan;
  const mp = plan.tilesM * tiles.bm;
  const np = plan.tilesN * tiles.bn;
  const partial = splits > 1 ? e.empty([splits, mp, np], 'conv2d_dW_partial') : null;
  const directStore = acc
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
    STORE: partial ? 'out[wid.z * p.split_stride4 + m * p.np4 + c4] = v;' : directStore,
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
  // SwiftShader runs a workgroup's SIMD groups (4 lanes) as coroutines switched at every barrier:
  // one group per workgroup keeps the tree reduction to two cheap barriers
  const wg = e.adapter.fallback ? 4 : 256;
  const store = partial ? 'out[wid.y * p.cout + co] = red[0];' : acc ? 'out[co] = out[co] + red[0];' : 'out[co] = red[0];';
  const shape = `N${n} C${cout} ${h}x${w} chunks${chunks}`;
  e.run({
    kernel: `conv2d_db${wg === 256 ? '' : `_wg${wg}`}${partial ? '_split' : acc ? '_acc' : ''}`,
    code: specialize(biasTemplate, { STORE: store, WG: wg }),
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

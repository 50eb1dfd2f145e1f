import type { Engine } from '../gpu/engine';
import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, type Tensor } from '../gpu/tensor';
import { checkDxSmallTile, dispatchDxSmall, dxSmallTile, usesDxSmall, type ConvDxSmallTile } from './conv2d_dx_small';
import { tunedConv, tuningKey } from './tuning';
import { checkDirectTile, conv2dDirectTile, dispatchDirectConv, type ConvDirectTile } from './conv2d_direct';
import { dispatchGemmConv, type GemmConv } from './conv2d_gemm';
import { checkSplitK, planConv2dGemm, type ConvGemmPlan, type ConvTile } from './conv2d_plan';

/**
 * 2-D convolution (stride 1, square kernel, zero padding) as an implicit GEMM, and its gradient
 * with respect to the input as the same GEMM over the flipped kernel. The weight gradient lives in
 * conv2d_grad_weight.ts. This module is the API (shape checks, options, tuning tables, choice of
 * implementation); the tile and split-K planning is in conv2d_plan.ts, the GPU kernel in
 * conv2d_gemm.ts, the software-adapter kernels in conv2d_direct.ts and conv2d_dx_small.ts.
 *
 * GEMM view (forward): M = Cout rows, P = N·outH·outW columns (output pixels), K = Cin·k·k.
 * A = w viewed as [Cout, Cin·k·k] (OIHW is already row-major in k), B = im2col(x), gathered on the
 * fly and never materialised. See shaders/conv2d.wgsl for the tiling.
 *
 * Which implementation runs: on GPUs the GEMM, split over K when its output tiles alone cannot
 * fill the machine (conv2d_plan.ts, conv2d_gemm.ts); on software adapters (SwiftShader) the
 * direct register-tiled form (conv2d_direct.ts), and for the grad-input of planes up to 16² the
 * pixel-block kernel of conv2d_dx_small.ts. Explicit options (tile, splitK, algorithm, directTile,
 * smallTile) override the choice; without them a tuning table installed on the engine
 * (tuning.ts) may, for the shapes it measured.
 */

export { checkDirectTile, conv2dDirectTile, type ConvDirectTile } from './conv2d_direct';
export {
  checkTile,
  chooseConv2dGemm,
  conv2dSplitK,
  conv2dTile,
  planConv2dGemm,
  SPLITK_DEEP_STEPS,
  SPLITK_MIN_STEPS,
  type ConvGemmDevice,
  type ConvGemmPlan,
  type ConvTile,
} from './conv2d_plan';

/** Which implementation: the tiled implicit GEMM (GPUs) or the direct form (CPU rasterisers). */
export type ConvAlgorithm = 'gemm' | 'direct';

export interface Conv2dOptions {
  /** Zero padding on every side; default (k−1)/2 ("same" for odd k). */
  padding?: number;
  /** Fused ReLU epilogue: y = max(conv + bias, 0). */
  relu?: boolean;
  /** Write into channels [outChannelOffset, outChannelOffset+Cout) of this [N, C, outH, outW] tensor. */
  out?: Tensor;
  outChannelOffset?: number;
  /**
   * Override the tile (benchmark sweeps); must pass `checkTile`. Implies the GEMM unless `algorithm` says otherwise.
   */
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
  /**
   * Force the pixel-block kernel of conv2d_dx_small.ts with this tile (a direct form; not with tile, splitK, directTile
   * or 'gemm').
   */
  smallTile?: ConvDxSmallTile;
}

/** Whether conv2d / conv2dBackwardInput take the direct path for these options on this engine. */
export function usesDirectConv2d(engine: Engine, opts: { tile?: ConvTile; algorithm?: ConvAlgorithm; directTile?: ConvDirectTile; splitK?: number } = {}): boolean {
  if (opts.algorithm) return opts.algorithm === 'direct';
  if (opts.directTile) return true;
  return engine.adapter.fallback && opts.tile === undefined && opts.splitK === undefined;
}

/** The direct form when `dtile` is given, else the GEMM with `c.tile`. */
function dispatchConv(e: Engine, dtile: ConvDirectTile | null, c: Omit<GemmConv, 'tile'> & { tile: ConvTile | null }, weights: Tensor): void {
  if (dtile) dispatchDirectConv(e, c, dtile, weights);
  else dispatchGemmConv(e, { ...c, tile: c.tile! });
}

/**
 * The caller's options, or, when they choose no implementation at all, the measured choice for
 * this shape on this device from its tuning table (src/kernels/tuning.ts), if it has one.
 */
function withTuning<O extends Conv2dBackwardInputOptions>(e: Engine, opts: O, key: string): O {
  if (opts.tile || opts.splitK !== undefined || opts.algorithm || opts.directTile || opts.smallTile) return opts;
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
  }, w);
  return y;
}

/**
 * dx for y = conv2d(x, w) (stride 1, padding p), given dy = ∂L/∂y:
 *
 *   dx[n, ci, iy, ix] = Σ_{co, ky, kx} dy[n, co, iy + p − ky, ix + p − kx] · w[co, ci, ky, kx]
 *                     = Σ_{co, ky', kx'} dy[n, co, iy + ky' − (k−1−p), ix + kx' − (k−1−p)] · w[co, ci, k−1−ky',
 * k−1−kx']
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
  }, w);
  return dx;
}

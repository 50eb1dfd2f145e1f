import { mapKernel } from './arith';
import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, Tensor } from '../gpu/tensor';
import template from '../../shaders/batchnorm.wgsl';
import { grid, section, specialize, Uniforms } from '../gpu/wgsl';

const STATS = section(template, 'stats');
const FINALIZE = section(template, 'finalize');
const APPLY = section(template, 'apply');
const BWD_REDUCE = section(template, 'bwd_reduce');
const BWD_FINALIZE = section(template, 'bwd_finalize');
const BWD_DX = section(template, 'bwd_dx');

const WG = 256;
/** Reduction workgroup sizes: software adapters run workgroups as coroutines, where every barrier
 * costs a context switch, so they get one SIMD group (4) instead of 256/64 threads. */
const reductionSizes = (e: { adapter: { fallback: boolean } }) =>
  e.adapter.fallback ? { RWG: 4, RHALF: 2, FWG: 4, FHALF: 2 } : { RWG: 256, RHALF: 128, FWG: 64, FHALF: 32 };
/** Partials per channel (merged by one 64-thread workgroup per channel). */
const MAX_PARTS = 256;

export interface BatchNormOptions {
  training: boolean;
  /** Running-stat momentum (PyTorch default 0.1). */
  momentum?: number;
  eps?: number;
  /** Fused ReLU epilogue: y = max(bn(x), 0). */
  relu?: boolean;
}

export interface BatchNormSaved {
  /** Per-channel batch mean [C]. */
  mean: Tensor;
  /** Per-channel 1/sqrt(biased var + eps) [C]. */
  invStd: Tensor;
}

interface Layout {
  n: number;
  c: number;
  hw: number;
  vec: boolean;
  t: 'f32' | 'vec4<f32>';
  /** plane length in T units */
  hwv: number;
  /** elements per channel in T units (N·hwv) */
  mv: number;
  span: number;
  parts: number;
}

function layout(x: Tensor, what: string): Layout {
  const [n, c, h, w] = nchw(x, what);
  const hw = h * w;
  const vec = hw % 4 === 0;
  const hwv = vec ? hw / 4 : hw;
  const mv = n * hwv;
  // ≥ 8 loads per thread; more when that would exceed MAX_PARTS partials per channel
  const rwg = reductionSizes(x.engine).RWG;
  let span = rwg * 8;
  if (Math.ceil(mv / span) > MAX_PARTS) span = Math.ceil(mv / MAX_PARTS / rwg) * rwg;
  const parts = Math.max(1, Math.ceil(mv / span));
  return { n, c, hw, vec, t: vec ? 'vec4<f32>' : 'f32', hwv, mv, span, parts };
}

function perChannel(op: string, t: Tensor, name: string, c: number, x: Tensor): void {
  if (t.size !== c || t.rank !== 1) {
    throw new ShapeError(`${op}: ${name} ${formatShape(t.shape)} must be [${c}] for x ${formatShape(x.shape)}`);
  }
}

/**
 * PyTorch `nn.BatchNorm2d` forward on NCHW x. Training: normalise with the batch mean and biased
 * variance over N·H·W, update runningMean/runningVar in place ((1−m)·running + m·stat, unbiased
 * variance), return the saved mean and 1/std for the backward. Eval: running statistics, no
 * update, saved = null. `relu` fuses max(·, 0) into the output.
 *
 * Training costs three dispatches: per-(chunk, channel) Welford partials with a workgroup tree
 * merge, a per-channel merge that also updates the running stats, and the vectorised apply.
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  opts: BatchNormOptions,
): { y: Tensor; saved: BatchNormSaved | null } {
  const L = layout(x, 'batchNorm');
  for (const [t, name] of [
    [gamma, 'gamma'],
    [beta, 'beta'],
    [runningMean, 'runningMean'],
    [runningVar, 'runningVar'],
  ] as const) {
    perChannel('batchNorm', t, name, L.c, x);
  }
  const count = L.n * L.hw;
  if (opts.training && count < 2) {
    throw new ShapeError(`batchNorm: training needs more than 1 value per channel, x is ${formatShape(x.shape)}`);
  }
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const xb = x.binding;
  const gb = gamma.binding;
  const bb = beta.binding;
  const rmb = runningMean.binding;
  const rvb = runningVar.binding;
  if (opts.training && rmb.buffer === rvb.buffer && rmb.offset === rvb.offset) {
    throw new ShapeError('batchNorm: runningMean and runningVar must be distinct tensors (both are updated in place)');
  }
  const e = x.engine;
  const shape = formatShape(x.shape);

  let saved: BatchNormSaved | null = null;
  if (opts.training) {
    const part = e.empty([L.c * L.parts * 4], 'bn_partials');
    e.run({
      kernel: `bn_stats${L.vec ? '_vec4' : ''}`,
      code: specialize(STATS, {
        ...reductionSizes(e),
        T: L.t,
        LANES: L.vec
          ? `  let tn = 4.0 * cnt;
  let tm = ((mean.x + mean.y) + (mean.z + mean.w)) * 0.25;
  let dm = mean - vec4<f32>(tm);
  let tq = ((m2.x + m2.y) + (m2.z + m2.w)) + cnt * dot(dm, dm);`
          : '  let tn = cnt;\n  let tm = mean;\n  let tq = m2;',
      }),
      uniforms: new Uniforms().u32(L.hwv, L.c, L.mv, L.span, L.parts).bytes(),
      buffers: [xb, part.binding],
      workgroups: [L.parts, L.c],
      flops: 4 * x.size,
      bytes: 4 * x.size,
      shape,
    });
    saved = { mean: e.empty([L.c], 'bn_mean'), invStd: e.empty([L.c], 'bn_inv_std') };
    e.run({
      kernel: 'bn_finalize',
      code: specialize(FINALIZE, reductionSizes(e)),
      uniforms: new Uniforms().u32(L.c, L.parts).f32(momentum, eps).bytes(),
      buffers: [part.binding, rmb, rvb, saved.mean.binding, saved.invStd.binding],
      workgroups: [L.c],
      flops: 6 * L.c * L.parts,
      bytes: 16 * L.c * L.parts,
      shape: `${L.c}x${L.parts}`,
    });
    part.dispose();
  }

  const y = e.empty(x.shape, opts.relu ? 'bn_relu' : 'bn');
  const nT = x.size / (L.vec ? 4 : 1);
  const [gx, gy] = grid(Math.ceil(nT / WG), e.limits.maxComputeWorkgroupsPerDimension);
  const affine = 'x[i] * sc + sh';
  e.run({
    kernel: `bn_apply${opts.training ? '' : '_eval'}${opts.relu ? '_relu' : ''}${L.vec ? '_vec4' : ''}`,
    code: specialize(APPLY, {
      T: L.t,
      INV: opts.training ? 'stat[ch]' : 'inverseSqrt(stat[ch] + p.eps)',
      OUT: opts.relu ? `max(${affine}, ${L.t}(0.0))` : affine,
    }),
    uniforms: new Uniforms().u32(nT, gx * WG, L.hwv, L.c).f32(eps).bytes(),
    buffers: [xb, gb, bb, saved ? saved.mean.binding : rmb, saved ? saved.invStd.binding : rvb, y.binding],
    workgroups: [gx, gy],
    flops: 2 * x.size,
    bytes: 8 * x.size,
    shape,
  });
  return { y, saved };
}

/**
 * Training-mode batch-norm backward: dx = γ·inv/M·(M·g − Σg − x̂·Σ(g·x̂)), dγ = Σ g·x̂, dβ = Σ g,
 * with g = dy, or dy·[y > 0] when `opts.y` (the fused-ReLU output) is given. Three dispatches:
 * per-(chunk, channel) partial sums, a per-channel merge that also folds the dx coefficients,
 * and the vectorised dx map.
 */
export function batchNormBackward(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor,
  saved: BatchNormSaved,
  opts: { y?: Tensor; frozen?: boolean } = {},
): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const L = layout(x, 'batchNormBackward');
  const sameAsX = (t: Tensor, name: string) => {
    if (t.rank !== 4 || t.shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(`batchNormBackward: ${name} ${formatShape(t.shape)} must match x ${formatShape(x.shape)}`);
    }
  };
  sameAsX(dy, 'dy');
  if (opts.y) sameAsX(opts.y, 'y');
  perChannel('batchNormBackward', gamma, 'gamma', L.c, x);
  perChannel('batchNormBackward', saved.mean, 'saved.mean', L.c, x);
  perChannel('batchNormBackward', saved.invStd, 'saved.invStd', L.c, x);
  const dyb = dy.binding;
  const xb = x.binding;
  const yb = opts.y?.binding;
  const gb = gamma.binding;
  const mb = saved.mean.binding;
  const ib = saved.invStd.binding;
  const e = x.engine;
  const shape = formatShape(x.shape);
  const relu = !!yb;
  const G = relu ? `select(${L.t}(0.0), dy[i], y[i] > ${L.t}(0.0))` : 'dy[i]';
  const hsum = (v: string) => (L.vec ? `(${v}.x + ${v}.y) + (${v}.z + ${v}.w)` : v);

  const part = e.empty([L.c * L.parts * 2], 'bn_bwd_partials');
  e.run({
    kernel: `bn_bwd_reduce${relu ? '_relu' : ''}${L.vec ? '_vec4' : ''}`,
    code: specialize(BWD_REDUCE, {
      ...reductionSizes(e),
      T: L.t,
      Y_BINDING: relu ? `@group(0) @binding(4) var<storage, read> y: array<${L.t}>;` : '',
      PART_BINDING: relu ? 5 : 4,
      G,
      HSUM_A: hsum('a'),
      HSUM_B: hsum('b'),
    }),
    uniforms: new Uniforms().u32(L.hwv, L.c, L.mv, L.span, L.parts).bytes(),
    buffers: relu ? [dyb, xb, mb, yb!, part.binding] : [dyb, xb, mb, part.binding],
    workgroups: [L.parts, L.c],
    flops: 4 * x.size,
    bytes: (relu ? 12 : 8) * x.size,
    shape,
  });
  const dgamma = e.empty([L.c], 'bn_dgamma');
  const dbeta = e.empty([L.c], 'bn_dbeta');
  const coef = e.empty([L.c * 4], 'bn_coef');
  e.run({
    kernel: 'bn_bwd_finalize',
    code: specialize(BWD_FINALIZE, reductionSizes(e)),
    // frozen (eval-mode) statistics are constants: the batch terms B and C vanish (1/M → 0), dx = γ·inv·g
    uniforms: new Uniforms().u32(L.c, L.parts).f32(opts.frozen ? 0 : 1 / (L.n * L.hw)).u32(0).bytes(),
    buffers: [part.binding, gb, mb, ib, dgamma.binding, dbeta.binding, coef.binding],
    workgroups: [L.c],
    flops: 2 * L.c * L.parts,
    bytes: 8 * L.c * L.parts,
    shape: `${L.c}x${L.parts}`,
  });
  part.dispose();
  const dx = e.empty(x.shape, 'bn_dx');
  const nT = x.size / (L.vec ? 4 : 1);
  const [gx, gy] = grid(Math.ceil(nT / WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `bn_bwd_dx${relu ? '_relu' : ''}${L.vec ? '_vec4' : ''}`,
    code: specialize(BWD_DX, {
      T: L.t,
      Y_BINDING: relu ? `@group(0) @binding(4) var<storage, read> y: array<${L.t}>;` : '',
      DX_BINDING: relu ? 5 : 4,
      G,
    }),
    uniforms: new Uniforms().u32(nT, gx * WG, L.hwv, L.c).bytes(),
    buffers: relu ? [dyb, xb, coef.binding, yb!, dx.binding] : [dyb, xb, coef.binding, dx.binding],
    workgroups: [gx, gy],
    flops: 5 * x.size,
    bytes: (relu ? 16 : 12) * x.size,
    shape,
  });
  coef.dispose();
  return { dx, dgamma, dbeta };
}

/**
 * The saved statistics of an eval-mode (frozen) batch norm: the running mean and
 * 1/√(running_var + eps), for {@link batchNormBackward} with `frozen`. PyTorch's gradient of
 * BatchNorm in eval mode: dx = γ/√(running_var + ε)·dy, dγ = Σ dy·x̂, dβ = Σ dy.
 */
export function frozenBatchNormSaved(runningMean: Tensor, runningVar: Tensor, eps = 1e-5): BatchNormSaved {
  const invStd = runningVar.engine.empty(runningVar.shape, 'bn_frozen_inv_std');
  mapKernel({ kernel: 'bn_frozen_inv_std', inputs: [runningVar], out: invStd, s: eps, expr: () => 'inverseSqrt(v0 + s)', flops: 2 * runningVar.size });
  return { mean: runningMean, invStd };
}

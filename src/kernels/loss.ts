import { formatShape, ShapeError } from '../gpu/errors';
import { sameShape, Tensor } from '../gpu/tensor';
import template from '../../shaders/loss.wgsl';
import { finishReduce, mapKernel, reduceToScalar } from './arith';
import { grid, section, specialize, Uniforms } from '../gpu/wgsl';

const CE_PARTIAL = section(template, 'ce_partial');
const CE_BACKWARD = section(template, 'ce_backward');

function check(op: string, pred: Tensor, target: Tensor, gradOut?: Tensor): GPUBufferBinding[] {
  if (!sameShape(pred.shape, target.shape)) {
    throw new ShapeError(`${op}: pred ${formatShape(pred.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  }
  if (gradOut && gradOut.size !== 1) throw new ShapeError(`${op}: gradOut must be a [1] tensor, got ${formatShape(gradOut.shape)}`);
  const b = [pred.binding, target.binding];
  if (gradOut) b.push(gradOut.binding);
  return b;
}

/** mean((pred − target)²) → [1]. */
export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  check('mseLoss', pred, target);
  return reduceToScalar({
    kernel: 'mse_loss',
    a: pred,
    b: target,
    term: '(av - bv) * (av - bv)',
    final: 's * p.scale',
    scale: 1 / pred.size,
    flops: 3 * pred.size,
  });
}

/** d mean((pred − target)²)/d pred · gradOut = 2(pred − target)/n · gradOut. */
export function mseLossBackward(pred: Tensor, target: Tensor, gradOut?: Tensor): Tensor {
  const [pb, tb] = check('mseLossBackward', pred, target, gradOut);
  const out = pred.engine.empty(pred.shape, 'mse_grad');
  mapKernel(
    {
      kernel: gradOut ? 'mse_backward_g' : 'mse_backward',
      inputs: [pred, target],
      scalars: gradOut ? [gradOut] : [],
      out,
      expr: () => `(v0 - v1) * (s${gradOut ? ' * g0[0]' : ''})`,
      s: 2 / pred.size,
    },
    [pb!, tb!],
  );
  return out;
}

/** mean(max(z, 0) − z·t + log(1 + exp(−|z|))) → [1]: binary cross-entropy on logits, stable. */
export function bceWithLogitsLoss(logits: Tensor, target: Tensor): Tensor {
  check('bceWithLogitsLoss', logits, target);
  return reduceToScalar({
    kernel: 'bce_logits_loss',
    a: logits,
    b: target,
    term: 'max(av, vec4<f32>(0.0)) - av * bv + log(vec4<f32>(1.0) + exp(-abs(av)))',
    final: 's * p.scale',
    scale: 1 / logits.size,
    flops: 8 * logits.size,
  });
}

/** (sigmoid(z) − t)/n · gradOut. */
export function bceWithLogitsLossBackward(logits: Tensor, target: Tensor, gradOut?: Tensor): Tensor {
  const [zb, tb] = check('bceWithLogitsLossBackward', logits, target, gradOut);
  const out = logits.engine.empty(logits.shape, 'bce_grad');
  mapKernel(
    {
      kernel: gradOut ? 'bce_backward_g' : 'bce_backward',
      inputs: [logits, target],
      scalars: gradOut ? [gradOut] : [],
      out,
      // stable sigmoid: exp of a non-positive number only
      expr: () =>
        `(select(exp(v0) / (O + exp(v0)), O / (O + exp(-v0)), v0 >= Z) - v1) * (s${gradOut ? ' * g0[0]' : ''})`,
      s: 1 / logits.size,
      flops: 6 * logits.size,
    },
    [zb!, tb!],
  );
  return out;
}

/**
 * Adaptive wing loss (Wang, Bo & Fuxin, ICCV 2019) with the paper's constants ω 14, θ 0.5, ε 1,
 * α 2.1, on targets y ∈ [0, 1]: with d = |ŷ − y| and p = α − y,
 * ω·ln(1 + (d/ε)^p) for d < θ, else A·d − C (A and C make it continuous and smooth at θ).
 * The exponent p ≥ 1.1 makes the loss nearly quadratic on background pixels (small errors there
 * cost little) and nearly L1 near the peak, where errors matter.
 */
export const AWING = { omega: 14, theta: 0.5, epsilon: 1, alpha: 2.1 } as const;

/** WGSL expressions of the adaptive wing loss and its d/dŷ for pred `z` and target `y` of type T. */
function awingWgsl(T: string, z: string, y: string): { loss: string; dloss: string } {
  const c = (v: number) => `${T}(${Number.isInteger(v) ? v.toFixed(1) : v})`;
  const { omega: w, theta: th, epsilon: eps, alpha: al } = AWING;
  const d = `(abs(${z} - ${y}) / ${c(eps)})`;
  const p = `(${c(al)} - ${y})`;
  const tp = `pow(${c(th / eps)}, ${p})`;
  const A = `(${c(w)} * ${p} * pow(${c(th / eps)}, ${p} - ${c(1)}) / (${c(eps)} * (${c(1)} + ${tp})))`;
  const C = `(${c(th)} * ${A} - ${c(w)} * log(${c(1)} + ${tp}))`;
  // pow(0, q) is defined for q > 0; the floor keeps a 0 base out of pow altogether
  const dd = `max(${d}, ${c(1e-30)})`;
  const inner = `${c(w)} * log(${c(1)} + pow(${dd}, ${p}))`;
  const dInner = `${c(w)} * ${p} * pow(${dd}, ${p} - ${c(1)}) / (${c(eps)} * (${c(1)} + pow(${dd}, ${p})))`;
  const near = `abs(${z} - ${y}) < ${c(th)}`;
  return {
    loss: `select(${A} * abs(${z} - ${y}) - ${C}, ${inner}, ${near})`,
    dloss: `sign(${z} - ${y}) * select(${A}, ${dInner}, ${near})`,
  };
}

/** mean(adaptive wing(pred, target)) → [1] (see {@link AWING}). */
export function adaptiveWingLoss(pred: Tensor, target: Tensor): Tensor {
  check('adaptiveWingLoss', pred, target);
  return reduceToScalar({
    kernel: 'awing_loss',
    a: pred,
    b: target,
    term: awingWgsl('vec4<f32>', 'av', 'bv').loss,
    final: 's * p.scale',
    scale: 1 / pred.size,
    flops: 20 * pred.size,
  });
}

/** d mean(adaptive wing)/d pred · gradOut. */
export function adaptiveWingLossBackward(pred: Tensor, target: Tensor, gradOut?: Tensor): Tensor {
  const [pb, tb] = check('adaptiveWingLossBackward', pred, target, gradOut);
  const out = pred.engine.empty(pred.shape, 'awing_grad');
  mapKernel(
    {
      kernel: gradOut ? 'awing_backward_g' : 'awing_backward',
      inputs: [pred, target],
      scalars: gradOut ? [gradOut] : [],
      out,
      expr: (T) => `${awingWgsl(T, 'v0', 'v1').dloss} * (s${gradOut ? ' * g0[0]' : ''})`,
      s: 1 / pred.size,
      flops: 20 * pred.size,
    },
    [pb!, tb!],
  );
  return out;
}

/** [N, C, …spatial] → N, C, pixels per image. */
function nc(op: string, z: Tensor): [number, number, number] {
  if (z.rank < 2) throw new ShapeError(`${op}: expected [N, C, ...] logits (softmax over dim 1), got ${formatShape(z.shape)}`);
  const [n, c, ...rest] = z.shape as number[];
  return [n!, c!, rest.reduce((a, b) => a * b, 1)];
}

const WG = 256;

/**
 * Per-pixel softmax over the channel dimension, cross-entropy against soft targets,
 * mean over N·H·W: mean_pixels(−Σ_c t_c·log softmax(z)_c) → [1]. Stable log-sum-exp.
 * Two-stage: ≤ 1024 workgroups each reduce a span of pixels, then one workgroup sums them.
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  const [zb, tb] = check('softmaxCrossEntropy', logits, target);
  const [n, c, hw] = nc('softmaxCrossEntropy', logits);
  return ceForward(logits, zb!, tb!, n * hw, hw, c, 'softmax_ce');
}

/**
 * Spatial softmax cross-entropy: each map of [N, K, H, W] logits is one distribution over its
 * H·W pixels (softmax per map, as in integral / softmax heatmap regression), cross-entropy
 * against the target map, mean over the N·K maps: mean_maps(−Σ_p t_p·log softmax(z)_p) → [1].
 * A map whose targets are all zero (landmark absent) adds nothing. NCHW is contiguous, so this is
 * the channel softmax of the [N·K, H·W] view (one "pixel" per map, H·W "channels").
 */
export function spatialSoftmaxCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  const [zb, tb] = check('spatialSoftmaxCrossEntropy', logits, target);
  const [n, k, hw] = nc('spatialSoftmaxCrossEntropy', logits);
  return ceForward(logits, zb!, tb!, n * k, 1, hw, 'spatial_ce');
}

/** Σ over `rows` softmax rows of `c` entries spaced `hw` apart (see shaders/loss.wgsl ce_partial), / rows. */
function ceForward(logits: Tensor, zb: GPUBufferBinding, tb: GPUBufferBinding, rows: number, hw: number, c: number, label: string): Tensor {
  const e = logits.engine;
  let span = WG * 4;
  if (Math.ceil(rows / span) > 1024) span = Math.ceil(rows / 1024 / WG) * WG;
  const parts = Math.max(1, Math.ceil(rows / span));
  const partials = e.empty([parts], 'ce_partials');
  const out = e.empty([1], label);
  e.run({
    kernel: `${label}_partial`,
    code: CE_PARTIAL,
    uniforms: new Uniforms().u32(rows, hw, c, span).bytes(),
    buffers: [zb, tb, partials.binding],
    workgroups: [parts],
    flops: 6 * logits.size,
    bytes: 8 * logits.size,
    shape: formatShape(logits.shape),
  });
  finishReduce(partials, 's * p.scale', 1 / rows, out, label);
  partials.dispose();
  return out;
}

/**
 * d softmaxCrossEntropy / d logits · gradOut = (softmax_c·Σ_k t_k − t_c)/(N·H·W) · gradOut
 * (which is (softmax − t)/(N·H·W) when the targets of each pixel sum to 1).
 */
export function softmaxCrossEntropyBackward(logits: Tensor, target: Tensor, gradOut?: Tensor): Tensor {
  const [zb, tb, gb] = check('softmaxCrossEntropyBackward', logits, target, gradOut);
  const [n, c, hw] = nc('softmaxCrossEntropyBackward', logits);
  return ceBackward(logits, zb!, tb!, gb, n * hw, hw, c, 'softmax_ce');
}

/** d spatialSoftmaxCrossEntropy / d logits · gradOut = (softmax_p·Σ_q t_q − t_p)/(N·K) · gradOut, per map. */
export function spatialSoftmaxCrossEntropyBackward(logits: Tensor, target: Tensor, gradOut?: Tensor): Tensor {
  const [zb, tb, gb] = check('spatialSoftmaxCrossEntropyBackward', logits, target, gradOut);
  const [n, k, hw] = nc('spatialSoftmaxCrossEntropyBackward', logits);
  return ceBackward(logits, zb!, tb!, gb, n * k, 1, hw, 'spatial_ce');
}

function ceBackward(logits: Tensor, zb: GPUBufferBinding, tb: GPUBufferBinding, gb: GPUBufferBinding | undefined, rows: number, hw: number, c: number, label: string): Tensor {
  const e = logits.engine;
  const out = e.empty(logits.shape, 'ce_grad');
  const [gx, gy] = grid(Math.ceil(rows / WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: gb ? `${label}_backward_g` : `${label}_backward`,
    code: specialize(CE_BACKWARD, {
      G_BINDING: gb ? '@group(0) @binding(3) var<storage, read> g: array<f32>;' : '',
      G: gb ? 'g[0]' : '1.0',
      OUT_BINDING: gb ? 4 : 3,
    }),
    uniforms: new Uniforms().u32(rows, hw, c, gx * WG).f32(1 / rows).bytes(),
    buffers: gb ? [zb, tb, gb, out.binding] : [zb, tb, out.binding],
    workgroups: [gx, gy],
    flops: 8 * logits.size,
    bytes: 12 * logits.size,
    shape: formatShape(logits.shape),
  });
  return out;
}

import { formatShape, ShapeError } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import template from '../../shaders/bn_fold.wgsl';
import { grid, specialize, Uniforms } from '../gpu/wgsl';

const WG = 256;

export interface FoldedConv {
  /** w' [Cout, Cin, kh, kw]: each output channel's weights scaled by s = γ/√(var + eps). */
  weight: Tensor;
  /** b' [Cout] = β − μ·s (+ s·conv bias). */
  bias: Tensor;
}

/**
 * Folds an eval-mode BatchNorm2d (running statistics) into the convolution before it:
 * conv(x; w, b) → BN(γ, β, μ, σ²) equals conv(x; w', b') with s = γ/√(σ² + eps),
 * w'[co] = w[co]·s[co], b'[co] = β[co] − μ[co]·s[co] + s[co]·b[co]. One dispatch writes both
 * (shaders/bn_fold.wgsl); the caller owns and disposes the two new tensors. `eps` is BN's
 * (PyTorch default 1e-5).
 */
export function foldBatchNorm(
  w: Tensor,
  convBias: Tensor | null,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  opts: { eps?: number } = {},
): FoldedConv {
  if (w.rank !== 4) throw new ShapeError(`foldBatchNorm: conv weight must be OIHW, got ${formatShape(w.shape)}`);
  const cout = w.shape[0]!;
  const k = w.size / Math.max(cout, 1);
  const perChannel: [Tensor | null, string][] = [
    [convBias, 'conv bias'],
    [gamma, 'gamma'],
    [beta, 'beta'],
    [runningMean, 'runningMean'],
    [runningVar, 'runningVar'],
  ];
  for (const [t, name] of perChannel) {
    if (t && (t.rank !== 1 || t.size !== cout)) {
      throw new ShapeError(`foldBatchNorm: ${name} ${formatShape(t.shape)} must be [${cout}] for conv weight ${formatShape(w.shape)}`);
    }
  }
  const eps = opts.eps ?? 1e-5;
  const wb = w.binding;
  const bb = convBias?.binding ?? null;
  const gb = gamma.binding;
  const betab = beta.binding;
  const mb = runningMean.binding;
  const vb = runningVar.binding;
  const e = w.engine;
  const weight = e.empty(w.shape, 'bn_folded_weight');
  const bias = e.empty([cout], 'bn_folded_bias');
  // vec4 when every channel's run of K weights splits into whole vec4s (Cin·kh·kw, Cin % 4 == 0)
  const vec = k % 4 === 0;
  const lanes = vec ? 4 : 1;
  const n = w.size / lanes;
  const [gx, gy] = grid(Math.ceil(n / WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `conv_bn_fold${bb ? '_bias' : ''}${vec ? '_vec4' : ''}`,
    code: specialize(template, {
      T: vec ? 'vec4<f32>' : 'f32',
      BIAS_DECL: bb ? '@group(0) @binding(8) var<storage, read> cbias: array<f32>;' : '',
      CONV_BIAS: bb ? 'cbias[co]' : '0.0',
    }),
    uniforms: new Uniforms().u32(n, k / lanes, gx * WG).f32(eps).bytes(),
    buffers: bb ? [wb, gb, betab, mb, vb, weight.binding, bias.binding, bb] : [wb, gb, betab, mb, vb, weight.binding, bias.binding],
    workgroups: [gx, gy],
    flops: w.size + 6 * cout,
    bytes: 8 * w.size + 24 * cout,
    shape: formatShape(w.shape),
  });
  return { weight, bias };
}

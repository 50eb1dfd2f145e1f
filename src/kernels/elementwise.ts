import { Tensor } from '../gpu/tensor';
import template from '../../shaders/elementwise.wgsl';
import { grid, specialize, Uniforms } from '../gpu/wgsl';

type T = 'f32' | 'vec4<f32>';
const zero = (t: T) => (t === 'f32' ? '0.0' : 'vec4<f32>(0.0)');
const one = (t: T) => (t === 'f32' ? '1.0' : 'vec4<f32>(1.0)');

/** Forward maps by name. Expressions see `v`; their backward rules live with the autograd ops. */
export const UNARY = {
  relu: (t: T) => `max(v, ${zero(t)})`,
  // numerically stable in both tails: exp of a non-positive number only
  sigmoid: (t: T) => `select(exp(v) / (${one(t)} + exp(v)), ${one(t)} / (${one(t)} + exp(-v)), v >= ${zero(t)})`,
} as const;
export type UnaryName = keyof typeof UNARY;

/** y = f(x) element-wise; a new tensor of x's shape. */
export function unary(name: UnaryName, x: Tensor, out?: Tensor): Tensor {
  const e = x.engine;
  const xb = x.binding; // throws on a disposed input before anything is allocated
  const vec = x.size % 4 === 0;
  const t: T = vec ? 'vec4<f32>' : 'f32';
  const n = vec ? x.size / 4 : x.size;
  const y = out ?? e.empty(x.shape, name);
  const [gx, gy] = grid(Math.ceil(n / 256), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `${name}${vec ? '_vec4' : ''}`,
    code: specialize(template, { T: t, EXPR: UNARY[name](t) }),
    uniforms: new Uniforms().u32(n, gx * 256).bytes(),
    buffers: [xb, y.binding],
    workgroups: [gx, gy],
    flops: x.size,
    bytes: x.size * 8,
    shape: `${x.size}`,
  });
  return y;
}

export const relu = (x: Tensor): Tensor => unary('relu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);

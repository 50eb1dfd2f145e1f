import { formatShape, ShapeError } from '../gpu/errors';
import { sameShape, Tensor } from '../gpu/tensor';
import template from '../../shaders/arith.wgsl';
import { f32Lit, grid, section, specialize, Uniforms } from '../gpu/wgsl';

const MAP = section(template, 'map');
const REDUCE = section(template, 'reduce');

type T = 'f32' | 'vec4<f32>';

/** Byte ranges of two bindings overlap (same buffer). */
function overlaps(a: GPUBufferBinding, b: GPUBufferBinding): boolean {
  if (a.buffer !== b.buffer) return false;
  const ao = a.offset ?? 0;
  const bo = b.offset ?? 0;
  return ao < bo + (b.size ?? 0) && bo < ao + (a.size ?? 0);
}

export interface MapSpec {
  kernel: string;
  /** Element-wise inputs, loaded as v0, v1, … (same element count as out). */
  inputs: Tensor[];
  /** [1] tensors, readable in EXPR as g0[0], g1[0], … */
  scalars?: Tensor[];
  out: Tensor;
  /** Loads out's current value as `vo` (in-place update). */
  readOut?: boolean;
  /** WGSL expression of type T. */
  expr: (t: T) => string;
  /** Uniform f32 visible as `s`. */
  s?: number;
  flops?: number;
}

/**
 * Records one element-wise map. Validates nothing about shapes (callers do) but reads every
 * binding first. vec4 when the element count is a multiple of 4. An input that lives in the
 * output's buffer (an arena view) is declared read_write so the dispatch's usage stays valid.
 */
export function mapKernel(spec: MapSpec, inputBindings?: GPUBufferBinding[], outBinding?: GPUBufferBinding): void {
  const { out, inputs } = spec;
  const e = out.engine;
  const ib = inputBindings ?? inputs.map((t) => t.binding);
  const sb = (spec.scalars ?? []).map((t) => t.binding);
  const ob = outBinding ?? out.binding;
  const vec = out.size % 4 === 0;
  const t: T = vec ? 'vec4<f32>' : 'f32';
  const n = vec ? out.size / 4 : out.size;
  const lines: string[] = [];
  let binding = 1;
  ib.forEach((b, k) => {
    const access = b.buffer === ob.buffer ? 'read_write' : 'read';
    lines.push(`@group(0) @binding(${binding++}) var<storage, ${access}> in${k}: array<${t}>;`);
  });
  sb.forEach((b, k) => {
    const access = b.buffer === ob.buffer ? 'read_write' : 'read';
    lines.push(`@group(0) @binding(${binding++}) var<storage, ${access}> g${k}: array<f32>;`);
  });
  lines.push(`@group(0) @binding(${binding++}) var<storage, read_write> out: array<${t}>;`);
  const loads = ib.map((_, k) => `  let v${k} = in${k}[i];`);
  if (spec.readOut) loads.push('  let vo = out[i];');
  const [gx, gy] = grid(Math.ceil(n / 256), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `${spec.kernel}${vec ? '_vec4' : ''}`,
    code: specialize(MAP, { T: t, BINDINGS: lines.join('\n'), LOADS: loads.join('\n'), EXPR: spec.expr(t) }),
    uniforms: new Uniforms().u32(n, gx * 256).f32(spec.s ?? 0).u32(0).bytes(),
    buffers: [...ib, ...sb, ob],
    workgroups: [gx, gy],
    flops: spec.flops ?? out.size,
    bytes: out.size * 4 * (ib.length + 1 + (spec.readOut ? 1 : 0)),
    shape: formatShape(out.shape),
  });
}

function requireSame(op: string, a: Tensor, b: Tensor, an = 'a', bn = 'b'): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: ${an} ${formatShape(a.shape)} and ${bn} ${formatShape(b.shape)} must have the same shape`);
  }
}

function requireScalar(op: string, s: Tensor, what = 'scalar'): void {
  if (s.size !== 1) throw new ShapeError(`${op}: ${what} must be a [1] tensor, got ${formatShape(s.shape)}`);
}

function binary(op: string, a: Tensor, b: Tensor, expr: (t: T) => string, an = 'a', bn = 'b'): Tensor {
  requireSame(op, a, b, an, bn);
  const bs = [a.binding, b.binding];
  const out = a.engine.empty(a.shape, op);
  mapKernel({ kernel: op, inputs: [a, b], out, expr }, bs);
  return out;
}

/** a + b (same shape). */
export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b, () => 'v0 + v1');

/** a · b element-wise (same shape). */
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b, () => 'v0 * v1');

/** dy · [y > 0]: ReLU's backward from its output. */
export const reluBackward = (dy: Tensor, y: Tensor): Tensor =>
  binary('relu_backward', dy, y, () => 'select(Z, v0, v1 > Z)', 'dy', 'y');

/** dy · y · (1 − y): sigmoid's backward from its output. */
export const sigmoidBackward = (dy: Tensor, y: Tensor): Tensor =>
  binary('sigmoid_backward', dy, y, () => 'v0 * v1 * (O - v1)', 'dy', 'y');

/** dst += src in place (gradient accumulation). Returns dst. */
export function addInto(dst: Tensor, src: Tensor): Tensor {
  requireSame('addInto', dst, src, 'dst', 'src');
  const sb = src.binding;
  const db = dst.binding;
  if (sb.buffer === db.buffer && sb.offset === db.offset) {
    mapKernel({ kernel: 'add_into_self', inputs: [], out: dst, readOut: true, expr: () => 'vo + vo' }, [], db);
    return dst;
  }
  if (overlaps(sb, db)) throw new ShapeError(`addInto: src ${src} partially overlaps dst ${dst}`);
  mapKernel({ kernel: 'add_into', inputs: [src], out: dst, readOut: true, expr: () => 'vo + v0' }, [sb], db);
  return dst;
}

/** x · s, where s is a number or a [1] tensor. */
export function scale(x: Tensor, s: number | Tensor): Tensor {
  const xb = x.binding;
  if (typeof s === 'number') {
    const out = x.engine.empty(x.shape, 'scale');
    mapKernel({ kernel: 'scale', inputs: [x], out, expr: () => 'v0 * s', s }, [xb]);
    return out;
  }
  requireScalar('scale', s);
  void s.binding;
  const out = x.engine.empty(x.shape, 'scale');
  mapKernel({ kernel: 'scale_by_tensor', inputs: [x], scalars: [s], out, expr: () => 'v0 * g0[0]' }, [xb]);
  return out;
}

/** Sets every element of x to value, in place. Returns x. */
export function fill(x: Tensor, value: number): Tensor {
  if (value === 0) {
    x.engine.clear(x);
    return x;
  }
  const xb = x.binding;
  mapKernel({ kernel: 'fill', inputs: [], out: x, expr: (t) => (t === 'f32' ? 's' : 'vec4<f32>(s)'), s: value }, [], xb);
  return x;
}

// ------------------------------------------------------------------ reductions

const WG = 256;
const MAX_PARTIALS = 1024;
/** vec4s per workgroup in the first stage: 8 per thread unless that makes too many partials. */
function spanFor(nv: number): number {
  let span = WG * 8;
  if (Math.ceil(nv / span) > MAX_PARTIALS) span = Math.ceil(nv / MAX_PARTIALS / WG) * WG;
  return span;
}

export interface ReduceSpec {
  kernel: string;
  a: Tensor;
  b?: Tensor;
  /** WGSL vec4 expression of av (and bv): the per-element term to sum. */
  term: string;
  /** WGSL f32 expression of s (the total) and p.scale: the stored result. */
  final: string;
  scale?: number;
  flops?: number;
}

/**
 * Σ term(a, b) over all elements → a new [1] tensor holding final(Σ). Two-stage: each workgroup
 * of the first pass reduces `span` vec4s (≥ 8 per thread) to one partial; a single workgroup
 * then reduces the ≤ 1024 partials. Small inputs take one dispatch. Always vec4 (masked tail).
 */
export function reduceToScalar(spec: ReduceSpec): Tensor {
  const { a, b } = spec;
  if (b) requireSame(spec.kernel, a, b, 'pred', 'target');
  const ab = a.binding;
  const bb = b?.binding;
  const e = a.engine;
  const n = a.size;
  const nv = Math.ceil(n / 4);
  const span = spanFor(nv);
  const parts = Math.max(1, Math.ceil(nv / span));
  const out = e.empty([1], spec.kernel);
  const code = (final: string) =>
    specialize(REDUCE, {
      B_BINDING: bb ? '@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;' : '',
      OUT_BINDING: bb ? 3 : 2,
      LOAD_B: bb ? 'let bv = b[i];' : '',
      TERM: spec.term,
      FINAL: final,
    });
  const scaleU = spec.scale ?? 1;
  const stage1 = (dst: GPUBufferBinding, final: string) =>
    e.run({
      kernel: `${spec.kernel}_reduce`,
      code: code(final),
      uniforms: new Uniforms().u32(n, span).f32(scaleU).u32(0).bytes(),
      buffers: bb ? [ab, bb, dst] : [ab, dst],
      workgroups: [parts],
      flops: spec.flops ?? n,
      bytes: n * 4 * (bb ? 2 : 1),
      shape: formatShape(a.shape),
    });
  if (parts === 1) {
    stage1(out.binding, spec.final);
    return out;
  }
  const partials = e.empty([parts], `${spec.kernel}_partials`);
  stage1(partials.binding, 's');
  finishReduce(partials, spec.final, scaleU, out, spec.kernel);
  partials.dispose();
  return out;
}

/** Second stage: out[0] = final(Σ partials) with one workgroup (partials ≤ a few thousand). */
export function finishReduce(partials: Tensor, final: string, scaleU: number, out: Tensor, kernel: string): void {
  const e = partials.engine;
  const n = partials.size;
  e.run({
    kernel: `${kernel}_reduce_final`,
    code: specialize(REDUCE, { B_BINDING: '', OUT_BINDING: 2, LOAD_B: '', TERM: 'av', FINAL: final }),
    uniforms: new Uniforms().u32(n, Math.max(WG, Math.ceil(n / 4 / WG) * WG)).f32(scaleU).u32(0).bytes(),
    buffers: [partials.binding, out.binding],
    workgroups: [1],
    flops: n,
    bytes: n * 4,
    shape: `${n}`,
  });
}

/** Σ x → [1]. */
export const sumAll = (x: Tensor): Tensor => reduceToScalar({ kernel: 'sum_all', a: x, term: 'av', final: 's' });

/** [1] = 1 if every element of x is finite, else 0 (NaN/Inf check via the exponent bits). */
export const isFinite = (x: Tensor): Tensor =>
  reduceToScalar({
    kernel: 'is_finite',
    a: x,
    term: 'select(vec4<f32>(0.0), vec4<f32>(1.0), (bitcast<vec4<u32>>(av) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u))',
    final: `select(0.0, 1.0, s == ${f32Lit(0)})`,
  });

import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, sameShape, type Tensor } from '../gpu/tensor';
import template from '../../shaders/pool.wgsl';
import { grid, section, Uniforms } from '../gpu/wgsl';

/**
 * Max-pool 2x2 / stride 2 (PyTorch MaxPool2d(2, 2): floor for odd H/W) and its backward.
 *
 * `argmax` is an f32 tensor of y's shape holding the winning window element as a small integer:
 * 0 = (0,0), 1 = (0,1), 2 = (1,0), 3 = (1,1) (row-major window order). f32 rather than raw u32
 * bits so it can be read back, inspected and bound like any other tensor (and loaded as vec2/vec4
 * by the backward). Ties keep the first max; NaN propagates (PyTorch semantics).
 *
 * Vectorisation: the forward gives each thread 4 consecutive outputs along W (two vec4 loads from
 * each of the two input rows, vec4 stores of y and argmax) when W % 8 == 0; the backward gives
 * each thread 4 consecutive dx (vec2 loads of dy and argmax, one vec4 store) when W % 4 == 0.
 * Otherwise one element per thread. One dispatch each, no atomics (windows do not overlap).
 */

const WG = 256;

export function maxPool2d(x: Tensor): { y: Tensor; argmax: Tensor } {
  const [n, c, h, w] = nchw(x, 'maxPool2d');
  const ho = h >> 1;
  const wo = w >> 1;
  const xb = x.binding;
  const e = x.engine;
  const y = e.empty([n, c, ho, wo], 'maxpool');
  const argmax = e.empty([n, c, ho, wo], 'maxpool.argmax');
  const vec = w % 8 === 0;
  const total = vec ? y.size / 4 : y.size;
  const [gx, gy] = grid(Math.ceil(total / WG), e.limits.maxComputeWorkgroupsPerDimension);
  const u = new Uniforms().u32(total, gx * WG, vec ? wo / 4 : wo, ho, h & 1, vec ? w / 4 : w);
  e.run({
    kernel: vec ? 'maxpool_fwd_vec4' : 'maxpool_fwd',
    code: section(template, vec ? 'fwd_vec4' : 'fwd_scalar'),
    uniforms: u.bytes(),
    buffers: [xb, y.binding, argmax.binding],
    workgroups: [gx, gy],
    flops: 3 * y.size,
    bytes: 4 * (4 * y.size + 2 * y.size), // the 2x2 windows read, y and argmax written
    shape: formatShape(x.shape),
  });
  return { y, argmax };
}

/** dx of xShape: each dy goes to its window's argmax element; inputs outside every window get 0. */
export function maxPool2dBackward(dy: Tensor, argmax: Tensor, xShape: readonly number[]): Tensor {
  if (xShape.length !== 4) throw new ShapeError(`maxPool2dBackward: xShape ${formatShape(xShape)} is not NCHW`);
  const [n, c, h, w] = xShape as [number, number, number, number];
  const want = [n, c, h >> 1, w >> 1];
  if (!sameShape(dy.shape, want) || !sameShape(argmax.shape, want)) {
    throw new ShapeError(
      `maxPool2dBackward: dy ${formatShape(dy.shape)} and argmax ${formatShape(argmax.shape)} must both be ${formatShape(want)} for x ${formatShape(xShape)}`,
    );
  }
  const dyb = dy.binding;
  const ab = argmax.binding;
  const e = dy.engine;
  const dx = e.empty(xShape, 'maxpool.dx');
  const ho = h >> 1;
  const vec = w % 4 === 0;
  const total = vec ? dx.size / 4 : dx.size;
  const [gx, gy] = grid(Math.ceil(total / WG), e.limits.maxComputeWorkgroupsPerDimension);
  const u = vec
    ? new Uniforms().u32(total, gx * WG, w / 4, h, ho, h & 1)
    : new Uniforms().u32(total, gx * WG, w, h, ho, h & 1, w >> 1);
  e.run({
    kernel: vec ? 'maxpool_bwd_vec4' : 'maxpool_bwd',
    code: section(template, vec ? 'bwd_vec4' : 'bwd_scalar'),
    uniforms: u.bytes(),
    buffers: [dyb, ab, dx.binding],
    workgroups: [gx, gy],
    flops: 0,
    bytes: 4 * (2 * dy.size + dx.size),
    shape: formatShape(xShape),
  });
  return dx;
}

import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, type Tensor } from '../gpu/tensor';
import template from '../../shaders/concat.wgsl';
import { grid, specialize, Uniforms } from '../gpu/wgsl';

/**
 * Channel concatenation and its adjoint (NCHW, f32).
 *
 * - `concat(ts, {out?, outChannelOffset?})`: one dispatch per input, each a block copy into the
 *   channel slice of the output. With `out`, the inputs land at channels
 *   [offset, offset + ΣC) of a pre-allocated tensor (zero-copy concat for U-Net++ decoder blocks).
 * - `copyChannels(src, dst, offset)`: one input's slice of that.
 * - `sliceChannels(x, offset, count)`: concat's backward; the gradient of each input is a channel
 *   slice of dy.
 *
 * Vectorised (vec4 per thread) when H*W or every block boundary is a multiple of 4 elements.
 */

export interface ConcatOptions {
  /** Write into this [N, Ctotal, H, W] tensor instead of allocating one. */
  out?: Tensor;
  /** First channel of `out` to write (default 0). */
  outChannelOffset?: number;
}

function checkOffset(what: string, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new ShapeError(`${what}: channel offset ${offset} is not a non-negative integer`);
}

/**
 * Records dst[n, dOff + c] = src[n, sOff + c] for c < C (all N, H, W equal; validated by callers).
 * `srcB`/`dstB` are the bindings the caller already read.
 */
function recordCopy(
  kernel: string,
  srcB: GPUBufferBinding,
  srcShape: readonly number[],
  srcOff: number,
  dstB: GPUBufferBinding,
  dstShape: readonly number[],
  dstOff: number,
  channels: number,
  e: Tensor['engine'],
): void {
  const [n, cs, h, w] = srcShape as [number, number, number, number];
  const cd = dstShape[1]!;
  const hw = h * w;
  const block = channels * hw;
  if (block === 0 || n === 0) return;
  // vec4 needs every block start and length (in elements) to be a multiple of 4
  const vec = [block, cs * hw, srcOff * hw, cd * hw, dstOff * hw].every((v) => v % 4 === 0);
  const k = vec ? 4 : 1;
  const per = block / k;
  const [gx, gy] = grid(Math.ceil(per / 256), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `${kernel}${vec ? '_vec4' : ''}`,
    code: specialize(template, { T: vec ? 'vec4<f32>' : 'f32' }),
    uniforms: new Uniforms().u32(per, gx * 256, (cs * hw) / k, (srcOff * hw) / k, (cd * hw) / k, (dstOff * hw) / k).bytes(),
    buffers: [srcB, dstB],
    workgroups: [gx, gy, n],
    flops: 0,
    bytes: n * block * 8,
    shape: `${n}x${channels}x${h}x${w} ${formatShape(srcShape)}[${srcOff}:]→${formatShape(dstShape)}[${dstOff}:]`,
  });
}

/** True when two tensors share bytes of one buffer (WebGPU rejects a writable binding that aliases another). */
export function overlaps(a: Tensor, b: Tensor): boolean {
  if (a.buffer !== b.buffer) return false;
  const a0 = a.byteOffset;
  const b0 = b.byteOffset;
  return a0 < b0 + b.size * 4 && b0 < a0 + a.size * 4;
}

/** Writes `src` [N, C, H, W] into channels [offset, offset + C) of `dst` [N, Cd, H, W]; returns dst. */
export function copyChannels(src: Tensor, dst: Tensor, dstChannelOffset: number): Tensor {
  const [n, c, h, w] = nchw(src, 'copyChannels src');
  const [nd, cd, hd, wd] = nchw(dst, 'copyChannels dst');
  checkOffset('copyChannels', dstChannelOffset);
  if (n !== nd || h !== hd || w !== wd || dstChannelOffset + c > cd) {
    throw new ShapeError(
      `copyChannels: src ${formatShape(src.shape)} does not fit channels [${dstChannelOffset}, ${dstChannelOffset + c}) of dst ${formatShape(dst.shape)}`,
    );
  }
  const sb = src.binding;
  const db = dst.binding;
  if (overlaps(src, dst)) throw new ShapeError(`copyChannels: src ${src} and dst ${dst} share memory`);
  recordCopy('copy_channels', sb, src.shape, 0, db, dst.shape, dstChannelOffset, c, src.engine);
  return dst;
}

/** Concatenates NCHW tensors along channels (same N, H, W; any number, any channel counts). */
export function concat(tensors: readonly Tensor[], opts: ConcatOptions = {}): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: no tensors');
  const shapes = tensors.map((t, i) => nchw(t, `concat input ${i}`));
  const [n, , h, w] = shapes[0]!;
  const total = shapes.reduce((a, s) => a + s[1], 0);
  const list = () => tensors.map((t) => formatShape(t.shape)).join(', ');
  if (shapes.some((s) => s[0] !== n || s[2] !== h || s[3] !== w)) {
    throw new ShapeError(`concat: inputs differ in N, H or W: ${list()}`);
  }
  const offset = opts.outChannelOffset ?? 0;
  checkOffset('concat', offset);
  if (!opts.out && offset !== 0) throw new ShapeError('concat: outChannelOffset needs an out tensor');
  if (opts.out) {
    const [no, co, ho, wo] = nchw(opts.out, 'concat out');
    if (no !== n || ho !== h || wo !== w || offset + total > co) {
      throw new ShapeError(
        `concat: inputs ${list()} (${total} channels) do not fit channels [${offset}, ${offset + total}) of out ${formatShape(opts.out.shape)}`,
      );
    }
  }
  const bindings = tensors.map((t) => t.binding);
  const outB = opts.out?.binding;
  if (opts.out && tensors.some((t) => overlaps(t, opts.out!))) throw new ShapeError(`concat: an input shares memory with out ${opts.out}`);
  const e = tensors[0]!.engine;
  const y = opts.out ?? e.empty([n, total, h, w], 'concat');
  const yb = outB ?? y.binding;
  let c0 = offset;
  tensors.forEach((t, i) => {
    recordCopy('concat', bindings[i]!, t.shape, 0, yb, y.shape, c0, shapes[i]![1], e);
    c0 += shapes[i]![1];
  });
  return y;
}

/** Channels [offset, offset + count) of x [N, C, H, W] as a new [N, count, H, W] tensor. */
export function sliceChannels(x: Tensor, offset: number, count: number): Tensor {
  const [n, c, h, w] = nchw(x, 'sliceChannels');
  checkOffset('sliceChannels', offset);
  if (!Number.isInteger(count) || count < 0 || offset + count > c) {
    throw new ShapeError(`sliceChannels: channels [${offset}, ${offset + count}) are out of range for ${formatShape(x.shape)}`);
  }
  const xb = x.binding;
  const y = x.engine.empty([n, count, h, w], 'slice');
  recordCopy('slice_channels', xb, x.shape, offset, y.binding, y.shape, 0, count, x.engine);
  return y;
}

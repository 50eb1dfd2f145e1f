import { formatShape, ShapeError } from '../gpu/errors';
import { nchw, type Tensor } from '../gpu/tensor';
import template from '../../shaders/upsample.wgsl';
import { overlaps } from './concat';
import { grid, section, Uniforms } from '../gpu/wgsl';

/**
 * 2x upsampling, NCHW f32, with PyTorch `F.interpolate(scale_factor=2)` semantics:
 * - nearest: y[2h+a, 2w+b] = x[h, w] (source floor(dst/2));
 * - bilinear, align_corners=False: source (dst + 0.5)/2 − 0.5 clamped at 0, edge clamp.
 * Backwards are gathers (each dx pixel sums the dy pixels that read it): one dispatch, no atomics.
 *
 * Forwards can write into a channel slice of a pre-allocated [N, Ctotal, 2H, 2W] tensor (`out`,
 * `outChannelOffset`: zero-copy concat for U-Net++ decoder blocks); backwards can read dy from a
 * channel slice of a wider gradient (`channelOffset`, `channels`: the concat's dy), so neither
 * direction needs a copy.
 *
 * Vectorisation (W % 4 == 0): each thread owns 4 consecutive input columns of one input row:
 * vec4 loads, and 2 vec4 stores in each of the 2 output rows (bilinear forward) or one vec4 store
 * of dx (backward); the nearest forward has one thread per output vec4 instead, so that a
 * subgroup stores one contiguous run (two adjacent vec4s per thread left every store instruction
 * half-strided: 25 → 33 % of copy at 64x256x256 on an H200 by the bench's GPU column). Otherwise one input pixel per
 * thread with vec2 stores/loads on the 2W-wide rows.
 * The batch index is the grid's z; the only divisions are by the row width (and by H for
 * bilinear's edge clamp).
 */

export interface UpsampleOptions {
  /** Write into this [N, Ctotal, 2H, 2W] tensor instead of allocating one. */
  out?: Tensor;
  /** First channel of `out` to write (default 0). */
  outChannelOffset?: number;
}

export interface UpsampleBackwardOptions {
  /** dy is a channel slice [channelOffset, channelOffset + channels) of the given tensor. */
  channelOffset?: number;
  /** Channels of dx (default: dy's channels minus channelOffset). */
  channels?: number;
}

type Mode = 'nearest' | 'bilinear';
const WG = 256;

function dispatch(
  mode: Mode,
  dir: 'fwd' | 'bwd',
  src: GPUBufferBinding,
  dst: GPUBufferBinding,
  [n, c, h, w]: readonly number[],
  bigChannels: number,
  bigOffset: number,
  e: Tensor['engine'],
  shape: string,
): void {
  if (n === undefined || c === undefined || h === undefined || w === undefined) throw new ShapeError(`${shape}: not NCHW`);
  const vec = w % 4 === 0;
  const rowUnit = vec ? w / 4 : w;
  // nearest forward, vec4: one output vec4 per thread (4 per input vec4), for contiguous stores
  const per = c * h * rowUnit * (mode === 'nearest' && dir === 'fwd' && vec ? 4 : 1);
  const [gx, gy] = grid(Math.ceil(per / WG), e.limits.maxComputeWorkgroupsPerDimension);
  const small = n * c * h * w;
  e.run({
    kernel: `upsample_${mode}_${dir}${vec ? '_vec4' : ''}`,
    code: section(template, `${mode}_${dir}${vec ? '_vec4' : ''}`),
    uniforms: new Uniforms().u32(per, gx * WG, rowUnit, h, c * h, bigOffset * 2 * h, bigChannels * 2 * h).bytes(),
    buffers: [src, dst],
    workgroups: [gx, gy, n],
    // bilinear: 3 FLOPs per output per axis pass (two products and a sum)
    flops: mode === 'nearest' ? (dir === 'bwd' ? 3 * small : 0) : 6 * 4 * small,
    bytes: 4 * (small + 4 * small),
    shape,
  });
}

function forward(mode: Mode, x: Tensor, opts: UpsampleOptions): Tensor {
  const what = mode === 'nearest' ? 'upsampleNearest2x' : 'upsampleBilinear2x';
  const [n, c, h, w] = nchw(x, what);
  const offset = opts.outChannelOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new ShapeError(`${what}: outChannelOffset ${offset} is not a non-negative integer`);
  if (!opts.out && offset !== 0) throw new ShapeError(`${what}: outChannelOffset needs an out tensor`);
  let ct = c;
  if (opts.out) {
    const [no, co, ho, wo] = nchw(opts.out, `${what} out`);
    if (no !== n || ho !== 2 * h || wo !== 2 * w || offset + c > co) {
      throw new ShapeError(
        `${what}: x ${formatShape(x.shape)} upsampled to [${n}, ${c}, ${2 * h}, ${2 * w}] does not fit channels [${offset}, ${offset + c}) of out ${formatShape(opts.out.shape)}`,
      );
    }
    ct = co;
  }
  const xb = x.binding;
  const ob = opts.out?.binding;
  if (opts.out && overlaps(opts.out, x)) throw new ShapeError(`${what}: out ${opts.out} shares memory with x ${x}`);
  const y = opts.out ?? x.engine.empty([n, c, 2 * h, 2 * w], mode === 'nearest' ? 'upsample_nearest' : 'upsample_bilinear');
  dispatch(mode, 'fwd', xb, ob ?? y.binding, [n, c, h, w], ct, offset, x.engine, `${formatShape(x.shape)}→${formatShape(y.shape)}[${offset}:]`);
  return y;
}

function backward(mode: Mode, dy: Tensor, opts: UpsampleBackwardOptions): Tensor {
  const what = mode === 'nearest' ? 'upsampleNearest2xBackward' : 'upsampleBilinear2xBackward';
  const [n, cd, hd, wd] = nchw(dy, what);
  const offset = opts.channelOffset ?? 0;
  const c = opts.channels ?? cd - offset;
  if (hd % 2 !== 0 || wd % 2 !== 0) throw new ShapeError(`${what}: dy ${formatShape(dy.shape)} must have even H and W`);
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(c) || c < 0 || offset + c > cd) {
    throw new ShapeError(`${what}: channels [${offset}, ${offset + c}) are out of range for dy ${formatShape(dy.shape)}`);
  }
  const dyb = dy.binding;
  const dx = dy.engine.empty([n, c, hd / 2, wd / 2], `${mode}_up.dx`);
  dispatch(mode, 'bwd', dyb, dx.binding, dx.shape, cd, offset, dy.engine, `${formatShape(dy.shape)}[${offset}:${offset + c}]→${formatShape(dx.shape)}`);
  return dx;
}

export const upsampleNearest2x = (x: Tensor, opts: UpsampleOptions = {}): Tensor => forward('nearest', x, opts);
export const upsampleBilinear2x = (x: Tensor, opts: UpsampleOptions = {}): Tensor => forward('bilinear', x, opts);
/** Sum over each 2x2 block of dy (optionally of a channel slice of dy). */
export const upsampleNearest2xBackward = (dy: Tensor, opts: UpsampleBackwardOptions = {}): Tensor => backward('nearest', dy, opts);
/** Adjoint of `upsampleBilinear2x` (optionally of a channel slice of dy). */
export const upsampleBilinear2xBackward = (dy: Tensor, opts: UpsampleBackwardOptions = {}): Tensor => backward('bilinear', dy, opts);

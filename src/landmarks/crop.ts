/**
 * Crops around points for the refinement stage (browser-safe).
 *
 * A crop is a square of side `side` original pixels centred on a point, resampled to size × size
 * model pixels through one affine map (the same pixel-centre convention as preprocess.ts):
 *   u = (x − cx) · size / side + (size − 1) / 2,
 * optionally rotated and scaled about the crop centre (augmentation). The image is min-max scaled
 * once over the whole image (as the coarse stage sees it), area-downsampled once by an integer
 * factor when a crop shrinks it 2x or more (so a 2400 px X-ray does not alias at 0.5 mm per
 * pixel), then every crop is one bilinear warp of that copy: K crops of one image cost K small
 * warps, not K passes over the image.
 */
import { mat3d } from 'wgpu-matrix';
import type { GreyImage, Point } from '../data/types';
import { makeRng } from '../nn/random';
import { downsampleArea, downsampleTransform, drawAugmentation, finishSample, minMaxNormalize, warpBilinear, type Affine, type AugmentOptions, type Sample } from './preprocess';

/** Crop side in original pixels: `fraction` of the image's longer side. */
export const cropSide = (image: { width: number; height: number }, fraction: number): number => fraction * Math.max(image.width, image.height);

/** Original pixels → crop pixels for a crop of `side` original pixels around `center`, `size` px wide. */
export function cropTransform(center: Point, side: number, size: number): Affine {
  const s = size / side;
  const c = (size - 1) / 2;
  return mat3d.create(s, 0, 0, 0, s, 0, c - s * center[0], c - s * center[1], 1) as Affine;
}

/** Options of one crop. */
export interface CropOptions {
  /** Crop side in model pixels. */
  size: number;
  /** Heatmap σ in crop pixels (targets: every landmark inside the crop, on its own channel). */
  sigma?: number;
  /** The weights' normalisation after min-max: (x − mean) / std. */
  mean?: number;
  std?: number;
  /** Rotation / scale about the crop centre and intensity augmentation (the shift is the crop's offset). */
  augment?: AugmentOptions | false;
  /** A fixed zoom about the crop centre (test-time augmentation; > 1 magnifies). Default 1. */
  zoom?: number;
  seed?: number;
  /** Make target heatmaps (training). */
  heatmaps?: boolean;
}

/** Zoom by `z` about the point (c, c) of a crop. */
function zoomAbout(z: number, c: number): Affine {
  return mat3d.create(z, 0, 0, 0, z, 0, c - z * c, c - z * c, 1) as Affine;
}

/**
 * An image prepared for cropping at a fixed crop side: min-max scaled once, downsampled once.
 * `crop()` then costs one size × size warp.
 */
export class CropSource {
  private readonly data: Float32Array;
  private readonly w: number;
  private readonly h: number;
  /** Original pixels → pixels of the (possibly downsampled) copy. */
  private readonly toCopy: Affine;

  constructor(
    readonly image: GreyImage,
    /** Crop side in original pixels. */
    readonly side: number,
    /** Crop side in model pixels. */
    readonly size: number,
  ) {
    let data = minMaxNormalize(image.data);
    let w = image.width, h = image.height;
    let toCopy = mat3d.identity() as Affine;
    const f = Math.floor(side / size);
    if (f >= 2) {
      const ds = downsampleArea(data, w, h, f);
      data = ds.data;
      w = ds.width;
      h = ds.height;
      toCopy = downsampleTransform(f);
    }
    this.data = data;
    this.w = w;
    this.h = h;
    this.toCopy = toCopy;
  }

  /** The crop around `center` (original pixels), with targets for `points` when given. */
  crop(center: Point, points: Point[] | undefined, opts: CropOptions): Sample {
    const size = opts.size;
    let toModel = cropTransform(center, this.side, size);
    let aug: Sample['augmentation'];
    if (opts.zoom !== undefined && opts.zoom !== 1) toModel = mat3d.multiply(zoomAbout(opts.zoom, (size - 1) / 2), toModel) as Affine;
    if (opts.augment) {
      // shift 0: the offset of the crop centre from the landmark is the translation augmentation
      aug = drawAugmentation(makeRng(opts.seed ?? 0), { ...opts.augment, shift: 0 }, size, size);
      toModel = mat3d.multiply(aug.matrix, toModel) as Affine;
    }
    const warp = mat3d.multiply(toModel, mat3d.inverse(this.toCopy)) as Affine;
    return finishSample(warpBilinear(this.data, this.w, this.h, warp, size, size, 0), size, size, toModel, points, aug, { ...opts, sigma: opts.sigma ?? 2 });
  }
}

/**
 * Draws crop-centre offsets (original pixels of an image whose longer side is `longer`) from an
 * error distribution given as offsets relative to the longer side: an empirical sample (the
 * coarse stage's validation errors, pred − truth) with a little Gaussian jitter, or a Gaussian
 * of per-axis σ `sigma` (relative) when there is no sample.
 */
export function drawOffset(rng: { uniform(a: number, b: number): number; normal(): number }, longer: number, errors: readonly Point[] | undefined, sigma: number): Point {
  if (errors && errors.length) {
    const e = errors[Math.min(errors.length - 1, Math.floor(rng.uniform(0, errors.length)))]!;
    const j = 0.25 * sigma;
    return [(e[0] + j * rng.normal()) * longer, (e[1] + j * rng.normal()) * longer];
  }
  return [sigma * rng.normal() * longer, sigma * rng.normal() * longer];
}

/**
 * Preprocessing for landmark heatmap regression (browser-safe).
 *
 * Coordinates: pixel centres at integer coordinates (pixel i covers [i-0.5, i+0.5]), origin top
 * left, x right — the same in original and model space. Every geometric step is one 2-D affine
 * map (wgpu-matrix mat3d, column-major, translation in elements 8 and 9):
 *   toModel = augment · fit      (original pixels → model pixels)
 * and the image is resampled once through toModel⁻¹ (bilinear), after an integer-factor area
 * downsample when the map shrinks by 2x or more (so large X-rays do not alias). Points go
 * through the same matrix, and predictions come back through toOriginal = toModel⁻¹.
 *
 * Intensities: min-max to [0,1] over the original image, padding is 0, then optional intensity
 * augmentation (gamma, contrast about 0.5, Gaussian noise; clamped to [0,1]), then the weights'
 * normalisation (x - mean) / std. Targets are K Gaussian heatmaps, peak 1 at the landmark, σ in
 * model pixels, NCHW; a landmark outside the model image is flagged invisible and its channel is 0.
 */
import { mat3d } from 'wgpu-matrix';
import { makeRng, type Rng } from '../nn/random';
import type { GreyImage, Point } from '../data/types';

export type Affine = Float64Array;

export function applyAffine(m: Affine, p: Point): Point {
  return [m[0]! * p[0] + m[4]! * p[1] + m[8]!, m[1]! * p[0] + m[5]! * p[1] + m[9]!];
}

export const mapPoints = (m: Affine, pts: Point[]): Point[] => pts.map((p) => applyAffine(m, p));

export type FitMode = 'pad' | 'stretch';

/**
 * Original (srcW x srcH) → model (dstW x dstH). 'pad' keeps the aspect ratio, centres the image
 * and leaves padding (value 0) on the short side; 'stretch' scales each axis independently.
 * Pixel-centre convention: u = s (x + 0.5) - 0.5 + offset.
 */
export function fitTransform(srcW: number, srcH: number, dstW: number, dstH: number, mode: FitMode = 'pad'): Affine {
  let sx = dstW / srcW, sy = dstH / srcH, ox = 0, oy = 0;
  if (mode === 'pad') {
    const s = Math.min(sx, sy);
    ox = (dstW - s * srcW) / 2;
    oy = (dstH - s * srcH) / 2;
    sx = sy = s;
  }
  return mat3d.create(sx, 0, 0, 0, sy, 0, 0.5 * sx - 0.5 + ox, 0.5 * sy - 0.5 + oy, 1) as Affine;
}

export interface AugmentOptions {
  /** Max rotation in degrees (uniform in ±). Default 10. */
  rotationDeg?: number;
  /** Isotropic scale range. Default [0.9, 1.1]. */
  scale?: [number, number];
  /** Max shift as a fraction of the model size (uniform in ±, per axis). Default 0.05. */
  shift?: number;
  /** Gamma range (x^γ). Default [0.8, 1.25]; [1, 1] turns it off. */
  gamma?: [number, number];
  /** Contrast factor range about 0.5. Default [0.85, 1.15]. */
  contrast?: [number, number];
  /** Max std of additive Gaussian noise (std uniform in [0, noise]). Default 0.02. */
  noise?: number;
}

export interface AugmentDraw {
  matrix: Affine;
  rotation: number;
  scale: number;
  shift: [number, number];
  gamma: number;
  contrast: number;
  noise: number;
}

/** Draws one augmentation: a shift·rotation·scale matrix about the model image centre, plus intensity terms. */
export function drawAugmentation(rng: Rng, opts: AugmentOptions, w: number, h: number): AugmentDraw {
  const rot = ((opts.rotationDeg ?? 10) * Math.PI) / 180;
  const [s0, s1] = opts.scale ?? [0.9, 1.1];
  const sh = opts.shift ?? 0.05;
  const [g0, g1] = opts.gamma ?? [0.8, 1.25];
  const [c0, c1] = opts.contrast ?? [0.85, 1.15];
  const rotation = rng.uniform(-rot, rot);
  const scale = rng.uniform(s0, s1);
  const shift: [number, number] = [rng.uniform(-sh, sh) * w, rng.uniform(-sh, sh) * h];
  // Log-uniform gamma so that γ and 1/γ are equally likely.
  const gamma = Math.exp(rng.uniform(Math.log(g0), Math.log(g1)));
  const contrast = rng.uniform(c0, c1);
  const noise = rng.uniform(0, opts.noise ?? 0.02);
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  let m = mat3d.translation([cx + shift[0], cy + shift[1]]);
  m = mat3d.rotate(m, rotation);
  m = mat3d.scale(m, [scale, scale]);
  m = mat3d.translate(m, [-cx, -cy]);
  return { matrix: m as Affine, rotation, scale, shift, gamma, contrast, noise };
}

/** Min-max to [0,1] (a constant image becomes 0). */
export function minMaxNormalize(data: Float32Array): Float32Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) { const v = data[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const out = new Float32Array(data.length);
  const r = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++) out[i] = (data[i]! - lo) * r;
  return out;
}

/** Area (box) downsample by an integer factor; edge blocks average what they cover. */
export function downsampleArea(data: Float32Array, w: number, h: number, f: number): { data: Float32Array; width: number; height: number } {
  const W = Math.ceil(w / f), H = Math.ceil(h / f);
  const out = new Float32Array(W * H);
  const cnt = new Float32Array(W * H);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / f) * W;
    for (let x = 0; x < w; x++) { const o = row + Math.floor(x / f); out[o]! += data[y * w + x]!; cnt[o]! += 1; }
  }
  for (let i = 0; i < out.length; i++) out[i]! /= cnt[i]!;
  return { data: out, width: W, height: H };
}

/** Matrix of the downsample above: original → downsampled pixel coordinates. */
export const downsampleTransform = (f: number): Affine => mat3d.create(1 / f, 0, 0, 0, 1 / f, 0, 0.5 / f - 0.5, 0.5 / f - 0.5, 1) as Affine;

/**
 * Resamples `src` (sw x sh) into dw x dh through `toDst` (src → dst coordinates), bilinear.
 * Destination pixels whose source lies outside [-0.5, size-0.5] get `fill`.
 */
export function warpBilinear(src: Float32Array, sw: number, sh: number, toDst: Affine, dw: number, dh: number, fill = 0): Float32Array {
  const inv = mat3d.inverse(toDst);
  const a = inv[0]!, b = inv[4]!, c = inv[8]!, d = inv[1]!, e = inv[5]!, f = inv[9]!;
  const out = new Float32Array(dw * dh);
  for (let v = 0; v < dh; v++) {
    for (let u = 0; u < dw; u++) {
      const x = a * u + b * v + c, y = d * u + e * v + f;
      if (!(x >= -0.5 && x <= sw - 0.5 && y >= -0.5 && y <= sh - 0.5)) { out[v * dw + u] = fill; continue; }
      const xc = Math.min(Math.max(x, 0), sw - 1), yc = Math.min(Math.max(y, 0), sh - 1);
      const x0 = Math.min(Math.floor(xc), sw - 2 < 0 ? 0 : sw - 2), y0 = Math.min(Math.floor(yc), sh - 2 < 0 ? 0 : sh - 2);
      const x1 = Math.min(x0 + 1, sw - 1), y1 = Math.min(y0 + 1, sh - 1);
      const tx = xc - x0, ty = yc - y0;
      const p00 = src[y0 * sw + x0]!, p01 = src[y0 * sw + x1]!, p10 = src[y1 * sw + x0]!, p11 = src[y1 * sw + x1]!;
      out[v * dw + u] = (p00 + (p01 - p00) * tx) * (1 - ty) + (p10 + (p11 - p10) * tx) * ty;
    }
  }
  return out;
}

/**
 * K Gaussian heatmaps exp(-|p - q|² / 2σ²) in one (K, H, W) block, written into `out` at `offset`
 * if given. Invisible points (visible[i] false) leave their channel 0. Truncated at 4σ (< 3.4e-4).
 */
export function gaussianHeatmaps(points: Point[], w: number, h: number, sigma: number, visible?: boolean[], out?: Float32Array, offset = 0): Float32Array {
  const k = points.length;
  const hm = out ?? new Float32Array(k * h * w);
  if (!out) offset = 0;
  const r = Math.ceil(4 * sigma), inv = 1 / (2 * sigma * sigma);
  for (let c = 0; c < k; c++) {
    const base = offset + c * h * w;
    hm.fill(0, base, base + h * w);
    if (visible && !visible[c]) continue;
    const [px, py] = points[c]!;
    if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
    const x0 = Math.max(0, Math.floor(px - r)), x1 = Math.min(w - 1, Math.ceil(px + r));
    const y0 = Math.max(0, Math.floor(py - r)), y1 = Math.min(h - 1, Math.ceil(py + r));
    for (let y = y0; y <= y1; y++) {
      const dy2 = (y - py) * (y - py);
      for (let x = x0; x <= x1; x++) hm[base + y * w + x] = Math.exp(-((x - px) * (x - px) + dy2) * inv);
    }
  }
  return hm;
}

export interface PreprocessOptions {
  /** Model input size: a square side or [width, height]. */
  size: number | [number, number];
  fit?: FitMode;
  /** Heatmap σ in model pixels (default 5, as in the paper authors' code at 256 px). */
  sigma?: number;
  /** The weights' normalisation after min-max: (x - mean) / std. Default 0 / 1. */
  mean?: number;
  std?: number;
  /** Augmentation (off when absent or false). */
  augment?: AugmentOptions | false;
  /** Seed of this sample's augmentation (mix epoch and index into it for training). */
  seed?: number;
  /** Skip making heatmaps (inference). */
  heatmaps?: boolean;
}

export interface Sample {
  width: number;
  height: number;
  /** 1 x H x W normalised input. */
  input: Float32Array;
  /** K x H x W targets (empty when no points or heatmaps: false). */
  heatmaps: Float32Array;
  /** Points in model pixels. */
  points: Point[];
  /** False where a landmark falls outside the model image. */
  visible: boolean[];
  toModel: Affine;
  toOriginal: Affine;
  augmentation?: AugmentDraw;
}

const modelSize = (s: number | [number, number]): [number, number] => (typeof s === 'number' ? [s, s] : s);

/** One image (+ its points) → model input, targets and the maps between original and model pixels. */
export function preprocess(image: GreyImage, points: Point[] | undefined, opts: PreprocessOptions): Sample {
  const [W, H] = modelSize(opts.size);
  const fit = fitTransform(image.width, image.height, W, H, opts.fit ?? 'pad');
  let toModel = fit;
  let aug: AugmentDraw | undefined;
  if (opts.augment) {
    aug = drawAugmentation(makeRng(opts.seed ?? 0), opts.augment, W, H);
    toModel = mat3d.multiply(aug.matrix, fit) as Affine;
  }
  let src = minMaxNormalize(image.data), sw = image.width, sh = image.height;
  // Shrink by an integer factor first when the map downsamples 2x or more.
  const scale = Math.max(Math.hypot(toModel[0]!, toModel[1]!), Math.hypot(toModel[4]!, toModel[5]!));
  const f = Math.floor(1 / scale);
  let warpMap = toModel;
  if (f >= 2) {
    const ds = downsampleArea(src, sw, sh, f);
    src = ds.data; sw = ds.width; sh = ds.height;
    warpMap = mat3d.multiply(toModel, mat3d.inverse(downsampleTransform(f))) as Affine;
  }
  return finishSample(warpBilinear(src, sw, sh, warpMap, W, H, 0), W, H, toModel, points, aug, { ...opts, sigma: opts.sigma ?? 5 });
}

/**
 * The last steps every sample shares (whole images here, crops in crop.ts): the drawn intensity
 * augmentation (gamma, contrast, noise; clamped to [0, 1]), the input normalisation, the points
 * and heatmap targets in model pixels, and the maps both ways.
 */
export function finishSample(
  input: Float32Array, W: number, H: number, toModel: Affine, points: Point[] | undefined, aug: AugmentDraw | undefined,
  opts: { seed?: number; mean?: number; std?: number; sigma: number; heatmaps?: boolean },
): Sample {
  if (aug) {
    const rng = makeRng((opts.seed ?? 0) ^ 0x9e3779b9);
    for (let i = 0; i < input.length; i++) {
      let v = Math.pow(input[i]!, aug.gamma);
      v = aug.contrast * (v - 0.5) + 0.5;
      if (aug.noise > 0) v += aug.noise * rng.normal();
      input[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  const mean = opts.mean ?? 0, std = opts.std ?? 1;
  if (mean !== 0 || std !== 1) for (let i = 0; i < input.length; i++) input[i] = (input[i]! - mean) / std;
  const pts = points ? mapPoints(toModel, points) : [];
  const visible = pts.map(([x, y]) => x >= 0 && x <= W - 1 && y >= 0 && y <= H - 1);
  const heatmaps = points && opts.heatmaps !== false ? gaussianHeatmaps(pts, W, H, opts.sigma, visible) : new Float32Array(0);
  const s: Sample = { width: W, height: H, input, heatmaps, points: pts, visible, toModel, toOriginal: mat3d.inverse(toModel) as Affine };
  if (aug) s.augmentation = aug;
  return s;
}

/** Stacks samples into NCHW arrays: inputs (N,1,H,W), heatmaps (N,K,H,W), visibility mask (N,K). */
export function collate(samples: Sample[]): { inputs: Float32Array; heatmaps: Float32Array; visible: Float32Array; n: number; k: number; h: number; w: number } {
  if (samples.length === 0) throw new RangeError('collate: no samples');
  const { width: w, height: h } = samples[0]!;
  const k = samples[0]!.points.length;
  const n = samples.length;
  const inputs = new Float32Array(n * h * w), heatmaps = new Float32Array(n * k * h * w), visible = new Float32Array(n * k);
  samples.forEach((s, i) => {
    if (s.width !== w || s.height !== h || s.points.length !== k) throw new RangeError(`collate: sample ${i} is ${s.width}x${s.height}, K=${s.points.length}; sample 0 is ${w}x${h}, K=${k}`);
    inputs.set(s.input, i * h * w);
    if (s.heatmaps.length) heatmaps.set(s.heatmaps, i * k * h * w);
    s.visible.forEach((v, j) => { visible[i * k + j] = v ? 1 : 0; });
  });
  return { inputs, heatmaps, visible, n, k, h, w };
}

/**
 * Heatmaps → landmark coordinates (browser-safe).
 *
 * 'argmax' (default): the peak pixel per channel, then sub-pixel refinement:
 *   - 'gaussian' (default): per axis, a parabola through the logarithms of the peak and its two
 *     neighbours; exact for a sampled Gaussian of any σ (log of a Gaussian is a parabola), so it
 *     recovers sub-pixel centres of Gaussian-like peaks (cf. DARK, Zhang et al. 2020). Falls back
 *     to 'quadratic' where a neighbour is ≤ 0, and to no refinement at the border.
 *   - 'quadratic': the same parabola on raw values (biased toward the pixel for broad peaks).
 *   - 'softargmax': value-weighted centroid of max(v - local minimum, 0) in a (2r+1)² window.
 *   - 'none'.
 *   The offset is clamped to ±0.5 px (it cannot move past the neighbouring pixel's centre).
 * 'blob': the paper authors' style: threshold each heatmap at `threshold` × its max, take the
 *   8-connected component that holds the maximum, return its centroid (unweighted, as
 *   skimage regionprops' `centroid`; `weighted: true` uses the values as weights).
 * Coordinates are model pixels (pixel centres at integers); `toOriginal` maps them back.
 */
import type { Point } from '../data/types';
import { applyAffine, type Affine } from './preprocess';

export interface DecodeOptions {
  method?: 'argmax' | 'blob';
  refine?: 'gaussian' | 'quadratic' | 'softargmax' | 'none';
  /** Half-width of the softargmax window (default 2). */
  window?: number;
  /** Blob threshold relative to the channel max (default 0.5). */
  threshold?: number;
  /** Blob centroid weighted by values (default false). */
  weighted?: boolean;
}

export interface Decoded {
  points: Point[];
  /** Peak value of each channel. */
  confidence: number[];
}

function peak(hm: Float32Array, base: number, n: number): { idx: number; val: number } {
  let idx = 0, val = -Infinity;
  for (let i = 0; i < n; i++) { const v = hm[base + i]!; if (v > val) { val = v; idx = i; } }
  return { idx, val };
}

const clampHalf = (d: number): number => (d > 0.5 ? 0.5 : d < -0.5 ? -0.5 : d);

/** Parabola vertex offset through (-1, a), (0, b), (1, c); 0 if not a maximum. */
function vertex(a: number, b: number, c: number): number {
  const den = a - 2 * b + c;
  return den < 0 ? clampHalf((0.5 * (a - c)) / den) : 0;
}

function refineAxis(a: number, b: number, c: number, mode: 'gaussian' | 'quadratic'): number {
  if (mode === 'gaussian' && a > 0 && b > 0 && c > 0) return vertex(Math.log(a), Math.log(b), Math.log(c));
  return vertex(a, b, c);
}

export function decodeChannel(hm: Float32Array, base: number, h: number, w: number, opts: DecodeOptions = {}): { point: Point; confidence: number } {
  const { idx, val } = peak(hm, base, h * w);
  return decodeAt(hm, base, h, w, idx, opts);
}

/**
 * Decodes the peak at pixel index `idx` of one channel (not necessarily its maximum: the guards
 * re-decode a landmark from its next local maximum) with the channel's sub-pixel method.
 */
export function decodeAt(hm: Float32Array, base: number, h: number, w: number, idx: number, opts: DecodeOptions = {}): { point: Point; confidence: number } {
  const val = hm[base + idx]!;
  const px = idx % w, py = Math.floor(idx / w);
  const at = (x: number, y: number) => hm[base + y * w + x]!;
  if ((opts.method ?? 'argmax') === 'blob') return { point: blobCentroid(hm, base, h, w, idx, val, opts), confidence: val };
  const mode = opts.refine ?? 'gaussian';
  if (mode === 'none') return { point: [px, py], confidence: val };
  if (mode === 'softargmax') {
    const r = opts.window ?? 2;
    const x0 = Math.max(0, px - r), x1 = Math.min(w - 1, px + r), y0 = Math.max(0, py - r), y1 = Math.min(h - 1, py + r);
    let lo = Infinity;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) lo = Math.min(lo, at(x, y));
    let sw = 0, sx = 0, sy = 0;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) { const v = at(x, y) - lo; sw += v; sx += v * x; sy += v * y; }
    return { point: sw > 0 ? [sx / sw, sy / sw] : [px, py], confidence: val };
  }
  const dx = px > 0 && px < w - 1 ? refineAxis(at(px - 1, py), val, at(px + 1, py), mode) : 0;
  const dy = py > 0 && py < h - 1 ? refineAxis(at(px, py - 1), val, at(px, py + 1), mode) : 0;
  return { point: [px + dx, py + dy], confidence: val };
}

function blobCentroid(hm: Float32Array, base: number, h: number, w: number, start: number, max: number, opts: DecodeOptions): Point {
  const t = (opts.threshold ?? 0.5) * max;
  // A non-positive max (an untrained or flat heatmap): the blob is the peak pixel itself.
  if (!(max > 0)) return [start % w, Math.floor(start / w)];
  const seen = new Uint8Array(h * w);
  const stack = [start];
  seen[start] = 1;
  let sw = 0, sx = 0, sy = 0;
  while (stack.length) {
    const i = stack.pop()!;
    const x = i % w, y = (i - x) / w;
    const v = hm[base + i]!;
    const wt = opts.weighted ? v : 1;
    sw += wt; sx += wt * x; sy += wt * y;
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if (xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (!seen[j] && hm[base + j]! >= t) { seen[j] = 1; stack.push(j); }
      }
    }
  }
  return [sx / sw, sy / sw];
}

/** Decodes K heatmaps (K, H, W) of one image, starting at `offset` in `hm`. */
export function decodeHeatmaps(hm: Float32Array, k: number, h: number, w: number, opts: DecodeOptions = {}, offset = 0): Decoded {
  if (hm.length < offset + k * h * w) throw new RangeError(`decodeHeatmaps: ${hm.length} values, need ${offset + k * h * w} for K=${k}, ${h}x${w}`);
  const points: Point[] = [], confidence: number[] = [];
  for (let c = 0; c < k; c++) {
    const r = decodeChannel(hm, offset + c * h * w, h, w, opts);
    points.push(r.point);
    confidence.push(r.confidence);
  }
  return { points, confidence };
}

/** Decodes a batch (N, K, H, W) and maps each image's points back to original pixels. */
export function decodeBatch(hm: Float32Array, n: number, k: number, h: number, w: number, toOriginal: Affine[] | undefined, opts: DecodeOptions = {}): Decoded[] {
  const out: Decoded[] = [];
  for (let i = 0; i < n; i++) {
    const d = decodeHeatmaps(hm, k, h, w, opts, i * k * h * w);
    const m = toOriginal?.[i];
    if (m) d.points = d.points.map((p) => applyAffine(m, p));
    out.push(d);
  }
  return out;
}

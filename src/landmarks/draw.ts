/**
 * Rasterising into RGBA buffers (browser-safe): grey images, discs, crosses, lines, overlays of
 * predicted vs true landmarks with error vectors, and heatmap montages. PNG writing is in
 * src/node/data_png.ts; in a browser, wrap `data` in an ImageData.
 */
import type { Point } from '../data/types';

export interface Rgba { width: number; height: number; data: Uint8ClampedArray }
export type Colour = [number, number, number];

export const COLOURS = { gt: [40, 220, 70] as Colour, pred: [255, 50, 50] as Colour, error: [255, 220, 40] as Colour };

export function rgba(width: number, height: number): Rgba {
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

/** A grey image as RGBA, min-max scaled to 0..255. */
export function greyToRgba(img: { width: number; height: number; data: ArrayLike<number> }): Rgba {
  const out = rgba(img.width, img.height);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < img.data.length; i++) { const v = img.data[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const s = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const v = (img.data[i]! - lo) * s;
    out.data[4 * i] = out.data[4 * i + 1] = out.data[4 * i + 2] = v;
    out.data[4 * i + 3] = 255;
  }
  return out;
}

export function setPixel(c: Rgba, x: number, y: number, col: Colour, alpha = 1): void {
  x = Math.round(x); y = Math.round(y);
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const o = 4 * (y * c.width + x);
  for (let i = 0; i < 3; i++) c.data[o + i] = c.data[o + i]! * (1 - alpha) + col[i]! * alpha;
  c.data[o + 3] = 255;
}

export function drawDisc(c: Rgba, cx: number, cy: number, r: number, col: Colour): void {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) setPixel(c, x, y, col);
    }
  }
}

/** Line of the given width (a disc stamped along the segment; 1 px wide uses single pixels). */
export function drawLine(c: Rgba, x0: number, y0: number, x1: number, y1: number, col: Colour, width = 1): void {
  const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
  for (let i = 0; i <= n; i++) {
    const x = x0 + ((x1 - x0) * i) / n, y = y0 + ((y1 - y0) * i) / n;
    if (width <= 1) setPixel(c, x, y, col); else drawDisc(c, x, y, width / 2, col);
  }
}

export function drawCross(c: Rgba, x: number, y: number, r: number, col: Colour, width = 1): void {
  drawLine(c, x - r, y - r, x + r, y + r, col, width);
  drawLine(c, x - r, y + r, x + r, y - r, col, width);
}

export interface OverlayOptions {
  /** Marker radius in pixels (default: about 1/150 of the shorter side, at least 2). */
  radius?: number;
  lineWidth?: number;
}

/**
 * Image + ground truth (green discs) + predictions (red crosses) + error vectors (yellow lines
 * from each prediction to its true point).
 */
export function drawOverlay(image: { width: number; height: number; data: ArrayLike<number> }, pred?: Point[], gt?: Point[], opts: OverlayOptions = {}): Rgba {
  const c = greyToRgba(image);
  const r = opts.radius ?? Math.max(2, Math.round(Math.min(image.width, image.height) / 150));
  const lw = opts.lineWidth ?? Math.max(1, Math.round(r / 2));
  if (pred && gt) pred.forEach((p, i) => { const g = gt[i]; if (g) drawLine(c, p[0], p[1], g[0], g[1], COLOURS.error, lw); });
  gt?.forEach((g) => drawDisc(c, g[0], g[1], r, COLOURS.gt));
  pred?.forEach((p) => drawCross(c, p[0], p[1], r + 1, COLOURS.pred, lw));
  return c;
}

/** 'hot'-like colour map on [0, 1]: black → red → yellow → white. */
export function hot(t: number): Colour {
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return [255 * Math.min(1, 3 * t), 255 * Math.min(1, Math.max(0, 3 * t - 1)), 255 * Math.max(0, 3 * t - 2)];
}

/**
 * K heatmaps (K, H, W) as a grid of tiles, each scaled by its own max (negative values as 0),
 * `cols` tiles per row (default ceil(sqrt(K))), 1-pixel grey separators.
 */
export function heatmapMontage(hm: Float32Array, k: number, h: number, w: number, cols = Math.ceil(Math.sqrt(k)), offset = 0): Rgba {
  const rows = Math.ceil(k / cols);
  const c = rgba(cols * (w + 1) + 1, rows * (h + 1) + 1);
  for (let i = 0; i < c.width * c.height; i++) { c.data[4 * i] = c.data[4 * i + 1] = c.data[4 * i + 2] = 80; c.data[4 * i + 3] = 255; }
  for (let ch = 0; ch < k; ch++) {
    const base = offset + ch * h * w;
    let mx = 0;
    for (let i = 0; i < h * w; i++) mx = Math.max(mx, hm[base + i]!);
    const ox = 1 + (ch % cols) * (w + 1), oy = 1 + Math.floor(ch / cols) * (h + 1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const col = hot(mx > 0 ? hm[base + y * w + x]! / mx : 0);
        const o = 4 * ((oy + y) * c.width + ox + x);
        c.data[o] = col[0]; c.data[o + 1] = col[1]; c.data[o + 2] = col[2];
      }
    }
  }
  return c;
}

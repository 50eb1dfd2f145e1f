/**
 * Rasterising into RGBA buffers (browser-safe): grey images, discs, crosses, lines, text, overlays
 * of predicted vs true landmarks with error vectors, numbers and a legend, and labelled heatmap
 * montages with a colour bar. PNG writing is in src/node/data_png.ts; in a browser, wrap `data`
 * in an ImageData.
 */
import type { Point } from '../data/types';
import { ADVANCE, CAP_HEIGHT, textHeight, textMask, textWidth } from './font';

export interface Rgba { width: number; height: number; data: Uint8ClampedArray }
export type Colour = [number, number, number];
export interface Rect { x: number; y: number; width: number; height: number }
export type Filter = 'bilinear' | 'nearest';

export const COLOURS = {
  gt: [40, 220, 70] as Colour, pred: [255, 50, 50] as Colour, error: [255, 220, 40] as Colour,
  /** Predictions outside the image, drawn on the border. */
  outside: [255, 40, 255] as Colour,
  /** Landmark numbers and legend text (with a dark outline). */
  label: [255, 255, 255] as Colour,
  outline: [0, 0, 0] as Colour,
};

export function rgba(width: number, height: number): Rgba {
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

/**
 * Value at output pixel (X, Y) of a w×h plane (starting at `base`) resampled to W×H. Pixel centres
 * align (src = (X + ½)·w/W − ½, clamped at the edges), as in canvas drawImage / PIL resize.
 */
function sample(src: ArrayLike<number>, base: number, w: number, h: number, X: number, Y: number, W: number, H: number, filter: Filter): number {
  const sx = Math.min(w - 1, Math.max(0, ((X + 0.5) * w) / W - 0.5));
  const sy = Math.min(h - 1, Math.max(0, ((Y + 0.5) * h) / H - 0.5));
  if (filter === 'nearest') return src[base + Math.round(sy) * w + Math.round(sx)]!;
  const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
  const fx = sx - x0, fy = sy - y0;
  const top = src[base + y0 * w + x0]! * (1 - fx) + src[base + y0 * w + x1]! * fx;
  const bot = src[base + y1 * w + x0]! * (1 - fx) + src[base + y1 * w + x1]! * fx;
  return top * (1 - fy) + bot * fy;
}

/** A grey image as RGBA, min-max scaled to 0..255 (over the source), optionally resampled to width × height. */
export function greyToRgba(img: { width: number; height: number; data: ArrayLike<number> }, size?: { width: number; height: number; filter?: Filter }): Rgba {
  const W = size?.width ?? img.width, H = size?.height ?? img.height, filter = size?.filter ?? 'bilinear';
  const out = rgba(W, H);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < img.width * img.height; i++) { const v = img.data[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const s = hi > lo ? 255 / (hi - lo) : 0;
  const same = W === img.width && H === img.height;
  for (let Y = 0; Y < H; Y++) {
    for (let X = 0; X < W; X++) {
      const i = Y * W + X;
      const v = ((same ? img.data[i]! : sample(img.data, 0, img.width, img.height, X, Y, W, H, filter)) - lo) * s;
      out.data[4 * i] = out.data[4 * i + 1] = out.data[4 * i + 2] = v;
      out.data[4 * i + 3] = 255;
    }
  }
  return out;
}

export function setPixel(c: Rgba, x: number, y: number, col: Colour, alpha = 1): void {
  x = Math.round(x); y = Math.round(y);
  if (!(x >= 0 && y >= 0 && x < c.width && y < c.height)) return;
  const o = 4 * (y * c.width + x);
  for (let i = 0; i < 3; i++) c.data[o + i] = c.data[o + i]! * (1 - alpha) + col[i]! * alpha;
  c.data[o + 3] = 255;
}

export function fillRect(c: Rgba, r: Rect, col: Colour, alpha = 1): void {
  for (let y = Math.max(0, Math.round(r.y)); y < Math.min(c.height, Math.round(r.y + r.height)); y++) {
    for (let x = Math.max(0, Math.round(r.x)); x < Math.min(c.width, Math.round(r.x + r.width)); x++) setPixel(c, x, y, col, alpha);
  }
}

export function drawDisc(c: Rgba, cx: number, cy: number, r: number, col: Colour): void {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) setPixel(c, x, y, col);
    }
  }
}

/**
 * Line of the given width (a disc stamped along the segment; 1 px wide uses single pixels). The
 * segment is first clipped to the canvas (Liang–Barsky), so far-away endpoints cost nothing.
 */
export function drawLine(c: Rgba, x0: number, y0: number, x1: number, y1: number, col: Colour, width = 1): void {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return;
  const m = width + 1, dx = x1 - x0, dy = y1 - y0;
  let t0 = 0, t1 = 1;
  for (const [p, q] of [[-dx, x0 + m], [dx, c.width - 1 + m - x0], [-dy, y0 + m], [dy, c.height - 1 + m - y0]] as const) {
    if (p === 0) { if (q < 0) return; continue; }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t); else t1 = Math.min(t1, t);
  }
  if (t0 > t1) return;
  const ax = x0 + dx * t0, ay = y0 + dy * t0, bx = x0 + dx * t1, by = y0 + dy * t1;
  const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2));
  for (let i = 0; i <= n; i++) {
    const x = ax + ((bx - ax) * i) / n, y = ay + ((by - ay) * i) / n;
    if (width <= 1) setPixel(c, x, y, col); else drawDisc(c, x, y, width / 2, col);
  }
}

export function drawCross(c: Rgba, x: number, y: number, r: number, col: Colour, width = 1): void {
  drawLine(c, x - r, y - r, x + r, y + r, col, width);
  drawLine(c, x - r, y + r, x + r, y - r, col, width);
}

/** Filled triangle (pixel centres inside all three edges). */
export function fillTriangle(c: Rgba, a: Point, b: Point, d: Point, col: Colour): void {
  const edge = (p: Point, q: Point, x: number, y: number) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const area = edge(a, b, d[0], d[1]);
  if (area === 0) return;
  for (let y = Math.floor(Math.min(a[1], b[1], d[1])); y <= Math.ceil(Math.max(a[1], b[1], d[1])); y++) {
    for (let x = Math.floor(Math.min(a[0], b[0], d[0])); x <= Math.ceil(Math.max(a[0], b[0], d[0])); x++) {
      const e0 = edge(a, b, x, y) * area, e1 = edge(b, d, x, y) * area, e2 = edge(d, a, x, y) * area;
      if (e0 >= 0 && e1 >= 0 && e2 >= 0) setPixel(c, x, y, col);
    }
  }
}

/** Arrowhead with its tip at `tip`, pointing along (dx, dy), `size` long, with a dark rim. */
export function drawArrowhead(c: Rgba, tip: Point, dx: number, dy: number, size: number, col: Colour): void {
  const n = Math.hypot(dx, dy) || 1, ux = dx / n, uy = dy / n;
  const tri = (s: number, back: number): [Point, Point, Point] => {
    const bx = tip[0] - ux * (s + back), by = tip[1] - uy * (s + back), hw = s * 0.7;
    return [[tip[0] + ux * back * 0.5, tip[1] + uy * back * 0.5], [bx - uy * hw, by + ux * hw], [bx + uy * hw, by - ux * hw]];
  };
  fillTriangle(c, ...tri(size + 2, 1), COLOURS.outline);
  fillTriangle(c, ...tri(size, 0), col);
}

export interface TextStyle {
  /** Font pixel size (default 2). */
  scale?: number;
  /** Rim drawn around the glyphs so text reads on any background (default: dark; null for none). */
  outline?: Colour | null;
}

/** One line of text with its top-left corner at (x, y); returns the box it covers (outline included). */
export function drawText(c: Rgba, text: string, x: number, y: number, col: Colour, style: TextStyle = {}): Rect {
  const scale = style.scale ?? 2, outline = style.outline === undefined ? COLOURS.outline : style.outline;
  const { width, height, mask } = textMask(text, scale);
  x = Math.round(x); y = Math.round(y);
  const o = outline ? Math.max(1, Math.floor(scale / 2)) : 0;
  if (outline) {
    for (let ty = -o; ty < height + o; ty++) {
      for (let tx = -o; tx < width + o; tx++) {
        if (tx >= 0 && ty >= 0 && tx < width && ty < height && mask[ty * width + tx]) continue;
        let near = false;
        for (let dy = -o; dy <= o && !near; dy++) {
          for (let dx = -o; dx <= o && !near; dx++) {
            const u = tx + dx, v = ty + dy;
            near = u >= 0 && v >= 0 && u < width && v < height && mask[v * width + u] === 1;
          }
        }
        if (near) setPixel(c, x + tx, y + ty, outline);
      }
    }
  }
  for (let ty = 0; ty < height; ty++) for (let tx = 0; tx < width; tx++) if (mask[ty * width + tx]) setPixel(c, x + tx, y + ty, col);
  return { x: x - o, y: y - o, width: width + 2 * o, height: height + 2 * o };
}

/**
 * Indices of the points that lie outside a width × height image (pixel centres at integers, so
 * the image spans −½ … width − ½), or are not finite. For counting in reports and for flagging on
 * overlays.
 */
export function outsidePoints(points: readonly Point[], width: number, height: number): number[] {
  const out: number[] = [];
  points.forEach(([x, y], i) => {
    if (!(x >= -0.5 && x <= width - 0.5 && y >= -0.5 && y <= height - 0.5)) out.push(i);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Overlay: image + truth + predictions + error vectors + numbers + legend

export interface OverlayOptions {
  /** Marker radius in output pixels (default: about 1/110 of the shorter output side, at least 3). */
  radius?: number;
  lineWidth?: number;
  /** Images smaller than this on their long side are upscaled to it (default 512; 0 keeps the size). */
  minSize?: number;
  /** Resampling of the upscale (default bilinear). */
  filter?: Filter;
  /** First legend line(s), e.g. "MRE 3.2 mm"; '\n' separates lines. */
  title?: string;
  /** Write each landmark's number (1-based: the first landmark is 1) next to its prediction (default true). */
  numbers?: boolean;
  /** Draw the legend box (default true). */
  legend?: boolean;
  /**
   * 'auto' (default): in the corner that hides no marker and the least bright anatomy, or in a
   * strip added under the image when every corner would hide a marker; 'inside': always in the
   * best corner; 'below': always in the strip.
   */
  legendPlacement?: 'auto' | 'inside' | 'below';
  /** Font pixel size of numbers and legend (default: 2 up to ~700 px, growing with the output size). */
  textScale?: number;
}

export interface OverlayImage extends Rgba {
  /** Output pixels per image pixel: a point (x, y) is drawn at ((x + ½)·scaleX − ½, (y + ½)·scaleY − ½). */
  scaleX: number;
  scaleY: number;
  /** Indices of predictions outside the image (outsidePoints), drawn as arrowheads on the border. */
  outside: number[];
  /** Where the legend box was drawn (below the image when y ≥ the image's output height). */
  legend?: Rect;
  /** Output height of the image itself; `height` is larger when the legend went below it. */
  imageHeight: number;
}

type Swatch = 'disc' | 'cross' | 'line' | 'arrow' | 'number';

function overlapArea(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

function meanBrightness(c: Rgba, r: Rect): number {
  let sum = 0, n = 0;
  for (let y = Math.max(0, r.y); y < Math.min(c.height, r.y + r.height); y += 4) {
    for (let x = Math.max(0, r.x); x < Math.min(c.width, r.x + r.width); x += 4) { sum += c.data[4 * (y * c.width + x)]!; n++; }
  }
  return n ? sum / n : 0;
}

/**
 * Image + ground truth (green discs) + predictions (red crosses) + error vectors (yellow lines
 * from each prediction to its true point), each prediction numbered from 1, and a legend box in
 * the corner that covers the fewest markers and the darkest background (matplotlib's
 * loc='best'). Images smaller than `minSize` are upscaled first, so a 64×64 model input comes out
 * 512×512. Predictions outside the image are drawn as magenta arrowheads on the border pointing
 * towards where they are, and the legend counts them.
 */
export function drawOverlay(image: { width: number; height: number; data: ArrayLike<number> }, pred?: Point[], gt?: Point[], opts: OverlayOptions = {}): OverlayImage {
  const up = Math.max(1, (opts.minSize ?? 512) / Math.max(image.width, image.height));
  const W = Math.round(image.width * up), H = Math.round(image.height * up);
  const sx = W / image.width, sy = H / image.height;
  let c = greyToRgba(image, { width: W, height: H, filter: opts.filter });
  const r = opts.radius ?? Math.max(3, Math.round(Math.min(W, H) / 110));
  const lw = opts.lineWidth ?? Math.max(1, Math.round(r / 2.5));
  const ts = opts.textScale ?? Math.max(2, Math.round(Math.max(W, H) / 350));
  const toOut = ([x, y]: Point): Point => [(x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5];
  const P = pred?.map(toOut) ?? [], G = gt?.map(toOut) ?? [];
  const outside = pred ? outsidePoints(pred, image.width, image.height) : [];
  const isOut = new Set(outside);
  const arrow = 2 * r + 4;
  // Where each prediction's marker sits: outside ones on the border, in the direction of the point.
  const marks: ({ at: Point; tip?: Point; dir?: Point } | undefined)[] = P.map((p, i) => {
    if (!isOut.has(i)) return { at: p };
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) return undefined;
    const tip: Point = [Math.min(W - 1, Math.max(0, p[0])), Math.min(H - 1, Math.max(0, p[1]))];
    const dx = p[0] - tip[0], dy = p[1] - tip[1], n = Math.hypot(dx, dy) || 1;
    return { at: [tip[0] - (dx / n) * arrow, tip[1] - (dy / n) * arrow], tip, dir: [dx, dy] };
  });
  const markerBoxes: Rect[] = [...G, ...marks.flatMap((m) => (m ? [m.at] : []))].map(([x, y]) => ({ x: x - r - 1, y: y - r - 1, width: 2 * r + 3, height: 2 * r + 3 }));

  // Legend layout first, so the numbers can keep clear of it.
  const pad = 3 * ts, swW = 8 * ts, gap = 3 * ts, lineH = textHeight(ts) + 2 * ts;
  const titles = opts.title ? opts.title.split('\n') : [];
  const entries: { swatch: Swatch; text: string }[] = [];
  if (gt) entries.push({ swatch: 'disc', text: 'truth' });
  if (pred) entries.push({ swatch: 'cross', text: 'prediction' });
  if (pred && gt) entries.push({ swatch: 'line', text: 'error' });
  const numbers = (opts.numbers ?? true) && P.length > 0;
  if (numbers) entries.push({ swatch: 'number', text: `landmark no. (1-${P.length})` });
  if (outside.length > 0) entries.push({ swatch: 'arrow', text: `${outside.length} outside the image` });
  let legend: Rect | undefined;
  if ((opts.legend ?? true) && titles.length + entries.length > 0) {
    const width = 2 * pad + Math.max(...titles.map((t) => textWidth(t, ts)), ...entries.map((e) => swW + gap + textWidth(e.text, ts)));
    const height = 2 * pad + (titles.length + entries.length) * lineH - 2 * ts;
    const m = 2 * ts + 2;
    const corners: Rect[] = [[m, m], [W - width - m, m], [m, H - height - m], [W - width - m, H - height - m]].map(([x, y]) => ({ x: x!, y: y!, width, height }));
    const cost = (q: Rect) => markerBoxes.filter((b) => overlapArea(q, b) > 0).length * 1000 + meanBrightness(c, q);
    legend = corners.reduce((best, q) => (cost(q) < cost(best) ? q : best));
    const placement = opts.legendPlacement ?? 'auto';
    if (placement === 'below' || (placement === 'auto' && cost(legend) >= 1000)) legend = { x: m, y: H + m, width, height };
  }

  P.forEach((p, i) => { const g = G[i]; if (g) drawLine(c, p[0], p[1], g[0], g[1], COLOURS.error, lw); });
  G.forEach((g) => drawDisc(c, g[0], g[1], r, COLOURS.gt));
  marks.forEach((mk, i) => {
    if (!mk) return;
    if (mk.tip && mk.dir) drawArrowhead(c, mk.tip, mk.dir[0], mk.dir[1], arrow, COLOURS.outside);
    else if (!isOut.has(i)) drawCross(c, mk.at[0], mk.at[1], r + 1, COLOURS.pred, lw);
  });

  if (numbers) {
    const placed: Rect[] = legend ? [legend] : [];
    const th = CAP_HEIGHT * ts, g = r + 1 + ts;
    marks.forEach((mk, i) => {
      if (!mk) return;
      const text = String(i + 1), tw = textWidth(text, ts);
      const [ax, ay] = mk.at;
      const candidates: [number, number][] = [
        [ax + g, ay - g - th], [ax + g, ay + g], [ax - g - tw, ay - g - th], [ax - g - tw, ay + g],
        [ax + g + r, ay - th / 2], [ax - g - r - tw, ay - th / 2], [ax - tw / 2, ay - g - r - th], [ax - tw / 2, ay + g + r],
      ];
      const score = ([x, y]: [number, number]) => {
        // Padded by more than a letter space sideways, so neighbouring numbers never read as one.
        const box = { x: x - 3 * ts, y: y - ts, width: tw + 6 * ts, height: th + 2 * ts };
        const clipped = tw * th - overlapArea({ x, y, width: tw, height: th }, { x: 0, y: 0, width: W, height: H });
        return 8 * clipped + [...markerBoxes, ...placed].reduce((s, b) => s + overlapArea(box, b), 0);
      };
      const [x, y] = candidates.reduce((best, q) => (score(q) < score(best) ? q : best));
      placed.push(drawText(c, text, x, y, isOut.has(i) ? COLOURS.outside : COLOURS.label, { scale: ts }));
    });
  }

  if (legend && legend.y >= H) {
    // Grown only now, so error vectors to far-away predictions stop at the image's edge.
    const grown = rgba(W, legend.y + legend.height + (legend.y - H));
    grown.data.set(c.data);
    c = grown;
    fillRect(c, { x: 0, y: H, width: W, height: c.height - H }, [24, 24, 24]);
  }
  if (legend) {
    fillRect(c, legend, [0, 0, 0], 0.72);
    const { x: lx, y: ly, width: lwid, height: lht } = legend;
    drawLine(c, lx, ly, lx + lwid - 1, ly, [150, 150, 150]); drawLine(c, lx, ly + lht - 1, lx + lwid - 1, ly + lht - 1, [150, 150, 150]);
    drawLine(c, lx, ly, lx, ly + lht - 1, [150, 150, 150]); drawLine(c, lx + lwid - 1, ly, lx + lwid - 1, ly + lht - 1, [150, 150, 150]);
    let y = ly + pad;
    for (const t of titles) { drawText(c, t, lx + pad, y, COLOURS.label, { scale: ts, outline: null }); y += lineH; }
    for (const e of entries) {
      const cx = lx + pad + swW / 2, cy = y + (CAP_HEIGHT * ts) / 2 - 0.5, sr = Math.min(r, swW / 2 - 1);
      if (e.swatch === 'disc') drawDisc(c, cx, cy, sr, COLOURS.gt);
      else if (e.swatch === 'cross') drawCross(c, cx, cy, sr, COLOURS.pred, lw);
      else if (e.swatch === 'line') drawLine(c, lx + pad, cy, lx + pad + swW - 1, cy, COLOURS.error, lw);
      else if (e.swatch === 'arrow') drawArrowhead(c, [lx + pad + swW - 1, cy], 1, 0, swW - 3, COLOURS.outside);
      else drawText(c, '1', cx - textWidth('1', ts) / 2, y, COLOURS.label, { scale: ts });
      drawText(c, e.text, lx + pad + swW + gap, y, COLOURS.label, { scale: ts, outline: null });
      y += lineH;
    }
  }
  return Object.assign(c, { scaleX: sx, scaleY: sy, outside, legend, imageHeight: H });
}

// ---------------------------------------------------------------------------------------------
// Heatmap montage

/** 'hot'-like colour map on [0, 1]: black → red → yellow → white. */
export function hot(t: number): Colour {
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return [255 * Math.min(1, 3 * t), 255 * Math.min(1, Math.max(0, 3 * t - 1)), 255 * Math.max(0, 3 * t - 2)];
}

export interface MontageOptions {
  /** Tiles per row (default ceil(sqrt(K))). */
  cols?: number;
  /** Index in `hm` of the first value (e.g. image b of a batch: b·K·H·W). */
  offset?: number;
  /** Landmark names, written after each tile's number (1-based) and cut to the tile's width. */
  names?: string[];
  /** Tiles are upscaled by a whole factor until at least this many pixels on their long side (default 96)… */
  minTile?: number;
  /** …and the montage at least this wide (default 512). */
  minWidth?: number;
  /** Resampling of the upscale (default bilinear). */
  filter?: Filter;
  /** Number/name headers above the tiles and the colour bar under them (default true). */
  labels?: boolean;
}

const GRID: Colour = [110, 110, 110], HEADER_BG: Colour = [28, 28, 28];

/**
 * K heatmaps (K, H, W) as a grid of tiles, each scaled by its own max (negative values as 0) and
 * upscaled to be readable, with a header naming its landmark (number from 1, and name when
 * given), 1-pixel grey grid lines, and a colour bar for the map (0 → each tile's max) underneath.
 * `labels: false` gives the bare grid (tiles still upscaled).
 */
export function heatmapMontage(hm: Float32Array, k: number, h: number, w: number, opts?: MontageOptions): Rgba;
export function heatmapMontage(hm: Float32Array, k: number, h: number, w: number, cols?: number, offset?: number, opts?: MontageOptions): Rgba;
export function heatmapMontage(hm: Float32Array, k: number, h: number, w: number, colsOrOpts?: number | MontageOptions, offsetArg?: number, optsArg?: MontageOptions): Rgba {
  const o: MontageOptions = typeof colsOrOpts === 'object' ? colsOrOpts : { ...optsArg, cols: colsOrOpts ?? optsArg?.cols, offset: offsetArg ?? optsArg?.offset };
  const cols = Math.max(1, Math.min(k, o.cols ?? Math.ceil(Math.sqrt(k)))), rows = Math.ceil(k / cols), offset = o.offset ?? 0;
  const labels = o.labels ?? true, filter = o.filter ?? 'bilinear';
  const f = Math.max(1, Math.ceil((o.minTile ?? 96) / Math.max(h, w)), Math.ceil(((o.minWidth ?? 512) - cols - 1) / (cols * w)));
  const tw = w * f, th = h * f;
  const ts = tw >= 90 ? 2 : 1;
  // Names as large as the numbers when they all fit, else one size smaller (and cut with '…').
  const fits = (o.names ?? []).slice(0, k).every((n, i) => textWidth(`${i + 1} ${n}`, ts) <= tw - 2 * ts - 2);
  const nameScale = fits ? ts : Math.max(1, ts - 1);
  const headH = labels ? textHeight(ts) + 2 * ts : 0;
  const cellH = headH + th;
  const W = cols * (tw + 1) + 1, gridH = rows * (cellH + 1) + 1;
  const barPad = 3 * ts, barH = 5 * ts;
  const H = gridH + (labels ? barPad * 2 + Math.max(barH, textHeight(ts)) : 0);
  const c = rgba(W, H);
  for (let i = 0; i < W * H; i++) { c.data[4 * i] = c.data[4 * i + 1] = c.data[4 * i + 2] = i < W * gridH ? GRID[0] : HEADER_BG[0]; c.data[4 * i + 3] = 255; }
  for (let ch = 0; ch < k; ch++) {
    const base = offset + ch * h * w;
    let mx = 0;
    for (let i = 0; i < h * w; i++) mx = Math.max(mx, hm[base + i]!);
    const ox = 1 + (ch % cols) * (tw + 1), oy = 1 + Math.floor(ch / cols) * (cellH + 1);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const v = f === 1 ? hm[base + y * w + x]! : sample(hm, base, w, h, x, y, tw, th, filter);
        const col = hot(mx > 0 ? v / mx : 0);
        const q = 4 * ((oy + headH + y) * W + ox + x);
        c.data[q] = col[0]; c.data[q + 1] = col[1]; c.data[q + 2] = col[2];
      }
    }
    if (!labels) continue;
    fillRect(c, { x: ox, y: oy, width: tw, height: headH }, HEADER_BG);
    const num = String(ch + 1), tx = ox + ts + 1, ty = oy + ts;
    const nb = drawText(c, num, tx, ty, COLOURS.label, { scale: ts, outline: null });
    const name = o.names?.[ch];
    if (name) {
      const room = Math.floor((ox + tw - 2 - (nb.x + nb.width + 2 * ts) + nameScale) / (ADVANCE * nameScale));
      const cut = [...name].length <= room ? name : [...name].slice(0, Math.max(0, room - 1)).join('') + '…';
      if (room > 1) drawText(c, cut, nb.x + nb.width + 2 * ts, ty + (CAP_HEIGHT * (ts - nameScale)), [200, 200, 200], { scale: nameScale, outline: null });
    }
  }
  if (labels) {
    // Colour bar: "0 ▕black→white▏ max of each tile".
    const y0 = gridH + barPad, ty = y0 + Math.round((barH - CAP_HEIGHT * ts) / 2);
    let x = barPad;
    x += drawText(c, '0', x, ty, COLOURS.label, { scale: ts, outline: null }).width + 2 * ts;
    const tail = W - 2 * barPad >= 360 ? 'max of each tile' : 'max';
    const barW = Math.max(16, Math.min(256, W - x - barPad - 2 * ts - textWidth(tail, ts)));
    for (let i = 0; i < barW; i++) fillRect(c, { x: x + i, y: y0, width: 1, height: barH }, hot(i / (barW - 1)));
    drawText(c, tail, x + barW + 2 * ts, ty, COLOURS.label, { scale: ts, outline: null });
  }
  return c;
}

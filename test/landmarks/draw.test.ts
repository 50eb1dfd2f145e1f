import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/data/synthetic';
import type { Point } from '../../src/data/types';
import { COLOURS, drawOverlay, drawText, heatmapMontage, outsidePoints, rgba, type Colour, type Rect, type Rgba } from '../../src/landmarks/draw';
import { ADVANCE, FONT_CHARS, GLYPH_HEIGHT, GLYPH_WIDTH, hasGlyph, textMask, textWidth } from '../../src/landmarks/font';
import { gaussianHeatmaps } from '../../src/landmarks/preprocess';
import { writeHeatmapMontagePng, writeOverlayPng } from '../../src/node/data_png';

const px = (c: Rgba, x: number, y: number) => {
  const o = 4 * (Math.round(y) * c.width + Math.round(x));
  return [c.data[o]!, c.data[o + 1]!, c.data[o + 2]!];
};
const same = (a: number[], b: Colour) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
function count(c: Rgba, r: Rect, col: Colour): number {
  let n = 0;
  for (let y = Math.max(0, r.y); y < Math.min(c.height, r.y + r.height); y++) for (let x = Math.max(0, r.x); x < Math.min(c.width, r.x + r.width); x++) if (same(px(c, x, y), col)) n++;
  return n;
}
/**
 * Whether `text` at `scale` appears in colour `col` with its top-left corner somewhere in `r` (every ink pixel
 * matches).
 */
function containsText(c: Rgba, r: Rect, text: string, scale: number, col: Colour): boolean {
  const m = textMask(text, scale);
  const ink: number[] = [];
  m.mask.forEach((v, i) => { if (v) ink.push(i); });
  for (let y = Math.max(0, r.y); y < Math.min(c.height - m.height, r.y + r.height); y++) {
    for (let x = Math.max(0, r.x); x < Math.min(c.width - m.width, r.x + r.width); x++) {
      if (ink.every((i) => same(px(c, x + (i % m.width), y + Math.floor(i / m.width)), col))) return true;
    }
  }
  return false;
}
const black = (w: number, h: number) => ({ width: w, height: h, data: new Float32Array(w * h) });
/** Output position of image point p on an overlay. */
const at = (o: { scaleX: number; scaleY: number }, p: Point): Point => [(p[0] + 0.5) * o.scaleX - 0.5, (p[1] + 0.5) * o.scaleY - 0.5];
const around = ([x, y]: Point, d: number): Rect => ({ x: Math.round(x - d), y: Math.round(y - d), width: 2 * d, height: 2 * d });

describe('bitmap font', () => {
  it('draws every glyph it claims, each non-empty (but space) and distinct from the others', () => {
    expect(FONT_CHARS.length).toBeGreaterThan(80);
    for (const ch of [...'0123456789', ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', ...'abcdefghijklmnopqrstuvwxyz', ...'.,:-+=/()%±']) expect(hasGlyph(ch), ch).toBe(true);
    const seen = new Map<string, string>();
    for (const ch of FONT_CHARS) {
      const m = textMask(ch, 1);
      expect([m.width, m.height]).toEqual([GLYPH_WIDTH, GLYPH_HEIGHT]);
      const ink = m.mask.reduce((s, v) => s + v, 0);
      if (ch === ' ') { expect(ink).toBe(0); continue; }
      expect(ink, `glyph ${JSON.stringify(ch)} is empty`).toBeGreaterThan(0);
      const key = m.mask.join('');
      expect(seen.get(key), `${JSON.stringify(ch)} looks like ${JSON.stringify(seen.get(key))}`).toBeUndefined();
      seen.set(key, ch);
    }
  });
  it('lays out code points (± is one character), scales by whole pixels, and draws unknown characters as ?', () => {
    expect(textWidth('3.2 ± 1', 1)).toBe(7 * ADVANCE - 1);
    expect(textWidth('', 3)).toBe(0);
    const one = textMask('A', 1), three = textMask('A', 3);
    for (let y = 0; y < three.height; y++) for (let x = 0; x < three.width; x++) expect(three.mask[y * three.width + x]).toBe(one.mask[Math.floor(y / 3) * one.width + Math.floor(x / 3)]);
    expect(textMask('\u2603', 1).mask).toEqual(textMask('?', 1).mask);
  });
  it('drawText puts the glyph ink in the text colour and an outline around it', () => {
    const c = rgba(40, 30);
    const box = drawText(c, '42', 5, 5, COLOURS.label, { scale: 2, outline: [0, 0, 255] });
    expect(containsText(c, { x: 0, y: 0, width: 40, height: 30 }, '42', 2, COLOURS.label)).toBe(true);
    expect(containsText(c, { x: 0, y: 0, width: 40, height: 30 }, '24', 2, COLOURS.label)).toBe(false);
    expect(count(c, box, [0, 0, 255])).toBeGreaterThan(0);
  });
});

describe('overlay', () => {
  it('upscales a 64×64 image to 512 px, with truth, prediction and error vector where the points are', () => {
    const s = synthesize({ kind: 'hand', n: 1, size: 64, seed: 2 });
    const gt = s.points[0]!, pred = gt.map(([x, y]) => [x + 2, y - 1.5] as Point);
    const o = drawOverlay(s.images[0]!, pred, gt, { legend: false, numbers: false });
    expect([o.width, o.height, o.scaleX, o.scaleY]).toEqual([512, 512, 8, 8]);
    expect(px(o, ...at(o, gt[0]!))).toEqual(COLOURS.gt);
    expect(px(o, ...at(o, pred[0]!))).toEqual(COLOURS.pred);
    const mid = at(o, [(gt[0]![0] + pred[0]![0]) / 2, (gt[0]![1] + pred[0]![1]) / 2]);
    expect(count(o, around(mid, 2), COLOURS.error)).toBeGreaterThan(0);
    // minSize: 0 keeps the image's own size; big images are never shrunk
    expect(drawOverlay(s.images[0]!, pred, gt, { minSize: 0, legend: false }).width).toBe(64);
    expect(drawOverlay(black(900, 600), [[10, 10]], undefined, { legend: false }).width).toBe(900);
  });

  it('draws a legend box with the three swatches, the title and the landmark numbering', () => {
    const img = black(64, 48), gt: Point[] = [[40, 30], [50, 20]], pred: Point[] = [[42, 28], [47, 22]];
    const o = drawOverlay(img, pred, gt, { title: 'MRE 3.2 mm' });
    expect(Math.max(o.width, o.imageHeight)).toBeGreaterThanOrEqual(512);
    const L = o.legend!;
    expect(L).toBeDefined();
    // the corner with no marker: the points are right of centre, so the legend goes left
    expect(L.x + L.width).toBeLessThan(at(o, [40, 30])[0]);
    expect(L.y + L.height).toBeLessThanOrEqual(o.imageHeight);
    expect(count(o, L, COLOURS.gt)).toBeGreaterThan(20);
    expect(count(o, L, COLOURS.pred)).toBeGreaterThan(5);
    expect(count(o, L, COLOURS.error)).toBeGreaterThan(5);
    expect(count(o, L, COLOURS.outside)).toBe(0);
    for (const t of ['MRE 3.2 mm', 'truth', 'prediction', 'error', 'landmark no. (1-2)']) expect(containsText(o, L, t, 2, COLOURS.label), t).toBe(true);
    const bare = drawOverlay(img, pred, gt, { legend: false });
    expect(bare.legend).toBeUndefined();
    expect(count(bare, L, COLOURS.gt)).toBe(0);
  });

  it('writes each landmark number (from 1) next to its prediction', () => {
    const pred: Point[] = Array.from({ length: 12 }, (_, i) => [8 + (i % 4) * 16, 8 + Math.floor(i / 4) * 20]);
    const o = drawOverlay(black(64, 64), pred, undefined, { legend: false });
    pred.forEach((p, i) => expect(containsText(o, around(at(o, p), 40), String(i + 1), 2, COLOURS.label), `number ${i + 1}`).toBe(true));
    expect(containsText(o, around(at(o, pred[0]!), 40), '0', 2, COLOURS.label)).toBe(false);
    const none = drawOverlay(black(64, 64), pred, undefined, { legend: false, numbers: false });
    expect(count(none, { x: 0, y: 0, width: 512, height: 512 }, COLOURS.label)).toBe(0);
  });

  it('flags predictions outside the image on the border and counts them in the legend', () => {
    expect(outsidePoints([[-0.5, 0], [-0.6, 0], [63.5, 63.5], [10, 64], [NaN, 3], [3, Infinity]], 64, 64)).toEqual([1, 3, 4, 5]);
    const gt: Point[] = [[20, 30], [30, 50], [10, 10]], pred: Point[] = [[-8, 30], [30, 75], [11, 11]];
    const o = drawOverlay(black(64, 64), pred, gt, { legendPlacement: 'below' });
    expect(o.outside).toEqual([0, 1]);
    // magenta arrowheads at the left border (y ≈ 30) and the bottom border (x ≈ 30)
    const [, y0] = at(o, [0, 30]), [x1] = at(o, [30, 0]);
    expect(count(o, { x: 0, y: Math.round(y0 - 12), width: 30, height: 24 }, COLOURS.outside)).toBeGreaterThan(20);
    expect(count(o, { x: Math.round(x1 - 12), y: o.imageHeight - 30, width: 24, height: 30 }, COLOURS.outside)).toBeGreaterThan(20);
    // no red cross for them, and the error vector stops at the image's edge
    expect(count(o, around(at(o, [0, 30]), 20), COLOURS.pred)).toBe(0);
    expect(o.height).toBeGreaterThan(o.imageHeight);
    const L = o.legend!;
    expect(L.y).toBeGreaterThanOrEqual(o.imageHeight);
    expect(count(o, { x: L.x + L.width, y: o.imageHeight, width: o.width, height: o.height - o.imageHeight }, COLOURS.error)).toBe(0);
    expect(containsText(o, L, '2 outside the image', 2, COLOURS.label)).toBe(true);
    expect(count(o, L, COLOURS.outside)).toBeGreaterThan(10);
    // their numbers are still written (in the marker's colour)
    expect(containsText(o, around(at(o, [0, 30]), 40), '1', 2, COLOURS.outside)).toBe(true);
    const inside = drawOverlay(black(64, 64), [[11, 11]], [[10, 10]]);
    expect(inside.outside).toEqual([]);
    expect(containsText(inside, inside.legend!, 'outside', 2, COLOURS.label)).toBe(false);
  });

  it('moves the legend under the image when every corner would hide a marker', () => {
    const corners: Point[] = [[2, 2], [61, 2], [2, 61], [61, 61], [32, 32]];
    const o = drawOverlay(black(64, 64), corners, corners);
    expect([o.width, o.imageHeight]).toEqual([512, 512]);
    expect(o.legend!.y).toBeGreaterThanOrEqual(512);
    expect(o.height).toBe(o.legend!.y + o.legend!.height + (o.legend!.y - 512));
    for (const p of corners) expect(px(o, ...at(o, p))).toEqual(COLOURS.pred);
    expect(drawOverlay(black(64, 64), corners, corners, { legendPlacement: 'inside' }).height).toBe(512);
  });
});

describe('heatmap montage', () => {
  const names = ['S', 'N', 'Or', 'Po', 'A', 'B', 'Pog', 'Me', 'Gn', 'Go', 'L1 tip', 'U1 tip', 'UL', 'LL', 'Sn', 'Lip', 'PNS', 'ANS', 'Ar'];
  const pts: Point[] = names.map((_, i) => [8 + ((i * 7) % 48), 8 + ((i * 11) % 48)]);
  const hm = gaussianHeatmaps(pts, 64, 64, 2);

  it('upscales the tiles, labels each with its number and name, and adds a colour bar', () => {
    const m = heatmapMontage(hm, 19, 64, 64, { names });
    const cols = 5, tile = 128; // 64 px tiles doubled to reach 96
    expect(m.width).toBe(cols * (tile + 1) + 1);
    expect(m.width).toBeGreaterThanOrEqual(512);
    const headH = 22, cellH = headH + tile;
    names.forEach((n, i) => {
      const header = { x: 1 + (i % cols) * (tile + 1), y: 1 + Math.floor(i / cols) * (cellH + 1), width: tile, height: headH };
      expect(containsText(m, header, `${i + 1}`, 2, COLOURS.label), `number ${i + 1}`).toBe(true);
      expect(containsText(m, header, n, 2, [200, 200, 200]), n).toBe(true);
      // the peak sits in the tile under the header, at the doubled position
      const [x, y] = pts[i]!;
      const peak = px(m, header.x + (x + 0.5) * 2 - 0.5, header.y + headH + (y + 0.5) * 2 - 0.5);
      expect(peak[0]).toBe(255);
      expect(peak[2]).toBeGreaterThan(200);
    });
    // thin grid: the column between tile 1 and tile 2 is grey
    expect(px(m, 1 + tile, 60)).toEqual([110, 110, 110]);
    // colour bar under the grid: "0", black → white, "max of each tile"
    const gridH = 4 * (cellH + 1) + 1, bar = { x: 0, y: gridH, width: m.width, height: m.height - gridH };
    expect(containsText(m, bar, '0', 2, COLOURS.label)).toBe(true);
    expect(containsText(m, bar, 'max of each tile', 2, COLOURS.label)).toBe(true);
    const row = gridH + 8, reds = Array.from({ length: m.width }, (_, x) => px(m, x, row)[0]!);
    expect(reds.filter((r) => r === 255).length).toBeGreaterThan(100);
    expect(reds.filter((r) => r > 0 && r < 255).length).toBeGreaterThan(30);
  });

  it('cuts long names to the tile, and without labels is a bare upscaled grid', () => {
    const m = heatmapMontage(hm, 19, 64, 64, { names: ['right costophrenic angle', ...names.slice(1)] });
    const header = { x: 0, y: 0, width: 129, height: 22 };
    expect(containsText(m, header, 'right costo', 1, [200, 200, 200])).toBe(true);
    expect(containsText(m, header, 'right costophrenic angle', 1, [200, 200, 200])).toBe(false);
    // one name too long for the larger size: all names one size smaller
    expect(containsText(m, { x: 129, y: 0, width: 129, height: 22 }, 'N', 1, [200, 200, 200])).toBe(true);
    // few tiles: upscaled further until the montage is 512 px wide
    expect(heatmapMontage(hm, 2, 64, 64).width).toBe(2 * 257 + 1);
    const bare = heatmapMontage(hm, 19, 64, 64, 5, 0, { labels: false });
    expect([bare.width, bare.height]).toEqual([5 * 129 + 1, 4 * 129 + 1]);
    expect(count(bare, { x: 0, y: 0, width: bare.width, height: bare.height }, COLOURS.label)).toBeLessThan(200); // only peak centres are white
    expect(heatmapMontage(hm, 19, 64, 64, 5, 0).width).toBe(heatmapMontage(hm, 19, 64, 64, { cols: 5 }).width);
  });
});

describe('PNG files', () => {
  const s = synthesize({ kind: 'hand', n: 1, size: 96, seed: 2 });
  const gt = s.points[0]!;
  const pred = gt.map(([x, y]) => [x + 4, y - 3] as Point);
  it('writes PNGs atomically (no temp files left) that decode to the drawn pixels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-png-'));
    const drawn = writeOverlayPng(join(dir, 'overlay.png'), s.images[0]!, pred, gt, { title: 'MRE 1.0 px' });
    const hm = gaussianHeatmaps(gt, 32, 32, 2);
    writeHeatmapMontagePng(join(dir, 'montage.png'), hm, 37, 32, 32, { names: s.landmarkNames });
    writeHeatmapMontagePng(join(dir, 'positional.png'), hm, 37, 32, 32, 7, 0);
    expect(readdirSync(dir).sort()).toEqual(['montage.png', 'overlay.png', 'positional.png']);
    const o = PNG.sync.read(readFileSync(join(dir, 'overlay.png')));
    expect([o.width, o.height]).toEqual([drawn.width, drawn.height]);
    expect(o.width).toBe(512);
    expect(Buffer.compare(o.data, Buffer.from(drawn.data))).toBe(0);
    const m = PNG.sync.read(readFileSync(join(dir, 'montage.png')));
    const want = heatmapMontage(hm, 37, 32, 32, { names: s.landmarkNames });
    expect([m.width, m.height]).toEqual([want.width, want.height]);
    expect(m.width).toBe(7 * 97 + 1); // 32 px tiles tripled to reach 96
    expect(Buffer.compare(m.data, Buffer.from(want.data))).toBe(0);
  });
});

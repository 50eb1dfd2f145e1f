/** PNG output (Node): RGBA buffers from src/landmarks/draw.ts written atomically (temp file + rename). */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { FileWriteError } from './out_dir';
import { removeStaleTemps, tempPathFor } from './weights_io';
import type { Point } from '../data/types';
import { drawOverlay, greyToRgba, heatmapMontage, type MontageOptions, type OverlayImage, type OverlayOptions, type Rgba } from '../landmarks/draw';

export function encodePng(img: Rgba): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

/**
 * Synchronous twin of weights_io's writeFileAtomic: same temp naming, temp file + rename, stale
 * temps of killed writers removed, a failure (disk full…) names the file. Does not make the folder.
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string): void {
  removeStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new FileWriteError(path, e);
  }
}

/**
 * A JSON document (2-space indent, final newline) written atomically: a reader sees the previous
 * version or this one. Rewritten after each item, it keeps what was done when a run dies (predict).
 */
export function writeJsonAtomicSync(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function writePng(path: string, img: Rgba): void {
  writeFileAtomicSync(path, encodePng(img));
}

export function writeGreyPng(path: string, img: { width: number; height: number; data: ArrayLike<number> }): void {
  writePng(path, greyToRgba(img));
}

/**
 * Image (upscaled to ≥ 512 px on its long side by default) with true points (green), predictions
 * (red, numbered from 1), error vectors (yellow) and a legend; `opts.title` heads the legend (e.g.
 * "MRE 3.2 mm"). Returns what was drawn: `outside` lists the predictions outside the image.
 */
export function writeOverlayPng(path: string, image: { width: number; height: number; data: ArrayLike<number> }, pred?: Point[], gt?: Point[], opts?: OverlayOptions): OverlayImage {
  const img = drawOverlay(image, pred, gt, opts);
  writePng(path, img);
  return img;
}

/**
 * Grid of K heatmaps (K, H, W), each scaled to its own max, labelled by landmark number (and
 * `opts.names`), with a colour bar. Either `(…, cols?, offset?, opts?)` or `(…, opts)`.
 */
export function writeHeatmapMontagePng(path: string, hm: Float32Array, k: number, h: number, w: number, opts?: MontageOptions): void;
export function writeHeatmapMontagePng(path: string, hm: Float32Array, k: number, h: number, w: number, cols?: number, offset?: number, opts?: MontageOptions): void;
export function writeHeatmapMontagePng(path: string, hm: Float32Array, k: number, h: number, w: number, colsOrOpts?: number | MontageOptions, offset?: number, opts?: MontageOptions): void {
  writePng(path, typeof colsOrOpts === 'object' ? heatmapMontage(hm, k, h, w, colsOrOpts) : heatmapMontage(hm, k, h, w, colsOrOpts, offset, opts));
}

/** PNG output (Node): RGBA buffers from src/landmarks/draw.ts written atomically (temp file + rename). */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { PNG } from 'pngjs';
import type { Point } from '../data/types';
import { drawOverlay, greyToRgba, heatmapMontage, type OverlayOptions, type Rgba } from '../landmarks/draw';

export function encodePng(img: Rgba): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

/** Writes bytes to `path` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

export function writePng(path: string, img: Rgba): void {
  writeFileAtomic(path, encodePng(img));
}

export function writeGreyPng(path: string, img: { width: number; height: number; data: ArrayLike<number> }): void {
  writePng(path, greyToRgba(img));
}

/** Image with true points (green), predictions (red) and error vectors (yellow). */
export function writeOverlayPng(path: string, image: { width: number; height: number; data: ArrayLike<number> }, pred?: Point[], gt?: Point[], opts?: OverlayOptions): void {
  writePng(path, drawOverlay(image, pred, gt, opts));
}

/** Grid of K heatmaps (K, H, W), each scaled to its own max. */
export function writeHeatmapMontagePng(path: string, hm: Float32Array, k: number, h: number, w: number, cols?: number, offset = 0): void {
  writePng(path, heatmapMontage(hm, k, h, w, cols, offset));
}

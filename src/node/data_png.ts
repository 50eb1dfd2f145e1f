/** PNG output (Node): RGBA buffers from src/landmarks/draw.ts written atomically (temp file + rename). */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { tempPathFor } from './weights_io';
import type { Point } from '../data/types';
import { drawOverlay, greyToRgba, heatmapMontage, type OverlayOptions, type Rgba } from '../landmarks/draw';

export function encodePng(img: Rgba): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

/** Synchronous twin of weights_io's writeFileAtomic: same temp naming, temp file + rename. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

export function writePng(path: string, img: Rgba): void {
  writeFileAtomicSync(path, encodePng(img));
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

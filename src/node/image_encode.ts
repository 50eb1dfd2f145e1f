/**
 * Encodes the RGBA pictures of src/landmarks/draw.ts (overlays, heatmap montages) as PNG or JPEG
 * for `osteo predict`. libvips through sharp when it is installed (an optional native package:
 * it encodes off the JS thread, several times faster than the JS encoders), else pngjs / jpeg-js,
 * maintained pure-JS encoders that are dependencies anyway. Both give standard files; which one
 * ran is reported (predictions.json's `timing.encoder`).
 */
import { createRequire } from 'node:module';
import jpeg from 'jpeg-js';
import type { Rgba } from '../landmarks/draw';
import { encodePng } from './data_png';

export type PictureFormat = 'png' | 'jpeg';
export const PICTURE_EXT: Record<PictureFormat, string> = { png: 'png', jpeg: 'jpg' };
/** JPEG quality of overlays: coloured marks stay crisp, the file is ~10x smaller than a PNG. */
export const JPEG_QUALITY = 85;

interface SharpLike {
  (input: Buffer, opts: { raw: { width: number; height: number; channels: 4 } }): {
    png(o: { compressionLevel: number }): { toBuffer(): Promise<Buffer> };
    jpeg(o: { quality: number; mozjpeg?: boolean }): { toBuffer(): Promise<Buffer> };
  };
}

let sharpModule: SharpLike | null | undefined;
let jsOnly = false;
/** Use the pure-JS encoders even where sharp is installed (the predict benchmark compares both). */
export function useJsEncoders(on: boolean): void {
  jsOnly = on;
}
function loadSharp(): SharpLike | null {
  if (jsOnly) return null;
  if (sharpModule === undefined) {
    try { sharpModule = createRequire(import.meta.url)('sharp') as SharpLike; } catch { sharpModule = null; }
  }
  return sharpModule;
}

/** Which encoder encodePicture uses here. */
export const pictureEncoder = (prefer: 'auto' | 'js' = 'auto'): 'sharp' | 'js' => (prefer === 'auto' && loadSharp() ? 'sharp' : 'js');

/** PNG or JPEG bytes of an RGBA picture (`encoder: 'js'` forces the pure-JS encoders). */
export async function encodePicture(img: Rgba, format: PictureFormat, encoder: 'auto' | 'js' = 'auto'): Promise<Uint8Array> {
  const sharp = encoder === 'auto' ? loadSharp() : null;
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  if (sharp) {
    const s = sharp(raw, { raw: { width: img.width, height: img.height, channels: 4 } });
    return format === 'png' ? s.png({ compressionLevel: 6 }).toBuffer() : s.jpeg({ quality: JPEG_QUALITY }).toBuffer();
  }
  if (format === 'png') return encodePng(img);
  return jpeg.encode({ data: raw, width: img.width, height: img.height }, JPEG_QUALITY).data;
}

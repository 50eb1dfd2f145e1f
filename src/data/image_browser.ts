/**
 * Browser image decoding: any format the browser decodes (PNG, JPEG, BMP, WebP…) through
 * createImageBitmap + OffscreenCanvas, to the same grey image as the Node decoder (Rec. 601 luma
 * of 8-bit RGB; 16-bit PNGs arrive as 8-bit here, since canvases are 8-bit).
 */
import { DataError, type GreyImage } from './types';

export async function decodeImageBrowser(source: Blob | ArrayBuffer | Uint8Array, name = 'image'): Promise<GreyImage> {
  const blob = source instanceof Blob ? source : new Blob([source instanceof Uint8Array ? source.slice() : source]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DataError(name, undefined, `cannot decode image: ${(e as Error).message}`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new DataError(name, undefined, 'no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return { width, height, data, bitDepth: 8 };
}

export async function fetchImage(url: string): Promise<GreyImage> {
  const res = await fetch(url);
  if (!res.ok) throw new DataError(url, undefined, `HTTP ${res.status}`);
  return decodeImageBrowser(await res.blob(), url);
}

/**
 * Browser image decoding: any format the browser decodes (PNG, JPEG, BMP, WebP…) through
 * createImageBitmap + OffscreenCanvas, to the same grey image as the Node decoder (Rec. 601 luma
 * of 8-bit RGB; non-interlaced 16-bit PNGs are decoded here, since canvases are 8-bit). DICOM, TIFF and
 * MetaImage, which browsers do not decode, are sniffed by their magic numbers and decoded by the
 * host-neutral decoders of src/data, loaded on first use (a dynamic import).
 */
import { SNIFF_BYTES, sniffFormat } from './formats';
import { checkImageSize } from './image_limits';
import { decodePng16, isPng16 } from './png16';
import { DataError, type GreyImage } from './types';

/** A PNG's size from its IHDR (the browser decodes the rest): checked before the browser decodes. */
function pngHeaderSize(b: Uint8Array): { width: number; height: number } | undefined {
  if (b.length < 24 || b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/**
 * Decodes PNG / JPEG / BMP / WebP (by the browser) or DICOM / TIFF / MetaImage (by osteo's
 * decoders, with the file's pixel spacing) bytes or a Blob to grey pixels (size-checked before decoding).
 */
export async function decodeImageBrowser(source: Blob | ArrayBuffer | Uint8Array, name = 'image'): Promise<GreyImage> {
  const head = source instanceof Blob ? new Uint8Array(await source.slice(0, SNIFF_BYTES).arrayBuffer()) : new Uint8Array(source instanceof Uint8Array ? source.subarray(0, SNIFF_BYTES) : source.slice(0, SNIFF_BYTES));
  const format = sniffFormat(head);
  if (format === 'dicom' || format === 'tiff' || format === 'metaimage') {
    const bytes = source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : source instanceof Uint8Array ? source : new Uint8Array(source);
    const { decodeMedical } = await import('./decode_medical');
    return decodeMedical(bytes, name, format);
  }
  if (isPng16(head)) {
    // a canvas would keep only the high byte of each sample
    const bytes = source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : source instanceof Uint8Array ? source : new Uint8Array(source);
    return decodePng16(bytes, name);
  }
  const png = pngHeaderSize(head);
  if (png) checkImageSize(png.width, png.height, name, 'PNG');
  const blob = source instanceof Blob ? source : new Blob([source instanceof Uint8Array ? source.slice() : source]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DataError(name, undefined, `cannot decode image: ${(e as Error).message}`);
  }
  const { width, height } = bitmap;
  try { checkImageSize(width, height, name, 'image'); } catch (e) { bitmap.close(); throw e; }
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

/** Fetches an image URL and decodes it to grey pixels. */
export async function fetchImage(url: string): Promise<GreyImage> {
  const res = await fetch(url);
  if (!res.ok) throw new DataError(url, undefined, `HTTP ${res.status}`);
  return decodeImageBrowser(await res.blob(), url);
}

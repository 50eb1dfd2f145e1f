/** Images as the public API takes them, on any host: grey pixels in a typed array (browser-safe). */
import { checkImageSize } from './image_limits';
import { DataError, type GreyImage } from './types';

/**
 * Grey pixels, row-major, one value per pixel: 8-bit (`Uint8Array`), 16-bit (`Uint16Array`,
 * e.g. DICOM or 16-bit PNG) or any range (`Float32Array`). Intensities are min-max scaled before
 * the model sees them, so the range does not matter.
 */
export interface GreyPixels {
  data: Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;
  width: number;
  height: number;
}

/** True when `x` looks like {@link GreyPixels} (an object with data, width and height). */
export function isGreyPixels(x: unknown): x is GreyPixels {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Partial<GreyPixels>;
  return typeof o.width === 'number' && typeof o.height === 'number' && ArrayBuffer.isView(o.data);
}

/** GreyPixels as the engine's grey image; a DataError names `name` when the sizes disagree. */
export function greyImage(p: GreyPixels | GreyImage, name = 'image'): GreyImage {
  checkImageSize(p.width, p.height, name, 'image');
  if (p.data.length !== p.width * p.height) {
    throw new DataError(name, undefined, `${p.width}x${p.height} grey pixels need ${p.width * p.height} values, got ${p.data.length} (RGBA data? pass ImageData in the browser, or one value per pixel)`);
  }
  const bitDepth = 'bitDepth' in p ? p.bitDepth : p.data instanceof Uint16Array ? 16 : p.data instanceof Float32Array ? 32 : 8;
  return { width: p.width, height: p.height, data: p.data instanceof Float32Array ? p.data : Float32Array.from(p.data), bitDepth };
}

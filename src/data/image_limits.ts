/**
 * The largest image any decoder accepts (browser-safe). A decoder reads the width and height from
 * the header and refuses an image past the limit before it allocates anything for the pixels: a
 * PNG of 875 KB can claim 30000 x 30000 (a decompression bomb, ~7 GB decoded). X-rays are at
 * most ~4000 x 5000 (20 megapixels); the default leaves five times that.
 */
import { DataError } from './types';

/** Default limit in pixels (width x height). */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;
/** Environment variable that raises (or lowers) the limit, in pixels. */
export const MAX_IMAGE_PIXELS_ENV = 'OSTEO_MAX_IMAGE_PIXELS';

/** The limit in force: OSTEO_MAX_IMAGE_PIXELS when set to a positive integer, else the default. */
export function maxImagePixels(): number {
  const env = typeof process !== 'undefined' ? process.env?.[MAX_IMAGE_PIXELS_ENV] : undefined;
  const n = env !== undefined ? Number(env) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_IMAGE_PIXELS;
}

/** Throws a DataError naming the file, the size, the limit and how to raise it when w x h is not a sane image size. */
export function checkImageSize(width: number, height: number, name: string, format: string): void {
  if (!(Number.isSafeInteger(width) && Number.isSafeInteger(height) && width > 0 && height > 0)) {
    throw new DataError(name, undefined, `corrupt ${format}: image size ${width}x${height}`);
  }
  const limit = maxImagePixels();
  if (width * height > limit) {
    throw new DataError(
      name, undefined,
      `${format} header says ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels), past the limit of ` +
        `${(limit / 1e6).toFixed(limit % 1e6 ? 1 : 0)} megapixels; refused before decoding (set ${MAX_IMAGE_PIXELS_ENV}=<pixels> to raise it)`,
    );
  }
}

/**
 * Opened X-rays, in the engine worker: the library's browser decoder turns a file into grey pixels
 * (the same pixels the model sees), and `toDisplay` turns those into something to look at, a
 * windowed 8-bit image the page draws as it comes (an ImageBitmap): the page never loops over an
 * X-ray's pixels.
 */
import { decodeImage, type GreyImage } from '../browser';

export async function decodeFile(file: Blob, name: string): Promise<GreyImage> {
  return decodeImage(file, name);
}

/** Pixel spacing in mm when the decoder read one from the file (DICOM, MetaImage, TIFF); undefined otherwise. */
export function spacingOf(image: GreyImage): { x: number; y: number } | undefined {
  const s = image.spacing;
  return s && s.x > 0 && s.y > 0 && Number.isFinite(s.x) && Number.isFinite(s.y) ? { x: s.x, y: s.y } : undefined;
}

/**
 * Grey pixels → RGBA: the file's own display window when it has one (DICOM VOI centre / width),
 * else the image's full range stretched over 0–255.
 */
export function toDisplay(image: GreyImage): ImageData {
  const { data, width, height } = image;
  let lo = Infinity, hi = -Infinity;
  if (image.window && image.window.width > 0) {
    lo = image.window.center - image.window.width / 2;
    hi = image.window.center + image.window.width / 2;
  } else for (let i = 0; i < data.length; i++) { const v = data[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const out = new ImageData(width, height);
  const px = out.data;
  for (let i = 0; i < data.length; i++) {
    const g = (data[i]! - lo) * scale;
    px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = g;
    px[4 * i + 3] = 255;
  }
  return out;
}

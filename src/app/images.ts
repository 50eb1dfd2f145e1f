/**
 * Opened X-rays: the library's browser decoder turns a file into grey pixels (the same pixels the
 * model sees; it decodes with createImageBitmap, off the main thread), and this module turns those
 * into something to look at: a min-max windowed RGBA image and a small thumbnail. The loop over
 * pixels yields to the page every few rows' worth, so a large X-ray never freezes it.
 */
import { decodeImage, type GreyImage } from '../browser';

/** Lets the page paint and handle input between chunks of work. */
export const yieldToPage = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

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
export async function toDisplay(image: GreyImage): Promise<ImageData> {
  const { data, width, height } = image;
  let lo = Infinity, hi = -Infinity;
  if (image.window && image.window.width > 0) {
    lo = image.window.center - image.window.width / 2;
    hi = image.window.center + image.window.width / 2;
  } else for (let i = 0; i < data.length; i++) { const v = data[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const out = new ImageData(width, height);
  const px = out.data;
  const chunk = 1 << 20;
  for (let start = 0; start < data.length; start += chunk) {
    const end = Math.min(data.length, start + chunk);
    for (let i = start; i < end; i++) {
      const g = (data[i]! - lo) * scale;
      px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = g;
      px[4 * i + 3] = 255;
    }
    if (end < data.length) await yieldToPage();
  }
  return out;
}

/** A thumbnail (longer side `side` px) as a data URL for the strip. */
export async function thumbnail(display: ImageData, side = 96): Promise<string> {
  const bitmap = await createImageBitmap(display);
  const s = side / Math.max(display.width, display.height);
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(display.width * s));
  c.height = Math.max(1, Math.round(display.height * s));
  c.getContext('2d')!.drawImage(bitmap, 0, 0, c.width, c.height);
  bitmap.close();
  return c.toDataURL('image/png');
}

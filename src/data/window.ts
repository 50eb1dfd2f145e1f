/**
 * The display window of a grey image (DICOM VOI window centre/width, PS3.3 C.11.2.1.2): values
 * below centre − width/2 show black, above centre + width/2 white. Drawing code min-max scales,
 * so a copy clamped to the window displays as a DICOM viewer would show the file by default.
 */
import type { GreyImage } from './types';

/** `img` clamped to its window (the image itself when it has none). */
export function windowed(img: GreyImage): GreyImage {
  const w = img.window;
  if (!w || !(w.width > 0)) return img;
  const lo = w.center - 0.5 - (w.width - 1) / 2, hi = w.center - 0.5 + (w.width - 1) / 2;
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) { const v = img.data[i]!; data[i] = v < lo ? lo : v > hi ? hi : v; }
  return { ...img, data };
}

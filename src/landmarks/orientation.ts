/**
 * Image orientations (browser-safe): the 8 flips and quarter turns of the square's symmetry group
 * (dihedral group D4), each with and without intensity inversion (a negative), 16 in all; pixel-
 * exact transforms of a GreyImage and the maps of points between the two frames.
 *
 * Pixel centres are at integer coordinates: mirroring x in an image W wide is x' = W − 1 − x.
 * `rot90` turns the picture a quarter clockwise (the top row becomes the right column).
 * An orientation names what is done to the file's image to get the image the model sees; a point
 * found there comes back to the file's pixels through `toFile`.
 *
 * The set is closed under composition, so for an image transformed by any member, one member
 * brings it back exactly: whatever a file's orientation, the candidate images the guard compares
 * (src/train/guards.ts) are the same 16 images, and its choice does not depend on how the file was
 * flipped.
 */
import type { GreyImage, Point } from '../data/types';

/** A quarter-turn count (clockwise) after an optional left-right mirror, and an optional inversion. */
export interface Orientation {
  /** Mirror left-right first. */
  mirror: boolean;
  /** Then turn clockwise by 90° this many times. */
  turns: 0 | 1 | 2 | 3;
  /** Invert intensities (a negative). */
  invert: boolean;
}

export const IDENTITY: Orientation = { mirror: false, turns: 0, invert: false };

/** Every orientation (identity first). */
export const ORIENTATIONS: readonly Orientation[] = [false, true].flatMap((invert) =>
  [false, true].flatMap((mirror) => ([0, 1, 2, 3] as const).map((turns) => ({ mirror, turns, invert }))));

/** A readable name: "identity", "mirror", "rot90", "mirror+rot270+inverted", … */
export function orientationName(o: Orientation): string {
  const parts = [...(o.mirror ? ['mirror'] : []), ...(o.turns ? [`rot${o.turns * 90}`] : []), ...(o.invert ? ['inverted'] : [])];
  return parts.length ? parts.join('+') : 'identity';
}

/** Parses a name of {@link orientationName} (also "rot180+mirror" order-free); undefined when it is none. */
export function parseOrientation(name: string): Orientation | undefined {
  if (name === 'identity') return { ...IDENTITY };
  const o: Orientation = { mirror: false, turns: 0, invert: false };
  for (const part of name.split('+')) {
    if (part === 'mirror' && !o.mirror) o.mirror = true;
    else if (part === 'inverted' && !o.invert) o.invert = true;
    else if (/^rot(90|180|270)$/.test(part) && !o.turns) o.turns = (Number(part.slice(3)) / 90) as 1 | 2 | 3;
    else return undefined;
  }
  return o;
}

export const isIdentity = (o: Orientation): boolean => !o.mirror && !o.turns && !o.invert;

/** Size of the image after the orientation. */
export const orientedSize = (o: Orientation, w: number, h: number): { width: number; height: number } => (o.turns % 2 ? { width: h, height: w } : { width: w, height: h });

/** A file point → the oriented image's point (file image w × h). */
export function toOriented(o: Orientation, w: number, h: number, [x, y]: Point): Point {
  let px = o.mirror ? w - 1 - x : x, py = y;
  let cw = w, ch = h;
  for (let t = 0; t < o.turns; t++) {
    // clockwise quarter turn of a cw × ch image: (x, y) → (ch − 1 − y, x), size ch × cw
    [px, py] = [ch - 1 - py, px];
    [cw, ch] = [ch, cw];
  }
  return [px, py];
}

/** An oriented image's point → the file's point (file image w × h). */
export function toFile(o: Orientation, w: number, h: number, [x, y]: Point): Point {
  let px = x, py = y;
  // undo the turns (anticlockwise): in a cw × ch image that came from ch × cw, (x, y) → (y, cw' − 1 − x) with cw' the
  // source height
  let { width: cw, height: ch } = orientedSize(o, w, h);
  for (let t = 0; t < o.turns; t++) {
    // the source of this turn was ch × cw (width ch); (sx, sy) → (x, y) = (cw − 1 − sy, sx)
    [px, py] = [py, cw - 1 - px];
    [cw, ch] = [ch, cw];
  }
  if (o.mirror) px = w - 1 - px;
  return [px, py];
}

/** The image as the orientation makes it (a new image; spacing follows the axes). */
export function orientImage(o: Orientation, im: GreyImage): GreyImage {
  if (isIdentity(o)) return im;
  const { width: W, height: H } = orientedSize(o, im.width, im.height);
  const out = new Float32Array(W * H);
  let lo = Infinity, hi = -Infinity;
  if (o.invert) for (const v of im.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  for (let y = 0; y < im.height; y++) {
    for (let x = 0; x < im.width; x++) {
      const [u, v] = toOriented(o, im.width, im.height, [x, y]);
      const val = im.data[y * im.width + x]!;
      out[v * W + u] = o.invert ? lo + hi - val : val;
    }
  }
  const { window: _w, ...rest } = im;
  const spacing = im.spacing && o.turns % 2 ? { ...im.spacing, x: im.spacing.y, y: im.spacing.x } : im.spacing;
  return { ...rest, width: W, height: H, data: out, ...(spacing ? { spacing } : {}) };
}

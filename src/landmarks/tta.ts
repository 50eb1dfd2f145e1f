/**
 * Inference-time levers of the refinement stage (browser-safe): more passes and test-time
 * augmentation of the crops that respects anatomy.
 *
 * A view moves a landmark's crop by (dx, dy) crop pixels and zooms it by `zoom` about its centre;
 * the refiner's point in that crop is mapped back to the image through the crop's own inverse
 * affine (exact: shifting the crop does not shift the answer), and the views' points are averaged.
 * No flips: a cephalogram is not left–right symmetric, and a mirrored crop is a crop the refiner
 * never saw. Zooms stay inside the scale range the shipped refiners were trained with (0.9–1.1).
 */
import type { Point } from '../data/types';

/** Test-time augmentation of the refinement crops. */
export type TtaMode = 'none' | 'shifts' | 'shifts-scales';

/** The TTA modes, in the order the CLI lists them. */
export const TTA_MODES: readonly TtaMode[] = ['none', 'shifts', 'shifts-scales'];

/** Inference-time options of a two-stage model's refinement; the defaults are the trained behaviour. */
export interface RefineOptions {
  /**
   * Refinement passes (default 1): 2 crops again around each refined point and refines once more
   * (a point the refiner is not confident of keeps its previous position, as in the first pass).
   */
  passes?: number;
  /**
   * Test-time augmentation of the crops (default 'none'): 'shifts' refines 5 crops per landmark
   * (the crop and 4 diagonal shifts of ±`shift` crop pixels) and averages their points mapped
   * back to the image; 'shifts-scales' adds 2 zooms (0.9, 1.1) about the point.
   */
  tta?: TtaMode;
  /** Shift of the 'shifts' views in crop pixels (default 2). */
  shift?: number;
}

/** The defaults: one pass, no augmentation. */
export const REFINE_OPTION_DEFAULTS: Required<RefineOptions> = { passes: 1, tta: 'none', shift: 2 };

/** One view of a crop: its centre moved by (dx, dy) crop pixels, zoomed by `zoom` about it. */
export interface CropView {
  dx: number;
  dy: number;
  zoom: number;
}

/** The views of a TTA mode (the plain crop first). */
export function ttaViews(mode: TtaMode = 'none', shift = REFINE_OPTION_DEFAULTS.shift): CropView[] {
  const views: CropView[] = [{ dx: 0, dy: 0, zoom: 1 }];
  if (mode === 'none') return views;
  for (const [sx, sy] of [[1, 1], [1, -1], [-1, 1], [-1, -1]] as const) views.push({ dx: sx * shift, dy: sy * shift, zoom: 1 });
  if (mode === 'shifts-scales') views.push({ dx: 0, dy: 0, zoom: 0.9 }, { dx: 0, dy: 0, zoom: 1.1 });
  return views;
}

/** Checks refine options: passes a positive integer, a known TTA mode, a finite shift ≥ 0. */
export function checkRefineOptions(o: RefineOptions): Required<RefineOptions> {
  const r = { ...REFINE_OPTION_DEFAULTS, ...o };
  if (!Number.isInteger(r.passes) || r.passes < 1) throw new RangeError(`refine passes must be an integer ≥ 1; got ${r.passes}`);
  if (!TTA_MODES.includes(r.tta)) throw new RangeError(`tta must be one of ${TTA_MODES.join(', ')}; got '${r.tta}'`);
  if (!Number.isFinite(r.shift) || r.shift < 0) throw new RangeError(`tta shift must be a finite number ≥ 0 (crop pixels); got ${r.shift}`);
  return r;
}

/** The mean of points (the combined answer of a landmark's views). */
export function meanPoint(points: readonly Point[]): Point {
  let x = 0, y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}

/** A short label of the options ("1 pass", "2 passes + TTA shifts ±2 px"). */
export function refineOptionsLabel(o: RefineOptions): string {
  const r = { ...REFINE_OPTION_DEFAULTS, ...o };
  return `${r.passes} pass${r.passes === 1 ? '' : 'es'}${r.tta === 'none' ? '' : ` + TTA ${r.tta} ±${r.shift} px`}`;
}

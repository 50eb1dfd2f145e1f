/**
 * A landmark's error split into a systematic offset and a spread (host-neutral). At a second site
 * much of the error can be the same shift on every image — another annotation convention for the
 * landmark, or another field of view — rather than scatter: the median signed offset (dx, dy) over
 * the images is that shift, and the mean distance left after removing it is the spread. A few
 * annotated images of the site estimate the offset (its error shrinks as spread / √n), so a large
 * offset with a small spread is cheap to fix; a large spread is not.
 */
import type { Point } from '../data/types';
import { median } from '../util/stats';

export interface LandmarkOffset {
  landmark: number;
  name: string;
  /** Median signed offset prediction − truth, in the unit. */
  dx: number;
  dy: number;
  /** Its length. */
  offset: number;
  /** Mean radial error, and after subtracting the offset. */
  mre: number;
  spread: number;
}

export interface OffsetSummary {
  unit: 'mm' | 'px';
  perLandmark: LandmarkOffset[];
  /** Mean over landmarks of the MRE, and of the spread (the MRE once every offset is removed). */
  mre: number;
  spread: number;
  /** Share of the MRE that removing the offsets takes away, in [0, 1]. */
  systematicShare: number;
}

/**
 * Offsets per landmark of `predicted` against `truth` (original pixels), scaled by `mmPerPixel` per image when given.
 */
export function landmarkOffsets(predicted: readonly Point[][], truth: readonly Point[][], names: readonly string[], mmPerPixel?: readonly (number | undefined)[]): OffsetSummary {
  const k = truth[0]?.length ?? 0;
  const mm = mmPerPixel !== undefined && mmPerPixel.length === truth.length && mmPerPixel.every((v) => v !== undefined);
  const s = (i: number) => (mm ? mmPerPixel![i]! : 1);
  const perLandmark: LandmarkOffset[] = [];
  for (let j = 0; j < k; j++) {
    const d = truth.map((t, i) => [(predicted[i]![j]![0] - t[j]![0]) * s(i), (predicted[i]![j]![1] - t[j]![1]) * s(i)] as const);
    const dx = median(d.map((v) => v[0])), dy = median(d.map((v) => v[1]));
    const mre = d.reduce((a, v) => a + Math.hypot(v[0], v[1]), 0) / d.length;
    const spread = d.reduce((a, v) => a + Math.hypot(v[0] - dx, v[1] - dy), 0) / d.length;
    perLandmark.push({ landmark: j + 1, name: names[j] ?? `landmark ${j + 1}`, dx, dy, offset: Math.hypot(dx, dy), mre, spread });
  }
  const mre = perLandmark.reduce((a, l) => a + l.mre, 0) / Math.max(1, k);
  const spread = perLandmark.reduce((a, l) => a + l.spread, 0) / Math.max(1, k);
  return { unit: mm ? 'mm' : 'px', perLandmark, mre, spread, systematicShare: mre > 0 ? Math.max(0, (mre - spread) / mre) : 0 };
}

/**
 * Guards against silent failures at prediction time (host-neutral; docs/guards.md says what each
 * flag means). They wrap the coarse → refine pipeline of a LandmarkTrainer:
 *
 * 1. Orientation. When the coarse stage looks unsure on the image as given (its mean log peak is
 *    below what calibration saw on every validation image, or the points do not fit the shape
 *    model), the coarse stage runs on all 16 orientations (src/landmarks/orientation.ts: flips,
 *    quarter turns, negative) and the one it is surest of, among those whose points fit the shape
 *    model, is used when it beats the image as given by `margin`; its points are mapped back to the
 *    file's pixels and the report names it. None convincing: every point is flagged.
 * 2. Shape consistency. The coarse points are fitted to the shape model (a robust similarity fit,
 *    src/landmarks/shape_model.ts); a landmark whose z exceeds the limit is re-decoded from the next
 *    local maximum of its heatmap that fits ("redecoded"); the final points are checked again and
 *    those still off are flagged "implausible".
 * 3. Calibrated confidence. Each point's expected error comes from its peak (src/landmarks/
 *    calibration.ts), in pixels of the file (and mm by the host when the file has a spacing); a
 *    point expected to be off by more than `flagAbove` is flagged "low-confidence".
 * A model without calibration (an older file) predicts as before; the guards that need it are
 * skipped and the report says so.
 */
import type { GreyImage, Point } from '../data/types';
import { expectedError, type ErrorCalibration } from '../landmarks/calibration';
import { decodeAt, decodeChannel } from '../landmarks/decode';
import { applyAffine, downsampleArea, preprocess, type Affine } from '../landmarks/preprocess';
import { IDENTITY, isIdentity, orientationName, orientImage, ORIENTATIONS, parseOrientation, toFile, type Orientation } from '../landmarks/orientation';
import { fitShape, landmarkZ, type ShapeFit, type ShapeModel } from '../landmarks/shape_model';
import type { LandmarkTrainer } from './trainer';

/** Which peak the calibration scores a point by: the coarse stage's, the refinement's, or the sum of their logs. */
export type CalibrationScore = 'coarse' | 'refined' | 'both';

/** What a model file carries for the guards (checkpoint metadata `osteo_guards`). */
export interface GuardModel {
  version: 1;
  /** Shape model of the training annotations; a landmark with z above `zLimit` is implausible. */
  shape?: ShapeModel & { zLimit: number };
  /** Peak → expected error, errors as fractions of the image's longer side. */
  calibration?: ErrorCalibration & {
    score: CalibrationScore;
    /** Unit of `flagAbove` and of the calibration data's errors. */
    unit: 'mm' | 'px';
    /** The calibration images' longer side in `unit` (median): converts fractions to `unit`. */
    unitPerLongerSide: number;
    /** Default threshold: a point whose expected error exceeds it (in `unit`) is flagged. */
    flagAbove: number;
  };
  /**
   * Orientation check: an image whose mean log coarse peak is below `unsureBelow` is looked at in every orientation.
   */
  orientation?: { unsureBelow: number; margin: number; validation: { min: number; median: number; n: number } };
  /** Where the guards were learnt (data, split, counts). */
  provenance?: Record<string, unknown>;
}

/** How prediction uses the guards. */
export interface GuardOptions {
  /**
   * 'auto' (default): try the other orientations when the model looks unsure; 'always': always
   * pick the orientation the model is surest of; 'off': take the image as given; or a name
   * ("mirror", "rot90", "inverted", "mirror+rot180", …): the file is known to be in that
   * orientation.
   */
  orientation?: 'auto' | 'always' | 'off' | string;
  /** Shape check and re-decoding (default true when the model has a shape model). */
  shape?: boolean;
  /** Flag points whose expected error exceeds this, in the calibration's unit (default: the model's `flagAbove`). */
  flagAbove?: number;
}

/** Flags a point can carry (docs/guards.md). */
export type PointFlag = 'low-confidence' | 'implausible' | 'redecoded' | 'orientation-unsure';

/** What the guards say about one image. */
export interface GuardReport {
  /** The orientation the points were found in (orientationName; "identity" for the image as given). */
  orientation: string;
  /** Per landmark, in the given image's pixels (absent without calibration). */
  expectedError?: number[];
  /** Per landmark, in the calibration's unit (absent without calibration). */
  expectedErrorUnit?: number[];
  /** Per landmark. */
  flags: PointFlag[][];
  /** Per landmark: the shape-model z of the final point (absent without a shape model). */
  shapeZ?: number[];
  /** The coarse stage's peaks in the orientation used. */
  coarseConfidence: number[];
  /** Sentences for the user (orientation changed, guards skipped, …). */
  warnings: string[];
}

/** Counts over a run (eval's summary). */
export interface GuardTally {
  images: number;
  points: number;
  /** Images predicted in another orientation than given. */
  orientationChanged: number;
  /** Images for which no orientation was convincing. */
  orientationUnsure: number;
  /** Points with any of low-confidence, implausible, orientation-unsure. */
  flaggedPoints: number;
  lowConfidence: number;
  implausible: number;
  redecoded: number;
}

export const emptyTally = (): GuardTally => ({ images: 0, points: 0, orientationChanged: 0, orientationUnsure: 0, flaggedPoints: 0, lowConfidence: 0, implausible: 0, redecoded: 0 });

/** Whether a flag marks a point as not to be trusted ('redecoded' alone is information). */
export const isWarningFlag = (f: PointFlag): boolean => f !== 'redecoded';

/** The coarse stage on one image: points in the image's pixels, peaks, heatmaps and the model → image map. */
interface CoarseView {
  image: GreyImage;
  orientation: Orientation;
  points: Point[];
  confidence: number[];
  heatmaps: Float32Array;
  toImage: Affine;
  /** Mean log peak. */
  score: number;
  fit?: ShapeFit;
  implausible: number;
}

/** The robust shape fit leaves out landmarks beyond the implausibility limit (3 while it is being learnt). */
const robustCut = (zLimit: number): number => (Number.isFinite(zLimit) ? zLimit : 3);

const meanLog = (c: readonly number[]): number => c.reduce((a, v) => a + Math.log(Math.max(v, 1e-12)), 0) / Math.max(1, c.length);

/** Local maxima of one heatmap channel (3 × 3 neighbourhood), highest first, at most `max`. */
export function localMaxima(hm: Float32Array, base: number, w: number, h: number, max: number): { x: number; y: number; value: number }[] {
  const out: { x: number; y: number; value: number }[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = hm[base + y * w + x]!;
      let top = true;
      for (let dy = -1; dy <= 1 && top; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (!dx && !dy) continue;
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const u = hm[base + yy * w + xx]!;
          // ties: the first in raster order is the maximum
          if (u > v || (u === v && yy * w + xx < y * w + x)) { top = false; break; }
        }
      }
      if (top) out.push({ x, y, value: v });
    }
  }
  return out.sort((a, b) => b.value - a.value).slice(0, max);
}

/** Runs a trainer's coarse network on images; heatmaps and maps kept for re-decoding. */
async function coarseViews(trainer: LandmarkTrainer, images: { image: GreyImage; orientation: Orientation }[], batch: number): Promise<CoarseView[]> {
  const { size, mean, std, decode } = trainer.options;
  const k = trainer.model.config.classes;
  const plane = size * size;
  const out: CoarseView[] = [];
  for (let s = 0; s < images.length; s += batch) {
    const chunk = images.slice(s, s + batch);
    const samples = chunk.map((c) => preprocess(c.image, undefined, { size, mean, std, heatmaps: false }));
    const input = new Float32Array(chunk.length * plane);
    samples.forEach((smp, i) => input.set(smp.input, i * plane));
    const hm = await trainer.forward(input, chunk.length);
    chunk.forEach((c, i) => {
      const heatmaps = hm.slice(i * k * plane, (i + 1) * k * plane);
      const points: Point[] = [], confidence: number[] = [];
      for (let j = 0; j < k; j++) {
        const r = decodeChannel(heatmaps, j * plane, size, size, decode);
        points.push(applyAffine(samples[i]!.toOriginal, r.point));
        confidence.push(r.confidence);
      }
      out.push({ image: c.image, orientation: c.orientation, points, confidence, heatmaps, toImage: samples[i]!.toOriginal, score: meanLog(confidence), implausible: 0 });
    });
  }
  return out;
}

/**
 * The image the orientation search turns and flips: an integer area-downsample whose longer side stays at least twice
 * the coarse input (the coarse stage resamples it to `size` anyway). Turning a full cephalogram 16 times in script took
 * about 2 s of the search's cost per image; the reduced copy makes it a few milliseconds.
 */
export function searchCopy(image: GreyImage, size: number): GreyImage {
  const f = Math.floor(Math.max(image.width, image.height) / (2 * size));
  if (f < 2) return image;
  const d = downsampleArea(image.data, image.width, image.height, f);
  return { ...image, data: d.data, width: d.width, height: d.height };
}

/** Predicts with guards; implements the trainer's `guard` hook. */
export class PredictionGuard {
  /** Counts since creation (or the last `resetTally`). */
  tally: GuardTally = emptyTally();

  constructor(
    readonly model: GuardModel | undefined,
    readonly options: GuardOptions = {},
  ) {
    const o = options.orientation;
    if (o !== undefined && !['auto', 'always', 'off'].includes(o) && !parseOrientation(o)) {
      throw new RangeError(`orientation must be auto, always, off or an orientation such as mirror, rot90, rot180, rot270, inverted, mirror+rot90; got "${o}"`);
    }
    if (options.flagAbove !== undefined && !(options.flagAbove > 0)) throw new RangeError(`flagAbove must be > 0, got ${options.flagAbove}`);
  }

  /** Starts the counts again (e.g. between the evaluated set and a reference set). */
  resetTally(): void {
    this.tally = emptyTally();
  }

  private get useShape(): boolean {
    return this.options.shape !== false && !!this.model?.shape;
  }

  private check(view: CoarseView): void {
    const sm = this.model?.shape;
    if (!this.useShape || !sm) return;
    view.fit = fitShape(sm, view.points, robustCut(sm.zLimit));
    view.implausible = view.fit.z.filter((z) => z > sm.zLimit).length;
  }

  /** Whether a view's points fit the shape model well enough to be the head. */
  private plausible(view: CoarseView): boolean {
    return !view.fit || view.implausible <= Math.floor(view.points.length / 4);
  }

  /** Points, peaks and reports for images (points in each image's own pixels). */
  async predict(trainer: LandmarkTrainer, images: GreyImage[], batch: number, keepHeatmaps: number): Promise<{ points: Point[][]; heatmaps: Float32Array[]; confidence: number[][]; guarded: GuardReport[] }> {
    const mode = this.options.orientation ?? 'auto';
    const forced = mode === 'auto' || mode === 'always' || mode === 'off' ? undefined : parseOrientation(mode)!;
    const given = images.map((im) => ({ image: forced ? orientImage(forced, im) : im, orientation: forced ?? IDENTITY }));
    const first = await coarseViews(trainer, given, batch);
    const points: Point[][] = [], heatmaps: Float32Array[] = [], confidence: number[][] = [], guarded: GuardReport[] = [];
    for (let i = 0; i < images.length; i++) {
      const warnings: string[] = [];
      let view = first[i]!;
      this.check(view);
      let unsureImage = false;
      const orient = this.model?.orientation;
      if (!forced && mode !== 'off') {
        const lowPeaks = orient ? view.score < orient.unsureBelow : false;
        const offShape = view.fit ? !this.plausible(view) : false;
        if (mode === 'auto' && !orient && !this.model?.shape) warnings.push('orientation check skipped: the model carries no calibration (run `osteo calibrate`)');
        if (mode === 'always' || lowPeaks || offShape) {
          // the 16 candidates on a reduced copy, compared with the copy as given (the same resampling for all)
          const small = searchCopy(images[i]!, trainer.options.size);
          const candidates = await coarseViews(trainer, ORIENTATIONS.map((o) => ({ image: orientImage(o, small), orientation: o })), batch);
          for (const c of candidates) this.check(c);
          const pool = candidates.filter((c) => this.plausible(c));
          const best = (pool.length ? pool : candidates).reduce((a, b) => (b.score > a.score ? b : a));
          const asGiven = candidates.find((c) => isIdentity(c.orientation))!;
          const margin = orient?.margin ?? 0;
          if (!isIdentity(best.orientation) && (mode === 'always' || best.score > asGiven.score + margin || (offShape && this.plausible(best)))) {
            warnings.push(`the image looks ${orientationName(best.orientation)} relative to the training images (mean coarse peak ${Math.exp(best.score).toPrecision(3)} there, ${Math.exp(asGiven.score).toPrecision(3)} as given): points found on the ${orientationName(best.orientation)} image and mapped back to the file's pixels`);
            // the chosen orientation again at full resolution: the refinement crops and the points are the file's
            if (small === images[i]) view = best;
            else {
              view = (await coarseViews(trainer, [{ image: orientImage(best.orientation, images[i]!), orientation: best.orientation }], 1))[0]!;
              this.check(view);
            }
          }
          if ((orient && view.score < orient.unsureBelow) || !this.plausible(view)) {
            unsureImage = true;
            warnings.push(`no orientation of this image looks like the training images (mean coarse peak ${Math.exp(view.score).toPrecision(3)}, normal ≥ ${orient ? Math.exp(orient.unsureBelow).toPrecision(3) : 'n/a'}${view.fit ? `; ${view.implausible} landmarks off the shape model` : ''}): every point is flagged, do not use them`);
          }
        }
      }
      const k = view.points.length;
      const flags: PointFlag[][] = Array.from({ length: k }, () => []);
      const coarsePts = view.points.slice();
      const coarseConf = view.confidence.slice();
      // shape: re-decode implausible coarse points from their next plausible peak
      const sm = this.model?.shape;
      if (this.useShape && sm && view.fit) {
        const { size } = trainer.options;
        for (let j = 0; j < k; j++) {
          if (!(view.fit.z[j]! > sm.zLimit)) continue;
          const peaks = localMaxima(view.heatmaps, j * size * size, size, size, 8).slice(1);
          for (const p of peaks) {
            // the local maximum with the model's sub-pixel decoding (a blob centroid would take the whole region)
            const sub = decodeAt(view.heatmaps, j * size * size, size, size, p.y * size + p.x, { ...trainer.options.decode, method: 'argmax' });
            const at = applyAffine(view.toImage, sub.point);
            if (landmarkZ(sm, view.fit, j, at) <= sm.zLimit) {
              coarsePts[j] = at;
              coarseConf[j] = p.value;
              flags[j]!.push('redecoded');
              break;
            }
          }
        }
      }
      let finalPts = coarsePts, finalConf = coarseConf;
      if (trainer.refiner) {
        const r = await trainer.refiner.refine([view.image], [coarsePts]);
        finalPts = r.points[0]!;
        finalConf = r.confidence[0]!;
      }
      let shapeZ: number[] | undefined;
      if (this.useShape && sm) {
        const fit = fitShape(sm, finalPts, robustCut(sm.zLimit));
        shapeZ = fit.z;
        fit.z.forEach((z, j) => { if (z > sm.zLimit) flags[j]!.push('implausible'); });
      } else if (this.options.shape !== false && !sm) warnings.push('shape check skipped: the model carries no shape model (run `osteo calibrate`)');
      const cal = this.model?.calibration;
      let expectedPx: number[] | undefined, expectedUnit: number[] | undefined;
      if (cal) {
        const L = Math.max(images[i]!.width, images[i]!.height);
        const rel = finalPts.map((_, j) => {
          const c = Math.log(Math.max(coarseConf[j]!, 1e-12)), r = Math.log(Math.max(finalConf[j]!, 1e-12));
          return expectedError(cal, j, cal.score === 'coarse' ? c : cal.score === 'refined' ? r : c + r);
        });
        expectedPx = rel.map((e) => e * L);
        expectedUnit = rel.map((e) => e * cal.unitPerLongerSide);
        const limit = this.options.flagAbove ?? cal.flagAbove;
        expectedUnit.forEach((e, j) => { if (e > limit) flags[j]!.push('low-confidence'); });
      } else warnings.push('calibrated confidence skipped: the model carries no calibration (run `osteo calibrate`)');
      if (unsureImage) flags.forEach((f) => f.push('orientation-unsure'));
      const o = view.orientation;
      const W = images[i]!.width, H = images[i]!.height;
      points.push(finalPts.map((p) => toFile(o, W, H, p)));
      confidence.push(finalConf);
      if (i < keepHeatmaps) heatmaps.push(view.heatmaps);
      const report: GuardReport = {
        orientation: orientationName(o), flags, coarseConfidence: view.confidence, warnings: [...new Set(warnings)],
        ...(expectedPx ? { expectedError: expectedPx, expectedErrorUnit: expectedUnit! } : {}), ...(shapeZ ? { shapeZ } : {}),
      };
      guarded.push(report);
      this.count(report, !isIdentity(o) && !forced, unsureImage);
    }
    return { points, heatmaps, confidence, guarded };
  }

  private count(r: GuardReport, changed: boolean, unsure: boolean): void {
    const t = this.tally;
    t.images++;
    t.points += r.flags.length;
    if (changed) t.orientationChanged++;
    if (unsure) t.orientationUnsure++;
    for (const f of r.flags) {
      if (f.some(isWarningFlag)) t.flaggedPoints++;
      if (f.includes('low-confidence')) t.lowConfidence++;
      if (f.includes('implausible')) t.implausible++;
      if (f.includes('redecoded')) t.redecoded++;
    }
  }
}

/** One line summing a tally up (eval, predict). */
export function tallyText(t: GuardTally, flagUnit?: string): string {
  return `guards: ${t.flaggedPoints} of ${t.points} points flagged (${t.lowConfidence} low-confidence${flagUnit ? ` ${flagUnit}` : ''}, ${t.implausible} implausible), ` +
    `${t.redecoded} re-decoded from their next peak; ${t.orientationChanged} of ${t.images} images predicted in another orientation` +
    (t.orientationUnsure ? `, ${t.orientationUnsure} with no convincing orientation` : '');
}

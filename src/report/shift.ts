/**
 * Site shift without annotations (host-neutral): is a new site's image set unlike the images the
 * model was made for (a reference set from the training site)? Signals, each on the images as the
 * model sees them (every image min-max scaled to [0, 1], like the preprocessing):
 *   - intensity: the Wasserstein-1 distance between the two sets' pooled intensity histograms,
 *     with a permutation test (images shuffled between the sets) for how often chance alone gives
 *     as large a distance;
 *   - noise: the mean per-image noise σ (Immerkær's Laplacian estimator), difference with a
 *     bootstrap interval;
 *   - confidence: the mean heatmap peak of the model's predictions, difference with a bootstrap
 *     interval (a model unsure of its landmarks is often looking at unfamiliar images).
 * Also `simulateSite`, which turns a set into one "from another site" (contrast, gamma, noise,
 * scale), so the signals can be checked against a known shift.
 */
import type { GreyImage } from '../data/types';
import { makeRng } from '../nn/random';
import { bootstrapMeanDiff, mean, type Interval } from '../util/stats';

const BINS = 64;

/** Min-max scaled pixels of an image, in [0, 1]. */
function unit(img: GreyImage): Float32Array {
  let lo = Infinity, hi = -Infinity;
  for (const v of img.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const s = hi > lo ? 1 / (hi - lo) : 0;
  return img.data.map((v) => (v - lo) * s);
}

/** Normalised 64-bin intensity histogram of one image (after min-max). */
export function intensityHistogram(img: GreyImage): Float64Array {
  const h = new Float64Array(BINS);
  const u = unit(img);
  for (const v of u) h[Math.min(BINS - 1, Math.floor(v * BINS))]! += 1;
  for (let i = 0; i < BINS; i++) h[i]! /= u.length || 1;
  return h;
}

/** Wasserstein-1 distance between two histograms on [0, 1] (the area between their CDFs). */
export function wasserstein1(p: Float64Array, q: Float64Array): number {
  let cp = 0, cq = 0, d = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i]!;
    cq += q[i]!;
    d += Math.abs(cp - cq);
  }
  return d / p.length;
}

const pooled = (hs: readonly Float64Array[]): Float64Array => {
  const out = new Float64Array(BINS);
  for (const h of hs) for (let i = 0; i < BINS; i++) out[i]! += h[i]! / hs.length;
  return out;
};

/**
 * Immerkær (1996) noise σ: sqrt(π/2) / (6 (W−2)(H−2)) · Σ |I ∗ N|, N = [1 −2 1; −2 4 −2; 1 −2 1],
 * on the min-max scaled image (so in units of its intensity range).
 */
export function noiseSigma(img: GreyImage): number {
  const { width: w, height: h } = img;
  if (w < 3 || h < 3) return NaN;
  const u = unit(img);
  let s = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const v = u[i - w - 1]! - 2 * u[i - w]! + u[i - w + 1]! - 2 * u[i - 1]! + 4 * u[i]! - 2 * u[i + 1]! + u[i + w - 1]! - 2 * u[i + w]! + u[i + w + 1]!;
      s += Math.abs(v);
    }
  }
  return (Math.sqrt(Math.PI / 2) * s) / (6 * (w - 2) * (h - 2));
}

export interface ShiftSignals {
  referenceImages: number;
  images: number;
  intensity: {
    /** Wasserstein-1 distance of the pooled histograms, in units of the intensity range. */
    distance: number;
    /** Mean distance over the permutations (what two random halves of the pooled images give). */
    chance: number;
    /** Permutation p-value (one-sided). */
    p: number;
    permutations: number;
    /** The pooled histograms (64 bins over [0, 1]), reference and this set. */
    reference: number[];
    target: number[];
  };
  /** Mean noise σ (new − reference), in units of the intensity range. */
  noise: Interval & { reference: number; target: number };
  /** Mean heatmap peak (new − reference); absent without predictions. */
  confidence?: Interval & { reference: number; target: number; relative: number };
  /** True when a signal clearly says the images differ (see `shiftReasons`). */
  shifted: boolean;
  reasons: string[];
}

/**
 * The signals of `target` against `reference`; `confidence` holds each image's mean heatmap peak
 * (over its landmarks) when the model's predictions are at hand.
 */
export function shiftSignals(reference: readonly GreyImage[], target: readonly GreyImage[], opts: { confidence?: { reference: number[]; target: number[] }; permutations?: number; seed?: number } = {}): ShiftSignals {
  if (!reference.length || !target.length) throw new RangeError('shiftSignals: both image sets need images');
  const seed = opts.seed ?? 1;
  const hr = reference.map(intensityHistogram), ht = target.map(intensityHistogram);
  const pr = pooled(hr), pt = pooled(ht);
  const distance = wasserstein1(pr, pt);
  const all = [...hr, ...ht];
  const perms = opts.permutations ?? 500;
  const rng = makeRng(seed);
  let atLeast = 0, chanceSum = 0;
  const idx = all.map((_, i) => i);
  for (let r = 0; r < perms; r++) {
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const d = wasserstein1(pooled(idx.slice(0, hr.length).map((i) => all[i]!)), pooled(idx.slice(hr.length).map((i) => all[i]!)));
    chanceSum += d;
    if (d >= distance) atLeast++;
  }
  const nr = reference.map(noiseSigma), nt = target.map(noiseSigma);
  const noise = { ...bootstrapMeanDiff(nt, nr, { seed: seed + 1 }), reference: mean(nr), target: mean(nt) };
  const out: ShiftSignals = {
    referenceImages: reference.length, images: target.length,
    intensity: { distance, chance: chanceSum / perms, p: (1 + atLeast) / (1 + perms), permutations: perms, reference: [...pr].map((v) => Number(v.toFixed(5))), target: [...pt].map((v) => Number(v.toFixed(5))) },
    noise, shifted: false, reasons: [],
  };
  if (opts.confidence) {
    const c = opts.confidence;
    const d = bootstrapMeanDiff(c.target, c.reference, { seed: seed + 2 });
    out.confidence = { ...d, reference: mean(c.reference), target: mean(c.target), relative: d.value / Math.abs(mean(c.reference) || 1) };
  }
  out.reasons = shiftReasons(out);
  out.shifted = out.reasons.length > 0;
  return out;
}

/**
 * Why the images look shifted (empty: they do not): intensities unlike the reference beyond chance
 * (p < 0.01 and twice the chance distance), noise σ changed by more than half the reference's
 * (interval excluding 0), or heatmap confidence down by more than 20 % (interval below 0).
 */
export function shiftReasons(s: Omit<ShiftSignals, 'shifted' | 'reasons'>): string[] {
  const r: string[] = [];
  if (s.intensity.p < 0.01 && s.intensity.distance > 2 * s.intensity.chance) {
    r.push(`intensity histograms differ (distance ${s.intensity.distance.toFixed(4)}, ${(s.intensity.distance / (s.intensity.chance || 1e-12)).toFixed(1)}x chance, p ${s.intensity.p.toFixed(3)})`);
  }
  if ((s.noise.lo > 0 || s.noise.hi < 0) && Math.abs(s.noise.value) > 0.5 * s.noise.reference) {
    r.push(`noise σ ${s.noise.target.toFixed(4)} vs ${s.noise.reference.toFixed(4)} on the reference`);
  }
  if (s.confidence && s.confidence.hi < 0 && s.confidence.relative < -0.2) {
    r.push(`heatmap confidence ${(100 * -s.confidence.relative).toFixed(0)}% lower than on the reference`);
  }
  return r;
}

/** How `simulateSite` changes images: another scanner and protocol. */
export interface SiteChange {
  /** Multiplies the deviation from mid-grey (default 0.6). */
  contrast?: number;
  /** Intensity gamma (default 1.6). */
  gamma?: number;
  /** Gaussian noise σ in units of the intensity range (default 0.06). */
  noise?: number;
  /** Zoom about the centre (default 1.15; points move with it). */
  scale?: number;
  seed?: number;
}

/**
 * The images (and their points) as another site might produce them: zoomed about the centre,
 * gamma and contrast changed, noise added. Intensities stay in each image's own range.
 */
export function simulateSite(images: readonly GreyImage[], points: readonly [number, number][][], change: SiteChange = {}): { images: GreyImage[]; points: [number, number][][] } {
  const { contrast = 0.6, gamma = 1.6, noise = 0.06, scale = 1.15, seed = 7 } = change;
  const rng = makeRng(seed);
  const outImages: GreyImage[] = [];
  const outPoints: [number, number][][] = [];
  images.forEach((img, k) => {
    const { width: w, height: h } = img;
    const u = unit(img);
    let lo = Infinity, hi = -Infinity;
    for (const v of img.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const cx = (w - 1) / 2, cy = (h - 1) / 2;
    const data = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // inverse map: output (x, y) samples the input at the centre + (x − centre) / scale (bilinear)
        const sx = Math.min(w - 1, Math.max(0, cx + (x - cx) / scale)), sy = Math.min(h - 1, Math.max(0, cy + (y - cy) / scale));
        const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
        const fx = sx - x0, fy = sy - y0;
        const v = (u[y0 * w + x0]! * (1 - fx) + u[y0 * w + x1]! * fx) * (1 - fy) + (u[y1 * w + x0]! * (1 - fx) + u[y1 * w + x1]! * fx) * fy;
        const t = 0.5 + contrast * (v ** gamma - 0.5) + noise * rng.normal();
        data[y * w + x] = lo + Math.min(1, Math.max(0, t)) * (hi - lo);
      }
    }
    outImages.push({ width: w, height: h, data, bitDepth: img.bitDepth });
    outPoints.push(points[k]!.map(([x, y]) => [cx + (x - cx) * scale, cy + (y - cy) * scale]));
  });
  return { images: outImages, points: outPoints };
}

/**
 * A model's raw output maps → probabilities in [0, 1], whatever loss trained it, so a caller (the
 * web app's heatmap overlay, a user's own display) never needs the loss's maths:
 * - `spatial_ce`: each map is already a softmax over its pixels (the trainer applies it): sums to 1;
 * - `softmax_ce`: the logits of a softmax over the landmark channels at each pixel: p_k = e^{v_k} / Σ_j e^{v_j};
 * - `bce`: per-pixel logits: the sigmoid 1 / (1 + e^{-v});
 * - `mse`, `awing`: a regressed Gaussian heatmap with peak 1 (× the MSE target scale): divided by
 *   the scale and clamped to [0, 1].
 * Decoding (points, confidence) stays on the raw maps; this is for what callers see.
 */
import type { HeatmapLoss } from '../autograd/graph';

/** Probabilities for K maps of `plane` values each, landmark after landmark (a new array). */
export function heatmapProbabilities(raw: Float32Array, k: number, plane: number, loss: HeatmapLoss, targetScale = 1): Float32Array {
  const out = new Float32Array(raw.length);
  const images = raw.length / (k * plane);
  if (loss === 'spatial_ce') out.set(raw);
  else if (loss === 'bce') for (let i = 0; i < raw.length; i++) out[i] = 1 / (1 + Math.exp(-raw[i]!));
  else if (loss === 'softmax_ce') {
    for (let n = 0; n < images; n++) {
      const base = n * k * plane;
      for (let i = 0; i < plane; i++) {
        let max = -Infinity;
        for (let j = 0; j < k; j++) max = Math.max(max, raw[base + j * plane + i]!);
        let sum = 0;
        for (let j = 0; j < k; j++) sum += Math.exp(raw[base + j * plane + i]! - max);
        for (let j = 0; j < k; j++) out[base + j * plane + i] = Math.exp(raw[base + j * plane + i]! - max) / sum;
      }
    }
  } else {
    const s = loss === 'mse' ? targetScale : 1;
    for (let i = 0; i < raw.length; i++) out[i] = Math.min(1, Math.max(0, raw[i]! / s));
  }
  return out;
}

/**
 * Shared types of the weight readers: every reader returns tensors in canonical smp naming
 * (`encoder.features.N.weight`, OIHW, f32) plus a report against the expected name/shape table.
 */
import { OsteoError } from '../gpu/errors';

/** A weight file is malformed, hostile, or not what was expected. The message names file and tensor. */
export class WeightFileError extends OsteoError {
  constructor(
    message: string,
    readonly file?: string,
    readonly tensor?: string,
  ) {
    super(message);
  }
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
  /** Storage dtype to use when writing (default F32); e.g. BatchNorm's num_batches_tracked is I64. */
  dtype?: 'F32' | 'I64' | 'I32';
}

export type WeightMap = Map<string, WeightTensor>;

export interface ShapeMismatch {
  name: string;
  expected: number[];
  got: number[];
}

export interface TensorReport {
  /** Expected (canonical) names absent from the file. */
  missing: string[];
  /** Names in the file that map to nothing expected (source naming). */
  unexpected: string[];
  /** Canonical names present with the wrong shape (after layout conversion). */
  mismatched: ShapeMismatch[];
  /**
   * A partial copy of a model (tfjs shards absent): the shard files and the source layers they
   * held. Their tensors are in `missing`; the rest was read.
   */
  absent?: { shards: string[]; layers: string[] };
}

/**
 * A partial encoder (a copy of a model whose later layers could not be obtained): the encoder
 * layers it lacks (smp names without .weight/.bias), when the file says it is partial — tfjs shards
 * absent, or a converted file's `absent_layers` metadata — and every missing tensor is an encoder
 * conv's. Undefined for a complete file, or one missing anything else (that is an error).
 */
export function partialEncoderLayers(w: { report: TensorReport; metadata: Record<string, string> }): string[] | undefined {
  const declared = w.report.absent !== undefined || (w.metadata.absent_layers ?? '') !== '';
  if (!declared || w.report.mismatched.length || w.report.missing.length === 0) return undefined;
  if (!w.report.missing.every((n) => /^encoder\.features\.\d+\.(weight|bias)$/.test(n))) return undefined;
  return [...new Set(w.report.missing.map((n) => n.replace(/\.(weight|bias)$/, '')))];
}

export type WeightFormat =
  | 'keras-h5'
  | 'tfjs-layers'
  | 'torchvision-safetensors'
  | 'smp-safetensors'
  | 'osteo-safetensors';

export interface LoadedWeights {
  format: WeightFormat;
  /** Canonical smp-named tensors (only those that matched the table by name and shape). */
  tensors: WeightMap;
  /** The canonical metadata (architecture, normalisation, colour order, …), all strings. */
  metadata: Record<string, string>;
  report: TensorReport;
}

export type { ExpectedTensor } from '../model/architecture';

export const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when nothing is missing or mismatched (unexpected extras are tolerated). */
export const reportOk = (r: TensorReport): boolean => r.missing.length === 0 && r.mismatched.length === 0;

export function formatReport(r: TensorReport, limit = 8): string {
  const list = (xs: string[]): string =>
    xs.slice(0, limit).join(', ') + (xs.length > limit ? `, … (${xs.length - limit} more)` : '');
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing ${r.missing.length}: ${list(r.missing)}`);
  if (r.mismatched.length)
    parts.push(
      `shape mismatch ${r.mismatched.length}: ${list(r.mismatched.map((m) => `${m.name} ${shapeStr(m.got)} (expected ${shapeStr(m.expected)})`))}`,
    );
  if (r.unexpected.length) parts.push(`unexpected ${r.unexpected.length}: ${list(r.unexpected)}`);
  return parts.length ? parts.join('; ') : 'all tensors present with the expected shapes';
}


/** Finds the first non-finite value; NaN/Inf in weights mean a corrupt or diverged file. */
export function checkFinite(data: Float32Array, file: string, tensor: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new WeightFileError(`${file}: tensor ${tensor} has a non-finite value (${v}) at flat index ${i}`, file, tensor);
    }
  }
}

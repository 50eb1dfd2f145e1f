/**
 * Evaluations as JSON that reads without the README (browser-safe): SDR in percent under a name
 * that says so, its radii in numeric order with their unit (plain `{ "2": …, "2.5": … }` objects
 * list integer keys first in JavaScript), each per-landmark row with its 1-based number and name.
 */
import type { ErrorStats, Evaluation } from './metrics';

/** Error statistics of a set of radial errors, rounded for JSON: n, MRE, std, median, max, SDR %. */
export interface StatsJson {
  /** Number of radial errors summarised. */
  n: number;
  mre: number;
  std: number;
  median: number;
  max: number;
  /** Successful detection rate in percent, keyed `"<radius> <unit>"` in increasing radius. */
  sdrPercent: Record<string, number>;
}

/** StatsJson of one landmark, with its number and name. */
export interface LandmarkStatsJson extends StatsJson {
  /** 1-based landmark number, as on the overlays. */
  landmark: number;
  name: string;
}

/** An evaluation as readable JSON: unit, SDR radii, overall and per-landmark statistics. */
export interface EvaluationJson {
  unit: 'mm' | 'px';
  /** SDR radii in `unit`, increasing. */
  sdrRadii: number[];
  overall: StatsJson;
  perLandmark: LandmarkStatsJson[];
}

const round = (v: number, digits = 3): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

export function statsJson(s: ErrorStats, unit: string, radii: readonly number[]): StatsJson {
  const sdrPercent: Record<string, number> = {};
  for (const r of [...radii].sort((a, b) => a - b)) sdrPercent[`${r} ${unit}`] = round(s.sdr[String(r)]!, 2);
  return { n: s.n, mre: round(s.mre), std: round(s.std), median: round(s.median), max: round(s.max), sdrPercent };
}

export function evaluationJson(ev: Evaluation, names?: readonly string[]): EvaluationJson {
  const radii = [...ev.thresholds].sort((a, b) => a - b);
  return {
    unit: ev.unit,
    sdrRadii: radii,
    overall: statsJson(ev.overall, ev.unit, radii),
    perLandmark: ev.perLandmark.map((s, i) => ({ landmark: i + 1, name: names?.[i] ?? `landmark ${i + 1}`, ...statsJson(s, ev.unit, radii) })),
  };
}

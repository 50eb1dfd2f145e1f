/** Number formatting shared by the application layer and its hosts. */
import type { Point } from '../data/types';

/** `v` rounded to `d` decimals (for JSON). */
export const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

/** Points → plain arrays rounded to 2 decimals, for JSON. */
export const roundPoints = (pts: Point[]): [number, number][] => pts.map(([x, y]) => [round(x, 2), round(y, 2)]);

/** A metric with `d` decimals, 'n/a' when missing or not finite. */
export const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));

/** 75 → '1m15s', 4000 → '1h06m'. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

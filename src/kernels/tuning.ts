import type { Engine } from '../gpu/engine';
import type { ConvTile } from './conv2d';
import type { GradWeightConfig } from './conv2d_grad_weight';

/**
 * Measured per-shape kernel choices for one device (a tuning table), consulted by conv2d,
 * conv2dBackwardInput and conv2dBackwardWeight when the caller gives no explicit tile: the
 * heuristics in those modules pick a good tile for most shapes, a sweep on the actual device
 * (bench/tile_sweep.ts) finds the best one for each shape the model uses. Like cuDNN's benchmark
 * mode, but the table is plain JSON, so it can be saved once per device and shipped.
 *
 * Keys: `${op} ${N}x${Cin}x${H}x${W}>${Cout} k${k} p${padding}` with op conv_fwd | conv_dx |
 * conv_dw (shape of the forward conv's input and weights in every case).
 */
export type TunedOp = 'conv_fwd' | 'conv_dx' | 'conv_dw';

export interface ConvChoice {
  tile?: ConvTile;
  splitK?: number;
}

export interface TuningTable {
  /** What the table was measured on (adapter description), for humans and for a mismatch warning. */
  device: string;
  conv: Record<string, ConvChoice>;
  dw: Record<string, GradWeightConfig>;
}

const tables = new WeakMap<Engine, TuningTable>();

export function tuningKey(op: TunedOp, n: number, cin: number, h: number, w: number, cout: number, k: number, padding: number): string {
  return `${op} ${n}x${cin}x${h}x${w}>${cout} k${k} p${padding}`;
}

/** Installs (or with null removes) the tuning table of this engine. */
export function setTuning(engine: Engine, table: TuningTable | null): void {
  if (table) tables.set(engine, table);
  else tables.delete(engine);
}

export function tuning(engine: Engine): TuningTable | undefined {
  return tables.get(engine);
}

export function tunedConv(engine: Engine, key: string): ConvChoice | undefined {
  return tables.get(engine)?.conv[key];
}

export function tunedGradWeight(engine: Engine, key: string): GradWeightConfig | undefined {
  return tables.get(engine)?.dw[key];
}

/** Parses and checks a tuning table (e.g. read from a file); throws a specific error when malformed. */
export function parseTuning(text: string, source = 'tuning table'): TuningTable {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const t = v as Partial<TuningTable>;
  if (!t || typeof t !== 'object' || typeof t.device !== 'string' || typeof t.conv !== 'object' || typeof t.dw !== 'object' || !t.conv || !t.dw) {
    throw new Error(`${source}: expected {device: string, conv: {...}, dw: {...}}`);
  }
  const keyRe = /^conv_(fwd|dx|dw) \d+x\d+x\d+x\d+>\d+ k\d+ p\d+$/;
  for (const [k, c] of Object.entries(t.conv)) {
    if (!keyRe.test(k)) throw new Error(`${source}: bad key "${k}"`);
    const tile = (c as ConvChoice).tile;
    if (tile && !['BM', 'BN', 'BK', 'TM', 'TN'].every((f) => Number.isInteger((tile as unknown as Record<string, unknown>)[f]))) throw new Error(`${source}: "${k}" has a malformed tile`);
    const s = (c as ConvChoice).splitK;
    if (s !== undefined && !(Number.isInteger(s) && s >= 1)) throw new Error(`${source}: "${k}" has splitK ${s}`);
  }
  for (const k of Object.keys(t.dw)) if (!keyRe.test(k)) throw new Error(`${source}: bad key "${k}"`);
  return t as TuningTable;
}

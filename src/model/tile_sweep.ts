/**
 * Tile sweep: for every distinct conv of U-Net++ at one size and batch, times the default choice
 * and a set of candidate configurations of conv forward, grad-input and grad-weight, from GPU
 * timestamps (median over repetitions, every dispatch of one call summed: split-K reduces
 * included), for `osteo tune` (src/cli/commands/tune.ts) and the GPU-session script. It answers "which tile would have
 * been faster, and by how much" for a device we only
 * get to use briefly, so the defaults in src/kernels can be chosen from measurements. Host-agnostic.
 */
import type { Engine } from '../gpu/engine';
import type { Tensor } from '../gpu/tensor';
import { warmGpu } from '../gpu/warm';
import { conv2d, conv2dBackwardInput, type Conv2dOptions } from '../kernels/conv2d';
import { conv2dBackwardWeight, type GradWeightConfig } from '../kernels/conv2d_grad_weight';
import { type TuningTable, tuningKey } from '../kernels/tuning';
import { makeRng } from '../nn/random';
import { type ConvShape, unetppLayerShapes } from './layer_shapes';

export type SweepOp = 'conv_fwd' | 'conv_dx' | 'conv_dw';

export interface SweepCandidate {
  /** Short label, e.g. "64x128x16/8x4" or "default". */
  name: string;
  conv?: Conv2dOptions;
  dw?: GradWeightConfig;
}

export interface SweepRow {
  op: SweepOp;
  shape: string;
  /** The forward conv's problem: input [n, cin, h, w], cout output channels, k×k, padding. */
  problem: { n: number; cin: number; h: number; w: number; cout: number; k: number; padding: number };
  /** Options of the fastest candidate (absent when the default won). */
  bestOptions?: { conv?: Conv2dOptions; dw?: GradWeightConfig };
  layers: string[];
  flops: number;
  /** Candidate → median GPU ms per call (null: rejected by the device limits or failed). */
  ms: Record<string, number | null>;
  best: string;
  /** default ms / best ms (≥ 1). */
  gainOverDefault: number;
  /** Why a candidate has no time (device limits, compile errors). */
  errors?: Record<string, string>;
}

const tileName = (t: { BM: number; BN: number; BK: number; TM: number; TN: number }): string => `${t.BM}x${t.BN}x${t.BK}/${t.TM}x${t.TN}`;

/** Forward / grad-input GEMM tiles worth trying on a GPU (each must pass checkTile to be timed). */
export const GEMM_TILES = [
  { BM: 64, BN: 128, BK: 16, TM: 8, TN: 4 },
  { BM: 64, BN: 128, BK: 8, TM: 8, TN: 4 },
  { BM: 64, BN: 128, BK: 32, TM: 8, TN: 4 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  { BM: 64, BN: 256, BK: 16, TM: 8, TN: 8 },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 64, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 32, BN: 128, BK: 16, TM: 4, TN: 4 },
  { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 },
];

/** Grad-weight tiles (split count left to the planner). */
export const DW_TILES: GradWeightConfig[] = [
  { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8 },
  { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  { bm: 64, bn: 64, bk: 32, tm: 8, tn: 8 },
  { bm: 128, bn: 64, bk: 16, tm: 8, tn: 8 },
  { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8, targetWorkgroups: 512 },
  { bm: 64, bn: 64, bk: 16, tm: 8, tn: 8, targetWorkgroups: 2048 },
];

/** Split-K counts tried with the default tile. */
export const SPLIT_COUNTS = [1, 2, 4, 8, 16];

export function defaultCandidates(op: SweepOp): SweepCandidate[] {
  const list: SweepCandidate[] = [{ name: 'default' }];
  if (op === 'conv_dw') {
    for (const c of DW_TILES) list.push({ name: `${c.bm}x${c.bn}x${c.bk}/${c.tm}x${c.tn}${c.targetWorkgroups ? ` wg${c.targetWorkgroups}` : ''}`, dw: { ...c, algorithm: 'gemm' } });
  } else {
    for (const t of GEMM_TILES) list.push({ name: tileName(t), conv: { tile: t, algorithm: 'gemm' } });
    // the default tile with a forced split count (1: one pass, no reduce)
    for (const splitK of SPLIT_COUNTS) list.push({ name: `default tile, splitK ${splitK}`, conv: { splitK } });
  }
  return list;
}

function random(engine: Engine, shape: number[], seed: number): Tensor {
  const rng = makeRng(seed);
  return engine.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape);
}

/** GPU ms of one call of `fn` (all its dispatches, split-K reduces included). */
async function timeOnce(engine: Engine, fn: () => Tensor): Promise<number> {
  const prof = await engine.profile(() => fn().dispose());
  return prof.records.reduce((a, r) => a + r.ms, 0);
}

export interface SweepOptions {
  size: number;
  batch: number;
  reps?: number;
  ops?: SweepOp[];
  /** Stop after this many seconds (rows done so far are kept). */
  budgetS?: number;
  /** Model config overrides (narrow widths for a quick check on the CPU fallback). */
  widths?: readonly number[];
  decoderChannels?: readonly number[];
  log?: (s: string) => void;
}

export async function sweepConvTiles(engine: Engine, opts: SweepOptions): Promise<SweepRow[]> {
  const reps = opts.reps ?? 5;
  const ops = opts.ops ?? ['conv_fwd', 'conv_dx', 'conv_dw'];
  const log = opts.log ?? (() => {});
  const deadline = performance.now() + (opts.budgetS ?? 120) * 1000;
  const shapes = unetppLayerShapes({ size: opts.size, batch: opts.batch, classes: 19, inChannels: 1, widths: opts.widths, decoderChannels: opts.decoderChannels }).convs;
  const rows: SweepRow[] = [];
  for (const s of shapes) {
    for (const op of ops) {
      if (op === 'conv_dx' && s.first) continue;
      if (performance.now() > deadline) {
        log(`sweep: time budget spent, ${rows.length} rows done`);
        return rows;
      }
      rows.push(await sweepOne(engine, s, op, defaultCandidates(op), reps));
      const r = rows[rows.length - 1]!;
      const tf = (ms: number | null | undefined) => (ms ? ((r.flops / ms) * 1e-9).toFixed(1) : '–');
      log(`sweep ${op} ${r.shape}: default ${r.ms.default?.toFixed(3)} ms (${tf(r.ms.default)} TFLOP/s), best ${r.best} ${r.ms[r.best]?.toFixed(3)} ms (${tf(r.ms[r.best])} TFLOP/s), ${r.gainOverDefault.toFixed(2)}x`);
    }
  }
  return rows;
}

async function sweepOne(engine: Engine, s: ConvShape, op: SweepOp, candidates: SweepCandidate[], reps: number): Promise<SweepRow> {
  const k = 3;
  const x = random(engine, [s.n, s.cin, s.h, s.w], 1);
  const w = random(engine, [s.cout, s.cin, k, k], 2);
  const dy = random(engine, [s.n, s.cout, s.h, s.w], 3);
  const ms: Record<string, number | null> = {};
  const errors: Record<string, string> = {};
  const fnOf = (c: SweepCandidate) => (): Tensor =>
    op === 'conv_fwd'
      ? conv2d(x, w, null, { ...c.conv })
      : op === 'conv_dx'
        ? conv2dBackwardInput(dy, w, x.shape, { ...c.conv })
        : conv2dBackwardWeight(x, dy, 3, { config: c.dw });
  try {
    // compile and check every candidate once
    const live: SweepCandidate[] = [];
    for (const c of candidates) {
      try {
        // compiled asynchronously: one big tile's shader takes seconds to compile on a software adapter
        await engine.precompile(() => fnOf(c)().dispose());
        fnOf(c)().dispose();
        await engine.sync();
        live.push(c);
      } catch (e) {
        ms[c.name] = null;
        errors[c.name] ??= String((e as Error).message ?? e).split('\n')[0]!.slice(0, 200);
      }
    }
    // GPU clocks ramp up over tens of ms after an idle gap, so warm up first, then time the
    // candidates interleaved (round r times each once): drift hits all of them alike
    await warmGpu(engine, fnOf(candidates[0]!), 60);
    const times = new Map<string, number[]>(live.map((c) => [c.name, []]));
    for (let r = 0; r < reps; r++) {
      for (const c of r % 2 ? [...live].reverse() : live) times.get(c.name)!.push(await timeOnce(engine, fnOf(c)));
    }
    for (const [name, t] of times) {
      t.sort((a, b) => a - b);
      ms[name] = t[Math.floor(t.length / 2)]!;
    }
  } finally {
    x.dispose();
    w.dispose();
    dy.dispose();
  }
  const timed = Object.entries(ms).filter((e): e is [string, number] => e[1] != null);
  const [best, bestMs] = timed.reduce((a, b) => (b[1] < a[1] ? b : a), timed[0] ?? ['default', NaN]);
  const winner = candidates.find((c) => c.name === best);
  return {
    op,
    shape: `${s.n}x${s.cin}x${s.h}x${s.w}>${s.cout}`,
    problem: { n: s.n, cin: s.cin, h: s.h, w: s.w, cout: s.cout, k, padding: (k - 1) / 2 },
    ...(winner && best !== 'default' ? { bestOptions: { conv: winner.conv, dw: winner.dw } } : {}),
    layers: s.layers,
    flops: 2 * s.n * s.h * s.w * s.cout * s.cin * k * k,
    ms,
    best,
    gainOverDefault: ms.default ? ms.default / bestMs : NaN,
    ...(Object.keys(errors).length ? { errors } : {}),
  };
}

/** Markdown: one row per (op, shape) with default and best, then per op the geomean gain. */
export function sweepMarkdown(rows: readonly SweepRow[]): string {
  const out = ['| op | shape | default ms | default TFLOP/s | best | best ms | best TFLOP/s | gain |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const d = r.ms.default;
    const b = r.ms[r.best];
    const tf = (ms: number | null | undefined) => (ms ? ((r.flops / ms) * 1e-9).toFixed(2) : '–');
    out.push(`| ${r.op} | ${r.shape} | ${d?.toFixed(3) ?? '–'} | ${tf(d)} | ${r.best} | ${b?.toFixed(3) ?? '–'} | ${tf(b)} | ${r.gainOverDefault.toFixed(2)}x |`);
  }
  out.push('', '| op | rows | total default ms | total best ms | candidate that wins most |', '|---|---|---|---|---|');
  for (const op of new Set(rows.map((r) => r.op))) {
    const rs = rows.filter((r) => r.op === op);
    const wins = new Map<string, number>();
    for (const r of rs) wins.set(r.best, (wins.get(r.best) ?? 0) + 1);
    const top = [...wins].sort((a, b) => b[1] - a[1])[0];
    const sum = (f: (r: SweepRow) => number | null | undefined) => rs.reduce((a, r) => a + (f(r) ?? 0), 0);
    out.push(`| ${op} | ${rs.length} | ${sum((r) => r.ms.default).toFixed(2)} | ${sum((r) => r.ms[r.best]).toFixed(2)} | ${top ? `${top[0]} (${top[1]})` : '–'} |`);
  }
  return out.join('\n') + '\n';
}

/**
 * A tuning table from sweep rows: every shape where a candidate beat the default by at least
 * `minGain` (timing noise must not flip choices) gets that candidate.
 */
export function tuningFromSweep(rows: readonly SweepRow[], device: string, minGain = 1.05): TuningTable {
  const table: TuningTable = { device, conv: {}, dw: {} };
  for (const r of rows) {
    if (!r.bestOptions || !(r.gainOverDefault >= minGain)) continue;
    const p = r.problem;
    const key = tuningKey(r.op, p.n, p.cin, p.h, p.w, p.cout, p.k, p.padding);
    if (r.op === 'conv_dw') {
      if (r.bestOptions.dw) table.dw[key] = r.bestOptions.dw;
    } else if (r.bestOptions.conv) {
      const { tile, splitK } = r.bestOptions.conv as Conv2dOptions & { splitK?: number };
      table.conv[key] = { ...(tile ? { tile } : {}), ...(splitK ? { splitK } : {}) };
    }
  }
  return table;
}

export interface UnetppSweepOptions {
  /** Training step: every conv's forward, grad-input and grad-weight at this size and batch. */
  trainSize: number;
  trainBatch: number;
  /** Inference (batch 1): every conv's forward at this size. */
  inferSize: number;
  reps: number;
  /** Seconds for both sweeps (the training one gets 70 %, the inference one what is left). */
  budgetS: number;
  widths?: readonly number[];
  decoderChannels?: readonly number[];
  log?: (s: string) => void;
}

/** The sweep behind a U-Net++ tuning table (`osteo tune`, bench/gpu_session.ts --sweep). */
export async function sweepUnetpp(engine: Engine, o: UnetppSweepOptions): Promise<SweepRow[]> {
  const t0 = performance.now();
  const common = { reps: o.reps, widths: o.widths, decoderChannels: o.decoderChannels, log: o.log };
  const train = await sweepConvTiles(engine, { ...common, size: o.trainSize, batch: o.trainBatch, budgetS: o.budgetS * 0.7 });
  const left = o.budgetS - (performance.now() - t0) / 1000;
  const infer = await sweepConvTiles(engine, { ...common, size: o.inferSize, batch: 1, ops: ['conv_fwd'], budgetS: Math.max(5, left) });
  return [...train, ...infer];
}

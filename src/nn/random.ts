/**
 * The one seeded PRNG module (browser-safe, deterministic across runs): `makeRng`, sfc32 seeded
 * through splitmix32, for everything new; and `shuffledIndices`, a Fisher–Yates shuffle on an
 * xorshift32 stream, kept bit for bit because the committed runs' train / validation splits and
 * epoch orders come from it (`permutation`: splits, folds, learning-curve subsets; the trainer's
 * epoch order). Changing either changes which images a seeded run validates on.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  int(lo: number, hiExclusive: number): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function makeRng(seed: number): Rng {
  const sm = splitmix32(Math.floor(seed) ^ 0x5bd1e995);
  let a = sm(), b = sm(), c = sm(), d = sm();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  let spare: number | undefined;
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    normal: () => {
      if (spare !== undefined) { const s = spare; spare = undefined; return s; }
      const u = Math.max(next(), 1e-12), v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A derived seed, so that sub-streams (image i of a set, augmentation of epoch e) are independent. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}

/** 0..n-1 shuffled by Fisher–Yates on an xorshift32 stream started at `state` (a non-zero uint32). */
export function shuffledIndices(n: number, state: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  let a = state >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    a ^= a << 13;
    a >>>= 0;
    a ^= a >>> 17;
    a ^= a << 5;
    a >>>= 0;
    const j = a % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx;
}

/** Deterministic permutation of 0..n-1 for a seed (splits, folds, subsets). */
export function permutation(n: number, seed: number): number[] {
  return shuffledIndices(n, Math.imul(seed ^ 0x5bd1e995, 2654435761) >>> 0);
}

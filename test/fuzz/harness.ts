/**
 * Property-based fuzzing of every parser (issue 10), with fast-check: for any input a parser returns
 * a valid value or throws the specific error it documents, naming the input, within a time and
 * memory bound — never a TypeError/RangeError from deep inside, never a hang, never memory that
 * was not written (decoders run twice and must agree bit for bit).
 *
 * `npm test` runs a small fixed-seed pass (a few seconds in all); `npm run fuzz` (scripts/fuzz.mjs)
 * sets OSTEO_FUZZ_RUNS / OSTEO_FUZZ_SEED / OSTEO_FUZZ_OUT for a long pass and collects the counts
 * into bench/results/fuzz.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';

const LONG_RUNS = Number(process.env.OSTEO_FUZZ_RUNS ?? 0);
/** True in `npm run fuzz`. */
export const LONG = LONG_RUNS > 0;
const SEED = process.env.OSTEO_FUZZ_SEED !== undefined ? Number(process.env.OSTEO_FUZZ_SEED) : 20261201;
/** Slowest acceptable single input (2 slow cores, a loaded machine): far above any real parse. */
export const MAX_MS_PER_INPUT = 2000;
/** Growth of the resident set tolerated over a whole target. */
const MAX_RSS_GROWTH = 1536 << 20;

export interface TargetStats {
  target: string;
  runs: number;
  ok: number;
  /** Errors by class name (all of them the documented kind). */
  errors: Record<string, number>;
  maxMs: number;
  seconds: number;
}

const stats: TargetStats[] = [];

/**
 * One fuzz target: `quickRuns` inputs in `npm test`, `LONG_RUNS * longScale` in `npm run fuzz`.
 * `check` runs one input; it returns normally when the parser gave a valid value (checked inside),
 * returns the error when the parser threw the documented kind (checked inside), and fails the
 * property (an expect) otherwise.
 */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (input: T) => Promise<Error | void> | Error | void, o: { quickRuns?: number; longScale?: number } = {}): void {
  const numRuns = LONG ? Math.max(1, Math.round(LONG_RUNS * (o.longScale ?? 1))) : (o.quickRuns ?? 60);
  test(`${name}: ${numRuns} inputs, a valid value or the documented error`, async () => {
    const s: TargetStats = { target: name, runs: 0, ok: 0, errors: {}, maxMs: 0, seconds: 0 };
    const rss0 = process.memoryUsage.rss();
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(arb, async (input) => {
        // let the test runner's messages through between inputs (no long synchronous stretch)
        if (s.runs % 25 === 0) await new Promise((r) => setImmediate(r));
        const t = performance.now();
        const err = await check(input);
        const ms = performance.now() - t;
        s.runs++;
        s.maxMs = Math.max(s.maxMs, ms);
        if (err) s.errors[err.constructor.name] = (s.errors[err.constructor.name] ?? 0) + 1;
        else s.ok++;
        expect(ms, 'time for one input').toBeLessThan(MAX_MS_PER_INPUT);
        expect(process.memoryUsage.rss() - rss0, 'resident memory growth').toBeLessThan(MAX_RSS_GROWTH);
      }),
      { seed: SEED, numRuns, ...(LONG ? { verbose: 1 } : {}) },
    );
    s.seconds = Math.round((performance.now() - t0) / 10) / 100;
    s.maxMs = Math.round(s.maxMs * 10) / 10;
    stats.push(s);
  }, LONG ? 0 : 60_000);
}

/** Writes this file's counts for scripts/fuzz.mjs (long runs only). */
export function reportTo(group: string): void {
  afterAll(() => {
    const dir = process.env.OSTEO_FUZZ_OUT;
    if (!LONG || !dir) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${group}.json`), `${JSON.stringify({ group, seed: SEED, runsPerTarget: LONG_RUNS, targets: stats }, null, 2)}\n`);
  });
}

/** Runs `f`; returns the thrown error when it is one of `kinds` and its message starts with / contains `name`. */
export async function expectDocumented<T>(f: () => T | Promise<T>, kinds: (abstract new (...a: never[]) => Error)[], name: string | RegExp): Promise<{ value: T } | { error: Error }> {
  try {
    return { value: await f() };
  } catch (e) {
    if (!kinds.some((k) => e instanceof k)) {
      throw new Error(`undocumented ${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? e}\n${(e as Error)?.stack ?? ''}`);
    }
    const msg = (e as Error).message;
    if (typeof name === 'string' ? !msg.includes(name) : !name.test(msg)) throw new Error(`error does not name the input (${String(name)}): ${msg}`);
    if (!msg.trim()) throw new Error('empty error message');
    return { error: e as Error };
  }
}

// ------------------------------------------------------------------------------ mutations

type Op = { kind: 'flip' | 'set' | 'truncate' | 'insert' | 'delete' | 'dup'; at: number; len: number; byte: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'set', 'flip', 'truncate', 'insert', 'delete', 'dup'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  len: fc.integer({ min: 1, max: 64 }),
  byte: fc.integer({ min: 0, max: 255 }),
}) as fc.Arbitrary<Op>;

function apply(b: Uint8Array, ops: Op[]): Uint8Array {
  let out: Uint8Array = b.slice();
  for (const o of ops) {
    const at = Math.min(out.length, Math.floor(o.at * out.length));
    switch (o.kind) {
      case 'flip': if (at < out.length) out[at]! ^= 1 << (o.byte & 7); break;
      case 'set': if (at < out.length) out[at] = o.byte; break;
      case 'truncate': out = out.slice(0, at); break;
      case 'insert': { const ins = new Uint8Array(o.len).fill(o.byte); out = concat(out.subarray(0, at), ins, out.subarray(at)); break; }
      case 'delete': out = concat(out.subarray(0, at), out.subarray(at + o.len)); break;
      case 'dup': out = concat(out.subarray(0, at + o.len), out.subarray(at)); break;
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** One of `seeds` with 1-6 random edits (bit flips, byte sets, truncation, insertions, deletions, duplications). */
export function mutated(seeds: Uint8Array[], maxOps = 6): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(op, { minLength: 1, maxLength: maxOps })).map(([s, ops]) => apply(s, ops));
}

/** Raw bytes that start with `prefix` (a format's magic number), so the parser gets past its sniffing. */
export function withMagic(prefix: number[], maxLength = 256): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength }).map((b) => concat(Uint8Array.from(prefix), b));
}

// ------------------------------------------------------------------------------ JSON edits

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a JSON document (root first). */
function paths(doc: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(doc)) doc.forEach((v, i) => paths(v, [...at, i], out));
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) paths(v, [...at, k], out);
  return out;
}

/** A JSON value likely to break a parser: wrong types, huge, negative, fractional, empty. */
export const hostileJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, 0, -1, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, '', 'x', [], {}, [null], [-1, 3], [3, 3, 1e9, 1e9]),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** `seed` with 1-4 edits: a value at a random path replaced by a hostile one, or removed. */
export function editedJson(seed: Json): fc.Arbitrary<Json> {
  const all = paths(seed);
  const edit = fc.record({ path: fc.nat({ max: all.length - 1 }), value: hostileJson, remove: fc.boolean() });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let doc = structuredClone(seed);
    for (const e of edits) {
      const p = paths(doc)[e.path % paths(doc).length]!;
      if (p.length === 0) { doc = structuredClone(e.value); continue; }
      let parent: Json = doc;
      for (const k of p.slice(0, -1)) parent = (parent as Record<string | number, Json>)[k]!;
      const last = p[p.length - 1]!;
      if (e.remove && Array.isArray(parent)) parent.splice(last as number, 1);
      else if (e.remove) delete (parent as Record<string, Json>)[last as string];
      else (parent as Record<string | number, Json>)[last] = structuredClone(e.value); // constants are shared: no cycles
    }
    return doc;
  });
}

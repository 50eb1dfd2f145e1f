/**
 * Kernel source helpers. Templates in shaders/*.wgsl carry `{{NAME}}` placeholders; `specialize`
 * fills them, and the pipeline cache keys on the result, so every distinct tile size or fused
 * epilogue is its own compiled pipeline.
 */
const specialized = new Map<string, Map<string, string>>();

export function specialize(template: string, defs: Record<string, string | number>): string {
  // memoized: kernels specialize on every dispatch, and the pipeline cache hashes the result; the
  // same string object back means no regex pass and a hash V8 has already cached on the string
  let byDefs = specialized.get(template);
  if (!byDefs) specialized.set(template, (byDefs = new Map()));
  const key = JSON.stringify(defs);
  let out = byDefs.get(key);
  if (out === undefined) {
    out = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      const v = defs[name];
      if (v === undefined) throw new Error(`specialize: no value for {{${name}}}`);
      return String(v);
    });
    byDefs.set(key, out);
  }
  return out;
}

const generated = new Map<string, string>();

/**
 * Generated WGSL, built once per `key` (which must name everything the text depends on). Kernels
 * with unrolled, generated bodies would otherwise rebuild 10–30 KB of source on every dispatch,
 * and the pipeline cache would hash that fresh string each time: tens of µs per dispatch of CPU
 * time and garbage, while the GPU waits for the submit.
 */
export function cachedCode(key: string, build: () => string): string {
  let code = generated.get(key);
  if (code === undefined) {
    code = build();
    generated.set(key, code);
  }
  return code;
}

/**
 * One kernel of a multi-kernel WGSL file: the shared preamble (everything before the first
 * `//! name` line: helper functions, structs, comments) followed by the text of the named section
 * up to the next `//! ` line.
 */
export function section(source: string, name: string): string {
  const parts = source.split(/^\/\/! /m);
  for (const p of parts.slice(1)) {
    const nl = p.indexOf('\n');
    if (p.slice(0, nl).trim() === name) return `${parts[0]}${p.slice(nl + 1)}`;
  }
  throw new Error(`WGSL section "${name}" not found`);
}

/** WGSL float literal that round-trips (always has a decimal point or exponent). */
export const f32Lit = (v: number): string => {
  const s = String(Math.fround(v));
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

/**
 * Splits a workgroup count over x and y so neither exceeds the per-dimension limit (65535 by
 * default). Kernels recover the linear index as `wid.x + wid.y * nwg.x`.
 */
export function grid(workgroups: number, maxPerDim = 65535): [number, number] {
  if (workgroups <= maxPerDim) return [workgroups, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  return [Math.ceil(workgroups / y), y];
}

/** Packs u32/f32 values into a uniform block (16-byte padded). Use `f32()` to mark floats. */
export class Uniforms {
  private words: { v: number; float: boolean }[] = [];
  u32(...vs: number[]): this {
    for (const v of vs) this.words.push({ v, float: false });
    return this;
  }
  f32(...vs: number[]): this {
    for (const v of vs) this.words.push({ v, float: true });
    return this;
  }
  bytes(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, i) => {
      if (w.float) f[i] = w.v;
      else u[i] = w.v >>> 0;
    });
    return buf;
  }
}

/**
 * safetensors reader and writer on plain bytes (browser-safe).
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the data
 * section; offsets are relative to the data section. The reader trusts nothing: every length and
 * offset is checked against the bytes actually present before anything is allocated from it, and
 * tensors must tile the data section exactly (sorted by offset, no gaps, no overlap, no trailing
 * bytes), as the reference implementation requires.
 */
import { WeightFileError, type WeightTensor, checkFinite, numel, shapeStr } from './types';

/** Upper bound on the JSON header (the reference implementation uses 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

/** dtype → bytes per element for every dtype in the safetensors spec. */
const DTYPE_SIZES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
  F8_E4M3: 1, F8_E5M2: 1,
};
/** dtypes this reader converts to f32. */
const READABLE = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range inside the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file. */
  dataStart: number;
}

export interface ReadOptions {
  /** File name for messages. */
  file?: string;
  /** Reject NaN/±Inf in floating tensors (default true). */
  checkFinite?: boolean;
}

const fail = (file: string, msg: string, tensor?: string): never => {
  throw new WeightFileError(`${file}: ${msg}`, file, tensor);
};

/**
 * Top-level keys of a JSON object in document order (JSON.parse silently keeps the last of
 * duplicated keys; a weight file with two tensors of the same name is ambiguous, so we look).
 * Assumes the text already parsed as JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let i = text.indexOf('{') + 1;
  let depth = 0;
  let expectKey = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 0 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) break;
      depth--;
    } else if (c === ',' && depth === 0) expectKey = true;
    i++;
  }
  return keys;
}

/** Parses and validates the header only (cheap: touches no tensor data). */
export function parseSafetensorsHeader(bytes: Uint8Array, file = 'safetensors file'): SafetensorsHeader {
  if (bytes.length < 8) fail(file, `only ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(file, `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(file, `header length ${n} runs past the end of the file (${bytes.length} bytes): truncated or not a safetensors file`);
  if (n < 2) fail(file, `header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'header JSON is not an object');
  const header = json as Record<string, unknown>;
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) fail(file, `duplicate tensor name "${k}" in the header`, k);
    seen.add(k);
  }

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__["${k}"] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, `tensor ${name}: entry is not an object`, name);
    const e = raw as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) fail(file, `tensor ${name}: unknown dtype ${JSON.stringify(dtype)}`, name);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(file, `tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(file, `tensor ${name}: data_offsets ${JSON.stringify(off)} is not [begin, end]`, name);
    const [b, en] = off as [number, number];
    if (b > en) fail(file, `tensor ${name}: data_offsets [${b}, ${en}] end before they begin`, name);
    if (en > dataLen) fail(file, `tensor ${name}: data_offsets [${b}, ${en}] lie outside the data section (${dataLen} bytes)`, name);
    // Element count bounded step by step so a hostile shape cannot overflow.
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (count > dataLen) break;
    }
    const want = count * DTYPE_SIZES[dtype as string]!;
    if (want !== en - b)
      fail(file, `tensor ${name}: ${dtype} ${shapeStr(shape as number[])} needs ${want} bytes but data_offsets span ${en - b}`, name);
    entries.push({ name, dtype: dtype as string, shape: shape as number[], begin: dataStart + b, end: dataStart + en });
  }
  // Tensors must tile the data section: sorted by offset, each starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = dataStart;
  let prev = '(start of data)';
  for (const e of sorted) {
    if (e.begin < pos) fail(file, `tensor ${e.name} overlaps ${prev} (bytes ${e.begin - dataStart}..${e.end - dataStart})`, e.name);
    if (e.begin > pos) fail(file, `gap of ${e.begin - pos} bytes before tensor ${e.name}: offsets are out of order or the data section has holes`, e.name);
    pos = e.end;
    prev = e.name;
  }
  if (pos !== bytes.length) fail(file, `${bytes.length - pos} trailing bytes after the last tensor`);
  return { entries, metadata, dataStart };
}

/** IEEE half → float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** float → IEEE half (round to nearest even); used by tests and writers. */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 255) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** Decodes one tensor's bytes into f32 (all dtypes this engine accepts). */
function decode(bytes: Uint8Array, e: SafetensorsEntry, file: string): Float32Array {
  if (!READABLE.has(e.dtype)) fail(file, `tensor ${e.name}: dtype ${e.dtype} is not supported (use F32, F16, BF16, F64 or an integer type)`, e.name);
  const n = numel(e.shape);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + e.begin, e.end - e.begin);
  const out = new Float32Array(n);
  switch (e.dtype) {
    case 'F32':
      // Copy through an aligned slice: data offsets need not be 4-byte aligned.
      out.set(new Float32Array(bytes.slice(e.begin, e.end).buffer));
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      break;
    }
    case 'I64':
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 9007199254740991n || v < -9007199254740991n) fail(file, `tensor ${e.name}: I64 value ${v} does not fit a float`, e.name);
        out[i] = Number(v);
      }
      break;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      break;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = dv.getUint8(i);
      break;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Map<string, WeightTensor & { sourceDtype: string }>;
  metadata: Record<string, string>;
}

/** Parses a whole safetensors file into f32 tensors (integer tensors keep their dtype as a write hint). */
export function readSafetensors(bytes: Uint8Array, opts: ReadOptions = {}): SafetensorsFile {
  const file = opts.file ?? 'safetensors file';
  const h = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, WeightTensor & { sourceDtype: string }>();
  for (const e of [...h.entries].sort((a, b) => a.begin - b.begin)) {
    const data = decode(bytes, e, file);
    const isFloat = e.dtype.startsWith('F') || e.dtype === 'BF16';
    if (isFloat && (opts.checkFinite ?? true)) checkFinite(data, file, e.name);
    const t: WeightTensor & { sourceDtype: string } = { shape: [...e.shape], data, sourceDtype: e.dtype };
    if (e.dtype === 'I64' || e.dtype === 'I32') t.dtype = e.dtype;
    tensors.set(e.name, t);
  }
  return { tensors, metadata: h.metadata };
}

export interface WriteTensor {
  shape: readonly number[];
  data: Float32Array;
  dtype?: 'F32' | 'I64' | 'I32';
}

/**
 * Serialises tensors deterministically: names sorted (code-point order), data packed in that
 * order, header padded with spaces to a multiple of 8 so the data section starts aligned.
 * Integer dtypes round the f32 values (they must be integral).
 */
export function writeSafetensors(
  tensors: Map<string, WriteTensor> | Iterable<[string, WriteTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const items = [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  const md = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  for (const [k, v] of Object.entries(md)) if (typeof v !== 'string') throw new WeightFileError(`metadata "${k}" must be a string`);
  if (Object.keys(md).length) header.__metadata__ = md;
  let off = 0;
  const seen = new Set<string>();
  for (const [name, t] of items) {
    if (name === '__metadata__') throw new WeightFileError('a tensor may not be named __metadata__', undefined, name);
    if (seen.has(name)) throw new WeightFileError(`duplicate tensor name ${name}`, undefined, name);
    seen.add(name);
    const n = numel(t.shape);
    if (n !== t.data.length) throw new WeightFileError(`tensor ${name}: shape ${shapeStr(t.shape)} has ${n} elements, data has ${t.data.length}`, undefined, name);
    const dtype = t.dtype ?? 'F32';
    const size = n * (dtype === 'I64' ? 8 : 4);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + size] };
    off += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const p = new Uint8Array(json.length + pad).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [name, t] of items) {
    const dtype = t.dtype ?? 'F32';
    if (dtype === 'F32') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
      pos += t.data.byteLength;
    } else {
      for (const v of t.data) {
        if (!Number.isInteger(v)) throw new WeightFileError(`tensor ${name}: ${dtype} value ${v} is not an integer`, undefined, name);
        if (dtype === 'I64') {
          dv.setBigInt64(pos, BigInt(v), true);
          pos += 8;
        } else {
          dv.setInt32(pos, v, true);
          pos += 4;
        }
      }
    }
  }
  return out;
}

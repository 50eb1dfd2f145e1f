import { describe, expect, it } from 'vitest';
import {
  MAX_HEADER_BYTES,
  WeightFileError,
  f16ToF32,
  f32ToF16,
  parseSafetensorsHeader,
  readSafetensors,
  writeSafetensors,
} from '../../src/weights/index';
import { craftSafetensors } from './fixtures';

const F = 'test.safetensors';

function expectWFE(fn: () => unknown, pattern: RegExp, tensor?: string): WeightFileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightFileError);
    const err = e as WeightFileError;
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(F);
    expect(err.file).toBe(F);
    if (tensor) expect(err.tensor).toBe(tensor);
    return err;
  }
  throw new Error(`expected a WeightFileError matching ${pattern}`);
}

const f32bytes = (xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

describe('safetensors writer', () => {
  it('round-trips F32, I64 and metadata', () => {
    const a = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
    const bytes = writeSafetensors(
      new Map([
        ['b.weight', { shape: [2, 3], data: a }],
        ['a.count', { shape: [], data: new Float32Array([1234567]), dtype: 'I64' as const }],
        ['c.idx', { shape: [2], data: new Float32Array([-7, 9]), dtype: 'I32' as const }],
      ]),
      { format: 'osteo-weights', note: 'héllo' },
    );
    const r = readSafetensors(bytes, { file: F });
    expect([...r.tensors.keys()]).toEqual(['a.count', 'b.weight', 'c.idx']);
    expect(r.tensors.get('b.weight')!.shape).toEqual([2, 3]);
    expect([...r.tensors.get('b.weight')!.data]).toEqual([...a]);
    expect(r.tensors.get('a.count')!.data[0]).toBe(1234567);
    expect(r.tensors.get('a.count')!.dtype).toBe('I64');
    expect([...r.tensors.get('c.idx')!.data]).toEqual([-7, 9]);
    expect(r.metadata).toEqual({ format: 'osteo-weights', note: 'héllo' });
  });

  it('is deterministic, pads the header with spaces to 8 bytes, and sorts names', () => {
    const t1 = { shape: [3], data: new Float32Array([1, 2, 3]) };
    const t2 = { shape: [1], data: new Float32Array([4]) };
    const x = writeSafetensors(new Map([['z', t1], ['a', t2]]), { k: 'v', b: 'w' });
    const y = writeSafetensors(new Map([['a', t2], ['z', t1]]), { b: 'w', k: 'v' });
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(true);
    const n = Number(new DataView(x.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(x.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/);
    const h = JSON.parse(text);
    expect(Object.keys(h)).toEqual(['__metadata__', 'a', 'z']);
    expect(h.a.data_offsets).toEqual([0, 4]);
    expect(h.z.data_offsets).toEqual([4, 16]);
    expect(x.length).toBe(8 + n + 16);
  });

  it('refuses inconsistent tensors', () => {
    expect(() => writeSafetensors(new Map([['a', { shape: [2, 2], data: new Float32Array(3) }]]))).toThrow(/4 elements, data has 3/);
    expect(() => writeSafetensors(new Map([['a', { shape: [1], data: new Float32Array([0.5]), dtype: 'I64' as const }]]))).toThrow(/not an integer/);
  });
});

describe('safetensors reader: dtypes', () => {
  it('converts F16, BF16, F64, I32, I64 to f32, at unaligned offsets', () => {
    const vals = [0, 1, -2.5, 65504, 6.1035156e-5, 5.96e-8];
    const f16 = new Uint16Array(vals.map(f32ToF16));
    const bf16 = new Uint16Array(vals.map((v) => new Uint32Array(new Float32Array([v]).buffer)[0]! >>> 16));
    const f64 = new Float64Array([Math.PI, -1e-3]);
    const i32 = new Int32Array([-5, 7]);
    const i64 = new BigInt64Array([-3n, 2n ** 40n]);
    const one = new Uint8Array([9]);
    const parts = [one, new Uint8Array(f16.buffer), new Uint8Array(bf16.buffer), new Uint8Array(f64.buffer), new Uint8Array(i32.buffer), new Uint8Array(i64.buffer)];
    const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    const offs: [number, number][] = [];
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      offs.push([o, o + p.length]);
      o += p.length;
    }
    const bytes = craftSafetensors({
      u: { dtype: 'U8', shape: [1], data_offsets: offs[0] },
      h: { dtype: 'F16', shape: [6], data_offsets: offs[1] },
      b: { dtype: 'BF16', shape: [2, 3], data_offsets: offs[2] },
      d: { dtype: 'F64', shape: [2], data_offsets: offs[3] },
      i: { dtype: 'I32', shape: [2], data_offsets: offs[4] },
      l: { dtype: 'I64', shape: [2], data_offsets: offs[5] },
    }, data);
    const r = readSafetensors(bytes, { file: F });
    expect(r.tensors.get('u')!.data[0]).toBe(9);
    const h = r.tensors.get('h')!.data;
    for (let k = 0; k < vals.length; k++) expect(h[k]).toBeCloseTo(vals[k]!, 3);
    expect(h[3]).toBe(65504);
    const b = r.tensors.get('b')!.data;
    for (let k = 0; k < vals.length; k++) expect(Math.abs(b[k]! - vals[k]!)).toBeLessThanOrEqual(Math.abs(vals[k]!) / 128 + 1e-30);
    expect(r.tensors.get('d')!.data[0]).toBeCloseTo(Math.PI, 6);
    expect([...r.tensors.get('i')!.data]).toEqual([-5, 7]);
    expect([...r.tensors.get('l')!.data]).toEqual([-3, 2 ** 40]);
  });

  it('f16 conversion handles subnormals, infinities and rounding', () => {
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // ties to even
    expect(f32ToF16(1e6)).toBe(0x7c00);
  });
});

describe('safetensors reader: hostile files', () => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data8 = f32bytes([1, 2]);

  it('too short', () => expectWFE(() => readSafetensors(new Uint8Array(5), { file: F }), /only 5 bytes/));
  it('header length past the end', () => {
    const b = craftSafetensors(good, data8);
    new DataView(b.buffer).setBigUint64(0, BigInt(b.length), true);
    expectWFE(() => readSafetensors(b, { file: F }), /runs past the end/);
  });
  it('absurd header length is refused before any allocation', () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
    expectWFE(() => readSafetensors(b, { file: F }), new RegExp(`exceeds the ${MAX_HEADER_BYTES}-byte limit`));
  });
  it('invalid JSON', () => expectWFE(() => readSafetensors(craftSafetensors(null, data8, '{"a": {"dtype": "F32",'), { file: F }), /not valid JSON/));
  it('invalid UTF-8', () => {
    const b = craftSafetensors(null, new Uint8Array(0), '{"x":1}');
    b[10] = 0xff;
    expectWFE(() => readSafetensors(b, { file: F }), /UTF-8/);
  });
  it('header that is not an object', () => expectWFE(() => readSafetensors(craftSafetensors([1, 2]), { file: F }), /not an object/));
  it('offsets outside the data section', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, data8), { file: F }), /outside the data section/, 'a'));
  it('end before begin', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, data8), { file: F }), /end before they begin/, 'a'));
  it('overlapping tensors', () =>
    expectWFE(
      () =>
        readSafetensors(
          craftSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data8),
          { file: F },
        ),
      /overlaps/,
      'b',
    ));
  it('holes between tensors (out-of-order offsets)', () =>
    expectWFE(
      () =>
        readSafetensors(
          craftSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, f32bytes([1, 2, 3, 4])),
          { file: F },
        ),
      /gap of 4 bytes before tensor a/,
      'a',
    ));
  it('trailing bytes after the last tensor', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data8), { file: F }), /4 trailing bytes/));
  it('size not matching dtype × shape', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8), { file: F }), /needs 12 bytes but data_offsets span 8/, 'a'));
  it('hostile shape cannot overflow the size check', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F64', shape: [2 ** 40, 2 ** 40, 0], data_offsets: [0, 8] } }, data8), { file: F }), /needs/, 'a'));
  it('negative or fractional shapes', () => {
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data8), { file: F }), /shape/, 'a');
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, data8), { file: F }), /shape/, 'a');
  });
  it('unknown dtype', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 8] } }, data8), { file: F }), /unknown dtype "F128"/, 'a'));
  it('known but unsupported dtype', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, data8), { file: F }), /not supported/, 'a'));
  it('duplicate names', () =>
    expectWFE(
      () =>
        readSafetensors(
          craftSafetensors(null, data8, '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'),
          { file: F },
        ),
      /duplicate tensor name "a"/,
      'a',
    ));
  it('duplicate detection is not fooled by names inside values or escapes', () => {
    const h = '{"__metadata__": {"a": "x\\"a"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}';
    expect(readSafetensors(craftSafetensors(null, data8, h), { file: F }).tensors.get('a')!.data[1]).toBe(2);
  });
  it('NaN and Inf are rejected by default, allowed when asked', () => {
    const b = craftSafetensors(good, f32bytes([1, NaN]));
    expectWFE(() => readSafetensors(b, { file: F }), /non-finite value \(NaN\) at flat index 1/, 'a');
    expectWFE(() => readSafetensors(craftSafetensors(good, f32bytes([-Infinity, 1])), { file: F }), /-Infinity/, 'a');
    expect(Number.isNaN(readSafetensors(b, { file: F, checkFinite: false }).tensors.get('a')!.data[1])).toBe(true);
  });
  it('metadata values must be strings', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ __metadata__: { v: 1 }, ...good }, data8), { file: F }), /__metadata__\["v"\] is not a string/));
  it('missing data_offsets', () =>
    expectWFE(() => readSafetensors(craftSafetensors({ a: { dtype: 'F32', shape: [2] } }, data8), { file: F }), /data_offsets/, 'a'));
  it('header parse alone touches no data', () => {
    const h = parseSafetensorsHeader(craftSafetensors(good, data8), F);
    expect(h.entries[0]).toMatchObject({ name: 'a', dtype: 'F32', shape: [2] });
  });
});

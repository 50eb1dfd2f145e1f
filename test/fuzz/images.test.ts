/** Fuzzing the image decoders (PNG, JPEG, BMP): mutated valid files and raw bytes behind each magic number. */
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { describe, expect } from 'vitest';
import { maxImagePixels } from '../../src/data/image_limits';
import { DataError } from '../../src/data/types';
import { decodeImage, imageSizeOf } from '../../src/node/data_image';
import { crc32 } from '../../src/node/data_zip';
import { encodeBmp, encodePngRaw } from '../data/encoders';
import { expectDocumented, fuzz, mutated, reportTo, withMagic } from './harness';

reportTo('images');

const ramp = (n: number, mod: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) % mod);
const PNGS = [
  encodePngRaw(7, 5, ramp(35, 256), 0, 8),
  encodePngRaw(6, 4, ramp(24, 65536), 0, 16),
  encodePngRaw(9, 3, ramp(27, 2), 0, 1),
  encodePngRaw(5, 4, ramp(60, 256), 2, 8),
  encodePngRaw(4, 4, ramp(64, 256), 6, 8),
  encodePngRaw(4, 3, ramp(24, 256), 4, 8),
  encodePngRaw(5, 5, ramp(25, 4), 3, 2, [[0, 0, 0], [80, 90, 100], [200, 10, 30], [255, 255, 255]]),
].map((b) => new Uint8Array(b));
const JPEGS = [16, 24].map((s) => new Uint8Array(jpeg.encode({ width: s, height: s - 5, data: Uint8Array.from(ramp(4 * s * (s - 5), 256)) }, 80).data));
const BMPS = [
  encodeBmp(5, 3, ramp(15, 4), 8, [[0, 0, 0], [60, 60, 60], [120, 120, 120], [250, 250, 250]]),
  encodeBmp(6, 4, ramp(72, 256), 24),
  encodeBmp(9, 2, ramp(18, 2), 1, [[0, 0, 0], [255, 255, 255]], true),
  encodeBmp(5, 5, ramp(25, 16), 4, Array.from({ length: 16 }, (_, i) => [i * 16, i * 8, i * 4] as [number, number, number])),
].map((b) => new Uint8Array(b));

/** Makes every chunk CRC of a (mutated) PNG consistent again, so the decoder meets the damage itself. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const out = b.slice();
  const dv = new DataView(out.buffer);
  for (let off = 8; off + 12 <= out.length;) {
    const len = dv.getUint32(off);
    if (off + 12 + len > out.length) break;
    dv.setUint32(off + 8 + len, crc32(out.subarray(off + 4, off + 8 + len)));
    off += 12 + len;
  }
  return out;
}

/** A decode either fails with a DataError naming the file or yields a sane, deterministic image. */
async function checkDecode(bytes: Uint8Array): Promise<Error | void> {
  const name = 'fuzz-input.img';
  const r = await expectDocumented(() => decodeImage(bytes, name), [DataError], name);
  if ('error' in r) return r.error;
  const img = r.value;
  expect(img.width * img.height).toBeLessThanOrEqual(maxImagePixels());
  expect(img.data.length).toBe(img.width * img.height);
  const top = 2 ** img.bitDepth - 1 + 1e-3;
  for (const v of img.data) if (!(v >= 0 && v <= top)) expect.fail(`sample ${v} outside 0..${top}`);
  // memory that was never written differs from run to run: decode again and compare bit for bit
  const again = decodeImage(bytes, name);
  expect(Buffer.from(again.data.buffer).equals(Buffer.from(img.data.buffer)), 'second decode differs').toBe(true);
  // the header-only size agrees with the decoded size
  let size: { width: number; height: number } | undefined;
  try { size = imageSizeOf(bytes, name); } catch { /* header reader may refuse what the decoder recovered */ }
  if (size) expect(size).toEqual({ width: img.width, height: img.height });
}

describe('fuzz: image decoders', () => {
  fuzz('PNG, mutated', mutated(PNGS), checkDecode, { quickRuns: 80 });
  fuzz('PNG, mutated with consistent CRCs', mutated(PNGS).map(fixPngCrcs), checkDecode, { quickRuns: 80 });
  fuzz('PNG, raw bytes after the signature', withMagic([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), checkDecode, { quickRuns: 40 });
  fuzz('JPEG, mutated', mutated(JPEGS), checkDecode, { quickRuns: 60, longScale: 0.5 });
  fuzz('JPEG, raw bytes after SOI', withMagic([0xff, 0xd8, 0xff]), checkDecode, { quickRuns: 40 });
  fuzz('BMP, mutated', mutated(BMPS), checkDecode, { quickRuns: 80 });
  fuzz('BMP, raw bytes after BM', withMagic([0x42, 0x4d], 128), checkDecode, { quickRuns: 40 });
  fuzz('any bytes', fc.uint8Array({ maxLength: 64 }), checkDecode, { quickRuns: 20 });
});

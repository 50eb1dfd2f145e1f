import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/types';
import { decodeImage, imageSizeOf, readImage, readImageSize } from '../../src/node/data_image';
import { itShared, SHARED_DATA as DATA } from '../helpers/shared_data';
import { encodeBmp, encodePngRaw } from './encoders';

const dir = mkdtempSync(join(tmpdir(), 'osteo-img-'));
const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;

function expectDataError(f: () => unknown, ...parts: string[]): DataError {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(DataError);
  for (const p of parts) expect((err as Error).message).toContain(p);
  return err as DataError;
}

describe('PNG', () => {
  const w = 5, h = 3;
  const grey = Array.from({ length: w * h }, (_, i) => (i * 17) % 256);
  it('8-bit grey', () => {
    const img = decodeImage(encodePngRaw(w, h, grey, 0, 8), 'g8.png');
    expect([img.width, img.height, img.bitDepth]).toEqual([w, h, 8]);
    expect(Array.from(img.data)).toEqual(grey);
  });
  it('16-bit grey keeps the full range', () => {
    const g16 = grey.map((v) => v * 257 + 3);
    const img = decodeImage(encodePngRaw(w, h, g16, 0, 16), 'g16.png');
    expect(img.bitDepth).toBe(16);
    expect(Array.from(img.data)).toEqual(g16);
  });
  it('4-bit grey', () => {
    const g4 = grey.map((v) => v % 16);
    const img = decodeImage(encodePngRaw(w, h, g4, 0, 4), 'g4.png');
    expect(img.bitDepth).toBe(4);
    expect(Array.from(img.data)).toEqual(g4);
  });
  it('RGB, RGBA and grey+alpha become luma', () => {
    const rgb = grey.flatMap((v, i) => [v, (v * 3) % 256, (i * 40) % 256]);
    const want = grey.map((v, i) => luma(v, (v * 3) % 256, (i * 40) % 256));
    const a = decodeImage(encodePngRaw(w, h, rgb, 2, 8), 'rgb.png');
    const rgba = grey.flatMap((v, i) => [v, (v * 3) % 256, (i * 40) % 256, 128]);
    const b = decodeImage(encodePngRaw(w, h, rgba, 6, 8), 'rgba.png');
    const ga = decodeImage(encodePngRaw(w, h, grey.flatMap((v) => [v, 7]), 4, 8), 'ga.png');
    for (let i = 0; i < w * h; i++) {
      expect(a.data[i]).toBeCloseTo(want[i]!, 3);
      expect(b.data[i]).toBeCloseTo(want[i]!, 3);
    }
    expect(Array.from(ga.data)).toEqual(grey);
  });
  it('palette', () => {
    const pal: [number, number, number][] = [[0, 0, 0], [200, 200, 200], [10, 100, 250]];
    const idx = grey.map((v) => v % 3);
    const img = decodeImage(encodePngRaw(w, h, idx, 3, 8, pal), 'pal.png');
    expect(img.bitDepth).toBe(8);
    idx.forEach((k, i) => expect(img.data[i]).toBeCloseTo(luma(...pal[k]!), 3));
  });
  itShared('real sample: 8-bit grey hand and chest images', () => {
    const img = readImage(join(DATA, 'shenzhen-chest/images/CHNCXR_0001_0.png'));
    expect([img.width, img.height, img.bitDepth]).toEqual([750, 730, 8]);
    expect(readImageSize(join(DATA, 'hand-dha/images/3167.png'))).toEqual({ width: 1600, height: 2350 });
  });
  it('truncated or corrupt PNG → DataError naming the file', () => {
    const good = encodePngRaw(40, 30, new Array(1200).fill(9), 0, 8);
    const p = join(dir, 'trunc.png');
    writeFileSync(p, good.subarray(0, good.length - 30));
    expectDataError(() => readImage(p), p, 'PNG');
    const bad = Buffer.from(good); bad[40] ^= 0xff; // inside IDAT: CRC mismatch
    expectDataError(() => decodeImage(bad, 'crc.png'), 'crc.png');
    expectDataError(() => decodeImage(Buffer.from('hello world'), 'text.png'), 'text.png', 'not a PNG');
    expectDataError(() => readImage(join(dir, 'nope.png')), 'nope.png', 'ENOENT');
  });
});

describe('JPEG', () => {
  it('decodes grey content and reports its size from the header', () => {
    const w = 32, h = 24;
    const px = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) { const v = (i % w) * 8; px[4 * i] = px[4 * i + 1] = px[4 * i + 2] = v; px[4 * i + 3] = 255; }
    const enc = jpeg.encode({ width: w, height: h, data: px }, 95).data;
    const img = decodeImage(enc, 'ramp.jpg');
    expect([img.width, img.height, img.bitDepth]).toEqual([w, h, 8]);
    let maxErr = 0;
    for (let i = 0; i < w * h; i++) maxErr = Math.max(maxErr, Math.abs(img.data[i]! - (i % w) * 8));
    expect(maxErr).toBeLessThan(12);
    expect(imageSizeOf(enc, 'ramp.jpg')).toEqual({ width: w, height: h });
  });
  itShared('real ISBI JPEG (RGB with grey content)', () => {
    const p = join(DATA, 'isbi2015-ceph-train/images/001.jpg');
    expect(readImageSize(p)).toEqual({ width: 1935, height: 2400 });
    const img = readImage(p);
    expect([img.width, img.height]).toEqual([1935, 2400]);
    let mx = 0;
    for (const v of img.data) mx = Math.max(mx, v);
    expect(mx).toBeGreaterThan(100);
  });
  it('truncated JPEG → DataError naming the file', () => {
    // a generated 320x240 RGB noise JPEG: large enough that each cut lands in a different segment
    const w = 320, h = 240;
    const px = new Uint8Array(w * h * 4);
    let a = 12345;
    for (let i = 0; i < px.length; i++) { a = (a * 1103515245 + 12345) >>> 0; px[i] = i % 4 === 3 ? 255 : (a >>> 24); }
    const bytes = Buffer.from(jpeg.encode({ width: w, height: h, data: px }, 90).data);
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const keep of [bytes.length - 5000, 2000, 300, 10]) {
      const p = join(dir, `trunc${keep}.jpg`);
      writeFileSync(p, bytes.subarray(0, keep));
      expectDataError(() => readImage(p), p, 'JPEG');
    }
  });
});

describe('BMP', () => {
  const w = 7, h = 5; // 7 px rows need padding at 8 and 24 bits
  const idx = Array.from({ length: w * h }, (_, i) => (i * 5) % 256);
  const greyPal = Array.from({ length: 256 }, (_, i) => [i, i, i] as [number, number, number]);
  it('8-bit palette, bottom-up and top-down', () => {
    for (const topDown of [false, true]) {
      const img = decodeImage(encodeBmp(w, h, idx, 8, greyPal, topDown), 'p8.bmp');
      expect([img.width, img.height, img.bitDepth]).toEqual([w, h, 8]);
      expect(Array.from(img.data)).toEqual(idx);
    }
  });
  it('colour palette and 4-bit, 1-bit', () => {
    const pal: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [90, 90, 90]];
    const small = idx.map((v) => v % 4);
    const img = decodeImage(encodeBmp(w, h, small, 4, pal), 'p4.bmp');
    small.forEach((k, i) => expect(img.data[i]).toBeCloseTo(luma(...pal[k]!), 3));
    const bits = idx.map((v) => v % 2);
    const one = decodeImage(encodeBmp(w, h, bits, 1, [[0, 0, 0], [255, 255, 255]]), 'p1.bmp');
    expect(Array.from(one.data)).toEqual(bits.map((b) => b * 255));
  });
  it('24-bit', () => {
    const rgb = idx.flatMap((v, i) => [v, 255 - v, (i * 3) % 256]);
    const img = decodeImage(encodeBmp(w, h, rgb, 24), 'c24.bmp');
    idx.forEach((v, i) => expect(img.data[i]).toBeCloseTo(luma(v, 255 - v, (i * 3) % 256), 3));
    expect(imageSizeOf(encodeBmp(w, h, rgb, 24), 'c24.bmp')).toEqual({ width: w, height: h });
  });
  it('truncated, RLE, bad palette index → DataError', () => {
    const b = encodeBmp(w, h, idx, 8, greyPal);
    expectDataError(() => decodeImage(b.subarray(0, b.length - 3), 'short.bmp'), 'short.bmp', 'truncated');
    expectDataError(() => decodeImage(b.subarray(0, 20), 'tiny.bmp'), 'tiny.bmp');
    const rle = Buffer.from(b); rle.writeUInt32LE(1, 30);
    expectDataError(() => decodeImage(rle, 'rle.bmp'), 'rle.bmp', 'RLE');
    const few = encodeBmp(w, h, idx.map((v) => v % 8), 8, greyPal.slice(0, 4));
    expectDataError(() => decodeImage(few, 'pal.bmp'), 'pal.bmp', 'palette index');
  });
});

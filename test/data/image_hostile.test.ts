/**
 * Hostile images (issue 10, F1/F2): a header that claims a huge size is refused before anything is
 * allocated, naming the limit and how to raise it; PNG image data that does not inflate cleanly to
 * the size the header implies is an error, never pixels from memory that was never written.
 */
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS_ENV } from '../../src/data/image_limits';
import { DataError } from '../../src/data/types';
import { crc32 } from '../../src/node/data_zip';
import { decodeImage } from '../../src/node/data_image';
import { decodeImageBrowser } from '../../src/data/image_browser';
import { encodeBmp, encodePngRaw } from './encoders';

function errorOf(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

/** Offset of the first chunk of `type` (its length field). */
function chunkAt(png: Buffer, type: string): number {
  for (let off = 8; off < png.length; off += 12 + png.readUInt32BE(off)) if (png.toString('latin1', off + 4, off + 8) === type) return off;
  throw new Error(`no ${type}`);
}

/** Recomputes a chunk's CRC after its data was edited, so only the content is wrong. */
function fixCrc(png: Buffer, off: number): void {
  const len = png.readUInt32BE(off);
  png.writeUInt32BE(crc32(png.subarray(off + 4, off + 8 + len)), off + 8 + len);
}

/** A PNG whose IHDR says w x h but whose IDAT holds `rows` rows of zeros (a decompression bomb when h is large). */
function bombPng(w: number, h: number): Buffer {
  const small = encodePngRaw(4, 4, new Array(16).fill(0), 0, 8);
  const ihdr = chunkAt(small, 'IHDR');
  const b = Buffer.from(small);
  b.writeUInt32BE(w, ihdr + 8); b.writeUInt32BE(h, ihdr + 12);
  fixCrc(b, ihdr);
  return b;
}

afterEach(() => { delete process.env[MAX_IMAGE_PIXELS_ENV]; });

describe('F1: image size limit, checked from the header before decoding', () => {
  it('a PNG claiming 30000x30000 is refused at once, naming the limit and the variable that raises it', () => {
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const e = errorOf(() => decodeImage(bombPng(30000, 30000), 'bomb.png'));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20);
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain('bomb.png');
    expect(e.message).toContain('30000x30000');
    expect(e.message).toContain(`${DEFAULT_MAX_IMAGE_PIXELS / 1e6} megapixels`);
    expect(e.message).toContain(`${MAX_IMAGE_PIXELS_ENV}=`);
  });

  it('the limit holds for PNG, JPEG and BMP alike, and the variable raises it', () => {
    process.env[MAX_IMAGE_PIXELS_ENV] = '100';
    const png = encodePngRaw(20, 20, new Array(400).fill(7), 0, 8);
    const jpg = Buffer.from(jpeg.encode({ width: 20, height: 20, data: new Uint8Array(1600).fill(128) }, 90).data);
    const bmp = encodeBmp(20, 20, new Array(1200).fill(50), 24);
    for (const [bytes, name] of [[png, 'a.png'], [jpg, 'a.jpg'], [bmp, 'a.bmp']] as const) {
      const e = errorOf(() => decodeImage(bytes, name));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(new RegExp(`^${name.replace('.', '\\.')}: .*20x20.*limit.*${MAX_IMAGE_PIXELS_ENV}`));
    }
    process.env[MAX_IMAGE_PIXELS_ENV] = '400';
    for (const bytes of [png, jpg, bmp]) expect(decodeImage(bytes, 'ok').width).toBe(20);
  });

  it('a JPEG or BMP header claiming a huge size is refused before decoding', () => {
    const jpg = Buffer.from(jpeg.encode({ width: 16, height: 16, data: new Uint8Array(1024).fill(90) }, 90).data);
    for (let i = 2; i < jpg.length; i++) {
      if (jpg[i] === 0xff && jpg[i + 1] === 0xc0) { jpg.writeUInt16BE(40000, i + 5); jpg.writeUInt16BE(40000, i + 7); break; }
    }
    expect(errorOf(() => decodeImage(jpg, 'huge.jpg')).message).toContain('40000x40000');
    const bmp = encodeBmp(4, 4, new Array(48).fill(1), 24);
    bmp.writeInt32LE(50000, 18); bmp.writeInt32LE(50000, 22);
    expect(errorOf(() => decodeImage(bmp, 'huge.bmp')).message).toContain('50000x50000');
  });
});

describe('F2: PNG image data must inflate to exactly what the header implies', () => {
  const w = 64, h = 64;
  const px = Array.from({ length: w * h }, (_, i) => (i * 7) & 255);
  const good = encodePngRaw(w, h, px, 0, 8);
  const idat = chunkAt(good, 'IDAT');
  const len = good.readUInt32BE(idat);

  it('corrupt compressed data with consistent checksums → DataError, never pixels that were never written', () => {
    let errors = 0;
    for (let t = 0; t < 60; t++) {
      const b = Buffer.from(good);
      b[idat + 8 + 2 + ((t * 37) % (len - 6))]! ^= 1 << (t % 8);
      fixCrc(b, idat);
      let img;
      try { img = decodeImage(b, 'flip.png'); } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        expect((e as Error).message).toMatch(/^flip\.png: corrupt/);
        errors++;
        continue;
      }
      // zlib's Adler-32 makes a changed stream an error; a decode that passes must be the true image
      expect(Array.from(img.data)).toEqual(px);
    }
    expect(errors).toBeGreaterThan(50);
  });

  it('an interlaced (Adam7) PNG still decodes: the expected length counts each pass', () => {
    for (const [w, h] of [[13, 7], [1, 1], [3, 9], [8, 8]] as const) {
      const px = Array.from({ length: w * h }, (_, i) => (i * 29 + 3) & 255);
      const rows: number[] = [];
      for (const [x0, y0, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]) {
        if (x0 >= w) continue;
        for (let y = y0; y < h; y += dy) {
          rows.push(0); // filter type None
          for (let x = x0; x < w; x += dx) rows.push(px[y * w + x]!);
        }
      }
      const flat = encodePngRaw(w, h, px, 0, 8);
      const ihdr = chunkAt(flat, 'IHDR');
      const b0 = Buffer.from(flat.subarray(0, chunkAt(flat, 'IDAT')));
      b0[ihdr + 8 + 12] = 1; // interlace method Adam7
      fixCrc(b0, ihdr);
      const body = deflateSync(Buffer.from(rows));
      const head = Buffer.alloc(8); head.writeUInt32BE(body.length); head.write('IDAT', 4, 'latin1');
      const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from('IDAT'), body])));
      const iend = flat.subarray(chunkAt(flat, 'IEND'));
      const img = decodeImage(Buffer.concat([b0, head, body, crc, iend]), 'adam7.png');
      expect(Array.from(img.data)).toEqual(px);
    }
  });

  it('image data that inflates short or long (valid zlib) → DataError with both lengths', () => {
    for (const rows of [h - 1, h + 3]) {
      const b0 = Buffer.from(good.subarray(0, idat));
      const body = deflateSync(Buffer.alloc(rows * (w + 1)));
      const head = Buffer.alloc(8); head.writeUInt32BE(body.length); head.write('IDAT', 4, 'latin1');
      const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from('IDAT'), body])));
      const b = Buffer.concat([b0, head, body, crc, good.subarray(idat + 12 + len)]);
      const e = errorOf(() => decodeImage(b, 'len.png'));
      expect(e).toBeInstanceOf(DataError);
      expect(e.message).toMatch(/^len\.png: corrupt/);
    }
  });
});

describe('browser decoder (the same limit, checked from the PNG header before the browser decodes)', () => {
  it('a 30000x30000 PNG header is refused before createImageBitmap is reached', async () => {
    // Node has no createImageBitmap: reaching it would be a ReferenceError, not this DataError
    const err = (await decodeImageBrowser(new Uint8Array(bombPng(30000, 30000)), 'bomb.png').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain('bomb.png');
    expect(err.message).toContain(MAX_IMAGE_PIXELS_ENV);
  });
});

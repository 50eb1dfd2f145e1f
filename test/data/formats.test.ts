/**
 * TIFF, MetaImage and 16-bit / palette PNG round trips: files written by independent writers
 * (libvips through sharp for TIFF and PNG; MetaImage headers as ITK writes them) decode to the
 * pixels that went in, with their spacing; and the specific errors for what is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type TiffOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffFormat } from '../../src/data/formats';
import { decodeMetaImage } from '../../src/data/metaimage';
import { decodeTiff, readTiffInfo } from '../../src/data/tiff';
import { DataError } from '../../src/data/types';
import { decodeImage, imageSizeOf, readImage, readImageSize } from '../../src/node/data_image';
import { encodePngRaw } from './encoders';

const W = 37, H = 23; // odd sizes: partial strips and tiles
const v16 = Array.from({ length: W * H }, (_, i) => (i * 2731 + 17) % 65536);
const v8 = v16.map((v) => v >> 8);

async function tiff(values: number[], depth: 8 | 16, opts: Record<string, unknown>): Promise<Uint8Array> {
  // sharp takes the raw depth from the typed array (a Uint16Array is 16-bit)
  const raw = depth === 16 ? Uint16Array.from(values) : Uint8Array.from(values);
  let img = sharp(raw, { raw: { width: W, height: H, channels: 1 } });
  if (depth === 16) img = img.toColourspace('grey16');
  return new Uint8Array(await img.tiff(opts as TiffOptions).toBuffer());
}

/** Sets an inline SHORT tag of a little-endian TIFF's first IFD; false when the tag is absent. */
function patchShortTag(b: Uint8Array, tag: number, value: number): boolean {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ifd = dv.getUint32(4, true), n = dv.getUint16(ifd, true);
  for (let e = 0; e < n; e++) {
    const o = ifd + 2 + 12 * e;
    if (dv.getUint16(o, true) === tag) { dv.setUint16(o + 8, value, true); return true; }
  }
  return false;
}

describe('TIFF (written by libvips)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['uncompressed strips', { compression: 'none' }],
    ['LZW with horizontal predictor', { compression: 'lzw', predictor: 'horizontal' }],
    ['LZW without predictor', { compression: 'lzw', predictor: 'none' }],
    ['deflate', { compression: 'deflate' }],
    ['PackBits', { compression: 'packbits' }],
    ['tiles 16x16, deflate', { compression: 'deflate', tile: true, tileWidth: 16, tileHeight: 16 }],
  ];
  for (const [label, opts] of cases) {
    for (const depth of [8, 16] as const) {
      it(`${label}, ${depth}-bit grey: the pixels that went in`, async () => {
        const vals = depth === 16 ? v16 : v8;
        const b = await tiff(vals, depth, opts);
        expect(sniffFormat(b)).toBe('tiff');
        const img = decodeTiff(b, 'x.tif');
        expect([img.width, img.height, img.bitDepth]).toEqual([W, H, depth]);
        expect(Array.from(img.data)).toEqual(vals);
        expect(imageSizeOf(b, 'x.tif')).toMatchObject({ width: W, height: H });
      });
    }
  }

  it('resolution in pixels per cm becomes the spacing, with its note; 72 dpi (a writer default) does not', async () => {
    const b = await tiff(v8, 8, { compression: 'none', xres: 100, yres: 100, resolutionUnit: 'cm' });
    // sharp's xres/yres are pixels per mm: 100 px/mm = 0.01 mm per pixel
    const sp = decodeTiff(b, 'r.tif').spacing!;
    expect(sp.x).toBeCloseTo(0.01, 6);
    expect(sp.source).toBe('TIFF resolution');
    expect(sp.note).toMatch(/calibration/);
    const plain = await tiff(v8, 8, { compression: 'none', xres: 72 / 25.4, yres: 72 / 25.4, resolutionUnit: 'inch' });
    expect(decodeTiff(plain, 'p.tif').spacing).toBeUndefined();
  });

  it('refusals name the file and the problem', async () => {
    const b = await tiff(v8, 8, { compression: 'lzw' });
    expect(() => decodeTiff(b.subarray(0, b.length - 40), 'cut.tif')).toThrow(/^cut\.tif: (truncated|corrupt) TIFF/);
    const jpegTiff = new Uint8Array(await sharp(Buffer.from(Uint8Array.from(v8)), { raw: { width: W, height: H, channels: 1 } }).tiff({ compression: 'jpeg' }).toBuffer());
    expect(() => decodeTiff(jpegTiff, 'j.tif')).toThrow(/j\.tif: unsupported TIFF compression 7 \(JPEG\)/);
    const big = b.slice();
    big[2] = 43;
    expect(() => decodeTiff(big, 'big.tif')).toThrow(/BigTIFF/);
    // a 32-bit TIFF: BitsPerSample of a 16-bit one patched (libvips writes float input as 8-bit sRGB)
    const deep = (await tiff(v16, 16, { compression: 'none' })).slice();
    expect(patchShortTag(deep, 258, 32)).toBe(true);
    expect(() => decodeTiff(deep, 'f.tif')).toThrow(DataError);
    expect(() => readTiffInfo(deep, 'f.tif')).toThrow(/f\.tif: unsupported TIFF bit depth 32 .*beyond an X-ray/);
  });
});

function mha(fields: Record<string, string>, data: Uint8Array): Uint8Array {
  const head = `ObjectType = Image\n${Object.entries(fields).map(([k, v]) => `${k} = ${v}\n`).join('')}ElementDataFile = LOCAL\n`;
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + data.length);
  out.set(h); out.set(data, h.length);
  return out;
}
const le16 = (vals: number[], signed = false, msb = false): Uint8Array => {
  const dv = new DataView(new ArrayBuffer(2 * vals.length));
  vals.forEach((v, i) => (signed ? dv.setInt16(2 * i, v, !msb) : dv.setUint16(2 * i, v, !msb)));
  return new Uint8Array(dv.buffer);
};

describe('MetaImage', () => {
  const base = { NDims: '2', DimSize: `${W} ${H}`, ElementSpacing: '0.125 0.25' };
  it('.mha MET_USHORT raw: pixels and ElementSpacing', () => {
    const img = decodeMetaImage(mha({ ...base, ElementType: 'MET_USHORT' }, le16(v16)), 'a.mha');
    expect(Array.from(img.data)).toEqual(v16);
    expect(img.spacing).toEqual({ x: 0.125, y: 0.25, source: 'ElementSpacing' });
  });
  it('big-endian MET_SHORT, zlib-compressed', () => {
    const s = v16.map((v) => v - 32768);
    const img = decodeMetaImage(mha({ ...base, ElementType: 'MET_SHORT', BinaryDataByteOrderMSB: 'True', CompressedData: 'True' }, deflateSync(le16(s, true, true))), 'b.mha');
    expect(Array.from(img.data)).toEqual(s);
  });
  it('MET_UCHAR, 3-D: the first slice, with a note', () => {
    const img = decodeMetaImage(mha({ NDims: '3', DimSize: `${W} ${H} 2`, ElementType: 'MET_UCHAR' }, Uint8Array.from([...v8, ...v8.map((v) => 255 - v)])), 'c.mha');
    expect(Array.from(img.data)).toEqual(v8);
    expect(img.notes).toEqual(['3-D MetaImage: slice 1 of 2 used']);
  });
  it('.mhd with its .raw file, through the Node reader (size and spacing from the header)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-mhd-'));
    writeFileSync(join(dir, 'x.raw'), le16(v16));
    writeFileSync(join(dir, 'x.mhd'), `ObjectType = Image\nNDims = 2\nDimSize = ${W} ${H}\nElementSpacing = 0.1 0.1\nElementType = MET_USHORT\nElementDataFile = x.raw\n`);
    expect(Array.from(readImage(join(dir, 'x.mhd')).data)).toEqual(v16);
    expect(readImageSize(join(dir, 'x.mhd'))).toEqual({ width: W, height: H, spacing: { x: 0.1, y: 0.1, source: 'ElementSpacing' } });
    expect(() => readImage(join(dir, 'missing.mhd'))).toThrow(/cannot read/);
    writeFileSync(join(dir, 'y.mhd'), `NDims = 2\nDimSize = ${W} ${H}\nElementType = MET_USHORT\nElementDataFile = nothere.raw\n`);
    expect(() => readImage(join(dir, 'y.mhd'))).toThrow(/nothere\.raw: cannot read MetaImage data file/);
  });
  it('refusals: wider than 16 bits, truncated, colour, bad header', () => {
    expect(() => decodeMetaImage(mha({ ...base, ElementType: 'MET_FLOAT' }, new Uint8Array(4 * W * H)), 'f.mha')).toThrow(/f\.mha: unsupported MetaImage ElementType MET_FLOAT: more than 16 bits/);
    expect(() => decodeMetaImage(mha({ ...base, ElementType: 'MET_USHORT' }, le16(v16).subarray(0, 100)), 't.mha')).toThrow(/t\.mha: truncated MetaImage/);
    expect(() => decodeMetaImage(mha({ ...base, ElementType: 'MET_UCHAR', ElementNumberOfChannels: '3' }, new Uint8Array(3 * W * H)), 'rgb.mha')).toThrow(/3 channels/);
    expect(() => decodeMetaImage(mha({ NDims: '2', DimSize: '100000 100000', ElementType: 'MET_UCHAR' }, new Uint8Array(4)), 'huge.mha')).toThrow(/past the limit/);
    expect(() => decodeMetaImage(new TextEncoder().encode('ObjectType = Image\nNDims = 2\n'), 'h.mha')).toThrow(/no ElementDataFile/);
  });
});

describe('PNG 16-bit and palette (Node decoder)', () => {
  it('16-bit grey written by libvips: the 16-bit values', async () => {
    const b = await sharp(Uint16Array.from(v16), { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    const img = decodeImage(b, 'x16.png');
    expect(img.bitDepth).toBe(16);
    expect(Array.from(img.data)).toEqual(v16);
  });
  it('palette: luma of the palette colours', () => {
    const pal: [number, number, number][] = [[0, 0, 0], [255, 0, 0], [10, 20, 30], [255, 255, 255]];
    const idx = Array.from({ length: W * H }, (_, i) => i % 4);
    const img = decodeImage(encodePngRaw(W, H, idx, 3, 8, pal), 'p.png');
    const luma = pal.map(([r, g, b]) => 0.299 * r + 0.587 * g + 0.114 * b);
    img.data.forEach((v, i) => expect(v).toBeCloseTo(luma[idx[i]!]!, 3));
  });
});

describe('PNG 16-bit in the browser decoder (own reader: a canvas would keep 8 bits)', () => {
  it('grey, grey+alpha, RGB, RGBA 16-bit: the same pixels as the Node decoder, every filter type', async () => {
    const { decodeImageBrowser } = await import('../../src/data/image_browser');
    for (const [ct, ch] of [[0, 1], [4, 2], [2, 3], [6, 4]] as const) {
      const samples = Array.from({ length: W * H * ch }, (_, i) => (i * 7919 + 13) % 65536);
      // libvips picks filters per row (Paeth, Sub, Up, Average) — the writer here uses filter 0, so write through sharp
      // too
      const mine = encodePngRaw(W, H, samples, ct, 16);
      const viaSharp = await sharp(Uint16Array.from(samples), { raw: { width: W, height: H, channels: ch } }).toColourspace(ch >= 3 ? 'rgb16' : 'grey16').png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer();
      for (const bytes of [mine, viaSharp]) {
        const node = decodeImage(bytes, 'n.png');
        const page = await decodeImageBrowser(new Blob([new Uint8Array(bytes)]), 'p.png');
        expect(page.bitDepth).toBe(16);
        expect([page.width, page.height]).toEqual([W, H]);
        page.data.forEach((v, i) => { if (Math.abs(v - node.data[i]!) > 1e-3) expect.fail(`colour type ${ct}: pixel ${i} ${v} vs ${node.data[i]}`); });
      }
    }
  });
  it('truncated or corrupt 16-bit PNG: a DataError naming the file', async () => {
    const { decodePng16 } = await import('../../src/data/png16');
    const b = encodePngRaw(W, H, v16, 0, 16);
    expect(() => decodePng16(b.subarray(0, b.length - 30), 'cut.png')).toThrow(/^cut\.png: (truncated|corrupt)/);
    const bad = Uint8Array.from(b);
    for (let i = 44; i < 60; i++) bad[i] ^= 0xa5; // inside the deflate stream
    expect(() => decodePng16(bad, 'bad.png')).toThrow(/^bad\.png: (truncated|corrupt)/);
  });
});

/**
 * Fuzzing the DICOM, TIFF and MetaImage decoders: mutated valid files (written by dcmjs, libvips
 * and by hand) and raw bytes behind each magic number. Every input gives a sane image or a
 * DataError naming the file — no TypeError from deep inside, no hang, no unbounded allocation,
 * the same pixels when decoded twice, and a header size that agrees with the decoded one.
 */
import fc from 'fast-check';
import sharp, { type TiffOptions } from 'sharp';
import { describe, expect } from 'vitest';
import { maxImagePixels } from '../../src/data/image_limits';
import { DataError } from '../../src/data/types';
import { decodeImage, imageSizeOf } from '../../src/node/data_image';
import { decodeDicomAsync } from '../../src/data/dicom_codecs';
import { decodePng16 } from '../../src/data/png16';
import { encodePngRaw } from '../data/encoders';
import { codecEncode, TS, writeDicom } from '../data/dicom_writer';
import { expectDocumented, fuzz, mutated, reportTo, withMagic } from './harness';

reportTo('medical');

const ramp = (n: number, mod: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) % mod);
const DICOMS = [
  writeDicom({ width: 6, height: 4, pixels: ramp(24, 65536) }),
  writeDicom({ width: 5, height: 3, pixels: ramp(15, 4096), bitsStored: 12, photometric: 'MONOCHROME1', pixelSpacing: [0.1, 0.1], transferSyntax: TS.implicit }),
  writeDicom({ width: 4, height: 4, pixels: ramp(16, 65536), signed: true, slope: 2, intercept: -1024, window: [40, 400], transferSyntax: TS.bigEndian }),
  writeDicom({ width: 7, height: 2, pixels: ramp(14, 256), bitsAllocated: 8, transferSyntax: TS.deflate, imagerPixelSpacing: [0.2, 0.2] }),
  writeDicom({ width: 6, height: 5, pixels: ramp(30, 65536), transferSyntax: TS.rle }),
  writeDicom({ width: 8, height: 8, pixels: ramp(64, 256), bitsAllocated: 8, transferSyntax: TS.jpegBaseline }),
  writeDicom({ width: 3, height: 3, pixels: ramp(18, 65536), frames: 2 }),
  writeDicom({ width: 9, height: 5, pixels: ramp(45, 65536), transferSyntax: TS.jpegLossless }),
  writeDicom({ width: 6, height: 6, pixels: ramp(36, 256), bitsAllocated: 8, transferSyntax: TS.jpegLossless }),
];
const G = 32;
const px12 = Uint16Array.from({ length: G * G }, (_, i) => (i * 37) % 4096);
const WASM_DICOMS = [
  writeDicom({ width: G, height: G, pixels: [0], bitsStored: 12, transferSyntax: TS.jpegLS, encapsulated: await codecEncode('jpegls', px12, G, G, 12) }),
  writeDicom({ width: G, height: G, pixels: [0], bitsStored: 12, transferSyntax: TS.jpeg2000, encapsulated: await codecEncode('j2k', px12, G, G, 12) }),
];
const TIFFS = await Promise.all([
  { compression: 'none' }, { compression: 'lzw', predictor: 'horizontal' }, { compression: 'deflate' }, { compression: 'packbits' },
  { compression: 'deflate', tile: true, tileWidth: 16, tileHeight: 16 },
].map(async (o, i) => {
  const px = i % 2 ? Uint16Array.from(ramp(19 * 7, 65536)) : Uint8Array.from(ramp(19 * 7, 256));
  let img = sharp(px, { raw: { width: 19, height: 7, channels: 1 } });
  if (i % 2) img = img.toColourspace('grey16');
  return new Uint8Array(await img.tiff(o as TiffOptions).toBuffer());
}));
const mha = (head: string, data: number[]) => {
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + data.length);
  out.set(h); out.set(data, h.length);
  return out;
};
const MHAS = [
  mha('ObjectType = Image\nNDims = 2\nDimSize = 5 4\nElementSpacing = 0.1 0.2\nElementType = MET_USHORT\nElementDataFile = LOCAL\n', ramp(40, 256)),
  mha('ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementType = MET_CHAR\nBinaryDataByteOrderMSB = True\nElementDataFile = LOCAL\n', ramp(24, 256)),
];

async function checkDecode(bytes: Uint8Array, name: string): Promise<Error | void> {
  const r = await expectDocumented(() => decodeImage(bytes, name), [DataError], name);
  if ('error' in r) return r.error;
  const img = r.value;
  expect(img.width * img.height).toBeLessThanOrEqual(maxImagePixels());
  expect(img.data.length).toBe(img.width * img.height);
  for (const v of img.data) if (!Number.isFinite(v)) expect.fail(`sample ${v} is not finite`);
  if (img.spacing) expect(img.spacing.x > 0 && img.spacing.y > 0 && Number.isFinite(img.spacing.x) && Number.isFinite(img.spacing.y)).toBe(true);
  const again = decodeImage(bytes, name);
  expect(Buffer.from(again.data.buffer).equals(Buffer.from(img.data.buffer)), 'second decode differs').toBe(true);
  let size: { width: number; height: number } | undefined;
  try { size = imageSizeOf(bytes, name); } catch { /* the header reader may refuse what the decoder recovered */ }
  if (size) expect({ width: size.width, height: size.height }).toEqual({ width: img.width, height: img.height });
}

const dicmPrefix = [...new Array(128).fill(0), 0x44, 0x49, 0x43, 0x4d];

describe('fuzz: DICOM, TIFF, MetaImage decoders', () => {
  fuzz('DICOM, mutated', mutated(DICOMS), (b) => checkDecode(b, 'fuzz-input.dcm'), { quickRuns: 200 });
  fuzz('DICOM JPEG-LS / JPEG 2000 (WASM codecs), mutated', mutated(WASM_DICOMS), async (b) => {
    const r = await expectDocumented(() => decodeDicomAsync(b, 'fuzz-input.dcm'), [DataError], 'fuzz-input.dcm');
    if ('error' in r) return r.error;
    for (const v of r.value.data) if (!Number.isFinite(v)) expect.fail(`sample ${v} is not finite`);
  }, { quickRuns: 100 });
  fuzz('DICOM JPEG-LS / JPEG 2000, mutated, through Node\'s synchronous reader (codec worker)', mutated(WASM_DICOMS), (b) => checkDecode(b, 'fuzz-input.dcm'), { quickRuns: 60 });
  fuzz('16-bit PNG (browser decoder), mutated', mutated([0, 2, 4, 6].map((ct) => new Uint8Array(encodePngRaw(7, 5, ramp(7 * 5 * ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[ct]!, 65536), ct as 0 | 2 | 4 | 6, 16)))), (b) => {
    const name = 'fuzz-input.png';
    let img;
    try { img = decodePng16(b, name); } catch (e) {
      if (!(e instanceof DataError) || !e.message.startsWith(name)) throw e;
      return e;
    }
    for (const v of img.data) if (!(v >= 0 && v <= 65535)) expect.fail(`sample ${v} outside 0..65535`);
  }, { quickRuns: 150 });
  fuzz('DICOM, raw bytes after the preamble and DICM', withMagic(dicmPrefix, 512), (b) => checkDecode(b, 'fuzz-input.dcm'), { quickRuns: 60 });
  fuzz('TIFF, mutated', mutated(TIFFS), (b) => checkDecode(b, 'fuzz-input.tif'), { quickRuns: 150 });
  fuzz('TIFF, raw bytes after II*', withMagic([0x49, 0x49, 42, 0], 256), (b) => checkDecode(b, 'fuzz-input.tif'), { quickRuns: 60 });
  fuzz('MetaImage, mutated', mutated(MHAS), (b) => checkDecode(b, 'fuzz-input.mha'), { quickRuns: 120 });
  fuzz('MetaImage, raw text after ObjectType', fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(`ObjectType = Image\n${s}`)), (b) => checkDecode(b, 'fuzz-input.mha'), { quickRuns: 60 });
});

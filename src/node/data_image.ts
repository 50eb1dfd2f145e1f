/**
 * Image decoding in Node: PNG (pngjs: 1–16-bit grey, grey+alpha, RGB, RGBA, palette), JPEG
 * (jpeg-js, baseline and progressive), BMP (own reader: 1/4/8-bit palette, 24-bit, 32-bit) to a
 * grey Float32 image in the source's own range (0..2^bitDepth-1). Colour becomes Rec. 601 luma
 * (0.299 R + 0.587 G + 0.114 B, as PIL's 'L'); alpha is ignored. DICOM, TIFF and MetaImage go to
 * the host-neutral decoders of src/data (the same ones the browser uses). Any malformed or
 * truncated file throws a DataError naming the file.
 */
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeDicom, DicomCodecNeeded, readDicomInfo } from '../data/dicom';
import { decodeDicomAsync } from '../data/dicom_codecs';
import { KNOWN_FORMATS, sniffFormat, type ImageFormat } from '../data/formats';
import { checkImageSize } from '../data/image_limits';
import { decodeMetaImage, metaImageDataFile, readMetaImageInfo } from '../data/metaimage';
import { decodeTiff, readTiffInfo } from '../data/tiff';
import { DataError, type GreyImage, type PixelSpacing } from '../data/types';
import { decodeDicomWasmSync } from './decode_codec_sync';

export { sniffFormat, type ImageFormat };

/** Decodes a file's bytes; `name` is used in error messages. */
export function decodeImage(bytes: Uint8Array, name: string): GreyImage {
  const fmt = sniffFormat(bytes);
  switch (fmt) {
    case 'png': return decodePng(bytes, name);
    case 'jpeg': return decodeJpeg(bytes, name);
    case 'bmp': return decodeBmp(bytes, name);
    case 'dicom': return decodeDicomNode(bytes, name);
    case 'tiff': return decodeTiff(bytes, name);
    case 'metaimage': return decodeMetaImage(bytes, name);
    default: throw unknownFormat(bytes, name);
  }
}

/** DICOM in any syntax osteo reads: JPEG-LS / JPEG 2000 frames go through the codec worker. */
function decodeDicomNode(bytes: Uint8Array, name: string): GreyImage {
  try {
    return decodeDicom(bytes, name);
  } catch (e) {
    if (e instanceof DicomCodecNeeded) return decodeDicomWasmSync(bytes, name);
    throw e;
  }
}

function readBytes(path: string, what = 'image'): Buffer {
  try { return readFileSync(path); } catch (e) {
    throw new DataError(path, undefined, `cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A MetaImage header (.mhd) names its pixel file; the bytes of that file, or undefined for LOCAL (.mha). */
function metaImageData(header: Uint8Array, path: string): Uint8Array | undefined {
  const file = metaImageDataFile(header, path);
  return file === undefined ? undefined : readBytes(resolve(dirname(path), file), `MetaImage data file of ${path}`);
}

export function readImage(path: string): GreyImage {
  const bytes = readBytes(path);
  if (sniffFormat(bytes) === 'metaimage') return decodeMetaImage(bytes, path, metaImageData(bytes, path));
  return decodeImage(bytes, path);
}

/** decodeImage, plus the DICOM syntaxes whose WASM codec loads asynchronously (JPEG-LS, JPEG 2000). */
export async function decodeImageAsync(bytes: Uint8Array, name: string): Promise<GreyImage> {
  return sniffFormat(bytes) === 'dicom' ? decodeDicomAsync(bytes, name) : decodeImage(bytes, name);
}

/** readImage, plus the DICOM syntaxes whose WASM codec loads asynchronously (JPEG-LS, JPEG 2000). */
export async function readImageAsync(path: string): Promise<GreyImage> {
  const bytes = readBytes(path);
  return sniffFormat(bytes) === 'dicom' ? decodeDicomAsync(bytes, path) : readImage(path);
}

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

function fromInterleaved(src: ArrayLike<number>, w: number, h: number, channels: number, colour: boolean, bitDepth: number): GreyImage {
  const data = new Float32Array(w * h);
  for (let i = 0, j = 0; i < data.length; i++, j += channels) {
    data[i] = colour ? luma(src[j]!, src[j + 1]!, src[j + 2]!) : src[j]!;
  }
  return { width: w, height: h, data, bitDepth };
}

// ---------------------------------------------------------------------------------------------- PNG

/** Samples per pixel of each PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** Bytes the zlib stream of a PNG must inflate to: per row one filter byte + the packed samples. */
export function pngInflatedLength(w: number, h: number, colorType: number, depth: number, interlace: boolean): number {
  const row = (pw: number): number => 1 + Math.ceil((pw * PNG_CHANNELS[colorType]! * depth) / 8);
  if (!interlace) return h * row(w);
  let n = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const pw = Math.ceil((w - x0) / dx), ph = Math.ceil((h - y0) / dy);
    if (pw > 0 && ph > 0) n += ph * row(pw);
  }
  return n;
}

/**
 * Checks a PNG before pngjs sees it: the header's size against the image limit (a decompression
 * bomb is refused before anything is allocated), and that the image data inflates without a zlib
 * error to exactly the length the header implies. pngjs's synchronous inflate swallows zlib errors
 * and hands back a buffer from Buffer.allocUnsafe, i.e. memory that was never written (F2).
 */
function pngPrecheck(b: Uint8Array, name: string): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 33 || dv.getUint32(8) !== 13 || String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') {
    throw new DataError(name, undefined, 'corrupt or truncated PNG: no IHDR header');
  }
  const width = dv.getUint32(16), height = dv.getUint32(20), depth = b[24]!, colorType = b[25]!, interlace = b[28]!;
  checkImageSize(width, height, name, 'PNG');
  if (!PNG_DEPTHS[colorType]?.includes(depth)) throw new DataError(name, undefined, `corrupt PNG: colour type ${colorType} with bit depth ${depth}`);
  if (interlace > 1) throw new DataError(name, undefined, `corrupt PNG: interlace method ${interlace}`);
  const idat: Uint8Array[] = [];
  let off = 8;
  for (;;) {
    if (off + 8 > b.length) throw new DataError(name, undefined, 'truncated PNG: no IEND chunk');
    const len = dv.getUint32(off);
    const type = String.fromCharCode(b[off + 4]!, b[off + 5]!, b[off + 6]!, b[off + 7]!);
    if (off + 12 + len > b.length) throw new DataError(name, undefined, `truncated PNG: ${type} chunk at byte ${off} needs ${len} bytes`);
    if (type === 'IDAT') idat.push(b.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  if (!idat.length) throw new DataError(name, undefined, 'corrupt PNG: no image data (IDAT)');
  const expected = pngInflatedLength(width, height, colorType, depth, interlace === 1);
  let inflated: Buffer;
  try {
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: expected });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ERR_BUFFER_TOO_LARGE' ? `more than the ${expected} bytes a ${width}x${height} image needs` : (e as Error).message;
    throw new DataError(name, undefined, `corrupt PNG: image data does not inflate (${why})`);
  }
  if (inflated.length !== expected) {
    throw new DataError(name, undefined, `corrupt or truncated PNG: image data inflates to ${inflated.length} bytes, a ${width}x${height} image needs ${expected}`);
  }
}

export function decodePng(bytes: Uint8Array, name: string): GreyImage {
  pngPrecheck(bytes, name);
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (e) {
    throw new DataError(name, undefined, `corrupt or truncated PNG: ${(e as Error).message}`);
  }
  const { width, height, depth, palette, color } = png;
  const data = png.data as unknown as ArrayLike<number>;
  if (!width || !height || data.length < width * height * 4) throw new DataError(name, undefined, 'corrupt PNG: short pixel data');
  // pngjs expands every colour type to RGBA; palettes become 8-bit colours.
  return fromInterleaved(data, width, height, 4, color, palette ? 8 : depth);
}

// --------------------------------------------------------------------------------------------- JPEG

export function decodeJpeg(bytes: Uint8Array, name: string): GreyImage {
  const sos = jpegCheckStructure(bytes, name);
  // A truncated entropy-coded segment loses the end-of-image marker; jpeg-js would accept it silently.
  let eoi = -1;
  for (let i = bytes.length - 2; i >= sos; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) { eoi = i; break; }
  if (eoi < 0) throw new DataError(name, undefined, 'truncated JPEG: no end-of-image marker after the scan');
  const { width, height } = jpegSize(bytes, name);
  checkImageSize(width, height, name, 'JPEG');
  let img: { width: number; height: number; data: Uint8Array };
  try {
    // The size was checked above; jpeg-js's own caps are set past it so they never disagree.
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: Math.ceil((width * height) / 1e6) + 1, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new DataError(name, undefined, `corrupt JPEG: ${(e as Error).message}`);
  }
  // jpeg-js always returns 3 channels here; grey JPEGs come back with R = G = B.
  return fromInterleaved(img.data, img.width, img.height, 3, true, 8);
}

/** Walks the marker segments up to the first SOS; returns its offset. */
function jpegCheckStructure(b: Uint8Array, name: string): number {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new DataError(name, undefined, `corrupt JPEG: expected a marker at byte ${i}`);
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) { i += 2; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (i + 2 + len > b.length) break;
    if (m === 0xda) return i;
    i += 2 + len;
  }
  throw new DataError(name, undefined, 'truncated JPEG: no complete scan header');
}

/** JPEG frame size from its SOF header, without decoding. */
function jpegSize(b: Uint8Array, name: string): { width: number; height: number } {
  let i = 2;
  while (i + 9 <= b.length) {
    if (b[i] !== 0xff) break;
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; }
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) { i += 2; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    }
    i += 2 + len;
  }
  throw new DataError(name, undefined, 'corrupt or truncated JPEG: no frame header');
}

// ---------------------------------------------------------------------------------------------- BMP

interface BmpHeader {
  width: number; height: number; topDown: boolean; bpp: number; compression: number;
  dataOffset: number; paletteOffset: number; paletteEntrySize: number; paletteCount: number; masks?: number[];
}

function bmpHeader(b: Uint8Array, name: string): BmpHeader {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 26) throw new DataError(name, undefined, 'truncated BMP: header incomplete');
  const dataOffset = dv.getUint32(10, true);
  const dib = dv.getUint32(14, true);
  let width: number, height: number, bpp: number, compression = 0, clrUsed = 0, entry = 4;
  if (dib === 12) {
    width = dv.getUint16(18, true); height = dv.getInt16(20, true); bpp = dv.getUint16(24, true); entry = 3;
  } else if (dib >= 40) {
    if (b.length < 14 + 40) throw new DataError(name, undefined, 'truncated BMP: info header incomplete');
    width = dv.getInt32(18, true); height = dv.getInt32(22, true); bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true); clrUsed = dv.getUint32(46, true);
  } else {
    throw new DataError(name, undefined, `unsupported BMP header size ${dib}`);
  }
  let paletteOffset = 14 + dib;
  let masks: number[] | undefined;
  if (compression === 3 || compression === 6) {
    if (dib === 40) { masks = [0, 1, 2].map((k) => dv.getUint32(54 + 4 * k, true)); paletteOffset += 12; }
    else if (dib >= 52) masks = [0, 1, 2].map((k) => dv.getUint32(54 + 4 * k, true));
    else throw new DataError(name, undefined, 'BMP bit fields without masks');
  }
  const paletteCount = bpp <= 8 ? (clrUsed || 1 << bpp) : 0;
  const h: BmpHeader = {
    width, height: Math.abs(height), topDown: height < 0, bpp, compression, dataOffset, paletteOffset,
    paletteEntrySize: entry, paletteCount,
  };
  if (masks) h.masks = masks;
  if (width <= 0 || height === 0) throw new DataError(name, undefined, `corrupt BMP: size ${width}x${height}`);
  return h;
}

export function decodeBmp(b: Uint8Array, name: string): GreyImage {
  const h = bmpHeader(b, name);
  const { width: w, height: ht, bpp, compression } = h;
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new DataError(name, undefined, `unsupported BMP bit depth ${bpp}`);
  if (!(compression === 0 || (bpp === 32 && compression === 3))) {
    throw new DataError(name, undefined, `unsupported BMP compression ${compression} (RLE is not read)`);
  }
  checkImageSize(w, ht, name, 'BMP');
  const stride = Math.floor((bpp * w + 31) / 32) * 4;
  if (h.dataOffset + stride * ht > b.length) {
    throw new DataError(name, undefined, `truncated BMP: pixel data needs ${h.dataOffset + stride * ht} bytes, file has ${b.length}`);
  }
  const data = new Float32Array(w * ht);
  let palette: Float32Array | undefined;
  if (bpp <= 8) {
    if (h.paletteCount > 1 << bpp || h.paletteOffset + h.paletteCount * h.paletteEntrySize > h.dataOffset) {
      throw new DataError(name, undefined, 'corrupt BMP: palette does not fit before the pixel data');
    }
    palette = new Float32Array(h.paletteCount);
    for (let i = 0; i < h.paletteCount; i++) {
      const o = h.paletteOffset + i * h.paletteEntrySize;
      const bl = b[o]!, g = b[o + 1]!, r = b[o + 2]!;
      palette[i] = r === g && g === bl ? r : luma(r, g, bl);
    }
  }
  const shifts = (h.masks ?? [0xff0000, 0xff00, 0xff]).map((m) => {
    let s = 0; while (m && !(m & 1)) { m >>>= 1; s++; }
    return { s, max: m || 1 };
  });
  for (let y = 0; y < ht; y++) {
    const srcRow = h.topDown ? y : ht - 1 - y;
    const o = h.dataOffset + srcRow * stride;
    const out = y * w;
    if (bpp === 24) {
      for (let x = 0; x < w; x++) { const p = o + 3 * x; data[out + x] = luma(b[p + 2]!, b[p + 1]!, b[p]!); }
    } else if (bpp === 32) {
      for (let x = 0; x < w; x++) {
        const p = o + 4 * x;
        const v = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
        const [R, G, B] = shifts.map(({ s, max }) => (((v >>> s) & max) * 255) / max) as [number, number, number];
        data[out + x] = luma(R, G, B);
      }
    } else {
      const per = 8 / bpp, mask = (1 << bpp) - 1;
      for (let x = 0; x < w; x++) {
        const byte = b[o + Math.floor(x / per)]!;
        const idx = (byte >> (8 - bpp * (1 + (x % per)))) & mask;
        if (idx >= palette!.length) throw new DataError(name, undefined, `corrupt BMP: palette index ${idx} >= ${palette!.length} at (${x}, ${y})`);
        data[out + x] = palette![idx]!;
      }
    }
  }
  return { width: w, height: ht, data, bitDepth: 8 };
}

// ----------------------------------------------------------------------------------- header only

/** What a header tells without decoding: the size, and the pixel spacing where the format has one. */
export interface ImageHeaderInfo { width: number; height: number; spacing?: PixelSpacing }

/** Width and height (and spacing) from the file header alone. */
export function imageSizeOf(bytes: Uint8Array, name: string): ImageHeaderInfo {
  switch (sniffFormat(bytes)) {
    case 'png': {
      if (bytes.length < 24) throw new DataError(name, undefined, 'truncated PNG header');
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { width: dv.getUint32(16), height: dv.getUint32(20) };
    }
    case 'jpeg': return jpegSize(bytes, name);
    case 'bmp': { const h = bmpHeader(bytes, name); return { width: h.width, height: h.height }; }
    case 'dicom': { const d = readDicomInfo(bytes, name); return withSpacing(d.width, d.height, d.spacing); }
    case 'tiff': { const t = readTiffInfo(bytes, name); return withSpacing(t.width, t.height, t.spacing); }
    case 'metaimage': { const m = readMetaImageInfo(bytes, name); return withSpacing(m.width, m.height, m.spacing); }
    default: throw unknownFormat(bytes, name);
  }
}

/** No known magic number: the error says what the extension promised (a `.dcm` cut short before "DICM"). */
function unknownFormat(bytes: Uint8Array, name: string): DataError {
  if (bytes.length === 0) return new DataError(name, undefined, 'empty file');
  const ext = /\.([A-Za-z]+)$/.exec(name)?.[1]?.toLowerCase();
  if (ext === 'dcm' || ext === 'dicom') {
    return new DataError(name, undefined, bytes.length < 132 ? `truncated DICOM: ${bytes.length} bytes, shorter than the 128-byte preamble and "DICM"` : 'not a DICOM Part 10 file (no "DICM" after the 128-byte preamble)');
  }
  if (ext === 'tif' || ext === 'tiff') return new DataError(name, undefined, 'not a TIFF file (no II*/MM* header)');
  return new DataError(name, undefined, `not a ${KNOWN_FORMATS} file`);
}

const withSpacing = (width: number, height: number, spacing: PixelSpacing | undefined): ImageHeaderInfo => (spacing ? { width, height, spacing } : { width, height });

/** Header size and spacing of an image file (reads 64 KiB; the whole file when its header is longer). */
export function readImageSize(path: string): ImageHeaderInfo {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) {
    throw new DataError(path, undefined, `cannot read image: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    try {
      return imageSizeOf(buf.subarray(0, n), path);
    } catch (e) {
      // A JPEG frame header can sit behind a large EXIF block, a DICOM header past 64 KiB or
      // be deflated, a TIFF's IFD at its end: fall back to the whole file.
      if (n === buf.length && sniffFormat(buf) !== undefined) return imageSizeOf(readFileSync(path), path);
      throw e;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * TIFF to grey pixels (browser-safe; own reader, so that every offset and size is checked
 * against the file before anything is allocated). Read: the first image (IFD) of a classic TIFF,
 * either byte order; grey (BlackIsZero, WhiteIsZero inverted), palette and 8-bit RGB (Rec. 601
 * luma); 8 or 16 bits per sample, unsigned or signed; strips or tiles; uncompressed, LZW,
 * deflate (fflate) and PackBits, with horizontal differencing (predictor 2). Spacing from
 * X/YResolution in pixels per cm or inch. Every problem is a DataError naming the file.
 */
import { Inflate } from 'fflate';
import { checkImageSize } from './image_limits';
import { DataError, type GreyImage, type PixelSpacing } from './types';

const COMPRESSION: Record<number, string> = { 1: 'none', 2: 'CCITT RLE', 3: 'CCITT G3', 4: 'CCITT G4', 5: 'LZW', 6: 'old JPEG', 7: 'JPEG', 8: 'deflate', 32773: 'PackBits', 32946: 'deflate', 34712: 'JPEG 2000', 50000: 'zstd' };
const READ_COMPRESSIONS = new Set([1, 5, 8, 32773, 32946]);
/**
 * Byte size of each TIFF field type (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL, 6 SBYTE, 7 UNDEFINED, 8 SSHORT, 9
 * SLONG, 10 SRATIONAL, 11 FLOAT, 12 DOUBLE).
 */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

export interface TiffInfo {
  width: number;
  height: number;
  bits: number;
  samples: number;
  photometric: number;
  compression: number;
  predictor: number;
  signed: boolean;
  /** Strips (tileWidth = width) or tiles. */
  tileWidth: number;
  tileHeight: number;
  offsets: number[];
  counts: number[];
  colorMap?: number[];
  spacing?: PixelSpacing;
}

type Tags = Map<number, number[]>;

function readIfd(b: Uint8Array, name: string): { tags: Tags; little: boolean } {
  if (b.length < 8) throw new DataError(name, undefined, 'truncated TIFF: shorter than its 8-byte header');
  const little = b[0] === 0x49;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint16(2, little);
  if (magic === 43) throw new DataError(name, undefined, 'unsupported TIFF: BigTIFF (classic TIFF is read)');
  if (magic !== 42) throw new DataError(name, undefined, `not a TIFF file (magic ${magic})`);
  const ifd = dv.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > b.length) throw new DataError(name, undefined, `truncated TIFF: first IFD at byte ${ifd} of ${b.length}`);
  const count = dv.getUint16(ifd, little);
  if (ifd + 2 + 12 * count > b.length) throw new DataError(name, undefined, `truncated TIFF: IFD of ${count} entries at byte ${ifd} runs past the end`);
  const tags: Tags = new Map();
  for (let e = 0; e < count; e++) {
    const o = ifd + 2 + 12 * e;
    const tag = dv.getUint16(o, little), type = dv.getUint16(o + 2, little), n = dv.getUint32(o + 4, little);
    const size = TYPE_SIZE[type];
    if (!size) continue; // unknown types are skipped, as readers must
    const bytes = size * n;
    if (bytes > b.length) throw new DataError(name, undefined, `corrupt TIFF: tag ${tag} claims ${n} values, more than the file holds`);
    const at = bytes <= 4 ? o + 8 : dv.getUint32(o + 8, little);
    if (at + bytes > b.length) throw new DataError(name, undefined, `truncated TIFF: tag ${tag}'s ${n} values at byte ${at} run past the end`);
    if (![256, 257, 258, 259, 262, 273, 277, 278, 279, 282, 283, 284, 296, 317, 320, 322, 323, 324, 325, 339].includes(tag)) continue;
    const v: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = at + i * size;
      switch (type) {
        case 3: v.push(dv.getUint16(p, little)); break;
        case 8: v.push(dv.getInt16(p, little)); break;
        case 4: v.push(dv.getUint32(p, little)); break;
        case 9: v.push(dv.getInt32(p, little)); break;
        case 5: case 10: { const den = dv.getUint32(p + 4, little); v.push(den ? dv.getUint32(p, little) / den : NaN); break; }
        case 11: v.push(dv.getFloat32(p, little)); break;
        case 12: v.push(dv.getFloat64(p, little)); break;
        default: v.push(b[p]!);
      }
    }
    tags.set(tag, v);
  }
  return { tags, little };
}

/** Header facts of the first image; throws a DataError on anything the decoder would refuse. */
export function readTiffInfo(b: Uint8Array, name: string): TiffInfo {
  const { tags } = readIfd(b, name);
  const one = (tag: number, what: string, def?: number): number => {
    const v = tags.get(tag)?.[0];
    if (v === undefined) {
      if (def !== undefined) return def;
      throw new DataError(name, undefined, `corrupt TIFF: no ${what} (tag ${tag})`);
    }
    return v;
  };
  const width = one(256, 'ImageWidth'), height = one(257, 'ImageLength');
  checkImageSize(width, height, name, 'TIFF');
  const samples = one(277, 'SamplesPerPixel', 1);
  const bitsAll = tags.get(258) ?? [1];
  const bits = bitsAll[0]!;
  const photometric = one(262, 'PhotometricInterpretation');
  const compression = one(259, 'Compression', 1);
  const predictor = one(317, 'Predictor', 1);
  const sampleFormat = one(339, 'SampleFormat', 1);
  if (!READ_COMPRESSIONS.has(compression)) throw new DataError(name, undefined, `unsupported TIFF compression ${compression}${COMPRESSION[compression] ? ` (${COMPRESSION[compression]})` : ''}: none, LZW, deflate and PackBits are read`);
  if (!bitsAll.every((x) => x === bits) || (bits !== 8 && bits !== 16)) {
    throw new DataError(name, undefined, `unsupported TIFF bit depth ${bitsAll.join(',')} (8 or 16 bits per sample are read${bits > 16 ? '; more than 16 bits is beyond an X-ray' : ''})`);
  }
  if (sampleFormat !== 1 && sampleFormat !== 2) throw new DataError(name, undefined, `unsupported TIFF SampleFormat ${sampleFormat} (${sampleFormat === 3 ? 'floating point' : 'not an integer'}; integers are read)`);
  const grey = (photometric === 0 || photometric === 1) && samples === 1;
  const palette = photometric === 3 && samples === 1;
  const rgb = photometric === 2 && (samples === 3 || samples === 4) && bits === 8;
  if (!grey && !palette && !rgb) throw new DataError(name, undefined, `unsupported TIFF: photometric interpretation ${photometric} with ${samples} samples of ${bits} bits (grey, palette or 8-bit RGB are read)`);
  if (samples > 1 && one(284, 'PlanarConfiguration', 1) !== 1) throw new DataError(name, undefined, 'unsupported TIFF: planar (separate) colour planes');
  if (predictor !== 1 && predictor !== 2) throw new DataError(name, undefined, `unsupported TIFF predictor ${predictor} (floating-point prediction)`);
  const tiled = tags.has(322);
  const tileWidth = tiled ? one(322, 'TileWidth') : width;
  const tileHeight = tiled ? one(323, 'TileLength') : Math.min(one(278, 'RowsPerStrip', height), height);
  if (!(tileWidth > 0 && tileHeight > 0)) throw new DataError(name, undefined, `corrupt TIFF: ${tiled ? 'tile' : 'strip'} size ${tileWidth}x${tileHeight}`);
  const offsets = tags.get(tiled ? 324 : 273), counts = tags.get(tiled ? 325 : 279);
  const chunks = Math.ceil(width / tileWidth) * Math.ceil(height / tileHeight);
  if (!offsets || !counts || offsets.length < chunks || counts.length < chunks) {
    throw new DataError(name, undefined, `corrupt TIFF: ${chunks} ${tiled ? 'tiles' : 'strips'} need offsets and byte counts, found ${offsets?.length ?? 0} and ${counts?.length ?? 0}`);
  }
  for (let i = 0; i < chunks; i++) {
    if (offsets[i]! + counts[i]! > b.length) throw new DataError(name, undefined, `truncated TIFF: ${tiled ? 'tile' : 'strip'} ${i + 1} at byte ${offsets[i]} (${counts[i]} bytes) runs past the end (${b.length})`);
  }
  const info: TiffInfo = { width, height, bits, samples, photometric, compression, predictor, signed: sampleFormat === 2, tileWidth, tileHeight, offsets, counts };
  if (palette) {
    const map = tags.get(320);
    if (!map || map.length < 3 * 2 ** bits) throw new DataError(name, undefined, `corrupt TIFF: palette image without a ${3 * 2 ** bits}-entry ColorMap`);
    info.colorMap = map;
  }
  const unit = one(296, 'ResolutionUnit', 2);
  const xr = tags.get(282)?.[0], yr = tags.get(283)?.[0] ?? xr;
  // 72 dpi is the value writers put when they know nothing; it is not a calibration.
  if ((unit === 2 || unit === 3) && xr && yr && xr > 0 && yr > 0 && Number.isFinite(xr) && Number.isFinite(yr) && !(unit === 2 && xr === 72 && yr === 72)) {
    const mm = unit === 2 ? 25.4 : 10;
    info.spacing = { x: mm / xr, y: mm / yr, source: 'TIFF resolution', note: `from the TIFF's ${xr} pixels per ${unit === 2 ? 'inch' : 'cm'} (a scanner or writer setting; check it is the X-ray's calibration)` };
  }
  return info;
}

/** Decodes the first image of a TIFF. */
export function decodeTiff(b: Uint8Array, name: string): GreyImage {
  const t = readTiffInfo(b, name);
  const { little } = readIfd(b, name);
  const bps = t.bits / 8;
  const px = t.samples * bps; // bytes per pixel
  const across = Math.ceil(t.width / t.tileWidth);
  const chunkBytes = t.tileWidth * t.tileHeight * px;
  const out = new Float32Array(t.width * t.height);
  const chunks = across * Math.ceil(t.height / t.tileHeight);
  for (let c = 0; c < chunks; c++) {
    const src = b.subarray(t.offsets[c]!, t.offsets[c]! + t.counts[c]!);
    const raw = decompress(src, t.compression, chunkBytes, name, c + 1);
    const x0 = (c % across) * t.tileWidth, y0 = Math.floor(c / across) * t.tileHeight;
    // strips: the last one may hold fewer rows (and fewer bytes)
    const rows = Math.min(t.tileHeight, t.height - y0);
    const rowBytes = t.tileWidth * px;
    if (raw.length < (t.tileWidth === t.width ? rows * rowBytes : chunkBytes)) {
      throw new DataError(name, undefined, `truncated TIFF: ${t.tileWidth === t.width ? 'strip' : 'tile'} ${c + 1} decodes to ${raw.length} bytes, needs ${rows * rowBytes}`);
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (t.predictor === 2) undoPredictor(raw, dv, rows, t.tileWidth, t.samples, bps, little);
    const cols = Math.min(t.tileWidth, t.width - x0);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        const p = y * rowBytes + x * px;
        const at = (y0 + y) * t.width + x0 + x;
        if (t.samples >= 3) out[at] = 0.299 * raw[p]! + 0.587 * raw[p + 1]! + 0.114 * raw[p + 2]!;
        else if (bps === 1) out[at] = t.signed ? (raw[p]! << 24) >> 24 : raw[p]!;
        else out[at] = t.signed ? dv.getInt16(p, little) : dv.getUint16(p, little);
      }
    }
  }
  let bitDepth = t.bits;
  if (t.photometric === 0) {
    const max = 2 ** t.bits - 1;
    for (let i = 0; i < out.length; i++) out[i] = max - out[i]!;
  } else if (t.colorMap) {
    // ColorMap: all reds, then greens, then blues, 16-bit each
    const n = 2 ** t.bits, m = t.colorMap;
    for (let i = 0; i < out.length; i++) {
      const k = out[i]!;
      out[i] = (0.299 * m[k]! + 0.587 * m[n + k]! + 0.114 * m[2 * n + k]!) / 257;
    }
    bitDepth = 8;
  }
  const img: GreyImage = { width: t.width, height: t.height, data: out, bitDepth };
  if (t.spacing) img.spacing = t.spacing;
  return img;
}

/** Horizontal differencing undone, per row and sample (TIFF 6.0 section 14). */
function undoPredictor(raw: Uint8Array, dv: DataView, rows: number, w: number, samples: number, bps: number, little: boolean): void {
  const rowBytes = w * samples * bps;
  for (let y = 0; y < rows; y++) {
    const r = y * rowBytes;
    for (let i = samples; i < w * samples; i++) {
      if (bps === 1) raw[r + i] = (raw[r + i]! + raw[r + i - samples]!) & 0xff;
      else dv.setUint16(r + 2 * i, (dv.getUint16(r + 2 * i, little) + dv.getUint16(r + 2 * (i - samples), little)) & 0xffff, little);
    }
  }
}

function decompress(src: Uint8Array, compression: number, cap: number, name: string, chunk: number): Uint8Array {
  switch (compression) {
    case 1: return src.slice(0, cap);
    case 32773: return packBits(src, cap);
    case 5: return lzw(src, cap, name, chunk);
    default: return inflateCapped(src, cap, name, chunk);
  }
}

function packBits(src: Uint8Array, cap: number): Uint8Array {
  const out = new Uint8Array(cap);
  let i = 0, o = 0;
  while (i < src.length && o < cap) {
    const n = (src[i++]! << 24) >> 24;
    if (n >= 0) {
      const len = Math.min(n + 1, cap - o, src.length - i);
      out.set(src.subarray(i, i + len), o);
      o += len; i += n + 1;
    } else if (n !== -128) {
      const len = Math.min(1 - n, cap - o);
      out.fill(src[i++] ?? 0, o, o + len);
      o += len;
    }
  }
  return out.subarray(0, o);
}

/** TIFF LZW (MSB-first codes, 9–12 bits, early change), output capped at `cap` bytes. */
function lzw(src: Uint8Array, cap: number, name: string, chunk: number): Uint8Array {
  const out = new Uint8Array(cap);
  const prefix = new Int32Array(4096), suffix = new Uint8Array(4096), length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = i; length[i] = 1; }
  let next = 258, bits = 9, o = 0, old = -1, bitPos = 0;
  const total = src.length * 8;
  const emit = (code: number): void => {
    // write the string of `code` backwards from its end
    const len = length[code]!;
    let end = o + len - 1, c = code;
    while (c >= 0) { if (end < cap) out[end] = suffix[c]!; end--; c = prefix[c]!; }
    o += len;
  };
  const first = (code: number): number => { let c = code; while (prefix[c]! >= 0) c = prefix[c]!; return suffix[c]!; };
  while (bitPos + bits <= total && o < cap) {
    let code = 0;
    for (let k = 0; k < bits; k++, bitPos++) code = (code << 1) | ((src[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    if (code === 257) break; // end of information
    if (code === 256) { next = 258; bits = 9; old = -1; continue; }
    if (old < 0) {
      if (code > 255) throw new DataError(name, undefined, `corrupt TIFF LZW in strip/tile ${chunk}: first code ${code} after a clear`);
      emit(code); old = code; continue;
    }
    if (code < next) {
      emit(code);
      if (next < 4096) { prefix[next] = old; suffix[next] = first(code); length[next] = length[old]! + 1; next++; }
    } else if (code === next && next < 4096) {
      prefix[next] = old; suffix[next] = first(old); length[next] = length[old]! + 1; next++;
      emit(code);
    } else {
      throw new DataError(name, undefined, `corrupt TIFF LZW in strip/tile ${chunk}: code ${code} before it was defined (next ${next})`);
    }
    old = code;
    if (next + 1 >= 1 << bits && bits < 12) bits++;
  }
  return out.subarray(0, Math.min(o, cap));
}

function inflateCapped(src: Uint8Array, cap: number, name: string, chunk: number): Uint8Array {
  const out = new Uint8Array(cap);
  let o = 0;
  // TIFF deflate is a zlib stream; fflate's Inflate wants raw deflate: skip the 2-byte zlib header.
  const body = src.length >= 2 && (src[0]! & 0x0f) === 8 && ((src[0]! << 8) | src[1]!) % 31 === 0 ? src.subarray(2) : src;
  const inf = new Inflate((d) => { const k = Math.min(d.length, cap - o); out.set(d.subarray(0, k), o); o += k; });
  try {
    for (let i = 0; i < body.length && o < cap; i += 65536) inf.push(body.subarray(i, i + 65536), i + 65536 >= body.length);
  } catch (e) {
    throw new DataError(name, undefined, `corrupt TIFF: deflate strip/tile ${chunk} does not inflate (${(e as Error).message})`);
  }
  return out.subarray(0, o);
}

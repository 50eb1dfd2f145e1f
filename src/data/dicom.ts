/**
 * DICOM Part 10 X-rays to grey pixels (browser-safe). dicom-parser (cornerstone's maintained
 * parser) reads the data set; this module turns its pixel data into the engine's grey image:
 *
 * - MONOCHROME2 as is, MONOCHROME1 inverted (bone bright in both), 1 sample per pixel;
 * - BitsAllocated 8 or 16, BitsStored ≤ 16 at HighBit, PixelRepresentation 0/1 (two's complement);
 * - Modality LUT: value · RescaleSlope + RescaleIntercept;
 * - VOI window (centre/width, first value) kept for display;
 * - spacing: PixelSpacing, else ImagerPixelSpacing (÷ EstimatedRadiographicMagnificationFactor
 *   when present) with a calibration note;
 * - transfer syntaxes: implicit / explicit little endian, explicit big endian, deflate (fflate,
 *   bounded), RLE lossless (own PackBits decoder), JPEG baseline 8-bit (jpeg-js), JPEG lossless
 *   (jpeg-lossless-decoder-js, pure JS). JPEG-LS and JPEG 2000 need a WASM codec that loads
 *   asynchronously: src/data/dicom_codecs.ts (decodeDicomAsync), and in Node's synchronous
 *   readers src/node/decode_codec_sync.ts. Other syntaxes are refused by name;
 * - multi-frame: the first frame, with a note.
 *
 * Every problem is a DataError naming the file; sizes are checked before pixels are allocated.
 */
import * as dicomParserNs from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { Inflate } from 'fflate';
// jpeg-js's decoder alone, without its encoder (useTArray keeps it off Node's Buffer).
import jpegDecoder from 'jpeg-js/lib/decoder.js';
import { Decoder as LosslessDecoder } from 'jpeg-lossless-decoder-js';
import { checkImageSize, maxImagePixels } from './image_limits';
import { DataError, type GreyImage, type PixelSpacing } from './types';

// dicom-parser is a UMD bundle: Node's ESM loader hands it over as `default`, esbuild as the namespace.
const dicomParser: typeof dicomParserNs = (dicomParserNs as unknown as { default?: typeof dicomParserNs }).default ?? dicomParserNs;
const jpegDecode = jpegDecoder;

export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended (12-bit)',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};
const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99']);
/** Syntaxes decoded here (the rest are refused with their name). */
const JPEG_LOSSLESS = new Set(['1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70']);
export const DECODED_SYNTAXES = new Set([...NATIVE, '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.50', ...JPEG_LOSSLESS]);

/** The header facts of a DICOM image, without its pixels. */
export interface DicomInfo {
  width: number;
  height: number;
  frames: number;
  transferSyntax: string;
  photometric: string;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  slope: number;
  intercept: number;
  window?: { center: number; width: number };
  spacing?: PixelSpacing;
}

const syntaxName = (uid: string): string => `${uid}${TRANSFER_SYNTAXES[uid] ? ` (${TRANSFER_SYNTAXES[uid]})` : ''}`;

/**
 * Inflates a deflated data set with fflate, refusing output past the largest sane image plus
 * 16 MiB of header: a few KB of deflate can claim gigabytes.
 */
function inflateBounded(name: string): (arr: Uint8Array, position: number) => Uint8Array {
  return (arr, position) => {
    const cap = 2 * maxImagePixels() + 16 * 2 ** 20;
    const chunks: Uint8Array[] = [];
    let total = 0;
    const inf = new Inflate((chunk) => {
      total += chunk.length;
      if (total > cap) throw new DataError(name, undefined, `corrupt DICOM: deflated data set inflates past ${cap} bytes`);
      chunks.push(chunk);
    });
    try {
      inf.push(arr.subarray(position), true);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(name, undefined, `corrupt DICOM: deflated data set does not inflate (${(e as Error).message})`);
    }
    const out = new Uint8Array(position + total);
    out.set(arr.subarray(0, position));
    let o = position;
    for (const c of chunks) { out.set(c, o); o += c.length; }
    return out;
  };
}

/** Parses the data set (up to the pixel data when `headerOnly`); parser failures become DataErrors. */
export function parseDicomBytes(bytes: Uint8Array, name: string, headerOnly = false): DataSet {
  if (bytes.length < 132 || String.fromCharCode(bytes[128]!, bytes[129]!, bytes[130]!, bytes[131]!) !== 'DICM') {
    throw new DataError(name, undefined, bytes.length < 132 ? 'truncated DICOM: shorter than its 128-byte preamble and "DICM"' : 'not a DICOM Part 10 file (no "DICM" after the 128-byte preamble)');
  }
  try {
    return dicomParser.parseDicom(bytes, { inflater: inflateBounded(name), ...(headerOnly ? { untilTag: 'x7fe00010' } : {}) } as dicomParserNs.ParseDicomOptions);
  } catch (e) {
    if (e instanceof DataError) throw e;
    // dicom-parser throws strings, or { exception, dataSet } objects, as well as Errors
    const msg = typeof e === 'string' ? e : e instanceof Error ? e.message : typeof e === 'object' && e && 'exception' in e ? String((e as { exception: unknown }).exception) : String(e);
    throw new DataError(name, undefined, `corrupt or truncated DICOM: ${msg.replace(/^dicomParser\.\w+: /, '')}`);
  }
}

const num = (ds: DataSet, tag: string, index = 0): number | undefined => {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const v = ds.floatString(tag, index);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
};

/** The image facts of a parsed data set; a DataError names what is missing or unsupported. */
export function dicomInfo(ds: DataSet, name: string): DicomInfo {
  const u16 = (tag: string, what: string, def?: number): number => {
    const el = ds.elements[tag];
    if (!el || el.length < 2) {
      if (def !== undefined) return def;
      throw new DataError(name, undefined, `DICOM without ${what} (${tag.slice(1, 5)},${tag.slice(5)}): not an image`);
    }
    return ds.uint16(tag)!;
  };
  const transferSyntax = (ds.string('x00020010') ?? '1.2.840.10008.1.2').replace(/\0/g, '').trim();
  const height = u16('x00280010', 'Rows');
  const width = u16('x00280011', 'Columns');
  const samplesPerPixel = u16('x00280002', 'SamplesPerPixel', 1);
  const bitsAllocated = u16('x00280100', 'BitsAllocated');
  const bitsStored = u16('x00280101', 'BitsStored', bitsAllocated);
  const highBit = u16('x00280102', 'HighBit', bitsStored - 1);
  const signed = u16('x00280103', 'PixelRepresentation', 0) === 1;
  const photometric = (ds.string('x00280004') ?? '').trim().toUpperCase();
  const framesRaw = ds.intString('x00280008');
  const frames = framesRaw !== undefined && Number.isFinite(framesRaw) && framesRaw > 0 ? framesRaw : 1;
  const slope = num(ds, 'x00281053') ?? 1;
  const intercept = num(ds, 'x00281052') ?? 0;
  const info: DicomInfo = { width, height, frames, transferSyntax, photometric, samplesPerPixel, bitsAllocated, bitsStored, highBit, signed, slope, intercept };
  const wc = num(ds, 'x00281050'), ww = num(ds, 'x00281051');
  if (wc !== undefined && ww !== undefined && ww > 0) info.window = { center: wc, width: ww };
  const spacing = dicomSpacing(ds);
  if (spacing) info.spacing = spacing;
  return info;
}

/**
 * PixelSpacing (patient plane) first; else ImagerPixelSpacing (detector plane), which overstates
 * anatomy by the geometric magnification: divided by EstimatedRadiographicMagnificationFactor when
 * the file gives one, and noted either way. Values are "row spacing\column spacing" = y\x.
 */
export function dicomSpacing(ds: DataSet): PixelSpacing | undefined {
  const pair = (tag: string): [number, number] | undefined => {
    const y = num(ds, tag, 0), x = num(ds, tag, 1) ?? y;
    return y !== undefined && x !== undefined && y > 0 && x > 0 ? [x, y] : undefined;
  };
  const ps = pair('x00280030');
  if (ps) return { x: ps[0], y: ps[1], source: 'PixelSpacing' };
  const ips = pair('x00181164');
  if (!ips) return undefined;
  const mag = num(ds, 'x00181114');
  if (mag !== undefined && mag > 0 && mag !== 1) {
    return { x: ips[0] / mag, y: ips[1] / mag, source: 'ImagerPixelSpacing', note: `ImagerPixelSpacing divided by EstimatedRadiographicMagnificationFactor ${mag} (no PixelSpacing in the file)` };
  }
  return { x: ips[0], y: ips[1], source: 'ImagerPixelSpacing', note: 'only ImagerPixelSpacing (at the detector): distances in the patient are smaller by the geometric magnification, which the file does not give' };
}

/** Checks that the pixel format is one a grey X-ray decoder handles; throws a DataError naming the problem. */
export function checkPixelFormat(info: DicomInfo, name: string): void {
  const { photometric, samplesPerPixel, bitsAllocated, bitsStored, highBit } = info;
  if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') {
    throw new DataError(name, undefined, `unsupported DICOM photometric interpretation ${photometric || '(none)'}: only grey MONOCHROME1 / MONOCHROME2 X-rays are read`);
  }
  if (samplesPerPixel !== 1) throw new DataError(name, undefined, `unsupported DICOM: ${samplesPerPixel} samples per pixel in a ${photometric} image`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new DataError(name, undefined, `unsupported DICOM bit depth: BitsAllocated ${bitsAllocated} (8 or 16 are read${bitsAllocated > 16 ? '; more than 16 bits is beyond an X-ray' : ''})`);
  }
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated && highBit >= bitsStored - 1 && highBit < bitsAllocated)) {
    throw new DataError(name, undefined, `corrupt DICOM: BitsStored ${bitsStored} with HighBit ${highBit} does not fit BitsAllocated ${bitsAllocated}`);
  }
  checkImageSize(info.width, info.height, name, 'DICOM');
}

/** Header facts (size, spacing) from the bytes up to the pixel data, without decoding. */
export function readDicomInfo(bytes: Uint8Array, name: string): DicomInfo {
  return dicomInfo(parseDicomBytes(bytes, name, true), name);
}

/** Syntaxes decoded by a WASM codec loaded on first use (src/data/dicom_codecs.ts, asynchronous). */
export const WASM_SYNTAXES: Record<string, 'jpegls' | 'j2k'> = {
  '1.2.840.10008.1.2.4.80': 'jpegls', '1.2.840.10008.1.2.4.81': 'jpegls',
  '1.2.840.10008.1.2.4.90': 'j2k', '1.2.840.10008.1.2.4.91': 'j2k',
};

/** A file in a syntax whose codec this synchronous decoder cannot load (JPEG-LS, JPEG 2000). */
export class DicomCodecNeeded extends DataError {}

/** A parsed DICOM image whose pixel format has been checked: the data set, its pixel data element and the facts. */
export function dicomImageParts(bytes: Uint8Array, name: string): { ds: DataSet; el: Element; info: DicomInfo } {
  const ds = parseDicomBytes(bytes, name);
  const info = dicomInfo(ds, name);
  checkPixelFormat(info, name);
  const el = ds.elements.x7fe00010;
  if (!el) throw new DataError(name, undefined, 'DICOM without pixel data (7FE0,0010): not an image');
  return { ds, el, info };
}

/** Decodes a DICOM Part 10 file to grey pixels (first frame). JPEG-LS and JPEG 2000 need decodeDicomAsync. */
export function decodeDicom(bytes: Uint8Array, name: string): GreyImage {
  const { ds, el, info } = dicomImageParts(bytes, name);
  const ts = info.transferSyntax;
  if (WASM_SYNTAXES[ts]) {
    throw new DicomCodecNeeded(name, undefined, `DICOM transfer syntax ${syntaxName(ts)} needs a WASM codec, which loads asynchronously (decodeDicomAsync; in Node the readers do it in a worker)`);
  }
  if (!DECODED_SYNTAXES.has(ts)) {
    throw new DataError(name, undefined, `unsupported DICOM transfer syntax ${syntaxName(ts)}; read: ${[...DECODED_SYNTAXES, ...Object.keys(WASM_SYNTAXES)].map((u) => TRANSFER_SYNTAXES[u]).join(', ')}`);
  }
  const n = info.width * info.height;
  let raw: Uint8Array | Uint16Array | Int16Array;
  if (NATIVE.has(ts)) raw = nativeFrame(ds, el, info, name);
  else if (ts === '1.2.840.10008.1.2.5') raw = rleFrame(encapsulatedFrame(ds, el, info, name), info, name);
  else if (JPEG_LOSSLESS.has(ts)) raw = jpegLosslessFrame(encapsulatedFrame(ds, el, info, name), info, name);
  else raw = jpegBaselineFrame(encapsulatedFrame(ds, el, info, name), info, name);
  if (raw.length < n) throw new DataError(name, undefined, `truncated DICOM: ${raw.length} pixels decoded, ${info.width}x${info.height} needs ${n}`);
  return toGrey(raw, info);
}

/** The first frame of native (uncompressed) pixel data, bounds-checked, in host byte order. */
function nativeFrame(ds: DataSet, el: Element, info: DicomInfo, name: string): Uint8Array | Uint16Array {
  const n = info.width * info.height;
  const bytesPer = info.bitsAllocated / 8;
  const need = n * bytesPer;
  const b = ds.byteArray;
  if (el.encapsulatedPixelData) throw new DataError(name, undefined, `corrupt DICOM: encapsulated pixel data in ${syntaxName(info.transferSyntax)}`);
  if (el.dataOffset + need > b.length || el.length < need) {
    throw new DataError(name, undefined, `truncated DICOM: pixel data has ${Math.min(el.length, b.length - el.dataOffset)} bytes, a ${info.width}x${info.height} frame of ${info.bitsAllocated}-bit pixels needs ${need}`);
  }
  if (bytesPer === 1) return b.subarray(el.dataOffset, el.dataOffset + n);
  const out = new Uint16Array(n);
  const dv = new DataView(b.buffer, b.byteOffset + el.dataOffset, need);
  const little = info.transferSyntax !== '1.2.840.10008.1.2.2';
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, little);
  return out;
}

/** The first frame's compressed bytes (fragments of an encapsulated pixel data element). */
export function encapsulatedFrame(ds: DataSet, el: Element, info: DicomInfo, name: string): Uint8Array {
  const frags = el.fragments;
  if (!el.encapsulatedPixelData || !frags || frags.length === 0) throw new DataError(name, undefined, `corrupt DICOM: ${syntaxName(info.transferSyntax)} without encapsulated fragments`);
  try {
    if (info.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, frags.length);
    if (el.basicOffsetTable && el.basicOffsetTable.length) return dicomParser.readEncapsulatedImageFrame(ds, el, 0);
    return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, 1);
  } catch (e) {
    throw new DataError(name, undefined, `corrupt DICOM: cannot read frame 1 of the encapsulated pixel data (${typeof e === 'string' ? e : (e as Error).message})`);
  }
}

/**
 * RLE lossless (PS3.5 Annex G): a 64-byte header of segment offsets, one PackBits segment per
 * byte plane, most significant first. Output is capped at the frame's size.
 */
function rleFrame(frame: Uint8Array, info: DicomInfo, name: string): Uint8Array | Uint16Array {
  const n = info.width * info.height;
  const planes = info.bitsAllocated / 8;
  if (frame.length < 64) throw new DataError(name, undefined, 'corrupt DICOM RLE: frame shorter than its 64-byte header');
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segs = dv.getUint32(0, true);
  if (segs !== planes) throw new DataError(name, undefined, `corrupt DICOM RLE: ${segs} segments, ${info.bitsAllocated}-bit grey needs ${planes}`);
  const out = planes === 1 ? new Uint8Array(n) : new Uint16Array(n);
  for (let s = 0; s < segs; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < segs ? dv.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || end < start) throw new DataError(name, undefined, `corrupt DICOM RLE: segment ${s + 1} at bytes ${start}..${end} of ${frame.length}`);
    const shift = 8 * (planes - 1 - s);
    let i = start, o = 0;
    while (i < end && o < n) {
      const c = frame[i++]!;
      if (c < 128) {
        const len = Math.min(c + 1, n - o, end - i);
        for (let k = 0; k < len; k++, o++) out[o] = out[o]! | (frame[i + k]! << shift);
        i += c + 1;
      } else if (c > 128) {
        const v = frame[i++]! << shift;
        const len = Math.min(257 - c, n - o);
        for (let k = 0; k < len; k++, o++) out[o] = out[o]! | v;
      }
    }
    if (o < n) throw new DataError(name, undefined, `truncated DICOM RLE: segment ${s + 1} gives ${o} of ${n} bytes`);
  }
  return out;
}

/** JPEG baseline (process 1, 8-bit) fragments, decoded with jpeg-js. */
function jpegBaselineFrame(frame: Uint8Array, info: DicomInfo, name: string): Uint8Array {
  if (info.bitsAllocated !== 8) throw new DataError(name, undefined, `unsupported DICOM: JPEG baseline with BitsAllocated ${info.bitsAllocated}`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpegDecode(frame, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: Math.ceil(maxImagePixels() / 1e6), maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new DataError(name, undefined, `corrupt DICOM JPEG baseline frame: ${(e as Error).message}`);
  }
  if (img.width !== info.width || img.height !== info.height) throw new DataError(name, undefined, `corrupt DICOM: JPEG frame is ${img.width}x${img.height}, the header says ${info.width}x${info.height}`);
  const n = info.width * info.height;
  const out = new Uint8Array(n);
  // jpeg-js returns 3 channels (R = G = B for a grey JPEG)
  for (let i = 0; i < n; i++) out[i] = img.data[3 * i]!;
  return out;
}

/**
 * JPEG lossless (process 14, any predictor; SV1 is predictor 1) with jpeg-lossless-decoder-js.
 * Its frame header is checked against the DICOM header first, so the decoder allocates for the
 * size already checked.
 */
function jpegLosslessFrame(frame: Uint8Array, info: DicomInfo, name: string): Uint8Array | Uint16Array {
  const sof = losslessFrameHeader(frame);
  if (!sof) throw new DataError(name, undefined, 'corrupt DICOM JPEG lossless frame: no SOF3 frame header');
  if (sof.width !== info.width || sof.height !== info.height || sof.components !== 1 || sof.precision > 16 || sof.precision < 2) {
    throw new DataError(name, undefined, `corrupt DICOM: JPEG lossless frame is ${sof.width}x${sof.height}, ${sof.components} component(s) of ${sof.precision} bits; the header says ${info.width}x${info.height} grey`);
  }
  let out: Uint8Array | Uint16Array;
  try {
    const copy = frame.slice(); // the decoder reads through a DataView over the whole buffer
    out = new LosslessDecoder().decode(copy.buffer, 0, copy.length, info.bitsAllocated / 8);
  } catch (e) {
    throw new DataError(name, undefined, `corrupt DICOM JPEG lossless frame: ${(e as Error).message}`);
  }
  const n = info.width * info.height;
  if (!out || out.length < n) throw new DataError(name, undefined, `truncated DICOM JPEG lossless frame: ${out?.length ?? 0} of ${n} pixels`);
  return out;
}

/** The SOF3 (lossless, Huffman) frame header of a JPEG stream, or undefined. */
function losslessFrameHeader(b: Uint8Array): { precision: number; height: number; width: number; components: number } | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1]!;
    if (m === 0xff) { i++; continue; }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (m === 0xc3) return { precision: b[i + 4]!, height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]!, components: b[i + 9]! };
    if (m === 0xda || len < 2) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/** Raw stored values → modality values (mask, sign, rescale), MONOCHROME1 inverted. */
export function toGrey(raw: Uint8Array | Uint16Array | Int16Array, info: DicomInfo): GreyImage {
  const n = info.width * info.height;
  const { bitsStored, highBit, signed, slope, intercept } = info;
  const shift = highBit + 1 - bitsStored;
  const mask = 2 ** bitsStored - 1;
  const signBit = 2 ** (bitsStored - 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = (raw[i]! >>> shift) & mask;
    if (signed && v >= signBit) v -= 2 * signBit;
    data[i] = v * slope + intercept;
  }
  const lo = (signed ? -signBit : 0) * slope + intercept;
  const hi = (signed ? signBit - 1 : mask) * slope + intercept;
  const img: GreyImage = { width: info.width, height: info.height, data, bitDepth: bitsStored };
  let window = info.window;
  if (info.photometric === 'MONOCHROME1') {
    // MONOCHROME1: the lowest value is white. Mirror within the stored range so bone is bright as in MONOCHROME2.
    const sum = lo + hi;
    for (let i = 0; i < n; i++) data[i] = sum - data[i]!;
    if (window) window = { center: sum - window.center, width: window.width };
  }
  if (window) img.window = window;
  if (info.spacing) img.spacing = info.spacing;
  const notes: string[] = [];
  if (info.frames > 1) notes.push(`multi-frame DICOM: frame 1 of ${info.frames} used`);
  if (info.spacing?.note) notes.push(info.spacing.note);
  if (notes.length) img.notes = notes;
  return img;
}

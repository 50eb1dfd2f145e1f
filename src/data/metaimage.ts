/**
 * MetaImage (ITK's `.mha`: header and pixels in one file; `.mhd`: a header naming a `.raw` file)
 * to grey pixels (browser-safe). A text header of `Key = Value` lines ends with ElementDataFile;
 * the pixels follow (LOCAL) or live in the named file. Read: 2-D images (or the first slice of a
 * 3-D one, noted), one channel, 8/16-bit integers, either byte order, zlib-compressed or raw,
 * ElementSpacing as the pixel spacing. Every problem is a DataError naming the file.
 */
import { Unzlib } from 'fflate';
import { checkImageSize } from './image_limits';
import { DataError, type GreyImage, type PixelSpacing } from './types';

/** Element types read, with their bytes and sign; wider ones are refused by name. */
const TYPES: Record<string, { bytes: 1 | 2; signed: boolean }> = {
  MET_UCHAR: { bytes: 1, signed: false }, MET_CHAR: { bytes: 1, signed: true },
  MET_USHORT: { bytes: 2, signed: false }, MET_SHORT: { bytes: 2, signed: true },
};

export interface MetaImageInfo {
  width: number;
  height: number;
  slices: number;
  type: string;
  bytes: 1 | 2;
  signed: boolean;
  msb: boolean;
  compressed: boolean;
  compressedSize?: number;
  headerSize: number;
  dataFile: string;
  /** Byte offset of the pixels in the file holding the header (LOCAL). */
  dataOffset: number;
  spacing?: PixelSpacing;
}

/** The header text: at most 64 KiB, up to and including the ElementDataFile line. */
function headerFields(b: Uint8Array, name: string): { fields: Map<string, string>; end: number } {
  const fields = new Map<string, string>();
  const limit = Math.min(b.length, 65536);
  let start = 0;
  while (start < limit) {
    let nl = b.indexOf(0x0a, start);
    if (nl < 0 || nl >= limit) nl = -1;
    const stop = nl < 0 ? limit : nl;
    let line = '';
    for (let i = start; i < stop; i++) line += String.fromCharCode(b[i]!);
    line = line.replace(/\r$/, '');
    const eq = line.indexOf('=');
    if (eq > 0) {
      const key = line.slice(0, eq).trim();
      fields.set(key, line.slice(eq + 1).trim());
      if (key === 'ElementDataFile') return { fields, end: nl < 0 ? stop : nl + 1 };
    } else if (line.trim() !== '') {
      throw new DataError(name, undefined, `corrupt MetaImage header: line '${line.slice(0, 60)}' is not 'Key = Value'`);
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  throw new DataError(name, undefined, 'truncated MetaImage header: no ElementDataFile line in its first 64 KiB');
}

const ints = (s: string | undefined): number[] => (s ?? '').split(/\s+/).filter(Boolean).map(Number);
const truthy = (s: string | undefined): boolean => /^(true|1)$/i.test(s ?? '');

/** Header facts; throws a DataError on anything the decoder would refuse. */
export function readMetaImageInfo(b: Uint8Array, name: string): MetaImageInfo {
  const { fields: f, end } = headerFields(b, name);
  if (f.has('ObjectType') && !/^image$/i.test(f.get('ObjectType')!)) throw new DataError(name, undefined, `MetaImage ObjectType ${f.get('ObjectType')} is not an image`);
  const dims = ints(f.get('DimSize'));
  const nd = Number(f.get('NDims') ?? dims.length);
  if (!(nd === 2 || nd === 3) || dims.length !== nd || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new DataError(name, undefined, `unsupported MetaImage: NDims ${f.get('NDims') ?? '(none)'} with DimSize '${f.get('DimSize') ?? ''}' (2-D images, or 3-D whose first slice is read)`);
  }
  const [width, height] = dims as [number, number];
  checkImageSize(width, height, name, 'MetaImage');
  const channels = Number(f.get('ElementNumberOfChannels') ?? 1);
  if (channels !== 1) throw new DataError(name, undefined, `unsupported MetaImage: ${channels} channels per element (grey images are read)`);
  const type = f.get('ElementType') ?? '';
  const t = TYPES[type];
  if (!t) {
    const wide = /^MET_(U?INT|U?LONG|U?LONG_LONG|FLOAT|DOUBLE)$/.test(type);
    throw new DataError(name, undefined, `unsupported MetaImage ElementType ${type || '(none)'}${wide ? ': more than 16 bits per pixel' : ''} (MET_UCHAR, MET_CHAR, MET_USHORT, MET_SHORT are read)`);
  }
  const dataFile = f.get('ElementDataFile')!;
  if (/^LIST/i.test(dataFile) || /%/.test(dataFile)) throw new DataError(name, undefined, `unsupported MetaImage: ElementDataFile ${dataFile} (one LOCAL or named file is read)`);
  const headerSize = Number(f.get('HeaderSize') ?? 0);
  const info: MetaImageInfo = {
    width, height, slices: nd === 3 ? dims[2]! : 1, type, bytes: t.bytes, signed: t.signed,
    msb: truthy(f.get('BinaryDataByteOrderMSB') ?? f.get('ElementByteOrderMSB')), compressed: truthy(f.get('CompressedData')),
    headerSize: Number.isSafeInteger(headerSize) ? headerSize : 0, dataFile, dataOffset: end,
  };
  const cs = Number(f.get('CompressedDataSize'));
  if (Number.isSafeInteger(cs) && cs > 0) info.compressedSize = cs;
  const sp = ints(f.get('ElementSpacing'));
  if (sp.length >= 2 && sp[0]! > 0 && sp[1]! > 0 && Number.isFinite(sp[0]) && Number.isFinite(sp[1])) info.spacing = { x: sp[0]!, y: sp[1]!, source: 'ElementSpacing' };
  return info;
}

/**
 * The pixel file an `.mhd` header names (relative to the header), or undefined when the pixels follow the header
 * (LOCAL).
 */
export function metaImageDataFile(header: Uint8Array, name: string): string | undefined {
  const f = headerFields(header, name).fields.get('ElementDataFile')!;
  return /^LOCAL$/i.test(f) ? undefined : f;
}

/**
 * Decodes a MetaImage. `data` is the separate pixel file of an `.mhd` header (the Node reader
 * fetches it; in the browser, pass the `.mha` form).
 */
export function decodeMetaImage(b: Uint8Array, name: string, data?: Uint8Array): GreyImage {
  const info = readMetaImageInfo(b, name);
  const local = /^LOCAL$/i.test(info.dataFile);
  if (!local && !data) throw new DataError(name, undefined, `MetaImage pixels are in ${info.dataFile}: read the header from a file (or use the single-file .mha form)`);
  let src = local ? b.subarray(info.dataOffset) : data!;
  const n = info.width * info.height;
  const need = n * info.bytes;
  if (info.compressed) src = inflateZlib(src.subarray(0, info.compressedSize ?? src.length), need, name);
  else if (info.headerSize === -1) src = src.subarray(Math.max(0, src.length - need * info.slices));
  else src = src.subarray(Math.min(src.length, info.headerSize));
  if (src.length < need) throw new DataError(name, undefined, `truncated MetaImage: ${src.length} bytes of pixels, a ${info.width}x${info.height} ${info.type} image needs ${need}`);
  const out = new Float32Array(n);
  if (info.bytes === 1) for (let i = 0; i < n; i++) out[i] = info.signed ? (src[i]! << 24) >> 24 : src[i]!;
  else {
    const dv = new DataView(src.buffer, src.byteOffset, need);
    for (let i = 0; i < n; i++) out[i] = info.signed ? dv.getInt16(2 * i, !info.msb) : dv.getUint16(2 * i, !info.msb);
  }
  const img: GreyImage = { width: info.width, height: info.height, data: out, bitDepth: 8 * info.bytes };
  if (info.spacing) img.spacing = info.spacing;
  if (info.slices > 1) img.notes = [`3-D MetaImage: slice 1 of ${info.slices} used`];
  return img;
}

/** zlib inflate that stops past `cap` bytes (the first slice is all that is kept). */
function inflateZlib(src: Uint8Array, cap: number, name: string): Uint8Array {
  const out = new Uint8Array(cap);
  let o = 0;
  const z = new Unzlib((chunk) => {
    const k = Math.min(chunk.length, cap - o);
    out.set(chunk.subarray(0, k), o);
    o += k;
  });
  try {
    // push in slices so that a bomb is cut off once the first slice is complete
    for (let i = 0; i < src.length && o < cap; i += 65536) z.push(src.subarray(i, i + 65536), i + 65536 >= src.length);
  } catch (e) {
    throw new DataError(name, undefined, `corrupt MetaImage: compressed data does not inflate (${(e as Error).message})`);
  }
  return out.subarray(0, o);
}

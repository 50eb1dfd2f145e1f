/**
 * Test-only DICOM files, written with dcmjs (an independent implementation of Part 10): grey
 * images with any of the tags the decoder reads, in native or RLE / JPEG-baseline encapsulated
 * transfer syntaxes, and a deflated variant made by deflating the data set after the meta group.
 */
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import jpeg from 'jpeg-js';

export const TS = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  bigEndian: '1.2.840.10008.1.2.2',
  deflate: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  jpeg2000: '1.2.840.10008.1.2.4.90',
  jpegLS: '1.2.840.10008.1.2.4.80',
} as const;

export interface DicomSpec {
  width: number;
  height: number;
  /** Stored values, row-major (what goes into PixelData before any rescale). */
  pixels: ArrayLike<number>;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  highBit?: number;
  signed?: boolean;
  photometric?: string;
  samplesPerPixel?: number;
  transferSyntax?: string;
  slope?: number;
  intercept?: number;
  window?: [number, number];
  pixelSpacing?: [number, number];
  imagerPixelSpacing?: [number, number];
  magnification?: number;
  frames?: number;
  /** Leave PixelData out. */
  noPixels?: boolean;
  /** The first frame already encoded in `transferSyntax` (JPEG-LS, JPEG 2000 from the codecs' own encoders). */
  encapsulated?: Uint8Array;
}

/** PackBits-style RLE of one byte plane (DICOM PS3.5 G.3): literal runs only, enough for a test. */
function packBits(plane: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < plane.length; i += 128) {
    const n = Math.min(128, plane.length - i);
    out.push(n - 1);
    for (let k = 0; k < n; k++) out.push(plane[i + k]!);
  }
  if (out.length % 2) out.push(0x80); // segments are even-length; -128 is a no-op
  return Uint8Array.from(out);
}

export function rleEncode(values: ArrayLike<number>, bitsAllocated: 8 | 16): Uint8Array {
  const planes = bitsAllocated / 8;
  const segs: Uint8Array[] = [];
  for (let p = 0; p < planes; p++) {
    const shift = 8 * (planes - 1 - p);
    segs.push(packBits(Uint8Array.from({ length: values.length }, (_, i) => (values[i]! >> shift) & 0xff)));
  }
  const header = new DataView(new ArrayBuffer(64));
  header.setUint32(0, planes, true);
  let off = 64;
  segs.forEach((s, i) => { header.setUint32(4 + 4 * i, off, true); off += s.length; });
  const out = new Uint8Array(off);
  out.set(new Uint8Array(header.buffer), 0);
  off = 64;
  for (const s of segs) { out.set(s, off); off += s.length; }
  return out;
}

/**
 * JPEG lossless (ITU T.81 process 14), first-order prediction (selection value 1, as the DICOM
 * SV1 syntax), one Huffman table giving every difference category a 5-bit code: a minimal
 * encoder written from the standard, independent of the decoder under test.
 */
export function jpegLosslessEncode(v: ArrayLike<number>, w: number, h: number, precision: number): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  const seg = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  const bits = new Array(16).fill(0);
  bits[4] = 17; // 17 symbols (categories 0..16) of length 5: canonical codes 0..16
  seg(0xc4, [0x00, ...bits, ...Array.from({ length: 17 }, (_, i) => i)]);
  seg(0xc3, [precision, h >> 8, h & 255, w >> 8, w & 255, 1, 1, 0x11, 0]);
  seg(0xda, [1, 1, 0x00, 1, 0, 0]);
  let acc = 0, n = 0;
  const put = (code: number, len: number) => {
    for (let k = len - 1; k >= 0; k--) {
      acc = (acc << 1) | ((code >> k) & 1);
      if (++n === 8) { out.push(acc); if (acc === 0xff) out.push(0); acc = 0; n = 0; }
    }
  };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = y * w + x;
    // first sample: 2^(P-1); first row: left neighbour; first column: the one above (T.81 H.1.2.1)
    const pred = x === 0 && y === 0 ? 1 << (precision - 1) : y === 0 ? v[i - 1]! : x === 0 ? v[i - w]! : v[i - 1]!;
    let d = (v[i]! - pred) & 0xffff;
    if (d >= 0x8000) d -= 0x10000;
    const cat = d === 0 ? 0 : d === -32768 ? 16 : Math.floor(Math.log2(Math.abs(d))) + 1;
    put(cat, 5);
    if (cat > 0 && cat < 16) put(d > 0 ? d : d + (1 << cat) - 1, cat);
  }
  if (n > 0) put((1 << (8 - n)) - 1, 8 - n);
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** A DICOM Part 10 file's bytes. */
export function writeDicom(s: DicomSpec): Uint8Array {
  const bitsAllocated = s.bitsAllocated ?? 16;
  const ts = s.transferSyntax ?? TS.explicit;
  const n = s.noPixels ? 0 : s.width * s.height * (s.frames ?? 1);
  const native = new (bitsAllocated === 8 ? Uint8Array : Uint16Array)(n);
  for (let i = 0; i < n; i++) native[i] = s.pixels[i % s.pixels.length]! & (bitsAllocated === 8 ? 0xff : 0xffff);
  let pixelData: ArrayBuffer[];
  if (s.encapsulated) pixelData = [s.encapsulated.slice().buffer];
  else if (ts === TS.rle) pixelData = [rleEncode(native.subarray(0, s.width * s.height), bitsAllocated).slice().buffer];
  else if (ts === TS.jpegBaseline) {
    const rgba = new Uint8Array(4 * s.width * s.height);
    for (let i = 0; i < s.width * s.height; i++) { rgba.fill(native[i]!, 4 * i, 4 * i + 3); rgba[4 * i + 3] = 255; }
    pixelData = [new Uint8Array(jpeg.encode({ data: rgba, width: s.width, height: s.height }, 100).data).slice().buffer];
  } else if (ts === TS.jpegLossless) pixelData = [jpegLosslessEncode(native.subarray(0, s.width * s.height), s.width, s.height, s.bitsStored ?? bitsAllocated).slice().buffer];
  else if (ts === TS.jpeg2000) pixelData = [new Uint8Array([0xff, 0x4f, 0xff, 0x51, 0, 0]).buffer];
  else pixelData = [native.slice().buffer];
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
    MediaStorageSOPInstanceUID: '1.2.3.4.5.6.7',
    TransferSyntaxUID: ts,
    ImplementationClassUID: '1.2.3.4.5',
    ImplementationVersionName: 'osteo-test',
  };
  const ds: Record<string, unknown> = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
    SOPInstanceUID: '1.2.3.4.5.6.7',
    Modality: 'DX',
    Rows: s.height,
    Columns: s.width,
    SamplesPerPixel: s.samplesPerPixel ?? 1,
    PhotometricInterpretation: s.photometric ?? 'MONOCHROME2',
    BitsAllocated: bitsAllocated,
    BitsStored: s.bitsStored ?? bitsAllocated,
    HighBit: s.highBit ?? (s.bitsStored ?? bitsAllocated) - 1,
    PixelRepresentation: s.signed ? 1 : 0,
    _vrMap: { PixelData: bitsAllocated === 8 ? 'OB' : 'OW' },
  };
  if (s.slope !== undefined) ds.RescaleSlope = String(s.slope);
  if (s.intercept !== undefined) ds.RescaleIntercept = String(s.intercept);
  if (s.window) { ds.WindowCenter = String(s.window[0]); ds.WindowWidth = String(s.window[1]); }
  if (s.pixelSpacing) ds.PixelSpacing = s.pixelSpacing.map(String);
  if (s.imagerPixelSpacing) ds.ImagerPixelSpacing = s.imagerPixelSpacing.map(String);
  if (s.magnification !== undefined) ds.EstimatedRadiographicMagnificationFactor = String(s.magnification);
  if (s.frames !== undefined) ds.NumberOfFrames = String(s.frames);
  if (!s.noPixels) ds.PixelData = pixelData;
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(ds);
  const bytes = new Uint8Array(dict.write({ fragmentMultiframe: false }));
  if (ts !== TS.deflate) return bytes;
  // dcmjs writes the data set of a deflated file uncompressed: deflate what follows the meta group.
  const groupLength = new DataView(bytes.buffer).getUint32(132 + 8, true);
  const start = 132 + 12 + groupLength;
  const deflated = deflateRawSync(bytes.subarray(start));
  const out = new Uint8Array(start + deflated.length);
  out.set(bytes.subarray(0, start));
  out.set(deflated, start);
  return out;
}

/** Encodes grey pixels with a codec's own WASM encoder (CharLS for JPEG-LS, OpenJPEG for JPEG 2000). */
export async function codecEncode(kind: 'jpegls' | 'j2k', px: Uint8Array | Uint16Array, width: number, height: number, bits: number): Promise<Uint8Array> {
  const spec = kind === 'jpegls' ? '@cornerstonejs/codec-charls/wasmjs' : '@cornerstonejs/codec-openjpeg/wasmjs';
  const mod = (await import(spec)) as { default: () => Promise<Record<string, new () => { getDecodedBuffer(f: object): Uint8Array; encode(): void; getEncodedBuffer(): Uint8Array; delete(): void }>> };
  const lib = await mod.default();
  const enc = new lib[kind === 'jpegls' ? 'JpegLSEncoder' : 'J2KEncoder']!();
  enc.getDecodedBuffer({ width, height, bitsPerSample: bits, componentCount: 1, isSigned: false }).set(new Uint8Array(px.buffer, px.byteOffset, px.byteLength));
  enc.encode();
  const out = enc.getEncodedBuffer().slice();
  enc.delete();
  return out;
}

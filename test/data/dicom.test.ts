/**
 * DICOM decoding on files written by an independent implementation (dcmjs): every transfer
 * syntax it can produce here, MONOCHROME1 and 2, 12 bits in 16, signed, rescale, both spacing
 * tags, multi-frame; and the specific errors for what is refused.
 */
import { describe, expect, it } from 'vitest';
import { decodeDicom, readDicomInfo } from '../../src/data/dicom';
import { decodeDicomAsync } from '../../src/data/dicom_codecs';
import { sniffFormat } from '../../src/data/formats';
import { DataError } from '../../src/data/types';
import { decodeImage, imageSizeOf } from '../../src/node/data_image';
import { codecEncode, TS, writeDicom, type DicomSpec } from './dicom_writer';

const W = 7, H = 5;
const ramp16 = Array.from({ length: W * H }, (_, i) => (i * 1871) % 65536);
const ramp12 = ramp16.map((v) => v >> 4);
const ramp8 = ramp16.map((v) => v >> 8);
const base = (o: Partial<DicomSpec> = {}): DicomSpec => ({ width: W, height: H, pixels: ramp16, ...o });
const swap16 = (v: number[]): number[] => v.map((x) => ((x & 0xff) << 8) | (x >> 8));

describe('DICOM Part 10', () => {
  for (const [label, ts] of [['implicit VR LE', TS.implicit], ['explicit VR LE', TS.explicit], ['deflated explicit LE', TS.deflate], ['RLE lossless', TS.rle], ['JPEG lossless SV1', TS.jpegLossless]] as const) {
    it(`${label}: 16-bit MONOCHROME2 decodes to the stored values`, () => {
      const img = decodeDicom(writeDicom(base({ transferSyntax: ts })), `x-${label}.dcm`);
      expect([img.width, img.height, img.bitDepth]).toEqual([W, H, 16]);
      expect(Array.from(img.data)).toEqual(ramp16);
    });
    it(`${label}: 8-bit decodes to the stored values`, () => {
      const img = decodeDicom(writeDicom(base({ transferSyntax: ts, bitsAllocated: 8, pixels: ramp8 })), 'x8.dcm');
      expect(Array.from(img.data)).toEqual(ramp8);
      expect(img.bitDepth).toBe(8);
    });
  }

  it('explicit VR big endian: 16-bit words are byte-swapped (dcmjs writes the buffer as given, so the test gives big-endian words)', () => {
    const img = decodeDicom(writeDicom(base({ transferSyntax: TS.bigEndian, pixels: swap16(ramp16) })), 'be.dcm');
    expect(Array.from(img.data)).toEqual(ramp16);
  });

  it('JPEG baseline (8-bit, lossy): within a few grey levels of the source', () => {
    const smooth = Array.from({ length: 16 * 16 }, (_, i) => 40 + (i % 16) * 8 + Math.floor(i / 16) * 2);
    const img = decodeDicom(writeDicom({ width: 16, height: 16, pixels: smooth, bitsAllocated: 8, transferSyntax: TS.jpegBaseline }), 'j.dcm');
    const worst = Math.max(...Array.from(img.data, (v, i) => Math.abs(v - smooth[i]!)));
    expect(worst).toBeLessThanOrEqual(4);
  });

  it('JPEG lossless SV1, 12 bits in 16, MONOCHROME1, signed-free: exact', () => {
    const img = decodeDicom(writeDicom(base({ transferSyntax: TS.jpegLossless, pixels: ramp12, bitsStored: 12, photometric: 'MONOCHROME1' })), 'jl.dcm');
    expect(Array.from(img.data)).toEqual(ramp12.map((v) => 4095 - v));
  });

  it('12 bits stored in 16 (HighBit 11): bits above are masked off', () => {
    const dirty = ramp12.map((v) => v | 0xf000); // garbage in the unused high bits (overlay planes did this)
    const img = decodeDicom(writeDicom(base({ pixels: dirty, bitsStored: 12 })), '12.dcm');
    expect(Array.from(img.data)).toEqual(ramp12);
    expect(img.bitDepth).toBe(12);
  });

  it('HighBit below BitsStored-1+shift: values are shifted down', () => {
    const shifted = ramp12.map((v) => v << 4); // 12 bits at bits 4..15
    const img = decodeDicom(writeDicom(base({ pixels: shifted, bitsStored: 12, highBit: 15 })), 'hb.dcm');
    expect(Array.from(img.data)).toEqual(ramp12);
  });

  it('signed 16-bit (PixelRepresentation 1) with rescale slope/intercept: value·slope + intercept', () => {
    const signed = [-1024, -1, 0, 1, 3071, -32768, 32767];
    const img = decodeDicom(writeDicom({ width: 7, height: 1, pixels: signed.map((v) => v & 0xffff), signed: true, slope: 2, intercept: -10 }), 's.dcm');
    expect(Array.from(img.data)).toEqual(signed.map((v) => v * 2 - 10));
  });

  it('signed 12-bit in 16: the sign bit is bit 11', () => {
    const vals = [-2048, -1, 0, 2047];
    const img = decodeDicom(writeDicom({ width: 4, height: 1, pixels: vals.map((v) => v & 0xfff), bitsStored: 12, signed: true }), 's12.dcm');
    expect(Array.from(img.data)).toEqual(vals);
  });

  it('MONOCHROME1 is inverted within the stored range, window centre mirrored with it', () => {
    const img = decodeDicom(writeDicom(base({ pixels: ramp12, bitsStored: 12, photometric: 'MONOCHROME1', window: [1000, 400] })), 'm1.dcm');
    expect(Array.from(img.data)).toEqual(ramp12.map((v) => 4095 - v));
    expect(img.window).toEqual({ center: 4095 - 1000, width: 400 });
    const m2 = decodeDicom(writeDicom(base({ pixels: ramp12, bitsStored: 12, window: [1000, 400] })), 'm2.dcm');
    expect(m2.window).toEqual({ center: 1000, width: 400 });
  });

  it('the display window clamps a copy for drawing (values outside the window saturate)', async () => {
    const { windowed } = await import('../../src/data/window');
    const img = decodeDicom(writeDicom({ width: 5, height: 1, pixels: [0, 900, 1000, 1100, 4000], bitsStored: 12, window: [1000, 201] }), 'w.dcm');
    expect(Array.from(windowed(img).data)).toEqual([899.5, 900, 1000, 1099.5, 1099.5]);
    expect(Array.from(img.data)).toEqual([0, 900, 1000, 1100, 4000]); // the decoded image is untouched
    const plain = decodeDicom(writeDicom({ width: 2, height: 1, pixels: [0, 1] }), 'p.dcm');
    expect(windowed(plain)).toBe(plain);
  });

  it('PixelSpacing (row\\column = y\\x) is the spacing', () => {
    const img = decodeDicom(writeDicom(base({ pixelSpacing: [0.15, 0.1] })), 'ps.dcm');
    expect(img.spacing).toEqual({ x: 0.1, y: 0.15, source: 'PixelSpacing' });
    expect(img.notes).toBeUndefined();
  });

  it('PixelSpacing wins over ImagerPixelSpacing', () => {
    const img = decodeDicom(writeDicom(base({ pixelSpacing: [0.1, 0.1], imagerPixelSpacing: [0.2, 0.2] })), 'both.dcm');
    expect(img.spacing?.source).toBe('PixelSpacing');
    expect(img.spacing?.x).toBe(0.1);
  });

  it('ImagerPixelSpacing alone: used, with the calibration note', () => {
    const img = decodeDicom(writeDicom(base({ imagerPixelSpacing: [0.14, 0.14] })), 'ips.dcm');
    expect(img.spacing).toMatchObject({ x: 0.14, y: 0.14, source: 'ImagerPixelSpacing' });
    expect(img.spacing?.note).toMatch(/detector/);
    expect(img.notes?.join(' ')).toMatch(/ImagerPixelSpacing/);
  });

  it('ImagerPixelSpacing ÷ EstimatedRadiographicMagnificationFactor when the file gives it', () => {
    const img = decodeDicom(writeDicom(base({ imagerPixelSpacing: [0.11, 0.11], magnification: 1.1 })), 'mag.dcm');
    expect(img.spacing!.x).toBeCloseTo(0.1, 12);
    expect(img.spacing!.note).toMatch(/Magnification/);
  });

  it('no spacing tag: no spacing', () => {
    expect(decodeDicom(writeDicom(base()), 'n.dcm').spacing).toBeUndefined();
  });

  it('multi-frame: the first frame, with a note', () => {
    const two = [...ramp16, ...ramp16.map((v) => 65535 - v)];
    const img = decodeDicom(writeDicom(base({ pixels: two, frames: 2 })), 'mf.dcm');
    expect(Array.from(img.data)).toEqual(ramp16);
    expect(img.notes).toContain('multi-frame DICOM: frame 1 of 2 used');
  });

  it('is sniffed by its DICM preamble (no extension needed) and decoded by the Node decoder; the header gives size and spacing', () => {
    const bytes = writeDicom(base({ pixelSpacing: [0.1, 0.1] }));
    expect(sniffFormat(bytes)).toBe('dicom');
    expect(Array.from(decodeImage(bytes, 'scan').data)).toEqual(ramp16);
    expect(imageSizeOf(bytes, 'scan')).toEqual({ width: W, height: H, spacing: { x: 0.1, y: 0.1, source: 'PixelSpacing' } });
    expect(readDicomInfo(bytes, 'scan').transferSyntax).toBe(TS.explicit);
  });
});

describe('DICOM refusals: a DataError naming the file and the problem', () => {
  const refuses = (bytes: Uint8Array, re: RegExp) => {
    let err: unknown;
    try { decodeDicom(bytes, 'bad.dcm'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/^bad\.dcm: /);
    expect((err as Error).message).toMatch(re);
  };
  it('no pixel data', () => refuses(writeDicom(base({ noPixels: true })), /without pixel data/));
  it('RGB', () => refuses(writeDicom(base({ photometric: 'RGB', samplesPerPixel: 3 })), /photometric interpretation RGB/));
  it('YBR_FULL_422', () => refuses(writeDicom(base({ photometric: 'YBR_FULL_422', samplesPerPixel: 3 })), /photometric interpretation YBR_FULL_422/));
  it('JPEG 2000 in the host-neutral synchronous decoder: named, pointing to the async one', () => refuses(writeDicom(base({ transferSyntax: TS.jpeg2000 })), /transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 \(JPEG 2000 lossless\) needs a WASM codec/));
  it('a syntax osteo does not read (HTJ2K)', () => refuses(writeDicom(base({ transferSyntax: '1.2.840.10008.1.2.4.201' })), /unsupported DICOM transfer syntax 1\.2\.840\.10008\.1\.2\.4\.201 \(HTJ2K lossless\)/));
  it('truncated pixel data', () => { const b = writeDicom(base()); refuses(b.subarray(0, b.length - 10), /truncated|corrupt/); });
  it('truncated header', () => refuses(writeDicom(base()).subarray(0, 200), /truncated|corrupt/));
  it('no DICM magic', () => { const b = writeDicom(base()).slice(); b[128] = 0x58; refuses(b, /not a DICOM Part 10 file/); });
  it('absurd dimensions are refused before allocating', () => refuses(writeDicom({ width: 65535, height: 65535, pixels: [0], noPixels: true }), /past the limit of 100 megapixels; refused before decoding/));
  it('more than 16 bits stored', () => refuses(writeDicom(base({ bitsStored: 20 })), /BitsStored 20/));
});

describe('browser decoding (decodeImageBrowser sniffs DICOM and decodes it without the browser\'s codecs, so it runs in Node too)', () => {
  it('a DICOM Blob decodes to the same pixels and spacing as in Node', async () => {
    const { decodeImageBrowser } = await import('../../src/data/image_browser');
    const bytes = writeDicom(base({ pixels: ramp12, bitsStored: 12, photometric: 'MONOCHROME1', pixelSpacing: [0.1, 0.1], transferSyntax: TS.deflate }));
    const img = await decodeImageBrowser(new Blob([bytes.slice()]), 'scan.dcm');
    expect(Array.from(img.data)).toEqual(ramp12.map((v) => 4095 - v));
    expect(img.spacing).toEqual({ x: 0.1, y: 0.1, source: 'PixelSpacing' });
    await expect(decodeImageBrowser(bytes.subarray(0, 400), 'cut.dcm')).rejects.toThrow(/cut\.dcm: (truncated|corrupt)/);
  });
});

describe('DICOM with WASM codecs, loaded on first use (decodeDicomAsync)', () => {
  const G = 64; // OpenJPEG wants a few resolution levels
  const px16 = Uint16Array.from({ length: G * G }, (_, i) => ((i % G) * 900 + Math.floor(i / G) * 37) % 65536);
  const px12 = px16.map((v) => v >> 4);
  for (const [label, ts, kind] of [['JPEG-LS lossless (CharLS)', TS.jpegLS, 'jpegls'], ['JPEG 2000 lossless (OpenJPEG)', TS.jpeg2000, 'j2k']] as const) {
    it(`${label}: 16-bit and 12-bit MONOCHROME1 exact, with spacing`, async () => {
      const b16 = writeDicom({ width: G, height: G, pixels: Array.from(px16), transferSyntax: ts, encapsulated: await codecEncode(kind, px16, G, G, 16), pixelSpacing: [0.1, 0.1] });
      const img = await decodeDicomAsync(b16, 'c.dcm');
      expect(Array.from(img.data)).toEqual(Array.from(px16));
      expect(img.spacing?.x).toBe(0.1);
      const b12 = writeDicom({ width: G, height: G, pixels: Array.from(px12), bitsStored: 12, photometric: 'MONOCHROME1', transferSyntax: ts, encapsulated: await codecEncode(kind, px12, G, G, 12) });
      expect(Array.from((await decodeDicomAsync(b12, 'c12.dcm')).data)).toEqual(Array.from(px12, (v) => 4095 - v));
      // the Node entry's async reader, Node's synchronous reader (codec worker) and the browser decoder take it too
      const { decodeImageAsync } = await import('../../src/node/data_image');
      expect((await decodeImageAsync(b16, 'n.dcm')).width).toBe(G);
      expect(Array.from(decodeImage(b12, 's12.dcm').data)).toEqual(Array.from(px12, (v) => 4095 - v));
      expect(() => decodeImage(writeDicom({ width: G, height: G, pixels: [0], transferSyntax: ts, encapsulated: new Uint8Array([0xff, 0x4f, 1, 2, 3]) }), 'junk.dcm')).toThrow(/^junk\.dcm: /);
      const { decodeImageBrowser } = await import('../../src/data/image_browser');
      expect((await decodeImageBrowser(new Blob([b16.slice()]), 'b.dcm')).height).toBe(G);
    });
    it(`${label}: a corrupt frame is a DataError naming the file`, async () => {
      const enc = await codecEncode(kind, px16, G, G, 16);
      const bad = enc.slice(0, Math.floor(enc.length / 3));
      bad.fill(0x55, 40, 80);
      const b = writeDicom({ width: G, height: G, pixels: [0], transferSyntax: ts, encapsulated: bad });
      await expect(decodeDicomAsync(b, 'bad.dcm')).rejects.toThrow(/^bad\.dcm: (corrupt|truncated)/);
    });
  }
  it('a native file through the async path is the sync decoder\'s result', async () => {
    const b = writeDicom(base());
    expect(Array.from((await decodeDicomAsync(b, 'n.dcm')).data)).toEqual(ramp16);
  });
});

/**
 * Which image format a file is, from its first bytes (browser-safe). Magic numbers, not file
 * names: a DICOM file often has no extension, and a `.png` may be a JPEG.
 */

export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'dicom' | 'tiff' | 'metaimage';

/** Bytes a sniffer needs to see (DICOM's "DICM" sits after a 128-byte preamble). */
export const SNIFF_BYTES = 512;

/** A MetaImage header starts with one of these keys (`ObjectType = Image` first by convention). */
const METAIMAGE_KEYS = /^(ObjectType|NDims|DimSize|ElementType|ElementSpacing|BinaryData|CompressedData|Comment|TransformMatrix|Offset|AnatomicalOrientation|HeaderSize)\s*=/;

export function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d) return 'dicom';
  if (b.length >= 8 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 42 && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42))) return 'tiff';
  if (b.length >= 8) {
    let head = '';
    for (let i = 0; i < Math.min(b.length, 64); i++) head += String.fromCharCode(b[i]!);
    if (METAIMAGE_KEYS.test(head)) return 'metaimage';
  }
  return undefined;
}

/** "not an image file" with what was recognised, for errors. */
export const KNOWN_FORMATS = 'PNG, JPEG, BMP, DICOM (Part 10), TIFF or MetaImage';

/**
 * The host-neutral decoders of the formats browsers cannot decode themselves (DICOM, TIFF,
 * MetaImage), behind one function. src/data/image_browser.ts loads this module with a dynamic
 * import, only when a file's magic number says it is one of them.
 */
import { decodeDicomAsync } from './dicom_codecs';
import type { ImageFormat } from './formats';
import { decodeMetaImage } from './metaimage';
import { decodeTiff } from './tiff';
import { DataError, type GreyImage } from './types';

export async function decodeMedical(bytes: Uint8Array, name: string, format: ImageFormat): Promise<GreyImage> {
  switch (format) {
    case 'dicom': return decodeDicomAsync(bytes, name);
    case 'tiff': return decodeTiff(bytes, name);
    case 'metaimage': return decodeMetaImage(bytes, name);
    default: throw new DataError(name, undefined, `decodeMedical: ${format} is decoded by the browser`);
  }
}

/**
 * The host-neutral decoders of the formats browsers cannot decode themselves (DICOM, TIFF,
 * MetaImage), behind one function. src/data/image_browser.ts loads this module with a dynamic
 * import, only when a file's magic number says it is one of them.
 */
import { decodeDicom } from './dicom';
import type { ImageFormat } from './formats';
import { decodeMetaImage } from './metaimage';
import { decodeTiff } from './tiff';
import { DataError, type GreyImage } from './types';

export function decodeMedical(bytes: Uint8Array, name: string, format: ImageFormat): GreyImage {
  switch (format) {
    case 'dicom': return decodeDicom(bytes, name);
    case 'tiff': return decodeTiff(bytes, name);
    case 'metaimage': return decodeMetaImage(bytes, name);
    default: throw new DataError(name, undefined, `decodeMedical: ${format} is decoded by the browser`);
  }
}

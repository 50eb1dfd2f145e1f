/**
 * DICOM transfer syntaxes that need a WASM codec: JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG), the
 * builds cornerstone / OHIF use. Each codec is imported on first use only, so a user who never
 * opens such a file never loads it; the import specifier is a variable, so bundlers leave it to
 * the host's module resolution (Node resolves it from node_modules; the browser bundle does not
 * ship the codecs, and such a file is refused there by name).
 */
import { DECODED_SYNTAXES, decodeDicom, dicomImageParts, encapsulatedFrame, toGrey, TRANSFER_SYNTAXES, WASM_SYNTAXES } from './dicom';
import { DataError, type GreyImage } from './types';

interface CodecDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  getDecodedBuffer(): Uint8Array;
  delete?(): void;
}
type Codec = { new (): CodecDecoder };

const SPECIFIERS = { jpegls: ['@cornerstonejs/codec-charls/wasmjs', 'JpegLSDecoder'], j2k: ['@cornerstonejs/codec-openjpeg/wasmjs', 'J2KDecoder'] } as const;
const loaded = new Map<string, Promise<Codec>>();

function codec(kind: 'jpegls' | 'j2k'): Promise<Codec> {
  let p = loaded.get(kind);
  if (!p) {
    const [spec, cls] = SPECIFIERS[kind];
    p = (async () => {
      const mod = (await import(/* @vite-ignore */ spec as string)) as { default?: () => Promise<Record<string, Codec>> };
      const factory = mod.default ?? (mod as unknown as () => Promise<Record<string, Codec>>);
      const lib = await factory();
      return lib[cls]!;
    })();
    p.catch(() => loaded.delete(kind));
    loaded.set(kind, p);
  }
  return p;
}

/** Decodes any DICOM syntax osteo reads, loading a WASM codec when the file needs one. */
export async function decodeDicomAsync(bytes: Uint8Array, name: string): Promise<GreyImage> {
  const { ds, el, info } = dicomImageParts(bytes, name);
  const kind = WASM_SYNTAXES[info.transferSyntax];
  if (!kind || DECODED_SYNTAXES.has(info.transferSyntax)) return decodeDicom(bytes, name);
  const what = TRANSFER_SYNTAXES[info.transferSyntax];
  const frame = encapsulatedFrame(ds, el, info, name);
  let Decoder: Codec;
  try {
    Decoder = await codec(kind);
  } catch (e) {
    throw new DataError(name, undefined, `DICOM ${what}: the ${kind === 'j2k' ? 'OpenJPEG' : 'CharLS'} codec is not available here (${(e as Error).message ?? e})`);
  }
  const dec = new Decoder();
  try {
    dec.getEncodedBuffer(frame.length).set(frame);
    try {
      dec.decode();
    } catch (e) {
      // emscripten throws a pointer (a number) for a C++ exception
      throw new DataError(name, undefined, `corrupt DICOM ${what} frame${typeof e === 'object' && e && 'message' in e ? `: ${(e as Error).message}` : ''}`);
    }
    const fi = dec.getFrameInfo();
    if (fi.width !== info.width || fi.height !== info.height || fi.componentCount !== 1) {
      throw new DataError(name, undefined, `corrupt DICOM: ${what} frame is ${fi.width}x${fi.height} with ${fi.componentCount} component(s); the header says ${info.width}x${info.height} grey`);
    }
    const n = info.width * info.height;
    const out = dec.getDecodedBuffer().slice(); // a copy: the view is into the codec's memory
    const bytesPer = fi.bitsPerSample > 8 ? 2 : 1;
    if (out.length < n * bytesPer) throw new DataError(name, undefined, `truncated DICOM ${what} frame: ${out.length} bytes for ${n} pixels`);
    const raw = bytesPer === 2 ? new Uint16Array(out.buffer, 0, n) : out.subarray(0, n);
    return toGrey(raw, info);
  } finally {
    dec.delete?.();
  }
}

/** Picks the reader from the bytes (and the file name when the bytes are ambiguous). */
import { isHdf5 } from './keras_h5';
import { MAX_HEADER_BYTES, parseSafetensorsHeader } from './safetensors';
import { WeightFileError, type WeightFormat } from './types';

const TORCH_TO_SAFETENSORS =
  'convert it to safetensors first, e.g. python -c "import torch; from safetensors.torch import save_file; ' +
  "sd = torch.load('FILE.pth', map_location='cpu'); sd = sd.get('state_dict', sd); " +
  "save_file({k: v.contiguous() for k, v in sd.items()}, 'FILE.safetensors')\"";

function looksLikeSafetensors(b: Uint8Array): boolean {
  if (b.length < 10) return false;
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(MAX_HEADER_BYTES) && Number(n) + 8 <= b.length && b[8] === 0x7b; // '{'
}

function firstNonSpace(b: Uint8Array): number {
  for (let i = 0; i < Math.min(b.length, 4096); i++) {
    const c = b[i]!;
    if (c === 0xef && i === 0 && b[1] === 0xbb && b[2] === 0xbf) {
      i += 2; // UTF-8 BOM
      continue;
    }
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** The weight format of a file, or a WeightFileError that says what to do with it. */
export function sniffFormat(bytes: Uint8Array, name = 'weights file'): WeightFormat {
  if (isHdf5(bytes)) return 'keras-h5';
  if (looksLikeSafetensors(bytes)) {
    const h = parseSafetensorsHeader(bytes, name);
    if (h.metadata.format === 'osteo-weights') return 'osteo-safetensors';
    const names = h.entries.map((e) => e.name.replace(/^(module\.|_orig_mod\.)+/, ''));
    if (names.some((n) => /^(encoder|decoder|segmentation_head)\./.test(n))) return 'smp-safetensors';
    if (names.some((n) => /^features\.\d+\./.test(n))) return 'torchvision-safetensors';
    throw new WeightFileError(
      `${name}: a safetensors file, but its tensor names (${names.slice(0, 4).join(', ') || 'none'}) are neither torchvision VGG19 (features.N.*) nor smp UnetPlusPlus (encoder.features.N.*)`,
      name,
    );
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    if (/\.keras$/i.test(name))
      throw new WeightFileError(`${name}: a Keras 3 .keras archive; unzip it and convert model.weights.h5 inside`, name);
    throw new WeightFileError(`${name}: a PyTorch zip checkpoint (torch.save) cannot be read without Python; ${TORCH_TO_SAFETENSORS}`, name);
  }
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5)
    throw new WeightFileError(`${name}: a Python pickle (legacy PyTorch checkpoint) cannot be read safely; ${TORCH_TO_SAFETENSORS}`, name);
  if (firstNonSpace(bytes) === 0x7b) {
    const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 1 << 20)));
    if (head.includes('"weightsManifest"') || /\.json$/i.test(name)) return 'tfjs-layers';
  }
  if (/\.safetensors$/i.test(name)) parseSafetensorsHeader(bytes, name); // throws the specific reason
  if (/\.(h5|hdf5)$/i.test(name)) throw new WeightFileError(`${name}: not an HDF5 file (no HDF5 signature); truncated or corrupt download?`, name);
  throw new WeightFileError(
    `${name}: unrecognised weight file; supported: Keras .h5, TensorFlow.js model.json + shards, safetensors (torchvision/timm VGG19, smp UnetPlusPlus, osteo)`,
    name,
  );
}

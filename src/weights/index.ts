/**
 * Weight files (browser-safe entry): readers for Keras .h5, tfjs layers models, torchvision/timm
 * and smp safetensors and the engine's own safetensors, all returning canonical smp-named OIHW
 * f32 tensors, metadata, and a missing/unexpected/mismatch report.
 */
import { readKerasH5 } from './keras_h5';
import { sniffFormat } from './sniff';
import { readTfjsLayers } from './tfjs_layers';
import { readOsteoSafetensors, readSmpSafetensors, readTorchvisionSafetensors } from './torch_safetensors';
import { type LoadedWeights, WeightFileError } from './types';
import type { VggSpec } from './vgg19';

export * from './types';
export * from './safetensors';
export * from './vgg19';
export * from './smp';
export { readKerasH5, isHdf5 } from './keras_h5';
export { readTfjsLayers, parseTfjsManifest } from './tfjs_layers';
export { readTorchvisionSafetensors, readSmpSafetensors, readOsteoSafetensors } from './torch_safetensors';
export { sniffFormat } from './sniff';

export interface ReadWeightsOptions {
  file?: string;
  checkFinite?: boolean;
  spec?: VggSpec;
  decoderChannels?: readonly number[];
}

/**
 * Reads any supported weight file. `input` is the file's bytes, or for a tfjs model a map of
 * model.json and its shards (paths relative to model.json).
 */
export async function readWeights(input: Uint8Array | Map<string, Uint8Array>, opts: ReadWeightsOptions = {}): Promise<LoadedWeights> {
  if (input instanceof Map) return readTfjsLayers(input, { file: opts.file, checkFinite: opts.checkFinite, spec: opts.spec });
  const file = opts.file ?? 'weights file';
  const format = sniffFormat(input, file);
  switch (format) {
    case 'keras-h5':
      return readKerasH5(input, opts);
    case 'torchvision-safetensors':
      return readTorchvisionSafetensors(input, opts);
    case 'smp-safetensors':
      return readSmpSafetensors(input, opts);
    case 'osteo-safetensors':
      return readOsteoSafetensors(input, opts);
    case 'tfjs-layers':
      throw new WeightFileError(`${file}: a TensorFlow.js model.json; pass it together with its weight shards`, file);
  }
}

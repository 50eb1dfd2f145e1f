/**
 * Readers for PyTorch-named safetensors: torchvision/timm VGG19 (`features.N.*`), a whole smp
 * UnetPlusPlus state_dict (`encoder.features.N.*`, `decoder.blocks.*`, `segmentation_head.0.*`)
 * and the engine's own files (same names, `format: osteo-weights` metadata). Layout is already
 * OIHW; only names change.
 */
import { readSafetensors } from './safetensors';
import { UNETPP_DECODER_CHANNELS, unetPlusPlusExpected } from './smp';
import { type LoadedWeights, type WeightMap, type WeightTensor, WeightFileError } from './types';
import {
  type Normalization,
  type VggSpec,
  TORCHVISION_NORMALIZATION,
  canonicalMetadata,
  grayNormalization,
  matchExpected,
  normalizationFromMetadata,
  vgg19Expected,
} from './vgg19';

export interface TorchReadOptions {
  file?: string;
  /** Reject NaN/Inf (default true). */
  checkFinite?: boolean;
  /** Shrunken widths (tests); input channels are taken from the file unless given. */
  spec?: VggSpec;
  decoderChannels?: readonly number[];
}

/** Strips wrappers PyTorch adds when saving (DataParallel's `module.`, `_orig_mod.` of torch.compile). */
function stripWrappers(name: string): string {
  let n = name;
  for (;;) {
    if (n.startsWith('module.')) n = n.slice(7);
    else if (n.startsWith('_orig_mod.')) n = n.slice(10);
    else return n;
  }
}

function inputChannelsOf(t: WeightTensor | undefined, file: string, name: string, given?: number): number {
  if (given !== undefined) return given;
  if (!t) return 3;
  const c = t.shape.length === 4 ? t.shape[1]! : -1;
  if (c !== 1 && c !== 3) throw new WeightFileError(`${file}: ${name} has shape [${t.shape.join(', ')}]; the first conv must take 1 or 3 channels`, file, name);
  return c;
}

/** torchvision `vgg19` / timm `vgg19.tv_in1k` weights (features only; classifier ignored). */
export function readTorchvisionSafetensors(bytes: Uint8Array, opts: TorchReadOptions = {}): LoadedWeights {
  const file = opts.file ?? 'torchvision safetensors';
  const st = readSafetensors(bytes, { file, checkFinite: opts.checkFinite });
  const found: WeightMap = new Map();
  const unexpected: string[] = [];
  for (const [raw, t] of st.tensors) {
    const name = stripWrappers(raw);
    const m = /^features\.(\d+)\.(weight|bias)$/.exec(name);
    if (m) found.set(`encoder.${name}`, { shape: t.shape, data: t.data });
    else unexpected.push(raw);
  }
  const cin = inputChannelsOf(found.get('encoder.features.0.weight'), file, 'features.0.weight', opts.spec?.inputChannels);
  const { tensors, report } = matchExpected(found, vgg19Expected({ ...opts.spec, inputChannels: cin }), unexpected);
  const norm = cin === 1 ? grayNormalization(TORCHVISION_NORMALIZATION) : TORCHVISION_NORMALIZATION;
  const metadata = canonicalMetadata({
    architecture: 'vgg19-features',
    sourceFormat: 'torchvision-safetensors',
    normalization: norm,
    inputChannels: cin,
    extra: cin === 1 ? { first_conv: 'summed-over-rgb' } : {},
  });
  return { format: 'torchvision-safetensors', tensors, metadata, report };
}

function smpLike(bytes: Uint8Array, opts: TorchReadOptions, format: 'smp-safetensors' | 'osteo-safetensors'): LoadedWeights {
  const file = opts.file ?? `${format} file`;
  const st = readSafetensors(bytes, { file, checkFinite: opts.checkFinite });
  const found: WeightMap = new Map();
  for (const [raw, t] of st.tensors) {
    const name = stripWrappers(raw);
    if (found.has(name)) throw new WeightFileError(`${file}: tensor ${name} appears twice (with and without a module. prefix)`, file, name);
    const w: WeightTensor = { shape: t.shape, data: t.data };
    if (name.endsWith('num_batches_tracked')) w.dtype = 'I64';
    found.set(name, w);
  }
  const cin = inputChannelsOf(found.get('encoder.features.0.weight'), file, 'encoder.features.0.weight', opts.spec?.inputChannels);
  const md = st.metadata;
  const ours = md.format === 'osteo-weights';
  const architecture = ours ? md.architecture : found.has('segmentation_head.0.weight') ? 'unetplusplus-vgg19' : 'vgg19-features';
  let expected;
  if (architecture === 'unetplusplus-vgg19') {
    const head = found.get('segmentation_head.0.weight');
    const classes = head?.shape[0];
    if (classes === undefined) throw new WeightFileError(`${file}: no segmentation_head.0.weight; cannot tell the number of classes`, file);
    expected = unetPlusPlusExpected({ ...opts.spec, inputChannels: cin, classes, decoderChannels: opts.decoderChannels ?? UNETPP_DECODER_CHANNELS });
  } else if (architecture === 'vgg19-features') {
    expected = vgg19Expected({ ...opts.spec, inputChannels: cin });
  } else throw new WeightFileError(`${file}: unknown architecture ${JSON.stringify(architecture)} in metadata`, file);
  const { tensors, report } = matchExpected(found, expected);
  let metadata: Record<string, string>;
  if (ours) {
    normalizationFromMetadata(md, file); // validates
    if (md.input_channels !== String(cin))
      throw new WeightFileError(`${file}: metadata says ${md.input_channels} input channels, first conv has ${cin}`, file);
    metadata = { ...md };
  } else {
    // smp's "imagenet" vgg19 encoder weights are torchvision's: same normalisation.
    const norm: Normalization = cin === 1 ? grayNormalization(TORCHVISION_NORMALIZATION) : TORCHVISION_NORMALIZATION;
    metadata = canonicalMetadata({
      architecture: architecture as 'unetplusplus-vgg19' | 'vgg19-features',
      sourceFormat: format,
      normalization: norm,
      inputChannels: cin,
      extra: { normalization_assumed: 'smp imagenet encoder (torchvision)', ...(cin === 1 ? { first_conv: 'summed-over-rgb' } : {}) },
    });
    const classes = found.get('segmentation_head.0.weight')?.shape[0];
    if (classes !== undefined) metadata.classes = String(classes);
  }
  return { format, tensors, metadata, report };
}

/** A whole smp UnetPlusPlus(vgg19) state_dict (or only its encoder) saved as safetensors. */
export function readSmpSafetensors(bytes: Uint8Array, opts: TorchReadOptions = {}): LoadedWeights {
  return smpLike(bytes, opts, 'smp-safetensors');
}

/** The engine's own canonical files (metadata `format: osteo-weights`). */
export function readOsteoSafetensors(bytes: Uint8Array, opts: TorchReadOptions = {}): LoadedWeights {
  return smpLike(bytes, opts, 'osteo-safetensors');
}

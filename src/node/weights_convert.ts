/**
 * `osteo weights convert SRC [--out FILE] [--channels 1|3]`: reads any supported weight file,
 * checks it against the VGG19 (or smp UnetPlusPlus) table, converts it to the engine's canonical
 * safetensors (smp names, OIHW, f32, metadata: architecture, source format, normalisation,
 * colour order, input channels) and writes it atomically.
 */
import { basename, join } from 'node:path';
import {
  type ShapeMismatch,
  type VggSpec,
  WeightFileError,
  formatReport,
  numel,
  partialEncoderLayers,
  reportOk,
  singleChannelMetadata,
  toSingleChannel,
} from '../weights/index';
import { readWeightsFile, saveWeightsFile } from './weights_io';

export interface ConvertOptions {
  /** Output path; default under `weightsDir` (see defaultOutputName). */
  out?: string;
  /** 1: sum the first conv over RGB (smp's in_channels=1). Default: keep the file's channels. */
  inputChannels?: 1 | 3;
  /** Default `weights` (relative to the working directory). */
  weightsDir?: string;
  /** Reject NaN/Inf (default true). */
  checkFinite?: boolean;
  /** Shrunken VGG widths (tests). */
  spec?: VggSpec;
  decoderChannels?: readonly number[];
}

export interface Report {
  src: string;
  out: string;
  sourceFormat: string;
  sourceSha256: string;
  architecture: string;
  inputChannels: number;
  tensors: number;
  parameters: number;
  bytesWritten: number;
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  /** A partial copy: the encoder layers converted and those absent from the source (smp names). */
  partial?: { converted: string[]; absent: string[] };
  metadata: Record<string, string>;
  /** One-line human summary. */
  summary: string;
}

/**
 * Default file name: `vgg19-imagenet.safetensors`, `vgg19-imagenet-1ch.safetensors`, or
 * `unetplusplus-vgg19-<src>.safetensors`.
 */
export function defaultOutputName(architecture: string, inputChannels: number, src: string): string {
  if (architecture === 'vgg19-features') return inputChannels === 1 ? 'vgg19-imagenet-1ch.safetensors' : 'vgg19-imagenet.safetensors';
  const stem = basename(src).replace(/\.(safetensors|h5|hdf5|json)$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return `unetplusplus-vgg19-${stem}${inputChannels === 1 ? '-1ch' : ''}.safetensors`;
}

export async function convertWeights(src: string, opts: ConvertOptions = {}): Promise<Report> {
  const loaded = await readWeightsFile(src, { checkFinite: opts.checkFinite ?? true, spec: opts.spec, decoderChannels: opts.decoderChannels });
  // A partial copy (absent shards) converts the complete layers and lists the others; anything else missing is an
  // error.
  const absent = partialEncoderLayers(loaded);
  if (!reportOk(loaded.report) && !absent)
    throw new WeightFileError(`${loaded.path}: does not match the expected ${loaded.metadata.architecture ?? 'VGG19'} weights: ${formatReport(loaded.report)}`, loaded.path);
  let tensors = loaded.tensors;
  let metadata = { ...loaded.metadata };
  if (absent) {
    metadata.absent_layers = absent.join(',');
    metadata.imagenet_layers = [...new Set([...tensors.keys()].filter((n) => n.startsWith('encoder.')).map((n) => n.replace(/\.(weight|bias)$/, '')))].join(',');
  }
  const have = Number(metadata.input_channels);
  if (opts.inputChannels === 1 && have === 3) {
    tensors = toSingleChannel(tensors);
    metadata = singleChannelMetadata(metadata);
  } else if (opts.inputChannels === 3 && have === 1) {
    throw new WeightFileError(`${loaded.path}: the first conv takes 1 channel; it cannot be expanded back to RGB`, loaded.path);
  }
  metadata.source_file = basename(loaded.path);
  metadata.source_sha256 = loaded.sourceSha256;
  metadata.converted_by = 'osteo weights convert';
  const inputChannels = Number(metadata.input_channels);
  const architecture = metadata.architecture ?? 'vgg19-features';
  const out = opts.out ?? join(opts.weightsDir ?? 'weights', defaultOutputName(architecture, inputChannels, loaded.path));
  const bytesWritten = await saveWeightsFile(out, tensors, metadata);
  let parameters = 0;
  for (const t of tensors.values()) if (t.dtype === undefined || t.dtype === 'F32') parameters += numel(t.shape);
  const r = loaded.report;
  return {
    src: loaded.path,
    out,
    sourceFormat: loaded.format,
    sourceSha256: loaded.sourceSha256,
    architecture,
    inputChannels,
    tensors: tensors.size,
    parameters,
    bytesWritten,
    missing: r.missing,
    unexpected: r.unexpected,
    mismatched: r.mismatched,
    ...(absent ? { partial: { converted: metadata.imagenet_layers!.split(','), absent } } : {}),
    metadata,
    summary: `${loaded.format} → ${out}: ${tensors.size} tensors, ${parameters} parameters, ${inputChannels} input channel(s), ${metadata.normalization}${
      absent ? `; PARTIAL: ${metadata.imagenet_layers!.split(',').length} conv layers converted (${metadata.imagenet_layers}), ${absent.length} absent from the source (${absent.join(', ')}): --init imagenet starts those from scratch` : ''}${
      r.unexpected.length ? `; ignored ${r.unexpected.length} extra tensor(s) (${r.unexpected.slice(0, 3).join(', ')}${r.unexpected.length > 3 ? ', …' : ''})` : ''
    }`,
  };
}

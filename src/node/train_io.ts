/**
 * File access of the training application layer in Node: data specs → prepared data, the
 * `--init` string → an InitSource (ImageNet weights found under weights/, checkpoints, weight
 * files), ImageNet weights lookup.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UNETPP_DECODER_CHANNELS, VGG19_WIDTHS, type LoadedWeights } from '../weights/index';
import { CheckpointError } from '../train/checkpoint';
import { ConfigError, type TrainConfig } from '../train/config';
import { MissingWeightsError, type InitSource } from '../train/init';
import type { PreparedData } from '../train/prepare';
import { loadCheckpoint } from './checkpoint';
import { readDataset } from './data_readers';
import { prepareDataFast } from './decode_prepare';
import { readWeightsFile } from './weights_io';

/** Where ImageNet VGG19 weights are looked for, in order (what `osteo weights fetch|convert` write). */
export const IMAGENET_CANDIDATES = ['weights/vgg19-imagenet-1ch.safetensors', 'weights/vgg19-imagenet.safetensors'];

/** The ImageNet VGG19 file to use: the given one, or the first of weights/vgg19-imagenet*.safetensors. */
export function findImagenetWeights(given?: string): string {
  if (given) {
    if (!existsSync(given)) throw new MissingWeightsError(`ImageNet weights ${given} not found`);
    return given;
  }
  const found = IMAGENET_CANDIDATES.find((f) => existsSync(f));
  if (found) return found;
  const other = existsSync('weights') ? readdirSync('weights').filter((f) => /^vgg19-imagenet.*\.safetensors$/.test(f)).sort() : [];
  if (other.length) return join('weights', other[0]!);
  throw new MissingWeightsError(
    `ImageNet VGG19 weights not found (looked for ${IMAGENET_CANDIDATES.join(', ')} and weights/vgg19-imagenet*.safetensors under ${resolve('.')}). ` +
      'Run `osteo weights fetch` (downloads and converts them; needs internet), or download them by hand and run ' +
      '`osteo weights convert FILE --channels 1`, or pass --weights FILE; or train with --init scratch.',
  );
}

/** Reads ImageNet VGG19 weights for a model with these conv widths. */
export async function readImagenetWeights(file: string, widths: readonly number[] = VGG19_WIDTHS): Promise<{ weights: LoadedWeights; source: string }> {
  return { weights: await readWeightsFile(file, { spec: { widths: [...widths] } }), source: file };
}

/** The initial weights named by `c.init`: imagenet, scratch, an osteo checkpoint or a weight file. */
export async function resolveInit(c: TrainConfig): Promise<InitSource> {
  if (c.init === 'scratch') return { kind: 'scratch' };
  if (c.init === 'imagenet') return { kind: 'imagenet', ...(await readImagenetWeights(findImagenetWeights(c.weights), c.widths)) };
  const file = c.init;
  if (!existsSync(file)) throw new ConfigError(`--init ${file}: no such file (expected imagenet, scratch, or a checkpoint / weight file)`);
  // Only a safetensors file can be a checkpoint: anything else (Keras .h5, a tfjs model.json or
  // its folder) is a weight file, read by the same format sniffing as `osteo weights convert`.
  if (!looksLikeSafetensors(file)) return { kind: 'weights', weights: await readWeights(file, c), source: file };
  try {
    return { kind: 'checkpoint', checkpoint: await loadCheckpoint(file) };
  } catch (e) {
    if (!(e instanceof CheckpointError) || !/not an osteo training checkpoint/.test(e.message)) throw e;
  }
  return { kind: 'weights', weights: await readWeights(file, c), source: file };
}

const readWeights = (file: string, c: TrainConfig) =>
  readWeightsFile(file, { spec: { widths: c.widths ?? [...VGG19_WIDTHS] }, decoderChannels: c.decoder ?? [...UNETPP_DECODER_CHANNELS] });

/** A safetensors file starts with its little-endian u64 header length, then the JSON header's '{'. */
function looksLikeSafetensors(file: string): boolean {
  if (statSync(file).isDirectory()) return false;
  const head = Buffer.alloc(9);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, head, 0, 9, 0) < 9) return false;
  } finally {
    closeSync(fd);
  }
  return head.readBigUInt64LE(0) >= 2n && head[8] === 0x7b;
}

/** Options of prepareDataSpec. */
export interface PrepareSpecOptions {
  size: number;
  strict?: boolean;
  split?: string;
  limit?: number;
  /** Progress lines (none when absent). */
  log?: (line: string) => void;
}

/** Reads a data spec, decodes every image once and keeps a pre-resized working copy. */
export function prepareDataSpec(spec: string, opts: PrepareSpecOptions): PreparedData {
  const ds = readDataset(spec, { ...(opts.strict ? { strict: true } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) });
  // decoded and resized in worker threads, working copies cached on disk (src/node/decode_prepare.ts)
  const data = prepareDataFast(spec, ds, { size: opts.size, ...(opts.strict ? { strict: true } : {}), ...(opts.split ? { split: opts.split } : {}), ...(opts.log ? { log: opts.log } : {}) });
  const s = data.loadStats;
  if (opts.log && s.decoded + s.cached > 0) opts.log(`  images: ${s.decoded} decoded by ${s.workers} worker(s), ${s.cached} from the cache, ${s.fallback} by the JS decoders`);
  return data;
}

/**
 * `osteo` in Node: the engine on Dawn (a hardware adapter, else SwiftShader on the CPU), models
 * loaded from checkpoint files, URLs or bytes, prediction on image files, encoded bytes or grey
 * pixels, training on in-memory sets or data specs (`isbi2015:DIR`, `hand:DIR`, `generic:…`). The
 * same names as `osteo/browser` (test/api/exports.test.ts); the engine's parts are under
 * `osteo/engine`, Node's file helpers under `osteo/node`.
 *
 * ```ts
 * import { createEngine, loadModel } from 'osteo';
 * const engine = await createEngine();
 * const model = await loadModel(engine, 'runs/isbi/checkpoint-best.safetensors');
 * const { points, names } = await model.predict('xray.png');
 * ```
 */
import { promises as fsp } from 'node:fs';
import type { GreyImage } from '../data/types';
import type { Engine, EngineOptions } from '../gpu/engine';
import { ApiError, checkpointSourceBytes, createModel as createCore, LandmarkModel, modelFromBytes, train as trainCore, type CheckpointSource, type ModelOptions, type Trained, type TrainOptions, type TrainRecipe } from '../api/model';
import { greyImage, isGreyPixels, type GreyPixels } from '../data/pixels';
import { acquireNodeEngine } from './acquire_node';
import { decodeImageAsync, readImageAsync } from './data_image';
import { prepareDataSpec } from './train_io';
import { TRAIN_DEFAULTS } from '../train/config';
import type { InMemoryDataset, PreparedData } from '../train/prepare';

export * from '../api/common';
export type { CheckpointSource } from '../api/model';

/**
 * What `predict` and `decodeImage` take in Node: an image file path (PNG, JPEG, BMP, DICOM, TIFF, MetaImage), its
 * bytes, or grey pixels.
 */
export type ImageInput = string | Uint8Array | ArrayBuffer | GreyPixels;

/** A model whose `predict` takes Node image inputs. */
export type Model = LandmarkModel<ImageInput>;

/** Decodes a Node image input (a path, encoded bytes or grey pixels) to grey pixels. */
export async function decodeImage(input: ImageInput, name = typeof input === 'string' ? input : 'image'): Promise<GreyImage> {
  if (typeof input === 'string') return readImageAsync(input);
  if (input instanceof Uint8Array) return decodeImageAsync(input, name);
  if (input instanceof ArrayBuffer) return decodeImageAsync(new Uint8Array(input), name);
  if (isGreyPixels(input)) return greyImage(input, name);
  throw new ApiError(`${name}: expected a file path, encoded image bytes, or grey pixels { data, width, height }`);
}

/**
 * A WebGPU engine on Dawn: the first hardware adapter, else SwiftShader (Vulkan on the CPU, found
 * next to an installed Chromium or Chrome), exactly as the `osteo` CLI does. `software: true`
 * forces SwiftShader. Free it with `engine.dispose()` (or `using`).
 */
export async function createEngine(opts: EngineOptions & { software?: boolean } = {}): Promise<Engine> {
  const { software, ...rest } = opts;
  return acquireNodeEngine({ ...rest, ...(software ? { forceSoftware: true } : {}) });
}

const readCheckpointFile = async (path: string | URL): Promise<Uint8Array> => {
  const bytes = await fsp.readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new ApiError(`${String(path)}: cannot read checkpoint (${e.code ?? e.message})`);
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/**
 * A model from a checkpoint: a file path or file: URL, an http(s) URL, or the checkpoint's bytes (ArrayBuffer or
 * Uint8Array).
 */
export async function loadModel(engine: Engine, source: CheckpointSource): Promise<Model> {
  const { bytes, name } = await checkpointSourceBytes(source, readCheckpointFile);
  return modelFromBytes(engine, bytes, name, decodeImage);
}

/** A new, randomly initialised model whose `predict` takes Node image inputs. */
export function createModel(engine: Engine, opts: ModelOptions): Model {
  return createCore(engine, opts, decodeImage);
}

/**
 * Trains a model on an in-memory set (images + points), a prepared set, or — in Node only — a
 * data spec (`hand:DIR`, `isbi2015:DIR`, `generic:labels.csv`, `synthetic:hand?n=64` …; see
 * docs/data.md). Resolves to the best model of the run; `opts.signal` aborts between steps.
 */
export async function train(engine: Engine, dataset: InMemoryDataset | PreparedData | string, config: TrainRecipe = {}, opts: TrainOptions<ImageInput> = {}): Promise<Trained<ImageInput>> {
  const size = config.size ?? (opts.init instanceof LandmarkModel ? opts.init.size : TRAIN_DEFAULTS.size);
  const data = typeof dataset === 'string' ? prepareDataSpec(dataset, { size }) : dataset;
  return trainCore(engine, data, config, { decoder: decodeImage, ...opts });
}

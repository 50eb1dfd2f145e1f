/**
 * `osteo` in Node: the engine on Dawn (a hardware adapter, else SwiftShader on the CPU), models
 * loaded from checkpoint files, bytes or URLs, prediction on image files, encoded bytes or grey
 * pixels, training on in-memory sets or data specs (`isbi2015:DIR`, `hand:DIR`, `generic:…`).
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
import { ApiError, createModel as createCore, LandmarkModel, modelFromBytes, train as trainCore, type ModelOptions, type Trained, type TrainOptions, type TrainRecipe } from '../api/model';
import type { GreyPixels } from '../data/pixels';
import { acquireNodeEngine } from './acquire_node';
import { decodeImageAsync, readImageAsync } from './data_image';
import { prepareDataSpec } from './train_io';
import { TRAIN_DEFAULTS } from '../train/config';
import type { InMemoryDataset } from '../train/prepare';

export * from '../api/common';
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export { folderStore } from './store';
export { readDataset } from './data_readers';
export { readWeightsFile } from './weights_io';

/** What `predict` takes in Node: an image file path (PNG, JPEG, BMP, DICOM, TIFF, MetaImage), its bytes, or grey pixels. */
export type NodeImage = string | Uint8Array | GreyPixels;

/** A model whose `predict` takes image paths, encoded bytes or grey pixels. */
export type NodeLandmarkModel = LandmarkModel<NodeImage>;

/** Decodes a Node image input (a path or encoded bytes) to grey pixels. */
export const decodeNodeImage = async (input: NodeImage, name: string): Promise<GreyImage> => {
  if (typeof input === 'string') return readImageAsync(input);
  if (input instanceof Uint8Array) return decodeImageAsync(input, name);
  throw new ApiError(`${name}: expected a file path, encoded image bytes, or grey pixels { data, width, height }`);
};

/**
 * A WebGPU engine on Dawn: the first hardware adapter, else SwiftShader (Vulkan on the CPU, found
 * next to an installed Chromium or Chrome), exactly as the `osteo` CLI does. `software: true`
 * forces SwiftShader. Call `engine.destroy()` when done.
 */
export async function createEngine(opts: EngineOptions & { software?: boolean } = {}): Promise<Engine> {
  const { software, ...rest } = opts;
  return acquireNodeEngine({ ...rest, ...(software ? { forceSoftware: true } : {}) });
}

/** A model from a checkpoint: a file path, an http(s) URL, or the checkpoint's bytes. */
export async function loadModel(engine: Engine, source: string | URL | Uint8Array): Promise<NodeLandmarkModel> {
  if (source instanceof Uint8Array) return modelFromBytes(engine, source, 'checkpoint', decodeNodeImage);
  const name = String(source);
  if (/^https?:\/\//.test(name)) {
    const res = await fetch(name);
    if (!res.ok) throw new ApiError(`${name}: HTTP ${res.status} ${res.statusText}`);
    return modelFromBytes(engine, new Uint8Array(await res.arrayBuffer()), name, decodeNodeImage);
  }
  const bytes = await fsp.readFile(source instanceof URL ? source : name).catch((e: NodeJS.ErrnoException) => {
    throw new ApiError(`${name}: cannot read checkpoint (${e.code ?? e.message})`);
  });
  return modelFromBytes(engine, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name, decodeNodeImage);
}

/** A new, randomly initialised model whose `predict` takes Node image inputs. */
export function createModel(engine: Engine, opts: ModelOptions): NodeLandmarkModel {
  return createCore(engine, opts, decodeNodeImage);
}

/**
 * Trains a model on an in-memory set (images + points) or a data spec (`hand:DIR`,
 * `isbi2015:DIR`, `generic:labels.csv`, `synthetic:hand?n=64` …; see the README). Resolves to
 * the best model of the run; `opts.signal` aborts between steps.
 */
export async function train(engine: Engine, dataset: InMemoryDataset | string, config: TrainRecipe = {}, opts: TrainOptions<NodeImage> = {}): Promise<Trained<NodeImage>> {
  const size = config.size ?? (opts.init instanceof LandmarkModel ? opts.init.size : TRAIN_DEFAULTS.size);
  const data = typeof dataset === 'string' ? prepareDataSpec(dataset, { size }) : dataset;
  return trainCore(engine, data, config, { decoder: decodeNodeImage, ...opts });
}

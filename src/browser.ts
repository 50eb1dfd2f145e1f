/**
 * `osteo/browser`: the engine on `navigator.gpu`, models loaded from a URL or checkpoint bytes,
 * prediction on ImageData, ImageBitmap, <img>, <canvas>, OffscreenCanvas, Blob, encoded bytes or
 * grey pixels, training on in-memory sets. The same names as `osteo` (test/api/exports.test.ts).
 * Bundled by scripts/build.mjs for platform "browser" into one file, so the build fails if a Node
 * built-in sneaks in.
 *
 * ```ts
 * import { createEngine, loadModel } from 'osteo/browser';
 * const engine = await createEngine();
 * const model = await loadModel(engine, '/models/isbi.safetensors');
 * const { points, names } = await model.predict(document.querySelector('img')!);
 * ```
 */
import { ApiError, checkpointSourceBytes, createModel as createCore, modelFromBytes, train as trainCore, type CheckpointSource, type ModelOptions, type Trained, type TrainOptions, type TrainRecipe } from './api/model';
import { greyImage, isGreyPixels, type GreyPixels } from './data/pixels';
import type { LandmarkModel } from './api/model';
import { decodeImageBrowser } from './data/image_browser';
import { checkImageSize } from './data/image_limits';
import { DataError, type GreyImage } from './data/types';
import { acquireBrowserEngine } from './gpu/acquire';
import type { Engine, EngineOptions } from './gpu/engine';
import type { InMemoryDataset, PreparedData } from './train/prepare';

export * from './api/common';
export type { CheckpointSource } from './api/model';

/**
 * What `predict` and `decodeImage` take in a page: pixels on screen or in memory, an encoded image (Blob or bytes), or
 * grey pixels.
 */
export type ImageInput = ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | Blob | Uint8Array | ArrayBuffer | GreyPixels;

/** A model whose `predict` takes browser image inputs. */
export type Model = LandmarkModel<ImageInput>;

const luma = (rgba: Uint8ClampedArray, w: number, h: number): GreyImage => {
  const data = new Float32Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return { width: w, height: h, data, bitDepth: 8 };
};

/** Decodes a browser image input to grey pixels (Rec. 601 luma, as the Node decoders). */
export async function decodeImage(input: ImageInput, name = 'image'): Promise<GreyImage> {
  if (isGreyPixels(input)) return greyImage(input, name);
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return decodeImageBrowser(input instanceof ArrayBuffer ? new Uint8Array(input) : input, name);
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return luma(input.data, input.width, input.height);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return decodeImageBrowser(input, name);
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement && !input.complete) await input.decode();
  const source = input as CanvasImageSource & { width: number; height: number; naturalWidth?: number; naturalHeight?: number };
  const width = source.naturalWidth || source.width;
  const height = source.naturalHeight || source.height;
  if (!(width > 0 && height > 0)) throw new ApiError(`${name}: expected ImageData, ImageBitmap, an <img>, a <canvas>, OffscreenCanvas, a Blob, encoded bytes or grey pixels { data, width, height }`);
  checkImageSize(width, height, name, 'image');
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { colorSpace: 'srgb' });
  if (!ctx) throw new DataError(name, undefined, 'no 2D canvas context');
  ctx.drawImage(source, 0, 0, width, height);
  return luma(ctx.getImageData(0, 0, width, height).data, width, height);
}

/**
 * The page's WebGPU engine; a NoAdapterError says why when WebGPU is missing or disabled. Free it with
 * `engine.dispose()`.
 */
export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  return acquireBrowserEngine(opts);
}

/**
 * A model from a checkpoint URL (fetched; relative to the page) or the checkpoint's bytes (ArrayBuffer or Uint8Array).
 */
export async function loadModel(engine: Engine, source: CheckpointSource): Promise<Model> {
  const { bytes, name } = await checkpointSourceBytes(source);
  return modelFromBytes(engine, bytes, name, decodeImage);
}

/** A new, randomly initialised model whose `predict` takes browser image inputs. */
export function createModel(engine: Engine, opts: ModelOptions): Model {
  return createCore(engine, opts, decodeImage);
}

/** Trains a model on labelled images in memory (or a prepared set); resolves to the best model of the run. */
export async function train(engine: Engine, dataset: InMemoryDataset | PreparedData, config: TrainRecipe = {}, opts: TrainOptions<ImageInput> = {}): Promise<Trained<ImageInput>> {
  return trainCore(engine, dataset, config, { decoder: decodeImage, ...opts });
}

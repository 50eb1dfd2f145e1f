/**
 * What the page and the engine worker (engine_worker.ts) say to each other. The page sends a
 * request with a number; the worker answers it once (a result or an error) and may send progress
 * for it before; the page may cancel it. Events not tied to a request (the device was lost) come
 * without a number. Big arrays (heatmaps, display pixels) travel as transferables, not copies.
 *
 * Errors lose their class when structured-cloned, and the page tells failures apart by class
 * (errors.ts): the worker sends the class's name with the message and fields, the page rebuilds an
 * instance of the same exported class.
 */
import {
  ApiError, AutogradError, CheckpointError, ConfigError, DataError, DeviceLostError, DisposedError, GpuError, LandmarkCountError, LimitError,
  MissingWeightsError, NoAdapterError, NonFiniteLossError, OsteoError, OutOfMemoryError, PointsFileError, ShaderCompileError, ShapeError, WeightFileError,
  type Prediction,
} from '../browser';

/** The model panel's description of a checkpoint. */
export interface ModelInfo {
  name: string;
  landmarks: number;
  landmarkNames: string[];
  size: number;
  parameters: number;
  /** Where it came from: run settings, epochs, best validation MRE. */
  provenance: string;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  fallback: boolean;
}

/** How many decoded X-rays the worker holds, and their bytes. */
export interface Memory {
  decoded: number;
  bytes: number;
}

/** An image the worker may have decoded already (by id), with its file to decode it again. */
export interface ImageRef {
  id: string;
  file: Blob;
  name: string;
}

export interface Decoded {
  width: number;
  height: number;
  spacing?: { x: number; y: number };
  /** The image windowed to 8-bit grey, ready to draw (only when asked for). */
  display?: ImageBitmap;
  memory: Memory;
}

/** A prediction without the heatmaps' copy: they come apart, as a transferred buffer. */
export interface Predicted {
  prediction: Omit<Prediction, 'heatmaps'>;
  heatmaps: { size: number; data: Float32Array };
  ms: number;
  /** The first prediction of this model (includes shader compilation). */
  first: boolean;
  memory: Memory;
}

/** The training panel's settings. */
export interface TrainSettings {
  epochs: number;
  lr: number;
  /** Add the built-in synthetic set when it has the model's landmarks. */
  synthetic: boolean;
}

/** A fine-tune of the model in use (`model: true`) on labelled images, or a demo model from scratch. */
export interface TrainJob {
  settings: TrainSettings;
  model: boolean;
  images: (ImageRef & { points: [number, number][] })[];
  /** Pixel spacing (mm) per image when every image states one. */
  mmPerPixel?: number[];
}

/** What a training run gives: a model the worker holds (a handle), its checkpoint bytes (null: stopped too early). */
export interface Trained {
  handle: number;
  bytes: Uint8Array;
}

/** The progress of a training run, as the panel draws it. */
export type TrainEvent =
  | { kind: 'step'; epoch: number; step: number; steps: number; loss: number }
  | { kind: 'epoch-end'; epoch: number; valMre: number; unit: string; validated: boolean }
  | { kind: 'log'; message: string };

/** Every request: its name, what it takes, what it answers. */
export interface Requests {
  engine: { args: Record<string, never>; result: AdapterInfo };
  recover: { args: Record<string, never>; result: AdapterInfo };
  load: { args: { bytes: Uint8Array; name: string }; result: { handle: number; info: ModelInfo } };
  /** Makes a loaded or trained model the one in use (the one it replaces is freed). */
  use: { args: { handle: number; name: string }; result: ModelInfo };
  drop: { args: { handle: number }; result: null };
  decode: { args: ImageRef & { display: boolean }; result: Decoded };
  rekey: { args: { from: string; to: string }; result: null };
  forget: { args: { id?: string }; result: Memory };
  predict: { args: ImageRef; result: Predicted };
  train: { args: TrainJob; result: Trained | null };
  demoImage: { args: { seed: number; size: number }; result: Blob };
}

export type RequestName = keyof Requests;

export type PageMessage =
  | { id: number; type: RequestName; args: unknown }
  | { cancel: number };

export type WorkerMessage =
  | { id: number; result: unknown }
  | { id: number; error: WireError }
  | { id: number; progress: TrainEvent }
  | { event: 'lost'; reason: string }
  | { event: 'ready' };

/** An error as it crosses: its class's name, message, stack and the fields the page reads (reason, file, row). */
export interface WireError {
  cls: string;
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, string | number | boolean | null>;
}

/** The classes the page rebuilds, by name: every one the library exports, and the built-ins the app reads. */
const CLASSES: Record<string, new (...args: never[]) => Error> = {
  ApiError, AutogradError, CheckpointError, ConfigError, DataError, DeviceLostError, DisposedError, GpuError, LandmarkCountError, LimitError,
  MissingWeightsError, NoAdapterError, NonFiniteLossError, OsteoError, OutOfMemoryError, PointsFileError, ShaderCompileError, ShapeError, WeightFileError,
  RangeError, TypeError, Error,
};

export function toWire(e: unknown): WireError {
  if (!(e instanceof Error)) return { cls: 'Error', name: 'Error', message: String(e), fields: {} };
  const fields: WireError['fields'] = {};
  for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v as string | number | boolean | null;
  // a DOMException (AbortError) keeps its own name; a class missing from the table falls back to its parent's
  let cls = e instanceof DOMException ? 'DOMException' : e.constructor.name;
  for (let p = Object.getPrototypeOf(e) as object | null; !(cls in CLASSES) && cls !== 'DOMException' && p; p = Object.getPrototypeOf(p) as object | null) cls = p.constructor.name;
  return { cls, name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), fields };
}

/** The error again, an instance of its class (so `instanceof` classifies it on the page). */
export function fromWire(w: WireError): Error {
  if (w.cls === 'DOMException') return new DOMException(w.message, w.name);
  const cls = CLASSES[w.cls] ?? Error;
  // not through the constructor: the classes take different arguments; the fields are set as they were
  const e = Object.create(cls.prototype) as Error;
  Object.defineProperty(e, 'message', { value: w.message, writable: true, configurable: true });
  Object.defineProperty(e, 'stack', { value: w.stack ?? `${w.name}: ${w.message}`, writable: true, configurable: true });
  Object.assign(e, w.fields, { name: w.name });
  return e;
}

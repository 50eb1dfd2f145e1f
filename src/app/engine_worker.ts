/**
 * The app's engine worker (dist/app/worker.js, a dedicated module worker): everything heavy runs
 * here, off the page's thread, so the page stays responsive (test/app/longtasks.alone.test.ts): the
 * WebGPU engine (WebGPU is available in dedicated workers), the models, predictions, training, and
 * the decoders (DICOM / TIFF / 16-bit PNG are decoded in JavaScript). It holds the decoded X-rays
 * by image id (bounded: an evicted one is decoded again from the file the page sends along) and
 * the models by handle (the page says which one is in use: its requests are versioned, and the
 * last one asked for wins).
 *
 * Requests come as { id, type, args } (protocol.ts); each is answered once, errors with their
 * class's name. Requests run as they come, concurrently: a prediction may run while training does
 * (the page orders model changes and predictions itself).
 */
import { createEngine, loadModel, synthesize, type Engine, type GreyImage, type Model } from '../browser';
import { decodeCheckpoint } from '../engine';
import { BoundedCache } from './cache';
import { decodeFile, spacingOf, toDisplay } from './images';
import { toWire, type ImageRef, type Memory, type ModelInfo, type PageMessage, type Requests, type RequestName, type TrainEvent, type WorkerMessage } from './protocol';
import { runTraining } from './training';

/** At most this many decoded X-rays and bytes of them stay in memory (a float cephalogram is ~18 MB). */
export const DECODED_IMAGES = 4;
export const DECODED_BYTES = 160 << 20;

/** The worker's global scope, as far as it is used here (the DOM lib types `self` as a window). */
const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<PageMessage>) => void): void;
};

export function describeCheckpoint(bytes: Uint8Array, name: string): Omit<ModelInfo, 'parameters'> {
  const ck = decodeCheckpoint(bytes, name);
  const run = ck.train.run ?? {};
  const parts: string[] = [];
  const from = (run as { data?: unknown }).data;
  if (typeof from === 'string') parts.push(`trained on ${from}`);
  const init = (run as { init?: unknown }).init;
  if (typeof init === 'string') parts.push(`init ${init}`);
  if (ck.state.epoch) parts.push(`${ck.state.epoch} epoch${ck.state.epoch === 1 ? '' : 's'}`);
  if (ck.state.bestMetric !== null && Number.isFinite(ck.state.bestMetric)) parts.push(`best validation MRE ${ck.state.bestMetric.toFixed(2)} ${ck.train.unit ?? ''}`.trim());
  if (ck.state.finished) parts.push(`finished ${ck.state.finished}`);
  const k = ck.model.classes;
  return {
    name,
    landmarks: k,
    landmarkNames: ck.train.landmarkNames ?? Array.from({ length: k }, (_, i) => String(i + 1)),
    size: ck.train.size,
    provenance: parts.join(', ') || 'no training record in the checkpoint',
  };
}

let engine: Engine | undefined;
let acquiring: Promise<Engine> | undefined;
/** Models by handle: loaded or trained, the one in use among them. */
const models = new Map<number, { model: Model; bytes: Uint8Array }>();
let nextHandle = 1;
let inUse: number | undefined;
let predicted = 0;
const decoded = new BoundedCache<string, GreyImage>(DECODED_IMAGES, DECODED_BYTES, (g) => g.data.byteLength);
const controllers = new Map<number, AbortController>();
let lostSent = false;

/** The engine, made once: callers that ask while it is being made share the same one. */
async function acquire(): Promise<Engine> {
  if (engine && !engine.lostReason) return engine;
  if (!acquiring) {
    engine?.dispose();
    engine = undefined;
    acquiring = createEngine().then((e) => { lostSent = false; return (engine = e); }).finally(() => (acquiring = undefined));
  }
  return acquiring;
}

const adapterInfo = (e: Engine): Requests['engine']['result'] => ({ vendor: e.adapter.vendor, architecture: e.adapter.architecture, description: e.adapter.description, fallback: e.adapter.fallback });
const memory = (): Memory => ({ decoded: decoded.size, bytes: decoded.heldBytes });

/** The image's pixels: decoded before (by id), else decoded from its file now. */
async function pixels(ref: ImageRef): Promise<GreyImage> {
  const have = decoded.get(ref.id);
  if (have) return have;
  const g = await decodeFile(ref.file, ref.name);
  decoded.set(ref.id, g);
  return g;
}

function current(): Model {
  const m = inUse !== undefined ? models.get(inUse) : undefined;
  if (!m) throw new Error('no model loaded');
  return m.model;
}

/** Keeps a model under a new handle. */
function hold(model: Model, bytes: Uint8Array): number {
  const handle = nextHandle++;
  models.set(handle, { model, bytes });
  return handle;
}

type Handler<K extends RequestName> = (args: Requests[K]['args'], ctx: { signal: AbortSignal; progress: (e: TrainEvent) => void; transfer: Transferable[] }) => Promise<Requests[K]['result']>;

const handlers: { [K in RequestName]: Handler<K> } = {
  engine: async () => adapterInfo(await acquire()),

  /** After a device loss: a new device, the model in use reloaded on it from its bytes (other handles are gone). */
  recover: async () => {
    const keep = inUse !== undefined ? models.get(inUse) : undefined;
    for (const { model } of models.values()) { try { model.dispose(); } catch { /* its device is gone */ } }
    models.clear();
    engine?.dispose();
    engine = undefined;
    const e = await acquire();
    if (keep) {
      inUse = hold(await loadModel(e, keep.bytes), keep.bytes);
      predicted = 0;
    } else inUse = undefined;
    return adapterInfo(e);
  },

  load: async ({ bytes, name }) => {
    const described = describeCheckpoint(bytes, name);
    const model = await loadModel(await acquire(), bytes);
    return { handle: hold(model, bytes), info: { ...described, parameters: model.parameterCount } };
  },

  use: async ({ handle, name }) => {
    const m = models.get(handle);
    if (!m) throw new Error(`model ${handle} is not held (freed, or lost with its device)`);
    if (inUse !== undefined && inUse !== handle) { models.get(inUse)?.model.dispose(); models.delete(inUse); }
    inUse = handle;
    predicted = 0;
    return { ...describeCheckpoint(m.bytes, name), parameters: m.model.parameterCount };
  },

  drop: async ({ handle }) => {
    if (handle !== inUse) { models.get(handle)?.model.dispose(); models.delete(handle); }
    return null;
  },

  decode: async (ref, { transfer }) => {
    const g = await pixels(ref);
    const spacing = spacingOf(g);
    const display = ref.display ? await createImageBitmap(toDisplay(g)) : undefined;
    if (display) transfer.push(display);
    return { width: g.width, height: g.height, ...(spacing ? { spacing } : {}), ...(display ? { display } : {}), memory: memory() };
  },

  rekey: async ({ from, to }) => {
    const g = decoded.get(from);
    decoded.delete(from);
    if (g) decoded.set(to, g);
    return null;
  },

  forget: async ({ id }) => {
    if (id === undefined) decoded.clear();
    else decoded.delete(id);
    return memory();
  },

  predict: async (ref, { transfer }) => {
    const model = current();
    const g = await pixels(ref);
    const t0 = performance.now();
    const p = await model.predict(g, { heatmaps: true });
    const ms = performance.now() - t0;
    const { heatmaps, ...prediction } = p;
    let data = heatmaps!.data;
    // only a whole buffer can be transferred
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
    transfer.push(data.buffer);
    return { prediction, heatmaps: { size: heatmaps!.size, data }, ms, first: predicted++ === 0, memory: memory() };
  },

  train: async (job, { signal, progress }) => {
    const e = await acquire();
    const model = job.model ? current() : undefined;
    const images = [];
    for (const im of job.images) images.push(await pixels(im));
    const dataset = images.length && model ? { images, points: job.images.map((im) => im.points), landmarkNames: model.landmarkNames, ...(job.mmPerPixel ? { mmPerPixel: job.mmPerPixel } : {}) } : undefined;
    const trained = await runTraining({ engine: e, model, dataset, settings: job.settings, signal, onEvent: progress });
    if (!trained) return null;
    // the answer carries a copy of the bytes (structured clone): the worker keeps its own for a recovery
    return { handle: hold(trained.model, trained.bytes), bytes: trained.bytes };
  },

  /** A synthetic hand X-ray as a PNG file, to try the app without data. */
  demoImage: async ({ seed, size }) => {
    const image = synthesize({ kind: 'hand', n: 1, size, seed }).images[0]!;
    const canvas = new OffscreenCanvas(image.width, image.height);
    canvas.getContext('2d')!.putImageData(toDisplay(image), 0, 0);
    return canvas.convertToBlob({ type: 'image/png' });
  },
};

async function handle(id: number, type: RequestName, args: unknown): Promise<void> {
  const controller = new AbortController();
  controllers.set(id, controller);
  const transfer: Transferable[] = [];
  try {
    const progress = (e: TrainEvent) => scope.postMessage({ id, progress: e });
    const result = await (handlers[type] as Handler<RequestName>)(args as never, { signal: controller.signal, progress, transfer });
    scope.postMessage({ id, result }, transfer);
  } catch (e) {
    scope.postMessage({ id, error: toWire(e) });
  } finally {
    controllers.delete(id);
  }
}

scope.addEventListener('message', (e) => {
  const m = e.data;
  if (typeof m !== 'object' || m === null) return; // not ours (a test's own message, say)
  if ('cancel' in m) controllers.get(m.cancel)?.abort(new DOMException('stopped by the user', 'AbortError'));
  else if ('type' in m && m.type in handlers) void handle(m.id, m.type, m.args);
});

// a device lost while idle (driver reset, GPU process crash) is reported before the next click fails
setInterval(() => {
  const reason = engine?.lostReason;
  if (reason && !lostSent) {
    lostSent = true;
    scope.postMessage({ event: 'lost', reason });
  }
}, 500);

scope.postMessage({ event: 'ready' });

/**
 * The GPU side of the app, all through the library's browser API: one engine (re-acquired after a
 * device loss), the model in use with its checkpoint bytes (so it can be reloaded on a new device
 * and saved to IndexedDB), its description for the model panel, and timed predictions. GPU work
 * runs one job at a time.
 */
import { createEngine, loadModel, type Engine, type GreyImage, type Model as BrowserLandmarkModel, type Prediction } from '../browser';
import { decodeCheckpoint } from '../engine';

export interface ModelInfo {
  name: string;
  landmarks: number;
  landmarkNames: string[];
  size: number;
  parameters: number;
  /** Where it came from: run settings, epochs, best validation MRE. */
  provenance: string;
}

export interface Timed {
  prediction: Prediction;
  ms: number;
  /** The first prediction of this model on this device (includes shader compilation). */
  first: boolean;
  /** The model generation that made it (stale once the model changed). */
  generation: number;
}

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

export class Session {
  engine: Engine | undefined;
  model: BrowserLandmarkModel | undefined;
  info: ModelInfo | undefined;
  bytes: Uint8Array | undefined;
  /** Bumped whenever the model changes: predictions of older generations are stale. */
  generation = 0;
  private predicted = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /** Runs GPU work one job at a time (a failed job does not block the next). */
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private acquiring: Promise<Engine> | undefined;

  /** The engine, made once: callers that ask while it is being made share the same one. */
  async acquire(): Promise<Engine> {
    if (this.engine && !this.engine.lostReason) return this.engine;
    if (!this.acquiring) {
      this.engine?.dispose();
      this.engine = undefined;
      this.acquiring = createEngine().then((e) => (this.engine = e)).finally(() => (this.acquiring = undefined));
    }
    return this.acquiring;
  }

  get lost(): boolean {
    return !!this.engine?.lostReason;
  }

  /**
   * Loads checkpoint bytes as the model in use (the previous one is freed only once this one
   * loaded). `wanted` is asked when the job's turn comes and again once loaded: when it says no (a
   * later request superseded this one) nothing changes and the result is undefined.
   */
  async load(bytes: Uint8Array, name: string, wanted: () => boolean = () => true): Promise<ModelInfo | undefined> {
    return this.run(async () => {
      if (!wanted()) return undefined;
      const described = describeCheckpoint(bytes, name);
      const engine = await this.acquire();
      const model = await loadModel(engine, bytes);
      if (!wanted()) { model.dispose(); return undefined; }
      this.model?.dispose();
      this.model = model;
      this.bytes = bytes;
      this.info = { ...described, parameters: model.parameterCount };
      this.generation++;
      this.predicted = 0;
      return this.info;
    });
  }

  /** Uses a model trained in the page (bytes: its checkpoint); like `load`, only while `wanted` says so. */
  async adopt(model: BrowserLandmarkModel, bytes: Uint8Array, name: string, wanted: () => boolean = () => true): Promise<ModelInfo | undefined> {
    return this.run(async () => {
      if (!wanted()) return undefined;
      this.model?.dispose();
      this.model = model;
      this.bytes = bytes;
      this.info = { ...describeCheckpoint(bytes, name), parameters: model.parameterCount };
      this.generation++;
      this.predicted = 0;
      return this.info;
    });
  }

  async predict(image: GreyImage): Promise<Timed> {
    return this.run(async () => {
      if (!this.model) throw new Error('no model loaded');
      const t0 = performance.now();
      const prediction = await this.model.predict(image, { heatmaps: true });
      const first = this.predicted++ === 0;
      return { prediction, ms: performance.now() - t0, first, generation: this.generation };
    });
  }

  /** After a device loss: a new device, the same model bytes reloaded on it. */
  async recover(): Promise<void> {
    const bytes = this.bytes, name = this.info?.name ?? 'checkpoint';
    this.model = undefined;
    this.engine?.dispose();
    this.engine = undefined;
    await this.acquire();
    if (bytes) await this.load(bytes, name);
  }
}

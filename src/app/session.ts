/**
 * The GPU side of the app, as the page sees it: the engine, the models, the decoded X-rays and
 * training live in the engine worker (engine_worker.ts), and this class keeps the page's record of
 * them: the model in use with its checkpoint bytes (saved to IndexedDB, reloaded after a device
 * loss), its description for the model panel, its generation (predictions of an older model are
 * stale), and how many X-rays the worker holds decoded. Model changes and predictions run one job
 * at a time, in the order the page asks; training runs beside them.
 */
import type { AdapterInfo, Decoded, ImageRef, Memory, ModelInfo, Predicted, TrainEvent, TrainJob, Trained } from './protocol';
import { WorkerClient } from './worker_client';

export type { ModelInfo } from './protocol';

export interface Timed extends Predicted {
  /** The model generation that made it (stale once the model changed). */
  generation: number;
}

export class Session {
  private readonly worker = new WorkerClient(new URL('./worker.js', import.meta.url));
  adapter: AdapterInfo | undefined;
  info: ModelInfo | undefined;
  bytes: Uint8Array | undefined;
  /** Bumped whenever the model changes: predictions of older generations are stale. */
  generation = 0;
  /** Set when the worker's device was lost, until a recovery. */
  lostReason: string | null = null;
  /** The decoded X-rays the worker holds. */
  memory: Memory = { decoded: 0, bytes: 0 };
  private queue: Promise<unknown> = Promise.resolve();
  private acquiring: Promise<AdapterInfo> | undefined;

  constructor() {
    this.worker.onLost = (reason) => (this.lostReason = reason);
  }

  /** Whether a model is in use. */
  get hasModel(): boolean {
    return this.info !== undefined;
  }

  /** Runs model changes and predictions one job at a time (a failed job does not block the next). */
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.queue.then(job, job);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The worker's engine, made once: callers that ask while it is being made share the same one. */
  async acquire(): Promise<AdapterInfo> {
    if (this.adapter && !this.lostReason) return this.adapter;
    this.acquiring ??= this.worker.call('engine', {}).then((a) => (this.adapter = a)).finally(() => (this.acquiring = undefined));
    return this.acquiring;
  }

  /**
   * Loads checkpoint bytes as the model in use (the previous one is freed only once this one
   * loaded). `wanted` is asked when the job's turn comes and again once loaded: when it says no (a
   * later request superseded this one) nothing changes and the result is undefined.
   */
  async load(bytes: Uint8Array, name: string, wanted: () => boolean = () => true): Promise<ModelInfo | undefined> {
    return this.run(async () => {
      if (!wanted()) return undefined;
      await this.acquire();
      const { handle } = await this.worker.call('load', { bytes, name });
      return this.use(handle, bytes, name, wanted);
    });
  }

  /** Uses a model trained in the worker (bytes: its checkpoint); like `load`, only while `wanted` says so. */
  async adopt(handle: number, bytes: Uint8Array, name: string, wanted: () => boolean = () => true): Promise<ModelInfo | undefined> {
    return this.run(() => this.use(handle, bytes, name, wanted));
  }

  private async use(handle: number, bytes: Uint8Array, name: string, wanted: () => boolean): Promise<ModelInfo | undefined> {
    if (!wanted()) {
      await this.worker.call('drop', { handle });
      return undefined;
    }
    this.info = await this.worker.call('use', { handle, name });
    this.bytes = bytes;
    this.generation++;
    return this.info;
  }

  /** Frees a model the worker holds that will not be used. */
  async drop(handle: number): Promise<void> {
    await this.worker.call('drop', { handle });
  }

  /** Decodes an image in the worker (kept there by id); with `display`, an 8-bit view of it to draw. */
  async decode(ref: ImageRef, display: boolean): Promise<Decoded> {
    const d = await this.worker.call('decode', { ...ref, display });
    this.memory = d.memory;
    return d;
  }

  /** The worker's decoded image `from` is now known as `to` (its id, once the page made one). */
  rekey(from: string, to: string): void {
    void this.worker.call('rekey', { from, to });
  }

  /** Frees an image's decoded pixels in the worker (all of them without an id). */
  async forget(id?: string): Promise<void> {
    this.memory = await this.worker.call('forget', id !== undefined ? { id } : {});
  }

  async predict(ref: ImageRef): Promise<Timed> {
    return this.run(async () => {
      if (!this.info) throw new Error('no model loaded');
      const generation = this.generation;
      const p = await this.worker.call('predict', ref);
      this.memory = p.memory;
      return { ...p, generation };
    });
  }

  /** Trains in the worker (a fine-tune of the model in use, or a demo model), reporting progress; `signal` stops it. */
  async train(job: TrainJob, progress: (e: TrainEvent) => void, signal: AbortSignal): Promise<Trained | null> {
    await this.acquire();
    return this.worker.call('train', job, { progress, signal });
  }

  /** A synthetic hand X-ray as a PNG, drawn in the worker. */
  async demoImage(seed: number, size: number): Promise<Blob> {
    return this.worker.call('demoImage', { seed, size });
  }

  /** After a device loss: a new device, the same model bytes reloaded on it (in the worker). */
  async recover(): Promise<void> {
    await this.run(async () => {
      this.adapter = await this.worker.call('recover', {});
      this.lostReason = null;
      this.generation++;
    });
  }
}

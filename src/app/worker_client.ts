/**
 * The page's end of the engine worker: requests as promises. Each request gets a number; its
 * answer settles the promise (an error rebuilt as its own class, so the page's `instanceof`
 * classification holds), its progress goes to a callback, and an AbortSignal cancels it (a
 * cancel message: the worker aborts the work). If the worker itself fails (its script did not
 * load), every pending request fails with that.
 */
import { fromWire, type PageMessage, type RequestName, type Requests, type TrainEvent, type WorkerMessage } from './protocol';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  progress?: (e: TrainEvent) => void;
}

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private broken: Error | undefined;
  /** The worker's engine lost its device (while idle or working). */
  onLost: (reason: string) => void = () => undefined;

  constructor(url: URL) {
    this.worker = new Worker(url, { type: 'module', name: 'osteo-engine' });
    this.worker.addEventListener('message', (e: MessageEvent<WorkerMessage>) => this.receive(e.data));
    this.worker.addEventListener('error', (e) => this.fail(new Error(`the engine worker failed: ${e.message || 'its script did not load'}`)));
    this.worker.addEventListener('messageerror', () => this.fail(new Error('the engine worker sent a message the page cannot read')));
  }

  call<K extends RequestName>(type: K, args: Requests[K]['args'], opts: { transfer?: Transferable[]; signal?: AbortSignal; progress?: (e: TrainEvent) => void } = {}): Promise<Requests[K]['result']> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<Requests[K]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(opts.progress ? { progress: opts.progress } : {}) });
      const message: PageMessage = { id, type, args };
      this.worker.postMessage(message, opts.transfer ?? []);
      opts.signal?.addEventListener('abort', () => this.worker.postMessage({ cancel: id } satisfies PageMessage), { once: true });
    });
  }

  private receive(m: WorkerMessage): void {
    if ('event' in m) {
      if (m.event === 'lost') this.onLost(m.reason);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('progress' in m) {
      p.progress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    if ('error' in m) p.reject(fromWire(m.error));
    else p.resolve(m.result);
  }

  private fail(e: Error): void {
    this.broken = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

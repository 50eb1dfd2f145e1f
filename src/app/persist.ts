/**
 * Work in progress in IndexedDB, so a reload (or a crash) loses nothing: the annotation state
 * (points, corrections, which images, the selection), each image file's bytes, and the checkpoint
 * in use. Each put is one transaction, so a failure leaves the previous value whole. Saves of the
 * state are debounced; `flush` forces the pending one.
 */
import type { Snapshot } from './state';

const DB = 'osteo-app';
const VERSION = 1;

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export interface StoredModel {
  name: string;
  bytes: Uint8Array;
}

export class Persistence {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: (() => Snapshot) | undefined;

  private constructor(private readonly db: IDBDatabase) {}

  /** Opens the database; undefined when the browser has no IndexedDB (private mode): work is then not kept. */
  static async open(): Promise<Persistence | undefined> {
    if (typeof indexedDB === 'undefined') return undefined;
    const r = indexedDB.open(DB, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      if (!db.objectStoreNames.contains('files')) db.createObjectStore('files');
    };
    try {
      return new Persistence(await request(r));
    } catch {
      return undefined;
    }
  }

  private async put(store: 'kv' | 'files', key: string, value: unknown): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await done(tx);
  }

  private async get<T>(store: 'kv' | 'files', key: string): Promise<T | undefined> {
    return (await request(this.db.transaction(store, 'readonly').objectStore(store).get(key))) as T | undefined;
  }

  async loadState(): Promise<Snapshot | undefined> {
    return this.get<Snapshot>('kv', 'state');
  }

  /**
   * Saves the state soon (debounced); the function is read at save time, so the newest state is
   * written. A failed save (quota) goes to `onError`; the state in memory is untouched.
   */
  saveState(snapshot: () => Snapshot, onError: (e: unknown) => void): void {
    this.pending = snapshot;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush().catch(onError), 150);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    const s = this.pending;
    this.pending = undefined;
    // structured clone of plain data: points, flags, names
    if (s) await this.put('kv', 'state', JSON.parse(JSON.stringify(s())) as Snapshot);
  }

  async saveFile(id: string, file: Blob): Promise<void> {
    await this.put('files', id, file);
  }

  async loadFile(id: string): Promise<Blob | undefined> {
    return this.get<Blob>('files', id);
  }

  async deleteFile(id: string): Promise<void> {
    const tx = this.db.transaction('files', 'readwrite');
    tx.objectStore('files').delete(id);
    await done(tx);
  }

  async saveModel(m: StoredModel): Promise<void> {
    await this.put('kv', 'model', m);
  }

  async loadModel(): Promise<StoredModel | undefined> {
    return this.get<StoredModel>('kv', 'model');
  }

  /** Forgets everything (the "clear work" button). */
  async clear(): Promise<void> {
    clearTimeout(this.timer);
    this.pending = undefined;
    const tx = this.db.transaction(['kv', 'files'], 'readwrite');
    tx.objectStore('kv').clear();
    tx.objectStore('files').clear();
    await done(tx);
  }
}

/**
 * Where a training run or a study keeps its files, injected by the host: a folder in Node
 * (src/node/store.ts), memory in a page or a test ({@link MemoryStore}). Names are relative and
 * use '/' (e.g. `checkpoint-last.safetensors`, `imagenet/seed-1/done.json`).
 */

/** A place for a run's checkpoints, metrics and reports. */
export interface RunStore {
  /** A readable location of `name` for messages and results (an absolute path in Node). */
  locate(name: string): string;
  /** The bytes stored under `name`, or undefined when there are none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` under `name`, atomically: a reader sees the old bytes or the new, never a mix. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Whether something is stored under `name`. */
  exists(name: string): Promise<boolean>;
}

/** A store kept in memory (a page without storage access, tests, the library's `train()` default). */
export class MemoryStore implements RunStore {
  /** Everything stored, by name. */
  readonly files = new Map<string, Uint8Array>();

  constructor(private readonly root = 'memory:') {}

  locate(name: string): string {
    return name ? `${this.root}${this.root.endsWith(':') ? '' : '/'}${name}` : this.root;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name);
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    this.files.set(name, bytes.slice());
  }

  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }
}

/** The part of `store` under `prefix` (a sub-folder). */
export function substore(store: RunStore, prefix: string): RunStore {
  const full = (name: string): string => (name ? `${prefix}/${name}` : prefix);
  return {
    locate: (name) => store.locate(full(name)),
    read: (name) => store.read(full(name)),
    write: (name, bytes) => store.write(full(name), bytes),
    exists: (name) => store.exists(full(name)),
  };
}

/** UTF-8 text as bytes (for JSON, markdown and SVG results). */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

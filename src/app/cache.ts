/**
 * A bounded least-recently-used map, pure (unit-tested in Node): at most `maxEntries` values and
 * `maxBytes` bytes by `sizeOf`; the least recently read or written value goes first. The app keeps
 * decoded X-rays (~18 MB of floats for a 1935×2400 cephalogram) and heatmaps in these, so a folder
 * of 200 images cannot exhaust a tab: an evicted image is decoded again from its file on demand.
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  private bytes = 0;

  constructor(readonly maxEntries: number, readonly maxBytes: number, private readonly sizeOf: (v: V) => number) {
    if (!(maxEntries >= 1)) throw new RangeError(`BoundedCache: maxEntries must be at least 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Bytes held now (by sizeOf). */
  get heldBytes(): number {
    return this.bytes;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value, marked as just used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Stores a value, then evicts the least recently used ones beyond the bounds (never the one just stored). */
  set(key: K, value: V): void {
    this.delete(key);
    this.map.set(key, value);
    this.bytes += this.sizeOf(value);
    for (const k of this.map.keys()) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      if (k === key) continue;
      this.delete(k);
    }
  }

  delete(key: K): boolean {
    const v = this.map.get(key);
    if (v === undefined) return false;
    this.bytes -= this.sizeOf(v);
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

import { LimitError } from './errors';

/**
 * Buffer pool: buckets keyed by (usage, size class). Size classes grow in quarter-octave steps
 * above 64 KiB (at most ~19% waste) and in 256-byte steps below, so training steps that reuse the
 * same shapes hit the pool instead of the allocator.
 */
export interface PoolStats {
  /** Bytes held by live tensors (handed out, not yet released). */
  liveBytes: number;
  /** Maximum of liveBytes since creation or the last `resetPeak()`. */
  peakBytes: number;
  /** Bytes sitting free in the pool, ready for reuse. */
  freeBytes: number;
  /** Number of buffers handed out. */
  liveBuffers: number;
  /** Bytes ever allocated from the device and still existing (live + free). */
  allocatedBytes: number;
}

export function sizeClass(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const octave = 2 ** Math.floor(Math.log2(b));
  const step = octave / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private sizes = new WeakMap<GPUBuffer, number>();
  private live = 0;
  private peak = 0;
  private freeTotal = 0;
  private count = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, label = 'tensor'): GPUBuffer {
    if (bytes > this.maxBufferSize) {
      throw new LimitError(
        `${label}: needs a buffer of ${bytes} bytes, over this device's maxStorageBufferBindingSize / maxBufferSize of ${this.maxBufferSize} bytes; use a smaller batch or input size`,
      );
    }
    const size = Math.min(sizeClass(bytes), this.maxBufferSize);
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    let buffer = list?.pop();
    if (buffer) {
      this.freeTotal -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage, label });
      this.sizes.set(buffer, size);
    }
    this.live += size;
    this.count++;
    if (this.live > this.peak) this.peak = this.live;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = this.sizes.get(buffer);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    const key = `${buffer.usage}:${size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.live -= size;
    this.freeTotal += size;
    this.count--;
  }

  /** Destroys every free buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.freeTotal = 0;
  }

  resetPeak(): void {
    this.peak = this.live;
  }

  /**
   * Sets the peak back to `bytes` (at least the live bytes): for allocations that should not count, such as a
   * precompile dry run.
   */
  restorePeak(bytes: number): void {
    this.peak = Math.max(bytes, this.live);
  }

  stats(): PoolStats {
    return {
      liveBytes: this.live,
      peakBytes: this.peak,
      freeBytes: this.freeTotal,
      liveBuffers: this.count,
      allocatedBytes: this.live + this.freeTotal,
    };
  }
}

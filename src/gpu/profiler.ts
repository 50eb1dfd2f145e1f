/**
 * Per-dispatch timing. With `timestamp-query` every dispatch gets its own compute pass with
 * begin/end timestamps (GPU time, no readback stalls); without it each dispatch is submitted
 * alone and timed by the wall clock between queue completions (coarser, but honest).
 */
export interface DispatchRecord {
  kernel: string;
  /** Free-form shape description, e.g. "N1 C64→64 256x256". */
  shape: string;
  flops: number;
  bytes: number;
  /** GPU milliseconds (timestamps) or wall-clock milliseconds (fallback). */
  ms: number;
  /**
   * The layer that recorded the dispatch (`engine.label()`), e.g. `decoder.blocks.x_0_1.conv1`,
   * `decoder.blocks.x_0_1.conv1 (backward)`, `optimizer.step`; '' outside any label.
   */
  layer: string;
}

type Pending = DispatchRecord;

const QUERIES_PER_SET = 2048;

export class Profiler {
  readonly mode: 'timestamp' | 'wall';
  private records: Pending[] = [];
  private querySet: GPUQuerySet | null = null;
  private used = 0;
  private batch: Pending[] = [];
  private reads: Promise<void>[] = [];
  private lastDone = 0;

  constructor(
    private readonly device: GPUDevice,
    hasTimestamps: boolean,
  ) {
    this.mode = hasTimestamps ? 'timestamp' : 'wall';
  }

  /** Whether the engine must flush after each dispatch (wall mode) or when the query set is full. */
  needsFlush(): boolean {
    return this.mode === 'wall' ? this.batch.length > 0 : this.used + 2 > QUERIES_PER_SET;
  }

  begin(kernel: string, shape: string, flops: number, bytes: number, layer = ''): GPUComputePassTimestampWrites | undefined {
    const rec: Pending = { kernel, shape, flops, bytes, ms: NaN, layer };
    this.records.push(rec);
    this.batch.push(rec);
    if (this.mode === 'wall') return undefined;
    if (!this.querySet) this.querySet = this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET });
    const at = this.used;
    this.used += 2;
    return { querySet: this.querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 };
  }

  /** Called with the encoder just before it is finished: resolves this batch's timestamps. */
  encodeResolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    if (this.batch.length === 0) return undefined;
    const batch = this.batch;
    this.batch = [];
    if (this.mode === 'wall') {
      const start = Math.max(performance.now(), this.lastDone);
      return () => {
        void this.device.queue.onSubmittedWorkDone().then(() => {
          const now = performance.now();
          const rec = batch[0]!;
          rec.ms = now - Math.max(start, this.lastDone);
          this.lastDone = now;
        });
      };
    }
    const count = this.used;
    const bytes = count * 8;
    const resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet!, 0, count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    this.used = 0;
    this.querySet = null; // a fresh set per batch: the old one may still be resolving
    return () => {
      this.reads.push(
        readback.mapAsync(GPUMapMode.READ).then(() => {
          const t = new BigInt64Array(readback.getMappedRange());
          batch.forEach((rec, i) => {
            rec.ms = Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
          });
          readback.unmap();
          readback.destroy();
          resolve.destroy();
        }),
      );
    };
  }

  async collect(): Promise<DispatchRecord[]> {
    await Promise.all(this.reads);
    await this.device.queue.onSubmittedWorkDone();
    // let wall-mode completion callbacks run
    await new Promise((r) => setTimeout(r, 0));
    return this.records.map((r) => ({ ...r }));
  }
}

export interface ProfileSum {
  kernel: string;
  calls: number;
  ms: number;
  flops: number;
  bytes: number;
}

/**
 * Sums a profile by kernel name (default) or by layer: calls, total ms, FLOPs and bytes, largest
 * time first. With `by: 'layer'` the `kernel` field holds the layer label ('(unlabelled)' for '').
 */
export function summarize(records: readonly DispatchRecord[], by: 'kernel' | 'layer' = 'kernel'): ProfileSum[] {
  const sums = new Map<string, ProfileSum>();
  for (const r of records) {
    const key = by === 'kernel' ? r.kernel : r.layer || '(unlabelled)';
    const s = sums.get(key) ?? { kernel: key, calls: 0, ms: 0, flops: 0, bytes: 0 };
    s.calls++;
    s.ms += r.ms;
    s.flops += r.flops;
    s.bytes += r.bytes;
    sums.set(key, s);
  }
  return [...sums.values()].sort((a, b) => b.ms - a.ms);
}

import './dispose';
import { DeviceLostError, formatShape, GpuError, LimitError, OutOfMemoryError, ShapeError } from './errors';
import { PipelineCache } from './pipelines';
import { BufferPool, type PoolStats } from './pool';
import { Profiler, type DispatchRecord } from './profiler';
import { Tensor } from './tensor';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  /** True for software rasterisers (SwiftShader, WARP, lavapipe): correct but slow. */
  fallback: boolean;
  /** Which path found the adapter: browser, node-hardware, node-swiftshader. */
  source: string;
}

/** Tensors that share one GPU buffer (see `Engine.arena`). */
export interface Arena {
  /** The shared buffer. */
  buffer: GPUBuffer;
  /** One view per requested shape. */
  tensors: Tensor[];
  /** Size of the buffer. */
  bytes: number;
  /** Frees the arena (its tensors become unusable). */
  dispose: () => void;
}

/** How an engine dispatches and times its work. */
export interface EngineOptions {
  /** Print every compiled shader to stderr. Also enabled by OSTEO_DEBUG_SHADERS=1 in Node. */
  debugShaders?: boolean;
  /**
   * Submit after this many dispatches so the GPU starts while we encode the rest (default 16 on
   * GPUs, 128 on software adapters, where a submit is costlier than the encoding it overlaps).
   */
  dispatchesPerSubmit?: number;
}

/** One kernel launch: pipeline by WGSL text, uniform bytes at @binding(0), storage buffers at 1..n. */
export interface Dispatch {
  kernel: string;
  code: string;
  /** Storage bindings at @binding(1), @binding(2), … in order: `tensor.binding` (or a raw buffer). */
  buffers: (GPUBufferBinding | GPUBuffer)[];
  /** Contents of the uniform struct at @binding(0), if the kernel has one. */
  uniforms?: ArrayBuffer | ArrayBufferView;
  workgroups: [number, number?, number?];
  /** For the profiler: useful FLOPs and the fewest bytes the op must move. */
  flops?: number;
  bytes?: number;
  shape?: string;
}

export const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (numeric: GPUBufferUsage is a browser/Dawn global)
const MAP_READ_COPY_DST = 0x1 | 0x8;
const UNIFORM_COPY_DST = 0x40 | 0x8;
const UNIFORM_ARENA = 65536;

/**
 * The GPU runtime: one device, a buffer pool, a pipeline cache, one command encoder that collects
 * many dispatches between submits, a uniform arena (no per-dispatch buffer churn), error capture
 * and an optional per-dispatch profiler. Engine-core code: no Node-only imports.
 */
export class Engine {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly limits: GPUSupportedLimits;
  readonly features: string[];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatched = 0;
  /**
   * Dispatches per submit (see EngineOptions). With everything in one submit the GPU idles until
   * the last dispatch is encoded: an H200 inference at 512² ran 30 ms of GPU work in 38 ms wall
   * with 128 per submit (105 dispatches, all encoded before the first one ran).
   */
  dispatchesPerSubmit: number;
  private arenas: { gpu: GPUBuffer; cpu: Uint8Array; used: number }[] = [];
  private arenaIndex = 0;
  private readonly uniformAlign: number;
  private errors: Error[] = [];
  private lost: GPUDeviceLostInfo | null = null;
  private profiler: Profiler | null = null;
  private destroyed = false;
  /** Layer labels (innermost last): `run()` stamps the top one into profile records. */
  private labels: string[] = [];
  /**
   * Dry run: ops validate shapes and allocate their outputs, but nothing is encoded or uploaded
   * and reads return zeros. Peak pool bytes of a whole step then cost seconds, not a GPU.
   */
  dryRun = false;
  /** While `precompile` records: WGSL text → kernel name of every pipeline not yet compiled. */
  private wanted: Map<string, string> | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    options: EngineOptions = {},
  ) {
    this.limits = device.limits;
    this.features = [...device.features].sort();
    const maxBuffer = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.pool = new BufferPool(device, maxBuffer);
    this.pipelines = new PipelineCache(device, (e) => this.errors.push(e), !!options.debugShaders);
    this.dispatchesPerSubmit = options.dispatchesPerSubmit ?? (adapter.fallback ? 128 : 16);
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      const oom = typeof GPUOutOfMemoryError !== 'undefined' && e instanceof GPUOutOfMemoryError;
      this.errors.push(oom ? new OutOfMemoryError(`GPU out of memory: ${e.message}`) : new GpuError(`WebGPU error: ${e.message}`));
    });
    void device.lost.then((info) => {
      if (!this.destroyed) this.lost = info;
    });
  }

  get hasTimestamps(): boolean {
    return this.features.includes('timestamp-query');
  }

  /** Set once the device is lost (then every call throws DeviceLostError). */
  get lostReason(): string | null {
    return this.lost ? `${this.lost.reason}: ${this.lost.message}` : null;
  }

  get hasSubgroups(): boolean {
    return this.features.includes('subgroups');
  }

  // ---------------------------------------------------------------- tensors

  private checkAlive(): void {
    if (this.lost) {
      throw new DeviceLostError(
        `GPU device lost (${this.lost.reason}): ${this.lost.message || 'no message'}. Tensors on it are gone; create a new engine and reload weights or the last checkpoint.`,
      );
    }
    if (this.destroyed) throw new DeviceLostError('engine was destroyed');
  }

  /** An uninitialised tensor (contents undefined until a kernel writes it). */
  empty(shape: readonly number[], label = 'tensor'): Tensor {
    this.checkAlive();
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isFinite(size)) throw new ShapeError(`${label}: invalid shape ${formatShape(shape)}`);
    return new Tensor(this, shape, this.pool.acquire(Math.max(4, size * 4), STORAGE, label), label);
  }

  /** A new tensor of `shape` filled with zeros. */
  zeros(shape: readonly number[], label = 'zeros'): Tensor {
    const t = this.empty(shape, label);
    this.clear(t);
    return t;
  }

  /** Sets a tensor to zero inside the command stream (no upload). */
  clear(t: Tensor): void {
    const b = t.binding;
    if (this.dryRun) return;
    this.endPass();
    this.enc().clearBuffer(b.buffer, b.offset, Math.ceil((t.size * 4) / 4) * 4);
  }

  /**
   * One buffer holding many tensors, each at a 256-byte-aligned offset: parameters, gradients and
   * optimizer state live in arenas so one dispatch can update all of them. The views share the
   * arena's lifetime; dispose the arena (returned `dispose`) to free it.
   */
  arena(shapes: readonly (readonly number[])[], label = 'arena'): Arena {
    const align = this.limits.minStorageBufferOffsetAlignment;
    const offsets: number[] = [];
    let bytes = 0;
    for (const s of shapes) {
      offsets.push(bytes);
      const n = s.reduce((a, b) => a * b, 1);
      bytes += Math.ceil(Math.max(16, n * 4) / align) * align;
    }
    const buffer = this.pool.acquire(Math.max(bytes, 16), STORAGE, label);
    const tensors = shapes.map((s, i) => new Tensor(this, s, buffer, `${label}[${i}]`, offsets[i], false));
    let freed = false;
    return {
      buffer,
      tensors,
      bytes,
      dispose: () => {
        if (freed) return;
        freed = true;
        for (const t of tensors) t.dispose();
        this.pool.release(buffer);
      },
    };
  }

  /** Uploads host data. `data.length` must equal the product of `shape`. */
  tensor(data: ArrayLike<number>, shape: readonly number[], label = 'tensor'): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new ShapeError(`${label}: ${data.length} values do not fill shape ${formatShape(shape)} (${size} elements)`);
    }
    const t = this.empty(shape, label);
    this.upload(t, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  private upload(t: Tensor, f32: Float32Array): void {
    t.markWritten();
    if (this.dryRun) return;
    // A pooled buffer may still be read by unsubmitted commands; queue.writeBuffer would overtake them.
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, f32.buffer, f32.byteOffset, f32.byteLength);
  }

  /** Overwrites an existing tensor's contents. */
  write(t: Tensor, data: Float32Array): void {
    if (data.length !== t.size) throw new ShapeError(`${t.label}: write of ${data.length} values into ${formatShape(t.shape)}`);
    this.upload(t, data);
  }

  /** A new tensor with the same contents, optionally under another shape of the same size (a reshape). */
  copy(src: Tensor, shape: readonly number[] = src.shape, label = src.label): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== src.size) throw new ShapeError(`copy: cannot view ${formatShape(src.shape)} as ${formatShape(shape)}`);
    const dst = this.empty(shape, label);
    this.copyInto(src.buffer, src.byteOffset, dst.buffer, 0, src.size * 4);
    return dst;
  }

  /** Byte copy between buffers inside the current command stream. */
  copyInto(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkAlive();
    if (this.dryRun) return;
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** A tensor's values, copied back from the GPU (waits for the work that writes them). */
  async read(t: Tensor): Promise<Float32Array> {
    this.checkAlive();
    if (this.dryRun) {
      t.binding; // still an error on a disposed tensor
      return new Float32Array(t.size);
    }
    const bytes = t.size * 4;
    const staging = this.pool.acquire(Math.max(4, bytes), MAP_READ_COPY_DST, 'readback');
    if (bytes > 0) this.copyInto(t.buffer, t.byteOffset, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, Math.max(4, bytes));
    } catch (e) {
      this.pool.release(staging);
      this.checkAlive();
      throw new GpuError(`readback of ${t} failed: ${(e as Error).message}`);
    }
    const out = new Float32Array(staging.getMappedRange(0, Math.max(4, bytes)).slice(0, bytes));
    staging.unmap();
    this.pool.release(staging);
    this.throwCollected();
    return out;
  }

  /** Returns a buffer taken from the pool to it. */
  releaseBuffer(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  /** Bytes held by the buffer pool: in use, free, and the peak. */
  memory(): PoolStats {
    return this.pool.stats();
  }

  // -------------------------------------------------------------- dispatch

  private enc(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'osteo' });
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private uniformSlot(data: ArrayBuffer | ArrayBufferView): GPUBufferBinding {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.ceil(Math.max(bytes.byteLength, 16) / 16) * 16;
    let arena = this.arenas[this.arenaIndex];
    if (arena && arena.used + size > UNIFORM_ARENA) arena = this.arenas[++this.arenaIndex];
    if (!arena) {
      arena = {
        gpu: this.device.createBuffer({ size: UNIFORM_ARENA, usage: UNIFORM_COPY_DST, label: 'uniform-arena' }),
        cpu: new Uint8Array(UNIFORM_ARENA),
        used: 0,
      };
      this.arenas[this.arenaIndex] = arena;
    }
    const offset = arena.used;
    arena.cpu.set(bytes, offset);
    arena.used = Math.ceil((offset + size) / this.uniformAlign) * this.uniformAlign;
    return { buffer: arena.gpu, offset, size };
  }

  /** Records one compute dispatch. Validates workgroup counts against the device's limits. */
  run(d: Dispatch): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = d.workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new LimitError(`${d.kernel}: ${x}x${y}x${z} workgroups exceed maxComputeWorkgroupsPerDimension ${max} (${d.shape ?? ''})`);
    }
    if (this.wanted && !this.pipelines.has(d.code)) this.wanted.set(d.code, d.kernel);
    if (x === 0 || y === 0 || z === 0 || this.dryRun) return;
    const pipeline = this.pipelines.get(d.kernel, d.code);
    const entries: GPUBindGroupEntry[] = [];
    if (d.uniforms) entries.push({ binding: 0, resource: this.uniformSlot(d.uniforms) });
    d.buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: 'buffer' in b ? b : { buffer: b } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: d.kernel });
    if (this.profiler) {
      if (this.profiler.needsFlush()) this.flush();
      this.endPass();
      const tw = this.profiler.begin(d.kernel, d.shape ?? '', d.flops ?? 0, d.bytes ?? 0, this.layer);
      const pass = this.enc().beginComputePass(tw ? { timestampWrites: tw, label: d.kernel } : { label: d.kernel });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    } else {
      if (!this.pass) this.pass = this.enc().beginComputePass({ label: 'osteo' });
      this.pass.setPipeline(pipeline);
      this.pass.setBindGroup(0, bindGroup);
      this.pass.dispatchWorkgroups(x, y, z);
    }
    if (++this.dispatched >= this.dispatchesPerSubmit) this.flush();
  }

  /** Submits everything recorded so far. Cheap when nothing is pending. */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const after = this.profiler?.encodeResolve(this.encoder);
    for (let i = 0; i <= this.arenaIndex && i < this.arenas.length; i++) {
      const a = this.arenas[i]!;
      if (a.used > 0) this.device.queue.writeBuffer(a.gpu, 0, a.cpu.buffer, 0, a.used);
      a.used = 0;
    }
    this.arenaIndex = 0;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.dispatched = 0;
    after?.();
  }

  /** Flushes, waits for the GPU to finish, and throws any error the device reported meanwhile. */
  async sync(): Promise<void> {
    this.checkAlive();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    // compile diagnostics are resolved asynchronously; give them a turn
    await new Promise((r) => setTimeout(r, 0));
    this.checkAlive();
    this.throwCollected();
  }

  private throwCollected(): void {
    if (this.errors.length === 0) return;
    const [first, ...rest] = this.errors;
    this.errors = [];
    if (rest.length) first!.message += `\n(+${rest.length} more WebGPU errors)`;
    throw first!;
  }

  /**
   * Runs `fn` inside validation and out-of-memory error scopes; throws GpuError naming the first
   * error. Used by every GPU test, and by callers who want errors attributed to one step.
   */
  async scope<T>(fn: () => T | Promise<T>): Promise<T> {
    this.checkAlive();
    this.flush();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T;
    try {
      result = await fn();
      this.flush();
    } finally {
      const validation = await this.device.popErrorScope();
      const oom = await this.device.popErrorScope();
      if (oom) throw new OutOfMemoryError(`GPU out of memory: ${oom.message}. Reduce batch size or input size.`);
      if (validation) throw new GpuError(`WebGPU validation error: ${validation.message}`);
    }
    await this.sync();
    return result;
  }

  /**
   * Compiles every pipeline that `record` would dispatch, off the synchronous path: `record` runs
   * as a dry run (ops allocate and free their tensors, nothing is encoded) while the engine notes
   * the WGSL of each dispatch whose pipeline is not cached; those then compile with
   * createComputePipelineAsync. Ops compile on a cache miss synchronously (they stay synchronous
   * so a forward pass records without awaits), and on a software adapter one U-Net++ forward's
   * worth of shaders is seconds of compilation in one blocked event-loop turn: enough to freeze a
   * page, and to starve a test runner's RPC. After `precompile`, the real pass finds every
   * pipeline cached. `record` must have no lasting effect but allocation: reads return zeros and
   * kernels do not run, so it should drive throwaway objects (see `precompileUnetPP`), never
   * state whose contents a later real run relies on. Returns the number of pipelines compiled.
   */
  async precompile(record: () => void | Promise<void>): Promise<number> {
    this.checkAlive();
    if (this.wanted) throw new Error('precompile: already recording');
    this.flush();
    const wasDry = this.dryRun;
    const peak = this.pool.stats().peakBytes;
    const wanted = new Map<string, string>();
    this.dryRun = true;
    this.wanted = wanted;
    try {
      await record();
    } finally {
      this.wanted = null;
      this.dryRun = wasDry;
      this.pool.restorePeak(peak);
    }
    await Promise.all([...wanted].map(([code, kernel]) => this.pipelines.prepare(kernel, code)));
    return wanted.size;
  }

  // -------------------------------------------------------------- profiling

  /**
   * Runs `fn` with `name` as the current layer label: every dispatch recorded meanwhile carries
   * it in profile records (`DispatchRecord.layer`). Labels nest; the innermost wins (names are
   * full paths such as `decoder.blocks.x_0_1.conv1`, not joined with their parents). Synchronous
   * only: the label is popped when `fn` returns, so dispatches recorded after an `await` inside
   * an async `fn` would not carry it. Costs a push and a pop; free when not profiling.
   */
  label<T>(name: string, fn: () => T): T {
    this.labels.push(name);
    try {
      return fn();
    } finally {
      this.labels.pop();
    }
  }

  /** The current layer label ('' outside any `label()`). */
  get layer(): string {
    return this.labels[this.labels.length - 1] ?? '';
  }

  /** Records every dispatch of `fn` with its GPU (or wall-clock) time. */
  async profile(fn: () => unknown | Promise<unknown>): Promise<{ mode: 'timestamp' | 'wall'; records: DispatchRecord[]; wallMs: number }> {
    await this.sync();
    const profiler = new Profiler(this.device, this.hasTimestamps);
    this.profiler = profiler;
    const t0 = performance.now();
    try {
      await fn();
      this.flush();
    } finally {
      this.profiler = null;
    }
    await this.device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - t0;
    const records = await profiler.collect();
    this.throwCollected();
    return { mode: profiler.mode, records, wallMs };
  }

  /** Frees pooled buffers and the device. The engine is unusable afterwards. */
  dispose(): void {
    this.destroy();
  }

  /** `using engine = await createEngine()` frees it at the end of the block. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  /** `await using engine = …`: waits for submitted work, then frees the engine. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.destroyed && !this.lost) await this.device.queue.onSubmittedWorkDone().catch(() => undefined);
    this.destroy();
  }

  /** @internal The former name of {@link Engine.dispose} (the repository's own code still uses it). */
  destroy(): void {
    if (this.destroyed) return;
    try {
      this.flush();
    } catch {
      /* device may already be lost */
    }
    this.destroyed = true;
    this.pool.trim();
    for (const a of this.arenas) a.gpu.destroy();
    this.device.destroy();
  }
}

import { DisposedError, formatShape, ShapeError } from './errors';
import type { Engine } from './engine';
import { sizeClass } from './pool';

/**
 * A dense f32 tensor on the GPU. 4-D tensors are NCHW (PyTorch's layout, so smp weights and
 * activations compare element for element); conv weights are OIHW. Memory comes from the
 * engine's pool and goes back on `dispose()`; any use afterwards throws.
 */
export class Tensor {
  readonly size: number;
  private buf: GPUBuffer | null;
  private static nextId = 1;
  readonly id = Tensor.nextId++;
  /**
   * Layouts derived from this tensor's contents (e.g. the direct conv's packed weights), kept
   * until the contents change. Only for tensors that opt in with `cacheDerived` and whose every
   * writer calls `markWritten` — parameters, written only by `Engine.write` (load) and the
   * optimizer step. Any other tensor may be written by any kernel, so nothing derived is kept.
   */
  private derivedCache: Map<string, { tensor: Tensor; dry: boolean }> | null = null;
  /** Opt-in for `derived` caching (see derivedCache). Set by ParameterSet on its value views. */
  cacheDerived = false;

  /**
   * @param byteOffset a view into a shared buffer (e.g. the flat parameter arena) starts here;
   *   multiple of the device's minStorageBufferOffsetAlignment (256). Views do not own memory:
   *   disposing one only detaches it.
   */
  constructor(
    readonly engine: Engine,
    readonly shape: readonly number[],
    buffer: GPUBuffer,
    readonly label = 'tensor',
    readonly byteOffset = 0,
    private readonly owns = true,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${label}: invalid shape ${formatShape(shape)}`);
    }
    this.size = shape.reduce((a, b) => a * b, 1);
    this.buf = buffer;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new DisposedError(`${this.label} ${formatShape(this.shape)} was used after dispose()`);
    return this.buf;
  }

  /**
   * What kernels bind: the buffer, this tensor's offset, and its byte length rounded up to 16
   * (so vec4 views work; pooled buffers and arena slots are always padded that far).
   */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(16, Math.ceil((this.size * 4) / 16) * 16) };
  }

  get disposed(): boolean {
    return this.buf === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Copies the tensor back to the CPU. Flushes pending GPU work. */
  read(): Promise<Float32Array> {
    return this.engine.read(this);
  }

  /**
   * A tensor computed from this one by `make`. With `cacheDerived` it is built once and reused
   * until `markWritten` (and the caller must not dispose it: `cached` is true); otherwise it is
   * built anew and belongs to the caller.
   */
  derived(key: string, make: () => Tensor): { tensor: Tensor; cached: boolean } {
    if (!this.cacheDerived) return { tensor: make(), cached: false };
    // A dry run caches too (so it measures the memory a real run holds), but its entries were
    // never computed: a real run replaces them, and a dry run does not reuse real ones.
    const dry = this.engine.dryRun;
    const hit = this.derivedCache?.get(key);
    if (hit && !hit.tensor.disposed && hit.dry === dry) return { tensor: hit.tensor, cached: true };
    hit?.tensor.dispose();
    const tensor = make();
    (this.derivedCache ??= new Map()).set(key, { tensor, dry });
    return { tensor, cached: true };
  }

  /** Pool bytes held by cached derived layouts (see `derived`). */
  get derivedBytes(): number {
    let n = 0;
    for (const { tensor } of this.derivedCache?.values() ?? []) if (!tensor.disposed) n += sizeClass(Math.max(4, tensor.size * 4));
    return n;
  }

  /** The contents changed: drops every derived layout (see `derived`). */
  markWritten(): void {
    if (!this.derivedCache) return;
    for (const { tensor } of this.derivedCache.values()) tensor.dispose();
    this.derivedCache = null;
  }

  /** Gives the buffer back to the engine's pool; any later use throws. */
  dispose(): void {
    this.markWritten();
    if (!this.buf) return;
    if (this.owns) this.engine.releaseBuffer(this.buf);
    this.buf = null;
  }

  /** Label and shape, e.g. `images [4, 1, 256, 256]`. */
  toString(): string {
    return `Tensor(${this.label} ${formatShape(this.shape)}${this.disposed ? ' disposed' : ''})`;
  }
}

/** Throws a ShapeError unless `t` has rank 4; returns [N, C, H, W]. */
export function nchw(t: Tensor, what: string): [number, number, number, number] {
  if (t.rank !== 4) throw new ShapeError(`${what}: expected an NCHW tensor of rank 4, got ${formatShape(t.shape)}`);
  return t.shape as unknown as [number, number, number, number];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

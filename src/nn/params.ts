import type { Arena, Engine } from '../gpu/engine';
import { DisposedError, formatShape, LimitError, ShapeError } from '../gpu/errors';
import { Tensor } from '../gpu/tensor';

/** A learnable tensor: name as in the PyTorch state_dict (`encoder.features.0.weight`), its shape. */
export interface ParamSpec {
  name: string;
  shape: readonly number[];
  /** Frozen parameters (false) keep their values: optimizers skip them, grad ops ignore them. */
  trainable?: boolean;
}

/** Non-learnable state saved with the model (BN running_mean / running_var / num_batches_tracked). */
export interface BufferSpec {
  name: string;
  shape: readonly number[];
}

export interface ParameterSetOptions {
  buffers?: readonly BufferSpec[];
  label?: string;
  /**
   * Largest arena in bytes. Defaults to the device's limit (min of maxStorageBufferBindingSize
   * and maxBufferSize): a model bigger than that is split into several shards, each one arena for
   * parameters, one for gradients, and one per optimizer state, and every whole-set operation runs
   * once per shard. Tests pass a small value to exercise sharding.
   */
  maxArenaBytes?: number;
  /** At most this many tensors per shard (bounds the optimizer's per-parameter uniform table). */
  maxTensorsPerShard?: number;
}

/** Elements handled by one workgroup of the arena kernels (256 threads × 4). */
export const CHUNK = 1024;

/** One parameter's place in its shard's arenas. */
export interface Slot {
  name: string;
  shape: readonly number[];
  size: number;
  /** Offset of the first element inside the shard's arenas (elements, not bytes). */
  offset: number;
  /** Index of this parameter inside its shard (key of the optimizers' per-parameter tables). */
  local: number;
  shard: number;
}

/**
 * One contiguous group of parameters: their values in one arena, their gradients in a second with
 * the identical layout. Optimizers allocate their state arenas with `shapes` and get the same
 * layout again, so one dispatch per shard updates every parameter.
 */
export class Shard {
  readonly slots: Slot[] = [];
  /** Arena length in f32 elements (multiple of 64: arenas are 256-byte aligned). */
  elements = 0;
  params!: Arena;
  /** Makes the gradient arena (same layout as `params`, zeroed); set by ParameterSet. */
  gradFactory: (() => Arena) | null = null;
  private gradArena: Arena | null = null;
  private table: Tensor | null = null;
  private tableVersion = -1;
  private tableChunks = 0;

  constructor(readonly index: number) {}

  /**
   * The gradient arena, allocated (and zeroed) on first use: inference never touches it, so a
   * model that only predicts holds its parameters once, not twice.
   */
  get grads(): Arena {
    if (!this.gradArena) {
      if (!this.gradFactory) throw new Error(`shard ${this.index}: no gradient arena factory`);
      this.gradArena = this.gradFactory();
    }
    return this.gradArena;
  }

  /** Whether the gradient arena exists yet. */
  get hasGrads(): boolean {
    return this.gradArena !== null;
  }

  /** Frees the gradient arena if it was allocated. */
  disposeGrads(): void {
    this.gradArena?.dispose();
    this.gradArena = null;
  }

  get shapes(): (readonly number[])[] {
    return this.slots.map((s) => s.shape);
  }

  /** A non-owning view over a whole arena buffer (for clears, flat readbacks, bindings). */
  static flat(engine: Engine, arena: Arena, label: string): Tensor {
    return new Tensor(engine, [arena.bytes / 4], arena.buffer, label, 0, false);
  }

  /** `binding` covering an entire arena. */
  static binding(arena: Arena): GPUBufferBinding {
    return { buffer: arena.buffer, offset: 0, size: arena.bytes };
  }

  /**
   * The chunk table: for every trainable parameter, its elements cut into runs of ≤ CHUNK, one
   * per workgroup, as u32 quadruples (start, end, local parameter index, 0). Padding between
   * parameters and frozen parameters appear in no chunk, so arena kernels never touch them.
   * Rebuilt when the set's trainable flags change.
   */
  chunks(set: ParameterSet): { table: Tensor; count: number } | null {
    set.checkAlive();
    if (this.tableVersion !== set.version) {
      this.table?.dispose();
      this.table = null;
      const words: number[] = [];
      for (const s of this.slots) {
        if (!set.isTrainable(s.name)) continue;
        for (let a = 0; a < s.size; a += CHUNK) words.push(s.offset + a, s.offset + Math.min(s.size, a + CHUNK), s.local, 0);
      }
      this.tableChunks = words.length / 4;
      if (this.tableChunks > 0) {
        const u32 = Uint32Array.from(words);
        this.table = set.engine.tensor(new Float32Array(u32.buffer), [u32.length], `chunks[${this.index}]`);
      }
      this.tableVersion = set.version;
    }
    return this.table ? { table: this.table, count: this.tableChunks } : null;
  }

  disposeTable(): void {
    this.table?.dispose();
    this.table = null;
    this.tableVersion = -1;
  }
}

const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Splits tensors (in order) into runs whose arena fits `maxBytes` and `maxCount` tensors. */
function planShards(engine: Engine, shapes: readonly (readonly number[])[], maxBytes: number, maxCount: number, names: readonly string[]): number[][] {
  const align = engine.limits.minStorageBufferOffsetAlignment;
  const groups: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  shapes.forEach((s, i) => {
    const slot = Math.ceil(Math.max(16, prod(s) * 4) / align) * align;
    if (slot > maxBytes) {
      throw new LimitError(`${names[i]} ${formatShape(s)}: needs ${slot} bytes, over the ${maxBytes}-byte arena limit (maxStorageBufferBindingSize)`);
    }
    if (cur.length > 0 && (bytes + slot > maxBytes || cur.length >= maxCount)) {
      groups.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += slot;
  });
  if (cur.length) groups.push(cur);
  return groups;
}

function checkShape(name: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`${name}: invalid shape ${formatShape(shape)}`);
}

/**
 * Named model parameters in flat arenas: values in one arena per shard and gradients in a second
 * with the same layout (so `zeroGrad` is one clear per shard and an optimizer step is one
 * dispatch per shard), allocated when first used (inference never allocates it), plus named
 * buffers (BN running statistics) in an arena of their own.
 * Every tensor has a name, so a checkpoint is `stateDict()` and `loadStateDict()`.
 *
 * Arena padding: parameters sit at 256-byte-aligned offsets. Padding is zeroed at allocation but
 * nothing relies on it: optimizers and grad reductions walk a chunk table of the trainable
 * parameters' exact element ranges (see `Shard.chunks`), never the padding.
 */
export class ParameterSet {
  readonly shards: Shard[] = [];
  private readonly slots = new Map<string, Slot>();
  private readonly trainableFlags = new Map<string, boolean>();
  private readonly order: string[] = [];
  private readonly bufferOrder: string[] = [];
  private readonly bufferViews = new Map<string, Tensor>();
  private bufferArenas: Arena[] = [];
  private flagVersion = 0;
  private disposed = false;
  readonly label: string;

  constructor(
    readonly engine: Engine,
    params: Iterable<ParamSpec>,
    options: ParameterSetOptions = {},
  ) {
    this.label = options.label ?? 'params';
    const specs = [...params];
    const seen = new Set<string>();
    for (const s of [...specs, ...(options.buffers ?? [])]) {
      if (seen.has(s.name)) throw new ShapeError(`${this.label}: duplicate tensor name ${s.name}`);
      seen.add(s.name);
      checkShape(s.name, s.shape);
    }
    const maxBytes = Math.min(
      options.maxArenaBytes ?? Infinity,
      engine.limits.maxStorageBufferBindingSize,
      engine.limits.maxBufferSize,
    );
    const maxCount = options.maxTensorsPerShard ?? 512;
    const created: Arena[] = [];
    try {
      const plan = planShards(engine, specs.map((s) => s.shape), maxBytes, maxCount, specs.map((s) => s.name));
      plan.forEach((idx, si) => {
        const shard = new Shard(si);
        const shapes = idx.map((i) => [...specs[i]!.shape]);
        shard.params = engine.arena(shapes, `${this.label}.param`);
        created.push(shard.params);
        shard.gradFactory = () => {
          const arena = engine.arena(shapes, `${this.label}.grad`);
          engine.clear(Shard.flat(engine, arena, 'grads'));
          return arena;
        };
        shard.elements = shard.params.bytes / 4;
        idx.forEach((i, local) => {
          const spec = specs[i]!;
          const slot: Slot = {
            name: spec.name,
            shape: [...spec.shape],
            size: prod(spec.shape),
            offset: shard.params.tensors[local]!.byteOffset / 4,
            local,
            shard: si,
          };
          shard.slots.push(slot);
          this.slots.set(spec.name, slot);
          this.trainableFlags.set(spec.name, spec.trainable ?? true);
          this.order.push(spec.name);
        });
        // values change only through load (Engine.write) and optimizer steps, which both mark the
        // views written: derived layouts such as packed conv weights may be cached on them
        for (const t of shard.params.tensors) t.cacheDerived = true;
        this.shards.push(shard);
        engine.clear(Shard.flat(engine, shard.params, 'params'));
      });
      const buffers = options.buffers ?? [];
      if (buffers.length) {
        const bplan = planShards(engine, buffers.map((b) => b.shape), maxBytes, Infinity, buffers.map((b) => b.name));
        for (const idx of bplan) {
          const arena = engine.arena(idx.map((i) => [...buffers[i]!.shape]), `${this.label}.buffer`);
          created.push(arena);
          this.bufferArenas.push(arena);
          engine.clear(Shard.flat(engine, arena, 'buffers'));
          idx.forEach((i, k) => {
            this.bufferViews.set(buffers[i]!.name, arena.tensors[k]!);
            this.bufferOrder.push(buffers[i]!.name);
          });
        }
      }
    } catch (e) {
      for (const a of created) a.dispose();
      throw e;
    }
  }

  // ------------------------------------------------------------------ lookup

  /** Parameter names in arena order. */
  get names(): string[] {
    return [...this.order];
  }

  /** Buffer names (running statistics), in arena order. */
  get bufferNames(): string[] {
    return [...this.bufferOrder];
  }

  /** Bumped whenever trainable flags change (optimizers rebuild their chunk tables). */
  get version(): number {
    return this.flagVersion;
  }

  has(name: string): boolean {
    return this.slots.has(name) || this.bufferViews.has(name);
  }

  slot(name: string): Slot {
    const s = this.slots.get(name);
    if (!s) throw new ShapeError(`${this.label}: no parameter named ${name}`);
    return s;
  }

  shape(name: string): readonly number[] {
    return this.tensorOf(name).shape;
  }

  /** The parameter's value tensor (a view into the parameter arena). */
  get(name: string): Tensor {
    const s = this.slot(name);
    return this.shards[s.shard]!.params.tensors[s.local]!;
  }

  /** The parameter's gradient tensor (same offset in the gradient arena). */
  grad(name: string): Tensor {
    const s = this.slot(name);
    return this.shards[s.shard]!.grads.tensors[s.local]!;
  }

  /** A buffer (non-learnable state) by name. */
  buffer(name: string): Tensor {
    const b = this.bufferViews.get(name);
    if (!b) throw new ShapeError(`${this.label}: no buffer named ${name}`);
    return b;
  }

  /** [name, value tensor] for every parameter, in arena order. */
  *entries(): IterableIterator<[string, Tensor]> {
    for (const n of this.order) yield [n, this.get(n)];
  }

  /** [name, tensor] for every buffer. */
  *bufferEntries(): IterableIterator<[string, Tensor]> {
    for (const n of this.bufferOrder) yield [n, this.bufferViews.get(n)!];
  }

  private tensorOf(name: string): Tensor {
    if (this.slots.has(name)) return this.get(name);
    if (this.bufferViews.has(name)) return this.bufferViews.get(name)!;
    throw new ShapeError(`${this.label}: no parameter or buffer named ${name}`);
  }

  // ------------------------------------------------------------- trainable

  isTrainable(name: string): boolean {
    this.slot(name);
    return this.trainableFlags.get(name)!;
  }

  /** Freezes (false) or unfreezes parameters by name, list, regular expression or predicate. */
  setTrainable(which: string | readonly string[] | RegExp | ((name: string) => boolean), trainable: boolean): void {
    const match = matcher(which);
    let changed = false;
    let any = false;
    for (const n of this.order) {
      if (!match(n)) continue;
      any = true;
      if (this.trainableFlags.get(n) !== trainable) {
        this.trainableFlags.set(n, trainable);
        changed = true;
      }
    }
    if (!any && typeof which === 'string') this.slot(which);
    if (changed) this.flagVersion++;
  }

  /** Number of scalar parameters (all, or only trainable ones). */
  count(options: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const s of this.slots.values()) if (!options.trainableOnly || this.trainableFlags.get(s.name)) n += s.size;
    return n;
  }

  /**
   * Pool bytes of layouts cached from the parameters' values (the direct conv's packed weights; see `Tensor.derived`).
   */
  get derivedBytes(): number {
    let n = 0;
    for (const s of this.shards) for (const t of s.params.tensors) n += t.derivedBytes;
    return n;
  }

  /** Bytes of GPU memory per copy of the parameter arenas (gradients and each optimizer state cost as much again). */
  get arenaBytes(): number {
    return this.shards.reduce((a, s) => a + s.params.bytes, 0);
  }

  // -------------------------------------------------------------- contents

  /** Uploads a parameter's (or buffer's) values. */
  load(name: string, data: Float32Array): void {
    const t = this.tensorOf(name);
    if (data.length !== t.size) throw new ShapeError(`${this.label}: ${name} ${formatShape(t.shape)} holds ${t.size} values, got ${data.length}`);
    this.engine.write(t, data);
  }

  /** Uploads a gradient (tests, gradients computed elsewhere). */
  loadGrad(name: string, data: Float32Array): void {
    const t = this.grad(name);
    if (data.length !== t.size) throw new ShapeError(`${this.label}: grad of ${name} ${formatShape(t.shape)} holds ${t.size} values, got ${data.length}`);
    this.engine.write(t, data);
  }

  read(name: string): Promise<Float32Array> {
    return this.tensorOf(name).read();
  }

  readGrad(name: string): Promise<Float32Array> {
    return this.grad(name).read();
  }

  /** Throws DisposedError once the set is disposed (whole-arena operations check this). */
  checkAlive(): void {
    if (this.disposed) throw new DisposedError(`${this.label}: parameter set was used after dispose()`);
  }

  /** Sets every gradient to zero: one clear per shard. */
  zeroGrad(): void {
    this.checkAlive();
    for (const s of this.shards) this.engine.clear(Shard.flat(this.engine, s.grads, 'grads'));
  }

  /**
   * Every parameter and buffer by name, read back with one transfer per arena: the model half of
   * a checkpoint (PyTorch state_dict naming).
   */
  async stateDict(): Promise<Map<string, Float32Array>> {
    this.checkAlive();
    const out = new Map<string, Float32Array>();
    for (const shard of this.shards) {
      const flat = await readArena(this.engine, shard.params);
      for (const s of shard.slots) out.set(s.name, flat.slice(s.offset, s.offset + s.size));
    }
    for (const arena of this.bufferArenas) {
      const flat = await readArena(this.engine, arena);
      for (const [name, t] of this.bufferViews) {
        if (t.buffer !== arena.buffer) continue;
        out.set(name, flat.slice(t.byteOffset / 4, t.byteOffset / 4 + t.size));
      }
    }
    return out;
  }

  /**
   * Loads parameters and buffers by name. `strict` (default) requires every tensor of the set to
   * be present and no unknown names; shapes must always match in size.
   */
  loadStateDict(dict: Map<string, Float32Array> | Record<string, Float32Array>, options: { strict?: boolean } = {}): void {
    const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const strict = options.strict ?? true;
    if (strict) {
      const missing = [...this.order, ...this.bufferOrder].filter((n) => !entries.has(n));
      const unknown = [...entries.keys()].filter((n) => !this.has(n));
      if (missing.length || unknown.length) {
        throw new ShapeError(`${this.label}: state dict mismatch; missing [${missing.join(', ')}], unexpected [${unknown.join(', ')}]`);
      }
    }
    for (const [name, data] of entries) if (this.has(name)) this.load(name, data);
  }

  /** Frees every arena. The set and its views are unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.shards) {
      s.disposeTable();
      s.params.dispose();
      s.disposeGrads();
    }
    for (const a of this.bufferArenas) a.dispose();
    this.bufferArenas = [];
  }
}

/** Reads a whole arena back in one transfer. */
export function readArena(engine: Engine, arena: Arena): Promise<Float32Array> {
  return engine.read(Shard.flat(engine, arena, 'arena'));
}

export type NameMatcher = string | readonly string[] | RegExp | ((name: string) => boolean);

export function matcher(which: NameMatcher): (name: string) => boolean {
  if (typeof which === 'string') return (n) => n === which;
  if (which instanceof RegExp) {
    const re = new RegExp(which.source, which.flags.replace(/[gy]/g, '')); // no lastIndex state
    return (n) => re.test(n);
  }
  if (typeof which === 'function') return which as (name: string) => boolean;
  const set = new Set(which as readonly string[]);
  return (n) => set.has(n);
}

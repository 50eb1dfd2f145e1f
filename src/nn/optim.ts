import type { Engine } from '../gpu/engine';
import { DisposedError, ShapeError } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import { grid, specialize, Uniforms } from '../gpu/wgsl';
import template from '../../shaders/optim.wgsl';
import { matcher, type NameMatcher, type ParameterSet, readArena, Shard, type Slot } from './params';

/*
 * Optimizers over a ParameterSet's arenas. Design:
 *  - One dispatch per shard (normally one shard: the whole model) updates every trainable
 *    parameter. The kernel walks the shard's chunk table (runs of ≤ 1024 elements of one
 *    parameter, see Shard.chunks), so arena padding and frozen parameters are never touched.
 *  - Per-parameter hyper-parameters (group lr / weight decay / betas, and bias corrections from the
 *    parameter's own step count, as PyTorch keeps `state[p]['step']` per parameter) travel in the
 *    dispatch's uniform block: two vec4 per parameter of the shard. Parameter groups therefore
 *    cost nothing extra: every group goes in the same dispatch.
 *  - Optimizer state (exp_avg, exp_avg_sq, momentum_buffer) lives in arenas with the parameter
 *    arena's layout, named like PyTorch's optimizer state for checkpoints.
 */

// ----------------------------------------------------------------- kernels

const SECTIONS: Record<string, string> = (() => {
  const out: Record<string, string> = {};
  const parts = template.split(/^\/\/! (\w+)\s*$/m);
  for (let i = 1; i < parts.length; i += 2) out[parts[i]!] = parts[i + 1]!;
  return out;
})();

function code(name: string, defs: Record<string, string | number> = {}): string {
  const body = SECTIONS[name];
  if (body === undefined) throw new Error(`optim.wgsl has no section ${name}`);
  return specialize(SECTIONS.common! + body, defs);
}

const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

function workgroups(e: Engine, chunks: number): [number, number] {
  return grid(chunks, e.limits.maxComputeWorkgroupsPerDimension);
}

// -------------------------------------------------------- gradient helpers

/** g ← g·factor for every trainable parameter's gradient (gradient accumulation averaging). */
export function scaleGrads(ps: ParameterSet, factor: number): void {
  ps.checkAlive();
  for (const shard of ps.shards) {
    const ch = shard.chunks(ps);
    if (!ch) continue;
    const [gx, gy] = workgroups(ps.engine, ch.count);
    ps.engine.run({
      kernel: 'scale_grads',
      code: code('scale', { STATS_DECL: '', FACTOR: 'u.f' }),
      uniforms: new Uniforms().u32(ch.count, gx).f32(factor, 0).bytes(),
      buffers: [ch.table.binding, Shard.binding(shard.grads)],
      workgroups: [gx, gy],
      flops: ch.count * 1024,
      bytes: ch.count * 1024 * 8,
      shape: `${ch.count} chunks`,
    });
  }
}

/**
 * Records the gradient statistics reduction: a [4] tensor (Σ g² over finite values, #NaN, #±Inf, 0)
 * over every trainable parameter's gradient. No readback; the caller disposes the tensor.
 */
export function gradStatsTensor(ps: ParameterSet): Tensor {
  ps.checkAlive();
  const e = ps.engine;
  const tables = ps.shards.map((s) => s.chunks(ps));
  const total = tables.reduce((a, t) => a + (t?.count ?? 0), 0);
  const out = e.empty([4], 'gradstats');
  if (total === 0) {
    e.clear(out);
    return out;
  }
  const partial = e.empty([total * 4], 'gradstats.partial');
  let base = 0;
  ps.shards.forEach((shard, i) => {
    const ch = tables[i];
    if (!ch) return;
    const [gx, gy] = workgroups(e, ch.count);
    e.run({
      kernel: 'gradstats_partial',
      code: code('gradstats_partial'),
      uniforms: new Uniforms().u32(ch.count, gx, base, 0).bytes(),
      buffers: [ch.table.binding, Shard.binding(shard.grads), partial.binding],
      workgroups: [gx, gy],
      flops: ch.count * 2048,
      bytes: ch.count * 4096,
      shape: `${ch.count} chunks`,
    });
    base += ch.count;
  });
  e.run({
    kernel: 'gradstats_final',
    code: code('gradstats_final'),
    uniforms: new Uniforms().u32(total, 0, 0, 0).bytes(),
    buffers: [partial.binding, out.binding],
    workgroups: [1],
    flops: total * 4,
    bytes: total * 16,
    shape: `${total}`,
  });
  partial.dispose();
  return out;
}

export interface GradStats {
  /** L2 norm of all trainable gradients; NaN if any is NaN, Infinity if any is ±Inf (as PyTorch). */
  norm: number;
  sumSquares: number;
  nan: number;
  inf: number;
  finite: boolean;
}

function toStats(v: Float32Array): GradStats {
  const [sumSquares, nan, inf] = [v[0]!, v[1]!, v[2]!];
  const norm = nan > 0 ? NaN : inf > 0 ? Infinity : Math.sqrt(sumSquares);
  return { norm, sumSquares, nan, inf, finite: nan === 0 && inf === 0 };
}

/** Norm and finiteness of the trainable gradients, after one readback of four numbers. */
export async function gradStats(ps: ParameterSet): Promise<GradStats> {
  const t = gradStatsTensor(ps);
  try {
    return toStats(await t.read());
  } finally {
    t.dispose();
  }
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every trainable gradient by min(max / (‖g‖ + 1e-6), 1).
 * The scaling is computed and applied on the GPU; returns the [4] statistics tensor (see
 * gradStatsTensor) without a readback, to be read later or disposed. If any gradient is non-finite
 * the gradients are left unscaled (PyTorch would turn them all into NaN); check `finite`.
 */
export function clipGradNormDeferred(ps: ParameterSet, maxNorm: number): Tensor {
  const stats = gradStatsTensor(ps);
  for (const shard of ps.shards) {
    const ch = shard.chunks(ps);
    if (!ch) continue;
    const [gx, gy] = workgroups(ps.engine, ch.count);
    ps.engine.run({
      kernel: 'clip_grads',
      code: code('scale', {
        STATS_DECL: '@group(0) @binding(3) var<storage, read> stats: array<vec4<f32>>;',
        FACTOR: 'select(min(u.maxNorm / (sqrt(stats[0].x) + 1e-6), 1.0), 1.0, stats[0].y + stats[0].z > 0.0)',
      }),
      uniforms: new Uniforms().u32(ch.count, gx).f32(1, maxNorm).bytes(),
      buffers: [ch.table.binding, Shard.binding(shard.grads), stats.binding],
      workgroups: [gx, gy],
      flops: ch.count * 1024,
      bytes: ch.count * 1024 * 8,
      shape: `${ch.count} chunks`,
    });
  }
  return stats;
}

/** clip_grad_norm_ followed by a readback: returns the total norm before clipping. */
export async function clipGradNorm(ps: ParameterSet, maxNorm: number): Promise<number> {
  const t = clipGradNormDeferred(ps, maxNorm);
  try {
    return toStats(await t.read()).norm;
  } finally {
    t.dispose();
  }
}

/** True when every trainable gradient is finite (one small readback; for an optional NaN guard). */
export async function checkFinite(ps: ParameterSet): Promise<boolean> {
  return (await gradStats(ps)).finite;
}

// -------------------------------------------------------------- optimizers

/** Options a parameter group may override; `params` picks its members (first matching group wins). */
export interface GroupBase {
  name?: string;
  params: NameMatcher;
  /** Absolute learning rate of this group at the optimizer's initial lr (sets lrScale = lr / defaults.lr). */
  lr?: number;
  /** Multiplier on the optimizer's lr (what `step(lr)` and schedules set). Overrides `lr`. */
  lrScale?: number;
  weightDecay?: number;
}

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}
export interface AdamWGroup extends GroupBase {
  betas?: [number, number];
  eps?: number;
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}
export interface SGDGroup extends GroupBase {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

/** Everything `loadState` needs to resume: per-parameter step counts and state tensors by name. */
export interface OptimizerState {
  type: 'adamw' | 'sgd';
  /** The optimizer's lr (group lrs are lr × lrScale). */
  lr: number;
  /** Number of `step()` calls. */
  stepCount: number;
  /** Each group's lr multiplier (restored by group name, as PyTorch restores param_groups' lr). */
  groups?: { name: string; lrScale: number }[];
  /** PyTorch's state[p]['step']: steps taken by each parameter (absent: never stepped). */
  steps: Record<string, number>;
  /** State tensor kind (exp_avg, exp_avg_sq, momentum_buffer) → parameter name → values. */
  tensors: Record<string, Record<string, Float32Array>>;
}

interface Arena {
  buffer: GPUBuffer;
  tensors: Tensor[];
  bytes: number;
  dispose: () => void;
}

export interface ResolvedGroup<G> {
  name: string;
  /** Multiplier on the optimizer's lr; mutable (e.g. to change one group's lr mid-training). */
  lrScale: number;
  options: G;
  params: string[];
}

abstract class Optimizer<O extends object, G extends GroupBase> {
  /** Base learning rate; each group uses lr × lrScale. Set by `step(lr)` or directly. */
  lr: number;
  stepCount = 0;
  readonly groups: ResolvedGroup<Required<Omit<G, 'params' | 'name' | 'lr' | 'lrScale'>>>[] = [];
  protected readonly groupOf = new Map<string, number>();
  protected readonly steps = new Map<string, number>();
  /** stateArenas[k][shard]: state kind k (names in stateNames) for each shard. */
  protected stateArenas: Arena[][] = [];
  private disposed = false;

  protected constructor(
    readonly params: ParameterSet,
    readonly defaults: Required<O>,
    groups: readonly G[],
    protected readonly stateNames: readonly string[],
  ) {
    const d = defaults as unknown as { lr: number };
    this.lr = d.lr;
    const all = [...groups, { name: 'default', params: () => true } as unknown as G];
    all.forEach((g, gi) => {
      if (typeof g.params === 'string' || Array.isArray(g.params)) {
        for (const n of typeof g.params === 'string' ? [g.params] : (g.params as string[])) params.slot(n); // unknown names throw
      }
      const match = matcher(g.params);
      const members = params.names.filter((n) => !this.groupOf.has(n) && match(n));
      for (const n of members) this.groupOf.set(n, gi);
      const lrScale = g.lrScale ?? (g.lr !== undefined ? (d.lr === 0 ? NaN : g.lr / d.lr) : 1);
      if (!Number.isFinite(lrScale)) throw new RangeError(`group ${g.name ?? gi}: lr ${g.lr} needs a non-zero default lr (or give lrScale)`);
      const { params: _p, name: _n, lr: _lr, lrScale: _s, ...rest } = g;
      const opts = { ...this.groupDefaults(), ...stripUndefined(rest) };
      this.validate(opts as never, g.name ?? `group ${gi}`);
      this.groups.push({ name: g.name ?? (gi === groups.length ? 'default' : `group${gi}`), lrScale, options: opts as never, params: members });
    });
    try {
      for (const kind of stateNames) {
        this.stateArenas.push(
          params.shards.map((s) => {
            const a = params.engine.arena(s.shapes, `${params.label}.${kind}`);
            params.engine.clear(Shard.flat(params.engine, a, kind));
            return a;
          }),
        );
      }
    } catch (e) {
      for (const k of this.stateArenas) for (const a of k) a.dispose();
      throw e;
    }
  }

  protected abstract groupDefaults(): object;
  protected abstract validate(opts: object, what: string): void;
  /** 8 floats of per-parameter hyper-parameters for the uniform table (slot trainable, step ≥ 1). */
  protected abstract hyper(slot: Slot, group: number, step: number, lr: number): number[];
  protected abstract dispatch(shard: Shard, table: { table: Tensor; count: number }, uniforms: ArrayBuffer): void;

  /** Learning rate of group `i` (lr × lrScale). */
  groupLr(i: number): number {
    return this.lr * this.groups[i]!.lrScale;
  }

  /** Group index of a parameter. */
  group(name: string): number {
    this.params.slot(name);
    return this.groupOf.get(name)!;
  }

  /** Steps taken by a parameter (PyTorch's state[p]['step']). */
  stepOf(name: string): number {
    return this.steps.get(name) ?? 0;
  }

  /** One optimizer step over every trainable parameter: one dispatch per shard. */
  step(lr?: number): void {
    this.checkAlive();
    if (lr !== undefined) this.lr = lr;
    if (!(this.lr >= 0) || !Number.isFinite(this.lr)) throw new RangeError(`invalid learning rate ${this.lr}`);
    this.stepCount++;
    const ps = this.params;
    for (const shard of ps.shards) {
      const table = shard.chunks(ps);
      const nh = nextPow2(shard.slots.length);
      const h = new Float32Array(nh * 8);
      for (const s of shard.slots) {
        if (!ps.isTrainable(s.name)) continue;
        const t = (this.steps.get(s.name) ?? 0) + 1;
        this.steps.set(s.name, t);
        const g = this.groupOf.get(s.name)!;
        h.set(this.hyper(s, g, t, this.groupLr(g)), s.local * 8);
      }
      if (!table) continue;
      const [gx] = workgroups(ps.engine, table.count);
      const u = new Uniforms().u32(table.count, gx, 0, 0).f32(...h).bytes();
      ps.engine.label('optimizer.step', () => this.dispatch(shard, table, u));
      // the step rewrote these values: layouts derived from them (packed conv weights) are stale
      for (const s of shard.slots) if (ps.isTrainable(s.name)) shard.params.tensors[s.local]!.markWritten();
    }
  }

  protected kernelArgs(shard: Shard, table: { table: Tensor; count: number }): { buffers: GPUBufferBinding[]; workgroups: [number, number] } {
    const k = this.stateArenas.map((a) => Shard.binding(a[shard.index]!));
    return {
      buffers: [table.table.binding, Shard.binding(shard.params), Shard.binding(shard.grads), ...k],
      workgroups: workgroups(this.params.engine, table.count),
    };
  }

  zeroGrad(): void {
    this.params.zeroGrad();
  }
  scaleGrads(factor: number): void {
    scaleGrads(this.params, factor);
  }
  gradStats(): Promise<GradStats> {
    return gradStats(this.params);
  }
  async gradNorm(): Promise<number> {
    return (await gradStats(this.params)).norm;
  }
  clipGradNorm(maxNorm: number): Promise<number> {
    return clipGradNorm(this.params, maxNorm);
  }
  clipGradNormDeferred(maxNorm: number): Tensor {
    return clipGradNormDeferred(this.params, maxNorm);
  }
  checkFinite(): Promise<boolean> {
    return checkFinite(this.params);
  }

  /** A state tensor view (e.g. 'exp_avg') of one parameter. */
  stateTensor(kind: string, name: string): Tensor {
    const k = this.stateNames.indexOf(kind);
    if (k < 0) throw new ShapeError(`optimizer has no state ${kind} (has ${this.stateNames.join(', ') || 'none'})`);
    const s = this.params.slot(name);
    return this.stateArenas[k]![s.shard]!.tensors[s.local]!;
  }

  /** Reads the optimizer state (one transfer per state arena) for a checkpoint. */
  async state(): Promise<OptimizerState> {
    this.checkAlive();
    const tensors: Record<string, Record<string, Float32Array>> = {};
    for (let k = 0; k < this.stateNames.length; k++) {
      const byName: Record<string, Float32Array> = {};
      for (const shard of this.params.shards) {
        const flat = await readArena(this.params.engine, this.stateArenas[k]![shard.index]!);
        for (const s of shard.slots) if (this.steps.has(s.name)) byName[s.name] = flat.slice(s.offset, s.offset + s.size);
      }
      tensors[this.stateNames[k]!] = byName;
    }
    const groups = this.groups.map((g) => ({ name: g.name, lrScale: g.lrScale }));
    return { type: this.type, lr: this.lr, stepCount: this.stepCount, groups, steps: Object.fromEntries(this.steps), tensors };
  }

  /**
   * Restores `state()` output: lr, step counts, state tensors, and each group's lr multiplier
   * (matched by group name; other group settings come from the constructor). Parameters absent
   * from it start fresh (zero state, step 0); names the parameter set does not know, wrong sizes
   * or another optimizer type are errors.
   */
  loadState(state: OptimizerState): void {
    this.checkAlive();
    if (state.type !== this.type) throw new ShapeError(`optimizer state is for ${state.type}, this is ${this.type}`);
    for (const n of Object.keys(state.steps)) this.params.slot(n);
    for (const kind of Object.keys(state.tensors)) {
      if (!this.stateNames.includes(kind)) throw new ShapeError(`optimizer state has ${kind}, this ${this.type} keeps ${this.stateNames.join(', ') || 'none'}`);
      for (const [n, data] of Object.entries(state.tensors[kind]!)) {
        const s = this.params.slot(n);
        if (data.length !== s.size) throw new ShapeError(`optimizer state ${kind} of ${n}: ${data.length} values, parameter has ${s.size}`);
      }
    }
    const e = this.params.engine;
    for (let k = 0; k < this.stateNames.length; k++) {
      for (const a of this.stateArenas[k]!) e.clear(Shard.flat(e, a, this.stateNames[k]!));
      for (const [n, data] of Object.entries(state.tensors[this.stateNames[k]!] ?? {})) e.write(this.stateTensor(this.stateNames[k]!, n), data);
    }
    this.steps.clear();
    for (const [n, t] of Object.entries(state.steps)) this.steps.set(n, t);
    this.lr = state.lr;
    this.stepCount = state.stepCount;
    for (const saved of state.groups ?? []) {
      const g = this.groups.find((x) => x.name === saved.name);
      if (g) g.lrScale = saved.lrScale;
    }
  }

  protected abstract get type(): 'adamw' | 'sgd';

  private checkAlive(): void {
    if (this.disposed) throw new DisposedError(`${this.type} optimizer was used after dispose()`);
    this.params.checkAlive();
  }

  /** Frees the optimizer state arenas (the parameter set stays). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const k of this.stateArenas) for (const a of k) a.dispose();
    this.stateArenas = [];
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * torch.optim.AdamW (amsgrad=False, maximize=False): decoupled weight decay p ← p·(1 − lr·wd)
 * before the Adam update, bias corrections from each parameter's own step count, eps added to
 * √v̂. Defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.
 *
 *   const opt = new AdamW(ps, { lr: 1e-4 }, [
 *     { name: 'no_decay', params: /(\.bias|bn\d*\.weight)$/, weightDecay: 0 },
 *     { name: 'encoder', params: /^encoder\./, lrScale: 0.1 },
 *   ]);
 */
export class AdamW extends Optimizer<AdamWOptions, AdamWGroup> {
  constructor(params: ParameterSet, options: AdamWOptions = {}, groups: readonly AdamWGroup[] = []) {
    const defaults: Required<AdamWOptions> = {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 1e-2,
    };
    super(params, defaults, groups, ['exp_avg', 'exp_avg_sq']);
  }

  protected get type(): 'adamw' {
    return 'adamw';
  }

  protected groupDefaults(): object {
    const { betas, eps, weightDecay } = this.defaults;
    return { betas, eps, weightDecay };
  }

  protected validate(o: { betas: [number, number]; eps: number; weightDecay: number }, what: string): void {
    const [b1, b2] = o.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new RangeError(`${what}: invalid betas (${b1}, ${b2})`);
    if (!(o.eps >= 0)) throw new RangeError(`${what}: invalid eps ${o.eps}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`${what}: invalid weight decay ${o.weightDecay}`);
  }

  protected hyper(_s: Slot, g: number, t: number, lr: number): number[] {
    const { betas, eps, weightDecay } = this.groups[g]!.options as { betas: [number, number]; eps: number; weightDecay: number };
    const [b1, b2] = betas;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    return [1 - lr * weightDecay, lr / bc1, Math.sqrt(bc2), eps, 1 - b1, b2, 1 - b2, 0];
  }

  protected dispatch(shard: Shard, table: { table: Tensor; count: number }, uniforms: ArrayBuffer): void {
    const nh = nextPow2(shard.slots.length) * 2;
    const n = table.count * 1024;
    this.params.engine.run({
      kernel: 'adamw',
      code: code('adamw', { NH: nh }),
      uniforms,
      ...this.kernelArgs(shard, table),
      flops: n * 14,
      bytes: n * 28,
      shape: `${table.count} chunks`,
    });
  }
}

/**
 * torch.optim.SGD (maximize=False): d = g + wd·p; with momentum μ the buffer starts as d on a
 * parameter's first step, then buf = μ·buf + (1 − dampening)·d; nesterov uses d + μ·buf, else buf;
 * p ← p − lr·d. Defaults: momentum 0, dampening 0, nesterov false, weight decay 0.
 */
export class SGD extends Optimizer<SGDOptions, SGDGroup> {
  constructor(params: ParameterSet, options: SGDOptions & { lr: number }, groups: readonly SGDGroup[] = []) {
    const defaults: Required<SGDOptions> = {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      nesterov: options.nesterov ?? false,
      weightDecay: options.weightDecay ?? 0,
    };
    const anyMomentum = defaults.momentum !== 0 || groups.some((g) => (g.momentum ?? 0) !== 0);
    super(params, defaults, groups, anyMomentum ? ['momentum_buffer'] : []);
  }

  protected get type(): 'sgd' {
    return 'sgd';
  }

  protected groupDefaults(): object {
    const { momentum, dampening, nesterov, weightDecay } = this.defaults;
    return { momentum, dampening, nesterov, weightDecay };
  }

  protected validate(o: { momentum: number; dampening: number; nesterov: boolean; weightDecay: number }, what: string): void {
    if (!(o.momentum >= 0)) throw new RangeError(`${what}: invalid momentum ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`${what}: invalid weight decay ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new RangeError(`${what}: nesterov momentum requires a momentum and zero dampening`);
  }

  protected hyper(_s: Slot, g: number, t: number, lr: number): number[] {
    const { momentum, dampening, nesterov, weightDecay } = this.groups[g]!.options as { momentum: number; dampening: number; nesterov: boolean; weightDecay: number };
    return [lr, weightDecay, momentum, 1 - dampening, nesterov ? 1 : 0, t === 1 ? 1 : 0, 0, 0];
  }

  protected dispatch(shard: Shard, table: { table: Tensor; count: number }, uniforms: ArrayBuffer): void {
    const hasBuf = this.stateNames.length > 0;
    const n = table.count * 1024;
    this.params.engine.run({
      kernel: hasBuf ? 'sgd_momentum' : 'sgd',
      code: code('sgd', {
        NH: nextPow2(shard.slots.length) * 2,
        BUF_DECL: hasBuf ? '@group(0) @binding(4) var<storage, read_write> buf: array<f32>;' : '',
        BUF_UPDATE: hasBuf
          ? `if (a.z != 0.0) {
      let bi = select(a.z * buf[i] + a.w * d, d, b.y != 0.0);
      buf[i] = bi;
      d = select(bi, d + a.z * bi, b.x != 0.0);
    }`
          : '',
      }),
      uniforms,
      ...this.kernelArgs(shard, table),
      flops: n * 6,
      bytes: n * (hasBuf ? 20 : 12),
      shape: `${table.count} chunks`,
    });
  }
}

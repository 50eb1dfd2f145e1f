import type { Engine } from '../../src/gpu/engine';
import { DisposedError, ShapeError } from '../../src/gpu/errors';
import { AdamW, type AdamWGroup, SGD, type SGDGroup } from '../../src/nn/optim';
import { ParameterSet, type ParamSpec, readArena } from '../../src/nn/params';
import { CosineAnnealingLR } from '../../src/nn/schedule';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import { prod, randn, uniform } from '../helpers/random';
import type { Case } from './case';

// Odd sizes (1, 7, 33, 130, 36, 25) and one parameter over a chunk (1147 > 1024 elements). With a
// 5120-byte arena cap the set splits into two shards, so every path runs once per shard.
const SPECS: ParamSpec[] = [
  { name: 'a.weight', shape: [130] },
  { name: 'a.bias', shape: [1] },
  { name: 'b.weight', shape: [3, 11] },
  { name: 'b.bias', shape: [7] },
  { name: 'c.weight', shape: [2, 2, 3, 3] },
  { name: 'f.weight', shape: [5, 5], trainable: false },
  { name: 'big.weight', shape: [37, 31] },
];
const MAX_ARENA = 5120;
const TOL = { atol: 2e-6, rtol: 2e-5 };

type Vec = Float64Array;
interface RefParam {
  p: Vec;
  m: Vec;
  v: Vec;
  t: number;
}

function makeSet(e: Engine, seed = 1): ParameterSet {
  const ps = new ParameterSet(e, SPECS, { maxArenaBytes: MAX_ARENA });
  SPECS.forEach((s, i) => ps.load(s.name, randn(prod(s.shape), seed * 100 + i)));
  return ps;
}

function refInit(seed = 1): Map<string, RefParam> {
  const out = new Map<string, RefParam>();
  SPECS.forEach((s, i) => {
    const n = prod(s.shape);
    out.set(s.name, { p: Float64Array.from(randn(n, seed * 100 + i)), m: new Float64Array(n), v: new Float64Array(n), t: 0 });
  });
  return out;
}

const gradFor = (name: string, step: number, n: number): Float32Array => randn(n, 7919 * step + name.length * 31 + name.charCodeAt(0), 0.5);

function uploadGrads(ps: ParameterSet, step: number): Map<string, Float32Array> {
  const g = new Map<string, Float32Array>();
  for (const s of SPECS) {
    const data = gradFor(s.name, step, prod(s.shape));
    ps.loadGrad(s.name, data);
    g.set(s.name, data);
  }
  return g;
}

function refAdamW(r: RefParam, g: Float32Array, lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): void {
  r.t++;
  const bc1 = 1 - b1 ** r.t;
  const bc2 = 1 - b2 ** r.t;
  for (let i = 0; i < r.p.length; i++) {
    r.p[i]! *= 1 - lr * wd;
    r.m[i] = b1 * r.m[i]! + (1 - b1) * g[i]!;
    r.v[i] = b2 * r.v[i]! + (1 - b2) * g[i]! * g[i]!;
    const denom = Math.sqrt(r.v[i]!) / Math.sqrt(bc2) + eps;
    r.p[i]! -= (lr / bc1) * (r.m[i]! / denom);
  }
}

function refSGD(r: RefParam, g: Float32Array, lr: number, o: { momentum: number; dampening: number; nesterov: boolean; wd: number }): void {
  r.t++;
  for (let i = 0; i < r.p.length; i++) {
    let d = g[i]! + o.wd * r.p[i]!;
    if (o.momentum !== 0) {
      r.m[i] = r.t === 1 ? d : o.momentum * r.m[i]! + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * r.m[i]! : r.m[i]!;
    }
    r.p[i]! -= lr * d;
  }
}

async function compareAll(ps: ParameterSet, ref: Map<string, RefParam>, what: string, tol = TOL): Promise<void> {
  const dict = await ps.stateDict();
  for (const [name, r] of ref) assertClose(dict.get(name)!, r.p, `${what}: ${name}`, tol);
}

/** Every arena element outside a parameter's range must still be zero (kernels skip padding). */
type Arena = Parameters<typeof readArena>[1];
async function assertPaddingZero(e: Engine, ps: ParameterSet, stateArenas: Arena[][], what: string): Promise<void> {
  for (const shard of ps.shards) {
    const list = [shard.params, shard.grads, ...stateArenas.map((k) => k[shard.index]!)];
    for (const arena of list) {
      const flat = await readArena(e, arena);
      const inside = new Uint8Array(flat.length);
      for (const s of shard.slots) inside.fill(1, s.offset, s.offset + s.size);
      for (let i = 0; i < flat.length; i++) if (!inside[i] && flat[i] !== 0) throw new Error(`${what}: padding element ${i} of shard ${shard.index} is ${flat[i]}`);
    }
  }
}

const ADAM_GROUPS: AdamWGroup[] = [
  { name: 'no_decay', params: /\.bias$/, weightDecay: 0 },
  { name: 'slow', params: /^c\./, lr: 0.002 },
];
const adamGroupOf = (n: string): { wd: number; scale: number } =>
  n.endsWith('.bias') ? { wd: 0, scale: 1 } : n.startsWith('c.') ? { wd: 0.05, scale: 0.1 } : { wd: 0.05, scale: 1 };

export const optimCases: Case[] = [
  {
    name: 'ParameterSet: named views in aligned arenas, buffers, state dict, errors',
    async run(e) {
      const ps = new ParameterSet(e, SPECS, {
        maxArenaBytes: MAX_ARENA,
        buffers: [
          { name: 'bn.running_mean', shape: [7] },
          { name: 'bn.running_var', shape: [7] },
          { name: 'bn.num_batches_tracked', shape: [] },
        ],
      });
      assert(ps.shards.length === 2, `expected 2 shards, got ${ps.shards.length}`);
      assert(ps.names.join() === SPECS.map((s) => s.name).join(), 'names in order');
      assert([...ps.entries()].length === SPECS.length, 'entries()');
      assert(ps.count() === SPECS.reduce((a, s) => a + prod(s.shape), 0), 'count');
      assert(ps.count({ trainableOnly: true }) === ps.count() - 25, 'trainable count');
      assert(!ps.isTrainable('f.weight') && ps.isTrainable('a.weight'), 'trainable flags');
      for (const n of ps.names) {
        assert(ps.get(n).byteOffset % 256 === 0 && ps.get(n).byteOffset === ps.grad(n).byteOffset, `${n}: aligned, same layout`);
        assert(ps.get(n).shape.join() === ps.shape(n).join(), `${n}: shape`);
      }
      const w = uniform(33, 5);
      ps.load('b.weight', w);
      assertClose(await ps.read('b.weight'), w, 'load/read', { atol: 0, rtol: 0 });
      ps.load('bn.running_var', Float32Array.from([1, 2, 3, 4, 5, 6, 7]));
      ps.load('bn.num_batches_tracked', Float32Array.of(12));
      assertClose(await ps.read('bn.num_batches_tracked'), [12], 'scalar buffer', { atol: 0, rtol: 0 });
      const dict = await ps.stateDict();
      assert(dict.size === SPECS.length + 3, `state dict lists every tensor (${dict.size})`);
      assertClose(dict.get('b.weight')!, w, 'state dict value', { atol: 0, rtol: 0 });
      assertClose(dict.get('bn.running_var')!, [1, 2, 3, 4, 5, 6, 7], 'state dict buffer', { atol: 0, rtol: 0 });
      assertClose(dict.get('a.weight')!, new Float32Array(130), 'fresh parameters are zero', { atol: 0, rtol: 0 });

      const ps2 = new ParameterSet(e, SPECS, { buffers: [{ name: 'bn.running_mean', shape: [7] }, { name: 'bn.running_var', shape: [7] }, { name: 'bn.num_batches_tracked', shape: [] }] });
      assert(ps2.shards.length === 1, 'one shard without a cap');
      ps2.loadStateDict(dict);
      const dict2 = await ps2.stateDict();
      for (const [k, v] of dict) assertClose(dict2.get(k)!, v, `state dict round trip ${k}`, { atol: 0, rtol: 0 });
      dict.delete('a.bias');
      await assertThrows(() => ps2.loadStateDict(dict), /missing \[a\.bias\]/, 'strict load');
      ps2.dispose();

      const e1 = await assertThrows(() => ps.get('nope'), /no parameter named nope/, 'unknown name');
      assert(e1 instanceof ShapeError, 'ShapeError');
      await assertThrows(() => ps.load('a.bias', new Float32Array(2)), /a\.bias \[1\] holds 1 values, got 2/, 'wrong length');
      await assertThrows(() => new ParameterSet(e, [SPECS[0]!, SPECS[0]!]), /duplicate/, 'duplicate names');
      await assertThrows(() => new ParameterSet(e, [{ name: 'x', shape: [2000] }], { maxArenaBytes: 4096 }), /arena limit/, 'tensor over the arena cap');
      const view = ps.get('a.weight');
      ps.dispose();
      const e2 = await assertThrows(() => view.binding, /used after dispose/, 'view after dispose');
      assert(e2 instanceof DisposedError, 'DisposedError');
      await assertThrows(() => ps.zeroGrad(), /used after dispose/, 'zeroGrad after dispose');
    },
  },
  {
    name: 'AdamW: 6 steps, odd sizes, 2 shards, groups (no decay, lr scale), frozen then unfrozen, padding untouched',
    async run(e) {
      const ps = makeSet(e);
      const opt = new AdamW(ps, { lr: 0.02, weightDecay: 0.05 }, ADAM_GROUPS);
      assert(opt.groups.map((g) => g.name).join() === 'no_decay,slow,default', 'group names');
      assert(opt.groups[1]!.params.join() === 'c.weight' && Math.abs(opt.groupLr(1) - 0.002) < 1e-12, 'group lr');
      const ref = refInit();
      const lrs = [0.02, 0.03, 0.01, 0.02, 0.005, 0.015];
      for (let step = 1; step <= lrs.length; step++) {
        if (step === 4) ps.setTrainable('f.weight', true); // unfreeze: its own step count starts at 1
        const g = uploadGrads(ps, step);
        opt.step(lrs[step - 1]);
        for (const [name, r] of ref) {
          if (name === 'f.weight' && step < 4) continue;
          const { wd, scale } = adamGroupOf(name);
          refAdamW(r, g.get(name)!, lrs[step - 1]! * scale, wd);
        }
        if (step === 1 || step === 3) await compareAll(ps, ref, `AdamW step ${step}`);
        if (step === 3) assertClose(await ps.read('f.weight'), Float32Array.from(ref.get('f.weight')!.p), 'frozen unchanged', { atol: 0, rtol: 0 });
      }
      await compareAll(ps, ref, 'AdamW step 6');
      assert(opt.stepOf('f.weight') === 3 && opt.stepOf('a.weight') === 6, 'per-parameter step counts');
      for (const n of ['b.weight', 'big.weight']) {
        assertClose(await opt.stateTensor('exp_avg', n).read(), ref.get(n)!.m, `exp_avg ${n}`, TOL);
        assertClose(await opt.stateTensor('exp_avg_sq', n).read(), ref.get(n)!.v, `exp_avg_sq ${n}`, { atol: 1e-7, rtol: 2e-5 });
      }
      // exp_avg / exp_avg_sq arenas (protected; read here only to check that padding stays untouched)
      await assertPaddingZero(e, ps, (opt as unknown as { stateArenas: Arena[][] }).stateArenas, 'AdamW');
      opt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'SGD: momentum, nesterov, dampening, weight decay, momentum-free group, 5 steps',
    async run(e) {
      const ps = makeSet(e, 2);
      const groups: SGDGroup[] = [
        { params: 'a.bias', momentum: 0 },
        { params: /^b\./, nesterov: true, weightDecay: 0.01 },
        { params: /^c\./, dampening: 0.3, weightDecay: 0.1, lrScale: 0.5 },
      ];
      const opt = new SGD(ps, { lr: 0.1, momentum: 0.9 }, groups);
      const cfg = (n: string) =>
        n === 'a.bias'
          ? { momentum: 0, dampening: 0, nesterov: false, wd: 0, scale: 1 }
          : n.startsWith('b.')
            ? { momentum: 0.9, dampening: 0, nesterov: true, wd: 0.01, scale: 1 }
            : n.startsWith('c.')
              ? { momentum: 0.9, dampening: 0.3, nesterov: false, wd: 0.1, scale: 0.5 }
              : { momentum: 0.9, dampening: 0, nesterov: false, wd: 0, scale: 1 };
      const ref = refInit(2);
      for (let step = 1; step <= 5; step++) {
        const g = uploadGrads(ps, step);
        const lr = 0.1 / step;
        opt.step(lr);
        for (const [name, r] of ref) if (name !== 'f.weight') refSGD(r, g.get(name)!, lr * cfg(name).scale, cfg(name));
      }
      await compareAll(ps, ref, 'SGD');
      assertClose(await opt.stateTensor('momentum_buffer', 'b.weight').read(), ref.get('b.weight')!.m, 'momentum buffer', TOL);
      await assertThrows(() => new SGD(ps, { lr: 0.1, nesterov: true }), /nesterov/, 'nesterov without momentum');
      await assertThrows(() => new SGD(ps, { lr: 0.1 }, [{ params: ['a.bias', 'typo.bias'] }]), /no parameter named typo\.bias/, 'unknown group member');
      opt.dispose();

      // plain SGD (no momentum state at all) with weight decay
      const plain = new SGD(ps, { lr: 0.05, weightDecay: 0.02 });
      const before = await ps.stateDict();
      const g = uploadGrads(ps, 9);
      plain.step();
      const after = await ps.stateDict();
      for (const s of SPECS) {
        const p0 = before.get(s.name)!;
        const want = s.trainable === false ? p0 : p0.map((p, i) => p - 0.05 * (g.get(s.name)![i]! + 0.02 * p));
        assertClose(after.get(s.name)!, want, `plain SGD ${s.name}`, TOL);
      }
      await assertThrows(() => plain.stateTensor('momentum_buffer', 'a.weight'), /no state momentum_buffer/, 'no momentum state');
      plain.dispose();
      ps.dispose();
    },
  },
  {
    name: 'zeroGrad, scaleGrads, gradNorm, clipGradNorm vs a TypeScript reference',
    async run(e) {
      const ps = makeSet(e, 3);
      const opt = new AdamW(ps);
      const g = uploadGrads(ps, 1);
      const trainable = SPECS.filter((s) => s.trainable !== false);
      const norm = (scale: number) => Math.sqrt(trainable.reduce((a, s) => a + g.get(s.name)!.reduce((b, x) => b + (x * scale) ** 2, 0), 0));

      let want = norm(1);
      let got = await opt.gradNorm();
      assert(Math.abs(got - want) <= 1e-5 * want, `gradNorm ${got} vs ${want}`);

      opt.scaleGrads(0.25); // gradient accumulation: average of 4 micro-batches
      for (const s of SPECS) {
        const exp = s.trainable === false ? g.get(s.name)! : g.get(s.name)!.map((x) => x * 0.25);
        assertClose(await ps.readGrad(s.name), exp, `scaleGrads ${s.name}`, { atol: 0, rtol: 1e-7 });
      }
      want = norm(0.25);
      // no clipping when the norm is under the limit (coefficient clamps to 1)
      got = await opt.clipGradNorm(want * 2);
      assert(Math.abs(got - want) <= 1e-5 * want, `clip returns the norm ${got} vs ${want}`);
      assertClose(await ps.readGrad('big.weight'), g.get('big.weight')!.map((x) => x * 0.25), 'unclipped', { atol: 0, rtol: 1e-6 });
      // clipping to 1.0
      got = await opt.clipGradNorm(1.0);
      const coef = 1.0 / (want + 1e-6);
      for (const s of SPECS) {
        const exp = s.trainable === false ? g.get(s.name)! : g.get(s.name)!.map((x) => x * 0.25 * coef);
        assertClose(await ps.readGrad(s.name), exp, `clipped ${s.name}`, { atol: 1e-7, rtol: 1e-5 });
      }
      const after = await opt.gradNorm();
      assert(Math.abs(after - 1) < 1e-5, `norm after clipping ${after}`);

      opt.zeroGrad();
      for (const shard of ps.shards) assert((await readArena(e, shard.grads)).every((x) => x === 0), 'zeroGrad clears the arena');
      assert((await opt.gradNorm()) === 0, 'zero norm');
      opt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'checkFinite catches NaN and Inf in trainable gradients only',
    async run(e) {
      const ps = makeSet(e, 4);
      const opt = new AdamW(ps);
      uploadGrads(ps, 2);
      assert(await opt.checkFinite(), 'finite grads pass');
      const big = gradFor('big.weight', 2, 1147);
      big[1100] = NaN; // in the second chunk of a parameter in the second shard
      ps.loadGrad('big.weight', big);
      assert(!(await opt.checkFinite()), 'NaN detected');
      let st = await opt.gradStats();
      assert(st.nan === 1 && st.inf === 0 && Number.isNaN(st.norm), `NaN stats ${JSON.stringify(st)}`);
      // a NaN grad is left alone by clipping (the caller skips the step)
      await opt.clipGradNorm(0.1);
      const back = await ps.readGrad('big.weight');
      assert(Number.isNaN(back[1100]!) && back[0] === big[0], 'clip with NaN leaves grads');
      big[1100] = 0;
      ps.loadGrad('big.weight', big);
      ps.loadGrad('a.bias', Float32Array.of(-Infinity));
      st = await opt.gradStats();
      assert(!st.finite && st.inf === 1 && st.norm === Infinity, `Inf stats ${JSON.stringify(st)}`);
      ps.loadGrad('a.bias', Float32Array.of(1));
      const f = gradFor('f.weight', 2, 25);
      f[3] = NaN;
      ps.loadGrad('f.weight', f); // frozen: not part of training
      assert(await opt.checkFinite(), 'frozen NaN ignored');
      ps.setTrainable('f.weight', true);
      assert(!(await opt.checkFinite()), 'NaN seen after unfreezing');
      opt.dispose();
      ps.dispose();
    },
  },
  {
    name: 'state()/loadState() round trip: a resumed AdamW continues identically',
    async run(e) {
      const a = makeSet(e, 5);
      const optA = new AdamW(a, { lr: 0.01 }, ADAM_GROUPS);
      for (let s = 1; s <= 3; s++) {
        uploadGrads(a, s);
        optA.step();
      }
      const state = await optA.state();
      assert(state.type === 'adamw' && state.stepCount === 3 && state.steps['a.weight'] === 3 && !('f.weight' in state.steps), 'state header');
      assert(Object.keys(state.tensors.exp_avg!).length === SPECS.length - 1, 'moments of stepped parameters');
      const dict = await a.stateDict();

      // resume into a differently sharded set (one shard): names, not offsets, carry the state
      const b = new ParameterSet(e, SPECS);
      const optB = new AdamW(b, { lr: 0.5 }, ADAM_GROUPS);
      b.loadStateDict(dict);
      optB.loadState(state);
      assert(optB.lr === 0.01 && optB.stepOf('b.bias') === 3, 'lr and steps restored');
      for (let s = 4; s <= 6; s++) {
        uploadGrads(a, s);
        uploadGrads(b, s);
        optA.step(0.01 / s);
        optB.step(0.01 / s);
      }
      const da = await a.stateDict();
      const db = await b.stateDict();
      for (const [k, v] of da) assertClose(db.get(k)!, v, `resumed ${k}`, { atol: 0, rtol: 0 });

      await assertThrows(() => optB.loadState({ ...state, type: 'sgd' }), /state is for sgd/, 'wrong optimizer type');
      await assertThrows(() => optB.loadState({ ...state, tensors: { exp_avg: { 'a.bias': new Float32Array(3) } } }), /3 values, parameter has 1/, 'wrong size');
      optA.dispose();
      optB.dispose();
      a.dispose();
      b.dispose();
      await assertThrows(() => optB.step(), /after dispose/, 'step after dispose');
    },
  },
  {
    name: 'linear regression y = A·x + b: AdamW + cosine schedule cuts the loss 10^4x in 150 steps (seen: ~1.9e6x)',
    async run(e) {
      const [IN, OUT, N] = [5, 3, 64];
      const A = randn(OUT * IN, 11);
      const B = randn(OUT, 12);
      const X = uniform(N * IN, 13, -2, 2);
      const Y = new Float64Array(N * OUT);
      for (let n = 0; n < N; n++) for (let o = 0; o < OUT; o++) {
        let y = B[o]!;
        for (let i = 0; i < IN; i++) y += A[o * IN + i]! * X[n * IN + i]!;
        Y[n * OUT + o] = y;
      }
      const ps = new ParameterSet(e, [
        { name: 'fc.weight', shape: [OUT, IN] },
        { name: 'fc.bias', shape: [OUT] },
      ]);
      const opt = new AdamW(ps, { lr: 0.1, weightDecay: 0 });
      const sched = new CosineAnnealingLR(0.1, 150, 1e-4);
      const lossAndGrad = (W: Float32Array, c: Float32Array) => {
        const gW = new Float32Array(OUT * IN);
        const gc = new Float32Array(OUT);
        let loss = 0;
        const k = 2 / (N * OUT);
        for (let n = 0; n < N; n++) for (let o = 0; o < OUT; o++) {
          let y = c[o]!;
          for (let i = 0; i < IN; i++) y += W[o * IN + i]! * X[n * IN + i]!;
          const r = y - Y[n * OUT + o]!;
          loss += (r * r) / (N * OUT);
          gc[o]! += k * r;
          for (let i = 0; i < IN; i++) gW[o * IN + i]! += k * r * X[n * IN + i]!;
        }
        return { loss, gW, gc };
      };
      let first = NaN;
      let last = NaN;
      for (let step = 0; step < 150; step++) {
        const d = await ps.stateDict();
        const { loss, gW, gc } = lossAndGrad(d.get('fc.weight')!, d.get('fc.bias')!);
        if (step === 0) first = loss;
        last = loss;
        ps.loadGrad('fc.weight', gW);
        ps.loadGrad('fc.bias', gc);
        opt.step(sched.lr);
        sched.step();
      }
      const d = await ps.stateDict();
      last = lossAndGrad(d.get('fc.weight')!, d.get('fc.bias')!).loss;
      assert(last * 1e4 < first, `loss fell from ${first} to ${last} (needed 10^4x)`);
      opt.dispose();
      ps.dispose();
    },
  },
];

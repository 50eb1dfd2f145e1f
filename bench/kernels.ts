/**
 * Kernel suite: every distinct layer shape of U-Net++/VGG19 (bench/shapes.ts), osteo's kernels vs
 * the same ops on tfjs (tfjs-backend-webgpu on the same device), timed the same way
 * (bench/timing.ts). Host-agnostic: runs in Node and in a page; the host passes the engine and a
 * tfjs-core namespace whose backend it has registered.
 *
 * Byte counts are the fewest bytes each op must move (every input read once, every output written
 * once), the same for both sides, so GB/s compare work done, not a kernel's own traffic.
 */
import type * as tfc from '@tensorflow/tfjs-core';
// main entry first, then the gradients (tf.grads of batch norm): see bench/reference/tfjs_unetpp.ts
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Engine } from '../src/gpu/engine';
import type { Tensor } from '../src/gpu/tensor';
import { batchNorm, batchNormBackward } from '../src/kernels/batchnorm';
import { concat } from '../src/kernels/concat';
import { conv2d, conv2dBackwardInput } from '../src/kernels/conv2d';
import { conv2dBackwardWeight } from '../src/kernels/conv2d_grad_weight';
import { maxPool2d, maxPool2dBackward } from '../src/kernels/pool';
import { upsampleBilinear2x, upsampleBilinear2xBackward, upsampleNearest2x, upsampleNearest2xBackward } from '../src/kernels/upsample';
import { convFlops, layerLabel, unetppLayerShapes, type ConvShape, type LayerShapes } from '../src/model/layer_shapes';
import { ratePerSecond, speedup, uniformData } from './stats';
import { osteoGpuTime, tfSync, timeOsteo, timeTf, type Tf, type TimingOptions } from './timing';
import type { KernelRow, RateUnit } from './types';

export interface KernelSuiteOptions extends TimingOptions {
  size: number;
  batch: number;
  ceilings: { fmaGflops: number; copyGbps: number };
  /** Only rows whose key matches (e.g. /conv_fwd/). */
  filter?: RegExp;
  /** Extra tfjs backends to time after the main run (Chromium: webgl, wasm); must be registered. */
  extraBackends?: string[];
  /** The tfjs backend of the comparison column (default webgpu). */
  backend?: string;
  log?: (line: string) => void;
}

type OsteoRun = () => Tensor | Tensor[] | void;
type TfRun = () => tfc.Tensor | tfc.Tensor[];

/** One benchmark: its description and, per side, a setup that returns the run and a cleanup. */
export interface Case {
  key: string;
  op: string;
  layer: string;
  shape: string;
  unit: RateUnit;
  flops: number;
  bytes: number;
  osteo: (e: Engine) => { run: OsteoRun; dispose: () => void };
  tf: (tf: Tf) => { run: TfRun; dispose: () => void };
}

export { uniformData } from './stats';

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const nchwText = (n: number, c: number, h: number, w: number) => `${n}x${c}x${h}x${w}`;

function osteoT(e: Engine, shape: number[], seed: number, a = 1): Tensor {
  return e.tensor(uniformData(prod(shape), seed, a), shape);
}
/** An NHWC tfjs tensor with the same seeded values as the NCHW osteo one (the layout each library is native in). */
function tfT(tf: Tf, [n, c, h, w]: number[], seed: number, a = 1): tfc.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(uniformData(n! * c! * h! * w!, seed, a), [n!, c!, h!, w!]), [0, 2, 3, 1]) as tfc.Tensor4D);
}
function tfFilter(tf: Tf, cout: number, cin: number, seed: number, a: number): tfc.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(uniformData(cout * cin * 9, seed, a), [cout, cin, 3, 3]), [2, 3, 1, 0]) as tfc.Tensor4D);
}
const disposeAll = (...ts: ({ dispose(): void } | null | undefined)[]) => ts.forEach((t) => t?.dispose());

function convCases(c: ConvShape): Case[] {
  const { n, cin, cout, h, w } = c;
  const xs = [n, cin, h, w];
  const ys = [n, cout, h, w];
  const ws = [cout, cin, 3, 3];
  const wa = Math.sqrt(6 / (cin * 9));
  const flops = convFlops(c);
  const shape = `${nchwText(n, cin, h, w)} → ${cout}${c.bias ? ' +bias' : ''}${c.relu ? ' +relu' : ''}`;
  const base = { layer: layerLabel(c.layers), shape, unit: 'GFLOP/s' as const, flops };
  const id = `${nchwText(n, cin, h, w)}>${cout}`;
  const out: Case[] = [
    {
      ...base,
      key: `conv_fwd ${id}`,
      op: 'conv_fwd',
      bytes: 4 * (prod(xs) + prod(ws) + prod(ys) + (c.bias ? cout : 0)),
      osteo: (e) => {
        const x = osteoT(e, xs, 1), wt = osteoT(e, ws, 2, wa), b = c.bias ? osteoT(e, [cout], 3, 0.1) : null;
        return { run: () => conv2d(x, wt, b, { relu: c.relu }), dispose: () => disposeAll(x, wt, b) };
      },
      tf: (tf) => {
        const x = tfT(tf, xs, 1), f = tfFilter(tf, cout, cin, 2, wa), b = c.bias ? tf.tensor1d(uniformData(cout, 3, 0.1)) : null;
        const run: TfRun = c.bias || c.relu
          ? () => tf.fused.conv2d({ x, filter: f, strides: 1, pad: 'same', bias: b ?? undefined, activation: c.relu ? 'relu' : 'linear' })
          : () => tf.conv2d(x, f, 1, 'same');
        return { run, dispose: () => disposeAll(x, f, b) };
      },
    },
  ];
  if (!c.first) {
    out.push({
      ...base,
      key: `conv_dx ${id}`,
      op: 'conv_dx',
      bytes: 4 * (prod(ys) + prod(ws) + prod(xs)),
      osteo: (e) => {
        const dy = osteoT(e, ys, 4), wt = osteoT(e, ws, 2, wa);
        return { run: () => conv2dBackwardInput(dy, wt, xs), dispose: () => disposeAll(dy, wt) };
      },
      tf: (tf) => {
        const dy = tfT(tf, ys, 4), f = tfFilter(tf, cout, cin, 2, wa);
        const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: [n, h, w, cin] };
        return {
          run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor,
          dispose: () => disposeAll(dy, f),
        };
      },
    });
  }
  out.push({
    ...base,
    key: `conv_dw ${id}`,
    op: 'conv_dw',
    bytes: 4 * (prod(xs) + prod(ys) + prod(ws)),
    osteo: (e) => {
      const x = osteoT(e, xs, 1), dy = osteoT(e, ys, 4);
      return { run: () => conv2dBackwardWeight(x, dy, 3), dispose: () => disposeAll(x, dy) };
    },
    tf: (tf) => {
      const x = tfT(tf, xs, 1), dy = tfT(tf, ys, 4);
      const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, cin, cout] };
      return {
        run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor,
        dispose: () => disposeAll(x, dy),
      };
    },
  });
  return out;
}

/** Layer label of the rows added for the data-movement goal (issue 6: ≥ 50% of copy at 256x256x64). */
export const GOAL_LAYER = 'goal shape 64x256x256';

/**
 * The data-movement goal is stated at 64 channels of 256x256, whatever size the suite runs at:
 * add a max-pool, a 2x upsample (to 64x256x256), a concat (32+32 → 64 at 256x256) and a batch
 * norm at that shape, labelled GOAL_LAYER.
 */
function withGoalShapes(s: LayerShapes, n: number): LayerShapes {
  const goal = [GOAL_LAYER];
    return {
    ...s,
    pools: [...s.pools, { layers: goal, n, c: 64, h: 256, w: 256 }],
    upsamples: [...s.upsamples, { layers: goal, n, c: 64, h: 128, w: 128 }],
    concats: [...s.concats, { layers: goal, n, parts: [32, 32], h: 256, w: 256 }],
    batchNorms: [...s.batchNorms, { layers: goal, n, c: 64, h: 256, w: 256 }],
  };
}

/** Builds the suite's cases for one input size. */
export function kernelCases(size: number, batch: number): Case[] {
  const shapes = withGoalShapes(unetppLayerShapes({ size, batch }), batch);
  const cases = layerCases(shapes);
  // keys identify rows (extra baselines are matched by key): the same shape at two layers (an
  // encoder conv with bias + ReLU and a decoder conv, a goal row) gets the layer in its key
  const count = new Map<string, number>();
  for (const c of cases) count.set(c.key, (count.get(c.key) ?? 0) + 1);
  for (const c of cases) if (count.get(c.key)! > 1) c.key += ` [${c.layer}]`;
  return cases;
}

function layerCases(shapes: LayerShapes): Case[] {
  const cases: Case[] = shapes.convs.flatMap(convCases);
  const mem = { unit: 'GB/s' as const, flops: 0 };

  for (const p of shapes.pools) {
    const { n, c, h, w } = p;
    const xs = [n, c, h, w];
    const X = prod(xs);
    const ds = [n, c, h / 2, w / 2];
    const base = { ...mem, layer: layerLabel(p.layers), shape: nchwText(n, c, h, w) };
    cases.push({
      ...base,
      key: `maxpool_fwd ${base.shape}`,
      op: 'maxpool_fwd',
      bytes: 4 * (X + X / 4),
      osteo: (e) => {
        const x = osteoT(e, xs, 5);
        return { run: () => Object.values(maxPool2d(x)), dispose: () => x.dispose() };
      },
      tf: (tf) => {
        const x = tfT(tf, xs, 5);
        return { run: () => tf.maxPool(x, 2, 2, 'valid'), dispose: () => x.dispose() };
      },
    });
    cases.push({
      ...base,
      key: `maxpool_bwd ${base.shape}`,
      op: 'maxpool_bwd',
      bytes: 4 * (X / 4 + X),
      osteo: (e) => {
        const x = osteoT(e, xs, 5), dy = osteoT(e, ds, 6);
        const { y, argmax } = maxPool2d(x);
        y.dispose();
        return { run: () => maxPool2dBackward(dy, argmax, xs), dispose: () => disposeAll(x, dy, argmax) };
      },
      tf: (tf) => {
        const x = tfT(tf, xs, 5), dy = tfT(tf, ds, 6), y = tf.maxPool(x, 2, 2, 'valid');
        const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
        return {
          run: () => tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor,
          dispose: () => disposeAll(x, dy, y),
        };
      },
    });
  }

  for (const mode of ['nearest', 'bilinear'] as const) {
    for (const u of shapes.upsamples) {
      const { n, c, h, w } = u;
      const xs = [n, c, h, w];
      const big = [n, c, 2 * h, 2 * w];
      const X = prod(xs);
      const base = { ...mem, layer: layerLabel(u.layers), shape: `${nchwText(n, c, h, w)} → 2x` };
      const fwd = mode === 'nearest' ? upsampleNearest2x : upsampleBilinear2x;
      const bwd = mode === 'nearest' ? upsampleNearest2xBackward : upsampleBilinear2xBackward;
      // PyTorch nearest = tfjs (alignCorners false, halfPixelCenters false); bilinear with
      // align_corners=False = tfjs halfPixelCenters true.
      const attrs = { alignCorners: false, halfPixelCenters: mode === 'bilinear', size: [2 * h, 2 * w] };
      cases.push({
        ...base,
        key: `upsample_${mode}_fwd ${base.shape}`,
        op: `upsample_${mode}_fwd`,
        bytes: 4 * (X + 4 * X),
        osteo: (e) => {
          const x = osteoT(e, xs, 7);
          return { run: () => fwd(x), dispose: () => x.dispose() };
        },
        tf: (tf) => {
          const x = tfT(tf, xs, 7);
          const run: TfRun =
            mode === 'nearest' ? () => tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w], false, false) : () => tf.image.resizeBilinear(x, [2 * h, 2 * w], false, true);
          return { run, dispose: () => x.dispose() };
        },
      });
      cases.push({
        ...base,
        key: `upsample_${mode}_bwd ${base.shape}`,
        op: `upsample_${mode}_bwd`,
        bytes: 4 * (4 * X + X),
        osteo: (e) => {
          const dy = osteoT(e, big, 8);
          return { run: () => bwd(dy), dispose: () => dy.dispose() };
        },
        tf: (tf) => {
          const x = tfT(tf, xs, 7), dy = tfT(tf, big, 8);
          const kernel = mode === 'nearest' ? 'ResizeNearestNeighborGrad' : 'ResizeBilinearGrad';
          return {
            run: () => tf.engine().runKernel(kernel, { images: x, dy }, attrs as unknown as tfc.NamedAttrMap) as tfc.Tensor,
            dispose: () => disposeAll(x, dy),
          };
        },
      });
    }
  }

  for (const cc of shapes.concats) {
    const { n, parts, h, w } = cc;
    const total = parts.reduce((a, b) => a + b, 0);
    const shape = `${n}x[${parts.join('+')}]x${h}x${w}`;
    cases.push({
      ...mem,
      layer: layerLabel(cc.layers),
      shape,
      key: `concat ${shape}`,
      op: 'concat',
      bytes: 4 * 2 * n * total * h * w,
      osteo: (e) => {
        const ts = parts.map((c, i) => osteoT(e, [n, c, h, w], 10 + i));
        return { run: () => concat(ts), dispose: () => disposeAll(...ts) };
      },
      tf: (tf) => {
        const ts = parts.map((c, i) => tfT(tf, [n, c, h, w], 10 + i));
        return { run: () => tf.concat(ts, 3), dispose: () => disposeAll(...ts) };
      },
    });
  }

  for (const b of shapes.batchNorms) {
    const { n, c, h, w } = b;
    const xs = [n, c, h, w];
    const X = prod(xs);
    const base = { ...mem, layer: layerLabel(b.layers), shape: `${nchwText(n, c, h, w)} train +relu` };
    const osteoBn = (e: Engine) => ({
      x: osteoT(e, xs, 20),
      gamma: osteoT(e, [c], 21, 1),
      beta: osteoT(e, [c], 22, 0.1),
      rm: e.zeros([c]),
      rv: e.tensor(new Float32Array(c).fill(1), [c]),
    });
    const tfBn = (tf: Tf) => ({ x: tfT(tf, xs, 20), gamma: tf.tensor1d(uniformData(c, 21, 1)), beta: tf.tensor1d(uniformData(c, 22, 0.1)) });
    const tfForward = (tf: Tf, x: tfc.Tensor, gamma: tfc.Tensor, beta: tfc.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.relu(tf.batchNorm(x, mean, variance, beta as tfc.Tensor1D, gamma as tfc.Tensor1D, 1e-5));
    };
    cases.push({
      ...base,
      key: `bn_fwd ${base.shape}`,
      op: 'bn_fwd',
      bytes: 4 * 2 * X,
      osteo: (e) => {
        const p = osteoBn(e);
        return {
          run: () => {
            const { y, saved } = batchNorm(p.x, p.gamma, p.beta, p.rm, p.rv, { training: true, relu: true });
            return [y, ...(saved ? [saved.mean, saved.invStd] : [])];
          },
          dispose: () => disposeAll(...Object.values(p)),
        };
      },
      tf: (tf) => {
        const p = tfBn(tf);
        return { run: () => tf.tidy(() => tfForward(tf, p.x, p.gamma, p.beta)), dispose: () => disposeAll(...Object.values(p)) };
      },
    });
    cases.push({
      ...base,
      key: `bn_fwd_bwd ${base.shape}`,
      op: 'bn_fwd_bwd',
      bytes: 4 * 5 * X,
      osteo: (e) => {
        const p = osteoBn(e);
        const dy = osteoT(e, xs, 23);
        return {
          run: () => {
            const { y, saved } = batchNorm(p.x, p.gamma, p.beta, p.rm, p.rv, { training: true, relu: true });
            const g = batchNormBackward(dy, p.x, p.gamma, saved!, { y });
            return [y, saved!.mean, saved!.invStd, g.dx, g.dgamma, g.dbeta];
          },
          dispose: () => disposeAll(...Object.values(p), dy),
        };
      },
      tf: (tf) => {
        const p = tfBn(tf);
        const dy = tfT(tf, xs, 23);
        const grads = tf.grads((x: tfc.Tensor, g: tfc.Tensor, bt: tfc.Tensor) => tfForward(tf, x, g, bt));
        return { run: () => grads([p.x, p.gamma, p.beta], dy), dispose: () => disposeAll(...Object.values(p), dy) };
      },
    });
  }
  return cases;
}

function rateOf(unit: RateUnit, flops: number, bytes: number, ms: number | null | undefined): number | null {
  if (ms == null) return null;
  const v = ratePerSecond(unit === 'GFLOP/s' ? flops : bytes, ms);
  return Number.isFinite(v) ? v : null;
}

const errText = (e: unknown): string => String((e as Error)?.message ?? e).split('\n').slice(0, 3).join(' ');

/** Runs the suite: osteo and the comparison backend per row, then any extra backends. */
export async function runKernelSuite(engine: Engine, tf: Tf, opts: KernelSuiteOptions): Promise<KernelRow[]> {
  const log = opts.log ?? (() => {});
  const backend = opts.backend ?? 'webgpu';
  const cases = kernelCases(opts.size, opts.batch).filter((c) => !opts.filter || opts.filter.test(c.key));
  const rows: KernelRow[] = [];
  const ceilingOf = (unit: RateUnit) => (unit === 'GFLOP/s' ? opts.ceilings.fmaGflops : opts.ceilings.copyGbps);
  await tf.setBackend(backend);
  for (const [i, c] of cases.entries()) {
    const row: KernelRow = {
      key: c.key, op: c.op, layer: c.layer, shape: c.shape, unit: c.unit, flops: c.flops, bytes: c.bytes,
      osteo: null, osteoGpuMs: null, tfjs: null, ratio: null, osteoRate: null, tfjsRate: null, osteoCeilingShare: null, tfjsCeilingShare: null,
    };
    const errors: string[] = [];
    try {
      const side = c.osteo(engine);
      try {
        row.osteo = (await timeOsteo(engine, side.run, opts)).steady;
        row.osteoGpuMs = await osteoGpuTime(engine, side.run, opts.reps);
      } finally {
        side.dispose();
        await engine.sync();
      }
    } catch (e) {
      errors.push(`osteo: ${errText(e)}`);
    }
    try {
      const side = c.tf(tf);
      try {
        row.tfjs = (await timeTf(tf, side.run, opts)).steady;
      } finally {
        side.dispose();
        await tfSync(tf);
      }
    } catch (e) {
      errors.push(`tfjs-${backend}: ${errText(e)}`);
    }
    row.ratio = speedup(row.tfjs?.median, row.osteo?.median);
    row.osteoRate = rateOf(c.unit, c.flops, c.bytes, row.osteo?.median);
    row.tfjsRate = rateOf(c.unit, c.flops, c.bytes, row.tfjs?.median);
    const ceil = ceilingOf(c.unit);
    row.osteoCeilingShare = row.osteoRate != null && ceil > 0 ? row.osteoRate / ceil : null;
    row.tfjsCeilingShare = row.tfjsRate != null && ceil > 0 ? row.tfjsRate / ceil : null;
    if (errors.length) row.errors = errors;
    rows.push(row);
    log(
      `[${i + 1}/${cases.length}] ${c.key}: osteo ${row.osteo?.median.toFixed(3) ?? 'n/a'} ms, tfjs ${row.tfjs?.median.toFixed(3) ?? 'n/a'} ms` +
        (row.ratio ? `, ${row.ratio.toFixed(2)}x` : '') + (errors.length ? ` — ${errors.join('; ')}` : ''),
    );
  }
  for (const extra of opts.extraBackends ?? []) {
    try {
      if (!(await tf.setBackend(extra))) throw new Error(`tf.setBackend('${extra}') returned false`);
    } catch (e) {
      log(`extra baseline ${extra}: skipped (${errText(e)})`);
      continue;
    }
    for (const c of cases) {
      const row = rows.find((r) => r.key === c.key)!;
      row.extra ??= {};
      try {
        const side = c.tf(tf);
        try {
          row.extra[extra] = (await timeTf(tf, side.run, opts)).steady.median;
        } finally {
          side.dispose();
        }
      } catch (e) {
        row.extra[extra] = null;
        (row.errors ??= []).push(`tfjs-${extra}: ${errText(e)}`);
      }
      log(`[${extra}] ${c.key}: ${row.extra[extra]?.toFixed(3) ?? 'n/a'} ms`);
    }
  }
  await tf.setBackend(backend);
  return rows;
}

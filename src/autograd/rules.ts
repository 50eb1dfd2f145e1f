/**
 * The op table: every differentiable op's forward and backward side by side. The mapped type
 * `{ [K in OpName]: Rule<K> }` makes a new op fail to compile until it has its backward.
 *
 * A rule's backward receives the input values it declared in `keepInputs` (others may already be
 * freed), its own output if `keepOutput`, what forward saved, and `needs[i]` — whether input i
 * wants a gradient — so unneeded gradients are never computed. `into[i]` is a parameter's
 * gradient buffer when input i is a trainable parameter: rules that can accumulate in place
 * (conv weights and bias) write there and return `ACCUMULATED`.
 */
import type { Tensor } from '../gpu/tensor';
import { addInto, reluBackward, sigmoidBackward } from '../kernels/arith';
import { batchNorm, batchNormBackward, frozenBatchNormSaved, type BatchNormSaved } from '../kernels/batchnorm';
import { copyChannels, sliceChannels } from '../kernels/concat';
import { conv2d, conv2dBackwardInput } from '../kernels/conv2d';
import { conv2dBackwardBias, conv2dBackwardWeight } from '../kernels/conv2d_grad_weight';
import { relu, sigmoid } from '../kernels/elementwise';
import { adaptiveWingLoss, adaptiveWingLossBackward, bceWithLogitsLoss, bceWithLogitsLossBackward, mseLoss, mseLossBackward, softmaxCrossEntropy, softmaxCrossEntropyBackward, spatialSoftmaxCrossEntropy, spatialSoftmaxCrossEntropyBackward } from '../kernels/loss';
import { maxPool2d, maxPool2dBackward } from '../kernels/pool';
import { upsampleBilinear2x, upsampleBilinear2xBackward, upsampleNearest2x, upsampleNearest2xBackward } from '../kernels/upsample';

export const ACCUMULATED = 'accumulated' as const;
export type Grad = Tensor | null | typeof ACCUMULATED;

export interface Attrs {
  /** inputs: x, w, bias? */
  conv2d: { padding?: number; relu?: boolean; hasBias: boolean };
  /** inputs: x, gamma, beta; running stats are attrs (state, not differentiable) */
  batchNorm: { runningMean: Tensor; runningVar: Tensor; training: boolean; momentum?: number; eps?: number; relu?: boolean };
  relu: Record<string, never>;
  sigmoid: Record<string, never>;
  maxPool2d: Record<string, never>;
  /** inputs: prev, ...skips → concat[up(prev), skips] (U-Net++ decoder block input, zero-copy) */
  upConcat: { mode: 'nearest' | 'bilinear' };
  /** inputs: ...parts along channels */
  concat: Record<string, never>;
  /** inputs: pred, target (target gets no gradient) */
  mseLoss: Record<string, never>;
  bceWithLogitsLoss: Record<string, never>;
  softmaxCrossEntropy: Record<string, never>;
  spatialSoftmaxCrossEntropy: Record<string, never>;
  adaptiveWingLoss: Record<string, never>;
}
export type OpName = keyof Attrs;

export interface Forward {
  out: Tensor;
  /** Extra tensors the backward needs (freed after backward or with the graph). */
  saved?: Tensor[];
  /** Opaque extra data for backward. */
  extra?: unknown;
}

export interface Rule<K extends OpName> {
  /** Which inputs' values the backward reads (others can be freed as soon as their users let go). */
  keepInputs: (attrs: Attrs[K], n: number) => boolean[];
  keepOutput: (attrs: Attrs[K]) => boolean;
  forward(inputs: Tensor[], attrs: Attrs[K], training: boolean): Forward;
  backward(args: {
    gy: Tensor;
    inputs: (Tensor | null)[];
    out: Tensor | null;
    saved: Tensor[];
    extra: unknown;
    attrs: Attrs[K];
    needs: boolean[];
    into: (Tensor | null)[];
  }): Grad[];
}

const none = (n: number) => new Array<boolean>(n).fill(false);
const shapeOf = (t: Tensor | null, what: string): readonly number[] => {
  if (!t) throw new Error(`autograd: ${what} was freed before its backward`);
  return t.shape;
};

/** Loss rules share a shape: inputs (pred, target), scalar output, gradient for pred only. */
function lossRule<K extends 'mseLoss' | 'bceWithLogitsLoss' | 'softmaxCrossEntropy' | 'spatialSoftmaxCrossEntropy' | 'adaptiveWingLoss'>(
  f: (p: Tensor, t: Tensor) => Tensor,
  b: (p: Tensor, t: Tensor, g: Tensor) => Tensor,
): Rule<K> {
  return {
    keepInputs: () => [true, true],
    keepOutput: () => false,
    forward: ([p, t]) => ({ out: f(p!, t!) }),
    backward: ({ gy, inputs: [p, t], needs }) => [needs[0] ? b(p!, t!, gy) : null, null],
  };
}

export const RULES: { [K in OpName]: Rule<K> } = {
  conv2d: {
    keepInputs: (_a, n) => [true, true, ...none(n - 2)],
    // with a fused ReLU the backward masks dy by the output
    keepOutput: (a) => !!a.relu,
    forward: ([x, w, b], a) => ({ out: conv2d(x!, w!, a.hasBias ? b! : null, { padding: a.padding, relu: a.relu }) }),
    backward({ gy, inputs: [x, w], out, attrs, needs, into }) {
      const g = attrs.relu ? reluBackward(gy, out!) : gy;
      const k = shapeOf(w!, 'conv weight')[2] as 1 | 3;
      const dx = needs[0] ? conv2dBackwardInput(g, w!, x!.shape, { padding: attrs.padding }) : null;
      let dw: Grad = null;
      if (needs[1]) {
        dw = into[1] ? (conv2dBackwardWeight(x!, g, k, { padding: attrs.padding, accumulate: into[1] }), ACCUMULATED) : conv2dBackwardWeight(x!, g, k, { padding: attrs.padding });
      }
      let db: Grad = null;
      if (attrs.hasBias && needs[2]) {
        db = into[2] ? (conv2dBackwardBias(g, { accumulate: into[2] }), ACCUMULATED) : conv2dBackwardBias(g);
      }
      if (g !== gy) g.dispose();
      return attrs.hasBias ? [dx, dw, db] : [dx, dw];
    },
  },

  batchNorm: {
    keepInputs: () => [true, true, false],
    keepOutput: (a) => !!a.relu,
    forward([x, gamma, beta], a, training) {
      const { y, saved } = batchNorm(x!, gamma!, beta!, a.runningMean, a.runningVar, {
        training: a.training && training,
        momentum: a.momentum,
        eps: a.eps,
        relu: a.relu,
      });
      return { out: y, saved: saved ? [saved.mean, saved.invStd] : [] };
    },
    backward({ gy, inputs: [x, gamma], out, saved, attrs, needs }) {
      // Eval mode (frozen statistics): the running mean and variance are constants of the layer.
      const frozen = saved.length !== 2;
      const s: BatchNormSaved = frozen ? frozenBatchNormSaved(attrs.runningMean, attrs.runningVar, attrs.eps) : { mean: saved[0]!, invStd: saved[1]! };
      const { dx, dgamma, dbeta } = batchNormBackward(gy, x!, gamma!, s, { ...(attrs.relu ? { y: out! } : {}), frozen });
      if (frozen) s.invStd.dispose();
      const keep = (t: Tensor, need: boolean | undefined) => (need ? t : (t.dispose(), null));
      return [keep(dx, needs[0]), keep(dgamma, needs[1]), keep(dbeta, needs[2])];
    },
  },

  relu: {
    keepInputs: () => [false],
    keepOutput: () => true,
    forward: ([x]) => ({ out: relu(x!) }),
    backward: ({ gy, out }) => [reluBackward(gy, out!)],
  },

  sigmoid: {
    keepInputs: () => [false],
    keepOutput: () => true,
    forward: ([x]) => ({ out: sigmoid(x!) }),
    backward: ({ gy, out }) => [sigmoidBackward(gy, out!)],
  },

  maxPool2d: {
    keepInputs: () => [false],
    keepOutput: () => false,
    forward([x]) {
      const { y, argmax } = maxPool2d(x!);
      return { out: y, saved: [argmax], extra: x!.shape };
    },
    backward: ({ gy, saved, extra }) => [maxPool2dBackward(gy, saved[0]!, extra as number[])],
  },

  upConcat: {
    keepInputs: (_a, n) => none(n),
    keepOutput: () => false,
    forward(inputs, a) {
      const [prev, ...skips] = inputs as Tensor[];
      const [n, cp, h, w] = prev!.shape as [number, number, number, number];
      const channels = [cp, ...skips.map((s) => s.shape[1]!)];
      const total = channels.reduce((s, c) => s + c, 0);
      const e = prev!.engine;
      for (const s of skips) s.binding; // throw on disposed inputs before allocating
      const out = e.empty([n, total, 2 * h, 2 * w], 'upconcat');
      const up = a.mode === 'nearest' ? upsampleNearest2x : upsampleBilinear2x;
      up(prev!, { out, outChannelOffset: 0 });
      let off = cp;
      for (const s of skips) {
        copyChannels(s, out, off);
        off += s.shape[1]!;
      }
      return { out, extra: channels };
    },
    backward({ gy, extra, attrs, needs }) {
      const channels = extra as number[];
      const back = attrs.mode === 'nearest' ? upsampleNearest2xBackward : upsampleBilinear2xBackward;
      const grads: Grad[] = [needs[0] ? back(gy, { channelOffset: 0, channels: channels[0]! }) : null];
      let off = channels[0]!;
      for (let i = 1; i < channels.length; i++) {
        grads.push(needs[i] ? sliceChannels(gy, off, channels[i]!) : null);
        off += channels[i]!;
      }
      return grads;
    },
  },

  concat: {
    keepInputs: (_a, n) => none(n),
    keepOutput: () => false,
    forward(inputs) {
      const [n, , h, w] = inputs[0]!.shape as [number, number, number, number];
      for (const s of inputs) s.binding;
      const channels = inputs.map((t) => t.shape[1]!);
      const out = inputs[0]!.engine.empty([n, channels.reduce((a, b) => a + b, 0), h, w], 'concat');
      let off = 0;
      for (const t of inputs) {
        copyChannels(t, out, off);
        off += t.shape[1]!;
      }
      return { out, extra: channels };
    },
    backward({ gy, extra, needs }) {
      const channels = extra as number[];
      let off = 0;
      return channels.map((c, i) => {
        const g = needs[i] ? sliceChannels(gy, off, c) : null;
        off += c;
        return g;
      });
    },
  },

  mseLoss: lossRule(mseLoss, mseLossBackward),
  bceWithLogitsLoss: lossRule(bceWithLogitsLoss, bceWithLogitsLossBackward),
  softmaxCrossEntropy: lossRule(softmaxCrossEntropy, softmaxCrossEntropyBackward),
  spatialSoftmaxCrossEntropy: lossRule(spatialSoftmaxCrossEntropy, spatialSoftmaxCrossEntropyBackward),
  adaptiveWingLoss: lossRule(adaptiveWingLoss, adaptiveWingLossBackward),
};

/** dst += g, then frees g (unless it is dst). */
export function accumulate(dst: Tensor, g: Tensor): void {
  if (g === dst) return;
  addInto(dst, g);
  g.dispose();
}

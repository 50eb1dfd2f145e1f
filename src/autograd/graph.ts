/**
 * Reverse-mode autograd over the op table (rules.ts).
 *
 * Ops record nodes in execution order, which is a topological order; `backward` walks it in
 * reverse and accumulates with += (U-Net++'s dense skips fan one activation out to several
 * nodes). Memory is reference-counted: a value stays alive while the caller holds its Var
 * (until `release()`) or a recorded node kept it for its backward; it is freed the moment
 * neither is true — during forward for values no backward needs, during backward right after
 * the last node that needed it. Gradients of parameters go straight into the ParameterSet's
 * gradient arena (conv weights accumulate in place inside the dW kernel).
 *
 * In no-grad mode nothing is recorded and each value is freed as soon as the caller releases it.
 */
import type { Engine } from '../gpu/engine';
import { OsteoError, ShapeError, formatShape } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import { fill } from '../kernels/arith';
import { accumulate, ACCUMULATED, RULES, type Attrs, type OpName } from './rules';

/**
 * Heatmap losses: mean squared error; binary cross-entropy with logits; `softmax_ce`, a softmax
 * over the landmark channels at each pixel; `spatial_ce`, a softmax over each map's pixels; `awing`,
 * the adaptive wing loss (robust heatmap regression).
 */
export type HeatmapLoss = 'mse' | 'bce' | 'softmax_ce' | 'spatial_ce' | 'awing';
export const HEATMAP_LOSSES: readonly HeatmapLoss[] = ['mse', 'bce', 'softmax_ce', 'spatial_ce', 'awing'];

/** The autograd graph was misused (backward run twice or in inference mode, a freed value read). */
export class AutogradError extends OsteoError {}

/** Raised when the loss is NaN or ±Inf: the step is not taken and nothing is updated. */
export class NonFiniteLossError extends OsteoError {}

interface Node {
  op: OpName;
  inputs: Var[];
  output: Var;
  attrs: unknown;
  saved: Tensor[];
  extra: unknown;
  keptInputs: boolean[];
  keptOutput: boolean;
  /** The engine's layer label when the op was recorded; its backward dispatches run under `<layer> (backward)`. */
  layer: string;
}

export class Var {
  /** Gradient of the loss w.r.t. this value (activations only, during backward). */
  grad: Tensor | null = null;
  /** Recorded nodes that hold this value for their backward. */
  refs = 0;
  /** The caller still holds this Var (ops' results start held; leaves are never freed by the graph). */
  held = true;

  constructor(
    private _value: Tensor | null,
    readonly requiresGrad: boolean,
    readonly graph: Graph,
    /** Leaves are owned by the caller (inputs, parameters): the graph never frees them. */
    readonly leaf: boolean,
    /** For trainable parameters: the gradient arena view that backward accumulates into. */
    readonly gradTarget: Tensor | null = null,
    readonly name = '',
  ) {}

  get value(): Tensor {
    if (!this._value) throw new AutogradError(`autograd: value of ${this.name || 'an intermediate'} was already freed (released by the caller and not needed by backward)`);
    return this._value;
  }

  get alive(): boolean {
    return this._value !== null;
  }

  get shape(): readonly number[] {
    return this.value.shape;
  }

  /** The caller is done with this value; it is freed once backward no longer needs it either. */
  release(): void {
    this.held = false;
    this.maybeFree();
  }

  /** @internal */
  maybeFree(): void {
    if (this.leaf || this.held || this.refs > 0 || !this._value) return;
    this._value.dispose();
    this._value = null;
  }

  /** @internal */
  freeGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
}

export interface BackwardOptions {
  /** Upstream gradient for a non-scalar output (required unless the output has one element). */
  seed?: Tensor;
  /** Read the loss back and throw NonFiniteLossError on NaN/Inf before any gradient is computed (default true). */
  checkFinite?: boolean;
}

export class Graph {
  private nodes: Node[] = [];
  private produced = new Set<Var>();
  private done = false;

  /** @param grad false: inference, nothing recorded. @param training: batch norm uses batch statistics. */
  constructor(
    readonly engine: Engine,
    readonly opts: { grad: boolean; training: boolean } = { grad: true, training: true },
  ) {}

  /** A leaf the caller owns (an input batch): no gradient unless asked. */
  input(t: Tensor, requiresGrad = false, name = 'input'): Var {
    return new Var(t, requiresGrad && this.opts.grad, this, true, null, name);
  }

  /**
   * A parameter leaf: gradients accumulate into `grad` (its slot in the gradient arena, or a function returning it,
   * called only when the graph records gradients).
   */
  param(value: Tensor, grad: Tensor | (() => Tensor) | null, name: string): Var {
    const trainable = grad !== null && this.opts.grad;
    // a function is only called when the graph needs the gradient (ParameterSet allocates its
    // gradient arena on first use, so inference never makes one)
    const g = trainable ? (typeof grad === 'function' ? grad() : grad) : null;
    return new Var(value, trainable, this, true, g, name);
  }

  /** Records (or, in no-grad mode, just runs) one op. */
  apply<K extends OpName>(op: K, inputs: Var[], attrs: Attrs[K]): Var {
    if (this.done) throw new AutogradError(`autograd: ${op} recorded on a graph that already ran backward; make a new Graph per step`);
    const rule = RULES[op];
    const { out, saved = [], extra } = rule.forward(
      inputs.map((v) => v.value),
      attrs,
      this.opts.training,
    );
    const requiresGrad = this.opts.grad && inputs.some((v) => v.requiresGrad);
    const output = new Var(out, requiresGrad, this, false, null, op);
    if (!requiresGrad) {
      for (const t of saved) t.dispose();
      return output;
    }
    const keptInputs = rule.keepInputs(attrs, inputs.length);
    const keptOutput = rule.keepOutput(attrs);
    inputs.forEach((v, i) => keptInputs[i] && v.refs++);
    if (keptOutput) output.refs++;
    this.nodes.push({ op, inputs, output, attrs, saved, extra, keptInputs, keptOutput, layer: this.engine.layer });
    this.produced.add(output);
    return output;
  }

  /**
   * Back-propagates from `loss`. Parameter gradients are added (+=) into their arena slots, so
   * calling forward+backward on several micro-batches accumulates. Frees every intermediate.
   */
  async backward(loss: Var, opts: BackwardOptions = {}): Promise<void> {
    if (this.done) throw new AutogradError('autograd: backward() already ran on this graph');
    if (!this.opts.grad) throw new AutogradError('autograd: backward() on a no-grad graph (inference mode records nothing)');
    if (!this.produced.has(loss)) {
      throw new AutogradError(
        loss.graph !== this
          ? 'autograd: backward() on a value from another graph'
          : 'autograd: backward() without a forward: this value was not produced by a recorded op that depends on a parameter or an input requiring grad',
      );
    }
    const value = loss.value;
    let seed = opts.seed;
    if (!seed) {
      if (value.size !== 1) {
        throw new AutogradError(`autograd: backward() on a non-scalar output ${formatShape(value.shape)} needs a seed gradient of the same shape`);
      }
      if (opts.checkFinite !== false) {
        const [v] = await value.read();
        if (!Number.isFinite(v)) {
          this.dispose();
          throw new NonFiniteLossError(`loss is ${v}: not back-propagating. Lower the learning rate, check inputs and targets for NaN, or clip the gradients (--clip-grad-norm N; clipGradNorm in the library's recipe).`);
        }
      }
      seed = fill(this.engine.empty([1], 'seed'), 1);
    } else if (seed.size !== value.size) {
      throw new ShapeError(`autograd: seed ${formatShape(seed.shape)} does not match output ${formatShape(value.shape)}`);
    } else {
      seed = this.engine.copy(seed);
    }
    loss.grad = seed;
    this.done = true;

    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const gy = node.output.grad;
      // dx/dW dispatches (and the += accumulations) are attributed to the forward op's layer
      if (gy) this.engine.label(`${node.layer || node.op} (backward)`, () => this.backwardNode(node, gy));
      this.releaseNode(node);
    }
    this.nodes = [];
  }

  private backwardNode(node: Node, gy: Tensor): void {
    const needs = node.inputs.map((v) => v.requiresGrad);
    const grads = RULES[node.op].backward({
      gy,
      inputs: node.inputs.map((v, j) => (node.keptInputs[j] ? v.value : null)),
      out: node.keptOutput ? node.output.value : null,
      saved: node.saved,
      extra: node.extra,
      attrs: node.attrs as never,
      needs,
      into: node.inputs.map((v) => v.gradTarget),
    });
    grads.forEach((g, j) => {
      const v = node.inputs[j]!;
      if (!g || g === ACCUMULATED || !v.requiresGrad) {
        if (g && g !== ACCUMULATED) g.dispose();
        return;
      }
      if (v.gradTarget) accumulate(v.gradTarget, g);
      else if (!v.grad) v.grad = g;
      else accumulate(v.grad, g);
    });
  }

  private releaseNode(node: Node): void {
    node.output.freeGrad();
    for (const t of node.saved) t.dispose();
    node.saved = [];
    node.inputs.forEach((v, j) => {
      if (node.keptInputs[j]) {
        v.refs--;
        v.maybeFree();
      }
    });
    if (node.keptOutput) {
      node.output.refs--;
      node.output.maybeFree();
    }
  }

  /** Frees everything the graph still holds (e.g. after an error, or inference outputs not released). */
  dispose(): void {
    for (const node of this.nodes) this.releaseNode(node);
    this.nodes = [];
    this.done = true;
  }

  // ------------------------------------------------------------------ ops

  conv2d(x: Var, w: Var, b: Var | null, o: { padding?: number; relu?: boolean } = {}): Var {
    return this.apply('conv2d', b ? [x, w, b] : [x, w], { ...o, hasBias: !!b });
  }
  batchNorm(x: Var, gamma: Var, beta: Var, a: Omit<Attrs['batchNorm'], 'training'> & { training?: boolean }): Var {
    return this.apply('batchNorm', [x, gamma, beta], { ...a, training: a.training ?? this.opts.training });
  }
  relu(x: Var): Var {
    return this.apply('relu', [x], {});
  }
  sigmoid(x: Var): Var {
    return this.apply('sigmoid', [x], {});
  }
  maxPool2d(x: Var): Var {
    return this.apply('maxPool2d', [x], {});
  }
  upConcat(prev: Var, skips: Var[], mode: 'nearest' | 'bilinear' = 'nearest'): Var {
    return this.apply('upConcat', [prev, ...skips], { mode });
  }
  concat(parts: Var[]): Var {
    return this.apply('concat', parts, {});
  }
  mseLoss(pred: Var, target: Var): Var {
    return this.apply('mseLoss', [pred, target], {});
  }
  bceWithLogitsLoss(pred: Var, target: Var): Var {
    return this.apply('bceWithLogitsLoss', [pred, target], {});
  }
  softmaxCrossEntropy(pred: Var, target: Var): Var {
    return this.apply('softmaxCrossEntropy', [pred, target], {});
  }

  /**
   * Softmax over each map's pixels, cross-entropy, mean over maps (see `spatialSoftmaxCrossEntropy` in kernels/loss).
   */
  spatialSoftmaxCrossEntropy(pred: Var, target: Var): Var {
    return this.apply('spatialSoftmaxCrossEntropy', [pred, target], {});
  }
  /** Adaptive wing loss on heatmaps in [0, 1], mean over elements (see `adaptiveWingLoss` in kernels/loss). */
  adaptiveWingLoss(pred: Var, target: Var): Var {
    return this.apply('adaptiveWingLoss', [pred, target], {});
  }
  /** The heatmap loss by name (training, precompilation and tests pick it the same way). */
  heatmapLoss(name: HeatmapLoss, pred: Var, target: Var): Var {
    switch (name) {
      case 'mse': return this.mseLoss(pred, target);
      case 'bce': return this.bceWithLogitsLoss(pred, target);
      case 'softmax_ce': return this.softmaxCrossEntropy(pred, target);
      case 'spatial_ce': return this.spatialSoftmaxCrossEntropy(pred, target);
      case 'awing': return this.adaptiveWingLoss(pred, target);
    }
  }
}

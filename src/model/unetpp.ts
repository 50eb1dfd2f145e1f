/**
 * U-Net++ with a VGG19 encoder, structured and named exactly as segmentation_models_pytorch's
 * `UnetPlusPlus(encoder_name="vgg19")` (docs/DESIGN.md §3), so a state_dict moves between the two.
 *
 * Encoder stages end at each max-pool: 64@H (unused by the decoder), 128@H/2, 256@H/4, 512@H/8,
 * 512@H/16, and the pool-only stage 512@H/32. With f0..f4 the deepest-first features, decoder
 * node x_d_l = Block(prev, skips) = two (conv3x3 → BN → ReLU) over concat[up2x(prev), skips…].
 *
 * Every stage runs under an engine layer label named like its state_dict prefix
 * (`encoder.features.0`, `decoder.blocks.x_0_1.conv1`, `segmentation_head`), so profile records
 * of the forward and (via the graph) of the backward say which layer they belong to.
 */
import type { Graph, Var } from '../autograd/graph';
import type { Engine } from '../gpu/engine';
import { ShapeError, formatShape } from '../gpu/errors';
import { foldBatchNorm } from '../kernels/bn_fold';
import { ParameterSet } from '../nn/params';
import { UNETPP_DECODER_CHANNELS, unetPlusPlusExpected, VGG19_WIDTHS, vgg19Convs } from './architecture';

export interface UnetPPConfig {
  /** Number of landmark heatmaps. */
  classes: number;
  inChannels: 1 | 3;
  /** The 16 VGG19 conv widths (tests shrink them). */
  widths?: readonly number[];
  decoderChannels?: readonly number[];
}

/** A decoder node: its name, the node it upsamples, and the skips concatenated after it. */
interface DecoderStep {
  name: string;
  prev: string;
  skips: string[];
}

/** smp's evaluation order of the decoder graph (f0..f4 are encoder features). */
export function decoderSchedule(): DecoderStep[] {
  const steps: DecoderStep[] = [];
  const depth = 4;
  for (let l = 0; l < depth; l++) {
    for (let d = 0; d < depth - l; d++) {
      const dl = d + l;
      if (l === 0) steps.push({ name: `x_${d}_${d}`, prev: `f${d}`, skips: [`f${d + 1}`] });
      else {
        const skips: string[] = [];
        for (let i = d + 1; i <= dl; i++) skips.push(`x_${i}_${dl}`);
        skips.push(`f${dl + 1}`);
        steps.push({ name: `x_${d}_${dl}`, prev: `x_${d}_${dl - 1}`, skips });
      }
    }
  }
  steps.push({ name: 'x_0_4', prev: 'x_0_3', skips: [] });
  return steps;
}

/** Encoder conv layers (0..15) after which a 2x2 max-pool follows, and where stages end. */
const POOL_AFTER = new Set([1, 3, 7, 11, 15]);

export interface ForwardOptions {
  /**
   * In inference (a graph with grad and training both off) fold decoder BatchNorms into their
   * convs, so conv → BN → ReLU is one conv with a fused ReLU: 'auto' (default) where that moves
   * fewer bytes than the BN pass (`foldPays`), true for every conv, false for none (tests compare
   * the paths).
   */
  foldBatchNorm?: boolean | 'auto';
}

/**
 * Whether folding a BN into the conv moves fewer bytes than applying it: the fold reads and
 * writes the weights (Cout·Cin·k·k each), the eval-mode BN pass reads and writes the activation
 * (N·Cout·H·W each), so fold iff N·H·W ≥ Cin·k·k. At 512² every decoder conv folds; at 32² on
 * the CPU fallback the deep ones (1280 input channels on 4² planes) keep their BN pass, where
 * refolding 20 M weights per forward made inference 20 % slower.
 */
export function foldPays(x: readonly number[], w: readonly number[]): boolean {
  const [n, , h, wd] = x as [number, number, number, number];
  const [, cin, kh, kw] = w as [number, number, number, number];
  return n * h * wd >= cin * kh * kw;
}

export class UnetPlusPlus {
  readonly params: ParameterSet;
  readonly config: Required<UnetPPConfig>;
  /**
   * Batch norm in eval mode while training: the running statistics are used and kept (not updated
   * from the batch), γ and β still learn, gradients flow as PyTorch's eval-mode BN
   * (dx = γ/√(running_var + ε)·dy). For fine-tuning on a few images at batch 2, whose batch
   * statistics are noisy.
   */
  frozenBatchNorm = false;
  private readonly schedule = decoderSchedule();

  constructor(
    readonly engine: Engine,
    config: UnetPPConfig,
  ) {
    this.config = {
      widths: VGG19_WIDTHS,
      decoderChannels: UNETPP_DECODER_CHANNELS,
      ...config,
    };
    const expected = unetPlusPlusExpected({
      classes: config.classes,
      inputChannels: config.inChannels,
      widths: this.config.widths,
      decoderChannels: this.config.decoderChannels,
    });
    const isBuffer = (n: string) => /running_mean|running_var|num_batches_tracked/.test(n);
    this.params = new ParameterSet(
      engine,
      expected.filter((t) => !isBuffer(t.name)).map((t) => ({ name: t.name, shape: t.shape })),
      { buffers: expected.filter((t) => isBuffer(t.name)).map((t) => ({ name: t.name, shape: t.shape })), label: 'unetpp' },
    );
  }

  /** Total learnable parameters. */
  get parameterCount(): number {
    return this.params.count();
  }

  /** Checks an NCHW input: channels must match and sides be multiples of 32 (five 2x pools). */
  checkInput(shape: readonly number[]): void {
    if (shape.length !== 4) throw new ShapeError(`UnetPlusPlus: input must be NCHW, got ${formatShape(shape)}`);
    const [, c, h, w] = shape as [number, number, number, number];
    if (c !== this.config.inChannels) throw new ShapeError(`UnetPlusPlus: input has ${c} channels, the model expects ${this.config.inChannels} (${formatShape(shape)})`);
    if (h % 32 !== 0 || w % 32 !== 0 || h === 0 || w === 0) {
      throw new ShapeError(`UnetPlusPlus: input sides must be multiples of 32 (the encoder halves them five times), got ${h}x${w}; resize or pad to e.g. ${Math.max(32, Math.round(h / 32) * 32)}x${Math.max(32, Math.round(w / 32) * 32)}`);
    }
  }

  private p(g: Graph, name: string): Var {
    const ps = this.params;
    return g.param(ps.get(name), ps.isTrainable(name) ? () => ps.grad(name) : null, name);
  }

  /**
   * Logits [N, classes, H, W]. The caller owns `x` (a leaf); every intermediate is released as
   * soon as the forward no longer needs it, so in inference only a few activations are alive.
   */
  forward(g: Graph, x: Var, opts: ForwardOptions = {}): Var {
    this.checkInput(x.shape);
    const mode = opts.foldBatchNorm ?? 'auto';
    const fold = mode !== false && !g.opts.grad && !g.opts.training ? mode : false;
    const features = this.encoder(g, x);
    return this.decoder(g, features, fold);
  }

  /** Returns f0..f4 (deepest first) keyed by name. */
  private encoder(g: Graph, x: Var): Map<string, Var> {
    const stages: Var[] = [];
    let h = x;
    for (const conv of vgg19Convs({ inputChannels: this.config.inChannels, widths: this.config.widths })) {
      const y = this.engine.label(conv.canonical, () => g.conv2d(h, this.p(g, `${conv.canonical}.weight`), this.p(g, `${conv.canonical}.bias`), { relu: true }));
      if (h !== x) h.release();
      h = y;
      if (POOL_AFTER.has(conv.layer)) {
        const stage = h;
        stages.push(stage);
        // torchvision's features index of the pool: right after the conv's ReLU
        h = this.engine.label(`encoder.features.${conv.index + 2}`, () => g.maxPool2d(stage));
      }
    }
    stages.push(h); // pool5 only: 512@H/32
    stages[0]!.release(); // 64@H is not used by the U-Net++ decoder
    const [, s1, s2, s3, s4, s5] = stages;
    return new Map([
      ['f0', s5!],
      ['f1', s4!],
      ['f2', s3!],
      ['f3', s2!],
      ['f4', s1!],
    ]);
  }

  private decoder(g: Graph, nodes: Map<string, Var>, fold: boolean | 'auto'): Var {
    const lastUse = new Map<string, number>();
    this.schedule.forEach((s, i) => [s.prev, ...s.skips].forEach((n) => lastUse.set(n, i)));
    let out: Var | null = null;
    this.schedule.forEach((s, i) => {
      const prev = nodes.get(s.prev)!;
      const skips = s.skips.map((n) => nodes.get(n)!);
      const y = this.block(g, s.name, prev, skips, fold);
      for (const n of [s.prev, ...s.skips]) {
        if (lastUse.get(n) === i) {
          nodes.get(n)!.release();
          nodes.delete(n);
        }
      }
      nodes.set(s.name, y);
      out = y;
    });
    const last = out!;
    const logits = this.engine.label('segmentation_head', () => g.conv2d(last, this.p(g, 'segmentation_head.0.weight'), this.p(g, 'segmentation_head.0.bias')));
    last.release();
    return logits;
  }

  private block(g: Graph, name: string, prev: Var, skips: Var[], fold: boolean | 'auto'): Var {
    const prefix = `decoder.blocks.${name}`;
    const cat = this.engine.label(prefix, () => g.upConcat(prev, skips));
    let h = cat;
    for (const conv of ['conv1', 'conv2']) {
      const p = `${prefix}.${conv}`;
      const y = this.engine.label(p, () => (fold === true || (fold === 'auto' && foldPays(h.shape, this.params.get(`${p}.0.weight`).shape)) ? this.convFoldedBnRelu(g, h, p) : this.convBnRelu(g, h, p)));
      h.release();
      h = y;
    }
    return h;
  }

  /** smp's Conv2dReLU: conv (no bias) → BatchNorm2d → ReLU, BN fused with its ReLU. */
  private convBnRelu(g: Graph, h: Var, p: string): Var {
    const c = g.conv2d(h, this.p(g, `${p}.0.weight`), null);
    const y = g.batchNorm(c, this.p(g, `${p}.1.weight`), this.p(g, `${p}.1.bias`), {
      runningMean: this.params.buffer(`${p}.1.running_mean`),
      runningVar: this.params.buffer(`${p}.1.running_var`),
      relu: true,
      ...(this.frozenBatchNorm ? { training: false } : {}),
    });
    c.release();
    return y;
  }

  /**
   * Inference only (no-grad, eval): the same layer as one conv with folded weights and a fused
   * ReLU epilogue, w' = w·s, b' = β − μ·s with s = γ/√(var + eps); no BN pass over the activation.
   *
   * The folded weights are recomputed on every forward rather than cached. A cache would need an
   * invalidation that sees every write to γ, β, w and the running stats — optimizer steps (one
   * dispatch into the parameter arena), training-mode BN forwards (running stats updated in place
   * by a kernel), `load`/`loadStateDict`, and any caller writing a parameter tensor directly — and
   * one missed writer silently serves stale weights (e.g. validation during training). Refolding
   * is one small dispatch per conv that reads and writes the weights once: 160 MB for the 19.9 M
   * decoder weights (~60 µs on an H100) against 700 MB for the 22 BN passes it replaces at b1
   * 512² (the BN traffic scales with N·H·W, so below ~256² b1 refolding moves more bytes than it
   * saves, though the dispatch count is the same). A cache would also keep a second copy of the
   * weights alive; here the folded tensors live only until their conv is recorded.
   */
  private convFoldedBnRelu(g: Graph, h: Var, p: string): Var {
    const ps = this.params;
    const { weight, bias } = foldBatchNorm(
      ps.get(`${p}.0.weight`),
      null,
      ps.get(`${p}.1.weight`),
      ps.get(`${p}.1.bias`),
      ps.buffer(`${p}.1.running_mean`),
      ps.buffer(`${p}.1.running_var`),
    );
    try {
      return g.conv2d(h, g.input(weight, false, `${p}.folded_weight`), g.input(bias, false, `${p}.folded_bias`), { relu: true });
    } finally {
      // the conv is recorded; the GPU runs queued commands in order, so the buffers may be reused
      weight.dispose();
      bias.dispose();
    }
  }

  dispose(): void {
    this.params.dispose();
  }
}

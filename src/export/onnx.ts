/**
 * U-Net++/VGG19 as an ONNX model (host-neutral: returns bytes; the CLI writes them).
 *
 * The graph is smp's `UnetPlusPlus(encoder_name="vgg19")` forward in eval mode (docs/DESIGN.md §3),
 * node for node: encoder Conv 3x3 pad 1 (+bias) → Relu, MaxPool 2x2 stride 2 at each stage end;
 * each decoder node x_d_l = Resize(prev, 2x nearest) → Concat([up, skips…], axis 1) → two
 * (Conv 3x3 no bias → BatchNorm → Relu); the head Conv 3x3 16→K with bias. Nodes are named like
 * the state_dict prefixes (`encoder.features.0`, `decoder.blocks.x_0_1.conv1`, …).
 *
 * - Nearest upsampling: PyTorch's `F.interpolate(scale_factor=2, mode="nearest")` reads source
 *   pixel ⌊i/2⌋, which is ONNX Resize with coordinate_transformation_mode "asymmetric"
 *   (x_src = x_dst / scale) and nearest_mode "floor" — what torch.onnx emits for it.
 * - BatchNorm: folded into the conv by default (w' = w·s, b' = β − μ·s, s = γ/√(var + eps),
 *   computed in float64 and rounded once), or kept as BatchNormalization nodes with smp's tensors.
 * - The output is the head's logits, as smp's model returns them; the metadata says which
 *   activation the training loss implies and how points were decoded.
 *
 * Encoded with onnx-buf: ONNX's own onnx.proto3 (release 1.20) compiled by Buf's protobuf-es
 * (@bufbuild/protobuf), which runs unchanged in Node and in the browser.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { OsteoError } from '../gpu/errors';
import { decoderSchedule } from '../model/unetpp';
import { unetPlusPlusExpected } from '../weights/smp';
import { vgg19Convs } from '../weights/vgg19';

/** The model's input: NCHW float32 images, normalised as the metadata says. */
export const ONNX_INPUT = 'image';
/** The model's output: NCHW float32 logits, one heatmap per landmark. */
export const ONNX_OUTPUT = 'heatmaps';
/** Opsets this exporter writes (Resize with an optional roi from 13; IR versions known to 21). */
export const ONNX_OPSETS = { min: 13, max: 21, default: 17 } as const;

/** The export cannot be made from this input (missing or mis-sized tensors, bad options). */
export class OnnxExportError extends OsteoError {}

/** What a checkpoint provides: the network's shape, its tensors and how it was trained. */
export interface OnnxExportSource {
  model: { classes: number; inChannels: 1 | 3; widths: readonly number[]; decoderChannels: readonly number[] };
  /** Parameters and BN running statistics by smp name (flat f32, OIHW for convs). */
  tensors: ReadonlyMap<string, Float32Array>;
  /** Preprocessing and decoding, recorded in metadata_props. */
  train?: {
    size: number;
    normalization: { name: string; mean: number; std: number };
    landmarkNames?: readonly string[] | undefined;
    loss?: string;
    decode?: string;
    sigma?: number;
    targetScale?: number;
    unit?: string | undefined;
  };
}

export interface OnnxExportOptions {
  /** ai.onnx opset, ONNX_OPSETS.min–max (default 17). */
  opset?: number;
  /** Symbolic batch dimension `batch` instead of 1. */
  dynamicBatch?: boolean;
  /** 'fold' (default): BN folded into the conv; 'keep': BatchNormalization nodes. */
  batchNorm?: 'fold' | 'keep';
  /** Input side in pixels (default: the training size; a multiple of 32). */
  size?: number;
  /** BatchNorm epsilon (smp / PyTorch default 1e-5, as osteo's kernels). */
  eps?: number;
  /** osteo's version, for producer_version. */
  producerVersion?: string;
}

export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  irVersion: number;
  input: { name: string; shape: (number | string)[] };
  output: { name: string; shape: (number | string)[] };
  /** Node count per op type. */
  ops: Record<string, number>;
  /** Number of weight values stored. */
  parameters: number;
  metadata: Record<string, string>;
}

/** ONNX IR version that goes with an ai.onnx opset (onnx/docs/Versioning.md). */
export function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

// ------------------------------------------------------------------------------ protobuf helpers

const utf8 = new TextEncoder();
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Little-endian bytes of f32 values (TensorProto.raw_data is little-endian by definition). */
function rawF32(data: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(data.length * 4);
  if (littleEndian) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  else {
    const dv = new DataView(out.buffer);
    data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  }
  return out;
}

function f32Tensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: rawF32(data) });
}

const attr = {
  ints: (name: string, v: readonly number[]): AttributeProto => create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: v.map(BigInt) }),
  int: (name: string, v: number): AttributeProto => create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(v) }),
  float: (name: string, v: number): AttributeProto => create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: v }),
  str: (name: string, v: string): AttributeProto => create(AttributeProtoSchema, { name, type: AttrType.STRING, s: utf8.encode(v) }),
};

function valueInfo(name: string, shape: readonly (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) => create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } }));
  const tensorType = create(TypeProto_TensorSchema, { elemType: TensorProto_DataType.FLOAT, shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

/** Collects nodes and initializers; every node output is named `<node name>:<op>` unless given. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  parameters = 0;

  constant(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push(f32Tensor(name, dims, data));
    this.parameters += data.length;
    return name;
  }

  node(opType: string, name: string, inputs: string[], attribute: AttributeProto[] = [], output = `${name}:${opType}`): string {
    this.nodes.push(create(NodeProtoSchema, { opType, name: `${name}/${opType}`, input: inputs, output: [output], attribute }));
    return output;
  }
}

// ------------------------------------------------------------------------------ the graph

/** Checks every tensor the graph needs against the architecture; returns shapes by name. */
function checkTensors(src: OnnxExportSource): Map<string, number[]> {
  const { classes, inChannels, widths, decoderChannels } = src.model;
  const shapes = new Map<string, number[]>();
  for (const t of unetPlusPlusExpected({ classes, inputChannels: inChannels, widths, decoderChannels })) {
    if (t.name.endsWith('num_batches_tracked')) continue;
    const data = src.tensors.get(t.name);
    const want = t.shape.reduce((a, b) => a * b, 1);
    if (!data) throw new OnnxExportError(`tensor ${t.name} is missing (expected shape [${t.shape.join(', ')}])`);
    if (data.length !== want) throw new OnnxExportError(`tensor ${t.name} holds ${data.length} values, shape [${t.shape.join(', ')}] needs ${want}`);
    shapes.set(t.name, t.shape);
  }
  return shapes;
}

/** Conv weight and bias with the BN (γ, β, μ, σ²) folded in, in float64 then rounded once. */
export function foldConvBatchNorm(w: Float32Array, cout: number, gamma: Float32Array, beta: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): { weight: Float32Array; bias: Float32Array } {
  const per = w.length / cout;
  const weight = new Float32Array(w.length);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
    for (let i = o * per; i < (o + 1) * per; i++) weight[i] = w[i]! * s;
    bias[o] = beta[o]! - mean[o]! * s;
  }
  return { weight, bias };
}

/** Builds the ONNX model of a checkpoint's network. */
export function exportOnnx(src: OnnxExportSource, opts: OnnxExportOptions = {}): OnnxExport {
  const opset = opts.opset ?? ONNX_OPSETS.default;
  if (!Number.isInteger(opset) || opset < ONNX_OPSETS.min || opset > ONNX_OPSETS.max) {
    throw new OnnxExportError(`opset ${opset} is not supported; use ${ONNX_OPSETS.min}–${ONNX_OPSETS.max} (default ${ONNX_OPSETS.default})`);
  }
  const size = opts.size ?? src.train?.size;
  if (size === undefined) throw new OnnxExportError('the input size is unknown: the checkpoint records none, so give one');
  if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) throw new OnnxExportError(`input size ${size} must be a positive multiple of 32 (the encoder halves it five times)`);
  const eps = opts.eps ?? 1e-5;
  const foldBn = (opts.batchNorm ?? 'fold') === 'fold';
  const shapes = checkTensors(src);
  const { classes, inChannels } = src.model;
  const t = (name: string): Float32Array => src.tensors.get(name)!;
  const b = new GraphBuilder();
  const param = (name: string): string => b.constant(name, shapes.get(name)!, t(name));

  const CONV = [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [1, 1]), attr.ints('dilations', [1, 1]), attr.int('group', 1)];
  const POOL = [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])];
  const UP = [attr.str('mode', 'nearest'), attr.str('coordinate_transformation_mode', 'asymmetric'), attr.str('nearest_mode', 'floor')];
  const scales = b.constant('upsample.scales', [4], new Float32Array([1, 1, 2, 2]));

  // encoder: a stage ends (and a pool follows) where torchvision's next conv index skips the pool's slot
  const convs = vgg19Convs({ inputChannels: inChannels, widths: src.model.widths });
  const stages: string[] = [];
  let h = ONNX_INPUT;
  convs.forEach((c, i) => {
    const y = b.node('Conv', c.canonical, [h, param(`${c.canonical}.weight`), param(`${c.canonical}.bias`)], CONV);
    h = b.node('Relu', c.canonical, [y]);
    const next = convs[i + 1];
    if (!next || next.index === c.index + 3) {
      stages.push(h);
      h = b.node('MaxPool', `encoder.features.${c.index + 2}`, [h], POOL);
    }
  });
  stages.push(h); // pool5: 512@H/32
  const [, s1, s2, s3, s4, s5] = stages;
  const nodes = new Map<string, string>([['f0', s5!], ['f1', s4!], ['f2', s3!], ['f3', s2!], ['f4', s1!]]);

  const convBnRelu = (x: string, p: string): string => {
    const w = `${p}.0.weight`;
    const bn = (s: string) => `${p}.1.${s}`;
    if (foldBn) {
      const cout = shapes.get(w)![0]!;
      const f = foldConvBatchNorm(t(w), cout, t(bn('weight')), t(bn('bias')), t(bn('running_mean')), t(bn('running_var')), eps);
      const y = b.node('Conv', p, [x, b.constant(`${p}.folded_weight`, shapes.get(w)!, f.weight), b.constant(`${p}.folded_bias`, [cout], f.bias)], CONV);
      return b.node('Relu', p, [y]);
    }
    const c = b.node('Conv', p, [x, param(w)], CONV);
    const y = b.node('BatchNormalization', p, [c, param(bn('weight')), param(bn('bias')), param(bn('running_mean')), param(bn('running_var'))], [attr.float('epsilon', eps)]);
    return b.node('Relu', p, [y]);
  };

  for (const step of decoderSchedule()) {
    const prefix = `decoder.blocks.${step.name}`;
    const up = b.node('Resize', prefix, [nodes.get(step.prev)!, '', scales], UP);
    const cat = step.skips.length ? b.node('Concat', prefix, [up, ...step.skips.map((n) => nodes.get(n)!)], [attr.int('axis', 1)]) : up;
    nodes.set(step.name, convBnRelu(convBnRelu(cat, `${prefix}.conv1`), `${prefix}.conv2`));
  }
  b.node('Conv', 'segmentation_head.0', [nodes.get('x_0_4')!, param('segmentation_head.0.weight'), param('segmentation_head.0.bias')], CONV, ONNX_OUTPUT);

  const batch = opts.dynamicBatch ? 'batch' : 1;
  const inputShape = [batch, inChannels, size, size];
  const outputShape = [batch, classes, size, size];
  const metadata = exportMetadata(src, { size, inputShape, outputShape, foldBn, eps });
  const graph = create(GraphProtoSchema, {
    name: 'unetplusplus-vgg19',
    docString: 'U-Net++ with a VGG19 encoder (segmentation_models_pytorch UnetPlusPlus, encoder "vgg19"), exported by osteo',
    node: b.nodes,
    initializer: b.initializers,
    input: [valueInfo(ONNX_INPUT, inputShape)],
    output: [valueInfo(ONNX_OUTPUT, outputShape)],
  });
  const irVersion = irVersionFor(opset);
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(irVersion),
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    producerName: 'osteo',
    producerVersion: opts.producerVersion ?? '',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
  const ops: Record<string, number> = {};
  for (const n of b.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  return {
    bytes: toBinary(ModelProtoSchema, model),
    opset,
    irVersion,
    input: { name: ONNX_INPUT, shape: inputShape },
    output: { name: ONNX_OUTPUT, shape: outputShape },
    ops,
    parameters: b.parameters,
    metadata,
  };
}

/** metadata_props: how to feed the model and read its output, without osteo. */
function exportMetadata(
  src: OnnxExportSource,
  g: { size: number; inputShape: (number | string)[]; outputShape: (number | string)[]; foldBn: boolean; eps: number },
): Record<string, string> {
  const tr = src.train;
  const n = tr?.normalization;
  const activation = tr?.loss === 'softmax_ce' ? 'softmax over the landmark channels at each pixel' : tr?.loss === 'spatial_ce' ? 'softmax over the pixels of each landmark map' : tr?.loss === 'bce' ? 'sigmoid' : tr?.loss === 'mse' || tr?.loss === 'awing' ? 'none (regressed heatmaps)' : 'unknown';
  const md: Record<string, string> = {
    architecture: 'unetplusplus-vgg19',
    input_name: ONNX_INPUT,
    input_shape: JSON.stringify(g.inputShape),
    input_size: String(g.size),
    input_channels: String(src.model.inChannels),
    output_name: ONNX_OUTPUT,
    output_shape: JSON.stringify(g.outputShape),
    output: `logits: one heatmap per landmark at input resolution; activation implied by the training loss: ${activation}; a landmark is the peak of its heatmap (pixel centres at integer coordinates)`,
    classes: String(src.model.classes),
    widths: JSON.stringify(src.model.widths),
    decoder_channels: JSON.stringify(src.model.decoderChannels),
    batchnorm: g.foldBn ? `folded into the convolutions (eps ${g.eps})` : `BatchNormalization nodes (eps ${g.eps})`,
    upsampling: 'nearest 2x (Resize asymmetric / floor, as PyTorch F.interpolate nearest)',
  };
  if (n) {
    md.normalization = JSON.stringify({ name: n.name, mean: n.mean, std: n.std });
    md.preprocessing =
      `grey image (${src.model.inChannels} channel${src.model.inChannels > 1 ? 's' : ''}) min-max scaled to [0, 1] over the image, ` +
      `fitted into ${g.size}x${g.size} keeping its aspect ratio (centred; padding 0), resampled bilinearly (after an integer-factor area ` +
      `downsample when it shrinks 2x or more), then (x - ${n.mean}) / ${n.std}`;
  }
  if (tr?.landmarkNames) md.landmark_names = JSON.stringify(tr.landmarkNames);
  if (tr?.loss) md.loss = tr.loss;
  if (tr?.decode) md.decode = tr.decode;
  if (tr?.sigma !== undefined) md.sigma = String(tr.sigma);
  if (tr?.targetScale !== undefined) md.target_scale = String(tr.targetScale);
  if (tr?.unit) md.unit = tr.unit;
  return md;
}

/**
 * `exportOnnx` round trip: a small-width U-Net++/VGG19 exported to ONNX runs in onnxruntime-node
 * (CPU) and gives osteo's heatmaps on the same input and weights — folded and kept BatchNorm,
 * static batch 1 and a dynamic batch of 2 — and the file says what it is (opset, IR version, op
 * list, metadata_props).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUnetPPWeights, type UnetPPConfig } from '../../bench/reference/tfjs_unetpp';
import { Graph } from '../../src/autograd/graph';
import { exportOnnx, OnnxExportError, type OnnxExportSource } from '../../src/export/onnx';
import type { Engine } from '../../src/gpu/engine';
import { precompileUnetPP } from '../../src/model/precompile';
import { UnetPlusPlus } from '../../src/model/unetpp';
import { nodeEngine } from '../helpers/node_engine';
import { uniform } from '../helpers/random';

const WIDTHS = [4, 4, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16];
const DECODER = [16, 8, 8, 4, 4];
const CONFIG: UnetPPConfig = { classes: 3, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER };
const S = 32;
const NAMES = ['sella', 'nasion', 'orbitale'];

let engine: Engine;
let model: UnetPlusPlus;
const weights = randomUnetPPWeights(CONFIG, 11);
const source: OnnxExportSource = {
  model: { classes: 3, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER },
  tensors: weights,
  train: { size: S, normalization: { name: 'torchvision-imagenet', mean: 0.449, std: 0.226 }, landmarkNames: NAMES, loss: 'softmax_ce', decode: 'argmax', sigma: 2, targetScale: 1, unit: 'mm' },
};

beforeAll(async () => {
  engine = await nodeEngine();
  await precompileUnetPP(engine, CONFIG, [{ batch: 1, size: S }, { batch: 2, size: S }]);
  model = new UnetPlusPlus(engine, CONFIG);
  for (const [name, data] of weights) if (!name.endsWith('num_batches_tracked')) model.params.load(name, data);
});
afterAll(() => {
  model?.dispose();
  engine?.destroy();
});

async function osteoForward(x: Float32Array, n: number): Promise<Float32Array> {
  const t = engine.tensor(x, [n, 1, S, S]);
  const g = new Graph(engine, { grad: false, training: false });
  try {
    const y = model.forward(g, g.input(t));
    const out = await y.value.read();
    y.release();
    return out;
  } finally {
    g.dispose();
    t.dispose();
  }
}

async function ortForward(bytes: Uint8Array, x: Float32Array, n: number): Promise<{ out: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    expect(session.inputNames).toEqual(['image']);
    expect(session.outputNames).toEqual(['heatmaps']);
    const r = await session.run({ image: new ort.Tensor('float32', x, [n, 1, S, S]) });
    const y = r.heatmaps!;
    return { out: y.data as Float32Array, dims: y.dims };
  } finally {
    await session.release();
  }
}

/** Largest |a - b| relative to the output scale (largest |b|); printed for the record. */
function relMaxDiff(label: string, a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  console.log(`onnx ${label}: max |onnxruntime - osteo| = ${d.toExponential(3)} at output scale ${scale.toExponential(3)} (${(d / scale).toExponential(3)} relative)`);
  return d / scale;
}

describe('ONNX export', () => {
  test('onnxruntime-node (CPU) gives osteo’s heatmaps: BN folded, batch 1', async () => {
    const x = uniform(S * S, 21, -1.5, 2);
    const e = exportOnnx(source);
    const ref = await osteoForward(x, 1);
    const got = await ortForward(e.bytes, x, 1);
    expect(got.dims).toEqual([1, 3, S, S]);
    expect(relMaxDiff('folded b1', got.out, ref)).toBeLessThan(1e-4);
  });

  test('BatchNormalization nodes kept, and a dynamic batch of 2', async () => {
    const x = uniform(2 * S * S, 22, -1.5, 2);
    const ref = await osteoForward(x, 2);
    const e = exportOnnx(source, { batchNorm: 'keep', dynamicBatch: true, opset: 13 });
    expect(e.input.shape).toEqual(['batch', 1, S, S]);
    const got = await ortForward(e.bytes, x, 2);
    expect(got.dims).toEqual([2, 3, S, S]);
    expect(relMaxDiff('BN kept b2', got.out, ref)).toBeLessThan(1e-4);
    // the two images are not mixed up: each half differs from the other
    expect(got.out.slice(0, 3 * S * S)).not.toEqual(got.out.slice(3 * S * S));
  });

  test('the file: opset, IR version, op list, names, metadata_props', () => {
    const e = exportOnnx(source, { producerVersion: '9.9.9' });
    const m = fromBinary(ModelProtoSchema, e.bytes);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect(Number(m.irVersion)).toBe(8);
    expect(m.producerName).toBe('osteo');
    expect(m.producerVersion).toBe('9.9.9');
    const ops: Record<string, number> = {};
    for (const n of m.graph!.node) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
    // 16 encoder convs + 22 decoder convs + head; 11 decoder nodes upsample, 10 concat skips (x_0_4 has none)
    expect(ops).toEqual({ Conv: 39, Relu: 38, MaxPool: 5, Resize: 11, Concat: 10 });
    expect(e.ops).toEqual(ops);
    expect(m.graph!.node.map((n) => n.name)).toContain('decoder.blocks.x_0_1.conv1/Conv');
    expect(m.graph!.initializer.map((t) => t.name)).toContain('encoder.features.0.weight');
    const md = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(md).toEqual(e.metadata);
    expect(JSON.parse(md.landmark_names!)).toEqual(NAMES);
    expect(JSON.parse(md.normalization!)).toEqual({ name: 'torchvision-imagenet', mean: 0.449, std: 0.226 });
    expect(md.input_size).toBe('32');
    expect(md.input_name).toBe('image');
    expect(JSON.parse(md.input_shape!)).toEqual([1, 1, 32, 32]);
    expect(md.output_name).toBe('heatmaps');
    expect(md.output).toContain('softmax over the landmark channels at each pixel');
    expect(md.preprocessing).toContain('(x - 0.449) / 0.226');
    // every weight value is stored once, plus the 4 Resize scales
    const stored = m.graph!.initializer.reduce((s, t) => s + t.rawData.length / 4, 0);
    expect(stored).toBe(e.parameters);
    const kept = exportOnnx(source, { batchNorm: 'keep' });
    expect(kept.ops.BatchNormalization).toBe(22);
  });

  test('refuses what it cannot export, naming the tensor or option', () => {
    const missing = new Map(weights);
    missing.delete('decoder.blocks.x_1_2.conv2.1.running_var');
    expect(() => exportOnnx({ ...source, tensors: missing })).toThrow(new OnnxExportError('tensor decoder.blocks.x_1_2.conv2.1.running_var is missing (expected shape [16])'));
    const short = new Map(weights).set('segmentation_head.0.bias', new Float32Array(2));
    expect(() => exportOnnx({ ...source, tensors: short })).toThrow(/segmentation_head\.0\.bias holds 2 values, shape \[3\] needs 3/);
    expect(() => exportOnnx(source, { opset: 11 })).toThrow(/opset 11 is not supported; use 13–21/);
    expect(() => exportOnnx(source, { size: 48 })).toThrow(/input size 48 must be a positive multiple of 32/);
    const { train: _, ...noTrain } = source;
    expect(() => exportOnnx(noTrain)).toThrow(/input size is unknown/);
  });
});

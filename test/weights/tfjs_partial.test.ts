/**
 * A TF.js model whose manifest names shards that are absent (a partial copy: here the first 8 conv
 * layers only): the complete layers are converted, the others listed; a file with no complete
 * layer is refused; `--init imagenet` loads what is there and starts the rest from scratch, saying
 * which. And the first conv on grey input sees an X-ray as the Keras model sees it in B, G, R.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertWeights } from '../../src/node/weights_convert';
import { readWeightsFile } from '../../src/node/weights_io';
import { loadImagenetEncoder } from '../../src/train/init';
import {
  CAFFE_NORMALIZATION, grayNormalization, normalizationFromMetadata, readSafetensors, readTfjsLayers, toGreyExact, vgg19Convs, WeightFileError,
} from '../../src/weights/index';
import { itShared, SHARED_DATA } from '../helpers/shared_data';
import { uniform } from '../helpers/random';
import { SMALL, randomKerasLayers, type KerasLayer } from './fixtures';

const root = mkdtempSync(join(tmpdir(), 'osteo-tfjs-partial-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One weight group (one shard) per layer, as the published VGG19 tfjs model has; the first `present` shards exist. */
function perLayerTfjs(layers: KerasLayer[], present: number): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const manifest = layers.map((l, i) => {
    const path = `group${i + 1}-shard1of1`;
    if (i < present) {
      const bin = new Uint8Array(l.kernel.byteLength + l.bias.byteLength);
      bin.set(new Uint8Array(l.kernel.buffer, l.kernel.byteOffset, l.kernel.byteLength), 0);
      bin.set(new Uint8Array(l.bias.buffer, l.bias.byteOffset, l.bias.byteLength), l.kernel.byteLength);
      files.set(path, bin);
    }
    return { paths: [path], weights: [{ name: `${l.name}/kernel`, shape: l.kshape, dtype: 'float32' }, { name: `${l.name}/bias`, shape: [l.bias.length], dtype: 'float32' }] };
  });
  // the dense head's groups, absent as in the real partial copy
  manifest.push({ paths: ['group17-shard1of2', 'group17-shard2of2'], weights: [{ name: 'fc1/kernel', shape: [4, 4], dtype: 'float32' }, { name: 'fc1/bias', shape: [4], dtype: 'float32' }] });
  files.set('model.json', new TextEncoder().encode(JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: manifest })));
  return files;
}

const layers = randomKerasLayers(SMALL, 3);
const convs = vgg19Convs(SMALL);

describe('partial tfjs models', () => {
  it('converts the complete layers and lists the absent ones', () => {
    const got = readTfjsLayers(perLayerTfjs(layers, 8), { spec: SMALL });
    expect([...got.tensors.keys()].sort()).toEqual(convs.slice(0, 8).flatMap((c) => [`${c.canonical}.bias`, `${c.canonical}.weight`]).sort());
    expect(got.report.absent!.layers).toEqual([...convs.slice(8).map((c) => c.keras), 'fc1']);
    expect(got.report.absent!.shards).toContain('group9-shard1of1');
    expect(got.report.missing).toHaveLength(16);
    // the bias of a present layer is the file's, exactly
    expect([...got.tensors.get('encoder.features.16.bias')!.data]).toEqual([...layers[7]!.bias]);
  });

  it('refuses a file with no complete layer, and a shard that is present but short', () => {
    expect(() => readTfjsLayers(perLayerTfjs(layers, 0), { spec: SMALL })).toThrow(/no complete layer/);
    const files = perLayerTfjs(layers, 8);
    files.set('group3-shard1of1', files.get('group3-shard1of1')!.slice(4));
    expect(() => readTfjsLayers(files, { spec: SMALL })).toThrow(WeightFileError);
    expect(() => readTfjsLayers(files, { spec: SMALL })).toThrow(/group3-shard1of1.*bytes but the manifest describes/);
  });

  it('osteo weights convert writes the partial file with the layers it holds; --init imagenet starts the rest from scratch', async () => {
    const dir = join(root, 'model');
    mkdirSync(dir);
    for (const [name, bytes] of perLayerTfjs(layers, 8)) writeFileSync(join(dir, name), bytes);
    const r = await convertWeights(dir, { out: join(root, 'partial.safetensors'), spec: SMALL });
    expect(r.partial!.converted).toEqual(convs.slice(0, 8).map((c) => c.canonical));
    expect(r.partial!.absent).toEqual(convs.slice(8).map((c) => c.canonical));
    expect(r.summary).toMatch(/PARTIAL: 8 conv layers converted/);
    const md = readSafetensors(new Uint8Array(readFileSync(r.out))).metadata;
    expect(md.absent_layers!.split(',')).toHaveLength(8);
    // a file with nothing: refused with the reason
    const none = join(root, 'none');
    mkdirSync(none);
    writeFileSync(join(none, 'model.json'), perLayerTfjs(layers, 0).get('model.json')!);
    await expect(convertWeights(none, { out: join(root, 'none.safetensors'), spec: SMALL })).rejects.toThrow(/no complete layer/);

    // --init imagenet with the partial file: the loaded layers are the file's, the rest untouched
    const loaded = await readWeightsFile(r.out, { spec: SMALL });
    const loads = new Map<string, Float32Array>();
    const model = { config: { widths: SMALL.widths!, inChannels: 1 }, params: { load: (n: string, d: Float32Array) => loads.set(n, d) } };
    const res = loadImagenetEncoder(model as never, loaded, r.out);
    expect(res.imagenetLayers).toEqual(convs.slice(0, 8).map((c) => c.canonical));
    expect(res.scratchLayers).toEqual(convs.slice(8).map((c) => c.canonical));
    expect(res.describe).toMatch(/PARTIAL: 8 conv layers from ImageNet .* 8 from scratch/);
    expect([...loads.keys()].some((n) => n.startsWith('encoder.features.19'))).toBe(false);
    expect([...loads.get('encoder.features.2.weight')!]).toEqual([...loaded.tensors.get('encoder.features.2.weight')!.data]);
    expect(loads.get('encoder.features.0.weight')!.length).toBe(9 * SMALL.widths![0]!); // one input channel
  });
});

/** Keras' first conv at an interior pixel of a BGR image in [0, 255] minus the means: HWIO kernel, bias. */
function kerasConv1(kernel: Float32Array, bias: Float32Array, cout: number, bgr: (y: number, x: number, c: number) => number, y: number, x: number): number[] {
  const means = [103.939, 116.779, 123.68];
  return Array.from({ length: cout }, (_, o) => {
    let s = bias[o]!;
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) for (let c = 0; c < 3; c++) s += kernel[((dy * 3 + dx) * 3 + c) * cout + o]! * (bgr(y + dy - 1, x + dx - 1, c) - means[c]!);
    return s;
  });
}

/** osteo's first conv (OIHW, 1 channel) on a grey image in [0, 1], normalised once. */
function greyConv1(w: Float32Array, b: Float32Array, cout: number, grey: (y: number, x: number) => number, mean: number, std: number, y: number, x: number): number[] {
  return Array.from({ length: cout }, (_, o) => {
    let s = b[o]!;
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += w[o * 9 + dy * 3 + dx]! * ((grey(y + dy - 1, x + dx - 1) - mean) / std);
    return s;
  });
}

describe("grey input: Keras' BGR / 0–255 convention holds for the first conv", () => {
  const check = (kernel: Float32Array, bias: Float32Array, cout: number, oihwRgb: Float32Array) => {
    const grey = (y: number, x: number) => ((y * 7 + x * 13) % 17) / 16; // an X-ray-like patch in [0, 1]
    const folded = toGreyExact(new Map([['encoder.features.0.weight', { shape: [cout, 3, 3, 3], data: oihwRgb }], ['encoder.features.0.bias', { shape: [cout], data: bias }]]), CAFFE_NORMALIZATION);
    const n = grayNormalization(CAFFE_NORMALIZATION);
    for (const [y, x] of [[2, 3], [5, 5], [9, 1]] as const) {
      const want = kerasConv1(kernel, bias, cout, (yy, xx) => 255 * grey(yy, xx), y, x);
      const got = greyConv1(folded.get('encoder.features.0.weight')!.data, folded.get('encoder.features.0.bias')!.data, cout, grey, n.mean[0]!, n.std[0]!, y, x);
      got.forEach((v, o) => expect(v).toBeCloseTo(want[o]!, 2));
    }
  };

  it('on generated Keras weights (converted through the tfjs reader, BGR → RGB)', () => {
    const cout = SMALL.widths![0]!;
    const kernel = uniform(27 * cout, 77, -0.3, 0.3), bias = uniform(cout, 78, -1, 1);
    const l0: KerasLayer = { name: 'block1_conv1', kshape: [3, 3, 3, cout], kernel, bias };
    const got = readTfjsLayers(perLayerTfjs([l0, ...layers.slice(1)], 16), { spec: SMALL });
    expect(normalizationFromMetadata(got.metadata).name).toBe('caffe-imagenet');
    check(kernel, bias, cout, got.tensors.get('encoder.features.0.weight')!.data);
  });

  itShared('on the real ImageNet VGG19 blocks 1–3 (TF.js, 8 of 16 layers)', async () => {
    const dir = join(SHARED_DATA, 'vgg19-imagenet-blocks1-3');
    const loaded = await readWeightsFile(dir);
    expect(loaded.report.absent!.layers.slice(0, 8)).toEqual(['block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_conv4', 'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4']);
    expect([...loaded.tensors.keys()].filter((k) => k.endsWith('.weight'))).toHaveLength(8);
    const shard = new Uint8Array(readFileSync(join(dir, 'group1-shard1of1')));
    const f = new Float32Array(shard.buffer, shard.byteOffset, shard.byteLength / 4);
    const kernel = f.slice(0, 27 * 64), bias = f.slice(27 * 64, 27 * 64 + 64);
    check(kernel, bias, 64, loaded.tensors.get('encoder.features.0.weight')!.data);
    const r = await convertWeights(dir, { out: join(root, 'real-partial.safetensors') });
    expect(r.partial!.converted).toEqual(['encoder.features.0', 'encoder.features.2', 'encoder.features.5', 'encoder.features.7', 'encoder.features.10', 'encoder.features.12', 'encoder.features.14', 'encoder.features.16']);
    expect(r.parameters).toBe(2325568);
  });
});

import { describe, expect, it } from 'vitest';
import { WeightFileError, f32ToF16, readKerasH5, readTfjsLayers, readWeights, reportOk, sniffFormat } from '../../src/weights/index';
import { SMALL, kerasH5Bytes, randomKerasLayers, tfjsFiles } from './fixtures';

const layers = randomKerasLayers(SMALL, 5);

describe('tfjs layers model (model.json + 2 shards)', () => {
  it('gives exactly the tensors of the same weights read from Keras .h5', async () => {
    const files = tfjsFiles(layers, 2);
    expect(sniffFormat(files.get('model.json')!, 'model.json')).toBe('tfjs-layers');
    const got = await readWeights(files, { file: 'model.json', spec: SMALL });
    expect(got.format).toBe('tfjs-layers');
    expect(reportOk(got.report)).toBe(true);
    expect(got.report.unexpected).toEqual([]);
    const ref = await readKerasH5(await kerasH5Bytes(layers), { spec: SMALL });
    expect(got.tensors.size).toBe(32);
    for (const [k, t] of ref.tensors) {
      expect(got.tensors.get(k)!.shape).toEqual(t.shape);
      expect([...got.tensors.get(k)!.data]).toEqual([...t.data]);
    }
    expect(got.metadata).toMatchObject({ source_format: 'tfjs-layers', normalization: 'caffe-imagenet', color_order: 'RGB', first_conv: 'permuted-bgr-to-rgb' });
  });

  it('HWIO → OIHW with BGR → RGB, checked element by element on block1_conv1', () => {
    const got = readTfjsLayers(tfjsFiles(layers, 3, 'vgg19/'), { spec: SMALL });
    const w = got.tensors.get('encoder.features.0.weight')!;
    const l = layers[0]!;
    const co = l.kshape[3]!;
    for (let o = 0; o < co; o++)
      for (let i = 0; i < 3; i++)
        for (let y = 0; y < 3; y++)
          for (let x = 0; x < 3; x++) expect(w.data[((o * 3 + i) * 3 + y) * 3 + x]).toBe(l.kernel[((y * 3 + x) * 3 + (2 - i)) * co + o]);
  });

  it('float16 and uint8 quantised weights are dequantised', () => {
    const files = tfjsFiles(layers, 1);
    const doc = JSON.parse(new TextDecoder().decode(files.get('model.json')!));
    // Re-encode: block1_conv1/kernel as float16, block1_conv1/bias as uint8 (scale, min), rest float32.
    const parts: Uint8Array[] = [];
    for (const [wi, w] of (doc.weightsManifest[0].weights as { name: string; shape: number[] }[]).entries()) {
      const l = layers[Math.floor(wi / 2)]!;
      const v = wi % 2 ? l.bias : l.kernel;
      if (wi === 0) {
        Object.assign(w, { quantization: { dtype: 'float16', original_dtype: 'float32' } });
        parts.push(new Uint8Array(new Uint16Array(Array.from(v, f32ToF16)).buffer));
      } else if (wi === 1) {
        Object.assign(w, { quantization: { dtype: 'uint8', scale: 0.5, min: -1 } });
        parts.push(Uint8Array.from(v, (_, j) => j));
      } else parts.push(new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)));
    }
    const bin = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) (bin.set(p, o), (o += p.length));
    const got = readTfjsLayers(
      new Map([['model.json', new TextEncoder().encode(JSON.stringify({ ...doc, weightsManifest: [{ paths: ['w.bin'], weights: doc.weightsManifest[0].weights }] }))], ['w.bin', bin]]),
      { spec: SMALL },
    );
    expect(reportOk(got.report)).toBe(true);
    expect([...got.tensors.get('encoder.features.0.bias')!.data]).toEqual([-1, -0.5, 0, 0.5, 1]);
    const w = got.tensors.get('encoder.features.0.weight')!.data;
    const co = layers[0]!.kshape[3]!;
    expect(w[0]).toBeCloseTo(layers[0]!.kernel[2 * co]!, 3); // [o=0][i=R][0][0] ← HWIO [0][0][B=2][0]
  });
});

describe('tfjs layers model: hostile files', () => {
  const withJson = (mut: (doc: any) => void, shards?: Map<string, Uint8Array>) => {
    const files = shards ?? tfjsFiles(layers, 2);
    const doc = JSON.parse(new TextDecoder().decode(files.get('model.json')!));
    mut(doc);
    files.set('model.json', new TextEncoder().encode(JSON.stringify(doc)));
    return files;
  };
  const rejects = (files: Map<string, Uint8Array>, pattern: RegExp) => {
    try {
      readTfjsLayers(files, { spec: SMALL });
    } catch (e) {
      expect(e).toBeInstanceOf(WeightFileError);
      expect((e as Error).message).toMatch(/^model\.json: /);
      expect((e as Error).message).toMatch(pattern);
      return;
    }
    throw new Error('expected an error');
  };

  it('invalid JSON', () => rejects(new Map([['model.json', new TextEncoder().encode('{"weightsManifest": [')]]), /not valid JSON/));
  it('no manifest', () => rejects(withJson((d) => delete d.weightsManifest), /no weightsManifest/));
  it('missing shard: its group is absent; with no complete layer left the file is refused, naming the shard', () => {
    const f = tfjsFiles(layers, 2);
    f.delete('group1-shard2of2.bin');
    rejects(f, /no complete layer: .*group1-shard2of2\.bin/);
  });
  it('truncated shard', () => {
    const f = tfjsFiles(layers, 2);
    f.set('group1-shard2of2.bin', f.get('group1-shard2of2.bin')!.slice(0, 100));
    rejects(f, /hold \d+ bytes but the manifest describes \d+/);
  });
  it('hostile shape cannot make it allocate', () => rejects(withJson((d) => (d.weightsManifest[0].weights[0].shape = [1e9, 1e9, 1e9, 3])), /manifest describes/));
  it('path traversal in shard paths', () => rejects(withJson((d) => (d.weightsManifest[0].paths[0] = '../../etc/passwd')), /plain relative path/));
  it('absolute shard paths', () => rejects(withJson((d) => (d.weightsManifest[0].paths[0] = '/etc/passwd')), /plain relative path/));
  it('duplicate weight names', () => rejects(withJson((d) => (d.weightsManifest[0].weights[2].name = d.weightsManifest[0].weights[0].name)), /duplicate weight name block1_conv1\/kernel/));
  it('unknown dtype', () => rejects(withJson((d) => (d.weightsManifest[0].weights[1].dtype = 'complex64')), /unknown dtype "complex64"/));
  it('bad quantisation', () => rejects(withJson((d) => (d.weightsManifest[0].weights[1].quantization = { dtype: 'uint8' })), /finite scale and min/));
  it('channels-first kernel', () =>
    rejects(withJson((d) => (d.weightsManifest[0].weights[0].shape = [5, 3, 3, 3])), /channels-first kernel/));
  it('NaN in a shard', () => {
    const f = tfjsFiles(layers, 1);
    const bin = f.get('group1-shard1of1.bin')!;
    new DataView(bin.buffer, bin.byteOffset).setFloat32(4 * 3, NaN, true);
    rejects(f, /block1_conv1\/kernel has a non-finite value \(NaN\) at flat index 3/);
  });
});

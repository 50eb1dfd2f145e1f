import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertWeights } from '../../src/node/weights_convert';
import { readWeightsFile, writeFileAtomic } from '../../src/node/weights_io';
import { WeightFileError, readSafetensors, readWeights } from '../../src/weights/index';
import { SMALL, SMALL_DECODER, kerasH5Bytes, randomKerasLayers, safetensorsBytes, smpTensors, tfjsFiles, torchvisionTensors } from './fixtures';

const root = mkdtempSync(join(tmpdir(), 'osteo-convert-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const noTemps = (dir: string) => expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

describe('convertWeights', () => {
  it('Keras .h5 → weights/vgg19-imagenet.safetensors with full metadata', async () => {
    const dir = join(root, 'k');
    mkdirSync(dir);
    const layers = randomKerasLayers(SMALL, 9);
    writeFileSync(join(dir, 'vgg19_notop.h5'), await kerasH5Bytes(layers));
    const r = await convertWeights(join(dir, 'vgg19_notop.h5'), { weightsDir: join(dir, 'weights'), spec: SMALL });
    expect(r.out).toBe(join(dir, 'weights', 'vgg19-imagenet.safetensors'));
    expect(r).toMatchObject({ sourceFormat: 'keras-h5', architecture: 'vgg19-features', inputChannels: 3, tensors: 32, missing: [], mismatched: [] });
    const f = readSafetensors(new Uint8Array(readFileSync(r.out)));
    expect(f.metadata).toMatchObject({
      format: 'osteo-weights', architecture: 'vgg19-features', source_format: 'keras-h5', normalization: 'caffe-imagenet',
      color_order: 'RGB', input_channels: '3', source_file: 'vgg19_notop.h5', source_sha256: r.sourceSha256,
    });
    expect(r.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    // The written file reads back as the engine's format, identical to a direct read.
    const direct = await readWeights(new Uint8Array(readFileSync(join(dir, 'vgg19_notop.h5'))), { spec: SMALL });
    for (const [k, t] of direct.tensors) expect([...f.tensors.get(k)!.data]).toEqual([...t.data]);
    noTemps(join(dir, 'weights'));
    // Converting the engine's own file again is a no-op on the tensors.
    const again = await convertWeights(r.out, { out: join(dir, 'again.safetensors'), spec: SMALL });
    expect(again.sourceFormat).toBe('osteo-safetensors');
    expect(readSafetensors(new Uint8Array(readFileSync(again.out))).tensors.size).toBe(32);
  });

  it('--channels 1 sums the first conv and records grey normalisation', async () => {
    const dir = join(root, 't');
    mkdirSync(dir);
    const src = torchvisionTensors(SMALL, 3);
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(src));
    const r = await convertWeights(join(dir, 'model.safetensors'), { weightsDir: dir, inputChannels: 1, spec: SMALL });
    expect(r.out).toBe(join(dir, 'vgg19-imagenet-1ch.safetensors'));
    const f = readSafetensors(new Uint8Array(readFileSync(r.out)));
    expect(f.metadata).toMatchObject({ input_channels: '1', color_order: 'GRAY', first_conv: 'summed-over-rgb', source_format: 'torchvision-safetensors' });
    expect(JSON.parse(f.metadata.input_mean!)[0]).toBeCloseTo(0.449, 6);
    const w0 = src.get('features.0.weight')!.data;
    const g = f.tensors.get('encoder.features.0.weight')!;
    expect(g.shape).toEqual([5, 1, 3, 3]);
    expect(g.data[4]).toBeCloseTo(w0[4]! + w0[13]! + w0[22]!, 6);
    // and it cannot go back to 3 channels
    await expect(convertWeights(r.out, { out: join(dir, 'x.safetensors'), inputChannels: 3, spec: SMALL })).rejects.toThrow(/cannot be expanded back to RGB/);
  });

  it('tfjs model directory (model.json + shards) and smp state_dict', async () => {
    const dir = join(root, 'j');
    mkdirSync(join(dir, 'tfjs'), { recursive: true });
    for (const [n, b] of tfjsFiles(randomKerasLayers(SMALL, 4), 2)) writeFileSync(join(dir, 'tfjs', n), b);
    const r = await convertWeights(join(dir, 'tfjs'), { out: join(dir, 'tfjs.safetensors'), spec: SMALL });
    expect(r).toMatchObject({ sourceFormat: 'tfjs-layers', tensors: 32 });
    writeFileSync(join(dir, 'unetpp.safetensors'), safetensorsBytes(smpTensors(19)));
    const s = await convertWeights(join(dir, 'unetpp.safetensors'), { weightsDir: dir, spec: SMALL, decoderChannels: SMALL_DECODER });
    expect(s.out).toBe(join(dir, 'unetplusplus-vgg19-unetpp.safetensors'));
    expect(s).toMatchObject({ sourceFormat: 'smp-safetensors', architecture: 'unetplusplus-vgg19' });
    expect(s.metadata.classes).toBe('19');
  });

  it('refuses incomplete or corrupt files and writes nothing', async () => {
    const dir = join(root, 'bad');
    mkdirSync(dir);
    const m = torchvisionTensors(SMALL, 3);
    m.delete('features.34.weight');
    writeFileSync(join(dir, 'partial.safetensors'), safetensorsBytes(m));
    await expect(convertWeights(join(dir, 'partial.safetensors'), { weightsDir: dir, spec: SMALL })).rejects.toThrow(/missing 1: encoder\.features\.34\.weight/);
    const good = safetensorsBytes(torchvisionTensors(SMALL, 3));
    writeFileSync(join(dir, 'cut.safetensors'), good.slice(0, good.length - 10));
    const e = await convertWeights(join(dir, 'cut.safetensors'), { weightsDir: dir, spec: SMALL }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WeightFileError);
    expect((e as Error).message).toContain('cut.safetensors');
    await expect(convertWeights(join(dir, 'nope.h5'), { weightsDir: dir })).rejects.toThrow(/cannot read \(ENOENT\)/);
    expect(readdirSync(dir).sort()).toEqual(['cut.safetensors', 'partial.safetensors']);
  });

  it('tfjs shards cannot be read from outside the model directory', async () => {
    const dir = join(root, 'trav');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['../secret.bin'], weights: [] }] }));
    await expect(readWeightsFile(join(dir, 'model.json'))).rejects.toThrow(/plain relative path/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole and leaves no temp file; a failed write keeps the old file', async () => {
    const dir = join(root, 'atomic');
    const p = join(dir, 'sub', 'f.bin');
    await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(p, new Uint8Array([4, 5]));
    expect([...readFileSync(p)]).toEqual([4, 5]);
    noTemps(join(dir, 'sub'));
    // Writing into a path whose parent is a file fails; the original is untouched.
    await expect(writeFileAtomic(join(p, 'x'), new Uint8Array([9]))).rejects.toThrow();
    expect([...readFileSync(p)]).toEqual([4, 5]);
    expect(existsSync(join(p, 'x'))).toBe(false);
  });
});

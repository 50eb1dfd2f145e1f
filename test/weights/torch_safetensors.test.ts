import { describe, expect, it } from 'vitest';
import {
  WeightFileError,
  readOsteoSafetensors,
  readSmpSafetensors,
  readTorchvisionSafetensors,
  readWeights,
  reportOk,
  sniffFormat,
  writeSafetensors,
} from '../../src/weights/index';
import { SMALL, SMALL_DECODER, safetensorsBytes, smpTensors, torchvisionTensors } from './fixtures';

describe('torchvision / timm safetensors', () => {
  const src = torchvisionTensors(SMALL, 7);
  const bytes = safetensorsBytes(src, { format: 'pt' });

  it('renames features.N → encoder.features.N, keeps values and OIHW layout, ignores the classifier', async () => {
    expect(sniffFormat(bytes, 'model.safetensors')).toBe('torchvision-safetensors');
    const got = await readWeights(bytes, { file: 'model.safetensors', spec: SMALL });
    expect(got.format).toBe('torchvision-safetensors');
    expect(reportOk(got.report)).toBe(true);
    expect(got.report.unexpected.sort()).toEqual(['head.fc.weight', 'pre_logits.fc1.weight']);
    expect(got.tensors.size).toBe(32);
    for (const [k, t] of src) {
      if (!k.startsWith('features.')) continue;
      expect(got.tensors.get(`encoder.${k}`)!.shape).toEqual([...t.shape]);
      expect([...got.tensors.get(`encoder.${k}`)!.data]).toEqual([...t.data]);
    }
    expect(got.metadata).toMatchObject({ normalization: 'torchvision-imagenet', color_order: 'RGB', input_mean: '[0.485,0.456,0.406]', input_std: '[0.229,0.224,0.225]' });
  });

  it('accepts DataParallel (module.) prefixes', () => {
    const halves = new Map([...src].filter(([k]) => k.startsWith('features.')).map(([k, t]) => [`module.${k}`, t]));
    const got = readTorchvisionSafetensors(safetensorsBytes(halves), { spec: SMALL });
    expect(reportOk(got.report)).toBe(true);
    expect(got.report.unexpected).toEqual([]);
  });

  it('reports a missing and a mis-shaped tensor', () => {
    const m = new Map(src);
    m.delete('features.30.bias');
    m.set('features.5.weight', { shape: [6, 5, 1, 1], data: new Float32Array(30) });
    const got = readTorchvisionSafetensors(safetensorsBytes(m), { spec: SMALL });
    expect(got.report.missing).toEqual(['encoder.features.30.bias']);
    expect(got.report.mismatched).toEqual([{ name: 'encoder.features.5.weight', expected: [6, 5, 3, 3], got: [6, 5, 1, 1] }]);
  });
});

describe('smp UnetPlusPlus state_dict', () => {
  const src = smpTensors(3, 11);
  const bytes = safetensorsBytes(src);

  it('reads every encoder, decoder and head tensor under its own name', () => {
    expect(sniffFormat(bytes, 'unetpp.safetensors')).toBe('smp-safetensors');
    const got = readSmpSafetensors(bytes, { spec: SMALL, decoderChannels: SMALL_DECODER });
    expect(reportOk(got.report)).toBe(true);
    expect(got.report.unexpected).toEqual([]);
    expect(got.tensors.size).toBe(src.size);
    for (const [k, t] of src) expect([...got.tensors.get(k)!.data]).toEqual([...t.data]);
    expect(got.tensors.get('decoder.blocks.x_0_0.conv1.1.num_batches_tracked')).toMatchObject({ shape: [], dtype: 'I64' });
    expect(got.metadata).toMatchObject({ architecture: 'unetplusplus-vgg19', classes: '3', input_channels: '3' });
  });

  it('a decoder tensor with the wrong shape is named in the report', () => {
    const m = new Map(src);
    m.set('decoder.blocks.x_1_2.conv1.0.weight', { shape: [9, 4, 3, 3], data: new Float32Array(324) });
    m.delete('decoder.blocks.x_2_2.conv2.1.running_var');
    const got = readSmpSafetensors(safetensorsBytes(m), { spec: SMALL, decoderChannels: SMALL_DECODER });
    expect(got.report.mismatched.map((x) => x.name)).toEqual(['decoder.blocks.x_1_2.conv1.0.weight']);
    expect(got.report.missing).toEqual(['decoder.blocks.x_2_2.conv2.1.running_var']);
  });

  it('round-trips through the engine format with I64 num_batches_tracked', () => {
    const got = readSmpSafetensors(bytes, { spec: SMALL, decoderChannels: SMALL_DECODER });
    const out = writeSafetensors(got.tensors, got.metadata);
    expect(sniffFormat(out, 'x.safetensors')).toBe('osteo-safetensors');
    const back = readOsteoSafetensors(out, { spec: SMALL, decoderChannels: SMALL_DECODER });
    expect(reportOk(back.report)).toBe(true);
    expect(back.metadata).toEqual(got.metadata);
    for (const [k, t] of got.tensors) expect([...back.tensors.get(k)!.data]).toEqual([...t.data]);
    const h = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + Number(new DataView(out.buffer).getBigUint64(0, true)))));
    expect(h['decoder.blocks.x_0_0.conv1.1.num_batches_tracked'].dtype).toBe('I64');
  });

  it('engine files whose metadata contradicts the weights are rejected', () => {
    const got = readSmpSafetensors(bytes, { spec: SMALL, decoderChannels: SMALL_DECODER });
    const out = writeSafetensors(got.tensors, { ...got.metadata, input_channels: '1' });
    expect(() => readOsteoSafetensors(out, { spec: SMALL, decoderChannels: SMALL_DECODER, file: 'm.safetensors' })).toThrow(/metadata says 1 input channels, first conv has 3/);
  });
});

describe('format sniffing', () => {
  const err = (b: Uint8Array, name: string, re: RegExp) => {
    expect(() => sniffFormat(b, name)).toThrow(WeightFileError);
    expect(() => sniffFormat(b, name)).toThrow(re);
  };
  it('PyTorch zip and pickle checkpoints get a conversion recipe', () => {
    err(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]), 'vgg19-dcbee2ad.pth', /PyTorch zip checkpoint.*save_file/);
    err(new Uint8Array([0x80, 2, 0x8a, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0]), 'old.pth', /pickle.*safetensors/);
    err(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]), 'vgg.keras', /\.keras archive; unzip/);
  });
  it('unknown safetensors names, HTML error pages, and truncated safetensors', () => {
    err(safetensorsBytes(new Map([['foo.weight', { shape: [1], data: new Float32Array(1) }]])), 'x.safetensors', /neither torchvision VGG19/);
    err(new TextEncoder().encode('<!DOCTYPE html><html>rate limited</html>'), 'vgg.h5', /not an HDF5 file/);
    const b = safetensorsBytes(torchvisionTensors(SMALL, 1, false));
    err(b.slice(0, 100), 'model.safetensors', /runs past the end/);
    err(new Uint8Array(20), 'weights.bin', /unrecognised weight file/);
  });
});

import { describe, expect, it } from 'vitest';
import {
  BGR_TO_RGB,
  CAFFE_NORMALIZATION,
  TORCHVISION_NORMALIZATION,
  canonicalMetadata,
  grayNormalization,
  hwioToOihw,
  normalizationFromMetadata,
  numel,
  permuteInputChannels,
  singleChannelMetadata,
  toSingleChannel,
  unetPlusPlusBlocks,
  unetPlusPlusExpected,
  vgg19Convs,
  vgg19Expected,
} from '../../src/weights/index';
import { uniform } from '../helpers/random';
import { nchwToNhwc, nhwcToNchw, oihwToHwio, tfCpu } from '../helpers/tf';
import { assertClose } from '../helpers/compare';

describe('VGG19 table', () => {
  it('has torchvision indices, Keras names and channel counts', () => {
    const c = vgg19Convs();
    expect(c.map((x) => x.index)).toEqual([0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]);
    expect(c[0]).toMatchObject({ keras: 'block1_conv1', torch: 'features.0', canonical: 'encoder.features.0', inChannels: 3, outChannels: 64 });
    expect(c[15]).toMatchObject({ keras: 'block5_conv4', torch: 'features.34', inChannels: 512, outChannels: 512 });
    expect(c.map((x) => x.outChannels)).toEqual([64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512]);
    // torchvision's vgg19().features has 20,024,384 parameters.
    expect(vgg19Expected().reduce((a, e) => a + numel(e.shape), 0)).toBe(20_024_384);
    expect(vgg19Expected({ inputChannels: 1 })[0]).toEqual({ name: 'encoder.features.0.weight', shape: [64, 1, 3, 3] });
  });

  it('smp UnetPlusPlus table matches docs/DESIGN.md §3 and its 39.9 M parameters', () => {
    const blocks = Object.fromEntries(unetPlusPlusBlocks().map((b) => [b.name, [b.in, b.skip, b.out]]));
    expect(blocks).toEqual({
      x_0_0: [512, 512, 256], x_0_1: [256, 1024, 128], x_1_1: [512, 512, 512], x_0_2: [128, 768, 64], x_1_2: [512, 512, 256],
      x_2_2: [512, 256, 256], x_0_3: [64, 512, 32], x_1_3: [256, 384, 128], x_2_3: [256, 256, 128], x_3_3: [256, 128, 128], x_0_4: [32, 0, 16],
    });
    const t = unetPlusPlusExpected({ inputChannels: 1, classes: 19 });
    const params = t.filter((e) => !/running_|num_batches/.test(e.name)).reduce((a, e) => a + numel(e.shape), 0);
    expect(params / 1e6).toBeCloseTo(39.9, 1);
    expect(t.find((e) => e.name === 'decoder.blocks.x_0_1.conv1.0.weight')!.shape).toEqual([128, 1280, 3, 3]);
    expect(t.find((e) => e.name === 'segmentation_head.0.weight')!.shape).toEqual([19, 16, 3, 3]);
  });
});

describe('layout conversions', () => {
  it('HWIO → OIHW moves each element to [o][i][y][x]', () => {
    const [kh, kw, ci, co] = [3, 2, 4, 5];
    const hwio = uniform(kh * kw * ci * co, 3);
    const { data, shape } = hwioToOihw(hwio, [kh, kw, ci, co]);
    expect(shape).toEqual([co, ci, kh, kw]);
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) expect(data[((o * ci + i) * kh + y) * kw + x]).toBe(hwio[((y * kw + x) * ci + i) * co + o]);
  });

  it('BGR → RGB swaps input channels 0 and 2 of every filter', () => {
    const w = uniform(2 * 3 * 9, 4);
    const p = permuteInputChannels(w, [2, 3, 3, 3], BGR_TO_RGB);
    for (let o = 0; o < 2; o++)
      for (let k = 0; k < 9; k++) {
        expect(p[(o * 3 + 0) * 9 + k]).toBe(w[(o * 3 + 2) * 9 + k]);
        expect(p[(o * 3 + 1) * 9 + k]).toBe(w[(o * 3 + 1) * 9 + k]);
        expect(p[(o * 3 + 2) * 9 + k]).toBe(w[(o * 3 + 0) * 9 + k]);
      }
  });

  it('toSingleChannel sums the first conv over RGB and leaves the rest alone', () => {
    const w = uniform(4 * 3 * 9, 5);
    const other = { shape: [4], data: uniform(4, 6) };
    const m = toSingleChannel(new Map([['encoder.features.0.weight', { shape: [4, 3, 3, 3], data: w }], ['encoder.features.0.bias', other]]));
    const s = m.get('encoder.features.0.weight')!;
    expect(s.shape).toEqual([4, 1, 3, 3]);
    for (let o = 0; o < 4; o++)
      for (let k = 0; k < 9; k++) expect(s.data[o * 9 + k]).toBeCloseTo(w[(o * 3) * 9 + k]! + w[(o * 3 + 1) * 9 + k]! + w[(o * 3 + 2) * 9 + k]!, 6);
    expect(m.get('encoder.features.0.bias')).toBe(other);
  });

  it('1-channel normalisation: means/stds averaged, recorded in metadata', () => {
    const g = grayNormalization(TORCHVISION_NORMALIZATION);
    expect(g.mean[0]).toBeCloseTo(0.449, 6);
    expect(g.std[0]).toBeCloseTo(0.226, 6);
    const md = singleChannelMetadata(
      canonicalMetadata({ architecture: 'vgg19-features', sourceFormat: 'keras-h5', normalization: CAFFE_NORMALIZATION, inputChannels: 3 }),
    );
    expect(md.input_channels).toBe('1');
    expect(md.color_order).toBe('GRAY');
    const n = normalizationFromMetadata(md);
    expect(n.mean[0]! * 255).toBeCloseTo((103.939 + 116.779 + 123.68) / 3, 4);
    expect(n.std[0]! * 255).toBeCloseTo(1, 6);
  });

  it('summed 1-channel conv on grey == RGB conv on the grey image replicated (same per-channel normalisation)', async () => {
    const tf = await tfCpu();
    const [co, h, wd] = [5, 7, 9];
    const w3 = uniform(co * 27, 8, -0.1, 0.1);
    const w1 = toSingleChannel(new Map([['encoder.features.0.weight', { shape: [co, 3, 3, 3], data: w3 }]])).get('encoder.features.0.weight')!;
    const grey = uniform(h * wd, 9, 0, 1);
    const n = grayNormalization(TORCHVISION_NORMALIZATION);
    const norm = grey.map((v) => (v - n.mean[0]!) / n.std[0]!);
    const rgb = new Float32Array(3 * h * wd);
    for (let c = 0; c < 3; c++) rgb.set(norm, c * h * wd);
    const y3 = tf.tidy(() => nhwcToNchw(tf, tf.conv2d(nchwToNhwc(tf, rgb, [1, 3, h, wd]), oihwToHwio(tf, w3, [co, 3, 3, 3]), 1, 'same')));
    const y1 = tf.tidy(() => nhwcToNchw(tf, tf.conv2d(nchwToNhwc(tf, norm, [1, 1, h, wd]), oihwToHwio(tf, w1.data, [co, 1, 3, 3]), 1, 'same')));
    assertClose(y1, y3, 'grey conv', { atol: 1e-5, rtol: 1e-5 });
  });
});

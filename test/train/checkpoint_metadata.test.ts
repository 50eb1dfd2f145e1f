/**
 * Checkpoint metadata is validated field by field when decoded (issue 10 F4/F5): a corrupt or
 * hand-edited file fails with the file and the field named, never with a NaN deep in training.
 */
import { describe, expect, test } from 'vitest';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type TrainSettings } from '../../src/train/checkpoint';
import { ReduceLROnPlateau } from '../../src/nn/schedule';
import { readSafetensors, writeSafetensors } from '../../src/weights/index';
import { DECODER, WIDTHS } from './helpers';

const SETTINGS: TrainSettings = {
  size: 32, sigma: 1.5, loss: 'mse', targetScale: 1, normalization: { name: 'torchvision-imagenet', mean: 0.449, std: 0.226 }, decode: 'argmax', unit: 'mm',
  landmarkNames: ['a', 'b', 'c'],
};

const GOOD = encodeCheckpoint({
  model: { classes: 3, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER },
  train: SETTINGS,
  state: {
    epoch: 1, bestMetric: 2.5, bestEpoch: 1, plateau: new ReduceLROnPlateau(1e-3).toJSON(),
    history: [{ epoch: 1, trainLoss: 0.1, valMre: 2.5, valStd: 1, valSdrPercent: { '2 mm': 50 }, unit: 'mm', lr: 1e-3, seconds: 3, imagesPerSecond: 2, best: true }],
  },
  tensors: new Map([['a.weight', new Float32Array([1, 2, 3, 4])]]),
});

/** GOOD with one metadata JSON document changed by `edit`. */
function tampered(key: string, edit: (doc: Record<string, unknown>) => void): Uint8Array {
  const st = readSafetensors(GOOD, { file: 'good' });
  const doc = JSON.parse(st.metadata[key]!) as Record<string, unknown>;
  edit(doc);
  return writeSafetensors(new Map([...st.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }])), { ...st.metadata, [key]: JSON.stringify(doc) });
}

const fails = (bytes: Uint8Array): string => {
  try {
    decodeCheckpoint(bytes, 'runs/x/ck.safetensors');
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  }
  throw new Error('decoded without an error');
};

describe('checkpoint metadata validation', () => {
  test('the untouched file decodes', () => {
    expect(decodeCheckpoint(GOOD, 'good').train.landmarkNames).toEqual(['a', 'b', 'c']);
  });

  test.each([
    ['osteo_train', (d: Record<string, any>) => (d.normalization.std = 0), /osteo_train\.normalization\.std is invalid: must be > 0/],
    ['osteo_train', (d: Record<string, any>) => (d.normalization.mean = 'x'), /osteo_train\.normalization\.mean is invalid/],
    ['osteo_train', (d: Record<string, any>) => (d.size = 33), /osteo_train\.size is invalid: must be a multiple of 32 \(got 33\)/],
    ['osteo_train', (d: Record<string, any>) => (d.sigma = -1), /osteo_train\.sigma is invalid/],
    ['osteo_train', (d: Record<string, any>) => (d.loss = 'l1'), /osteo_train\.loss is invalid.*"l1"/],
    ['osteo_train', (d: Record<string, any>) => (d.decode = undefined), /osteo_train\.decode is invalid.*got missing/],
    ['osteo_train', (d: Record<string, any>) => (d.landmarkNames = ['a']), /osteo_train\.landmarkNames is invalid: 1 names for 3 landmarks/],
    ['osteo_model', (d: Record<string, any>) => (d.classes = 0), /osteo_model\.classes is invalid/],
    ['osteo_model', (d: Record<string, any>) => (d.widths = [8, 8]), /osteo_model\.widths is invalid: must list 16 conv widths/],
    ['osteo_model', (d: Record<string, any>) => (d.decoderChannels[2] = 1.5), /osteo_model\.decoderChannels\.2 is invalid/],
    ['osteo_model', (d: Record<string, any>) => (d.inChannels = 2), /osteo_model\.inChannels is invalid/],
    ['osteo_state', (d: Record<string, any>) => (d.epoch = -1), /osteo_state\.epoch is invalid/],
    ['osteo_state', (d: Record<string, any>) => (d.history[0].unit = 'cm'), /osteo_state\.history\.0\.unit is invalid/],
    ['osteo_state', (d: Record<string, any>) => (d.plateau.numBadEpochs = 'many'), /osteo_state\.plateau\.numBadEpochs is invalid/],
  ])('%s: %s is refused naming the file and the field', (key, edit, message) => {
    const m = fails(tampered(key, edit));
    expect(m).toMatch(/^runs\/x\/ck\.safetensors: metadata /);
    expect(m).toMatch(message);
  });

  test('metadata that is not JSON, or missing, is named', () => {
    const st = readSafetensors(GOOD, { file: 'good' });
    const tensors = new Map([...st.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
    expect(fails(writeSafetensors(tensors, { ...st.metadata, osteo_state: '{"epoch":' }))).toMatch(/metadata osteo_state is not valid JSON/);
    const { osteo_model: _m, ...rest } = st.metadata;
    expect(fails(writeSafetensors(tensors, rest))).toMatch(/metadata osteo_model is missing/);
  });
});

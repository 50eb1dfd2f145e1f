/**
 * Two-stage checkpoints as bytes (no GPU): the refinement stage rides in the same safetensors file
 * under `refine.*` with `osteo_refine` metadata, the coarse tensors stay the main model's, and a
 * corrupt refinement part fails naming the file and the field.
 */
import { expect, test } from 'vitest';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type RefineSettings, type TrainSettings } from '../../src/train/checkpoint';
import { readSafetensors, writeSafetensors } from '../../src/weights/index';
import { DECODER, WIDTHS } from './helpers';

const NORM = { name: 'torchvision-imagenet', mean: 0.449, std: 0.226 };
const TRAIN: TrainSettings = { size: 64, sigma: 3, loss: 'mse', targetScale: 10, normalization: NORM, decode: 'argmax', unit: 'mm' };
const MODEL = { classes: 3, inChannels: 1 as const, widths: WIDTHS, decoderChannels: DECODER };
const REFINE: RefineSettings = {
  model: MODEL, size: 32, crop: 0.14, sigma: 3, loss: 'mse', targetScale: 30, normalization: NORM, decode: 'argmax', minConfidence: 14.7,
  coarseError: { mre: 3.7, unit: 'mm', sigmaRel: 0.013, n: 285 },
};
const STATE = { epoch: 1, bestMetric: 3.4, bestEpoch: 1, history: [] };

const pair = (refine: { settings: RefineSettings; tensors: Map<string, Float32Array> } | null = { settings: REFINE, tensors: new Map([['a.weight', new Float32Array([5, 6])]]) }) =>
  encodeCheckpoint({ model: MODEL, train: TRAIN, state: STATE, tensors: new Map([['a.weight', new Float32Array([1, 2, 3, 4])]]), ...(refine ? { refine } : {}) });

test('a two-stage file decodes into the coarse model plus its refinement stage; a one-stage file has none', () => {
  const ck = decodeCheckpoint(pair(), 'two.safetensors');
  expect([...ck.tensors.keys()]).toEqual(['a.weight']);
  expect([...ck.tensors.get('a.weight')!]).toEqual([1, 2, 3, 4]);
  expect([...ck.refine!.tensors.get('a.weight')!]).toEqual([5, 6]);
  expect(ck.refine!.settings).toMatchObject({ size: 32, crop: 0.14, minConfidence: 14.7, coarseError: { n: 285 } });
  expect(ck.train.size).toBe(64);
  expect(decodeCheckpoint(pair(null), 'one.safetensors').refine).toBeUndefined();
});

test('refine.* tensors without osteo_refine, a bad crop or another landmark count: a CheckpointError naming file and field', () => {
  const st = readSafetensors(pair(), { file: 'x' });
  const rewrite = (md: Record<string, string>) => writeSafetensors(new Map([...st.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }])), md);
  const { osteo_refine: _r, ...noRefine } = st.metadata;
  const fail = (bytes: Uint8Array): string => {
    try {
      decodeCheckpoint(bytes, 'runs/x/ck.safetensors');
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      return (e as Error).message;
    }
    throw new Error('decoded');
  };
  expect(fail(rewrite(noRefine))).toMatch(/runs\/x\/ck\.safetensors: 1 refine\.\* tensors but no osteo_refine metadata/);
  const bad = JSON.parse(st.metadata.osteo_refine!);
  expect(fail(rewrite({ ...st.metadata, osteo_refine: JSON.stringify({ ...bad, crop: 2 }) }))).toMatch(/osteo_refine\.crop is invalid/);
  expect(fail(rewrite({ ...st.metadata, osteo_refine: JSON.stringify({ ...bad, model: { ...bad.model, classes: 4 } }) }))).toMatch(/refinement stage predicts 4 landmarks, the coarse stage 3/);
});

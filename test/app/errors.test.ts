/** What the page says for each failure: library errors sorted into the cases the page handles. */
import { expect, test } from 'vitest';
import { explain } from '../../src/app/errors';
import { PointsFileError } from '../../src/app/points_io';
import { CheckpointError, DataError, LimitError, NoAdapterError, WeightFileError } from '../../src/browser';
import { DeviceLostError, OutOfMemoryError } from '../../src/gpu/errors';

test('each failure gets its kind, a message and advice', () => {
  const noGpu = explain(new NoAdapterError('navigator.gpu is missing: this browser has no WebGPU', 'no-webgpu'));
  expect(noGpu.kind).toBe('no-webgpu');
  expect(noGpu.message).toMatch(/^WebGPU is not available/);
  expect(noGpu.advice).toMatch(/Chrome.*Firefox.*Safari/);
  expect(explain(new NoAdapterError('navigator.gpu.requestAdapter() returned null')).kind).toBe('adapter');
  expect(explain(new DeviceLostError('GPU device lost (unknown)'), { what: 'a.png' })).toMatchObject({ kind: 'device-lost', message: expect.stringMatching(/^a\.png: the GPU device was lost/) });
  expect(explain(new OutOfMemoryError('GPU out of memory: allocating 4 GiB')).advice).toMatch(/smaller input size/);
  expect(explain(new CheckpointError('m.safetensors: bad header')).kind).toBe('checkpoint');
  expect(explain(new DataError('x.png', undefined, 'cannot decode image: bad')).kind).toBe('image');
  expect(explain(new PointsFileError('p.json', undefined, 'images[0] (a.png): has 2 landmarks, the model predicts 19')).kind).toBe('points');
  expect(explain('weird').message).toBe('weird');
});

test('errors are told apart by class, not by words in their messages', () => {
  // a library error of another class whose message mentions a checkpoint or a lost device stays what it is
  expect(explain(new DataError('checkpoint.png', undefined, 'the device lost a byte')).kind).toBe('image');
  expect(explain(new Error('GPU device was lost while reading the checkpoint image')).kind).toBe('other');
  expect(explain(new LimitError('conv2d: 70000 channels exceed maxComputeWorkgroupsPerDimension')).kind).toBe('out-of-memory');
  expect(explain(new WeightFileError('vgg19.h5: not a weight file')).kind).toBe('checkpoint');
});

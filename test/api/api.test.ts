/**
 * The public API in Node (src/node/api.ts, what `import … from 'osteo'` gives): input kinds,
 * checkpoint round trips through bytes and files, ImageNet encoder weights from bytes, evaluation,
 * abort, and the errors a caller sees.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine as createBrowserEngine } from '../../src/browser';
import { synthesize } from '../../src/data/synthetic';
import { ApiError, ConfigError, createEngine, createModel, DataError, DisposedError, loadModel, NoAdapterError, train, type Engine, type Model as NodeLandmarkModel } from '../../src/node/api';
import { serveFiles } from '../../src/node/chromium';
import { writeGreyPng } from '../../src/node/data_png';
import { CHECKPOINT_LAST, MemoryStore } from '../../src/node/api';
import { decodeCheckpoint } from '../../src/engine';
import { nodeEngine } from '../helpers/node_engine';
import { safetensorsBytes, torchvisionTensors } from '../weights/fixtures';

const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const DECODER = [8, 8, 4, 4, 4];
const hands = synthesize({ kind: 'hand', n: 3, size: 64, seed: 2 });
let engine: Engine;
let model: NodeLandmarkModel;

beforeAll(async () => {
  engine = await nodeEngine();
  model = createModel(engine, { landmarks: 37, size: 32, widths: WIDTHS, decoderChannels: DECODER, landmarkNames: hands.landmarkNames, seed: 4 });
});
afterAll(() => model?.dispose());

describe('predict', () => {
  test('a path, encoded bytes and grey pixels (8-bit, 16-bit, float) of the same image give the same points, in its own pixels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-api-'));
    const im = hands.images[0]!;
    // full 0..255 range, so the PNG writer's min-max scaling leaves the pixels as they are
    const lo = Math.min(...im.data), hi = Math.max(...im.data);
    const u8 = Uint8Array.from(im.data, (v) => Math.round(((v - lo) / (hi - lo)) * 255));
    writeGreyPng(join(dir, 'a.png'), { width: im.width, height: im.height, data: u8 });
    const inputs = [
      join(dir, 'a.png'),
      new Uint8Array(readFileSync(join(dir, 'a.png'))),
      { data: u8, width: im.width, height: im.height },
      { data: Uint16Array.from(u8, (v) => v * 257), width: im.width, height: im.height },
      { data: Float32Array.from(u8, (v) => v / 255), width: im.width, height: im.height },
    ];
    const out = await model.predictBatch(inputs, { heatmaps: true });
    expect(out).toHaveLength(5);
    for (const p of out) {
      expect(p.width).toBe(64);
      expect(p.names).toEqual(hands.landmarkNames);
      expect(p.heatmaps!.data.length).toBe(37 * 32 * 32);
      // probabilities, whatever the loss (this model's is the default)
      expect(p.heatmaps!.data.every((v) => v >= 0 && v <= 1)).toBe(true);
      p.points.forEach(([x, y], i) => {
        expect(Math.abs(x - out[0]!.points[i]![0])).toBeLessThan(1e-3);
        expect(Math.abs(y - out[0]!.points[i]![1])).toBeLessThan(1e-3);
      });
    }
    // a 32-px model on a 64-px image: points span the image, not the model's input
    expect(Math.max(...out[0]!.points.map(([x]) => x))).toBeGreaterThan(32);
  });

  test('a wrong input is an error naming the image and what is expected', async () => {
    await expect(model.predict({ data: new Uint8Array(10), width: 4, height: 4 })).rejects.toThrow(/image 1: 4x4 grey pixels need 16 values, got 10/);
    await expect(model.predict(42 as unknown as string)).rejects.toThrow(ApiError);
    await expect(model.predict(new Uint8Array([1, 2, 3]))).rejects.toThrow(DataError);
    await expect(model.predict(join(tmpdir(), 'no-such-image.png'))).rejects.toThrow(/no-such-image\.png/);
  });
});

describe('checkpoints', () => {
  test('save → bytes → loadModel (bytes and path) predicts exactly the same points, with names and size', async () => {
    const bytes = await model.save();
    const path = join(mkdtempSync(join(tmpdir(), 'osteo-api-ck-')), 'm.safetensors');
    writeFileSync(path, bytes);
    const image = { data: hands.images[1]!.data, width: 64, height: 64 };
    const want = await model.predict(image);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    for (const source of [bytes, buffer, path, pathToFileURL(path)]) {
      const m = await loadModel(engine, source);
      try {
        expect(m.size).toBe(32);
        expect(m.landmarkNames).toEqual(hands.landmarkNames);
        expect((await m.predict(image)).points).toEqual(want.points);
      } finally {
        m.dispose();
      }
    }
    await expect(loadModel(engine, join(tmpdir(), 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: cannot read checkpoint \(ENOENT\)/);
    // over http(s)
    const { url, server } = await serveFiles({ '/m.safetensors': { type: 'application/octet-stream', body: bytes } });
    try {
      const m = await loadModel(engine, `${url}m.safetensors`);
      expect((await m.predict(image)).points).toEqual(want.points);
      m.dispose();
      await expect(loadModel(engine, `${url}other.safetensors`)).rejects.toThrow(/other\.safetensors: HTTP 404/);
    } finally {
      server.close();
    }
    await expect(loadModel(engine, new Uint8Array(100))).rejects.toThrow(/checkpoint/);
  });

  test('ImageNet encoder weights load from the bytes of a torchvision safetensors file', async () => {
    const m = createModel(engine, { landmarks: 2, size: 32, widths: WIDTHS, decoderChannels: DECODER });
    try {
      const tensors = torchvisionTensors({ widths: WIDTHS }, 3);
      await m.loadImagenetEncoder(safetensorsBytes(tensors), 'vgg19.safetensors');
      const w = await m.network.params.read('encoder.features.2.weight');
      expect([...w.slice(0, 4)]).toEqual([...tensors.get('features.2.weight')!.data.slice(0, 4)]);
      await expect(m.loadImagenetEncoder(safetensorsBytes(torchvisionTensors({ widths: [...WIDTHS].map((x) => x * 2) }, 3)), 'wide.safetensors')).rejects.toThrow(/wide\.safetensors does not fit/);
    } finally {
      m.dispose();
    }
  });
});

test('dispose, Symbol.dispose and Symbol.asyncDispose free a model and an engine; a disposed model says so', async () => {
  const m = createModel(engine, { landmarks: 2, size: 32, widths: WIDTHS, decoderChannels: DECODER });
  m[Symbol.dispose]();
  await expect(m.predict({ data: new Uint8Array(64 * 64), width: 64, height: 64 })).rejects.toThrow(DisposedError);
  m.dispose(); // twice is fine
  const own = await createEngine();
  await own[Symbol.asyncDispose]();
  expect(() => own.tensor(new Float32Array(4), [4])).toThrow(/destroyed/);
  own.dispose();
});

describe('train and evaluate', () => {
  test('an aborted signal stops training with its reason; bad settings name the setting', async () => {
    const data = { images: hands.images, points: hands.points };
    const controller = new AbortController();
    controller.abort(new Error('stopped by the user'));
    await expect(train(engine, data, { size: 32, widths: WIDTHS, decoder: DECODER, epochs: 1 }, { signal: controller.signal })).rejects.toThrow('stopped by the user');
    // aborted after the first step of epoch 2: epoch 1's checkpoint is in the store, the run stops
    const store = new MemoryStore();
    const mid = new AbortController();
    let steps = 0;
    await expect(train(engine, data, { size: 32, widths: WIDTHS, decoder: DECODER, epochs: 3, batch: 1, accum: 1, valSplit: 0 }, {
      store, signal: mid.signal, onProgress: (p) => {
        if (p.kind === 'step' && ++steps === 4) mid.abort(new Error('enough'));
      },
    })).rejects.toThrow('enough');
    expect(steps).toBe(4);
    expect(decodeCheckpoint((await store.read(CHECKPOINT_LAST))!, 'last').state.epoch).toBe(1);
    await expect(train(engine, data, { size: 33, widths: WIDTHS, decoder: DECODER })).rejects.toThrow(ConfigError);
    await expect(train(engine, { images: hands.images, points: hands.points.slice(0, 2) }, { size: 32 })).rejects.toThrow(/3 images but 2 point lists/);
  });

  test('clipGradNorm scales each update\'s gradients: a tiny norm leaves the weights almost where they were', async () => {
    const data = { images: hands.images, points: hands.points };
    const recipe = { size: 32, epochs: 1, batch: 3, accum: 1, valSplit: 0, lr: 1e-2, weightDecay: 0, augment: false };
    const head = 'segmentation_head.0.weight';
    const before = await model.network.params.read(head);
    const moved = async (clipGradNorm?: number): Promise<number> => {
      const { model: m } = await train(engine, data, { ...recipe, ...(clipGradNorm ? { clipGradNorm } : {}) }, { init: model });
      const after = await m.network.params.read(head);
      m.dispose();
      return Math.max(...after.map((v, i) => Math.abs(v - before[i]!)));
    };
    const free = await moved();
    const clipped = await moved(1e-12);
    expect(free).toBeGreaterThan(1e-3);
    expect(clipped).toBeLessThan(free / 100);
    await expect(train(engine, data, { ...recipe, clipGradNorm: -1 })).rejects.toThrow(/--clip-grad-norm must be a positive number/);
  });

  test('evaluate: MRE, SDR and per-landmark statistics in mm when spacings are given', async () => {
    const r = await model.evaluate({ images: hands.images, points: hands.points, mmPerPixel: hands.mmPerPixel });
    expect(r.unit).toBe('mm');
    expect(r.overall.n).toBe(3 * 37);
    expect(r.perLandmark).toHaveLength(37);
    expect(r.overall.mre).toBeGreaterThan(0);
    expect(Object.keys(r.overall.sdrPercent)).toEqual(['2 mm', '2.5 mm', '3 mm', '4 mm']);
    await expect(model.evaluate({ images: hands.images, points: hands.points.map((p) => p.slice(0, 5)) })).rejects.toThrow(/5 landmarks per image, the model predicts 37/);
  });
});

test('the browser entry without navigator.gpu says WebGPU is missing', async () => {
  await expect(createBrowserEngine()).rejects.toThrow(NoAdapterError);
  await expect(createBrowserEngine()).rejects.toThrow(/navigator\.gpu is missing/);
});

import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveInit } from '../../src/node/train_io';
import { withDefaults } from '../../src/train/config';
import { initModel, LandmarkCountError } from '../../src/train/init';
import { synthesize } from '../../src/data/synthetic';
import { initializeUnetPP } from '../../src/model/init';
import { UnetPlusPlus } from '../../src/model/unetpp';
import { EarlyStopping, ReduceLROnPlateau } from '../../src/nn/schedule';
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, modelFromCheckpoint, saveCheckpoint, type TrainSettings,
} from '../../src/node/checkpoint';
import { readWeightsFile } from '../../src/node/weights_io';
import { buildSet, splitTrainVal } from '../../src/train/data';
import { LandmarkTrainer } from '../../src/train/trainer';
import { writeSafetensors } from '../../src/weights/index';
import { nodeEngine } from '../helpers/node_engine';
import { DECODER, tmp, WIDTHS } from './helpers';
import { kerasH5Bytes, randomKerasLayers } from '../weights/fixtures';

const SETTINGS: TrainSettings = {
  size: 32, sigma: 1.5, loss: 'mse', targetScale: 1, normalization: { name: 'torchvision-imagenet', mean: 0.449, std: 0.226 }, decode: 'argmax', unit: 'mm',
};

describe('checkpoint encoding (no GPU)', () => {
  test('metadata, optimizer tensors and schedule state survive a round trip, ±Infinity included', () => {
    const plateau = new ReduceLROnPlateau(1e-3, { patience: 2 });
    const early = new EarlyStopping(5);
    const bytes = encodeCheckpoint({
      model: { classes: 3, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER },
      train: SETTINGS,
      state: { epoch: 0, bestMetric: null, bestEpoch: 0, plateau: plateau.toJSON(), early: early.toJSON(), history: [] },
      tensors: new Map([['a.weight', new Float32Array([1, 2, 3, 4])], ['a.1.num_batches_tracked', new Float32Array([7])]]),
      optimizer: { type: 'adamw', lr: 1e-3, stepCount: 2, steps: { 'a.weight': 2 }, tensors: { exp_avg: { 'a.weight': new Float32Array([0.5, 0, 0, 1]) }, exp_avg_sq: { 'a.weight': new Float32Array(4).fill(2) } } },
      shapeOf: (n) => (n === 'a.weight' ? [2, 2] : undefined),
    });
    const ck = decodeCheckpoint(bytes, 'mem.safetensors');
    expect(ck.model.classes).toBe(3);
    expect(ck.train).toEqual(SETTINGS);
    expect([...ck.tensors.get('a.weight')!]).toEqual([1, 2, 3, 4]);
    expect([...ck.tensors.get('a.1.num_batches_tracked')!]).toEqual([7]);
    expect(ck.optimizer!.stepCount).toBe(2);
    expect([...ck.optimizer!.tensors.exp_avg!['a.weight']!]).toEqual([0.5, 0, 0, 1]);
    expect(ReduceLROnPlateau.fromJSON(ck.state.plateau!).best).toBe(Infinity);
    expect(EarlyStopping.fromJSON(ck.state.early!).best).toBe(Infinity);
    expect(ck.metadata.architecture).toBe('unetplusplus-vgg19');
    expect(ck.metadata.input_size).toBe('32');
  });

  test('truncated, garbage and non-checkpoint files give a clear CheckpointError naming the file', async () => {
    const dir = tmp('ckbad');
    const good = encodeCheckpoint({
      model: { classes: 2, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER },
      train: SETTINGS,
      state: { epoch: 1, bestMetric: 3, bestEpoch: 1, history: [] },
      tensors: new Map([['x', new Float32Array(64)]]),
    });
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, good);
    truncateSync(cut, good.length - 10);
    const e1 = await loadCheckpoint(cut).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(CheckpointError);
    expect((e1 as Error).message).toContain(cut);
    expect((e1 as Error).message).toMatch(/corrupt or truncated/);

    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, Buffer.from('this is not a checkpoint at all'));
    await expect(loadCheckpoint(junk)).rejects.toThrow(/junk\.safetensors.*corrupt or truncated/s);

    const plain = join(dir, 'plain.safetensors');
    writeFileSync(plain, writeSafetensors(new Map([['w', { shape: [2], data: new Float32Array(2) }]])));
    await expect(loadCheckpoint(plain)).rejects.toThrow(/not an osteo training checkpoint/);

    await expect(loadCheckpoint(join(dir, 'absent.safetensors'))).rejects.toThrow(/cannot read checkpoint \(ENOENT\)/);
  });
});

describe('checkpoint with the engine', () => {
  test('save → load gives identical predictions, BN statistics and optimizer state; the file reads as osteo weights', async () => {
    const engine = await nodeEngine();
    const syn = synthesize({ kind: 'head', n: 4, size: 48, seed: 3 });
    const set = buildSet(syn.images.map((image, i) => ({ id: String(i), image, points: syn.points[i]!, mmPerPixel: syn.mmPerPixel[i] })), 32);
    const model = new UnetPlusPlus(engine, { classes: syn.k, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER });
    initializeUnetPP(model, 5);
    const opts = { size: 32, batch: 2, lr: 1e-3, sigma: 1.5, mean: 0.449, std: 0.226, seed: 2 };
    const trainer = new LandmarkTrainer(engine, model, opts);
    const dir = tmp('ckrt');
    const path = join(dir, 'c.safetensors');
    try {
      await trainer.trainEpoch(set, 0);
      const before = await trainer.predict(set.images);
      const optState = await trainer.optimizer.state();
      const plateau = new ReduceLROnPlateau(1e-3);
      plateau.step(4.2);
      await saveCheckpoint(path, model, { train: SETTINGS, state: { epoch: 1, bestMetric: 4.2, bestEpoch: 1, plateau: plateau.toJSON(), history: [] }, optimizer: optState });

      const ck = await loadCheckpoint(path);
      expect(ck.state.epoch).toBe(1);
      expect(ReduceLROnPlateau.fromJSON(ck.state.plateau!).best).toBeCloseTo(4.2, 12);
      const model2 = modelFromCheckpoint(engine, ck);
      const trainer2 = new LandmarkTrainer(engine, model2, opts);
      try {
        const sd1 = await model.params.stateDict();
        const sd2 = await model2.params.stateDict();
        for (const [n, v] of sd1) expect(sd2.get(n), n).toEqual(v);
        const after = await trainer2.predict(set.images);
        expect(after.points).toEqual(before.points);
        after.heatmaps.forEach((h, i) => expect(h).toEqual(before.heatmaps[i]));

        trainer2.optimizer.loadState(ck.optimizer!);
        const s2 = await trainer2.optimizer.state();
        expect(s2.stepCount).toBe(optState.stepCount);
        expect(s2.steps).toEqual(optState.steps);
        expect(s2.lr).toBe(optState.lr);
        for (const kind of ['exp_avg', 'exp_avg_sq']) {
          for (const [n, v] of Object.entries(optState.tensors[kind]!)) expect(s2.tensors[kind]![n], `${kind}.${n}`).toEqual(v);
        }
        // One more identical step on both keeps them identical (moments really restored).
        await trainer.trainEpoch(set, 1);
        await trainer2.trainEpoch(set, 1);
        const p1 = await model.params.read('segmentation_head.0.weight');
        const p2 = await model2.params.read('segmentation_head.0.weight');
        expect(p2).toEqual(p1);
      } finally {
        trainer2.dispose();
        model2.dispose();
      }
      // The engine's weight readers accept the checkpoint as an smp-named UnetPlusPlus file.
      const w = await readWeightsFile(path, { spec: { widths: WIDTHS }, decoderChannels: DECODER });
      expect(w.report.missing).toEqual([]);
      expect(w.report.mismatched).toEqual([]);
      expect(w.tensors.get('segmentation_head.0.weight')!.shape).toEqual([syn.k, DECODER[4], 3, 3]);
      expect(readFileSync(path).length).toBeGreaterThan(0);
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });

  test('--init FILE reads a Keras .h5 weight file (sniffed like osteo weights convert, not taken for a corrupt checkpoint)', async () => {
    const spec = { widths: WIDTHS };
    const file = join(tmp('inith5'), 'vgg19_notop.h5');
    writeFileSync(file, await kerasH5Bytes(randomKerasLayers(spec, 3), 'keras2'));
    const init = await resolveInit(withDefaults({ data: 'synthetic:hand?n=2', init: file, size: 32, widths: WIDTHS, decoder: DECODER }));
    expect(init.kind).toBe('weights');
    if (init.kind !== 'weights') return;
    expect(init.weights.format).toBe('keras-h5');
    expect(init.weights.tensors.get('encoder.features.0.weight')!.shape).toEqual([WIDTHS[0], 3, 3, 3]);
    // a truncated safetensors file is still reported as a corrupt checkpoint
    const cut = join(tmp('initcut'), 'cut.safetensors');
    const bytes = Buffer.from(JSON.stringify({ __metadata__: { osteo_checkpoint: '1' } }));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(bytes.length + 100));
    writeFileSync(cut, Buffer.concat([head, bytes]));
    await expect(resolveInit(withDefaults({ data: 'synthetic:hand?n=2', init: cut, size: 32 }))).rejects.toThrow(/cut\.safetensors.*corrupt or truncated/);
  });

  test('K of a checkpoint ≠ K of the data is an error naming both (unless --reset-head)', async () => {
    const engine = await nodeEngine();
    const model = new UnetPlusPlus(engine, { classes: 6, inChannels: 1, widths: WIDTHS, decoderChannels: DECODER });
    initializeUnetPP(model, 1);
    const path = join(tmp('ckk'), 'k6.safetensors');
    try {
      await saveCheckpoint(path, model, { train: SETTINGS, state: { epoch: 3, bestMetric: 1, bestEpoch: 3, history: [] } });
    } finally {
      model.dispose();
    }
    const c = withDefaults({ data: 'synthetic:head?n=2', init: path, size: 32 });
    const e = await initModel(engine, c, await resolveInit(c), 19, 'synthetic:head?n=2').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LandmarkCountError);
    expect((e as Error).message).toMatch(/K=6.*synthetic:head\?n=2 has K=19/);
    const r = await initModel(engine, { ...c, resetHead: true }, await resolveInit(c), 19, 'synthetic:head?n=2');
    try {
      expect(r.model.config.classes).toBe(19);
      expect(r.model.config.widths).toEqual(WIDTHS);
      expect(r.describe).toMatch(/new head for K=19/);
      const enc = await r.model.params.read('encoder.features.0.weight');
      const ck = await loadCheckpoint(path);
      expect(enc).toEqual(ck.tensors.get('encoder.features.0.weight'));
    } finally {
      r.model.dispose();
    }
  });
});

describe('data helpers', () => {
  test('train/val split is deterministic, disjoint and complete', () => {
    const a = splitTrainVal(10, 0.2, 3);
    expect(a).toEqual(splitTrainVal(10, 0.2, 3));
    expect(a.val.length).toBe(2);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual([...Array(10).keys()]);
    expect(splitTrainVal(3, 0, 1).val).toEqual([]);
  });

  test('cached copies map back to the original pixels exactly', () => {
    const syn = synthesize({ kind: 'hand', n: 1, size: 200, seed: 1 });
    const set = buildSet([{ id: 'a', image: syn.images[0]!, points: syn.points[0]!, mmPerPixel: 0.1 }], 64);
    expect(Math.max(set.images[0]!.width, set.images[0]!.height)).toBe(96);
    const back = set.points[0]!.map((p) => {
      const m = set.toOriginal![0]!;
      return [m[0]! * p[0] + m[4]! * p[1] + m[8]!, m[1]! * p[0] + m[5]! * p[1] + m[9]!];
    });
    back.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(syn.points[0]![i]![0], 9);
      expect(p[1]).toBeCloseTo(syn.points[0]![i]![1], 9);
    });
  });
});

/**
 * `osteo export onnx`: a checkpoint file in, the ONNX file the builder makes out (written
 * atomically, next to the checkpoint by default), loadable by onnxruntime-node; bad command lines
 * are usage errors that name the flag or format.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { randomUnetPPWeights } from '../../bench/reference/tfjs_unetpp';
import { VERSION } from '../../src/cli/version';
import { exportOnnx } from '../../src/export/onnx';
import { encodeCheckpoint, type TrainSettings } from '../../src/train/checkpoint';
import { runInProcess } from '../cli/io';
import { DECODER, tmp, WIDTHS } from '../train/helpers';

const MODEL = { classes: 2, inChannels: 1 as const, widths: WIDTHS, decoderChannels: DECODER };
const TRAIN: TrainSettings = {
  size: 32, sigma: 1.5, loss: 'mse', targetScale: 1, normalization: { name: 'torchvision-imagenet', mean: 0.449, std: 0.226 }, decode: 'argmax', unit: 'px',
  landmarkNames: ['left', 'right'],
};

function checkpointFile(): string {
  const path = join(tmp('export'), 'checkpoint-best.safetensors');
  const tensors = randomUnetPPWeights(MODEL, 4);
  writeFileSync(path, encodeCheckpoint({ model: MODEL, train: TRAIN, state: { epoch: 1, bestMetric: 1, bestEpoch: 1, history: [] }, tensors }));
  return path;
}

describe('osteo export onnx', () => {
  test('writes the builder’s bytes next to the checkpoint by default; onnxruntime runs them', async () => {
    const ckpt = checkpointFile();
    const r = await runInProcess(['export', 'onnx', '--model', ckpt, '--dynamic-batch', '--opset', '13', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = ckpt.replace(/\.safetensors$/, '.onnx');
    const summary = JSON.parse(r.stdout) as { out: string; opset: number; input: { shape: unknown[] }; metadata: Record<string, string> };
    expect(summary.out).toBe(out);
    expect(summary.opset).toBe(13);
    expect(summary.input.shape).toEqual(['batch', 1, 32, 32]);
    expect(JSON.parse(summary.metadata.landmark_names!)).toEqual(['left', 'right']);
    const bytes = new Uint8Array(readFileSync(out));
    const tensors = randomUnetPPWeights(MODEL, 4);
    expect(bytes).toEqual(exportOnnx({ model: MODEL, train: TRAIN, tensors }, { opset: 13, dynamicBatch: true, producerVersion: VERSION }).bytes);
    const session = await ort.InferenceSession.create(bytes);
    const y = await session.run({ image: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [3, 1, 32, 32]) });
    expect(y.heatmaps!.dims).toEqual([3, 2, 32, 32]);
    await session.release();
  });

  test('--out, --size and --keep-batchnorm; the summary names the file and the preprocessing', async () => {
    const ckpt = checkpointFile();
    const out = join(tmp('export-out'), 'nested', 'model.onnx');
    const r = await runInProcess(['export', 'onnx', '--model', ckpt, '--out', out, '--size', '64', '--keep-batchnorm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stdout).toContain("input 'image' [1, 1, 64, 64] → output 'heatmaps' [1, 2, 64, 64]");
    expect(r.stdout).toContain('22 BatchNormalization');
    expect(r.stdout).toContain('(x - 0.449) / 0.226');
    expect(existsSync(out)).toBe(true);
  });

  test('bad command lines are usage errors naming the problem', async () => {
    const ckpt = checkpointFile();
    const cases: [string[], RegExp][] = [
      [['export', 'onnxx', '--model', ckpt], /unknown format 'onnxx'.*osteo export onnx --model CKPT/],
      [['export', 'onnx'], /--model CKPT is required/],
      [['export', 'onnx', '--model', ckpt, '--opset', '22'], /--opset must be at most 21/],
      [['export', 'onnx', '--model', ckpt, '--size', '40'], /--size 40 must be a multiple of 32/],
      [['export', 'onnx', '--model', join(tmp('export-none'), 'none.safetensors')], /--model .*none\.safetensors: no such file/],
    ];
    for (const [argv, message] of cases) {
      const r = await runInProcess(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const notCkpt = join(tmp('export-bad'), 'x.safetensors');
    writeFileSync(notCkpt, 'not a checkpoint');
    const bad = await runInProcess(['export', 'onnx', '--model', notCkpt]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(notCkpt);
  });
});

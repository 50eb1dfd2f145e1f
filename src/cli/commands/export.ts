import { exportOnnx, ONNX_OPSETS } from '../../export/onnx';
import { loadCheckpoint } from '../../node/checkpoint';
import { writeFileAtomic } from '../../node/weights_io';
import { didYouMean } from '../../data/suggest';
import { UsageError, type Command } from '../command';
import { checks, defineOptions, parseOptions } from '../options';
import { VERSION } from '../version';

const FORMATS = ['onnx'] as const;

const OPTIONS = defineOptions({
  model: { type: 'string', value: 'CKPT', required: true, description: 'osteo checkpoint to export (e.g. runs/train/checkpoint-best.safetensors)', check: checks.exists('file') },
  out: { type: 'string', value: 'FILE', defaultText: 'CKPT with .onnx in place of .safetensors', description: 'where the ONNX model is written (atomically)', check: checks.writableFile() },
  opset: { type: 'string', value: 'N', default: String(ONNX_OPSETS.default), description: `ai.onnx opset, ${ONNX_OPSETS.min}–${ONNX_OPSETS.max}`, check: checks.int(ONNX_OPSETS.min, { max: ONNX_OPSETS.max, maxWhy: 'the newest opset this exporter knows' }) },
  'dynamic-batch': { type: 'boolean', description: "a symbolic batch dimension ('batch') instead of 1" },
  'keep-batchnorm': { type: 'boolean', description: 'BatchNormalization nodes with the checkpoint\'s tensors instead of BN folded into the convolutions' },
  size: { type: 'string', value: 'N', defaultText: "the checkpoint's training size", description: 'input side in pixels (N x N), a multiple of 32', check: checks.inputSize() },
  json: { type: 'boolean', description: 'print the summary as JSON' },
});

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint as an ONNX model (onnxruntime-node / onnxruntime-web / any ONNX runtime), preprocessing and landmark names in its metadata',
  usage: 'osteo export onnx --model CKPT [--out FILE] [--opset 17] [--dynamic-batch] [--keep-batchnorm] [--size N] [--json]',
  options: OPTIONS,
  sections: [
    {
      title: 'the ONNX model',
      lines: [
        "input 'image' [N, C, S, S] float32: the grey image min-max scaled to [0, 1], fitted into S x S, then (x - mean) / std.",
        "output 'heatmaps' [N, K, S, S] float32: the head's logits, one heatmap per landmark; its peak is the landmark.",
        'metadata_props: names and shapes, input_size, normalization, preprocessing, landmark_names, loss, decode, sigma, unit.',
        'ops: Conv, Relu, MaxPool, Resize (nearest 2x, as PyTorch), Concat; BatchNormalization with --keep-batchnorm.',
      ],
    },
  ],
  examples: [
    { command: 'osteo export onnx --model runs/train/checkpoint-best.safetensors --out isbi.onnx', what: 'export for onnxruntime, batch 1 at the training size, BN folded' },
    { command: 'osteo export onnx --model runs/train/checkpoint-best.safetensors --dynamic-batch --opset 13 --json', what: 'any batch size, an older opset; print what was written as JSON' },
  ],
  async run(argv) {
    const [format, ...rest] = argv;
    if (format !== 'onnx') throw new UsageError(`unknown format '${format ?? ''}'${didYouMean(format ?? '', [...FORMATS])}: osteo export onnx --model CKPT`);
    const { values } = parseOptions(OPTIONS, rest);
    if (!values.model) throw new UsageError('--model CKPT is required');
    const out = values.out ?? `${values.model.replace(/\.safetensors$/i, '')}.onnx`;
    const ck = await loadCheckpoint(values.model);
    const e = exportOnnx(ck, {
      opset: Number(values.opset),
      dynamicBatch: !!values['dynamic-batch'],
      batchNorm: values['keep-batchnorm'] ? 'keep' : 'fold',
      ...(values.size ? { size: Number(values.size) } : {}),
      producerVersion: VERSION,
    });
    await writeFileAtomic(out, e.bytes);
    const summary = { out, bytes: e.bytes.byteLength, opset: e.opset, irVersion: e.irVersion, input: e.input, output: e.output, ops: e.ops, parameters: e.parameters, metadata: e.metadata };
    if (values.json) console.log(JSON.stringify(summary, null, 2));
    else {
      const shape = (s: (number | string)[]) => `[${s.join(', ')}]`;
      console.log(`wrote ${out} (${(e.bytes.byteLength / 1e6).toFixed(1)} MB): ONNX opset ${e.opset} (IR ${e.irVersion}), ${e.parameters.toLocaleString('en-US')} weights`);
      console.log(`input '${e.input.name}' ${shape(e.input.shape)} → output '${e.output.name}' ${shape(e.output.shape)}; ${Object.entries(e.ops).map(([op, n]) => `${n} ${op}`).join(', ')}`);
      console.log(`preprocessing: ${e.metadata.preprocessing ?? 'not recorded in the checkpoint'}`);
    }
    return 0;
  },
};

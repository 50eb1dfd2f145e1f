/**
 * The same heatmaps decoded seven ways (docs/recipes.md §3): a coarse checkpoint's heatmaps of its
 * run's validation images (the split it was trained with), decoded by argmax with each sub-pixel
 * refinement, local soft-argmax windows and the blob centroid; MRE and SDR in the data's unit.
 *
 *   npx vite-node --config vitest.config.ts bench/decode_compare.ts -- CKPT OUT.json [SPEC]
 */
import { writeFileSync } from 'node:fs';
import { decodeBatch, type DecodeOptions } from '../src/landmarks/decode';
import { evaluate } from '../src/landmarks/metrics';
import { mapPoints, preprocess } from '../src/landmarks/preprocess';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { loadCheckpoint } from '../src/node/checkpoint';
import { prepareDataSpec } from '../src/node/train_io';
import { splitTrainVal, subset } from '../src/train/data';
import { predictorFromCheckpoint } from '../src/train/evaluate';
import { byName, dataSpecTail } from './portable_paths';

const WAYS: [string, DecodeOptions][] = [
  ['argmax + Gaussian sub-pixel (default)', { refine: 'gaussian' }],
  ['argmax + parabola', { refine: 'quadratic' }],
  ['argmax, no sub-pixel', { refine: 'none' }],
  ['local soft-argmax (5x5)', { refine: 'softargmax', window: 2 }],
  ['local soft-argmax (7x7)', { refine: 'softargmax', window: 3 }],
  ['blob centroid (50 %)', { method: 'blob' }],
  ['blob centroid, weighted', { method: 'blob', weighted: true }],
];

const [ckPath, out, specArg] = process.argv.slice(2).filter((a) => a !== '--');
if (!ckPath || !out) throw new Error('usage: decode_compare.ts CKPT OUT.json [SPEC]');
const ck = await loadCheckpoint(ckPath);
const run = ck.train.run as { data: string; valSplit: number; seed: number };
const spec = specArg ?? run.data;
const data = prepareDataSpec(spec, { size: ck.train.size });
const val = subset(data.set, splitTrainVal(data.set.images.length, run.valSplit, run.seed).val);
const engine = await acquireNodeEngine();
const p = predictorFromCheckpoint(engine, ck);
const { size } = ck.train;
const k = ck.model.classes;
const samples = val.images.map((im) => preprocess(im, undefined, { size, mean: ck.train.normalization.mean, std: ck.train.normalization.std, heatmaps: false }));
const input = new Float32Array(samples.length * size * size);
samples.forEach((s, i) => input.set(s.input, i * size * size));
// the trainer's forward: a spatial_ce model's maps come back as per-map probabilities, as predict decodes them
const hm = await p.trainer.forward(input, samples.length);
const back = (pts: [number, number][], i: number) => (val.toOriginal?.[i] ? mapPoints(val.toOriginal[i]!, pts) : pts);
const truth = val.points.map((pts, i) => back(pts as [number, number][], i));
const results = WAYS.map(([decode, opts]) => {
  const d = decodeBatch(hm, samples.length, k, size, size, samples.map((s) => s.toOriginal), opts);
  const ev = evaluate(d.map((x, i) => back(x.points as [number, number][], i)), truth, val.mmPerPixel);
  const sdr = (r: number) => +ev.overall.sdr[String(r)]!.toFixed(1);
  return { decode, mre: +ev.overall.mre.toFixed(3), sdr2: sdr(2), sdr4: sdr(4) };
});
// the checkpoint by name and the data folder by its tail: the committed file names no path of this machine
const report = { checkpoint: byName(ckPath), loss: ck.train.loss, size, data: dataSpecTail(spec), images: val.images.length, unit: data.unit, results };
writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
console.log(JSON.stringify(report, null, 1));
p.dispose();
engine.destroy();
process.exit(0);

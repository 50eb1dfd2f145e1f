/**
 * Pairs a coarse checkpoint with the refinement stage of a refinement run into one two-stage
 * checkpoint (src/train/refine.ts pairStages), then measures on the coarse run's validation split:
 * coarse alone, every crop refined, the pair (with its confidence threshold), the mean-shape
 * baseline, and the latency per image of each stage. Writes OUT.safetensors and OUT.json.
 *
 *   npx vite-node --config vitest.config.ts bench/pair_stages.ts -- COARSE REFINED OUT [SPEC]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { ISBI2015_LANDMARKS } from '../src/data/datasets';
import { meanShape, meanShapePrediction } from '../src/landmarks/baseline';
import { evaluate } from '../src/landmarks/metrics';
import { mapPoints } from '../src/landmarks/preprocess';
import { statsJson } from '../src/landmarks/report_json';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { loadCheckpoint } from '../src/node/checkpoint';
import { prepareDataSpec } from '../src/node/train_io';
import { decodeCheckpoint } from '../src/train/checkpoint';
import { splitTrainVal, subset } from '../src/train/data';
import { predictorFromCheckpoint } from '../src/train/evaluate';
import { pairStages } from '../src/train/refine';

const [coarsePath, refinedPath, out, specArg] = process.argv.slice(2).filter((a) => a !== '--');
if (!coarsePath || !refinedPath || !out) throw new Error('usage: pair_stages.ts COARSE REFINED OUT [SPEC]');
const coarse = await loadCheckpoint(coarsePath);
const refined = await loadCheckpoint(refinedPath);
const run = coarse.train.run as { data: string; valSplit: number; seed: number };
const spec = specArg ?? run.data;
const size = Math.max(coarse.train.size, Math.ceil(refined.refine!.settings.size / refined.refine!.settings.crop / 1.5 / 32) * 32);
const data = prepareDataSpec(spec, { size });
const split = splitTrainVal(data.set.images.length, run.valSplit, run.seed);
const val = subset(data.set, split.val);
const train = subset(data.set, split.train);
const engine = await acquireNodeEngine();
// ISBI 2015 landmark names for a model trained on a generic copy of the data (19 landmarks)
const names = coarse.model.classes === 19 ? ISBI2015_LANDMARKS.slice() : undefined;
const paired = await pairStages(engine, coarse, refined, val, names ? { landmarkNames: names } : {});
writeFileSync(`${out}.safetensors`, paired.bytes);

// the pair through the inference path (predictor = what osteo predict / eval use), with timings
const back = (pts: [number, number][], i: number) => (val.toOriginal?.[i] ? mapPoints(val.toOriginal[i]!, pts) : pts);
const truth = val.points.map((p, i) => back(p as [number, number][], i));
const timed = async (bytes: Uint8Array, name: string) => {
  const p = predictorFromCheckpoint(engine, decodeCheckpoint(bytes, name), { batch: 1 });
  try {
    await p.trainer.predict([val.images[0]!], 1, 0); // compile
    const t0 = performance.now();
    const pts: [number, number][][] = [];
    for (const im of val.images) pts.push((await p.trainer.predict([im], 1, 0)).points[0] as [number, number][]);
    const ms = (performance.now() - t0) / val.images.length;
    const ev = evaluate(pts.map(back), truth, val.mmPerPixel);
    return { msPerImage: +ms.toFixed(0), ...statsJson(ev.overall, ev.unit, ev.thresholds) };
  } finally {
    p.dispose();
  }
};
const load = loadavg()[0]!;
const coarseOnly = await timed(new Uint8Array(readFileSync(coarsePath)), coarsePath);
const pair = await timed(paired.bytes, `${out}.safetensors`);
const shape = meanShape(train.images.map((im, i) => ({ width: im.width, height: im.height, points: train.points[i]! })));
const base = evaluate(val.images.map((im, i) => back(meanShapePrediction(shape, im.width, im.height) as [number, number][], i)), truth, val.mmPerPixel);
const report = {
  coarse: coarsePath, refined: refinedPath, out: `${out}.safetensors`, data: spec, validation: val.images.length,
  minConfidence: paired.minConfidence ?? null, everyCropRefinedMre: +paired.mreAll.toFixed(3),
  coarseOnly, twoStage: pair, meanShape: statsJson(base.overall, base.unit, base.thresholds),
  device: engine.adapter.description || engine.adapter.architecture, note: `latency: one image at a time on ${cpus().length} CPU cores (SwiftShader), load average ${load.toFixed(1)} when timing began`,
};
writeFileSync(`${out}.json`, `${JSON.stringify(report, null, 1)}\n`);
console.log(JSON.stringify(report, null, 1));
engine.destroy();
process.exit(0);

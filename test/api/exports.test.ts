/**
 * The published surface, pinned: both entries (`osteo` = src/node/api.ts, `osteo/browser` =
 * src/browser.ts) export exactly the same names — values and types — and the list below; a name
 * added or dropped must be added or dropped here on purpose. The engine's parts are under
 * `osteo/engine` (src/engine.ts), Node's file helpers under `osteo/node` (src/node/extras.ts).
 */
import { resolve } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';
import * as browser from '../../src/browser';
import * as engine from '../../src/engine';
import * as node from '../../src/node/api';
import * as nodeExtras from '../../src/node/extras';

const ROOT = resolve(__dirname, '../..');

const ERRORS = [
  'ApiError', 'AutogradError', 'CheckpointError', 'ConfigError', 'DataError', 'DeviceLostError', 'DisposedError', 'GpuError', 'LandmarkCountError',
  'LimitError', 'MissingWeightsError', 'NoAdapterError', 'NonFiniteLossError', 'OsteoError', 'OutOfMemoryError', 'PointsFileError', 'ShaderCompileError', 'ShapeError', 'WeightFileError',
];
const VALUES = ['CHECKPOINT_BEST', 'CHECKPOINT_LAST', 'LandmarkModel', 'MemoryStore', 'createEngine', 'createModel', 'decodeImage', 'evaluatePoints', 'loadModel', 'parsePointsDocument', 'readPointsText', 'serializePoints', 'synthesize', 'train', ...ERRORS].sort();
const TYPES = [
  'CheckpointSource', 'DecodeMethod', 'Engine', 'EngineOptions', 'EvaluationReport', 'GreyImage', 'GreyPixels', 'ImageInput', 'InMemoryDataset', 'LossName', 'Model',
  'ModelOptions', 'PixelSpacing', 'Point', 'PointRecord', 'PointsDocument', 'PointsImage', 'PredictOptions', 'Prediction', 'RefineOptions', 'RunStore', 'SynthOptions', 'TrainOptions', 'TrainProgress', 'TrainRecipe', 'TrainResult', 'Trained', 'TtaMode',
].sort();

/** Every exported name of a module, types included (the TypeScript checker's view). */
function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  return checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!).map((s) => s.name).sort();
}

test('both entries export the same values: the pinned list, every error class among them', () => {
  expect(Object.keys(node).sort()).toEqual(VALUES);
  expect(Object.keys(browser).sort()).toEqual(VALUES);
  for (const name of ERRORS) {
    const cls = (node as unknown as Record<string, new (m: string) => Error>)[name]!;
    expect(cls, name).toBe((browser as unknown as Record<string, unknown>)[name]);
    expect(new cls('x') instanceof node.OsteoError, `${name} is an OsteoError`).toBe(true);
  }
});

test('both entries export the same names, types included: the pinned list', () => {
  const want = [...VALUES, ...TYPES].sort();
  expect(exportedNames(resolve(ROOT, 'src/node/api.ts'))).toEqual(want);
  expect(exportedNames(resolve(ROOT, 'src/browser.ts'))).toEqual(want);
}, 60_000);

test('every error class the library defines is exported by the top-level entries', async () => {
  const { readdirSync, readFileSync, statSync } = await import('node:fs');
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = `${dir}/${n}`;
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
  // host-only errors: the CLI's, Node's output folders and weight downloads (a WeightFileError), the
  // ONNX exporter and report thresholds (CLI features), and a DataError the Node decoder catches itself
  const HOST_ONLY = ['UsageError', 'OutputPathError', 'FileWriteError', 'WeightFetchError', 'OnnxExportError', 'ThresholdError', 'DicomCodecNeeded'];
  const defined = files(resolve(ROOT, 'src')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/export class (\w+) extends \w*Error\b/g)].map((m) => m[1]!));
  expect(defined.length).toBeGreaterThan(15);
  expect(defined.filter((n) => !ERRORS.includes(n) && !HOST_ONLY.includes(n))).toEqual([]);
});

test('the subpaths hold the engine and Node file helpers, not the curated names', () => {
  expect(Object.keys(engine)).toEqual(expect.arrayContaining(['Engine', 'Tensor', 'decodeCheckpoint', 'runTraining', 'TRAIN_DEFAULTS', 'scorePoints', 'heatmapProbabilities']));
  expect(Object.keys(nodeExtras).sort()).toEqual(['folderStore', 'loadCheckpoint', 'prepareDataSpec', 'readDataset', 'readWeightsFile', 'saveCheckpoint']);
  const top = new Set(VALUES);
  expect(Object.keys(engine).filter((n) => top.has(n))).toEqual([]);
});

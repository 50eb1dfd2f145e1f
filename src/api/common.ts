/**
 * The curated top of both entries (`osteo` in Node, `osteo/browser`): what a user needs to load,
 * create, predict, train, evaluate and decode, its types and every error class. The host entries add
 * `createEngine`, `loadModel`, `createModel`, `train` and `decodeImage` for their own inputs; the
 * engine's parts are under `osteo/engine` (src/engine.ts), Node's file helpers under `osteo/node`.
 * test/api/exports.test.ts pins both lists.
 */
export * from './errors';
export { evaluatePoints, LandmarkModel } from './model';
export type { EvaluationReport, ModelOptions, PredictOptions, Prediction, Trained, TrainOptions, TrainRecipe } from './model';
export type { Engine, EngineOptions } from '../gpu/engine';
export type { GreyPixels } from '../data/pixels';
export type { GreyImage, Point, PixelSpacing } from '../data/types';
export type { InMemoryDataset } from '../train/prepare';
export type { TrainProgress, TrainResult } from '../train/run';
export type { DecodeMethod, LossName } from '../train/config';
export type { RefineOptions, TtaMode } from '../landmarks/tta';
export { CHECKPOINT_BEST, CHECKPOINT_LAST } from '../train/checkpoint';
export { MemoryStore, type RunStore } from '../train/store';
export { synthesize, type SynthOptions } from '../data/synthetic';
// the one points format (docs/points-format.md): read any points file osteo wrote, write the current one
export { parsePointsDocument, PointsFileError, serializePoints, type PointRecord, type PointsDocument, type PointsImage } from '../data/points_format';
export { readPointsText } from '../data/points_read';

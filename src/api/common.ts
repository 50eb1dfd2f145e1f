/**
 * What both entries (`osteo` for Node, `osteo/browser`) export unchanged: the model class and its
 * types, training settings and defaults, stores, data helpers, metrics, and the errors a caller
 * may want to tell apart.
 */
export { ApiError, LandmarkModel, modelFromBytes, prepareInMemory } from './model';
export type { EvaluationReport, ImageDecoder, ModelOptions, PredictOptions, Prediction, Trained, TrainOptions, TrainRecipe } from './model';
export { greyImage, isGreyPixels, type GreyPixels } from '../data/pixels';
export { Engine, type EngineOptions } from '../gpu/engine';
export { OsteoError, NoAdapterError, ShapeError } from '../gpu/errors';
export { DataError, type GreyImage, type Point, type LandmarkDataset, type LandmarkItem } from '../data/types';
export { synthesize, type SynthOptions } from '../data/synthetic';
export {
  checkPointsDocument, parsePointsDocument, PointsFileError, POINT_FLAGS, POINTS_FORMAT, POINTS_VERSION, serializePoints,
  type PointRecord, type PointsDocument, type PointsImage,
} from '../data/points_format';
export { readPointsText, type PointsSource, type ReadPointsResult } from '../data/points_read';
export { CHECKPOINT_BEST, CHECKPOINT_LAST, CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type EpochRecord, type ModelConfig, type Normalisation, type TrainingState, type TrainSettings } from '../train/checkpoint';
export { ConfigError, defaultLr, defaultSigma, initDefaults, REFINE_DEFAULTS, TRAIN_DEFAULTS, validateConfig, withDefaults, type DecodeMethod, type LossName, type TrainConfig } from '../train/config';
export { LandmarkCountError, MissingWeightsError } from '../train/init';
export { inMemoryDataset, prepareData, selectIds, type InMemoryDataset, type PreparedData, type PrepareOptions } from '../train/prepare';
export { runTraining, type RunOptions, type TrainProgress, type TrainResult } from '../train/run';
export { MemoryStore, substore, type RunStore } from '../train/store';
export { runExperiment, targetSplits, type ExperimentOptions, type ExperimentResult } from '../train/experiment';
export { evaluate as scorePoints, formatEvaluation, type Evaluation } from '../landmarks/metrics';
export { meanShape, meanShapePrediction } from '../landmarks/baseline';
export type { EvaluationJson, StatsJson, LandmarkStatsJson } from '../landmarks/report_json';

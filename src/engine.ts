/**
 * `osteo/engine`: the parts under the curated API, for those who study or extend the engine —
 * the Engine and Tensor, checkpoints as data, the training configuration and its defaults, data
 * preparation, the training loop and experiments, stores, metrics and the mean-shape baseline.
 * Host-neutral (no Node built-in): the same module serves Node and a bundler. Error classes are
 * exported by the top-level entries only (one copy to test `instanceof` against).
 */
export { Engine, type EngineOptions } from './gpu/engine';
export { Tensor } from './gpu/tensor';
export { engineFromAdapter } from './gpu/acquire';
export { modelFromBytes, prepareInMemory, type ImageDecoder } from './api/model';
export { greyImage, isGreyPixels } from './data/pixels';
export type { LandmarkDataset, LandmarkItem } from './data/types';
export { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type EpochRecord, type ModelConfig, type Normalisation, type TrainingState, type TrainSettings } from './train/checkpoint';
export { defaultLr, defaultSigma, initDefaults, REFINE_DEFAULTS, TRAIN_DEFAULTS, validateConfig, withDefaults, type TrainConfig } from './train/config';
export { inMemoryDataset, prepareData, selectIds, type PreparedData, type PrepareOptions } from './train/prepare';
export { runTraining, type RunOptions } from './train/run';
export { substore } from './train/store';
export { runExperiment, targetSplits, type ExperimentOptions, type ExperimentResult } from './train/experiment';
export { evaluate as scorePoints, formatEvaluation, type Evaluation } from './landmarks/metrics';
export { heatmapProbabilities } from './landmarks/probabilities';
export { meanShape, meanShapePrediction } from './landmarks/baseline';
export type { EvaluationJson, StatsJson, LandmarkStatsJson } from './landmarks/report_json';

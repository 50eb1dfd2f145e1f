/**
 * `osteo/node`: Node's file helpers beside the curated `osteo` entry — checkpoints as files, a run
 * folder as a store, data sets read from disk by spec, and weight files read by path.
 */
export { loadCheckpoint, saveCheckpoint } from './checkpoint';
export { folderStore } from './store';
export { readDataset } from './data_readers';
export { readWeightsFile } from './weights_io';
export { prepareDataSpec } from './train_io';

import type { Engine } from '../gpu/engine';
import { loadCheckpoint } from '../node/checkpoint';
import { predictorFromCheckpoint, type Predictor } from '../train/evaluate';

/** A checkpoint file ready for inference (no optimizer state): `osteo eval` and `osteo predict`. */
export async function loadPredictorFile(engine: Engine, path: string, opts: { decode?: 'argmax' | 'blob'; batch?: number } = {}): Promise<Predictor> {
  return predictorFromCheckpoint(engine, await loadCheckpoint(path), opts);
}

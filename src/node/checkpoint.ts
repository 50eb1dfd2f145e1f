/**
 * Training checkpoints on disk (Node): src/train/checkpoint.ts encodes and decodes the bytes;
 * this module reads files and writes them atomically (temp file in the same folder, fsync,
 * rename, fsync of the folder): a crash leaves the previous checkpoint intact, never a
 * half-written one under the final name.
 */
import { promises as fsp } from 'node:fs';
import type { UnetPlusPlus } from '../model/unetpp';
import type { OptimizerState } from '../nn/optim';
import { CheckpointError, checkpointBytes, decodeCheckpoint, type Checkpoint, type TrainingState, type TrainSettings } from '../train/checkpoint';
import { writeFileAtomic } from './weights_io';

export * from '../train/checkpoint';

/** Saves model (+ optimizer) state atomically, with the model's tensor shapes. Returns the byte count. */
export async function saveCheckpoint(
  path: string,
  model: UnetPlusPlus,
  args: { train: TrainSettings; state: TrainingState; optimizer?: OptimizerState },
): Promise<number> {
  const bytes = await checkpointBytes(model, args);
  await writeFileAtomic(path, bytes);
  return bytes.byteLength;
}

/** Reads and validates a checkpoint file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    throw new CheckpointError(`${path}: cannot read checkpoint (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

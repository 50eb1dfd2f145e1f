/**
 * Training for the app, in the engine worker, through the library's `train`: fine-tuning the model
 * in use on the images the user corrected (optionally plus the built-in synthetic set), or a small
 * demo model from scratch on the synthetic set when no checkpoint is open. Progress goes to the
 * page's panel (train_panel.ts) as events; a stop keeps what the finished epochs learnt. Resolves
 * to the trained model and its run's own checkpoint (with its training record).
 */
import { CHECKPOINT_BEST, CHECKPOINT_LAST, loadModel, MemoryStore, synthesize, train, type Engine, type GreyImage, type InMemoryDataset, type Model, type TrainProgress } from '../browser';
import type { TrainEvent, TrainSettings } from './protocol';

/** Widths of the demo model: narrow enough to train in a minute on a software adapter. */
export const DEMO_WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
export const DEMO_DECODER = [8, 8, 4, 4, 4];

let kindsByK: Record<number, 'hand' | 'head' | 'chest'> | undefined;

/** The synthetic kind with `k` landmarks, if any (the synthetic set can only join a model with the same landmarks). */
export function syntheticKindFor(k: number): 'hand' | 'head' | 'chest' | undefined {
  if (!kindsByK) {
    kindsByK = {};
    for (const kind of ['hand', 'head', 'chest'] as const) kindsByK[synthesize({ kind, n: 1, size: 16, seed: 1 }).landmarkNames.length] = kind;
  }
  return kindsByK[k];
}

export interface TrainInput {
  engine: Engine;
  /** The model to fine-tune, or undefined for a demo model from scratch. */
  model: Model | undefined;
  /** The user's corrected images (may be empty when the synthetic set is used). */
  dataset: InMemoryDataset & { images: GreyImage[] } | undefined;
  settings: TrainSettings;
  signal: AbortSignal;
  onEvent: (e: TrainEvent) => void;
}

/**
 * Trains; resolves to the trained model (the best epoch's; after a stop, the last finished
 * epoch's), or undefined when stopped before an epoch finished.
 */
export async function runTraining(req: TrainInput): Promise<{ model: Model; bytes: Uint8Array } | undefined> {
  const { epochs, lr } = req.settings;
  if (!(lr > 0 && lr < 1)) throw new RangeError(`learning rate must be between 0 and 1, got ${lr}`);
  const k = req.model?.landmarks;
  const kind = k === undefined ? 'hand' : syntheticKindFor(k);
  const useSynth = req.model === undefined || (req.settings.synthetic && kind !== undefined);
  const size = req.model?.size ?? 64;
  const images: InMemoryDataset['images'] = [...(req.dataset?.images ?? [])];
  const points: InMemoryDataset['points'] = [...(req.dataset?.points ?? [])];
  // mm errors only when every image has a spacing (the synthetic ones do; the user's may not)
  let mm: (number | undefined)[] | undefined = req.dataset ? req.dataset.mmPerPixel : [];
  if (useSynth && kind) {
    const s = synthesize({ kind, n: req.model ? 16 : 48, size: Math.max(64, size), seed: 7 });
    images.push(...s.images);
    points.push(...s.points);
    mm = mm && s.mmPerPixel.every((v) => v !== undefined) ? [...mm, ...s.mmPerPixel] : undefined;
  }
  if (!images.length) throw new RangeError('nothing to train on: correct (drag) or import the points of at least one image, or tick "+ synthetic set"');
  const valSplit = images.length >= 8 ? 0.25 : 0;
  const batch = Math.min(4, images.length);
  const names = req.model?.landmarkNames ?? req.dataset?.landmarkNames;
  const store = new MemoryStore('page:');
  const onProgress = (p: TrainProgress) => {
    if (p.kind === 'step') req.onEvent({ kind: 'step', epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss });
    else if (p.kind === 'epoch-end') req.onEvent({ kind: 'epoch-end', epoch: p.record.epoch, valMre: p.record.valMre, unit: p.record.unit, validated: valSplit > 0 });
    else if (p.kind === 'log') req.onEvent({ kind: 'log', message: p.message });
  };
  try {
    const { model } = await train(req.engine, { images, points, ...(names ? { landmarkNames: names } : {}), ...(mm && mm.length === images.length ? { mmPerPixel: mm } : {}), name: 'page images' },
      { size, epochs, lr, batch, accum: 1, valSplit, ...(req.model ? { loss: req.model.loss } : { widths: DEMO_WIDTHS, decoder: DEMO_DECODER, loss: 'softmax_ce' as const }) },
      { ...(req.model ? { init: req.model } : {}), store, onProgress, signal: req.signal });
    // the run's own checkpoint keeps its record (data, settings, epochs, validation history)
    return { model, bytes: (await store.read(CHECKPOINT_BEST)) ?? (await model.save()) };
  } catch (e) {
    if (!req.signal.aborted) throw e;
    // stopped: the best (or last) finished epoch, if one finished
    const bytes = (await store.read(CHECKPOINT_BEST)) ?? (await store.read(CHECKPOINT_LAST));
    req.onEvent({ kind: 'log', message: bytes ? 'stopped: keeping the last finished epoch' : 'stopped before an epoch finished: model unchanged' });
    return bytes ? { model: await loadModel(req.engine, bytes), bytes } : undefined;
  }
}

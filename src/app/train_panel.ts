/**
 * Training in the page, through the library's `train`: fine-tuning the model in use on the images
 * the user corrected (optionally plus the built-in synthetic set), or a small demo model from
 * scratch on the synthetic set when no checkpoint is open. Epochs and learning-rate controls, a
 * live chart of the training loss per step and the validation MRE per epoch, a stop button that
 * keeps what the finished epochs learnt. The caller adopts the model and downloads its checkpoint
 * (the run's own, with its training record).
 */
import { CHECKPOINT_BEST, CHECKPOINT_LAST, loadModel, MemoryStore, synthesize, train, type Engine, type InMemoryDataset, type Model as BrowserLandmarkModel, type TrainProgress } from '../browser';
import { LossChart } from './chart';

/** Widths of the demo model: narrow enough to train in a minute on a software adapter. */
export const DEMO_WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
export const DEMO_DECODER = [8, 8, 4, 4, 4];

const KINDS_BY_K: Record<number, 'hand' | 'head' | 'chest'> = {};
for (const kind of ['hand', 'head', 'chest'] as const) KINDS_BY_K[synthesize({ kind, n: 1, size: 16, seed: 1 }).landmarkNames.length] = kind;

/** The synthetic kind with `k` landmarks, if any (the synthetic set can only join a model with the same landmarks). */
export const syntheticKindFor = (k: number): 'hand' | 'head' | 'chest' | undefined => KINDS_BY_K[k];

export interface TrainRequest {
  engine: Engine;
  /** The model to fine-tune, or undefined for a demo model from scratch. */
  model: BrowserLandmarkModel | undefined;
  /** The user's corrected images (may be empty when the synthetic set is used). */
  dataset: InMemoryDataset | undefined;
}

export class TrainPanel {
  private controller: AbortController | undefined;
  private readonly chart: LossChart;
  private readonly epochsInput: HTMLInputElement;
  private readonly lrInput: HTMLInputElement;
  private readonly synthInput: HTMLInputElement;
  private readonly log: HTMLElement;
  private readonly stopButton: HTMLButtonElement;

  constructor(private readonly root: HTMLElement) {
    this.epochsInput = root.querySelector('#train-epochs')!;
    this.lrInput = root.querySelector('#train-lr')!;
    this.synthInput = root.querySelector('#train-synthetic')!;
    this.log = root.querySelector('#train-log')!;
    this.stopButton = root.querySelector('#train-stop')!;
    this.chart = new LossChart(root.querySelector('#train-chart')!);
    this.stopButton.addEventListener('click', () => this.controller?.abort(new DOMException('stopped by the user', 'AbortError')));
  }

  get running(): boolean {
    return !!this.controller;
  }

  private say(line: string): void {
    this.log.textContent = line;
  }

  /**
   * Trains; resolves to the trained model (the best epoch's; after a stop, the last finished
   * epoch's), or undefined when stopped before an epoch finished.
   */
  async run(req: TrainRequest, onStatus: (s: string) => void): Promise<{ model: BrowserLandmarkModel; bytes: Uint8Array } | undefined> {
    const epochs = Math.max(1, Math.min(1000, Math.round(Number(this.epochsInput.value) || 1)));
    const lr = Number(this.lrInput.value);
    if (!(lr > 0 && lr < 1)) throw new RangeError(`learning rate must be between 0 and 1, got ${this.lrInput.value}`);
    const k = req.model?.landmarks;
    const kind = k === undefined ? 'hand' : syntheticKindFor(k);
    const useSynth = req.model === undefined || (this.synthInput.checked && kind !== undefined);
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
    this.controller = new AbortController();
    this.stopButton.disabled = false;
    this.chart.reset();
    const store = new MemoryStore('page:');
    const onProgress = (p: TrainProgress) => {
      if (p.kind === 'step') {
        this.chart.addLoss(p.loss);
        const line = `epoch ${p.epoch}/${epochs}, step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}`;
        this.say(line);
        onStatus(`training: ${line}`);
      } else if (p.kind === 'epoch-end') {
        if (valSplit > 0) this.chart.addMre(p.record.epoch, p.record.valMre, p.record.unit);
      } else if (p.kind === 'log') this.say(p.message);
    };
    try {
      const { model } = await train(req.engine, { images, points, ...(names ? { landmarkNames: names } : {}), ...(mm && mm.length === images.length ? { mmPerPixel: mm } : {}), name: 'page images' },
        { size, epochs, lr, batch, accum: 1, valSplit, ...(req.model ? { loss: req.model.loss } : { widths: DEMO_WIDTHS, decoder: DEMO_DECODER, loss: 'softmax_ce' as const }) },
        { ...(req.model ? { init: req.model } : {}), store, onProgress, signal: this.controller.signal });
      // the run's own checkpoint keeps its record (data, settings, epochs, validation history)
      return { model, bytes: (await store.read(CHECKPOINT_BEST)) ?? (await model.save()) };
    } catch (e) {
      if (!this.controller.signal.aborted) throw e;
      // stopped: the best (or last) finished epoch, if one finished
      const bytes = (await store.read(CHECKPOINT_BEST)) ?? (await store.read(CHECKPOINT_LAST));
      this.say(bytes ? 'stopped: keeping the last finished epoch' : 'stopped before an epoch finished: model unchanged');
      return bytes ? { model: await loadModel(req.engine, bytes), bytes } : undefined;
    } finally {
      this.controller = undefined;
      this.stopButton.disabled = true;
    }
  }
}

/**
 * The training panel of the page: epochs and learning-rate controls, a live chart of the training
 * loss per step and the validation MRE per epoch, a stop button that keeps what the finished
 * epochs learnt. The training itself runs in the engine worker (training.ts); the panel reads its
 * settings, draws the progress events and cancels the run on Stop.
 */
import { LossChart } from './chart';
import type { TrainEvent, TrainSettings } from './protocol';

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
   * Runs `train` (the worker's run) with the panel's settings, drawing its progress; resolves to
   * what it resolves to (the trained model, or nothing when stopped before an epoch finished).
   */
  async run<T>(train: (settings: TrainSettings, progress: (e: TrainEvent) => void, signal: AbortSignal) => Promise<T>, onStatus: (s: string) => void): Promise<T> {
    const epochs = Math.max(1, Math.min(1000, Math.round(Number(this.epochsInput.value) || 1)));
    const lr = Number(this.lrInput.value);
    if (!(lr > 0 && lr < 1)) throw new RangeError(`learning rate must be between 0 and 1, got ${this.lrInput.value}`);
    this.controller = new AbortController();
    this.stopButton.disabled = false;
    this.chart.reset();
    const progress = (p: TrainEvent) => {
      if (p.kind === 'step') {
        this.chart.addLoss(p.loss);
        const line = `epoch ${p.epoch}/${epochs}, step ${p.step}/${p.steps}: loss ${p.loss.toFixed(4)}`;
        this.say(line);
        onStatus(`training: ${line}`);
      } else if (p.kind === 'epoch-end') {
        if (p.validated) this.chart.addMre(p.epoch, p.valMre, p.unit);
      } else this.say(p.message);
    };
    try {
      return await train({ epochs, lr, synthetic: this.synthInput.checked }, progress, this.controller.signal);
    } finally {
      this.controller = undefined;
      this.stopButton.disabled = true;
    }
  }
}

/**
 * The bookkeeping both training loops share (src/train/run.ts for the coarse stage,
 * src/train/refine.ts for the refinement): the learning rate of each epoch (closed-form cosine /
 * warm-up, else ReduceLROnPlateau), early stopping, the best epoch, the history, and the state a
 * checkpoint stores to resume exactly (host-neutral).
 */
import { CosineAnnealingLR, EarlyStopping, LinearWarmup, ReduceLROnPlateau, StepLR, type LRSchedule } from '../nn/schedule';
import type { EpochRecord, TrainingState } from './checkpoint';
import type { TrainConfig } from './config';

export type FinishedReason = '' | 'early-stop' | 'epochs';

export class EpochBook {
  readonly plateau: ReduceLROnPlateau;
  readonly early: EarlyStopping;
  readonly history: EpochRecord[];
  /** Completed epochs. */
  epoch: number;
  bestMetric: number | null;
  bestEpoch: number;
  finished: FinishedReason;
  private readonly lrAt: (epoch: number) => number;

  constructor(
    private readonly c: Pick<TrainConfig, 'lr' | 'epochs' | 'schedule' | 'warmup' | 'stepSize' | 'gamma' | 'patience' | 'earlyStop'>,
    resume?: TrainingState,
  ) {
    this.plateau = resume?.plateau ? ReduceLROnPlateau.fromJSON(resume.plateau) : new ReduceLROnPlateau(c.lr, { factor: 0.5, patience: c.patience });
    this.early = resume?.early ? EarlyStopping.fromJSON(resume.early) : new EarlyStopping(c.earlyStop);
    this.history = resume ? [...resume.history] : [];
    this.epoch = resume?.epoch ?? 0;
    this.bestMetric = resume?.bestMetric ?? null;
    this.bestEpoch = resume?.bestEpoch ?? 0;
    this.finished = resume?.finished === 'early-stop' ? 'early-stop' : '';
    // A closed-form schedule (cosine, step, warm-up) is a function of the epoch, so a resumed run needs no extra state.
    const closed = closedFormSchedule(c);
    const warm = c.warmup ?? 0;
    this.lrAt = (ep) => (closed ? closed.lrAt(ep) : ep < warm ? c.lr * (0.1 + (0.9 * ep) / warm) : this.plateau.lr);
  }

  /** The learning rate of the next epoch. */
  get lr(): number {
    return this.lrAt(this.epoch);
  }

  /** Whether another epoch is due. */
  get running(): boolean {
    return !this.finished && this.epoch < this.c.epochs;
  }

  /**
   * Closes an epoch whose validation metric is `rec.valMre`: steps the plateau and early stopping,
   * updates the best epoch and the history, and decides whether the run is finished.
   */
  close(rec: Omit<EpochRecord, 'epoch' | 'best'>): EpochRecord {
    this.epoch++;
    this.plateau.step(rec.valMre);
    this.early.step(rec.valMre);
    const best = this.early.improved;
    if (best) {
      this.bestMetric = rec.valMre;
      this.bestEpoch = this.epoch;
    }
    const full: EpochRecord = { epoch: this.epoch, ...rec, best };
    this.history.push(full);
    if (this.early.shouldStop) this.finished = 'early-stop';
    else if (this.epoch >= this.c.epochs) this.finished = 'epochs';
    return full;
  }

  /** What a checkpoint stores to resume the run. */
  state(): TrainingState {
    return {
      epoch: this.epoch, bestMetric: this.bestMetric, bestEpoch: this.bestEpoch, plateau: this.plateau.toJSON(), early: this.early.toJSON(), history: this.history,
      ...(this.finished ? { finished: this.finished } : {}),
    };
  }

  /** The run's progress fields of metrics.json. */
  metrics(bestUnit: string): { epochs: number; best: { epoch: number; metric: number | null; unit: string }; finished: string | null; history: EpochRecord[] } {
    return { epochs: this.epoch, best: { epoch: this.bestEpoch, metric: this.bestMetric, unit: bestUnit }, finished: this.finished || null, history: this.history };
  }
}

/**
 * The closed-form schedule of a config (undefined for ReduceLROnPlateau, which follows the
 * validation metric): cosine decay from lr to lr/10 over the epochs after the warm-up, or step decay
 * (lr · gamma^⌊epoch / stepSize⌋, torch StepLR), with a linear warm-up from lr/10 over `warmup`
 * epochs in front (with plateau, the run warms up the same way inline).
 */
export function closedFormSchedule(c: Pick<TrainConfig, 'lr' | 'epochs' | 'schedule' | 'warmup' | 'stepSize' | 'gamma'>): LRSchedule | undefined {
  const name = c.schedule ?? 'plateau';
  if (name === 'plateau') return undefined;
  const warm = c.warmup ?? 0;
  const inner = name === 'step' ? new StepLR(c.lr, c.stepSize ?? 1, c.gamma ?? 0.1) : new CosineAnnealingLR(c.lr, Math.max(1, c.epochs - warm), c.lr / 10);
  return warm ? new LinearWarmup(inner, warm, 0.1) : inner;
}

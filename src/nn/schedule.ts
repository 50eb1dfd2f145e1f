/**
 * Learning-rate schedules with PyTorch semantics (plain TypeScript, no GPU). A schedule owns an
 * epoch counter (`lastEpoch`, 0 at construction, like PyTorch's after its initial step) and yields
 * the lr to pass to `optimizer.step(lr)`; call `step()` once per epoch (or per iteration: the unit
 * is up to the caller). Every schedule serialises with `toJSON()` and comes back with
 * `scheduleFromJSON()` for checkpoint resume.
 *
 *   const sched = withWarmup(new CosineAnnealingLR(1e-3, 100, 1e-6), 5, 0.1);
 *   for (epoch...) { train(sched.lr); sched.step(); }
 *   const plateau = new ReduceLROnPlateau(1e-3);   // then: lr = plateau.step(valLoss)
 */

export type ScheduleState =
  | { type: 'StepLR'; baseLr: number; stepSize: number; gamma: number; lastEpoch: number }
  | { type: 'CosineAnnealingLR'; baseLr: number; tMax: number; etaMin: number; lastEpoch: number }
  | { type: 'ConstantLR'; baseLr: number; lastEpoch: number }
  | { type: 'LinearWarmup'; warmupSteps: number; startFactor: number; inner: ScheduleState; lastEpoch: number }
  | PlateauState;

/** Closed-form schedules: lr is a function of the epoch. */
export abstract class LRSchedule {
  lastEpoch = 0;
  constructor(readonly baseLr: number) {
    if (!(baseLr >= 0) || !Number.isFinite(baseLr)) throw new RangeError(`invalid base lr ${baseLr}`);
  }
  /** The lr at `epoch` (PyTorch's `_get_closed_form_lr`). */
  abstract lrAt(epoch: number): number;
  /** The current lr (at lastEpoch). */
  get lr(): number {
    return this.lrAt(this.lastEpoch);
  }
  /** Advances one epoch; returns the new lr. */
  step(): number {
    this.lastEpoch++;
    return this.lr;
  }
  abstract toJSON(): ScheduleState;
}

/** A constant lr (a placeholder schedule, or the tail after warmup). */
export class ConstantLR extends LRSchedule {
  lrAt(): number {
    return this.baseLr;
  }
  toJSON(): ScheduleState {
    return { type: 'ConstantLR', baseLr: this.baseLr, lastEpoch: this.lastEpoch };
  }
}

/** torch.optim.lr_scheduler.StepLR: baseLr · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRSchedule {
  constructor(
    baseLr: number,
    readonly stepSize: number,
    readonly gamma = 0.1,
  ) {
    super(baseLr);
    if (!(Number.isInteger(stepSize) && stepSize > 0)) throw new RangeError(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
  }
  lrAt(epoch: number): number {
    return this.baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
  toJSON(): ScheduleState {
    return { type: 'StepLR', baseLr: this.baseLr, stepSize: this.stepSize, gamma: this.gamma, lastEpoch: this.lastEpoch };
  }
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR, closed form:
 * etaMin + (baseLr − etaMin) · (1 + cos(π · epoch / tMax)) / 2 (periodic past tMax, as PyTorch's).
 */
export class CosineAnnealingLR extends LRSchedule {
  constructor(
    baseLr: number,
    readonly tMax: number,
    readonly etaMin = 0,
  ) {
    super(baseLr);
    if (!(tMax > 0)) throw new RangeError(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
  }
  lrAt(epoch: number): number {
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
  toJSON(): ScheduleState {
    return { type: 'CosineAnnealingLR', baseLr: this.baseLr, tMax: this.tMax, etaMin: this.etaMin, lastEpoch: this.lastEpoch };
  }
}

/**
 * Linear warmup in front of another schedule: PyTorch's
 * SequentialLR([LinearLR(start_factor, 1.0, total_iters=warmupSteps), inner], milestones=[warmupSteps]).
 * For epoch < warmupSteps: baseLr · (startFactor + (1 − startFactor) · epoch / warmupSteps); after
 * that, inner.lrAt(epoch − warmupSteps).
 */
export class LinearWarmup extends LRSchedule {
  constructor(
    readonly inner: LRSchedule,
    readonly warmupSteps: number,
    readonly startFactor = 1 / 3,
  ) {
    super(inner.baseLr);
    if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) throw new RangeError(`warmup: steps must be a non-negative integer, got ${warmupSteps}`);
    if (!(startFactor > 0 && startFactor <= 1)) throw new RangeError(`warmup: startFactor must be in (0, 1], got ${startFactor}`);
  }
  lrAt(epoch: number): number {
    if (epoch < this.warmupSteps) return this.baseLr * (this.startFactor + ((1 - this.startFactor) * epoch) / this.warmupSteps);
    return this.inner.lrAt(epoch - this.warmupSteps);
  }
  toJSON(): ScheduleState {
    const inner = { ...this.inner.toJSON(), lastEpoch: 0 };
    return { type: 'LinearWarmup', warmupSteps: this.warmupSteps, startFactor: this.startFactor, inner, lastEpoch: this.lastEpoch };
  }
}

export const withWarmup = (inner: LRSchedule, warmupSteps: number, startFactor?: number): LinearWarmup =>
  new LinearWarmup(inner, warmupSteps, startFactor);

// ------------------------------------------------------- ReduceLROnPlateau

export interface PlateauOptions {
  mode?: 'min' | 'max';
  factor?: number;
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  cooldown?: number;
  minLr?: number;
  /** Reductions smaller than this are ignored (PyTorch's eps). */
  eps?: number;
}

export interface PlateauState {
  type: 'ReduceLROnPlateau';
  options: Required<PlateauOptions>;
  lr: number;
  /** Best metric so far; ±Infinity as a string (JSON has no Infinity). */
  best: number | string;
  numBadEpochs: number;
  cooldownCounter: number;
  lastEpoch: number;
}

/**
 * torch.optim.lr_scheduler.ReduceLROnPlateau. Defaults follow this project's training recipe:
 * mode 'min', factor 0.5, patience 13, threshold 1e-4 (relative), cooldown 0, minLr 0, eps 1e-8.
 * `step(metric)`: better means metric < best·(1 − threshold) ('min', 'rel'); after more than
 * `patience` epochs without improvement lr ← max(lr·factor, minLr), then `cooldown` epochs in
 * which bad epochs are not counted.
 */
export class ReduceLROnPlateau {
  readonly options: Required<PlateauOptions>;
  lr: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;

  constructor(initialLr: number, options: PlateauOptions = {}) {
    this.options = {
      mode: options.mode ?? 'min',
      factor: options.factor ?? 0.5,
      patience: options.patience ?? 13,
      threshold: options.threshold ?? 1e-4,
      thresholdMode: options.thresholdMode ?? 'rel',
      cooldown: options.cooldown ?? 0,
      minLr: options.minLr ?? 0,
      eps: options.eps ?? 1e-8,
    };
    if (!(this.options.factor < 1 && this.options.factor >= 0)) throw new RangeError(`ReduceLROnPlateau: factor must be < 1, got ${this.options.factor}`);
    if (!(initialLr >= 0)) throw new RangeError(`ReduceLROnPlateau: invalid lr ${initialLr}`);
    this.lr = initialLr;
    this.best = this.worse;
  }

  private get worse(): number {
    return this.options.mode === 'min' ? Infinity : -Infinity;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    const { mode, thresholdMode, threshold } = this.options;
    if (mode === 'min' && thresholdMode === 'rel') return a < best * (1 - threshold);
    if (mode === 'min') return a < best - threshold;
    if (thresholdMode === 'rel') return a > best * (threshold + 1);
    return a > best + threshold;
  }

  /** Reports an epoch's metric; returns the (possibly reduced) lr. */
  step(metric: number): number {
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.inCooldown) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.options.patience) {
      const next = Math.max(this.lr * this.options.factor, this.options.minLr);
      if (this.lr - next > this.options.eps) this.lr = next;
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
    return this.lr;
  }

  toJSON(): PlateauState {
    return {
      type: 'ReduceLROnPlateau',
      options: { ...this.options },
      lr: this.lr,
      best: Number.isFinite(this.best) ? this.best : String(this.best),
      numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter,
      lastEpoch: this.lastEpoch,
    };
  }

  static fromJSON(s: PlateauState): ReduceLROnPlateau {
    const r = new ReduceLROnPlateau(s.lr, s.options);
    r.best = Number(s.best);
    r.numBadEpochs = s.numBadEpochs;
    r.cooldownCounter = s.cooldownCounter;
    r.lastEpoch = s.lastEpoch;
    return r;
  }
}

/** Rebuilds any schedule from its `toJSON()`, epoch counter included. */
export function scheduleFromJSON(s: ScheduleState): LRSchedule | ReduceLROnPlateau {
  if (s.type === 'ReduceLROnPlateau') return ReduceLROnPlateau.fromJSON(s);
  return closedFormFromJSON(s);
}

function closedFormFromJSON(s: Exclude<ScheduleState, PlateauState>): LRSchedule {
  let out: LRSchedule;
  switch (s.type) {
    case 'StepLR':
      out = new StepLR(s.baseLr, s.stepSize, s.gamma);
      break;
    case 'CosineAnnealingLR':
      out = new CosineAnnealingLR(s.baseLr, s.tMax, s.etaMin);
      break;
    case 'ConstantLR':
      out = new ConstantLR(s.baseLr);
      break;
    case 'LinearWarmup': {
      if (s.inner.type === 'ReduceLROnPlateau') throw new TypeError('LinearWarmup cannot wrap ReduceLROnPlateau');
      out = new LinearWarmup(closedFormFromJSON(s.inner), s.warmupSteps, s.startFactor);
      break;
    }
    default:
      throw new TypeError(`unknown schedule type ${(s as { type: string }).type}`);
  }
  out.lastEpoch = s.lastEpoch;
  return out;
}

// ------------------------------------------------------------ early stop

export interface EarlyStoppingState {
  type: 'EarlyStopping';
  patience: number;
  minDelta: number;
  mode: 'min' | 'max';
  best: number | string;
  bestEpoch: number;
  badEpochs: number;
  epoch: number;
}

/**
 * Stops training after `patience` consecutive epochs without improvement. Improvement ('min'):
 * metric < best − minDelta ('max': metric > best + minDelta); NaN never improves. `step` returns
 * true when training should stop; `improved` says whether the last metric was a new best (save
 * the best checkpoint then).
 */
export class EarlyStopping {
  best: number;
  bestEpoch = 0;
  badEpochs = 0;
  epoch = 0;
  improved = false;

  constructor(
    readonly patience: number,
    readonly minDelta = 0,
    readonly mode: 'min' | 'max' = 'min',
  ) {
    if (!(Number.isInteger(patience) && patience >= 1)) throw new RangeError(`EarlyStopping: patience must be a positive integer, got ${patience}`);
    if (!(minDelta >= 0)) throw new RangeError(`EarlyStopping: minDelta must be ≥ 0, got ${minDelta}`);
    this.best = mode === 'min' ? Infinity : -Infinity;
  }

  get shouldStop(): boolean {
    return this.badEpochs >= this.patience;
  }

  step(metric: number): boolean {
    this.epoch++;
    this.improved = this.mode === 'min' ? metric < this.best - this.minDelta : metric > this.best + this.minDelta;
    if (this.improved) {
      this.best = metric;
      this.bestEpoch = this.epoch;
      this.badEpochs = 0;
    } else {
      this.badEpochs++;
    }
    return this.shouldStop;
  }

  toJSON(): EarlyStoppingState {
    return {
      type: 'EarlyStopping',
      patience: this.patience,
      minDelta: this.minDelta,
      mode: this.mode,
      best: Number.isFinite(this.best) ? this.best : String(this.best),
      bestEpoch: this.bestEpoch,
      badEpochs: this.badEpochs,
      epoch: this.epoch,
    };
  }

  static fromJSON(s: EarlyStoppingState): EarlyStopping {
    const e = new EarlyStopping(s.patience, s.minDelta, s.mode);
    e.best = Number(s.best);
    e.bestEpoch = s.bestEpoch;
    e.badEpochs = s.badEpochs;
    e.epoch = s.epoch;
    return e;
  }
}

import { describe, expect, test } from 'vitest';
import {
  ConstantLR,
  CosineAnnealingLR,
  EarlyStopping,
  LinearWarmup,
  ReduceLROnPlateau,
  scheduleFromJSON,
  StepLR,
  withWarmup,
  type LRSchedule,
} from '../src/nn/schedule';

/** lr at epochs 0..n-1, walking with step() as a training loop does. */
function walk(s: LRSchedule, n: number): number[] {
  const out = [s.lr];
  for (let i = 1; i < n; i++) out.push(s.step());
  return out;
}

const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g, `index ${i}`).toBeCloseTo(want[i]!, 12));
};

describe('StepLR', () => {
  test('base · gamma^floor(epoch / stepSize)', () => {
    close(walk(new StepLR(0.1, 3, 0.5), 8), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]);
    expect(new StepLR(1, 2).lrAt(5)).toBeCloseTo(0.01, 15); // default gamma 0.1
    expect(() => new StepLR(0.1, 0)).toThrow(/stepSize/);
  });
});

describe('CosineAnnealingLR', () => {
  test('closed form etaMin + (base − etaMin)(1 + cos(π t / T)) / 2, periodic past tMax', () => {
    const c = Math.SQRT1_2;
    close(walk(new CosineAnnealingLR(1, 4, 0.2), 9), [1, 0.2 + 0.4 * (1 + c), 0.6, 0.2 + 0.4 * (1 - c), 0.2, 0.2 + 0.4 * (1 - c), 0.6, 0.2 + 0.4 * (1 + c), 1]);
    expect(new CosineAnnealingLR(0.01, 100).lrAt(50)).toBeCloseTo(0.005, 15); // etaMin 0
  });
});

describe('LinearWarmup', () => {
  test('LinearLR(startFactor → 1 over W steps) then the inner schedule from its epoch 0', () => {
    const s = withWarmup(new CosineAnnealingLR(1, 4, 0.2), 2, 0.1);
    close(walk(s, 5), [0.1, 0.55, 1, 0.2 + 0.4 * (1 + Math.SQRT1_2), 0.6]);
    close(walk(new LinearWarmup(new StepLR(0.3, 2, 0.1), 3), 6), [0.1, 0.3 * (1 / 3 + 2 / 9), 0.3 * (1 / 3 + 4 / 9), 0.3, 0.3, 0.03]);
    close(walk(new LinearWarmup(new ConstantLR(2), 0), 3), [2, 2, 2]);
  });
});

describe('ReduceLROnPlateau', () => {
  test('patience, relative threshold, cooldown and minLr (PyTorch step semantics)', () => {
    const r = new ReduceLROnPlateau(1, { patience: 2, threshold: 0.1, cooldown: 1, minLr: 0.2 });
    const metrics = [10, 9.5, 9.2, 9.1, 9.05, 9.05, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
    // by hand: better means m < best·0.9. Epochs 2-4 are bad (9.5, 9.2, 9.1 ≥ 9): the third bad
    // epoch exceeds patience 2 → lr 0.5, cooldown 1 (epoch 5's bad count is reset). Epoch 7 (8 < 9)
    // is a new best; 8-10 bad → 0.25 at epoch 10; 11 cooldown, 12-14 bad → max(0.125, 0.2) = 0.2;
    // later reductions are below eps and change nothing.
    const want = [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2];
    close(
      metrics.map((m) => r.step(m)),
      want,
    );
    expect(r.best).toBe(8);
    expect(r.lastEpoch).toBe(18);
  });

  test('defaults: mode min, factor 0.5, patience 13, threshold 1e-4 rel', () => {
    const r = new ReduceLROnPlateau(1e-3);
    expect(r.options).toMatchObject({ mode: 'min', factor: 0.5, patience: 13, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0 });
    r.step(1);
    // 0.99995 is not below 1·(1 − 1e-4): no improvement. 14 bad epochs (> 13) halve the lr.
    const lrs = Array.from({ length: 14 }, () => r.step(0.99995));
    expect(lrs.slice(0, 13).every((l) => l === 1e-3)).toBe(true);
    expect(lrs[13]).toBeCloseTo(5e-4, 15);
    r.step(0.9998); // 0.9998 < 0.9999: better, resets the count
    expect(r.best).toBe(0.9998);
    expect(r.numBadEpochs).toBe(0);
  });

  test('NaN counts as a bad epoch; mode max with an absolute threshold', () => {
    const r = new ReduceLROnPlateau(1, { patience: 0 });
    r.step(1);
    expect(r.step(NaN)).toBe(0.5);
    const m = new ReduceLROnPlateau(1, { mode: 'max', thresholdMode: 'abs', threshold: 0.5, patience: 1, factor: 0.1 });
    // better means m > best + 0.5: 1.01 beats 0.5; 1.2 and 1.3 do not beat 1.01 → second bad epoch > patience 1
    close([0.5, 0.9, 1.01, 1.2, 1.3].map((x) => m.step(x)), [1, 1, 1, 1, 0.1]);
  });

  test('state round trip through JSON, Infinity included', () => {
    const fresh = new ReduceLROnPlateau(0.1, { patience: 1, cooldown: 2 });
    const again = scheduleFromJSON(JSON.parse(JSON.stringify(fresh.toJSON()))) as ReduceLROnPlateau;
    expect(again.best).toBe(Infinity);
    const a = new ReduceLROnPlateau(0.1, { patience: 1, cooldown: 2 });
    const metrics = [5, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3];
    metrics.slice(0, 4).forEach((m) => a.step(m));
    const b = scheduleFromJSON(JSON.parse(JSON.stringify(a.toJSON()))) as ReduceLROnPlateau;
    expect(b).toBeInstanceOf(ReduceLROnPlateau);
    for (const m of metrics.slice(4)) expect(b.step(m)).toBe(a.step(m));
    expect(b.toJSON()).toEqual(a.toJSON());
  });
});

describe('closed-form state round trip', () => {
  test.each([
    ['StepLR', () => new StepLR(0.1, 3, 0.5)],
    ['CosineAnnealingLR', () => new CosineAnnealingLR(0.1, 10, 1e-4)],
    ['LinearWarmup', () => withWarmup(new CosineAnnealingLR(0.1, 10), 3, 0.01)],
  ])('%s', (_, make) => {
    const a = make();
    for (let i = 0; i < 5; i++) a.step();
    const b = scheduleFromJSON(JSON.parse(JSON.stringify(a.toJSON()))) as LRSchedule;
    expect(b.constructor).toBe(a.constructor);
    expect(b.lastEpoch).toBe(5);
    for (let i = 0; i < 10; i++) expect(b.step()).toBe(a.step());
  });
});

describe('EarlyStopping', () => {
  test('stops after `patience` epochs without an improvement of at least minDelta', () => {
    const s = new EarlyStopping(3, 0.01);
    const out = [1.0, 0.95, 0.945, 0.96, 0.944].map((m) => [s.step(m), s.improved]);
    // 0.95 < 1 − 0.01 improves; 0.945, 0.96, 0.944 are not below 0.95 − 0.01 → stop at the third.
    expect(out).toEqual([
      [false, true],
      [false, true],
      [false, false],
      [false, false],
      [true, false],
    ]);
    expect(s.best).toBe(0.95);
    expect(s.bestEpoch).toBe(2);
    expect(s.shouldStop).toBe(true);
  });

  test('NaN never improves; mode max; JSON round trip', () => {
    const s = new EarlyStopping(2, 0, 'max');
    expect(s.step(0.5)).toBe(false);
    expect(s.step(NaN)).toBe(false);
    const t = EarlyStopping.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(t.toJSON()).toEqual(s.toJSON());
    expect(t.step(0.4)).toBe(true);
    const fresh = EarlyStopping.fromJSON(JSON.parse(JSON.stringify(new EarlyStopping(5).toJSON())));
    expect(fresh.best).toBe(Infinity);
    expect(() => new EarlyStopping(0)).toThrow(/patience/);
  });
});

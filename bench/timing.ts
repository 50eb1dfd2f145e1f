/**
 * Timing both sides the same way (docs/DESIGN.md §6: separate first run from steady state, await real
 * completion): a repetition is `inner` back-to-back runs followed by one completion wait, and the
 * time per op is the repetition's wall time / inner. osteo waits with engine.sync() (flush +
 * queue.onSubmittedWorkDone); tfjs-webgpu with its own submit + queue.onSubmittedWorkDone, and
 * other tfjs backends with the readback of one element of the last result.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type { Engine } from '../src/gpu/engine';
import { disposeOsteo, warmGpu, type Outputs } from '../src/gpu/warm';
import { median } from '../src/util/stats';
import { innerRuns, summarizeTimes, type Timing } from './stats';

export type Tf = typeof tfc;

export interface TimingOptions {
  reps: number;
  /** Aim for repetitions of about this many ms (back-to-back runs amortise the final wait). */
  targetMs: number;
  maxInner: number;
}

export interface Timed {
  firstMs: number;
  steady: Timing;
}



const now = (): number => performance.now();

/** Generic: first run, one warm run to size `inner`, then `reps` repetitions. */
async function timeLoop(runOnce: () => void, wait: () => Promise<void>, opts: TimingOptions): Promise<Timed> {
  let t0 = now();
  runOnce();
  await wait();
  const firstMs = now() - t0;
  let inner = 1;
  // one warm run sizes the repetitions (skipped when even the first run is long)
  if (opts.maxInner > 1 && firstMs < 10 * opts.targetMs) {
    t0 = now();
    runOnce();
    await wait();
    inner = innerRuns(now() - t0, opts.targetMs, opts.maxInner);
  }
  const times: number[] = [];
  for (let r = 0; r < opts.reps; r++) {
    t0 = now();
    for (let i = 0; i < inner; i++) runOnce();
    await wait();
    times.push((now() - t0) / inner);
  }
  return { firstMs, steady: summarizeTimes(times, inner) };
}

/** Times an osteo op; `run` records it and returns its outputs, which are disposed right away. */
export async function timeOsteo(engine: Engine, run: () => Outputs, opts: TimingOptions): Promise<Timed> {
  // The same completion wait as tfjs's (submit + onSubmittedWorkDone); engine.sync() would add a
  // timer turn (≥ 1 ms in Node) per repetition. Errors surface at the sync after the loop.
  const wait = async () => {
    engine.flush();
    await engine.device.queue.onSubmittedWorkDone();
  };
  const timed = await timeLoop(() => disposeOsteo(run()), wait, opts);
  await engine.sync();
  return timed;
}


/** The records of `reps` identical runs profiled back to back, split per run (null if they do not split evenly). */
export function perRun<R>(records: readonly R[], reps: number): R[][] | null {
  const per = records.length / reps;
  if (!Number.isInteger(per) || per < 1) return null;
  return Array.from({ length: reps }, (_, r) => records.slice(r * per, (r + 1) * per));
}

/**
 * GPU time of one run from timestamp queries (null without them): the per-dispatch times of a
 * run summed, median over `reps` runs recorded back to back in one profile, after a warm-up burst.
 */
export async function osteoGpuTime(engine: Engine, run: () => Outputs, reps: number): Promise<number | null> {
  if (!engine.hasTimestamps) return null;
  await warmGpu(engine, run);
  const prof = await engine.profile(() => {
    for (let r = 0; r < reps; r++) disposeOsteo(run());
  });
  const runs = prof.mode === 'timestamp' ? perRun(prof.records, reps) : null;
  return runs ? median(runs.map((rs) => rs.reduce((a, x) => a + x.ms, 0))) : null;
}

interface WebGpuBackendLike {
  queue?: GPUQueue;
  submitQueue?: () => void;
  ensureCommandEncoderReady?: () => void;
  endComputePassEncoder?: () => void;
}

/** Waits until tfjs has finished all work issued so far. */
export async function tfSync(tf: Tf, last?: tfc.Tensor | null): Promise<void> {
  const b = tf.backend() as unknown as WebGpuBackendLike;
  if (tf.getBackend() === 'webgpu' && b.queue && b.submitQueue && b.ensureCommandEncoderReady) {
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder?.();
    b.submitQueue();
    await b.queue.onSubmittedWorkDone();
    return;
  }
  if (last && !last.isDisposed) {
    const one = tf.tidy(() => tf.slice(tf.reshape(last, [-1]), [0], [1]));
    await one.data();
    one.dispose();
  }
}

type TfOutputs = tfc.Tensor | tfc.Tensor[] | null | void;

/**
 * Times a tfjs op; `run` returns its outputs. With webgpu they are disposed at once (the backend
 * defers the buffer release to its next submit); otherwise the last run's first output is kept
 * for the one-element readback that proves completion.
 */
export function timeTf(tf: Tf, run: () => TfOutputs, opts: TimingOptions, keep?: () => tfc.Tensor): Promise<Timed> {
  let last: tfc.Tensor | null = null;
  const runOnce = () => {
    if (last) {
      last.dispose();
      last = null;
    }
    const out = run();
    if (!out) return;
    const list = Array.isArray(out) ? out : [out];
    last = list[0] ?? null;
    for (const t of list.slice(1)) t.dispose();
  };
  return timeLoop(runOnce, async () => {
    await tfSync(tf, last ?? keep?.());
    if (last) {
      last.dispose();
      last = null;
    }
  }, opts);
}

/**
 * How the CLI shows the application layer's progress: lines on stderr, and during an epoch a
 * cli-progress bar when stderr is a terminal.
 */
import type { StepInfo } from '../train/trainer';
import { duration } from '../train/format';
import type { TrainProgress } from '../train/run';

/** One line on stderr. */
export const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

interface Bar {
  start: (total: number, epoch: number, epochs: number) => void;
  update: (v: number, p: Record<string, string>) => void;
  stop: () => void;
}

const NO_BAR: Bar = { start: () => {}, update: () => {}, stop: () => {} };

/** A cli-progress bar on a TTY, nothing otherwise (epoch lines are always printed). */
async function progressBar(enabled: boolean): Promise<Bar> {
  if (!enabled || !process.stderr.isTTY) return NO_BAR;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'epoch {ep} [{bar}] {value}/{total} steps | loss {loss} | lr {lr} | {ips} img/s | epoch ETA {eta_formatted} | run ETA {run}',
      hideCursor: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start: (total, epoch, epochs) => {
      bar.start(total, 0, { ep: `${epoch}/${epochs}`, loss: '-', lr: '-', ips: '-', run: '-' });
      running = true;
    },
    update: (v, p) => bar.update(v, p),
    stop: () => {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** A training-progress printer; call `stop()` when the run ends (also on errors). */
export interface TrainPrinter {
  onProgress: (p: TrainProgress, tag?: string) => void;
  stop: () => void;
}

/**
 * Prints a run's log lines (with `[tag]` for the study's runs) and its steps on a bar.
 * `quiet`: nothing at all. `onStep` sees every step (tests use it to interrupt a run).
 */
export async function trainPrinter(opts: { quiet?: boolean; onStep?: (s: StepInfo) => void } = {}): Promise<TrainPrinter> {
  const bar = await progressBar(!opts.quiet);
  return {
    onProgress(p, tag) {
      switch (p.kind) {
        case 'log':
          bar.stop();
          if (!opts.quiet) log(tag ? `[${tag}] ${p.message}` : p.message);
          break;
        case 'epoch-start':
          bar.start(p.steps, p.epoch, p.epochs);
          break;
        case 'step':
          bar.update(p.step, { loss: p.loss.toFixed(5), lr: p.lr.toExponential(2), ips: p.imagesPerSecond.toFixed(1), run: duration(p.runSecondsLeft) });
          opts.onStep?.(p);
          break;
        case 'epoch-end':
          bar.stop();
          break;
      }
    },
    stop: () => bar.stop(),
  };
}

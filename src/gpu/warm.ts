/**
 * Warming a GPU before timing it (the tile sweep of `osteo tune`, the benchmarks): a GPU left idle
 * between single runs drops its clocks, so timings start after a burst of work.
 */
import type { Engine } from './engine';
import type { Tensor } from './tensor';

/** What a timed run returns: tensors to free, or nothing. */
export type Outputs = Tensor | readonly Tensor[] | void | null | undefined;

/** Frees a run's output tensors. */
export function disposeOsteo(out: Outputs): void {
  if (!out) return;
  if (Array.isArray(out)) for (const t of out as Tensor[]) t.dispose();
  else (out as Tensor).dispose();
}

/**
 * Keeps the GPU busy with `run` for about `ms` (bursts of 8, then a wait): a GPU left idle between
 * single runs drops its clocks, and a 16 MB copy then reads several times slower than in a
 * training step. A CPU rasteriser has no clocks to ramp: one run there.
 */
export async function warmGpu(engine: Engine, run: () => Outputs, ms = 20): Promise<void> {
  const t0 = performance.now();
  const burst = engine.adapter.fallback ? 1 : 8;
  do {
    for (let i = 0; i < burst; i++) disposeOsteo(run());
    await engine.sync();
  } while (!engine.adapter.fallback && performance.now() - t0 < ms);
}

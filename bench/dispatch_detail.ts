/**
 * Per-dispatch GPU times of single benchmark rows (e.g. the 64x256x256 data-movement goal rows):
 * which of an op's dispatches costs what, at steady state (a warm-up burst, then `reps` runs back
 * to back in one profile, median per dispatch position). Host-agnostic; timestamps required.
 */
import type { Engine } from '../src/gpu/engine';
import { kernelCases } from './kernels';
import { median } from '../src/util/stats';
import { disposeOsteo, warmGpu } from '../src/gpu/warm';
import { perRun } from './timing';

export interface DispatchDetail {
  key: string;
  dispatches: { kernel: string; shape: string; ms: number; gbps: number; flops: number }[];
  totalMs: number;
}

export async function dispatchDetail(engine: Engine, size: number, batch: number, filter: (key: string, layer: string) => boolean, reps = 10): Promise<DispatchDetail[]> {
  const out: DispatchDetail[] = [];
  for (const c of kernelCases(size, batch).filter((c) => filter(c.key, c.layer))) {
    const side = c.osteo(engine);
    try {
      await warmGpu(engine, side.run);
      const prof = await engine.profile(() => {
        for (let r = 0; r < reps; r++) disposeOsteo(side.run());
      });
      const runs = perRun(prof.records, reps);
      if (!runs) continue;
      const dispatches = runs[0]!.map((r, j) => {
        const med = median(runs.map((run) => run[j]!.ms));
        return { kernel: r.kernel, shape: r.shape, ms: med, gbps: r.bytes / (med * 1e6), flops: r.flops };
      });
      out.push({ key: c.key, dispatches, totalMs: dispatches.reduce((a, d) => a + d.ms, 0) });
    } finally {
      side.dispose();
      await engine.sync();
    }
  }
  return out;
}

export function detailMarkdown(rows: readonly DispatchDetail[]): string {
  const lines = ['| row | dispatch | kernel | ms | GB/s (its own bytes) |', '|---|---|---|---|---|'];
  for (const r of rows) {
    r.dispatches.forEach((d, i) => lines.push(`| ${i === 0 ? `${r.key} (${r.totalMs.toFixed(4)} ms)` : ''} | ${i} | ${d.kernel} | ${d.ms.toFixed(4)} | ${d.gbps.toFixed(0)} |`));
  }
  return lines.join('\n') + '\n';
}

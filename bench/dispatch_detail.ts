/**
 * Per-dispatch GPU times of single benchmark rows (e.g. the 64x256x256 data-movement goal rows):
 * which of an op's dispatches costs what, at steady state (a warm-up burst, then `reps` runs back
 * to back in one profile, median per dispatch position). Host-agnostic; timestamps required.
 */
import type { Engine } from '../src/gpu/engine';
import type { Tensor } from '../src/gpu/tensor';
import { kernelCases } from './kernels';

export interface DispatchDetail {
  key: string;
  dispatches: { kernel: string; shape: string; ms: number; gbps: number; flops: number }[];
  totalMs: number;
}

function disposeAll(out: unknown): void {
  if (!out) return;
  for (const t of Array.isArray(out) ? out : [out]) (t as Tensor).dispose();
}

export async function dispatchDetail(engine: Engine, size: number, batch: number, filter: (key: string, layer: string) => boolean, reps = 10): Promise<DispatchDetail[]> {
  const out: DispatchDetail[] = [];
  for (const c of kernelCases(size, batch).filter((c) => filter(c.key, c.layer))) {
    const side = c.osteo(engine);
    try {
      const t0 = performance.now();
      do {
        for (let i = 0; i < 8; i++) disposeAll(side.run());
        await engine.sync();
      } while (performance.now() - t0 < 20);
      const prof = await engine.profile(() => {
        for (let r = 0; r < reps; r++) disposeAll(side.run());
      });
      const per = prof.records.length / reps;
      if (!Number.isInteger(per) || per < 1) continue;
      const dispatches = Array.from({ length: per }, (_, j) => {
        const ms = prof.records.filter((_, i) => i % per === j).map((r) => r.ms).sort((a, b) => a - b);
        const r = prof.records[j]!;
        const med = ms[Math.floor(ms.length / 2)]!;
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

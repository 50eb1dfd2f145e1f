/**
 * Hook for bench/gpu_session.ts (`--bench`): runs the kernel and model suites on the session's
 * engine and writes $OUT/bench-node-gpu.{json,md,html}. Returns the results.
 */
import { join } from 'node:path';
import type { Engine } from '../src/gpu/engine';
import { runNodeBench } from './node_host';
import type { BenchResults } from './types';
import { writeResults } from './write';

export async function runBench(engine: Engine, out: string, say: (s: string) => void, notes: string[] = []): Promise<BenchResults> {
  const results = await runNodeBench({ reps: 6 }, say, engine);
  results.notes.push(...notes);
  const tag = results.meta.adapter.fallback ? 'swiftshader' : 'gpu';
  writeResults(results, { json: join(out, `bench-node-${tag}.json`), md: join(out, `bench-node-${tag}.md`), html: join(out, `bench-node-${tag}.html`) });
  return results;
}

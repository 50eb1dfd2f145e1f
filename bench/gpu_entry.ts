/**
 * Entry for the lent GPU machine: the kernel and model suites, osteo vs tfjs-webgpu, in Node on
 * Dawn. Writes $OUT/bench-node.{json,md,html}. Pack and run:
 *   bash ../shared/gpu/pack.sh bench/gpu_entry.ts
 *   (device) carry [".gpu"], command "bash .gpu/run.sh [--suite all] [--size 256] [--reps 10] …"
 * Takes the same flags as `osteo bench` (Node host only).
 */
import { join } from 'node:path';
import { parseBenchArgs } from './args';
import { runNodeBench } from './node_host';
import { markdownReport } from './report';
import { writeResults } from './write';

async function main(): Promise<void> {
  const out = process.env.OUT ?? 'bench-out';
  const { overrides } = parseBenchArgs(process.argv.slice(2));
  const t0 = performance.now();
  const results = await runNodeBench(overrides, (s) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`));
  const tag = results.meta.adapter.fallback ? 'swiftshader' : 'gpu';
  const files = writeResults(results, { json: join(out, `bench-node-${tag}.json`), md: join(out, `bench-node-${tag}.md`), html: join(out, `bench-node-${tag}.html`) });
  console.log(markdownReport(results));
  console.log(`wrote ${files.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

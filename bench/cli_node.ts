/**
 * `osteo bench` proper (Node-only). src/cli/commands/bench.ts bundles this file with tfjs at run
 * time (tfjs-core's gradient registry is ESM with extension-less imports that Node cannot load
 * unbundled) and calls benchMain.
 */
import { parseBenchArgs } from './args';
import { runChromiumBench } from './chromium_host';
import { runNodeBench } from './node_host';
import { markdownReport } from './report';
import type { BenchResults } from './types';
import { writeCombined, writeResults } from './write';

/** FILE.ext → FILE-host.ext when both hosts run. */
function suffixed(path: string | undefined, host: string, both: boolean): string | undefined {
  if (!path || !both) return path;
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}-${host}${path.slice(dot)}` : `${path}-${host}`;
}

export async function benchMain(argv: string[], root: string): Promise<number> {
  const args = parseBenchArgs(argv);
  const hosts: ('node' | 'chromium')[] = args.host === 'both' ? ['node', 'chromium'] : [args.host];
  const t0 = performance.now();
  const log = (s: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);
  const both = hosts.length > 1;
  const runs: BenchResults[] = [];
  for (const host of hosts) {
    const results: BenchResults = host === 'node' ? await runNodeBench(args.overrides, log) : await runChromiumBench(root, args.overrides, log);
    runs.push(results);
    const written = writeResults(results, { json: suffixed(args.json, host, both), md: suffixed(args.md, host, both), html: suffixed(args.report, host, both) });
    console.log(markdownReport(results));
    if (written.length) console.error(`wrote ${written.join(', ')}`);
  }
  if (both) {
    // FILE.html / FILE.md: both hosts in one report, summary of every runtime first.
    const written = writeCombined(runs, { md: args.md, html: args.report });
    if (written.length) console.error(`wrote ${written.join(', ')}`);
  }
  return 0;
}

/** Command-line flags shared by `osteo bench` and the GPU entry. */
import { parseArgs } from 'node:util';
import type { BenchOverrides, Suite } from './run';

export const BENCH_USAGE =
  'osteo bench [--suite kernels|model|inference|all|decode] [--data SPEC (decode)] [--host node|chromium|both] [--size N] [--batch N] [--reps N] [--train-size N] [--train-batch N] [--filter REGEX] [--json FILE] [--report FILE.html] [--md FILE]';

export interface BenchArgs {
  overrides: BenchOverrides;
  host: 'node' | 'chromium' | 'both';
  json?: string;
  report?: string;
  md?: string;
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${v}`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      host: { type: 'string' },
      size: { type: 'string' },
      batch: { type: 'string' },
      reps: { type: 'string' },
      'train-size': { type: 'string' },
      'train-batch': { type: 'string' },
      filter: { type: 'string' },
      json: { type: 'string' },
      report: { type: 'string' },
      md: { type: 'string' },
    },
  });
  const suite = (values.suite ?? 'all') as Suite;
  if (!['kernels', 'model', 'inference', 'all'].includes(suite)) throw new RangeError(`--suite must be kernels, model, inference or all, got ${suite}`);
  const host = (values.host ?? 'node') as BenchArgs['host'];
  if (!['node', 'chromium', 'both'].includes(host)) throw new RangeError(`--host must be node, chromium or both, got ${host}`);
  return {
    overrides: {
      suite,
      size: int('size', values.size),
      batch: int('batch', values.batch),
      reps: int('reps', values.reps),
      trainSize: int('train-size', values['train-size']),
      trainBatch: int('train-batch', values['train-batch']),
      filter: values.filter,
    },
    host,
    json: values.json,
    report: values.report,
    md: values.md,
  };
}

/**
 * `osteo bench --suite decode`: how long a data set takes to be ready for training (read, decode,
 * resize to the working copies), three ways: the JavaScript decoders on the main thread (what
 * osteo did before issue 14), the worker pool with an empty cache (first run), and the worker
 * pool again (second run, from the cache). Each row is one full load, timed end to end; the
 * machine's load average is recorded before and after, since a shared machine skews it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../src/node/data_png';
import { readDataset } from '../src/node/data_readers';
import { prepareDataFast } from '../src/node/decode_prepare';

export interface DecodeRow {
  method: string;
  seconds: number;
  images: number;
  perImageMs: number;
  decoded: number;
  cached: number;
  fallback: number;
  loadBefore: number[];
  loadAfter: number[];
}

export interface DecodeBenchResult {
  benchmark: 'decode';
  data: string;
  size: number;
  workers: number;
  machine: { cpus: number; cpu: string; node: string; platform: string };
  commit: string;
  date: string;
  rows: DecodeRow[];
  notes: string[];
}

export interface DecodeBenchOptions {
  data: string;
  /** Model input size (the working copies are 1.5x). */
  size?: number;
  workers?: number;
  /** Skip the JS-decoder row (minutes on big sets). */
  skipBaseline?: boolean;
  log?: (s: string) => void;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const la = () => loadavg().map((x) => round(x));

function commitOf(): string {
  try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return 'unknown'; }
}

export function runDecodeBench(o: DecodeBenchOptions): DecodeBenchResult {
  const size = o.size ?? 256;
  const ds = readDataset(o.data);
  const cacheDir = mkdtempSync(join(tmpdir(), 'osteo-decode-bench-'));
  const rows: DecodeRow[] = [];
  const time = (method: string, workers: number): void => {
    o.log?.(`decode bench: ${method} …`);
    const before = la();
    const t0 = performance.now();
    const d = prepareDataFast(o.data, ds, { size }, { workers, cacheDir });
    const s = (performance.now() - t0) / 1000;
    const n = d.set.images.length;
    rows.push({ method, seconds: round(s), images: n, perImageMs: round((1000 * s) / n, 1), decoded: d.loadStats.decoded, cached: d.loadStats.cached, fallback: d.loadStats.fallback, loadBefore: before, loadAfter: la() });
    o.log?.(`decode bench: ${method}: ${round(s)} s for ${n} images`);
  };
  const workers = o.workers ?? Math.max(1, cpus().length);
  try {
    if (!o.skipBaseline) time('JS decoders, main thread (before)', 0);
    time(`sharp in ${workers} worker(s), empty cache (first run)`, workers);
    time(`sharp in ${workers} worker(s), cached (second run)`, workers);
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    benchmark: 'decode', data: o.data, size, workers,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    commit: commitOf(), date: new Date().toISOString(), rows,
    notes: [
      'Each row: readDataset done before; then decode + resize of every image to the training working copy (1.5 x size on the longer side), end to end.',
      'loadBefore/loadAfter: the 1/5/15-minute load averages; the machine is shared with other jobs, so a load above the core count slows every row.',
    ],
  };
}

export function decodeMarkdown(r: DecodeBenchResult): string {
  const lines = [
    `# Decode benchmark: ${r.data}`,
    '',
    `${r.machine.cpus} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.machine.platform}; commit ${r.commit}; ${r.date}; working copies for size ${r.size}.`,
    '',
    '| method | seconds | ms / image | images | decoded / cached / JS | load avg before → after (1 min) |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...r.rows.map((x) => `| ${x.method} | ${x.seconds} | ${x.perImageMs} | ${x.images} | ${x.decoded} / ${x.cached} / ${x.fallback} | ${x.loadBefore[0]} → ${x.loadAfter[0]} |`),
    '',
    ...r.notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}

/** Runs the benchmark and writes FILE.json / FILE.md when given. */
export function decodeBenchMain(o: DecodeBenchOptions & { json?: string; md?: string }): DecodeBenchResult {
  const r = runDecodeBench(o);
  const md = decodeMarkdown(r);
  if (o.json) writeFileAtomicSync(o.json, `${JSON.stringify(r, null, 2)}\n`);
  if (o.md) writeFileAtomicSync(o.md, md);
  console.log(md);
  return r;
}

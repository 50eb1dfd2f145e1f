/**
 * `osteo profile` end to end on the CPU fallback (full-width U-Net++ at 32², ~15 s): progress on
 * stderr while it compiles and runs, and a Chrome/Perfetto trace whose process and thread are named.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { chromeTrace, type TraceEvent, type TraceMetadataEvent } from '../../src/cli/commands/profile';
import type { DispatchRecord } from '../../src/gpu/profiler';
import { tmp } from '../train/helpers';
import { ensureBuilt, runBuilt } from './io';

beforeAll(() => ensureBuilt(), 180_000);

test('chromeTrace: metadata events name the process and the thread, then one complete event per dispatch', () => {
  const recs: DispatchRecord[] = [
    { kernel: 'conv2d', shape: 'a', flops: 2e6, bytes: 1e5, ms: 0.5, layer: 'encoder.features.0' },
    { kernel: 'relu', shape: 'b', flops: 1e3, bytes: 1e4, ms: 0.25, layer: '' },
  ];
  const t = chromeTrace(recs, { fmaGflops: 10, copyGbps: 10 }, 'inference b1 32x32', { process: 'osteo profile: inference', thread: 'GPU queue' });
  const meta = t.traceEvents.filter((e): e is TraceMetadataEvent => e.ph === 'M');
  expect(meta).toEqual([
    { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: 'osteo profile: inference' } },
    { name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: 'GPU queue' } },
  ]);
  const x = t.traceEvents.filter((e): e is TraceEvent => e.ph === 'X');
  expect(x.map((e) => [e.name, e.ts, e.dur])).toEqual([['encoder.features.0 [conv2d]', 0, 500], ['relu', 500, 250]]);
  // every event sits on the named process and thread
  for (const e of t.traceEvents) expect([e.pid, e.tid]).toEqual([1, 1]);
});

test('osteo profile --software: progress lines on stderr, a trace with named process and thread', async () => {
  const trace = join(tmp('profile'), 'sub', 'trace.json');
  const r = await runBuilt(['profile', '--software', '--size', '32', '--top', '3', '--trace', trace]);
  expect(r.code, r.stderr).toBe(0);
  // progress before each long phase, with elapsed seconds
  for (const phase of [/measuring its FMA and copy ceilings/, /first inference: compiles every shader/, /first run took [\d.]+ s/, /steady run/, /profiled \d+ dispatches/]) {
    expect(r.stderr).toMatch(new RegExp(`^\\[\\d+\\.\\ds\\] .*${phase.source}`, 'm'));
  }
  expect(r.stdout).toMatch(/^# inference b1 32x32/m);
  const doc = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { name: string; ph: string; pid: number; tid: number; args: Record<string, unknown> }[] };
  const proc = doc.traceEvents.find((e) => e.ph === 'M' && e.name === 'process_name');
  const thread = doc.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name');
  expect(proc?.args.name).toBe('osteo profile: inference b1 32x32');
  expect(thread?.args.name).toMatch(/^GPU queue of .+ \(CPU fallback\): dispatches end to end/);
  const complete = doc.traceEvents.filter((e) => e.ph === 'X');
  expect(complete.length).toBeGreaterThan(50);
  for (const e of complete) expect([e.pid, e.tid]).toEqual([proc!.pid, thread!.tid]);
}, 300_000);

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Graph } from '../../autograd/graph';
import { measureCeilings, type Ceilings } from '../../gpu/ceilings';
import type { Engine } from '../../gpu/engine';
import { summarize, type DispatchRecord } from '../../gpu/profiler';
import { initializeUnetPP } from '../../model/init';
import { UnetPlusPlus } from '../../model/unetpp';
import { AdamW } from '../../nn/optim';
import { writeFileAtomicSync } from '../../node/data_png';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { checks, defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';

const USAGE = 'osteo profile [--train] [--size N] [--batch N] [--classes K] [--trace FILE.json] [--top N] [--software]';

const OPTIONS = defineOptions({
  train: { type: 'boolean', description: 'profile a training step (forward, backward, AdamW) instead of inference' },
  size: {
    type: 'string', value: 'N', defaultText: 'GPU: 512 (256 with --train), CPU fallback: 64',
    description: 'input size in pixels (N x N), a multiple of 32', check: checks.inputSize(),
  },
  batch: { type: 'string', value: 'N', defaultText: 'GPU: 1 (4 with --train), CPU fallback: 1', description: 'batch size', check: checks.int(1) },
  classes: { type: 'string', value: 'K', default: '19', description: 'landmarks (output channels) of the model', check: checks.int(1) },
  trace: { type: 'string', value: 'FILE.json', defaultText: 'none', description: 'also write a Chrome/Perfetto trace (open it in ui.perfetto.dev or chrome://tracing)' },
  top: { type: 'string', value: 'N', default: '15', description: 'rows of the by-kernel and by-layer summaries', check: checks.int(1) },
  software: SOFTWARE_OPTION,
});

export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X';
  ts: number;
  dur: number;
  pid: number;
  tid: number;
  args: Record<string, string | number>;
}

/** Share of the bound that applies (roofline): compute for high FLOP/byte, bandwidth otherwise. */
export function ceilingShare(r: DispatchRecord, c: Pick<Ceilings, 'fmaGflops' | 'copyGbps'>): number {
  if (!(r.ms > 0)) return NaN;
  const gflops = r.flops / (r.ms * 1e6);
  const gbps = r.bytes / (r.ms * 1e6);
  return Math.max(gflops / c.fmaGflops, gbps / c.copyGbps);
}

/** Chrome trace metadata ("M") events: the names Perfetto and chrome://tracing show for a process and a thread. */
export interface TraceMetadataEvent {
  name: 'process_name' | 'thread_name';
  ph: 'M';
  ts: 0;
  pid: number;
  tid: number;
  args: { name: string };
}

/**
 * Chrome / Perfetto trace (chrome://tracing, ui.perfetto.dev): one complete event (ph "X") per
 * dispatch, GPU durations laid end to end in dispatch order (the timestamps give each pass's
 * duration; the gaps between passes are not GPU work). Events are named `layer [kernel]` (just
 * the kernel for unlabelled dispatches) and carry both in their args.
 */
export function traceEvents(records: readonly DispatchRecord[], c: Pick<Ceilings, 'fmaGflops' | 'copyGbps'>, label: string): { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: Record<string, string> } {
  let ts = 0;
  const events: TraceEvent[] = records.map((r, i) => {
    const dur = Math.max(0, r.ms * 1000);
    const e: TraceEvent = {
      name: r.layer ? `${r.layer} [${r.kernel}]` : r.kernel,
      cat: 'gpu',
      ph: 'X',
      ts,
      dur,
      pid: 1,
      tid: 1,
      args: { index: i, layer: r.layer, kernel: r.kernel, shape: r.shape, flops: r.flops, bytes: r.bytes, gflops: r.flops / (r.ms * 1e6) || 0, gbps: r.bytes / (r.ms * 1e6) || 0, ceilingShare: ceilingShare(r, c) || 0 },
    };
    ts += dur;
    return e;
  });
  return { traceEvents: events, displayTimeUnit: 'ms', otherData: { label, ceilings: `FMA ${c.fmaGflops.toFixed(1)} GFLOP/s, copy ${c.copyGbps.toFixed(1)} GB/s` } };
}

/**
 * The trace file: `traceEvents` preceded by metadata events naming the process (what was
 * profiled) and its one thread (the GPU queue the dispatches ran on).
 */
export function chromeTrace(
  records: readonly DispatchRecord[],
  c: Pick<Ceilings, 'fmaGflops' | 'copyGbps'>,
  label: string,
  names: { process: string; thread: string },
): { traceEvents: (TraceEvent | TraceMetadataEvent)[]; displayTimeUnit: string; otherData: Record<string, string> } {
  const t = traceEvents(records, c, label);
  const meta: TraceMetadataEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: names.process } },
    { name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 1, args: { name: names.thread } },
  ];
  return { ...t, traceEvents: [...meta, ...t.traceEvents] };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');

async function stepFn(engine: Engine, model: UnetPlusPlus, train: boolean, size: number, batch: number, classes: number) {
  const x = engine.tensor(new Float32Array(batch * size * size).map((_, i) => Math.sin(i)), [batch, 1, size, size], 'profile.x');
  const t = train ? engine.tensor(new Float32Array(batch * classes * size * size), [batch, classes, size, size], 'profile.t') : null;
  const opt = train ? new AdamW(model.params, { lr: 1e-5, weightDecay: 1e-4 }) : null;
  const step = async () => {
    const g = new Graph(engine, { grad: train, training: train });
    try {
      const y = model.forward(g, g.input(x));
      if (!train) {
        y.release();
        return;
      }
      const loss = g.mseLoss(y, g.input(t!));
      y.release();
      await g.backward(loss, { checkFinite: false });
      loss.release();
      opt!.step();
      opt!.zeroGrad();
    } finally {
      g.dispose();
    }
  };
  return { step, dispose: () => [x, t, opt].forEach((o) => o?.dispose()) };
}

export const profileCommand: Command = {
  name: 'profile',
  summary: 'per-dispatch GPU timeline of one U-Net++ inference or training step (table and Chrome/Perfetto trace)',
  usage: USAGE,
  options: OPTIONS,
  examples: [
    { command: 'osteo profile', what: 'time every dispatch of one full-size inference; the slowest kernels and layers' },
    { command: 'osteo profile --train --size 128 --batch 2 --trace train.json', what: 'a training step at 128², with a trace to open in ui.perfetto.dev' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv);
    const t00 = performance.now();
    // Progress on stderr (the tables go to stdout): the first step compiles every shader, minutes on the CPU fallback.
    const progress = (s: string) => process.stderr.write(`[${((performance.now() - t00) / 1000).toFixed(1)}s] ${s}\n`);
    progress(values.software ? 'acquiring the CPU fallback adapter' : 'acquiring a WebGPU adapter');
    const engine = await engineProvider.acquire(values.software);
    try {
      const sw = engine.adapter.fallback;
      const train = !!values.train;
      const size = Number(values.size ?? (sw ? 64 : train ? 256 : 512));
      const batch = Number(values.batch ?? (train && !sw ? 4 : 1));
      const classes = Number(values.classes);
      const top = Number(values.top);
      const device = `${engine.adapter.vendor}/${engine.adapter.architecture}${sw ? ' (CPU fallback)' : ''}`;
      progress(`device: ${engine.adapter.description || device}; measuring its FMA and copy ceilings`);
      const ceilings = await measureCeilings(engine);
      const what = `${train ? 'training step (AdamW)' : 'inference'} b${batch} ${size}x${size}`;
      progress(`building U-Net++/VGG19 (${classes} landmarks) for ${what}`);
      const model = new UnetPlusPlus(engine, { classes, inChannels: 1 });
      initializeUnetPP(model, 0);
      const { step, dispose } = await stepFn(engine, model, train, size, batch, classes);
      const label = `${what}, ${engine.adapter.vendor}/${engine.adapter.architecture}`;
      try {
        progress(`first ${train ? 'step' : 'inference'}: compiles every shader${sw ? ' (slow on the CPU fallback)' : ''}`);
        let t0 = performance.now();
        await step();
        await engine.sync();
        const firstMs = performance.now() - t0;
        progress(`first run took ${f(firstMs / 1000, 1)} s; timing a steady one`);
        t0 = performance.now();
        await step();
        await engine.sync();
        const steadyMs = performance.now() - t0;
        progress(`steady run ${f(steadyMs, 1)} ms; profiling one more, one compute pass per dispatch`);
        const prof = await engine.profile(step);
        progress(`profiled ${prof.records.length} dispatches (${prof.mode === 'timestamp' ? 'GPU timestamps' : 'wall clock'})`);
        const gpuMs = prof.records.reduce((s, r) => s + r.ms, 0);
        const flops = prof.records.reduce((s, r) => s + r.flops, 0);
        console.log(`# ${label}`);
        console.log(`first run ${f(firstMs, 0)} ms (compiles shaders), steady ${f(steadyMs, 1)} ms wall; profiled: ${prof.records.length} dispatches, ${prof.mode === 'timestamp' ? 'GPU' : 'wall-clock'} sum ${f(gpuMs, 1)} ms (${f(flops / (gpuMs * 1e6))} GFLOP/s overall), ${f(prof.wallMs, 1)} ms wall with one pass per dispatch`);
        console.log(`ceilings: FMA ${f(ceilings.fmaGflops)} GFLOP/s, copy ${f(ceilings.copyGbps)} GB/s\n`);
        console.log('| # | layer | kernel | shape | GFLOP | MB | ms | GFLOP/s | GB/s | % ceiling | % of step |');
        console.log('|---|---|---|---|---|---|---|---|---|---|---|');
        prof.records.forEach((r, i) =>
          console.log(`| ${i} | ${r.layer || '–'} | ${r.kernel} | ${r.shape} | ${f(r.flops / 1e9, 3)} | ${f(r.bytes / 1e6, 2)} | ${f(r.ms, 3)} | ${f(r.flops / (r.ms * 1e6))} | ${f(r.bytes / (r.ms * 1e6))} | ${f(ceilingShare(r, ceilings) * 100, 1)} | ${f((r.ms / gpuMs) * 100, 1)} |`),
        );
        console.log(`\n## by kernel (top ${top})\n`);
        console.log('| kernel | calls | ms | % of step | GFLOP/s | GB/s |');
        console.log('|---|---|---|---|---|---|');
        for (const k of summarize(prof.records).slice(0, top)) {
          console.log(`| ${k.kernel} | ${k.calls} | ${f(k.ms)} | ${f((k.ms / gpuMs) * 100, 1)} | ${f(k.flops / (k.ms * 1e6))} | ${f(k.bytes / (k.ms * 1e6))} |`);
        }
        console.log(`\n## by layer (top ${top})\n`);
        console.log('| layer | dispatches | ms | % of step | GFLOP/s | GB/s |');
        console.log('|---|---|---|---|---|---|');
        for (const k of summarize(prof.records, 'layer').slice(0, top)) {
          console.log(`| ${k.kernel} | ${k.calls} | ${f(k.ms)} | ${f((k.ms / gpuMs) * 100, 1)} | ${f(k.flops / (k.ms * 1e6))} | ${f(k.bytes / (k.ms * 1e6))} |`);
        }
        if (values.trace) {
          const names = {
            process: `osteo profile: ${what}`,
            thread: `GPU queue of ${device}: dispatches end to end, ${prof.mode === 'timestamp' ? 'timestamp-query' : 'wall-clock'} durations`,
          };
          mkdirSync(dirname(values.trace) || '.', { recursive: true });
          writeFileAtomicSync(values.trace, JSON.stringify(chromeTrace(prof.records, ceilings, label, names)));
          console.log(`\nwrote ${values.trace} (open in ui.perfetto.dev or chrome://tracing)`);
        }
      } finally {
        dispose();
        model.dispose();
      }
    } finally {
      engineProvider.release(engine);
    }
  },
};

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Graph } from '../../autograd/graph';
import { measureCeilings, type Ceilings } from '../../gpu/ceilings';
import type { Engine } from '../../gpu/engine';
import { summarize, type DispatchRecord } from '../../gpu/profiler';
import { initializeUnetPP } from '../../model/init';
import { UnetPlusPlus } from '../../model/unetpp';
import { AdamW } from '../../nn/optim';
import { acquireNodeEngine } from '../../node/acquire_node';
import { UsageError, type Command } from '../command';

const USAGE = 'osteo profile [--size N] [--batch N] [--train] [--classes K] [--trace FILE.json] [--top N] [--software]';

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
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        size: { type: 'string' },
        batch: { type: 'string' },
        train: { type: 'boolean' },
        classes: { type: 'string', default: '19' },
        trace: { type: 'string' },
        top: { type: 'string', default: '15' },
        software: { type: 'boolean' },
      },
    });
    const engine = await acquireNodeEngine({ forceSoftware: values.software });
    try {
      const sw = engine.adapter.fallback;
      const train = !!values.train;
      const size = Number(values.size ?? (sw ? 64 : train ? 256 : 512));
      const batch = Number(values.batch ?? (train && !sw ? 4 : 1));
      const classes = Number(values.classes);
      if (!Number.isInteger(size) || size < 32 || size % 32) throw new UsageError(`--size must be a multiple of 32, got ${values.size}`);
      if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer, got ${values.batch}`);
      const ceilings = await measureCeilings(engine);
      const model = new UnetPlusPlus(engine, { classes, inChannels: 1 });
      initializeUnetPP(model, 0);
      const { step, dispose } = await stepFn(engine, model, train, size, batch, classes);
      const label = `${train ? 'training step (AdamW)' : 'inference'} b${batch} ${size}x${size}, ${engine.adapter.vendor}/${engine.adapter.architecture}`;
      try {
        let t0 = performance.now();
        await step();
        await engine.sync();
        const firstMs = performance.now() - t0;
        t0 = performance.now();
        await step();
        await engine.sync();
        const steadyMs = performance.now() - t0;
        const prof = await engine.profile(step);
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
        console.log(`\n## by kernel (top ${values.top})\n`);
        console.log('| kernel | calls | ms | % of step | GFLOP/s | GB/s |');
        console.log('|---|---|---|---|---|---|');
        for (const k of summarize(prof.records).slice(0, Number(values.top))) {
          console.log(`| ${k.kernel} | ${k.calls} | ${f(k.ms)} | ${f((k.ms / gpuMs) * 100, 1)} | ${f(k.flops / (k.ms * 1e6))} | ${f(k.bytes / (k.ms * 1e6))} |`);
        }
        console.log(`\n## by layer (top ${values.top})\n`);
        console.log('| layer | dispatches | ms | % of step | GFLOP/s | GB/s |');
        console.log('|---|---|---|---|---|---|');
        for (const k of summarize(prof.records, 'layer').slice(0, Number(values.top))) {
          console.log(`| ${k.kernel} | ${k.calls} | ${f(k.ms)} | ${f((k.ms / gpuMs) * 100, 1)} | ${f(k.flops / (k.ms * 1e6))} | ${f(k.bytes / (k.ms * 1e6))} |`);
        }
        if (values.trace) {
          writeFileSync(values.trace, JSON.stringify(traceEvents(prof.records, ceilings, label)));
          console.log(`\nwrote ${values.trace} (open in ui.perfetto.dev or chrome://tracing)`);
        }
      } finally {
        dispose();
        model.dispose();
      }
    } finally {
      engine.destroy();
    }
  },
};

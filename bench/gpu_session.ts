/**
 * Everything worth doing in one short lease of a GPU machine, in order of value:
 *   1. adapter, limits and the measured FMA / copy ceilings
 *   2. every host-agnostic correctness suite (the same cases CI runs on SwiftShader)
 *   3. peak memory of inference 512² and a training step b4 256² (dry run)
 *   4. whole-model times: U-Net++ inference b1 512² and a training step b4 256², plus a per-kernel
 *      profile of one training step
 *   5. (optional, --sweep) a tile sweep of every conv of the training step and of inference
 *      (bench/tile_sweep.ts), then the whole model again with the resulting tuning table; or
 *      (--tuning=FILE) the whole model again with a table measured earlier
 *   6. (optional, --bench) the kernel + model suites against tfjs-webgpu
 * Results go to $OUT (JSON + markdown). Packed by ../shared/gpu/pack.sh bench/gpu_session.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../src/autograd/graph';
import { measureCeilings } from '../src/gpu/ceilings';
import type { Engine } from '../src/gpu/engine';
import { summarize } from '../src/gpu/profiler';
import { initializeUnetPP } from '../src/model/init';
import { measureMemory } from '../src/model/memory';
import { UnetPlusPlus } from '../src/model/unetpp';
import { AdamW } from '../src/nn/optim';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { runCase } from '../test/suites/case';
import { ALL_SUITES } from '../test/suites/all';
import { parseTuning, setTuning, tuning } from '../src/kernels/tuning';
import { detailMarkdown, dispatchDetail } from './dispatch_detail';
import { GOAL_LAYER } from './kernels';
import { sweepMarkdown, sweepUnetpp, tuningFromSweep } from '../src/model/tile_sweep';

const OUT = process.env.OUT ?? 'gpu-out';
mkdirSync(OUT, { recursive: true });
const args = new Set(process.argv.slice(2));
const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
// --quick: tiny sizes and a narrow model, to check the script itself on the CPU fallback
const QUICK = args.has('--quick');
// --tuning=FILE: after the heuristics, time the whole model (and the bench) with this table
const tuningFile = process.argv.find((a) => a.startsWith('--tuning='))?.slice('--tuning='.length);
const INF = arg('infer', QUICK ? 64 : 512);
const TRAIN = arg('train', QUICK ? 32 : 256);
const TRAIN_BATCH = arg('batch', QUICK ? 1 : 4);
const report: Record<string, unknown> = { started: new Date().toISOString() };
const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};
const save = () => {
  writeFileSync(join(OUT, 'session.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(OUT, 'session.md'), lines.join('\n') + '\n');
};

async function timeSteps(engine: Engine, fn: () => Promise<void>, warm: number, reps: number): Promise<{ first: number; median: number; min: number; all: number[] }> {
  const t0 = performance.now();
  await fn();
  await engine.sync();
  const first = performance.now() - t0;
  for (let i = 1; i < warm; i++) {
    await fn();
    await engine.sync();
  }
  const all: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    await engine.sync();
    all.push(performance.now() - t);
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { first, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, all };
}

type ModelConfig = ConstructorParameters<typeof UnetPlusPlus>[1];

/** Inference and training-step times of the whole model (and, with `profile`, per-kernel profiles). */
async function wholeModel(engine: Engine, config: ModelConfig, tag: string, profile: boolean): Promise<void> {
  const model = new UnetPlusPlus(engine, config);
  initializeUnetPP(model, 1);
  const xInf = engine.tensor(new Float32Array(INF * INF).map((_, i) => (i % 977) / 977), [1, 1, INF, INF]);
  const infer = async () => {
    const g = new Graph(engine, { grad: false, training: false });
    model.forward(g, g.input(xInf)).release();
  };
  const inf = await timeSteps(engine, infer, QUICK ? 1 : 3, QUICK ? 2 : 10);
  report[`inference_${tag}`] = { batch: 1, size: INF, ...inf };
  say(`[${tag}] U-Net++ inference b1 ${INF}²: first ${inf.first.toFixed(0)} ms (compile), steady median ${inf.median.toFixed(1)} ms (min ${inf.min.toFixed(1)}) — target ≤ 25 ms (docs/DESIGN.md §5)`);
  const infProf = await engine.profile(infer);
  const infGpu = infProf.records.reduce((a, r) => a + r.ms, 0);
  say(`[${tag}] one inference: ${infProf.records.length} dispatches, GPU ${infGpu.toFixed(1)} ms (sum of per-dispatch timestamps), wall ${infProf.wallMs.toFixed(1)} ms`);
  if (profile) {
    const infTop = summarize(infProf.records).slice(0, 15);
    report.inferenceProfile = { mode: infProf.mode, dispatches: infProf.records.length, gpuMs: infGpu, wallMs: infProf.wallMs, byKernel: infTop, records: infProf.records };
    kernelTable(infTop);
  }
  save();

  const opt = new AdamW(model.params, { lr: 1e-4 });
  const xTr = engine.tensor(new Float32Array(TRAIN_BATCH * TRAIN * TRAIN).map((_, i) => (i % 613) / 613), [TRAIN_BATCH, 1, TRAIN, TRAIN]);
  const tTr = engine.tensor(new Float32Array(TRAIN_BATCH * 19 * TRAIN * TRAIN).map((_, i) => ((i % 4099) === 0 ? 1 : 0)), [TRAIN_BATCH, 19, TRAIN, TRAIN]);
  const trainStep = async () => {
    const g = new Graph(engine);
    opt.zeroGrad();
    const logits = model.forward(g, g.input(xTr));
    const loss = g.mseLoss(logits, g.input(tTr));
    logits.release();
    await g.backward(loss, { checkFinite: false });
    loss.release();
    opt.step();
  };
  const tr = await timeSteps(engine, trainStep, 1, QUICK ? 2 : 8);
  report[`trainStep_${tag}`] = { batch: TRAIN_BATCH, size: TRAIN, ...tr };
  say(`[${tag}] U-Net++ training step (fwd+bwd+AdamW) b${TRAIN_BATCH} ${TRAIN}²: first ${tr.first.toFixed(0)} ms, steady median ${tr.median.toFixed(1)} ms (min ${tr.min.toFixed(1)}) — target ≤ 100 ms; tfjs-webgpu 2067 ms, PyTorch fp32 64 ms`);
  const prof = await engine.profile(trainStep);
  const gpuMs = prof.records.reduce((a, r) => a + r.ms, 0);
  say(`[${tag}] one training step: ${prof.records.length} dispatches, GPU ${gpuMs.toFixed(1)} ms (sum of per-dispatch timestamps), wall ${prof.wallMs.toFixed(1)} ms`);
  if (profile) {
    const top = summarize(prof.records).slice(0, 25);
    report.trainProfile = { mode: prof.mode, dispatches: prof.records.length, gpuMs, wallMs: prof.wallMs, byKernel: top, records: prof.records };
    kernelTable(top);
  }
  save();
  if (profile && !QUICK) {
    // how often to submit: the GPU only starts on what has been submitted
    const dflt = engine.dispatchesPerSubmit;
    const rows: { perSubmit: number; inferenceMs: number; trainMs: number }[] = [];
    for (const per of [128, 32, 16, 8, 4]) {
      engine.dispatchesPerSubmit = per;
      const i = await timeSteps(engine, infer, 2, 7);
      const t = await timeSteps(engine, trainStep, 1, 5);
      rows.push({ perSubmit: per, inferenceMs: i.median, trainMs: t.median });
      say(`[${tag}] dispatches per submit ${per}: inference ${i.median.toFixed(1)} ms, training step ${t.median.toFixed(1)} ms (medians)`);
    }
    engine.dispatchesPerSubmit = dflt;
    report[`perSubmit_${tag}`] = rows;
    save();
  }
  xInf.dispose();
  xTr.dispose();
  tTr.dispose();
  opt.dispose();
  model.dispose();
}

function kernelTable(top: ReturnType<typeof summarize>): void {
  say('| kernel | calls | ms | TFLOP/s | GB/s |');
  say('|---|---|---|---|---|');
  for (const k of top) say(`| ${k.kernel} | ${k.calls} | ${k.ms.toFixed(2)} | ${(k.flops / k.ms / 1e9).toFixed(2)} | ${(k.bytes / k.ms / 1e6).toFixed(0)} |`);
}

async function main(): Promise<void> {
  const engine = await acquireNodeEngine();
  say(`# osteo GPU session — ${engine.adapter.vendor} ${engine.adapter.architecture} ${engine.adapter.description} (fallback: ${engine.adapter.fallback})`);
  const ceilings = await measureCeilings(engine);
  report.adapter = engine.adapter;
  report.features = engine.features;
  report.ceilings = ceilings;
  say(`ceilings: FMA ${ceilings.fmaGflops.toFixed(0)} GFLOP/s, copy ${ceilings.copyGbps.toFixed(0)} GB/s (${ceilings.timing})`);
  save();

  // 2. correctness
  if (!args.has('--no-tests')) {
    const results: { suite: string; name: string; ok: boolean; error?: string }[] = [];
    for (const [suite, cases] of Object.entries(ALL_SUITES)) {
      for (const c of cases) {
        try {
          await runCase(engine, c);
          results.push({ suite, name: c.name, ok: true });
        } catch (e) {
          results.push({ suite, name: c.name, ok: false, error: String((e as Error).message).slice(0, 600) });
        }
      }
    }
    const failed = results.filter((r) => !r.ok);
    report.tests = { passed: results.length - failed.length, failed: failed.length, failures: failed };
    say(`correctness suites on this GPU: ${results.length - failed.length} passed, ${failed.length} failed`);
    for (const f of failed) say(`  FAIL ${f.suite} > ${f.name}: ${f.error}`);
    save();
  }

  if (args.has('--tests-only')) {
    report.finished = new Date().toISOString();
    save();
    engine.destroy();
    return;
  }

  // 3. memory
  const config = QUICK
    ? { classes: 19, inChannels: 1 as const, widths: [4, 4, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16], decoderChannels: [16, 8, 8, 4, 4] }
    : { classes: 19, inChannels: 1 as const };
  const mem = await measureMemory(engine, config, { inference: { batch: 1, size: INF }, training: { batch: TRAIN_BATCH, size: TRAIN } });
  report.memory = mem;
  say(`memory: inference b1 ${INF}² peak ${(mem.inference.peakBytes / 2 ** 30).toFixed(2)} GiB; training b${TRAIN_BATCH} ${TRAIN}² peak ${(mem.training.peakBytes / 2 ** 30).toFixed(2)} GiB`);
  save();

  // 4. whole model: times and per-kernel profiles with the built-in heuristics
  await wholeModel(engine, config, 'heuristics', true);

  // 5. tile sweep of every conv of a training step and of inference (what the defaults should be
  // on this device), then the whole model again with the measured choices installed
  if (args.has('--sweep')) {
    const narrow = QUICK ? { widths: config.widths, decoderChannels: config.decoderChannels } : {};
    const rows = await sweepUnetpp(engine, { trainSize: TRAIN, trainBatch: TRAIN_BATCH, inferSize: INF, reps: QUICK ? 2 : 5, budgetS: arg('sweep-budget', QUICK ? 60 : 150), ...narrow, log: (s) => console.log(s) });
    report.sweep = rows;
    say(`## tile sweep: training-step convs b${TRAIN_BATCH} ${TRAIN}² and inference convs b1 ${INF}² (GPU ms per call, median of ${QUICK ? 2 : 5})`);
    say(sweepMarkdown(rows));
    const table = tuningFromSweep(rows, `${engine.adapter.vendor} ${engine.adapter.architecture} ${engine.adapter.description}`.trim());
    report.tuning = table;
    writeFileSync(join(OUT, 'tuning.json'), JSON.stringify(table, null, 1));
    say(`tuning table: ${Object.keys(table.conv).length} conv + ${Object.keys(table.dw).length} grad-weight choices (written to tuning.json)`);
    save();
    setTuning(engine, table);
    await wholeModel(engine, config, 'tuned', false);
  } else if (tuningFile) {
    // a table measured earlier on this kind of device (tuning/)
    const table = parseTuning(readFileSync(tuningFile, 'utf8'), tuningFile);
    report.tuning = { file: tuningFile, device: table.device, conv: Object.keys(table.conv).length, dw: Object.keys(table.dw).length };
    say(`tuning table ${tuningFile}: ${Object.keys(table.conv).length} conv + ${Object.keys(table.dw).length} grad-weight choices (${table.device})`);
    setTuning(engine, table);
    await wholeModel(engine, config, 'tuned', false);
  }

  // 6. per-dispatch GPU times of the data-movement goal rows (64x256x256): which pass costs what
  if (args.has('--detail')) {
    const rows = await dispatchDetail(engine, QUICK ? 32 : 256, 1, (_key, layer) => layer === GOAL_LAYER, QUICK ? 2 : 10);
    report.detail = rows;
    say('## data-movement goal rows, per dispatch (GPU time, median of back-to-back runs)');
    say(detailMarkdown(rows));
    save();
  }

  if (args.has('--bench')) {
    const mod = (await import('./gpu_bench_hook')) as { runBench: (engine: Engine, out: string, say: (s: string) => void, notes?: string[]) => Promise<unknown> };
    const table = tuning(engine);
    const notes = table
      ? [
          `osteo ran with the tuning table measured earlier in this session by the tile sweep (${Object.keys(table.conv).length} conv + ${Object.keys(table.dw).length} grad-weight shapes of the b${TRAIN_BATCH} ${TRAIN}² training step and the b1 ${INF}² inference); the kernel rows (batch 1) use the built-in heuristics, the whole-model rows use the table.`,
        ]
      : [];
    report.bench = await mod.runBench(engine, OUT, say, notes);
    save();
  }
  report.finished = new Date().toISOString();
  save();
  engine.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    report.fatal = String((e as Error).stack ?? e);
    save();
    process.exit(1);
  },
);

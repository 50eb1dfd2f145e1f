/**
 * The numbers the READMEs quote, rendered from the committed result files in bench/results/ so
 * that prose and files cannot drift apart. Each function returns the markdown of one marked block
 * (`<!-- numbers:NAME:start -->` … `<!-- numbers:NAME:end -->`); bench/readme_docs.ts splices
 * them into the documents of {@link DOCS} (README.md, docs/gpu.md, docs/recipes.md, weights/README.md,
 * bench/results/README.md; `npm run docs:numbers`), and
 * test/docs/readme_numbers.test.ts fails when the committed text differs.
 *
 * Rules kept here: like is compared with like (osteo wall clock beside tfjs wall clock; GPU time
 * only as osteo's own second figure), ranges are min–max of the quoted values, and every figure
 * names the file (and field) it comes from. Pure: no I/O.
 */
import { refineLonger, type RefineLongerFile } from './lever_numbers';
import type { DispatchRecord, ProfileSum } from '../src/gpu/profiler';
import type { MemoryReport } from '../src/model/memory';
import { siteDecision, twoSiteModel, type SiteFile } from './site_numbers';
import { geomean } from '../src/util/stats';
import { fmt } from './stats';
import type { BenchResults, KernelRow, ModelRow } from './types';
import { accuracyLevers, leversGap, type LeversFile } from './levers_numbers';
import { isbiModel, recipeCoarse, recipeDecode, recipeRefine, recipeTwoStage, shippedModel, type RecipeFiles } from './recipe_numbers';

// ------------------------------------------------------------------ the files

interface SteadyRun { first: number; median: number; min: number; all: number[] }
interface Profile { dispatches: number; gpuMs: number; wallMs: number; byKernel: ProfileSum[]; records: DispatchRecord[] }

/** The fields of `bench/gpu_session.ts`'s session.json that the READMEs quote. */
export interface SessionFile {
  ceilings: { fmaGflops: number; copyGbps: number };
  tests: { passed: number; failed: number };
  memory: MemoryReport;
  inference_heuristics: SteadyRun;
  inference_tuned: SteadyRun;
  trainStep_heuristics: SteadyRun;
  trainStep_tuned: SteadyRun;
  inferenceProfile: Profile;
  trainProfile: Profile;
  perSubmit_heuristics: { perSubmit: number; inferenceMs: number; trainMs: number }[];
  tuning: { file: string; conv: number; dw: number };
  detail: { key: string; totalMs: number; dispatches: { kernel: string; ms: number }[] }[];
}

/** Session 1's (H100) session.json: whole-model times only. */
export interface OldSessionFile { inference: SteadyRun; trainStep: SteadyRun }

export interface SweepFile { rows: { op: string; shape: string; flops: number; ms: Record<string, number>; best: string; gainOverDefault: number }[] }

/** bench/results/memory.json: `osteo memory --json` plus where it ran. */
export interface MemoryFile extends MemoryReport { adapter: { description: string; fallback: boolean }; commit: string; date: string }

/** bench/results/demo-cpu.json: the metrics.json of `npm start` on the CPU fallback (src/cli/commands/demo.ts). */
export interface DemoFile {
  summary: {
    device: string; fallback: boolean; model: string; images: number; validation: number; size: number; epochs: number; unit: string;
    mre: number; mreUntrained: number; mreBaseline: number; sdrPercent: Record<string, number>; outsidePoints: number; seconds: number;
  };
  environment: { date: string; cpus: number; cpuModel: string; node: string; version: string };
}

export interface ResultFiles extends RecipeFiles {
  siteHamedan: SiteFile;
  leverRefineLonger: RefineLongerFile;
  accuracyLevers: LeversFile;
  h200Node: BenchResults;
  h200Session: SessionFile;
  h200Sweep: SweepFile;
  h100Node: BenchResults;
  h100Session: OldSessionFile;
  swNode: BenchResults;
  swChromium: BenchResults;
  swInferenceNode: BenchResults;
  swInferenceChromium: BenchResults;
  memory: MemoryFile;
  demoCpu: DemoFile;
  appLongtasks: LongtasksFile;
}

/** bench/results/app-longtasks.json: the page's long tasks before and after the app's worker (longtasks.alone.test) */
interface LongtasksPhase { ms: number; longestTaskMs: number; tasksOver50ms: number; tasksOver200ms: number[] }
interface LongtasksRun { when: string; commit: string; predict: LongtasksPhase; finetune: LongtasksPhase }
interface LongtasksFile { boundMs: number; before: LongtasksRun; after: LongtasksRun; afterUnderLoad: LongtasksRun }

/** Result file names under bench/results/, by field of ResultFiles. */
export const RESULT_FILES: Record<keyof ResultFiles, string> = {
  siteHamedan: 'site-hamedan.json',
  leverRefineLonger: 'lever-refine-longer.json',
  accuracyLevers: 'accuracy-levers.json',
  h200Node: 'h200-node.json',
  h200Session: 'h200-session.json',
  h200Sweep: 'h200-sweep.json',
  h100Node: 'h100-node.json',
  h100Session: 'h100-session.json',
  swNode: 'swiftshader-node.json',
  swChromium: 'swiftshader-chromium.json',
  swInferenceNode: 'swiftshader-inference-node.json',
  swInferenceChromium: 'swiftshader-inference-chromium.json',
  memory: 'memory.json',
  demoCpu: 'demo-cpu.json',
  appLongtasks: 'app-longtasks.json',
  recipeDecode: 'recipe-isbi-decode.json',
  recipeDecodeMse: 'recipe-isbi-decode-mse.json',
  recipeCoarse: 'recipe-isbi-coarse.json',
  recipeRefine: 'recipe-isbi-refine.json',
  recipeTwoStage: 'recipe-isbi-two-stage.json',
  recipeTwoStage64: 'recipe-isbi-two-stage-64.json',
};

// ------------------------------------------------------------------ targets
// (docs/DESIGN.md §5 and the bench notes; not measurements)

const TARGET = { inferenceMs: 25, trainMs: 100, trainSpeedup: 4, convTflops: { conv_fwd: 25, conv_dx: 20, conv_dw: 15 }, copyShare: 0.5, memoryGiB: 16, cpuConvRatio: 2 };
const CONV_OPS = ['conv_fwd', 'conv_dx', 'conv_dw'] as const;
/** The batch size-1 GPU default of engine.dispatchesPerSubmit (docs/ENGINE.md). */
const GPU_PER_SUBMIT = 16;
const GOAL_LAYER = 'goal shape 64x256x256';
const GiB = 1024 ** 3;

// ------------------------------------------------------------------ formatting

const d1 = (x: number): string => x.toFixed(1);
const d2 = (x: number): string => x.toFixed(2);
/** ms: one decimal below 1000, none above. */
const msText = (x: number): string => (x >= 1000 ? x.toFixed(0) : d1(x));
const pctNum = (x: number): string => String(Math.round(x * 100));
const pct = (x: number): string => `${pctNum(x)} %`;
const times = (x: number | null | undefined): string => `${fmt(x)}x`;
const tf = (gflops: number): string => d1(gflops / 1000);
/** "a" when all values print alike, else "min–max" (each printed by `f`). */
function span(values: readonly number[], f: (x: number) => string): string {
  const lo = f(Math.min(...values));
  const hi = f(Math.max(...values));
  return lo === hi ? lo : `${lo}–${hi}`;
}
const slash = (xs: readonly string[]): string => xs.join(' / ');
/** A prose paragraph wrapped at `width` columns like the hand-written text around it. */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  // A number and its unit stay on one line.
  const glued = text.replace(/(\d) (ms|µs|GiB|GFLOP\b|TFLOP\/s|GFLOP\/s|TB\/s|GB\/s|%)/g, '$1\u0000$2');
  for (const word of glued.split(' ')) {
    // Never start a line with something markdown reads as a list item, quote, heading or table.
    if (line && line.length + 1 + word.length > width && !/^([-+*>#|]|\d+[.)])$/.test(word)) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n').replace(/\u0000/g, ' ');
}
/** Shares as "54–57 %" / "64 / 58 %". */
const spanPct = (xs: readonly number[]): string => `${span(xs, pctNum)} %`;
const slashPct = (xs: readonly number[]): string => `${slash(xs.map(pctNum))} %`;

// ------------------------------------------------------------------ lookups

function model(r: BenchResults, name: ModelRow['name']): ModelRow {
  const m = r.model.find((x) => x.name === name);
  if (!m?.osteo || !m.tfjs) throw new Error(`${r.meta.host} results: no osteo/tfjs whole-model row '${name}'`);
  return m;
}
const convRows = (r: BenchResults, op: string): KernelRow[] => r.kernels.filter((k) => k.op === op);
const gpuTflops = (k: KernelRow): number => k.flops / (k.osteoGpuMs! * 1e9);
/** Geomean over rows of osteo's rate by wall clock, by GPU time, and tfjs's by wall clock (GFLOP/s). */
function convGeomeans(r: BenchResults, op: string): { wall: number; gpu: number; tfjs: number; rows: number } {
  const rs = convRows(r, op);
  return { wall: geomean(rs.map((k) => k.osteoRate)), gpu: geomean(rs.map((k) => k.flops / (k.osteoGpuMs! * 1e6))), tfjs: geomean(rs.map((k) => k.tfjsRate)), rows: rs.length };
}
function perSubmit(s: SessionFile, n: number): { inferenceMs: number; trainMs: number } {
  const p = s.perSubmit_heuristics.find((x) => x.perSubmit === n);
  if (!p) throw new Error(`h200-session.json: no dispatches-per-submit run at ${n}`);
  return p;
}
/** "1x64x256x256 → 64 …" → plane and channels. */
function convShape(k: KernelRow): { cin: number; h: number; cout: number } {
  const m = /^\d+x(\d+)x(\d+)x\d+ → (\d+)/.exec(k.shape);
  if (!m) throw new Error(`unexpected conv shape '${k.shape}'`);
  return { cin: Number(m[1]), h: Number(m[2]), cout: Number(m[3]) };
}
const isConvKernel = (name: string): boolean => name.startsWith('conv2d');
/** Conv rows below this much work are "small" (a few workgroups at batch 1). */
const SMALL_CONV_FLOPS = 0.5e9;

/** Whole-model wall times on the H200, with and without the tuning table. */
function gpuModelNumbers(f: ResultFiles) {
  const s = f.h200Session;
  const inf = model(f.h200Node, 'inference');
  const tr = model(f.h200Node, 'train_step');
  const at16 = perSubmit(s, GPU_PER_SUBMIT);
  return {
    infTuned: [s.inference_tuned.median, inf.osteo!.steady.median],
    infPlain: [s.inference_heuristics.median, at16.inferenceMs],
    trTuned: [s.trainStep_tuned.median, tr.osteo!.steady.median],
    trPlain: [s.trainStep_heuristics.median, at16.trainMs],
    infTfjs: inf.tfjs!.steady.median,
    trTfjs: tr.tfjs!.steady.median,
    trSpeedup: tr.ratio!,
  };
}

const verdict = (values: readonly number[], limit: number): string =>
  values.every((v) => v <= limit) ? 'met' : values.every((v) => v > limit) ? 'missed' : `${values.filter((v) => v > limit).length} of ${values.length} runs over`;

function memoryText(f: ResultFiles): { h200: string; current: string; fits: string } {
  const g = (b: number): string => d2(b / GiB);
  const s = f.h200Session.memory;
  const m = f.memory;
  const peaks = [s.inference.peakBytes, s.training.peakBytes, m.inference.peakBytes, m.training.peakBytes];
  return {
    h200: `${g(s.inference.peakBytes)} / ${g(s.training.peakBytes)} GiB in the H200 session`,
    current: `${g(m.inference.peakBytes)} / ${g(m.training.peakBytes)} GiB with the code of ${m.commit.slice(0, 7)} (\`osteo memory\`, a dry run, on the ${m.adapter.fallback ? 'CPU fallback' : m.adapter.description}: \`bench/results/memory.json\`)`,
    fits: peaks.every((b) => b < TARGET.memoryGiB * GiB) ? 'met' : 'missed',
  };
}

/** The conv kernels with ≥ 5 % of a profile's GPU time, and their TFLOP/s range. */
function bigConvKernels(p: Profile): { names: string[]; tflops: number[] } {
  const big = p.byKernel.filter((k) => isConvKernel(k.kernel) && k.ms >= 0.05 * p.gpuMs);
  return { names: big.map((k) => k.kernel), tflops: big.map((k) => k.flops / (k.ms * 1e9)) };
}

// ------------------------------------------------------------------ README.md

/** docs/gpu.md, "Measured on a GPU": the table and the sentences that quote numbers. */
export function gpuTable(f: ResultFiles): string {
  const n = gpuModelNumbers(f);
  const geo = CONV_OPS.map((op) => convGeomeans(f.h200Node, op));
  const mem = memoryText(f);
  const s = f.h200Session;
  const fma = [s.ceilings.fmaGflops, f.h200Node.meta.ceilings.fmaGflops];
  const big = [...bigConvKernels(s.trainProfile).tflops, ...bigConvKernels(s.inferenceProfile).tflops];
  const ip = s.inferenceProfile;
  const convMs = ip.byKernel.filter((k) => isConvKernel(k.kernel)).reduce((a, k) => a + k.ms, 0);
  const h100 = [f.h100Session.inference.median, model(f.h100Node, 'inference').osteo!.steady.median];
  const h100Tr = [f.h100Session.trainStep.median, model(f.h100Node, 'train_step').osteo!.steady.median];
  return [
    '| | osteo | tfjs-webgpu, same run | target |',
    '|---|---|---|---|',
    `| U-Net++ inference b1 512² | ${span(n.infTuned, d1)} ms with the tuning table (${span(n.infPlain, d1)} without) | ${d1(n.infTfjs)} ms | ≤ ${TARGET.inferenceMs} ms (${verdict(n.infTuned, TARGET.inferenceMs)}) |`,
    `| training step b4 256² (fwd + bwd + AdamW) | ${span(n.trTuned, d1)} ms with the table (${span(n.trPlain, d1)} without) | ${msText(n.trTfjs)} ms | ≤ ${TARGET.trainMs} ms (${verdict(n.trTuned, TARGET.trainMs)} with the table; without: ${verdict(n.trPlain, TARGET.trainMs)}); ${times(n.trSpeedup)} tfjs |`,
    `| conv forward / grad-input / grad-weight, geomean over the ${geo[0]!.rows} layers at 256² b1, wall clock per op | ${slash(geo.map((g) => tf(g.wall)))} TFLOP/s (by GPU time: ${slash(geo.map((g) => tf(g.gpu)))}) | ${slash(geo.map((g) => fmt(g.tfjs / 1000, 2)))} TFLOP/s | ${slash(CONV_OPS.map((op) => String(TARGET.convTflops[op])))} (${geo.every((g, i) => g.wall >= 1000 * TARGET.convTflops[CONV_OPS[i]!]) ? 'met' : 'missed'}) |`,
    `| peak memory: inference b1 512² / training b4 256² | ${mem.h200}; ${mem.current} | | fit ${TARGET.memoryGiB} GiB (${mem.fits}) |`,
    '',
    wrap(
      `Without the table: the session's own run and its run at ${GPU_PER_SUBMIT} dispatches per submit (\`h200-session.json\`); with it: the session and the tfjs comparison run (\`h200-node.json\`). ` +
      `The conv kernels that take ≥ 5 % of a training step's or an inference's GPU time run at ${span(big, d1)} TFLOP/s ` +
      `(${spanPct(big.map((x) => (1000 * x) / Math.max(...fma)))} of the ${span(fma, tf)} TFLOP/s FMA ceiling measured there); ` +
      `one inference with the built-in tiles is ${d1(ip.gpuMs)} ms of GPU time, ${d1(convMs)} ms of it convolutions. ` +
      `All ${s.tests.passed} kernel/autograd correctness cases pass on that GPU (${s.tests.failed} failed). ` +
      `Session 1 on an H100 (older code, \`bench/results/h100-*\`): inference ${span(h100, d1)} ms, training step ${span(h100Tr, msText)} ms.`,
    ),
  ].join('\n');
}

/** Conv rows below the CPU goal, with both sides' spread. */
function belowGoal(r: BenchResults): KernelRow[] {
  return r.kernels.filter((k) => k.op.startsWith('conv') && k.ratio != null && k.ratio < TARGET.cpuConvRatio);
}
function spreadText(k: KernelRow): string {
  const o = k.osteo!;
  const t = k.tfjs!;
  return `${k.op} ${k.shape} at ${times(k.ratio)} (median of ${o.reps}; osteo's repetitions ${fmt(o.min)}–${fmt(o.max)} ms, tfjs's ${fmt(t.min)}–${fmt(t.max)} ms: best against best ${times(t.min / o.min)})`;
}

/** docs/gpu.md, "What works without a GPU": the CPU-fallback paragraph. */
export function cpuFallback(f: ResultFiles): string {
  const hosts = [f.swNode, f.swChromium];
  const m = (r: BenchResults) => [model(r, 'inference').ratio, model(r, 'train_step').ratio].map(times).join(' / ');
  const geo = (r: BenchResults) => slash(CONV_OPS.map((op) => times(geomean(convRows(r, op).map((k) => k.ratio)))));
  const below = hosts.flatMap((r) => belowGoal(r).map((k) => `in ${r.meta.host === 'node' ? 'Node' : 'Chromium'} ${spreadText(k)}`));
  const ci = model(f.swChromium, 'inference');
  const ct = model(f.swChromium, 'train_step');
  const extra = (row: ModelRow, b: string): number | null => row.extra?.[b]?.steady.median ?? null;
  const wasm = extra(ci, 'wasm')!;
  return [
    `On the CPU fallback (SwiftShader, 2 cores) osteo runs the whole U-Net++ (b1 ${ci.size}²) ${m(f.swNode)} faster (inference / training step) than tfjs-webgpu on the same adapter in Node, ` +
      `${m(f.swChromium)} in Chromium (\`bench/results/swiftshader-{node,chromium}.md\`). ` +
      `Per conv layer, geomeans over the ${convRows(f.swNode, 'conv_fwd').length} layers at ${f.swNode.meta.size}²: forward / grad-input / grad-weight ${geo(f.swNode)} in Node, ${geo(f.swChromium)} in Chromium; ` +
      `every row ≥ ${TARGET.cpuConvRatio}x${below.length ? ` except ${below.join('; ')}` : ''}. ` +
      `In Chromium tfjs-webgl is ${times(extra(ci, 'webgl')! / ci.osteo!.steady.median)} (inference) / ${times(extra(ct, 'webgl')! / ct.osteo!.steady.median)} (training) slower than osteo, ` +
      `and tfjs-wasm (native SIMD CPU code, 2 threads) runs inference ${times(ci.osteo!.steady.median / wasm)} *faster* than osteo on SwiftShader (${fmt(wasm)} ms vs ${fmt(ci.osteo!.steady.median)} ms)` +
      (extra(ct, 'wasm') == null ? ' — it cannot train (tfjs-wasm has no Conv2DBackpropFilter).' : '.'),
  ].map((p) => wrap(p)).join('\n');
}

/**
 * docs/gpu.md, "What works without a GPU": osteo on SwiftShader against the CPU runtimes people would pick (ONNX
 * Runtime, tfjs-wasm).
 */
export function cpuRuntimes(f: ResultFiles): string {
  const n = model(f.swInferenceNode, 'inference');
  const c = model(f.swInferenceChromium, 'inference');
  const steady = (row: ModelRow, name: string): number => {
    const p = row.runtimes?.[name]?.phase;
    if (!p) throw new Error(`swiftshader-inference-*.json: no ${name} timing for inference`);
    return p.steady.median;
  };
  const o = (row: ModelRow): number => row.osteo!.steady.median;
  const ortNode = steady(n, 'ort-node-cpu');
  const ortWasm = steady(c, 'ort-web-wasm');
  const ortGpu = steady(c, 'ort-web-webgpu');
  const tfWasm = c.extra?.['wasm']?.steady.median;
  if (tfWasm == null) throw new Error('swiftshader-inference-chromium.json: no tfjs-wasm timing');
  const diff = Math.max(...[n, c].flatMap((row) => Object.values(row.runtimes ?? {}).map((b) => (b.maxAbsDiff ?? Infinity) / (b.outputScale ?? 1))));
  return wrap(
    `Against the runtimes a user would pick on a machine without a GPU (\`bench/results/swiftshader-inference.md\`, ` +
      `${f.swInferenceNode.meta.date.slice(0, 10)}, whole model b1 ${n.size}², osteo's model exported by \`osteo export onnx\` — same weights and input, outputs agreed within ${diff.toExponential(0)} of the output scale before timing): ` +
      `onnxruntime-node (CPU, 2 threads) runs it in ${msText(ortNode)} ms against osteo's ${msText(o(n))} ms on SwiftShader in Node (**${times(o(n) / ortNode)} faster than osteo**); ` +
      `in Chromium ORT-web's wasm EP takes ${msText(ortWasm)} ms and tfjs-wasm ${msText(tfWasm)} ms against osteo's ${msText(o(c))} ms (${times(o(c) / ortWasm)} and ${times(o(c) / tfWasm)} faster than osteo), ` +
      `while ORT-web's webgpu EP on the same SwiftShader adapter takes ${msText(ortGpu)} ms (osteo ${times(ortGpu / o(c))} faster). ` +
      `Each comparison is within one host and run (the Chromium half ran while other work loaded the machine, so its absolute times are high). Native CPU code beats any WebGPU engine emulated on the CPU: for CPU-only inference, export to ONNX; osteo on SwiftShader is for running the same code everywhere, training included.`,
  );
}

/** README.md, "Two commands": what `npm start` gave on the CPU fallback. */
export function demoCpu(f: ResultFiles): string {
  const { summary: s, environment: e } = f.demoCpu;
  const u = s.unit;
  const sdr = Object.entries(s.sdrPercent);
  const minutes = s.seconds / 60;
  return wrap(
    `Measured on this project's machine (${s.device}, ${e.cpus} cores, ${e.date.slice(0, 10)}; \`bench/results/demo-cpu.json\`): ` +
      `${s.epochs} epochs in ${minutes.toFixed(1)} minutes in all; validation MRE over ${s.validation} images ` +
      `**${d1(s.mreUntrained)} ${u} untrained → ${d1(s.mre)} ${u} trained**, against **${d1(s.mreBaseline)} ${u}** for the mean-shape baseline ` +
      `(every landmark at its mean training position); SDR ${slash(sdr.map(([, v]) => d1(v)))} % at ${slash(sdr.map(([k]) => k.replace(/ \w+$/, '')))} ${u}` +
      `${s.outsidePoints ? `; ${s.outsidePoints} predicted points fell outside their image` : ''}.`,
  );
}

/** The web app's responsiveness: the page's longest task before and after the engine moved to a worker. */
export function appLongtasks(f: ResultFiles): string {
  const { before: b, after: a, afterUnderLoad: l, boundMs } = f.appLongtasks;
  const longest = (p: LongtasksPhase) => (p.tasksOver50ms ? `${p.longestTaskMs} ms` : 'none over 50 ms');
  return wrap(
    `The engine, the decoders and training run in a worker, off the page's thread: in headless Chromium on SwiftShader ` +
      `with the shipped model (\`bench/results/app-longtasks.json\`, ${a.when.slice(0, 10)}), the page's longest task was ` +
      `${b.predict.longestTaskMs} ms during a prediction on a 1536×1536 X-ray and ${b.finetune.longestTaskMs} ms during a 3-step ` +
      `fine-tune before the move; after it, ${longest(a.predict)} and ${longest(a.finetune)} ` +
      `(${Math.max(l.predict.longestTaskMs, l.finetune.longestTaskMs)} ms at most with the machine under heavy load; the test fails over ${boundMs} ms).`,
  );
}

// ------------------------------------------------------------------ bench/results/README.md

/** Steady GPU time per dispatch and minimum traffic of the data-movement goal rows (64x256x256). */
function dataMovementRows(f: ResultFiles) {
  const copy = f.h200Session.ceilings.copyGbps;
  return f.h200Node.kernels
    .filter((k) => k.layer === GOAL_LAYER && !k.op.startsWith('conv'))
    .map((k) => {
      const d = f.h200Session.detail.find((x) => x.key.startsWith(`${k.op} ${k.shape}`));
      if (!d) throw new Error(`h200-session.json: no per-dispatch detail for ${k.op} ${k.shape}`);
      const gbps = k.bytes / (d.totalMs * 1e6);
      return { k, d, gbps, share: gbps / copy };
    });
}
const shortOp = (op: string): string => op.replace(/_(fwd_bwd|fwd|bwd)$/, '');
function dataMovementSummary(rows: ReturnType<typeof dataMovementRows>): string {
  const byFamily = new Map<string, number[]>();
  for (const r of rows) byFamily.set(shortOp(r.k.op), [...(byFamily.get(shortOp(r.k.op)) ?? []), r.share]);
  return [...byFamily].map(([op, v]) => `${op} ${slashPct(v)}`).join(', ');
}

/** bench/results/README.md, "H200: the targets": the table, the ceilings and the correctness count. */
export function targets(f: ResultFiles): string {
  const n = gpuModelNumbers(f);
  const s = f.h200Session;
  const geo = CONV_OPS.map((op) => convGeomeans(f.h200Node, op));
  const mem = memoryText(f);
  const dm = dataMovementRows(f);
  const low = dm.filter((r) => r.share < TARGET.copyShare);
  const fma = [s.ceilings.fmaGflops, f.h200Node.meta.ceilings.fmaGflops];
  const copy = [s.ceilings.copyGbps, f.h200Node.meta.ceilings.copyGbps];
  return [
    '| | osteo | tfjs-webgpu, same run | target | |',
    '|---|---|---|---|---|',
    `| U-Net++ inference b1 512² | ${span(n.infTuned, d1)} ms with the tuning table; without: ${d1(n.infPlain[0]!)} ms, ${d1(n.infPlain[1]!)} at ${GPU_PER_SUBMIT} dispatches per submit | ${d1(n.infTfjs)} ms | ≤ ${TARGET.inferenceMs} ms | ${verdict(n.infTuned, TARGET.inferenceMs)} |`,
    `| training step b4 256², fwd + bwd + AdamW | ${span(n.trTuned, d1)} ms with the table (two runs); without: ${d1(n.trPlain[0]!)} ms, ${d1(n.trPlain[1]!)} at ${GPU_PER_SUBMIT} dispatches per submit | ${msText(n.trTfjs)} ms | ≤ ${TARGET.trainMs} ms | ${verdict(n.trTuned, TARGET.trainMs)} with the table; without: ${verdict(n.trPlain, TARGET.trainMs)} |`,
    `| training step speed-up over tfjs | ${times(n.trSpeedup)} | | ≥ ${TARGET.trainSpeedup}x | ${n.trSpeedup >= TARGET.trainSpeedup ? 'met' : 'missed'} |`,
    `| conv forward / grad-input / grad-weight geomean, ${geo[0]!.rows} layers at 256² b1 | ${slash(geo.map((g) => tf(g.wall)))} TFLOP/s wall clock; ${slash(geo.map((g) => tf(g.gpu)))} by GPU time | ${slash(geo.map((g) => fmt(g.tfjs / 1000, 2)))} TFLOP/s wall clock | ${slash(CONV_OPS.map((op) => String(TARGET.convTflops[op])))} | ${geo.every((g, i) => g.wall >= 1000 * TARGET.convTflops[CONV_OPS[i]!]) ? 'met' : 'missed'} |`,
    `| data movement at 64x256x256, share of copy (${(s.ceilings.copyGbps / 1000).toFixed(2)} TB/s): minimum traffic over the steady-state GPU time of its dispatches (fwd / bwd) | ${dataMovementSummary(dm)} | | ≥ ${pct(TARGET.copyShare)} | ${low.length ? `${dm.length - low.length} of ${dm.length} rows met; not: ${low.map((r) => r.k.op).join(', ')}` : 'met'} |`,
    `| peak memory: inference b1 512² / training b4 256² | ${mem.h200} (before gradients were allocated on first use); ${mem.current} | | fit ${TARGET.memoryGiB} GiB | ${mem.fits} |`,
    '',
    wrap(
      `Measured ceilings (\`h200-session.json\`, \`h200-node.json\`): FMA ${span(fma, tf)} TFLOP/s (a WGSL FMA loop), copy ${span(copy, (x) => (x / 1000).toFixed(2))} TB/s. ` +
      `Correctness suites on this GPU: ${s.tests.passed} passed, ${s.tests.failed} failed.`,
    ),
  ].join('\n');
}

/** bench/results/README.md, "Why the inference target is missed": where one inference's time goes. */
export function inference(f: ResultFiles): string {
  const s = f.h200Session;
  const p = s.inferenceProfile;
  const fmaTf = s.ceilings.fmaGflops / 1000;
  const conv = p.byKernel.filter((k) => isConvKernel(k.kernel));
  const rest = p.byKernel.filter((k) => !isConvKernel(k.kernel));
  const convMs = conv.reduce((a, k) => a + k.ms, 0);
  const restMs = rest.reduce((a, k) => a + k.ms, 0);
  const convFlops = conv.reduce((a, k) => a + k.flops, 0);
  const big = bigConvKernels(p);
  const needTf = convFlops / ((TARGET.inferenceMs - restMs) * 1e9);
  const sub = s.perSubmit_heuristics;
  const at16 = perSubmit(s, GPU_PER_SUBMIT);
  const sweep = f.h200Sweep.rows;
  const fastest = Math.max(...sweep.flatMap((r) => Object.values(r.ms).map((ms) => r.flops / (ms * 1e9))));
  const wins = new Map<string, number>();
  for (const r of sweep) wins.set(r.best, (wins.get(r.best) ?? 0) + 1);
  const [top, topWins] = [...wins].filter(([c]) => c !== 'default').sort((a, b) => b[1] - a[1])[0]!;
  const topGains = sweep.filter((r) => r.best === top).map((r) => r.gainOverDefault).sort((a, b) => a - b);
  const everywhere = sweep.filter((r) => r.ms[top] != null);
  const topTotal = everywhere.reduce((a, r) => a + r.ms[top]!, 0) / everywhere.reduce((a, r) => a + r.ms.default!, 0);
  return [
    `One inference with the built-in tiles (\`h200-session.json\`, \`inferenceProfile\`; per layer in its \`records\`) is ${p.dispatches} dispatches and ${d1(p.gpuMs)} ms of GPU time: ` +
      `${d1(convMs)} ms of convolutions (split-K reduces included) and ${d1(restMs)} ms of everything else (${rest.map((k) => `${k.kernel} ${d2(k.ms)}`).join(', ')}). ` +
      `The conv kernels with ≥ 5 % of that time (${big.names.join(', ')}) run at ${span(big.tflops, d1)} TFLOP/s, ${spanPct(big.tflops.map((x) => x / fmaTf))} of the measured FMA ceiling. ` +
      `Dispatches per submit ${slash(sub.map((x) => String(x.perSubmit)))}: inference ${slash(sub.map((x) => d1(x.inferenceMs)))} ms, training step ${slash(sub.map((x) => d1(x.trainMs)))} ms (medians); ` +
      `at ${GPU_PER_SUBMIT} (the GPU default) the inference median is ${d1(at16.inferenceMs - p.gpuMs)} ms above the profiled GPU time. ` +
      `With ${d1(restMs)} ms of other work, ${TARGET.inferenceMs} ms needs the ${d1(convFlops / 1e9)} GFLOP of convolutions at ${d1(needTf)} TFLOP/s (${pct(needTf / fmaTf)} of the ceiling). ` +
      `The tile sweep (\`h200-sweep.json\`, ${sweep.length} conv shapes of a training step and of inference) measured at most ${d1(fastest)} TFLOP/s for any candidate on any shape; ` +
      `${top} is the best candidate for ${topWins} shapes (median gain ${pct(topGains[topGains.length >> 1]! - 1)} over the default) yet takes ${pct(topTotal - 1)} more time than the default over all ${everywhere.length} shapes it runs.`,
  ].map((p) => wrap(p)).join('\n');
}

/** bench/results/README.md, "Why the conv geomean goals are missed": big vs small layers. */
export function convGeomean(f: ResultFiles): string {
  const r = f.h200Node;
  const geo = CONV_OPS.map((op) => convGeomeans(r, op));
  const big = bigConvKernels(f.h200Session.trainProfile);
  const rows = r.kernels.filter((k) => k.op.startsWith('conv') && k.osteoGpuMs != null);
  const small = rows.filter((k) => k.flops < SMALL_CONV_FLOPS);
  const rest = rows.filter((k) => k.flops >= SMALL_CONV_FLOPS);
  const smallLayers = [...new Set(small.map((k) => k.layer))];
  const med = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  const tiny = rows.filter((k) => k.osteoGpuMs! < 0.05);
  return [
    `At batch 1, 256² (\`h200-node.json\`), forward / grad-input / grad-weight geomeans are ${slash(geo.map((g) => tf(g.wall)))} TFLOP/s by wall clock per op and ${slash(geo.map((g) => tf(g.gpu)))} by GPU time. ` +
      `In a b4 256² training step (\`h200-session.json\`, \`trainProfile\`) the conv kernels with ≥ 5 % of the GPU time (${big.names.join(', ')}) run at ${span(big.tflops, d1)} TFLOP/s. ` +
      `By GPU time per row at batch 1: the ${small.length} rows of the ${smallLayers.length} layers under ${SMALL_CONV_FLOPS / 1e9} GFLOP each (${smallLayers.join(', ')}) run at ${span(small.map(gpuTflops), d1)} TFLOP/s, ` +
      `the other ${rest.length} rows at ${span(rest.map(gpuTflops), d1)}, geomean forward / grad-input / grad-weight ${slash(CONV_OPS.map((op) => d1(geomean(rest.filter((k) => k.op === op).map(gpuTflops)))))}. ` +
      `Wall clock minus GPU time per conv row: median ${Math.round(med(rows.map((k) => (k.osteo!.median - k.osteoGpuMs!) * 1000)))} µs; ` +
      `on the ${tiny.length} rows under 0.05 ms of GPU time, median ${Math.round(med(tiny.map((k) => (k.osteo!.median - k.osteoGpuMs!) * 1000)))} µs, ${pct(med(tiny.map((k) => k.osteo!.median / k.osteoGpuMs! - 1)))} of their GPU time.`,
  ].map((p) => wrap(p)).join('\n');
}

/** bench/results/README.md, "Data movement at 64x256x256": per-dispatch detail vs the kernel table. */
export function dataMovement(f: ResultFiles): string {
  const copy = f.h200Session.ceilings.copyGbps;
  const dm = dataMovementRows(f);
  const lines = [
    wrap(`Share of the copy ceiling (${(copy / 1000).toFixed(2)} TB/s, \`h200-session.json\`) by the steady-state GPU time of each dispatch (\`detail\`: warm-up burst, back-to-back runs, median per dispatch) and the row's minimum traffic (each input read once, each output written once: max-pool's argmax and batch norm's second read of x are not counted); beside it the kernel table of \`h200-node.json\` (GPU: median of per-run sums; wall: per op, completion wait included).`),
    '',
    '| row | dispatches (GPU ms each) | GPU ms | TB/s | share of copy | kernel table GPU ms | kernel table wall ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const { k, d, gbps, share } of dm) {
    lines.push(`| ${k.op} ${k.shape} | ${d.dispatches.map((x) => `${x.kernel} ${x.ms.toFixed(4)}`).join(', ')} | ${d.totalMs.toFixed(4)} | ${d2(gbps / 1000)} | ${pct(share)} | ${fmt(k.osteoGpuMs)} | ${fmt(k.osteo!.median)} |`);
  }
  const met = dm.filter((r) => r.share >= TARGET.copyShare).length;
  lines.push('', `Goal ≥ ${pct(TARGET.copyShare)} of copy: ${met} of ${dm.length} rows by this measure.`);
  return lines.join('\n');
}

/** bench/results/README.md, "CPU fallback": the per-host goal counts and the odd rows. */
export function cpuGoals(f: ResultFiles): string {
  const host = (r: BenchResults): string => (r.meta.host === 'node' ? 'Node' : 'Chromium');
  const counts = (r: BenchResults): string =>
    CONV_OPS.map((op) => {
      const rs = convRows(r, op);
      return `${op} ${rs.filter((k) => k.ratio != null && k.ratio >= TARGET.cpuConvRatio).length}/${rs.length}`;
    }).join(', ');
  const smallDx = (r: BenchResults): KernelRow[] => convRows(r, 'conv_dx').filter((k) => convShape(k).h <= 8);
  const planes = [...new Set(smallDx(f.swNode).map((k) => convShape(k).h))].sort((a, b) => a - b);
  const below = [f.swNode, f.swChromium].flatMap((r) => belowGoal(r).map((k) => `${host(r)}: ${spreadText(k)}`));
  const c = f.swChromium;
  const ci = model(c, 'inference');
  const wasmOps = new Map<string, number>();
  for (const op of new Set(c.kernels.map((k) => k.op))) {
    const rs = c.kernels.filter((k) => k.op === op && k.osteo && k.extra?.wasm != null);
    if (rs.length) wasmOps.set(op, geomean(rs.map((k) => k.extra!.wasm! / k.osteo!.median)));
  }
  const faster = [...wasmOps].filter(([, x]) => x < 1);
  const slower = [...wasmOps].filter(([, x]) => x >= 1);
  return [
    `Goal "every conv ≥ ${TARGET.cpuConvRatio}x tfjs-webgpu in the same run", rows reaching it: ${[f.swNode, f.swChromium].map((r) => `${host(r)} ${counts(r)}`).join('; ')}. ` +
      (below.length ? `Below: ${below.join('; ')}. ` : '') +
      `Grad-input rows on ${planes.map((h) => `${h}²`).join(', ')} planes (the pixel-block kernel of src/kernels/conv2d_dx_small.ts): ${[f.swNode, f.swChromium].map((r) => `${span(smallDx(r).map((k) => k.ratio!), times)} (${host(r)})`).join(', ')}. ` +
      `Whole-model inference b1 ${ci.size}² in Chromium: osteo ${fmt(ci.osteo!.steady.median)} ms, tfjs-webgpu ${fmt(ci.tfjs!.steady.median)} ms, ${Object.entries(ci.extra ?? {}).map(([b, p]) => `tfjs-${b} ${p ? fmt(p.steady.median) : '–'} ms`).join(', ')}. ` +
      `Per op family, tfjs-wasm time / osteo time (geomean over rows): faster than osteo for ${faster.map(([op, x]) => `${op} ${times(x)}`).join(', ')}; slower for ${slower.map(([op, x]) => `${op} ${times(x)}`).join(', ')}.`,
  ].map((p) => wrap(p)).join('\n');
}

// ------------------------------------------------------------------ the blocks per document

export type BlockRenderers = Record<string, (f: ResultFiles) => string>;

/** Block name → renderer, per document (path relative to the repository root). */
export const DOCS: Record<string, BlockRenderers> = {
  'README.md': { 'demo-cpu': demoCpu, 'app-longtasks': appLongtasks, 'isbi-model': (f) => wrap(isbiModel(f)) , 'site-decision': (f) => siteDecision(f.siteHamedan) },
  'docs/gpu.md': { 'gpu-table': gpuTable, 'cpu-fallback': cpuFallback, 'cpu-runtimes': cpuRuntimes },
  'docs/recipes.md': { 'recipe-coarse': recipeCoarse, 'recipe-decode': recipeDecode, 'recipe-refine': recipeRefine, 'recipe-two-stage': recipeTwoStage, 'lever-refine-longer': (f) => refineLonger(f.leverRefineLonger), 'accuracy-levers': (f) => accuracyLevers(f.accuracyLevers), 'accuracy-levers-gap': (f) => wrap(leversGap(f.accuracyLevers)) },
  'weights/README.md': { 'shipped-model': (f) => wrap(shippedModel(f)) , 'two-site-model': (f) => twoSiteModel(f.siteHamedan) },
  'bench/results/README.md': { targets, inference, 'conv-geomean': convGeomean, 'data-movement': dataMovement, 'cpu-goals': cpuGoals },
};

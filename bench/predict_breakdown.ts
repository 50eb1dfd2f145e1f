/**
 * Where `osteo predict`'s time goes per image (issue 25): decode, model (resize, network, points),
 * draw (overlay and montage pixels), encode (PNG / JPEG), write — for each overlay / montage choice
 * and encoder, on real ISBI 2015 X-rays (1935x2400 JPEGs) with the shipped two-stage model. One
 * warm-up image first (shader compilation), then ROUNDS rounds that each run every row once on the
 * same N images, in the same process on the same engine: interleaved, so that a shared machine's
 * load swings hit every row alike; each phase is reported as the median over the rounds.
 *
 *   npx vite-node --config vitest.config.ts bench/predict_breakdown.ts -- OUT.json [N] [ROUNDS] [IMAGE_DIR] [MODEL]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { loadCheckpoint } from '../src/node/checkpoint';
import { readImageAsync } from '../src/node/data_image';
import { listImageFiles } from '../src/node/data_readers';
import { useJsEncoders, type PictureFormat } from '../src/node/image_encode';
import { predictJobs, PREDICT_PHASES, type PredictReport } from '../src/node/predict_files';
import { predictorFromCheckpoint } from '../src/train/evaluate';

const [out, nArg, roundsArg, dirArg, modelArg] = process.argv.slice(2).filter((a) => a !== '--');
if (!out) throw new Error('usage: predict_breakdown.ts OUT.json [N] [ROUNDS] [IMAGE_DIR] [MODEL]');
const n = Number(nArg ?? 2);
const rounds = Number(roundsArg ?? 3);
const dir = dirArg ?? '../shared/data/isbi2015-ceph-train/images';
const model = modelArg ?? 'weights/osteo-isbi2015-ceph.safetensors';
const images = listImageFiles(dir);
const warm = images[0]!;
const measured = images.slice(1, 1 + n);

const engine = await acquireNodeEngine();
const predictor = predictorFromCheckpoint(engine, await loadCheckpoint(model));

const ROWS: { name: string; overlays: PictureFormat | 'none'; heatmaps: PictureFormat | 'none'; js: boolean }[] = [
  { name: 'before issue 25: PNG overlay + PNG montage, pngjs', overlays: 'png', heatmaps: 'png', js: true },
  { name: 'PNG overlay + PNG montage, sharp', overlays: 'png', heatmaps: 'png', js: false },
  { name: 'JPEG overlay + JPEG montage, jpeg-js', overlays: 'jpeg', heatmaps: 'jpeg', js: true },
  { name: 'JPEG overlay + JPEG montage, sharp (default up to 10 images)', overlays: 'jpeg', heatmaps: 'jpeg', js: false },
  { name: 'JPEG overlay, no montage, sharp (default above 10 images)', overlays: 'jpeg', heatmaps: 'none', js: false },
  { name: 'no pictures (--overlays none --heatmaps none)', overlays: 'none', heatmaps: 'none', js: false },
];

const tmp = mkdtempSync(join(tmpdir(), 'osteo-predict-bench-'));
/** What `osteo predict FILES --overlays … --heatmaps … --quiet` does once the model is loaded. */
const run = async (files: string[], o: (typeof ROWS)[number], tag: string): Promise<{ report: PredictReport; seconds: number; bytes: { overlay: number; heatmaps: number } }> => {
  useJsEncoders(o.js);
  const dirOut = join(tmp, tag);
  const t0 = performance.now();
  const jobs = files.map((f) => ({ name: f, id: f.replace(/^.*\//, '').replace(/\.[^.]*$/, ''), isFile: true, load: () => readImageAsync(f) }));
  const report = await predictJobs(predictor, jobs, { out: dirOut, modelPath: model, overlays: o.overlays, heatmaps: o.heatmaps });
  const seconds = (performance.now() - t0) / 1000;
  const size = (suffix: string) => readdirSync(dirOut).filter((f) => f.includes(suffix)).reduce((a, f) => a + statSync(join(dirOut, f)).size, 0) / files.length;
  return { report, seconds, bytes: { overlay: Math.round(size('.overlay.')), heatmaps: Math.round(size('.heatmaps.')) } };
};

await run([warm], ROWS[5]!, 'warm');
const median = (xs: number[]): number => { const a = [...xs].sort((p, q) => p - q); const m = a.length >> 1; return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2; };
type Sample = { report: PredictReport; seconds: number; bytes: { overlay: number; heatmaps: number }; loadBefore: number[] };
const samples: Sample[][] = ROWS.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (const [i, r] of ROWS.entries()) {
    const loadBefore = loadavg().map((x) => +x.toFixed(2));
    samples[i]!.push({ ...(await run(measured, r, `r${round}-row${i}`)), loadBefore });
    rmSync(join(tmp, `r${round}-row${i}`), { recursive: true, force: true });
  }
}
const rows = ROWS.map((r, i) => {
  const s = samples[i]!;
  const last = s[s.length - 1]!.report;
  return {
    name: r.name, overlays: last.timing.overlays, heatmaps: last.timing.heatmaps, encoder: last.timing.encoder, images: last.images.length, rounds: s.length,
    perImageSeconds: +median(s.map((x) => x.seconds / x.report.images.length)).toFixed(3),
    perImage: Object.fromEntries(PREDICT_PHASES.map((ph) => [ph, +median(s.map((x) => x.report.timing.perImage[ph])).toFixed(3)])),
    cpuPerImage: Object.fromEntries(PREDICT_PHASES.map((ph) => [ph, +median(s.map((x) => x.report.timing.cpuPerImage[ph])).toFixed(3)])),
    perImageEachRound: s.map((x) => +(x.seconds / x.report.images.length).toFixed(3)),
    bytesPerImage: s[0]!.bytes, loadBefore: s.map((x) => x.loadBefore[0]),
  };
});
let commit = 'unknown';
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
const result = {
  benchmark: 'predict-breakdown',
  what: `osteo predict, ${rounds} interleaved rounds, on ${measured.length} ISBI 2015 training X-rays (${measured.map((f) => f.replace(/^.*\//, '')).join(', ')}, 1935x2400 JPEG) with ${model}, after one warm-up image; per-image seconds per phase (predictions.json timing) and the run's wall clock per image`,
  phases: { decode: 'read + decode the file (JS JPEG decoder)', model: 'resize, both network stages, heatmap → points', draw: 'overlay and montage pixels', encode: 'PNG / JPEG', write: 'picture files, predictions.json and points.json (atomic)' },
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, adapter: `${engine.adapter.description || engine.adapter.architecture}${engine.adapter.fallback ? ' (software fallback)' : ''}` },
  commit,
  date: new Date().toISOString(),
  rows,
  notes: [
    'Medians over the rounds. A shared 2-core machine, this process at nice 10 behind training runs: wall times (perImage, perImageSeconds) include waiting for a core; cpuPerImage (CPU seconds of every thread of the process) is what each phase costs. loadBefore is the 1-minute load average before each round of the row.',
    'perImageSeconds is the wall clock per image of predict\'s image loop (src/node/predict_files.ts, the model already loaded); perImage splits it into phases.',
  ],
};
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
console.log(JSON.stringify(result, null, 1));
rmSync(tmp, { recursive: true, force: true });
predictor.dispose();
engine.destroy();
process.exit(0);

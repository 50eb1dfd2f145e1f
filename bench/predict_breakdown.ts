/**
 * Where `osteo predict`'s time goes per image (issue 25): decode, model (resize, network, points),
 * draw (overlay and montage pixels), encode (PNG / JPEG), write — for each overlay / montage choice
 * and encoder, on real ISBI 2015 X-rays (1935x2400 JPEGs) with the shipped two-stage model. One
 * warm-up image first (shader compilation), then every row in the same process on the same engine.
 *
 *   npx vite-node --config vitest.config.ts bench/predict_breakdown.ts -- OUT.json [N] [IMAGE_DIR] [MODEL]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictMain, PREDICT_PHASES, type PredictReport } from '../src/cli/commands/predict';
import { engineProvider } from '../src/cli/engine';
import { acquireNodeEngine } from '../src/node/acquire_node';
import { listImageFiles } from '../src/node/data_readers';
import { useJsEncoders } from '../src/node/image_encode';

const [out, nArg, dirArg, modelArg] = process.argv.slice(2).filter((a) => a !== '--');
if (!out) throw new Error('usage: predict_breakdown.ts OUT.json [N] [IMAGE_DIR] [MODEL]');
const n = Number(nArg ?? 4);
const dir = dirArg ?? '../shared/data/isbi2015-ceph-train/images';
const model = modelArg ?? 'weights/osteo-isbi2015-ceph.safetensors';
const images = listImageFiles(dir);
const warm = images[0]!;
const measured = images.slice(1, 1 + n);

const engine = await acquireNodeEngine();
engineProvider.acquire = async () => engine;
engineProvider.release = () => {};

const ROWS: { name: string; overlays: string; heatmaps: string; js: boolean }[] = [
  { name: 'before issue 25: PNG overlay + PNG montage, pngjs', overlays: 'png', heatmaps: 'png', js: true },
  { name: 'PNG overlay + PNG montage, sharp', overlays: 'png', heatmaps: 'png', js: false },
  { name: 'JPEG overlay + JPEG montage, jpeg-js', overlays: 'jpeg', heatmaps: 'jpeg', js: true },
  { name: 'JPEG overlay + JPEG montage, sharp (default up to 10 images)', overlays: 'jpeg', heatmaps: 'jpeg', js: false },
  { name: 'JPEG overlay, no montage, sharp (default above 10 images)', overlays: 'jpeg', heatmaps: 'none', js: false },
  { name: 'no pictures (--overlays none --heatmaps none)', overlays: 'none', heatmaps: 'none', js: false },
];

const tmp = mkdtempSync(join(tmpdir(), 'osteo-predict-bench-'));
const run = async (files: string[], o: { overlays: string; heatmaps: string; js: boolean }, tag: string): Promise<{ report: PredictReport; seconds: number; bytes: { overlay: number; heatmaps: number } }> => {
  useJsEncoders(o.js);
  const dirOut = join(tmp, tag);
  const t0 = performance.now();
  const report = await predictMain([...files, '--model', model, '--out', dirOut, '--overlays', o.overlays, '--heatmaps', o.heatmaps, '--quiet']);
  const seconds = (performance.now() - t0) / 1000;
  const size = (suffix: string) => readdirSync(dirOut).filter((f) => f.includes(suffix)).reduce((a, f) => a + statSync(join(dirOut, f)).size, 0) / files.length;
  return { report, seconds, bytes: { overlay: Math.round(size('.overlay.')), heatmaps: Math.round(size('.heatmaps.')) } };
};

const origLog = console.log;
console.log = () => {}; // predict prints its whole report on stdout
await run([warm], ROWS[5]!, 'warm');
const rows = [];
for (const [i, r] of ROWS.entries()) {
  const loadBefore = loadavg().map((x) => +x.toFixed(2));
  const { report, seconds, bytes } = await run(measured, r, `row${i}`);
  rows.push({
    name: r.name, overlays: report.timing.overlays, heatmaps: report.timing.heatmaps, encoder: report.timing.encoder,
    images: report.images.length, perImageSeconds: +(seconds / report.images.length).toFixed(3),
    perImage: report.timing.perImage, bytesPerImage: bytes, loadBefore, loadAfter: loadavg().map((x) => +x.toFixed(2)),
  });
}
console.log = origLog;
let commit = 'unknown';
try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
const result = {
  benchmark: 'predict-breakdown',
  what: `osteo predict on ${measured.length} ISBI 2015 training X-rays (${measured.map((f) => f.replace(/^.*\//, '')).join(', ')}, 1935x2400 JPEG) with ${model}, after one warm-up image; per-image seconds per phase (predictions.json timing) and the run's wall clock per image`,
  phases: { decode: 'read + decode the file (JS JPEG decoder)', model: 'resize, both network stages, heatmap → points', draw: 'overlay and montage pixels', encode: 'PNG / JPEG', write: 'picture files, predictions.json and points.json (atomic)' },
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}`, adapter: `${engine.adapter.description || engine.adapter.architecture}${engine.adapter.fallback ? ' (software fallback)' : ''}` },
  commit,
  date: new Date().toISOString(),
  rows,
  notes: ['A shared 2-core machine: loadBefore/loadAfter are its 1/5/15-minute load averages; compare rows of one run, not across runs.'],
};
writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
origLog(JSON.stringify(result, null, 1));
rmSync(tmp, { recursive: true, force: true });
engine.destroy();
process.exit(0);

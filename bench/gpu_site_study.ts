/**
 * GPU entry: the second-site study's arms that need a GPU (issue 23) — the ImageNet arm (VGG19 blocks
 * 1–3 from ImageNet, blocks 4–5 from scratch: the only ImageNet weights obtainable here) beside
 * scratch, at full width (39.9 M parameters) and 128 px, on the Hamedan images prepared by
 * bench/gpu_site_data.ts (longer side 256 px). On the CPU fallback one full-width step at 128 px
 * takes over a minute, which is why the CPU study reports this arm as not run.
 *   npx vite-node --config vitest.config.ts bench/gpu_site_data.ts -- .gpu/site
 *   bash ../shared/gpu/pack.sh bench/gpu_site_study.ts
 *   (device) carry [".gpu"], command "bash .gpu/run.sh .gpu/site"
 * Writes $OUT/study-hamedan-gpu/ (arms.{json,md,svg}, a learning curve per arm); resumable.
 * `--quick` checks the script on the CPU fallback with tiny sizes.
 */
import { join } from 'node:path';
import { learningCurveCommandMain } from '../src/cli/commands/experiment';

const args = process.argv.slice(2).filter((a) => a !== '--');
const quick = args.includes('--quick');
const dir = args.find((a) => !a.startsWith('--')) ?? '.gpu/site';
const OUT = process.env.OUT ?? 'gpu-out';

const t0 = performance.now();
learningCurveCommandMain([
  'learning-curve', '--data', `landmarks:${join(dir, 'hamedan')}?test=30&names=isbi2015`,
  '--init', 'imagenet,scratch', '--weights', join(dir, 'vgg19-imagenet-blocks1-3.safetensors'),
  '--sizes', quick ? '5,10' : '5,10,20,40,80', '--repeats', quick ? '1' : '2', '--budget', 'updates', '--epochs', quick ? '1' : '3',
  '--size', quick ? '32' : '128', '--loss', 'spatial_ce', '--sigma', quick ? '1.5' : '2', '--lr', '1e-3', '--batch', '2', '--accum', '1', '--val-split', '0.2',
  ...(quick ? ['--limit', '40'] : []),
  '--annotation-minutes-per-image', '6', '--cost-per-hour', '60', '--out', join(OUT, 'study-hamedan-gpu'),
]).then(
  (r) => {
    console.log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${r.files.json}`);
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

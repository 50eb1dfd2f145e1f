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
import { acquireNodeEngine } from '../src/node/acquire_node';
import { folderStore } from '../src/node/store';
import { prepareDataSpec, resolveInit } from '../src/node/train_io';
import { runArms } from '../src/report/arms';
import { withDefaults } from '../src/train/config';

const args = process.argv.slice(2).filter((a) => a !== '--');
const quick = args.includes('--quick');
const dir = args.find((a) => !a.startsWith('--')) ?? '.gpu/site';
const OUT = process.env.OUT ?? 'gpu-out';
const data = `landmarks:${join(dir, 'hamedan')}?test=30&names=isbi2015`;

async function main(): Promise<void> {
  const t0 = performance.now();
  const engine = await acquireNodeEngine();
  const full = withDefaults({
    data, init: 'scratch', weights: join(dir, 'vgg19-imagenet-blocks1-3.safetensors'), size: quick ? 32 : 128, loss: 'spatial_ce', sigma: quick ? 1.5 : 2, lr: 1e-3,
    batch: 2, accum: 1, epochs: quick ? 1 : 3, valSplit: 0.2, ...(quick ? { limit: 40 } : {}),
  });
  const { data: _d, init: _i, out: _o, seed: _s, split: _sp, ...base } = full;
  const log = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);
  const { doc } = await runArms(engine, [
    { name: 'imagenet', init: 'imagenet', source: () => resolveInit({ ...full, init: 'imagenet' }) },
    { name: 'scratch', init: 'scratch', source: () => resolveInit(full) },
  ], {
    data, fractions: [], sizes: quick ? [5, 10] : [5, 10, 20, 40, 80], repeats: quick ? 1 : 2, base, budget: 'updates', testSplit: 0.3, splitSeed: 0,
    targetFromAnnotators: 1.5, minutesPerImage: 6, costPerHour: 60, store: folderStore(join(OUT, 'study-hamedan-gpu')),
    prepare: (spec, o) => prepareDataSpec(spec, { ...o, log }), log, settings: { device: engine.adapter.description, fallback: engine.adapter.fallback },
    device: `${engine.adapter.description || engine.adapter.architecture}${engine.adapter.fallback ? ' (software fallback)' : ''}`,
  });
  log(`done: ${doc.arms.map((a) => `${a.name} ${a.status}`).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * Prepares, on this machine, what the GPU run of the second-site study's ImageNet arm needs
 * (bench/gpu_site_study.ts), small enough to travel with the packed runtime (64 MiB a call, ~45 MB
 * of it Node + Dawn): the Hamedan images as JPEGs with the longer side at 256 px (the runs train at
 * 128 px; working copies are 192 px), both annotators' points scaled with them, in the landmarks:
 * layout; and the partial ImageNet VGG19 (blocks 1–3) converted to safetensors.
 *   npx vite-node --config vitest.config.ts bench/gpu_site_data.ts -- .gpu/site
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import jpeg from 'jpeg-js';
import { parseXyLines } from '../src/data/annotators';
import { downsampleArea } from '../src/landmarks/preprocess';
import { readImage } from '../src/node/data_image';
import { convertWeights } from '../src/node/weights_convert';

const SHARED = '../shared/data';
const out = process.argv.slice(2).find((a) => a !== '--') ?? '.gpu/site';
const LONG = 256;

async function main(): Promise<void> {
  const src = join(SHARED, 'hamedan-ceph');
  mkdirSync(join(out, 'hamedan', 'images'), { recursive: true });
  const scales = new Map<string, number>();
  let bytes = 0;
  for (const f of readdirSync(join(src, 'images')).sort()) {
    const img = readImage(join(src, 'images', f));
    const factor = Math.max(1, Math.ceil(Math.max(img.width, img.height) / LONG));
    const small = downsampleArea(img.data, img.width, img.height, factor);
    // downsampleArea averages factor × factor blocks: a point x maps to (x + 0.5) / factor − 0.5
    scales.set(basename(f, '.png'), factor);
    let lo = Infinity, hi = -Infinity;
    for (const v of small.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const rgba = Buffer.alloc(small.width * small.height * 4);
    for (let i = 0; i < small.data.length; i++) {
      const g = Math.round((255 * (small.data[i]! - lo)) / (hi - lo || 1));
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = g;
      rgba[4 * i + 3] = 255;
    }
    const jpg = jpeg.encode({ data: rgba, width: small.width, height: small.height }, 92).data;
    writeFileSync(join(out, 'hamedan', 'images', `${basename(f, '.png')}.jpg`), jpg);
    bytes += jpg.byteLength;
  }
  for (const who of readdirSync(join(src, 'annotations'))) {
    mkdirSync(join(out, 'hamedan', 'annotations', who), { recursive: true });
    for (const f of readdirSync(join(src, 'annotations', who))) {
      const file = join(src, 'annotations', who, f);
      const s = scales.get(basename(f, '.txt'));
      if (!s) continue;
      const pts = parseXyLines(readFileSync(file, 'utf8'), file).map(([x, y]) => `${((x + 0.5) / s - 0.5).toFixed(3)},${((y + 0.5) / s - 0.5).toFixed(3)}`);
      writeFileSync(join(out, 'hamedan', 'annotations', who, f), `${pts.join('\n')}\n`);
    }
  }
  const r = await convertWeights(join(SHARED, 'vgg19-imagenet-blocks1-3'), { out: join(out, 'vgg19-imagenet-blocks1-3.safetensors') });
  console.log(`wrote ${scales.size} images (${(bytes / 1e6).toFixed(1)} MB) and ${r.out} (${(r.bytesWritten / 1e6).toFixed(1)} MB) to ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

/**
 * The web app's size budget: the first screen loads a small core (index.html, app.css, app.js and
 * its static chunks) and starts the engine worker (worker.js: engine, WGSL, training); the
 * decoders of DICOM / TIFF / MetaImage and the Keras HDF5 reader (h5wasm, ~4 MB of wasm) are
 * chunks loaded on first use. The README's sizes come from
 * bench/results/app-size.json (node scripts/app_size.mjs), which must still describe the build.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { measureApp } from '../../scripts/app_size.mjs';

const ROOT = resolve(__dirname, '../..');
const APP = join(ROOT, 'dist/app');
/** Budget of the core, gzip bytes: the engine, its WGSL and the app (was 1.2 MB with everything in app.js). */
const CORE_GZIP_BUDGET = 200 * 1024;

describe('web app size', () => {
  test('the core stays within its budget and holds no codec; the codecs are lazy chunks; the committed sizes describe this build (±15 %)', () => {
    expect(existsSync(join(APP, 'app.js')), 'npm run build first').toBe(true);
    const m = measureApp(APP);
    expect(m.core.gzip).toBeLessThanOrEqual(CORE_GZIP_BUDGET);
    const core = m.core.files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(APP, f), 'utf8')).join('\n');
    // h5wasm's Emscripten module and the DICOM decoder live in lazy chunks only
    const lazy = m.lazy.files.map((f) => readFileSync(join(APP, f), 'utf8')).join('\n');
    for (const marker of ['H5Fopen', 'transferSyntax']) {
      expect(core.includes(marker), `${marker} in the core`).toBe(false);
      expect(lazy.includes(marker), `${marker} in a lazy chunk`).toBe(true);
    }
    expect(m.lazy.raw).toBeGreaterThan(m.core.raw);
    const committed = JSON.parse(readFileSync(join(ROOT, 'bench/results/app-size.json'), 'utf8')) as ReturnType<typeof measureApp>;
    // the engine (its WGSL) and training run in the worker, a file of its own that the page starts
    expect(m.engineWorker.files).toContain('worker.js');
    expect(readFileSync(join(APP, 'worker.js'), 'utf8')).toContain('@compute');
    for (const k of ['core', 'engineWorker', 'lazy'] as const) {
      expect(Math.abs(committed[k].gzip - m[k].gzip) / m[k].gzip, `${k}: bench/results/app-size.json is stale (node scripts/app_size.mjs)`).toBeLessThan(0.15);
    }
  });
});

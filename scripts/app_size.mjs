// Sizes of the built web app (dist/app), raw and gzip (level 9, what a server's compression gets
// close to): the core the first screen loads (index.html, app.css, app.js and the chunks app.js
// imports statically), the engine worker the page starts (worker.js and the chunks it imports
// statically, some shared with the core), the chunks loaded on first use (dynamic import: DICOM /
// TIFF decoders, h5wasm) and the service worker (sw.js). `node scripts/app_size.mjs` writes
// bench/results/app-size.json, which docs/app.md quotes; test/app/app_size.test.ts holds the core
// to its budget.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const STATIC = /(?:from|import)\s*"\.\/(chunk-[A-Z0-9]+\.js)"/g;

/** @typedef {{ files: string[], raw: number, gzip: number }} Part */
/** @param {string} dir @returns {{ core: Part, engineWorker: Part, lazy: Part, serviceWorker: Part }} */
export function measureApp(dir) {
  const size = (f) => { const b = readFileSync(join(dir, f)); return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length }; };
  /** The files an entry loads before it runs: itself and its static imports, transitively. */
  const closure = (entry) => {
    const seen = new Set([entry]);
    for (const f of seen) for (const m of readFileSync(join(dir, f), 'utf8').matchAll(STATIC)) seen.add(m[1]);
    return seen;
  };
  const core = new Set(['index.html', 'app.css', ...closure('app.js')]);
  const worker = closure('worker.js');
  const js = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const group = (files) => ({ files, raw: files.reduce((s, f) => s + size(f).raw, 0), gzip: files.reduce((s, f) => s + size(f).gzip, 0) });
  return {
    core: group([...core].sort()),
    engineWorker: group([...worker].sort()),
    lazy: group(js.filter((f) => !core.has(f) && !worker.has(f) && f.startsWith('chunk-'))),
    serviceWorker: group(js.filter((f) => f === 'sw.js')),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = measureApp('dist/app');
  const out = 'bench/results/app-size.json';
  writeFileSync(`${out}.tmp`, JSON.stringify({ what: 'sizes of the built web app (npm run build), bytes raw and gzip -9', ...m }, null, 2) + '\n');
  renameSync(`${out}.tmp`, out);
  console.log(`core ${m.core.raw} B (${m.core.gzip} B gzip), engine worker ${m.engineWorker.raw} B (${m.engineWorker.gzip} B gzip), loaded on first use ${m.lazy.raw} B (${m.lazy.gzip} B gzip) → ${out}`);
}

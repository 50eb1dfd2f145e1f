// Builds the Node CLI (dist/osteo.mjs), the Node library (dist/index.js: `import … from 'osteo'`, with its
// subpaths dist/engine.js `osteo/engine` and dist/node.js `osteo/node`, sharing chunks in dist/lib/ so a
// class is one class whichever entry it came from) and the browser library (dist/osteo.browser.js:
// `osteo/browser`, one self-contained file). Types: scripts/build_types.mjs.
// WGSL is imported as text in both (esbuild's `text` loader), exactly as in vitest.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

// `osteo --version` (src/cli/run.ts) prints the version of the package.json it was built from.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning', target: 'es2022' };

await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/osteo.mjs',
  platform: 'node',
  packages: 'external', // node_modules stay node_modules (webgpu ships a native addon)
  banner: { js: '#!/usr/bin/env node' },
  define: { __OSTEO_VERSION__: JSON.stringify(version) },
});
chmodSync('dist/osteo.mjs', 0o755);

// The Node library: the public API of src/node/api.ts and its subpaths; dependencies stay imports.
rmSync('dist/lib', { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { index: 'src/node/api.ts', engine: 'src/engine.ts', node: 'src/node/extras.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'lib/[name]-[hash]',
  platform: 'node',
  packages: 'external',
  define: { __OSTEO_VERSION__: JSON.stringify(version) },
});

// The browser library, from the whole host-neutral API: the build fails if a Node built-in sneaks in.
await build({
  ...common,
  entryPoints: ['src/browser.ts'],
  outfile: 'dist/osteo.browser.js',
  platform: 'browser',
});

// The web app (src/app/): a static folder for any host, `osteo serve` included: the page's core
// (app.js, its CSS and HTML), the engine worker (worker.js: engine with the WGSL inlined, decoders,
// training, off the page's thread) and, split off by esbuild and loaded on first use by dynamic
// import, the decoders of DICOM / TIFF / MetaImage and the Keras HDF5 reader (h5wasm) as
// chunk-HASH.js files (content-hashed, so `osteo serve` lets browsers keep them; code the page and
// the worker share is a chunk too). Nothing is fetched from a CDN. Built into a temp folder and
// renamed, so a server never sees half an app.
const appTmp = 'dist/app.tmp';
rmSync(appTmp, { recursive: true, force: true });
mkdirSync(appTmp, { recursive: true });
// the page and the worker are built apart: a chunk shared between two entries would put the
// engine the worker needs into the page's first load (esbuild splits by module, not by export)
const appBuild = {
  ...common,
  outdir: appTmp,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  platform: 'browser',
  minify: true,
  keepNames: true, // error classes are told apart by name (NoAdapterError, CheckpointError…)
  sourcemap: false, // the map is 2.5x the app; the unminified library bundle has one
};
await build({ ...appBuild, entryPoints: { app: 'src/app/main.ts' } });
await build({ ...appBuild, entryPoints: { worker: 'src/app/engine_worker.ts' } });
// the service worker: one classic script of its own (a worker script shares no chunks)
await build({ ...common, entryPoints: ['src/app/sw.ts'], outfile: `${appTmp}/sw.js`, format: 'iife', platform: 'browser', minify: true, sourcemap: false });
for (const f of ['index.html', 'app.css', 'manifest.webmanifest', 'icon.svg']) copyFileSync(`src/app/${f}`, `${appTmp}/${f}`);
// the service worker stores the whole build for offline use: it gets the list of files
const files = readdirSync(appTmp).sort();
const sw = readFileSync(`${appTmp}/sw.js`, 'utf8');
if (!sw.includes('"__OSTEO_APP_FILES__"')) throw new Error('build: the service worker lost its file-list placeholder');
writeFileSync(`${appTmp}/sw.js`, sw.replace('"__OSTEO_APP_FILES__"', JSON.stringify(files)));
rmSync('dist/app', { recursive: true, force: true });
renameSync(appTmp, 'dist/app');
console.log('built dist/osteo.mjs, dist/index.js (+ engine.js, node.js, lib/), dist/osteo.browser.js and the web app in dist/app/');

// Builds the Node CLI (dist/osteo.mjs), the Node library (dist/index.js: `import … from 'osteo'`) and the
// browser library (dist/osteo.browser.js: `osteo/browser`). Types: scripts/build_types.mjs.
// WGSL is imported as text in both (esbuild's `text` loader), exactly as in vitest.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

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

// The Node library: the public API of src/node/api.ts; dependencies stay imports.
await build({
  ...common,
  entryPoints: ['src/node/api.ts'],
  outfile: 'dist/index.js',
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
console.log('built dist/osteo.mjs, dist/index.js and dist/osteo.browser.js');

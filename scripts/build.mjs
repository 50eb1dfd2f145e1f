// Builds the Node CLI bundle (dist/osteo.mjs) and the browser bundle (dist/osteo.browser.js).
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

// The engine core must bundle for the browser: no Node built-ins may sneak in.
await build({
  ...common,
  entryPoints: ['src/browser.ts'],
  outfile: 'dist/osteo.browser.js',
  platform: 'browser',
});
console.log('built dist/osteo.mjs and dist/osteo.browser.js');

// Generates the published type declarations. tsc emits one declaration per module into dist/types
// (tsconfig.dts.json: stripInternal, so no `@internal` member is published); their relative imports
// get the `.js` ending Node's ESM resolution (NodeNext) asks for. Each entry then has a small
// dist/<entry>.d.ts that re-exports its module: `osteo` (index), `osteo/browser`, `osteo/engine`,
// `osteo/node`. All four share the same declarations, so an Engine from `osteo` is the Engine of
// `osteo/engine`. WebGPU types come from @webgpu/types, a dependency of the package.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
rmSync('dist/types', { recursive: true, force: true });
execFileSync(bin('tsc'), ['-p', 'tsconfig.dts.json'], { stdio: 'inherit' });

/** Every .d.ts under `dir`. */
const declarations = (dir) => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? declarations(p) : p.endsWith('.d.ts') ? [p] : [];
});

/** `./x` → `./x.js` (a module) or `./x/index.js` (a folder), as NodeNext resolution requires. */
const withExtension = (file, spec) => {
  if (!spec.startsWith('.') || /\.(js|mjs|cjs)$/.test(spec)) return spec;
  const base = resolve(dirname(file), spec);
  if (existsSync(`${base}.d.ts`)) return `${spec}.js`;
  if (existsSync(join(base, 'index.d.ts'))) return `${spec}/index.js`;
  throw new Error(`${file}: cannot resolve ${spec}`);
};
for (const file of declarations('dist/types')) {
  const text = readFileSync(file, 'utf8');
  const fixed = text
    .replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.[^'"]*)\2/g, (_, head, q, spec) => `${head}${q}${withExtension(file, spec)}${q}`);
  if (fixed !== text) writeFileSync(file, fixed);
}

const header = '/// <reference types="@webgpu/types" />\n/// <reference lib="esnext.disposable" />\n';
for (const [out, module] of [['dist/index.d.ts', './types/node/api.js'], ['dist/browser.d.ts', './types/browser.js'], ['dist/engine.d.ts', './types/engine.js'], ['dist/node.d.ts', './types/node/extras.js']]) {
  writeFileSync(out, `${header}export * from '${module}';\n`);
}
console.log('built dist/types/ and dist/{index,browser,engine,node}.d.ts');

// Generates the published type declarations: dist/index.d.ts (`osteo`) and dist/browser.d.ts
// (`osteo/browser`), each one self-contained file. tsc emits per-module declarations into
// build/types (tsconfig.dts.json), then dts-bundle-generator inlines everything they reference;
// WebGPU types come from @webgpu/types, a dependency of the package.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
rmSync('build/types', { recursive: true, force: true });
execFileSync(bin('tsc'), ['-p', 'tsconfig.dts.json'], { stdio: 'inherit' });
for (const [entry, out] of [['build/types/node/api.d.ts', 'dist/index.d.ts'], ['build/types/browser.d.ts', 'dist/browser.d.ts']]) {
  execFileSync(bin('dts-bundle-generator'), ['--silent', '--no-check', '--project', 'tsconfig.dts.json', '-o', out, entry], { stdio: 'inherit' });
  const text = readFileSync(out, 'utf8');
  writeFileSync(out, `/// <reference types="@webgpu/types" />\n${text}`);
}
console.log('built dist/index.d.ts and dist/browser.d.ts');

/**
 * The layers of the house, checked mechanically (STYLE.md): imports only point down
 *   gpu → kernels → autograd, nn → model → weights, export → data, landmarks → train → report → api (browser)
 *   → hosts (node → bench → cli; the web app src/app beside bench, through src/browser.ts only),
 * nothing outside src/node, src/cli and bench imports a `node:` module (or a Node-only package),
 * and CLI commands are thin: no command imports another, none grows past ~200 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '..');

/** Rank of each layer: a module may import its own layer or lower ones. */
const LAYERS: [prefix: string, rank: number][] = [
  ['shaders/', 0],
  ['src/gpu/', 0],
  ['src/kernels/', 1],
  ['src/autograd/', 2],
  ['src/nn/', 2],
  ['src/model/', 3],
  ['src/weights/', 4],
  ['src/export/', 4],
  ['src/data/', 5],
  ['src/landmarks/', 5],
  ['src/train/', 6],
  ['src/report/', 6.5],
  ['src/api/', 7],
  ['src/browser.ts', 7],
  ['src/engine.ts', 7],
  ['src/node/', 8],
  ['bench/', 9],
  ['src/app/', 9],
  ['src/cli/', 10],
];

/** Files where `node:` modules and Node-only packages are allowed. */
const HOSTS = ['src/node/', 'src/cli/', 'bench/'];
const NODE_ONLY_PACKAGES = ['webgpu', 'cli-progress', 'puppeteer-core', 'esbuild', 'pngjs'];

function layerOf(file: string): { prefix: string; rank: number } | undefined {
  const hit = LAYERS.find(([p]) => file === p || file.startsWith(p));
  return hit && { prefix: hit[0], rank: hit[1] };
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'results') continue;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Every module specifier a file imports (static, re-exports, dynamic with a literal). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The repository path an import resolves to (relative imports only), e.g. 'src/gpu/engine'. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(ROOT, resolve(ROOT, dirname(file), spec)).split('\\').join('/');
}

const FILES = [...sources('src'), ...sources('bench')];

/** Every rule violation of one file (empty when it keeps the rules). */
function violations(file: string, imports: string[]): string[] {
  const bad: string[] = [];
  const from = layerOf(file);
  const host = HOSTS.some((h) => file.startsWith(h));
  for (const spec of imports) {
    if (spec.startsWith('node:') || NODE_ONLY_PACKAGES.includes(spec)) {
      if (!host) bad.push(`${file} imports ${spec}: only src/node, src/cli and bench may (the rest bundles for the browser)`);
      continue;
    }
    const t = target(file, spec);
    if (!t || !from) continue;
    const to = layerOf(t.endsWith('.ts') || t.endsWith('.wgsl') ? t : `${t}.ts`) ?? layerOf(`${t}/`);
    if (to && to.rank > from.rank) bad.push(`${file} imports ${spec}: ${to.prefix} is above ${from.prefix}`);
    if (file.startsWith('src/app/') && !t.startsWith('src/app/') && t !== 'src/browser' && t !== 'src/engine') bad.push(`${file} imports ${spec}: the web app uses the library through its public entries src/browser.ts and src/engine.ts only (no second copy of model, preprocessing or decoding)`);
    if (file.startsWith('src/cli/commands/') && t.startsWith('src/cli/commands/')) bad.push(`${file} imports ${spec}: a command must not import another command`);
  }
  return bad;
}

describe('layering', () => {
  test('the checker itself catches an upward import, a node: import outside the hosts and a command importing a command', () => {
    expect(violations('src/model/unetpp.ts', ['../train/run'])).toEqual([expect.stringMatching(/src\/train\/ is above src\/model\//)]);
    expect(violations('src/gpu/engine.ts', ['../kernels/wgsl'])).toHaveLength(1);
    expect(violations('src/train/run.ts', ['node:fs'])).toEqual([expect.stringMatching(/only src\/node/)]);
    expect(violations('src/train/run.ts', ['webgpu'])).toHaveLength(1);
    expect(violations('src/node/store.ts', ['node:fs', '../train/store'])).toEqual([]);
    expect(violations('src/cli/commands/eval.ts', ['./train'])).toEqual([expect.stringMatching(/another command/)]);
    expect(violations('bench/run.ts', ['../src/cli/run'])).toHaveLength(1);
    expect(violations('src/app/app.ts', ['../browser', './state'])).toEqual([]);
    expect(violations('src/app/app.ts', ['../train/run'])).toEqual([expect.stringMatching(/public entries src\/browser\.ts and src\/engine\.ts only/)]);
    expect(violations('src/app/app.ts', ['node:fs'])).toHaveLength(1);
  });

  test('every module of src/ and bench/ imports only its own layer or lower ones', () => {
    expect(FILES.length).toBeGreaterThan(50);
    const unknown = FILES.filter((f) => !layerOf(f));
    expect(unknown, 'files outside every layer: add them to LAYERS').toEqual([]);
    const bad = FILES.flatMap((f) => violations(f, importsOf(f)));
    expect(bad).toEqual([]);
  });

  test('CLI command files stay thin (flag parsing, progress and printing: about 200 lines at most)', () => {
    const long = sources('src/cli/commands').map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 220);
    expect(long).toEqual([]);
  });
});

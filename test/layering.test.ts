/**
 * The layers of the house, checked mechanically against the one layer description, the table in
 * docs/DESIGN.md §1 (between its `layers` markers): imports only point down, nothing outside the
 * layers marked "node" imports a `node:` module (or a Node-only package), the web app uses the
 * library through its public entries only, and CLI commands are thin: no command imports another,
 * none grows past ~200 lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '..');

/** The rows of docs/DESIGN.md's layer table: path prefix, rank, and whether Node modules are allowed. */
function designLayers(markdown: string): { prefix: string; rank: number; node: boolean }[] {
  const m = /<!-- layers:start -->([\s\S]*?)<!-- layers:end -->/.exec(markdown);
  if (!m) throw new Error('docs/DESIGN.md has no <!-- layers:start --> … <!-- layers:end --> table');
  return m[1]!.split('\n').filter((l) => /^\|\s*[\d.]+\s*\|/.test(l)).map((l) => {
    const [rank, path, node] = l.split('|').slice(1).map((c) => c.trim());
    return { prefix: path!.replace(/`/g, ''), rank: Number(rank), node: node === 'node' };
  });
}

const TABLE = designLayers(readFileSync(join(ROOT, 'docs/DESIGN.md'), 'utf8'));
/** Rank of each layer: a module may import its own layer or lower ones. */
const LAYERS: [prefix: string, rank: number][] = TABLE.map((r) => [r.prefix, r.rank]);

/** Files where `node:` modules and Node-only packages are allowed. */
const HOSTS = TABLE.filter((r) => r.node).map((r) => r.prefix);
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
    if (file.startsWith('src/app/') && !t.startsWith('src/app/') && !t.startsWith('src/util/') && t !== 'src/browser' && t !== 'src/engine') bad.push(`${file} imports ${spec}: the web app uses the library through its public entries src/browser.ts and src/engine.ts only (no second copy of model, preprocessing or decoding)`);
    if (file.startsWith('src/cli/commands/') && t.startsWith('src/cli/commands/')) bad.push(`${file} imports ${spec}: a command must not import another command`);
    if (file.startsWith('src/cli/') && file !== 'src/cli/commands/bench.ts' && t.startsWith('bench/')) bad.push(`${file} imports ${spec}: only \`osteo bench\` may use bench/ (a product feature such as \`osteo tune\` lives in src/)`);
  }
  return bad;
}

describe('layering', () => {
  test('the layer table of docs/DESIGN.md is read: every layer with a rank, the Node hosts marked', () => {
    expect(LAYERS.length).toBeGreaterThanOrEqual(19);
    expect(LAYERS.every(([, r]) => Number.isFinite(r))).toBe(true);
    expect(HOSTS.sort()).toEqual(['bench/', 'src/cli/', 'src/node/']);
    expect(() => designLayers('no table')).toThrow(/layers:start/);
  });

  test('the checker itself catches an upward import, a node: import outside the hosts and a command importing a command', () => {
    expect(violations('src/model/unetpp.ts', ['../train/run'])).toEqual([expect.stringMatching(/src\/train\/ is above src\/model\//)]);
    expect(violations('src/gpu/engine.ts', ['../kernels/wgsl'])).toHaveLength(1);
    expect(violations('src/train/run.ts', ['node:fs'])).toEqual([expect.stringMatching(/only src\/node/)]);
    expect(violations('src/train/run.ts', ['webgpu'])).toHaveLength(1);
    expect(violations('src/node/store.ts', ['node:fs', '../train/store'])).toEqual([]);
    expect(violations('src/cli/commands/eval.ts', ['./train'])).toEqual([expect.stringMatching(/another command/)]);
    expect(violations('src/cli/commands/tune.ts', ['../../../bench/tile_sweep'])).toEqual([expect.stringMatching(/only `osteo bench` may use bench/)]);
    expect(violations('src/cli/commands/bench.ts', ['../../../bench/args'])).toEqual([]);
    expect(violations('bench/run.ts', ['../src/cli/run'])).toHaveLength(1);
    expect(violations('src/app/app.ts', ['../browser', './state', '../util/html'])).toEqual([]);
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

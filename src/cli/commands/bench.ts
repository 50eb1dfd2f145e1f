import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from '../command';

const USAGE =
  'osteo bench [--suite kernels|model|all] [--host node|chromium|both] [--size N] [--batch N] [--reps N] [--train-size N] [--train-batch N] [--filter REGEX] [--json FILE] [--report FILE.html] [--md FILE]';

/** The source checkout this CLI runs from (the benchmark needs bench/ and tfjs, dev dependencies). */
function repoRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bench', 'cli_node.ts')) && existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return null;
}

/**
 * Bundles bench/cli_node.ts with tfjs inside (tfjs-core's gradient registry is ESM with
 * extension-less imports that Node cannot load from node_modules; resolving tfjs through its
 * `module` field also keeps one tfjs-core copy) into node_modules/.cache, then runs it.
 */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark osteo against TensorFlow.js (webgpu; webgl/wasm in Chromium) per kernel and whole model, in Node and/or headless Chromium',
  usage: USAGE,
  async run(argv) {
    const root = repoRoot();
    if (!root) throw new Error('osteo bench runs from a source checkout: it needs bench/ and the tfjs dev dependencies (npm install in the repo)');
    const { build } = await import('esbuild');
    const outDir = join(root, 'node_modules', '.cache', 'osteo-bench');
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, 'cli.mjs');
    await build({
      entryPoints: [join(root, 'bench', 'cli_node.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      mainFields: ['module', 'main'],
      external: ['webgpu', 'puppeteer-core', 'esbuild'],
      loader: { '.wgsl': 'text' },
      banner: { js: "import{createRequire as __osteoRequire}from'module';const require=__osteoRequire(import.meta.url);" },
      logLevel: 'error',
    });
    const mod = (await import(pathToFileURL(outfile).href)) as { benchMain: (argv: string[], root: string) => Promise<number> };
    return mod.benchMain(argv, root);
  },
};

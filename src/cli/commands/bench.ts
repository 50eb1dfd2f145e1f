import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_USAGE } from '../../../bench/args';
import { UsageError, type Command } from '../command';
import { checks, defineOptions, parseOptions } from '../options';

const SIZE = checks.inputSize();
const PER_HOST = 'with --host both, one file per host: FILE-node.ext and FILE-chromium.ext';
const REPORT = `${PER_HOST}, and FILE.ext with both hosts in one report, the whole model against every runtime first`;

/**
 * Mirrors bench/args.ts (which parses them again in the bundled benchmark); defaults from bench/run.ts defaultOptions.
 */
const OPTIONS = defineOptions({
  suite: { type: 'string', value: 'kernels|model|inference|all|decode', default: 'all', description: 'per-kernel rows (every conv, pool, upsample … of the model), whole-model inference and training step, inference only (with the ONNX runtimes), all of those; or decode: time to load --data for training (JS decoders vs worker pool, first and cached run)', check: checks.oneOf(['kernels', 'model', 'inference', 'all', 'decode']) },
  data: { type: 'string', value: 'SPEC', defaultText: 'none', description: 'the data set --suite decode loads (e.g. isbi2015:/data/ISBI)', check: checks.dataSpec() },
  host: { type: 'string', value: 'node|chromium|both', default: 'node', description: 'run in Node (Dawn) and/or headless Chromium (adds tfjs-webgl and tfjs-wasm columns)', check: checks.oneOf(['node', 'chromium', 'both']) },
  size: { type: 'string', value: 'N', defaultText: 'GPU: 256 for kernels, 512 for inference; CPU fallback: 32', description: 'input size whose layer shapes the kernel suite times; also the inference size', check: SIZE },
  batch: { type: 'string', value: 'N', defaultText: '1', description: 'batch of the kernel suite', check: checks.int(1) },
  reps: { type: 'string', value: 'N', defaultText: 'GPU: 10 per kernel, 5 per model step; CPU fallback: 3 and 2', description: 'timed repetitions (kernel and model suites alike when given)', check: checks.int(1) },
  'train-size': { type: 'string', value: 'N', defaultText: 'GPU: 256, CPU fallback: 32', description: 'training-step input size', check: SIZE },
  'train-batch': { type: 'string', value: 'N', defaultText: 'GPU: 4, CPU fallback: 1', description: 'training-step batch', check: checks.int(1) },
  filter: {
    type: 'string', value: 'REGEX', defaultText: 'every row', description: 'only kernel rows whose key matches',
    check: (v, flag) => {
      try {
        new RegExp(v);
      } catch (e) {
        throw new UsageError(`--${flag} ${v}: not a regular expression (${(e as Error).message})`);
      }
    },
  },
  json: { type: 'string', value: 'FILE', defaultText: 'not written', description: `write the results as JSON (${PER_HOST})` },
  report: { type: 'string', value: 'FILE.html', defaultText: 'not written', description: `write a self-contained HTML report with charts (${REPORT})` },
  md: { type: 'string', value: 'FILE', defaultText: 'not written', description: `write the markdown tables (always printed on stdout; ${REPORT})` },
});

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
  usage: BENCH_USAGE,
  options: OPTIONS,
  examples: [
    { command: 'osteo bench --suite model', what: 'whole-model inference and training step, osteo vs tfjs-webgpu, in Node' },
    { command: 'osteo bench --host both --filter conv --json results.json --report results.html', what: 'the conv kernel rows in Node and in headless Chromium, written as JSON and HTML per host' },
    { command: 'osteo bench --suite inference --host both --report inference.html', what: 'whole-model inference against tfjs, onnxruntime-node (Node) and onnxruntime-web webgpu / wasm (Chromium)' },
    { command: 'osteo bench --suite decode --data isbi2015:/data/ISBI --json decode.json --md decode.md', what: 'seconds until the data set is ready for training: JS decoders, worker pool, worker pool from the cache' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv); // every flag checked here, before the benchmark is bundled and a GPU acquired
    if (values.suite === 'decode') {
      // no GPU and no tfjs: bench/decode.ts runs here
      if (!values.data) throw new UsageError('--suite decode needs --data SPEC (the data set to load)');
      const { decodeBenchMain } = await import('../../../bench/decode');
      decodeBenchMain({ data: values.data, ...(values.size ? { size: Number(values.size) } : {}), ...(values.json ? { json: values.json } : {}), ...(values.md ? { md: values.md } : {}), log: (s) => console.error(s) });
      return 0;
    }
    if (values.data) throw new UsageError('--data is an option of --suite decode');
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
      external: ['webgpu', 'puppeteer-core', 'esbuild', 'onnxruntime-node'], // native addons stay in node_modules
      loader: { '.wgsl': 'text' },
      banner: { js: "import{createRequire as __osteoRequire}from'module';const require=__osteoRequire(import.meta.url);" },
      logLevel: 'error',
    });
    const mod = (await import(pathToFileURL(outfile).href)) as { benchMain: (argv: string[], root: string) => Promise<number> };
    return mod.benchMain(argv, root);
  },
};

// Regenerates the marked number blocks of README.md, docs/*.md, weights/README.md and bench/results/README.md from
// bench/results/*.json (bench/readme_numbers.ts). `--check`: only compare, exit 1 on drift.
// The TypeScript is bundled in memory by esbuild (as scripts/build.mjs does) and imported as a data URL.
import { build } from 'esbuild';

const out = await build({ entryPoints: ['bench/readme_docs.ts'], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning', target: 'es2022' });
const mod = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
try {
  process.exitCode = mod.main(process.cwd(), process.argv.includes('--check'));
} catch (e) {
  console.error(`docs:numbers: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
}

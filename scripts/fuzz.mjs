// npm run fuzz: the long fuzzing pass over every parser (test/fuzz/*.test.ts, fast-check), and its
// counts in bench/results/fuzz.json. OSTEO_FUZZ_RUNS inputs per target (default 20000; slow
// targets such as Keras .h5 take a fixed share of it), OSTEO_FUZZ_SEED to replay a run (default:
// a fresh one, recorded in the result file). `npm test` runs the same targets with a small fixed seed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = process.env.OSTEO_FUZZ_RUNS ?? '20000';
const seed = process.env.OSTEO_FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
const parts = mkdtempSync(join(tmpdir(), 'osteo-fuzz-'));
const out = process.env.OSTEO_FUZZ_RESULT ?? 'bench/results/fuzz.json';
console.error(`fuzzing: ${runs} inputs per target, seed ${seed}`);
const t0 = Date.now();
const r = spawnSync('npx', ['vitest', 'run', 'test/fuzz', '--testTimeout=0'], {
  stdio: 'inherit',
  env: { ...process.env, OSTEO_FUZZ_RUNS: runs, OSTEO_FUZZ_SEED: seed, OSTEO_FUZZ_OUT: parts },
});
const groups = readdirSync(parts).sort().map((f) => JSON.parse(readFileSync(join(parts, f), 'utf8')));
const targets = groups.flatMap((g) => g.targets.map((t) => ({ group: g.group, ...t })));
const errors = {};
for (const t of targets) for (const [k, n] of Object.entries(t.errors)) errors[k] = (errors[k] ?? 0) + n;
const doc = {
  date: new Date().toISOString(),
  passed: r.status === 0,
  seed: Number(seed),
  runsPerTarget: Number(runs),
  node: process.version,
  seconds: Math.round((Date.now() - t0) / 1000),
  totals: { targets: targets.length, inputs: targets.reduce((a, t) => a + t.runs, 0), valid: targets.reduce((a, t) => a + t.ok, 0), errors, slowestInputMs: Math.max(0, ...targets.map((t) => t.maxMs)) },
  targets,
};
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
console.error(`${doc.passed ? 'passed' : 'FAILED'}: ${doc.totals.inputs} inputs over ${doc.totals.targets} targets in ${doc.seconds} s → ${out}`);
process.exit(r.status ?? 1);

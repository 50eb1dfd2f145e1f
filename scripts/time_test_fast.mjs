// Times `npm run test:fast` (the pure tests of the edit–run loop, vitest.fast.config.ts; target under a minute):
// runs it N times (default 3), each with the machine's load averages before and after, and writes
// bench/results/test-fast.json — what ran, on what, when. No test asserts these times: the machine that ran them
// may be shared, and the load averages say how busy it was.
// Build first (npm run build): test/app/app_size.test.ts measures dist/app.
//   node scripts/time_test_fast.mjs [N]
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

const runs = Number(process.argv[2] ?? 3);
const uptime = () => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
};
const git = (...a) => execFileSync('git', a, { encoding: 'utf8' }).trim();
const load = () => loadavg().map((v) => Math.round(v * 100) / 100);

const results = [];
for (let i = 0; i < runs; i++) {
  const before = { load: load(), uptime: uptime() };
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', 'test:fast'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const out = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (re) => Number(re.exec(out)?.[1] ?? NaN);
  results.push({
    run: i + 1,
    start: new Date(Date.now() - seconds * 1000).toISOString(),
    seconds,
    exitCode: r.status,
    files: { passed: count(/Test Files\s+(?:\d+ failed \| )?(\d+) passed/), failed: count(/Test Files\s+(\d+) failed/) || 0 },
    tests: { passed: count(/Tests\s+(?:\d+ failed \| )?(\d+) passed/), failed: count(/Tests\s+(\d+) failed/) || 0 },
    vitestDuration: /Duration\s+([\d.]+s)/.exec(out)?.[1] ?? null,
    loadBefore: before.load,
    loadAfter: load(),
    uptimeBefore: before.uptime,
  });
  console.log(`run ${i + 1}: ${seconds} s, exit ${r.status}, load ${before.load.join(' ')} → ${load().join(' ')}`);
}
const secs = results.map((r) => r.seconds).sort((a, b) => a - b);
const doc = {
  what: '`npm run test:fast` (vitest.fast.config.ts: every test file that reaches no GPU engine, browser, reference framework or child process), wall time of the whole command, run back to back; no test asserts these times',
  date: new Date().toISOString(),
  commit: git('rev-parse', '--short', 'HEAD'),
  dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
  shared: 'a shared machine: other jobs (a long training run, other sessions\' tests and type checks) ran beside these; the load averages before and after each run say how busy it was, and a quiet machine would be faster',
  targetSeconds: 60,
  medianSeconds: secs[Math.floor(secs.length / 2)],
  runs: results,
};
writeFileSync('bench/results/test-fast.json', `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote bench/results/test-fast.json: median ${doc.medianSeconds} s`);

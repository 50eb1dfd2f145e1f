/** Runs the CLI in this process, or the built bundle in a child, capturing what it prints. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE = join(ROOT, 'dist', 'osteo.mjs');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** runCli with console.log / console.error / process.stderr captured. */
export async function runInProcess(argv: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(`${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => void err.push(`${a.join(' ')}\n`);
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await runCli(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

const newest = (dir: string): number =>
  Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));

/**
 * `npm test` builds before vitest; a file run on its own rebuilds dist/osteo.mjs when it is
 * missing or older than src/ or package.json, so the spawned CLI is the code under test.
 */
export function ensureBuilt(): void {
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'package.json')).mtimeMs)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

/** The built CLI in a child process. */
export function runBuilt(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Ran {
  const r = spawnSync(process.execPath, [BUNDLE, ...argv], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 600_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Class names a user should never see (RangeError:, DataError:, UsageError …) and stack frames. */
export const INTERNAL = /\b[A-Z][A-Za-z]*Error\b|^\s+at .+:\d+:\d+\)?$/m;

/** Runs the CLI in this process, or the built bundle in a child, capturing what it prints. */
import { spawn } from 'node:child_process';
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
export async function ensureBuilt(): Promise<void> {
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'package.json')).mtimeMs)) return;
  const r = await run('npm', ['run', 'build'], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * A child process, awaited without blocking this process: a synchronous spawn would hold the
 * test worker's event loop for the child's whole run (a CLI run on a software adapter can take a
 * minute on a slow, busy machine), and vitest's RPC to the worker times out after 60 s.
 */
function run(cmd: string, argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The built CLI in a child process. */
export function runBuilt(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  return run(process.execPath, [BUNDLE, ...argv], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
}

/** Class names a user should never see (RangeError:, DataError:, UsageError …) and stack frames. */
export const INTERNAL = /\b[A-Z][A-Za-z]*Error\b|^\s+at .+:\d+:\d+\)?$/m;

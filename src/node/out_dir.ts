/**
 * Output paths, checked before any work: `--out` under /proc made Node's recursive mkdir loop
 * forever at 100 % CPU (mkdir returns ENOENT there although the parent exists, and the recursive
 * walk retries), and an unwritable `--out` for `train` was found only after a full epoch. Here the
 * walk is bounded by the path's depth, and writability is probed with a temp file that is removed
 * again, so a run that later fails leaves no folder behind.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { OsteoError } from '../gpu/errors';

/** An output path that cannot be written: the message names the option, the path and why. */
export class OutputPathError extends OsteoError {}

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(p);
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
    throw new OutputPathError(`${p}: cannot inspect (${code(e)})`);
  }
}

/** The path and its ancestors up to the first that exists: [existing, missing (outermost first)]. */
function existingAncestor(path: string): [string, string[]] {
  const missing: string[] = [];
  let p = resolve(path);
  // at most one step per path component: the root always exists
  for (;;) {
    if (statOrNull(p)) return [p, missing];
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) return [p, missing];
    p = up;
  }
}

/**
 * `mkdir -p` with one attempt per missing component (never a retry loop). Throws an
 * OutputPathError naming the folder that could not be made.
 */
export function mkdirBounded(dir: string): void {
  const [top, missing] = existingAncestor(dir);
  if (!statSync(top).isDirectory()) throw new OutputPathError(`${resolve(dir)}: ${top} is a file, not a folder`);
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (code(e) === 'EEXIST' && statOrNull(d)?.isDirectory()) continue;
      throw new OutputPathError(`${resolve(dir)}: cannot make folder ${d} (${code(e)})`);
    }
  }
}

/**
 * Checks, before any work, that files can be written in `dir` (made later if missing): the
 * nearest existing ancestor must be a folder where a file can be created. Nothing is left behind.
 * `what` names the option in the message (`--out`).
 */
export function checkWritableDir(dir: string, what = '--out', shown = dir): void {
  const abs = resolve(dir);
  const [top] = existingAncestor(abs);
  const st = statSync(top);
  if (!st.isDirectory()) throw new OutputPathError(`${what} ${shown}: ${top === abs ? 'is a file, not a folder' : `${top} is a file, not a folder`}`);
  const probe = join(top, `.osteo-write-check-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    throw new OutputPathError(`${what} ${shown}: cannot write in ${top} (${code(e)}); choose another folder`);
  }
  try { unlinkSync(probe); } catch { /* gone */ }
}

/** As checkWritableDir, for an output file: its folder must be writable and it must not be a folder. */
export function checkWritableFile(file: string, what = '--out'): void {
  if (statOrNull(resolve(file))?.isDirectory()) throw new OutputPathError(`${what} ${file}: is a folder, not a file`);
  checkWritableDir(dirname(resolve(file)), what, file);
}

/** A failed write (disk full, quota, permissions): the message names the file; `code` is the system's. */
export class FileWriteError extends OsteoError {
  readonly code: string | undefined;
  constructor(readonly path: string, cause: unknown) {
    const c = (cause as NodeJS.ErrnoException).code;
    const why = c === 'ENOSPC' ? 'the disk is full' : c === 'EDQUOT' ? 'the disk quota is exhausted' : (cause as Error).message ?? String(cause);
    super(`${path}: cannot write (${c && !why.startsWith(c) ? `${c}: ` : ''}${why})`);
    this.code = c;
  }
}

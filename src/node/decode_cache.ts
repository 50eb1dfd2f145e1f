/**
 * The disk cache of training working copies (src/node/decode_pool.ts writes and reads the
 * entries): one file per (file content, working-copy size, decoder version), named by the SHA-256
 * of those, written atomically (temp file + rename), checked on read (a corrupt or truncated entry
 * is ignored and rewritten), and bounded: after each load the least recently used entries go until
 * the folder is under its limit.
 *
 * Where: OSTEO_CACHE_DIR, else $XDG_CACHE_HOME/osteo/working-copies, else
 * ~/.cache/osteo/working-copies. OSTEO_CACHE=off turns it off; OSTEO_CACHE_MAX_MB bounds it
 * (default 2048 MB: ~4500 ISBI working copies at 256 px).
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Part of every key: bump when the working copy's pixels change (decoder, resampling, scaling). */
export const DECODE_CACHE_VERSION = 'sharp-linear-fill-minmax-v1';
export const CACHE_DIR_ENV = 'OSTEO_CACHE_DIR';
export const CACHE_ENV = 'OSTEO_CACHE';
export const CACHE_MAX_ENV = 'OSTEO_CACHE_MAX_MB';
const DEFAULT_MAX_MB = 2048;

/** The cache folder in force, or undefined when the cache is off. */
export function decodeCacheDir(): string | undefined {
  if (/^(off|0|false|no)$/i.test(process.env[CACHE_ENV] ?? '')) return undefined;
  const dir = process.env[CACHE_DIR_ENV];
  if (dir) return dir;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg || join(homedir(), '.cache'), 'osteo', 'working-copies');
}

/** The size limit in bytes. */
export function decodeCacheLimit(): number {
  const n = Number(process.env[CACHE_MAX_ENV]);
  return (Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_MB) * 2 ** 20;
}

/**
 * Deletes least-recently-used entries (by mtime, which a cache hit refreshes) until the cache is
 * under `limit` bytes; stale temp files of killed writers go too. Returns what it removed.
 */
export function pruneDecodeCache(dir: string, limit = decodeCacheLimit()): { removed: number; bytes: number } {
  const files: { path: string; size: number; mtime: number }[] = [];
  let sub: string[];
  try { sub = readdirSync(dir); } catch { return { removed: 0, bytes: 0 }; }
  const now = Date.now();
  let removed = 0;
  for (const s of sub) {
    const d = join(dir, s);
    let names: string[];
    try { names = readdirSync(d); } catch { continue; }
    for (const f of names) {
      const p = join(d, f);
      try {
        const st = statSync(p);
        if (f.endsWith('.tmp')) { if (now - st.mtimeMs > 3_600_000) { unlinkSync(p); removed++; } continue; }
        files.push({ path: p, size: st.size, mtime: st.mtimeMs });
      } catch { /* removed by another process meanwhile */ }
    }
  }
  let total = files.reduce((a, f) => a + f.size, 0);
  files.sort((a, b) => a.mtime - b.mtime);
  for (const f of files) {
    if (total <= limit) break;
    try { unlinkSync(f.path); removed++; total -= f.size; } catch { /* gone already */ }
  }
  return { removed, bytes: total };
}

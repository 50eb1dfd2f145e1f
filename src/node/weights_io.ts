/**
 * Node file I/O for weights: reading any supported format from disk (tfjs models: model.json plus
 * the shards it lists, read from its directory) and atomic writes (temp file in the same
 * directory, fsync, rename, fsync of the directory) so a crash never leaves a half-written file
 * under the final name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileWriteError, mkdirBounded, OutputPathError } from './out_dir';
import { type LoadedWeights, type ReadWeightsOptions, WeightFileError, parseTfjsManifest, readWeights, writeSafetensors, type WriteTensor } from '../weights/index';

/** Refuse files larger than this (VGG19 features are ~80 MB, a whole U-Net++ ~160 MB). */
export const MAX_WEIGHT_FILE_BYTES = 4 * 1024 ** 3;

/** Temp name for an atomic write: hidden, in the same directory (same file system), ends in .tmp. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;
const cleanedDirs = new Set<string>();

const processAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the temp files that atomic writes into `dir` left behind when their process was killed
 * mid-write (hidden `.NAME.PID.HEX.tmp`, PID no longer running). Once per folder per process: a
 * later kill is another process, whose successor cleans up in turn.
 */
export function removeStaleTemps(dir: string): void {
  const d = resolve(dir);
  if (cleanedDirs.has(d)) return;
  cleanedDirs.add(d);
  let names: string[];
  try { names = readdirSync(d); } catch { return; }
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (m && !processAlive(Number(m[1]))) try { unlinkSync(join(d, n)); } catch { /* raced or not ours to remove */ }
  }
}

/**
 * Writes `bytes` to `path` atomically. Creates the directory (bounded: no retry loop). Never leaves
 * the temp file behind, removes those a killed writer left, and a failure (disk full…) names the file.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  mkdirBounded(dirname(resolve(path)));
  removeStaleTemps(dirname(resolve(path)));
  const tmp = tempPathFor(resolve(path));
  let fh: fsp.FileHandle | null = null;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await fsp.rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw e instanceof OutputPathError ? e : new FileWriteError(path, e);
  }
  await fsyncDir(dirname(resolve(path)));
}

/** Makes a rename durable (best effort: not every platform lets a directory be fsynced). */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* unsupported (e.g. Windows) */
  }
}

async function readBounded(path: string): Promise<Uint8Array> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw new WeightFileError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
  if (!st.isFile()) throw new WeightFileError(`${path}: not a file`, path);
  if (st.size > MAX_WEIGHT_FILE_BYTES) throw new WeightFileError(`${path}: ${st.size} bytes is larger than any supported weight file`, path);
  const buf = await fsp.readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface ReadFromDiskResult extends LoadedWeights {
  /** SHA-256 of the source file (model.json for tfjs), hex. */
  sourceSha256: string;
  /** The file that was read (model.json for a tfjs directory). */
  path: string;
}

/**
 * Reads a weight file from disk. A directory or a `.json` path is taken as a tfjs layers model
 * (model.json + shards next to it).
 */
export async function readWeightsFile(path: string, opts: Omit<ReadWeightsOptions, 'file'> = {}): Promise<ReadFromDiskResult> {
  let p = path;
  try {
    if ((await fsp.stat(p)).isDirectory()) p = join(p, 'model.json');
  } catch {
    /* reported by readBounded */
  }
  const bytes = await readBounded(p);
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex');
  const first = bytes.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xef && c !== 0xbb && c !== 0xbf);
  if (/\.json$/i.test(p) || (first === 0x7b && new TextDecoder().decode(bytes.subarray(0, 1 << 16)).includes('"weightsManifest"'))) {
    const groups = parseTfjsManifest(bytes, p);
    const files = new Map<string, Uint8Array>([[basename(p), bytes]]);
    for (const g of groups)
      for (const shard of g.paths) {
        if (files.has(shard)) continue;
        // An absent shard (a partial copy) is left out: the reader converts the complete layers and lists the rest.
        if (!existsSync(join(dirname(p), shard))) continue;
        files.set(shard, await readBounded(join(dirname(p), shard)));
      }
    const loaded = await readWeights(files, { ...opts, file: p });
    return { ...loaded, sourceSha256, path: p };
  }
  const loaded = await readWeights(bytes, { ...opts, file: p });
  return { ...loaded, sourceSha256, path: p };
}

/** Serialises canonical tensors as safetensors and writes them atomically. Returns the byte count. */
export async function saveWeightsFile(path: string, tensors: Map<string, WriteTensor>, metadata: Record<string, string>): Promise<number> {
  const bytes = writeSafetensors(tensors, metadata);
  await writeFileAtomic(path, bytes);
  return bytes.byteLength;
}

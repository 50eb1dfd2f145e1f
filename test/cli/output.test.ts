/**
 * Output files (issue 10, F8 and the notes): an unwritable --out is refused before any work, with a
 * bounded mkdir (Node's recursive mkdir loops forever under /proc); a temp file left by a killed
 * writer is removed by the next write; a failed write (disk full) names the file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import fs, { promises as fsp } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomicSync } from '../../src/node/data_png';
import { checkWritableDir, FileWriteError, mkdirBounded, OutputPathError } from '../../src/node/out_dir';
import { writeFileAtomic } from '../../src/node/weights_io';
import { runInProcess } from './io';

const dir = mkdtempSync(join(tmpdir(), 'osteo-out-'));

function errorOf(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

afterEach(() => { vi.restoreAllMocks(); syncBuiltinESMExports(); });

describe('F8: output folders are checked before any work, and made with a bounded mkdir', () => {
  it('a folder under /proc is refused at once, naming the option and the folder', () => {
    const t0 = performance.now();
    const e = errorOf(() => checkWritableDir('/proc/osteo-test/run', '--out'));
    expect(e).toBeInstanceOf(OutputPathError);
    expect(e.message).toBe('--out /proc/osteo-test/run: cannot write in /proc (ENOENT); choose another folder');
    expect(errorOf(() => mkdirBounded('/proc/osteo-test/run')).message).toBe('/proc/osteo-test/run: cannot make folder /proc/osteo-test (ENOENT)');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a file in the way is named; a writable folder passes and nothing is left behind', () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'x');
    expect(errorOf(() => checkWritableDir(join(f, 'sub'))).message).toBe(`--out ${join(f, 'sub')}: ${f} is a file, not a folder`);
    const before = readdirSync(dir).sort();
    checkWritableDir(join(dir, 'new', 'deeper'));
    expect(readdirSync(dir).sort()).toEqual(before);
    mkdirBounded(join(dir, 'new', 'deeper'));
    expect(existsSync(join(dir, 'new', 'deeper'))).toBe(true);
  });

  it.each([
    ['train', ['--data', 'synthetic:hand?n=2', '--init', 'scratch', '--out', '/proc/osteo-test/run']],
    ['experiment', ['transfer', '--target', 'synthetic:hand?n=2', '--out', '/proc/osteo-test/study']],
    ['eval', ['--model', '/proc/self/status', '--data', 'synthetic:hand?n=2', '--out', '/proc/osteo-test/r.json']],
    ['demo', ['--out', '/proc/osteo-test/demo']],
  ])('osteo %s --out under /proc: a usage error before any work', async (cmd, args) => {
    const t0 = performance.now();
    const r = await runInProcess([cmd, ...args]);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out /proc/osteo-test/');
    expect(r.stderr).toContain('cannot write in /proc');
  });

  it('osteo predict --out under /proc: refused before the model is read', async () => {
    const img = join(dir, 'x.png');
    writeFileSync(img, 'not read');
    const r = await runInProcess(['predict', img, '--model', img, '--out', '/proc/osteo-test/pred']);
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'osteo predict: --out /proc/osteo-test/pred: cannot write in /proc (ENOENT); choose another folder']);
  });
});

describe('atomic writes: stale temp files, and failures that name the file', () => {
  it('a temp file left by a killed writer is removed by the next write into that folder', async () => {
    const d = join(dir, 'stale');
    mkdirSync(d);
    // pid 2^22+1 is past Linux's pid_max: no such process
    const dead = join(d, `.checkpoint-last.safetensors.${2 ** 22 + 1}.0badf00d.tmp`);
    const live = join(d, `.metrics.json.${process.pid}.12345678.tmp`); // an ongoing write of this process
    writeFileSync(dead, 'half a checkpoint');
    writeFileSync(live, 'in progress');
    await writeFileAtomic(join(d, 'checkpoint-last.safetensors'), new Uint8Array([1, 2, 3]));
    expect(readdirSync(d).sort()).toEqual([`.metrics.json.${process.pid}.12345678.tmp`, 'checkpoint-last.safetensors']);
    const d2 = join(dir, 'stale-sync');
    mkdirSync(d2);
    writeFileSync(join(d2, `.overlay.png.${2 ** 22 + 1}.0badf00d.tmp`), 'x');
    writeFileAtomicSync(join(d2, 'overlay.png'), 'png');
    expect(readdirSync(d2)).toEqual(['overlay.png']);
  });

  it('disk full: the error names the file, the temp file is gone', async () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const d = join(dir, 'full');
    const open = fsp.open;
    vi.spyOn(fsp, 'open').mockImplementation(async (...a: Parameters<typeof fsp.open>) => {
      const fh = await open(...a);
      fh.write = (() => Promise.reject(enospc)) as typeof fh.write;
      return fh;
    });
    const e = await writeFileAtomic(join(d, 'checkpoint-best.safetensors'), new Uint8Array(10)).then(() => new Error('no error'), (x: Error) => x);
    expect(e).toBeInstanceOf(FileWriteError);
    expect(e.message).toBe(`${join(d, 'checkpoint-best.safetensors')}: cannot write (ENOSPC: the disk is full)`);
    expect((e as FileWriteError).code).toBe('ENOSPC');
    expect(readdirSync(d)).toEqual([]);

    vi.spyOn(fs, 'writeFileSync').mockImplementation(() => { throw enospc; });
    syncBuiltinESMExports();
    const e2 = errorOf(() => writeFileAtomicSync(join(d, 'metrics.json'), '{}'));
    expect(e2.message).toBe(`${join(d, 'metrics.json')}: cannot write (ENOSPC: the disk is full)`);
  });
});

describe('F8: a default output folder is checked too', () => {
  it('osteo predict without --out, run where runs/predict cannot be made: a usage error naming the default', async () => {
    const img = join(dir, 'y.png');
    writeFileSync(img, 'not read');
    const cwd = process.cwd();
    process.chdir('/proc');
    let r;
    try {
      r = await runInProcess(['predict', img, '--model', img]);
    } finally {
      process.chdir(cwd);
    }
    expect([r.code, r.stderr.split('\n')[0]]).toEqual([2, 'osteo predict: --out runs/predict: cannot write in /proc (ENOENT); choose another folder']);
  });
});

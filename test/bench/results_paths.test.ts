/**
 * Committed result files name no path of the machine that produced them (a run folder, a
 * checkpoint or a data folder in a scratch, temporary or home folder): they are read on other machines,
 * and such a path only says where one session's scratch space was. The generators write names and
 * tails (bench/portable_paths.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byName, dataSpecTail } from '../../bench/portable_paths';

const DIR = join(__dirname, '../../bench/results');
/** An absolute POSIX path into a scratch or home folder, or a Windows drive path. */
const MACHINE_PATH = /(?:^|[^\w.])\/(?:work|tmp|home|root|Users|var\/folders|private|mnt|data)\/|\b[A-Za-z]:\\\\/;

describe('bench/results names no machine path', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('finds the result files', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  // this machine's own folders, whatever they are called here: the repository, the temporary folder, the home folder
  const here = [resolve(__dirname, '../..'), tmpdir(), homedir()].filter((d) => d.length > 1);

  it.each(files)('%s', (f) => {
    const text = readFileSync(join(DIR, f), 'utf8');
    expect(text.match(MACHINE_PATH)?.[0] ?? null, `${f} names a path of this machine`).toBeNull();
    expect(here.filter((d) => text.includes(`"${d}/`) || text.includes(`:${d}/`)), `${f} names a folder of this machine`).toEqual([]);
  });

  it('the pattern catches the paths it is for, and not a relative one', () => {
    for (const p of ['"/mnt/scratch/runs/a.safetensors"', '"isbi:/data/isbi"', '"/Users/me/x"', '"C:\\\\Users\\\\x"']) expect(p).toMatch(MACHINE_PATH);
    for (const p of ['"bench/results/x.json"', '"isbi:data/isbi2015"', '"3.5 px/mm"', '"http://example.org/tmp/"']) expect(p).not.toMatch(MACHINE_PATH);
  });

  it('the generators write a checkpoint by name and a data folder by its tail', () => {
    expect(byName('/mnt/scratch/runs/coarse-mse-ep5.safetensors')).toBe('coarse-mse-ep5.safetensors');
    expect(dataSpecTail('isbi:/mnt/scratch/data/isbi2015')).toBe('isbi:data/isbi2015');
    expect(dataSpecTail('isbi:/mnt/scratch/data/isbi2015?size=64')).toBe('isbi:data/isbi2015?size=64');
    expect(dataSpecTail('synthetic:head?n=24')).toBe('synthetic:head?n=24');
  });
});

/**
 * Hostile input, round two (issue 10): each case reproduces a failure the fuzzing pass found —
 * F6 tfjs manifest with a null group, F7 generic CSV whose first row is short, F9/F10 absurd
 * synthetic and model sizes, F11 a malformed %-escape in a data spec.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDatasetSpec, parseImageCsv, parseImageJson } from '../../src/data/datasets';
import { synthesize } from '../../src/data/synthetic';
import { DataError } from '../../src/data/types';
import { UsageError } from '../../src/cli/command';
import { parseOptions } from '../../src/cli/options';
import { benchCommand } from '../../src/cli/commands/bench';
import { memoryCommand } from '../../src/cli/commands/memory';
import { profileCommand } from '../../src/cli/commands/profile';
import { trainCommand } from '../../src/cli/commands/train';
import { tuneCommand } from '../../src/cli/commands/tune';
import { checkDatasetSpec, readDataset } from '../../src/node/data_readers';
import { parseTfjsManifest, WeightFileError } from '../../src/weights/index';
import { encodePngRaw } from './encoders';

function errorOf(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('F6: tfjs model.json with a null or non-object weight group', () => {
  it('names the file and the group instead of a TypeError', () => {
    for (const [doc, what] of [['{"weightsManifest":[null]}', 'null'], ['{"weightsManifest":[3]}', 'a number'], ['{"weightsManifest":[[]]}', 'a list']] as const) {
      const e = errorOf(() => parseTfjsManifest(doc, 'm/model.json'));
      expect(e).toBeInstanceOf(WeightFileError);
      expect(e.message).toBe(`m/model.json: weightsManifest[0] is ${what}, not a weight group {paths, weights}`);
    }
  });
});

describe('F7: generic labels take K from the header or the majority of rows', () => {
  const good = (name: string) => `${name},1,2,3,4,5,6`;
  it('a short first row is the odd one out, named with its row; the good rows are kept', () => {
    const text = ['a.png,1,2', good('b.png'), good('c.png'), good('d.png')].join('\n');
    const r = parseImageCsv(text, 'labels.csv');
    expect(r.rows.map((x) => x.id)).toEqual(['b', 'c', 'd']);
    expect(r.rows[0]!.points).toHaveLength(3);
    expect(r.errors.map((e) => e.message)).toEqual(['labels.csv:1: expected 7 values (image + 3 x,y pairs), found 3 (K=3 from the majority of rows (3 of 4))']);
  });
  it('a header fixes K even when most rows disagree', () => {
    const r = parseImageCsv(['image,x1,y1', 'a.png,1,2', good('b.png'), good('c.png')].join('\n'), 'l.csv');
    expect(r.rows.map((x) => x.id)).toEqual(['a']);
    expect(r.errors.map((e) => e.row)).toEqual([3, 4]);
  });
  it('JSON: the item with another point count is named, the rest kept', () => {
    const items = [{ image: 'a.png', points: [[1, 2]] }, ...['b', 'c'].map((n) => ({ image: `${n}.png`, points: [[1, 2], [3, 4]] }))];
    const r = parseImageJson(JSON.stringify(items), 'l.json');
    expect(r.rows.map((x) => x.id)).toEqual(['b', 'c']);
    expect(r.errors.map((e) => `${e.row} ${e.message}`)).toEqual(['1 l.json:1: expected 2 points, found 1 (K=2 from the majority of items (2 of 3))']);
  });
  it('readDataset with ?strict blames the short row, not a correct one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-f7-'));
    for (const n of ['a', 'b', 'c']) writeFileSync(join(dir, `${n}.png`), encodePngRaw(8, 8, new Array(64).fill(1), 0, 8));
    writeFileSync(join(dir, 'labels.csv'), ['a.png,1,2', 'b.png,1,2,3,4', 'c.png,1,2,3,4'].join('\n'));
    const ds = readDataset(`generic:${join(dir, 'labels.csv')}`);
    expect([ds.k, ds.items.map((i) => i.id)]).toEqual([2, ['b', 'c']]);
    const e = errorOf(() => readDataset(`generic:${join(dir, 'labels.csv')}?strict`));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/labels\.csv:1: expected 5 values/);
  });
});

describe('coordinates that overflow (found by the fuzz targets)', () => {
  it("'1e999' is not a finite number: the row is named, not kept as Infinity", () => {
    const r = parseImageCsv('a.png,1e999,2\nb.png,3,4', 'l.csv');
    expect(r.rows.map((x) => x.id)).toEqual(['b']);
    expect(r.errors.map((e) => e.message)).toEqual(["l.csv:1: x of landmark 1: '1e999' is not a finite number"]);
  });
});

describe('F9/F10: synthetic n and size, and --size, are bounded and named', () => {
  it('synthetic:hand?n=100000000 and size=200000 are refused before anything is made, naming the option', () => {
    expect(errorOf(() => checkDatasetSpec('synthetic:hand?n=100000000')).message).toMatch(/n=100000000 must be an integer from 0 to 100000/);
    expect(errorOf(() => checkDatasetSpec('synthetic:hand?size=200000')).message).toMatch(/size=200000 must be an integer from 16 to 4096/);
    expect(errorOf(() => readDataset('synthetic:chest?n=50000&size=4096')).message).toMatch(/n=50000 images of size=4096 are 3125\.0 GiB in memory, past the 2 GiB limit/);
    expect(() => synthesize({ kind: 'hand', n: 1, size: 1e9, seed: 1 })).toThrow(/size=1000000000/);
  });
  it('synthesis reports progress', () => {
    const seen: number[] = [];
    synthesize({ kind: 'head', n: 3, size: 32, seed: 1, onProgress: (d, t) => { expect(t).toBe(3); seen.push(d); } });
    expect(seen).toEqual([1, 2, 3]);
  });
  it('--size 1000000000 is a usage error naming the option, for every command that takes a size', () => {
    const cases: [typeof trainCommand, string][] = [[trainCommand, 'size'], [benchCommand, 'size'], [benchCommand, 'train-size'], [memoryCommand, 'infer-size'], [profileCommand, 'size'], [tuneCommand, 'train-size']];
    for (const [cmd, flag] of cases) {
      const e = errorOf(() => parseOptions(cmd.options, [`--${flag}`, '1000000000']));
      expect(e).toBeInstanceOf(UsageError);
      expect(e.message).toMatch(new RegExp(`^--${flag} must be at most 2048, got 1000000000`));
    }
  });
});

describe('F11: a malformed %-escape in a data spec', () => {
  it('is a RangeError naming the spec and the option, not a bare URIError', () => {
    const e = errorOf(() => parseDatasetSpec('generic:/x/labels.csv?mm=%zz'));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe("dataset spec 'generic:/x/labels.csv?mm=%zz': option mm=%zz has a malformed %-escape (write %25 for a literal %)");
    expect(errorOf(() => parseDatasetSpec('generic:/x/l.csv?%E0%A4%A=1')).message).toMatch(/option '%E0%A4%A' has a malformed %-escape/);
  });
});

/**
 * The `landmarks:DIR` reader (DIR/images + DIR/annotations/ANNOTATOR/ID.txt): truth as the mean of
 * the annotators who marked an image, their disagreement, what is missing or short named in the
 * report, a fixed seeded test split; and `SPEC+SPEC` combinations with per-part validation splits.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { annotatorAgreement, fixedTestSplit, meanOf } from '../../src/data/annotators';
import { DataError, type Point } from '../../src/data/types';
import { readDataset } from '../../src/node/data_readers';
import { splitTrainVal, splitTrainValBySource } from '../../src/train/data';
import { readIsbi2015 } from '../../src/node/data_readers';
import { itShared, SHARED_DATA } from '../helpers/shared_data';
import { encodePngRaw } from './encoders';

const K = 3;
const W = 40, H = 30;

/** Annotator a's points of image i: distinct per image; annotator b is shifted by (3, 4) (5 px apart). */
const pts = (i: number, shift = 0): Point[] => Array.from({ length: K }, (_, k) => [5 + i + 7 * k + (shift ? 3 : 0), 4 + k + (shift ? 4 : 0)] as Point);
const txt = (p: Point[]): string => `${p.map(([x, y]) => `${x},${y}`).join('\n')}\n`;

/**
 * A folder of 8 images: 01–06 marked by both, 07 only by 'b', 08 by nobody; 'a' also marked 09 (no image) and has a
 * short 05.
 */
function makeFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'osteo-lmf-'));
  for (const d of ['images', 'annotations/a', 'annotations/b']) mkdirSync(join(root, d), { recursive: true });
  const png = encodePngRaw(W, H, new Uint8Array(W * H).fill(90), 0, 8);
  for (let i = 1; i <= 8; i++) writeFileSync(join(root, 'images', `0${i}.png`), png);
  for (let i = 1; i <= 6; i++) {
    writeFileSync(join(root, 'annotations/a', `0${i}.txt`), i === 5 ? '1,2\n3,4\n' : txt(pts(i)));
    writeFileSync(join(root, 'annotations/b', `0${i}.txt`), txt(pts(i, 1)));
  }
  writeFileSync(join(root, 'annotations/b', '07.txt'), `${txt(pts(7, 1))}extra label line\n`);
  writeFileSync(join(root, 'annotations/a', '09.txt'), txt(pts(9)));
  return root;
}

describe('landmarks:DIR — several annotators', () => {
  const root = makeFolder();

  it('truth is the mean of the annotators who marked each image; partial, short, unmarked and image-less files are named', () => {
    const ds = readDataset(`landmarks:${root}`);
    expect(ds.k).toBe(K);
    expect(ds.unit).toBe('px');
    const ids = ds.items.map((it) => it.id);
    // 05 is short for 'a' (bad item) but 'b' marked it: it stays, from 'b' alone
    expect(ids).toEqual(['01', '02', '03', '04', '05', '06', '07']);
    const it1 = ds.items.find((it) => it.id === '01')!;
    expect(it1.points).toEqual(meanOf([pts(1), pts(1, 1)]));
    expect(it1.points[0]).toEqual([5 + 1 + 1.5, 4 + 2]);
    expect(ds.items.find((it) => it.id === '07')!.points).toEqual(pts(7, 1));
    const r = ds.report!;
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/annotations\/a\/05\.txt: 2 x,y lines, expected 3/);
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/image not found: 09/);
    expect(r.skipped).toBe(2);
    const notes = r.notes.join('\n');
    expect(notes).toMatch(/marked by only some: 05 \(b only\), 07 \(b only\)/);
    expect(notes).toMatch(/1 image\(s\) with no points file of a or b: 08/);
    expect(notes).toMatch(/differ by 5\.00 px on average/);
  });

  it("the annotators' disagreement is the mean point distance over the images both marked", () => {
    const ds = readDataset(`landmarks:${root}`);
    const ag = ds.annotators!.agreement!;
    expect(ag.annotators).toEqual(['a', 'b']);
    expect(ag.images).toBe(5); // 01-04, 06 (05 short for a)
    expect(ag.mean).toBeCloseTo(5, 12);
    expect(ag.perLandmark).toEqual([5, 5, 5].map((v) => expect.closeTo(v, 12)));
    // independent: by hand for two maps
    const a = new Map([['x', [[0, 0], [10, 0]] as Point[]]]), b = new Map([['x', [[3, 4], [10, 1]] as Point[]], ['y', [[0, 0], [0, 0]] as Point[]]]);
    const g = annotatorAgreement(['a', 'b'], a, b, () => 0.5)!;
    expect(g.images).toBe(1);
    expect(g.mean).toBeCloseTo((5 * 0.5 + 1 * 0.5) / 2, 12);
    expect(g.unit).toBe('mm');
  });

  it('annotator=NAME takes one annotator; mm= gives millimetres; a bad annotator is named', () => {
    const ds = readDataset(`landmarks:${root}?annotator=a&mm=0.2`);
    expect(ds.items.map((it) => it.id)).toEqual(['01', '02', '03', '04', '06']);
    expect(ds.items[0]!.points).toEqual(pts(1));
    expect(ds.unit).toBe('mm');
    expect(ds.annotators!.agreement!.unit).toBe('mm');
    expect(ds.annotators!.agreement!.mean).toBeCloseTo(1, 12);
    expect(() => readDataset(`landmarks:${root}?annotator=c`)).toThrow(/annotator=c: no such annotator folder \(found a, b\)/);
    expect(() => readDataset(`landmarks:${root}?test=0`)).toThrow(/test=0/);
    expect(() => readDataset(`landmarks:${join(root, 'images')}`)).toThrow(DataError);
  });

  it('test=N holds out a fixed, seeded split; the same ids and seed give the same split', () => {
    const a = readDataset(`landmarks:${root}?test=2&seed=3`);
    const b = readDataset(`landmarks:${root}?test=2&seed=3`);
    expect(a.splits!.test).toHaveLength(2);
    expect(a.splits).toEqual(b.splits);
    expect([...a.splits!.train!, ...a.splits!.test!].sort()).toEqual(a.items.map((it) => it.id));
    const ids = Array.from({ length: 110 }, (_, i) => String(i + 1).padStart(3, '0'));
    const s0 = fixedTestSplit(ids, 30, 0), s1 = fixedTestSplit(ids, 30, 1);
    expect(s0.test).toHaveLength(30);
    expect(s0.test).not.toEqual(s1.test);
    expect(fixedTestSplit(ids.slice().reverse(), 30, 0)).toEqual(s0);
    expect(fixedTestSplit(ids, 0.25, 0).test).toHaveLength(28);
  });

  it('heldout=F,S names the images a run with --val-split F --seed S held out (split val, the rest fit)', () => {
    const ds = readDataset(`landmarks:${root}?heldout=0.3,1`);
    const want = splitTrainVal(7, 0.3, 1).val.map((i) => ds.items[i]!.id);
    expect(ds.splits!.val).toEqual(want);
    expect([...ds.splits!.val!, ...ds.splits!.fit!].sort()).toEqual(ds.items.map((it) => it.id));
    // from the train split when there is one
    const t = readDataset(`landmarks:${root}?test=2&heldout=0.5,2`);
    expect(t.splits!.val!.every((id) => t.splits!.train!.includes(id))).toBe(true);
    expect(t.splits!.val).toHaveLength(Math.round(5 * 0.5));
    expect(() => readDataset(`landmarks:${root}?heldout=0.1`)).toThrow(/heldout=0\.1: expected FRACTION,SEED/);
  });

  it('SPEC+SPEC: ids by part, splits merged, K checked, validation drawn within each part', () => {
    const ds = readDataset(`landmarks:${root}?test=2+landmarks:${root}?annotator=b`);
    expect(ds.sources).toEqual([ds.sources![0], `${ds.sources![0]}-2`]);
    const [p1, p2] = ds.sources!;
    expect(ds.items.filter((it) => it.id.startsWith(`${p1}/`))).toHaveLength(7);
    expect(ds.items.filter((it) => it.id.startsWith(`${p2}/`))).toHaveLength(7);
    // the second part has no train split of its own: all of it trains
    expect(ds.splits!.train!.filter((id) => id.startsWith(`${p2}/`))).toHaveLength(7);
    expect(ds.splits!.test).toHaveLength(2);
    const ids = ds.items.map((it) => it.id);
    const by = splitTrainValBySource(ids, 0.3, 1, ds.sources);
    const alone = splitTrainVal(7, 0.3, 1);
    expect(by.val.filter((i) => i < 7)).toEqual(alone.val);
    expect(by.val.filter((i) => i >= 7).map((i) => i - 7)).toEqual(alone.val);
    expect(splitTrainValBySource(ids, 0.3, 1)).toEqual(splitTrainVal(14, 0.3, 1));
    const other = mkdtempSync(join(tmpdir(), 'osteo-lmf-k-'));
    mkdirSync(join(other, 'images'), { recursive: true });
    mkdirSync(join(other, 'annotations/a'), { recursive: true });
    writeFileSync(join(other, 'images', '01.png'), encodePngRaw(W, H, new Uint8Array(W * H), 0, 8));
    writeFileSync(join(other, 'annotations/a', '01.txt'), '1,1\n2,2\n');
    expect(() => readDataset(`landmarks:${root}+landmarks:${other}`)).toThrow(/disagree on K: .* has 3 landmarks, .* has 2/);
  });
});

describe('landmarks:DIR on the real second site', () => {
  itShared('hamedan-ceph: 110 images, two annotators 11.8 px apart, 002 and 086 from one annotator', () => {
    const ds = readDataset(`landmarks:${join(SHARED_DATA, 'hamedan-ceph')}?test=30&names=isbi2015`);
    expect(ds.items).toHaveLength(110);
    expect(ds.k).toBe(19);
    expect(ds.landmarkNames![0]).toBe('S');
    expect(ds.annotators!.agreement!.images).toBe(108);
    expect(ds.annotators!.agreement!.mean).toBeCloseTo(11.8, 1);
    expect(ds.report!.notes.join('\n')).toMatch(/002 \(mollabashi only\), 086 \(farhadifar only\)/);
    expect(ds.splits!.test).toHaveLength(30);
    // combined with ISBI 2015: the ISBI part's validation images are those of ISBI alone
    const both = readDataset(`isbi2015:${join(SHARED_DATA, 'isbi2015-ceph-train')}+landmarks:${join(SHARED_DATA, 'hamedan-ceph')}?test=30`);
    const train = both.items.filter((it) => both.splits!.train!.includes(it.id)).map((it) => it.id);
    expect(train).toHaveLength(230);
    const isbi = readIsbi2015(join(SHARED_DATA, 'isbi2015-ceph-train'));
    const alone = splitTrainVal(isbi.items.length, 0.1, 1).val.map((i) => `isbi2015/${isbi.items[i]!.id}`);
    const by = splitTrainValBySource(train, 0.1, 1, both.sources).val.map((i) => train[i]!);
    expect(by.filter((id) => id.startsWith('isbi2015/'))).toEqual(alone);
  });
});

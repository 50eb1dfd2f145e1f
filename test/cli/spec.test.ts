/** Data specs are strict about their keys, and "did you mean" picks the likely name. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseDatasetSpec } from '../../src/data/datasets';
import { closest, editDistance } from '../../src/data/suggest';
import { checkDatasetSpec, readDataset } from '../../src/node/data_readers';
import { tmp } from '../train/helpers';

describe('did you mean', () => {
  test('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('trian', 'train')).toBe(1);
    expect(editDistance('epoch', 'epochs')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  test('closest: near names, unique prefixes, nothing for unrelated words', () => {
    expect(closest('epoch', ['epochs', 'early-stop', 'seed'])).toBe('epochs');
    expect(closest('trian', ['train', 'tune', 'demo'])).toBe('train');
    expect(closest('val', ['val-split', 'seed'])).toBe('val-split');
    expect(closest('bogus', ['n', 'size', 'seed'])).toBeUndefined();
    expect(closest('x', ['size', 'seed'])).toBeUndefined();
  });
});

describe('data spec keys', () => {
  test('an unknown key is an error that lists the kind\'s keys, with did-you-mean', () => {
    expect(() => parseDatasetSpec('synthetic:hand?bogus=1')).toThrow("dataset spec 'synthetic:hand?bogus=1': unknown option 'bogus' for synthetic data; valid: n, size, seed");
    expect(() => parseDatasetSpec('isbi2015:/data/ISBI?mmm=0.1')).toThrow(/unknown option 'mmm' for isbi2015 data; valid: annotator, strict, limit, missing, heldout$/);
    expect(() => parseDatasetSpec('generic:/x/labels.csv?mmPerPixl=0.1')).toThrow(/unknown option 'mmPerPixl' \(did you mean 'mmPerPixel'\?\) for generic data/);
    expect(() => parseDatasetSpec('hand:/data/dha?spaceing=wrist')).toThrow(/\(did you mean 'spacing'\?\)/);
    // a key of another kind says whose it is
    expect(() => parseDatasetSpec('isbi2015:/data/ISBI?mm=0.1')).toThrow(/'mm' is an option of points, generic, landmarks data/);
    expect(() => parseDatasetSpec('synthetic:hand?strict')).toThrow(/unknown option 'strict' for synthetic data; valid: n, size, seed \('strict' is an option of isbi2015, hand, chest, points, generic, landmarks data\)/);
  });

  test('a mistyped kind or layout gets a suggestion', () => {
    expect(() => parseDatasetSpec('synthtic:hand')).toThrow(/\(did you mean 'synthetic:'\?\)/);
    expect(() => parseDatasetSpec('synthetic:hnad')).toThrow(/synthetic layout must be hand, head or chest \(did you mean 'hand'\?\)/);
  });

  test('every documented key is accepted and read', () => {
    expect(parseDatasetSpec('isbi2015:/d?annotator=senior&strict&limit=3&missing=skip').options).toEqual({ annotator: 'senior', strict: 'true', limit: '3', missing: 'skip' });
    expect(parseDatasetSpec('generic:/x.csv?images=/i&mm=0.1&mmPerPixel=0.2').options).toEqual({ images: '/i', mm: '0.1', mmPerPixel: '0.2' });
    expect(readDataset('synthetic:chest?n=3&size=32&seed=2').items).toHaveLength(3);
  });
});

describe('checkDatasetSpec (before any reading)', () => {
  test('checks values and that paths exist, reads nothing', () => {
    const dir = tmp('spec');
    mkdirSync(join(dir, 'png'));
    expect(checkDatasetSpec(`chest:${dir}?images=${join(dir, 'png')}`).kind).toBe('chest'); // no labels inside: only reading would fail
    expect(() => checkDatasetSpec(`chest:${join(dir, 'absent')}`)).toThrow(/absent: no such file or folder \(data spec 'chest:/);
    expect(() => checkDatasetSpec(`chest:${dir}?images=${join(dir, 'nope')}`)).toThrow(/nope: no such folder \(images= of data spec/);
    expect(() => checkDatasetSpec(`isbi2015:${dir}?annotator=chief`)).toThrow('dataset option annotator=chief: expected auto, mean, senior, junior');
    expect(() => checkDatasetSpec(`hand:${dir}?missing=ignore`)).toThrow('dataset option missing=ignore: expected skip, error');
    expect(() => checkDatasetSpec(`generic:${dir}?mm=-1`)).toThrow('dataset option mm=-1: expected a positive number');
    expect(() => checkDatasetSpec('synthetic:hand?n=many')).toThrow('dataset option n=many: expected a non-negative integer');
    expect(checkDatasetSpec('synthetic:head?n=2').target).toBe('head');
  });
});

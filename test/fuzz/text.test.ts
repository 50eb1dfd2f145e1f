/**
 * Fuzzing the text parsers: annotation formats (ISBI txt, hand CSV, chest labels, spacing CSV,
 * generic CSV / JSON), data-spec strings, and command lines over every command's option table.
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { UsageError } from '../../src/cli/command';
import { checkSpec, parseOptions } from '../../src/cli/options';
import { COMMANDS } from '../../src/cli/run';
import {
  DATASET_KINDS, DATASET_SPEC_KEYS, parseChestLabel, parseDatasetSpec, parseHandCsv, parseImageCsv, parseImageJson,
  parseIsbiAnnotation, parseSpacingCsv, type ParseResult,
} from '../../src/data/datasets';
import { DataError, type Point } from '../../src/data/types';
import { editedJson, expectDocumented, fuzz, mutated, reportTo, type Json } from './harness';

reportTo('text');

const FILE = 'fuzz-labels.txt';

/** Numbers as people (and broken exporters) write them. */
const numberText = fc.oneof(
  fc.integer({ min: -5000, max: 5000 }).map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom('1e999', '-1e999', 'NaN', 'Infinity', '-0', '.5', '5.', '1e-3', '0x10', '1,5', '', ' ', '١٢', '+7', '--1'),
);
const token = fc.oneof({ weight: 6, arbitrary: numberText }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }, { weight: 1, arbitrary: fc.constantFrom('img.png', '"a,b.png"', '"', 'mm_per_pixel', 'image') });
const line = fc.tuple(fc.array(token, { maxLength: 12 }), fc.constantFrom(',', ', ', ' ', '\t', ';')).map(([ts, sep]) => ts.join(sep));
/** CSV-ish / line-oriented text: mostly numbers and separators, some junk, any line ends. */
const labelText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n', '\r')).map(([ls, nl]) => ls.join(nl)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
);

/** Valid files of each format with a few byte edits (reaches past the first check more often). */
const mutatedText = (...seeds: string[]) => mutated(seeds.map((t) => new TextEncoder().encode(t)), 3).map((b) => new TextDecoder().decode(b));
const ISBI_TXT = mutatedText('835,996\n1473,1029\n1289,1279\n604,1228\n1380,1548\n', '1,2\r\n3 4\r\n5,6\r\n7,8\r\n9,10\r\nextra\r\n');
const CHEST_TXT = mutatedText('2\n0.25 0.5\n0.75 0.125\n', '2\r\n0.1,0.9\r\n1 0\r\n');
const HAND_CSV = mutatedText('3001,10,20,30,40,50,60\n3002,1.5,2.5,3.5,4.5,5.5,6.5\n');
const GENERIC_CSV = mutatedText('image,x1,y1,x2,y2,mm_per_pixel\na.png,1,2,3,4,0.1\nb.png,5,6,7,8,0.2\n', 'a.png,1,2,3,4\n"b,c.png",5,6,7,8\n');
const SPACING_CSV = mutatedText('id,mm_per_pixel\n3001,0.1\n3002,0.25\n');

const finite = (pts: Point[]) => pts.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y));

/** Rows come back with K finite points each and numbered lines; every error is a DataError naming the file. */
function checkRows(r: ParseResult, k?: number): Error | void {
  for (const e of r.errors) {
    expect(e).toBeInstanceOf(DataError);
    expect(e.message.startsWith(FILE)).toBe(true);
  }
  const ks = new Set(r.rows.map((x) => x.points.length));
  expect(ks.size).toBeLessThanOrEqual(1);
  if (k !== undefined && r.rows.length) expect([...ks][0]).toBe(k);
  for (const row of r.rows) {
    expect(finite(row.points), `row ${row.row}: ${JSON.stringify(row.points)}`).toBe(true);
    expect(row.row).toBeGreaterThanOrEqual(1);
    if (row.mmPerPixel !== undefined) expect(row.mmPerPixel > 0 && Number.isFinite(row.mmPerPixel)).toBe(true);
  }
  return r.errors[0];
}

async function throwing(f: () => Point[], check: (p: Point[]) => void): Promise<Error | void> {
  const r = await expectDocumented(f, [DataError], FILE);
  if ('error' in r) return r.error;
  expect(finite(r.value)).toBe(true);
  check(r.value);
}

const jsonItems = fc.array(fc.record({
  image: fc.oneof(fc.constantFrom('a.png', 'b/c.jpg', ''), fc.string({ maxLength: 5 }), fc.integer()),
  points: fc.oneof(fc.array(fc.tuple(fc.double(), fc.double()), { maxLength: 5 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 })),
  mmPerPixel: fc.oneof(fc.constant(undefined), fc.double(), fc.string({ maxLength: 3 })),
}, { requiredKeys: [] }), { maxLength: 8 });
const goodItems: Json = [{ image: 'a.png', points: [[1, 2], [3, 4]], mmPerPixel: 0.1 }, { image: 'b.png', points: [[5, 6], [7, 8]] }];

describe('fuzz: annotation formats, mutated valid files', () => {
  fuzz('ISBI annotator .txt, mutated', ISBI_TXT, (t) => throwing(() => parseIsbiAnnotation(t, FILE, 5), (p) => expect(p).toHaveLength(5)), { quickRuns: 40 });
  fuzz('chest label, mutated', CHEST_TXT, (t) => throwing(() => parseChestLabel(t, FILE, 2), (p) => expect(p).toHaveLength(2)), { quickRuns: 40 });
  fuzz('hand all.csv, mutated', HAND_CSV, (t) => checkRows(parseHandCsv(t, FILE, 3), 3), { quickRuns: 40 });
  fuzz('generic CSV, mutated', GENERIC_CSV, (t) => checkRows(parseImageCsv(t, FILE)), { quickRuns: 40 });
  fuzz('spacing.csv, mutated', SPACING_CSV, async (t) => {
    const r = await expectDocumented(() => parseSpacingCsv(t, FILE), [DataError], FILE);
    if ('error' in r) return r.error;
    for (const v of r.value.values()) expect(v > 0 && Number.isFinite(v)).toBe(true);
  }, { quickRuns: 40 });
});

describe('fuzz: annotation formats', () => {
  fuzz('ISBI annotator .txt', labelText, (t) => throwing(() => parseIsbiAnnotation(t, FILE, 5), (p) => expect(p).toHaveLength(5)), { quickRuns: 60 });
  fuzz('hand all.csv', labelText, (t) => checkRows(parseHandCsv(t, FILE, 3), 3), { quickRuns: 60 });
  fuzz('chest label', labelText, (t) => throwing(() => parseChestLabel(t, FILE, 2), (p) => {
    expect(p).toHaveLength(2);
    for (const [x, y] of p) expect(x >= 0 && x <= 1 && y >= 0 && y <= 1).toBe(true);
  }), { quickRuns: 60 });
  fuzz('spacing.csv', labelText, async (t) => {
    const r = await expectDocumented(() => parseSpacingCsv(t, FILE), [DataError], FILE);
    if ('error' in r) return r.error;
    for (const v of r.value.values()) expect(v > 0 && Number.isFinite(v)).toBe(true);
  }, { quickRuns: 60 });
  fuzz('generic CSV', labelText, (t) => checkRows(parseImageCsv(t, FILE)), { quickRuns: 80 });
  fuzz('generic JSON, generated items', jsonItems, (items) => checkRows(parseImageJson(JSON.stringify(items), FILE)), { quickRuns: 60 });
  fuzz('generic JSON, edited', editedJson(goodItems), (doc) => checkRows(parseImageJson(JSON.stringify(doc), FILE)), { quickRuns: 60 });
  fuzz('generic JSON, any text', fc.string({ maxLength: 60 }), (t) => checkRows(parseImageJson(t, FILE)), { quickRuns: 30 });
});

// ------------------------------------------------------------------------------ data specs

const kinds = [...DATASET_KINDS, 'isbi', 'synth', 'dha', 'HAND', 'bogus', ''];
const keys = [...new Set(Object.values(DATASET_SPEC_KEYS).flat()), 'bogus', '', '%zz', '%', 'n%3D'];
const value = fc.oneof(numberText, fc.constantFrom('%zz', '%', '%E0%A4%A', 'true', 'skip', '1e9', '100000000', '200000', '-1', 'a&b', '?'), fc.string({ maxLength: 6 }));
const query = fc.array(fc.tuple(fc.constantFrom(...keys), fc.option(value, { nil: undefined })), { maxLength: 4 })
  .map((kv) => kv.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&'));
const spec = fc.tuple(fc.constantFrom(...kinds), fc.oneof(fc.constantFrom('hand', 'head', 'chest', '/nonexistent/x.csv', '/proc/x', '.', ''), fc.string({ maxLength: 8 })), fc.option(query, { nil: undefined }), fc.constantFrom(':', ':', '::', ''))
  .map(([k, t, q, colon]) => `${k}${colon}${t}${q !== undefined ? `?${q}` : ''}`);

describe('fuzz: data specs', () => {
  fuzz('parseDatasetSpec', fc.oneof(spec, fc.string({ maxLength: 30 })), async (s) => {
    const r = await expectDocumented(() => parseDatasetSpec(s), [RangeError], 'dataset spec');
    if ('error' in r) return r.error;
    expect(DATASET_KINDS).toContain(r.value.kind);
  }, { quickRuns: 80 });
  fuzz('--data check (keys, values, bounds, path)', spec, async (s) => {
    const r = await expectDocumented(() => checkSpec(s, 'data'), [UsageError], /^--data: /);
    if ('error' in r) return r.error;
  }, { quickRuns: 80 });
});

// ------------------------------------------------------------------------------ command lines

const flagValue = fc.oneof(value, fc.constantFrom('synthetic:hand?n=2', '/proc/osteo-fuzz/out', 'package.json', 'imagenet', 'scratch', '32', '1000000000', '0.5', '--', '-h'));

describe('fuzz: command lines over every command\'s option table', () => {
  for (const cmd of COMMANDS) {
    const names = Object.keys(cmd.options);
    const tok = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...names), flagValue).map(([n, v]) => [`--${n}`, v]) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...names), flagValue).map(([n, v]) => [`--${n}=${v}`]) },
      { weight: 1, arbitrary: fc.constantFrom(...names).map((n) => [`--${n}`]) },
      { weight: 1, arbitrary: fc.oneof(flagValue, fc.constantFrom('-x', '--', '---', '-')).map((v) => [v]) },
    );
    const argv = fc.array(tok, { maxLength: 6 }).map((ts) => ts.flat());
    fuzz(`osteo ${cmd.name}`, fc.tuple(argv, fc.boolean()), async ([a, positionals]) => {
      const r = await expectDocumented(() => parseOptions(cmd.options, a, { positionals }), [UsageError], /./);
      if ('error' in r) return r.error;
      for (const n of r.value.given) expect(names).toContain(n);
    }, { quickRuns: 25, longScale: 0.25 });
  }
});

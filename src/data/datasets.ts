/**
 * Pure parsing of landmark annotation formats (browser-safe: text in, points out). File access
 * lives in src/node/data_readers.ts. Every error is a DataError naming the file and 1-based row.
 */
import { didYouMean } from './suggest';
import { DataError, type Point } from './types';

export const ISBI2015_LANDMARKS = [
  'S', 'N', 'Or', 'Po', 'A', 'B', 'Pog', 'Me', 'Gn', 'Go', 'L1 tip', 'U1 tip', 'UL', 'LL', 'Sn',
  'soft-tissue Pog', 'PNS', 'ANS', 'Ar',
];
export const CHEST_LANDMARKS = [
  'right apex', 'right costophrenic angle', 'right cardiophrenic point',
  'left apex', 'left costophrenic angle', 'left cardiophrenic point',
];
export const ISBI2015_MM_PER_PIXEL = 0.1;
export const HAND_K = 37;
/** Wrist-width rule of the hand evaluation: 50 mm between landmarks 0 and 4 (1 and 5 one-based). */
export const HAND_WRIST = { a: 0, b: 4, mm: 50 } as const;

export interface ParsedRow {
  /** 1-based line number in the file. */
  row: number;
  id: string;
  /** Image reference as written in the file (CSV / JSON formats). */
  image?: string;
  points: Point[];
  mmPerPixel?: number;
}

export interface ParseResult {
  rows: ParsedRow[];
  errors: DataError[];
}

export interface Line { row: number; text: string }

/** Non-empty lines with their 1-based numbers; CR/LF tolerant, a BOM is dropped. */
export function lines(text: string): Line[] {
  const out: Line[] = [];
  const all = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let i = 0; i < all.length; i++) {
    const t = all[i]!.trim();
    if (t !== '') out.push({ row: i + 1, text: t });
  }
  return out;
}

/** Splits one CSV line (commas, optional double quotes with "" escapes). */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((s) => s.trim());
  const out: string[] = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur.trim()); cur = ''; }
    else cur += c;
  }
  out.push(cur.trim());
  return out;
}

const NUM = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function num(s: string | undefined, file: string, row: number, what: string): number {
  if (s === undefined || !NUM.test(s.trim())) {
    throw new DataError(file, row, `${what}: '${s ?? ''}' is not a number`);
  }
  const x = Number(s);
  // '1e999' passes the syntax but is Infinity (found by fuzzing)
  if (!Number.isFinite(x)) throw new DataError(file, row, `${what}: '${s}' is not a finite number`);
  return x;
}

function pointsFrom(values: string[], start: number, k: number, file: string, row: number): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i < k; i++) {
    pts.push([
      num(values[start + 2 * i], file, row, `x of landmark ${i + 1}`),
      num(values[start + 2 * i + 1], file, row, `y of landmark ${i + 1}`),
    ]);
  }
  return pts;
}

const stem = (name: string): string => name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');

// ---------------------------------------------------------------------------------------------
// ISBI 2015 cephalometric

/** One annotator file: the first 19 non-empty lines are `x,y`; later lines (extra labels) are ignored. */
export function parseIsbiAnnotation(text: string, file: string, k = 19): Point[] {
  const ls = lines(text);
  if (ls.length < k) throw new DataError(file, ls.length ? ls[ls.length - 1]!.row : undefined, `expected ${k} lines 'x,y', found ${ls.length}`);
  const pts: Point[] = [];
  for (let i = 0; i < k; i++) {
    const { row, text: t } = ls[i]!;
    const v = t.split(/[,\s]+/).filter((s) => s !== '');
    if (v.length !== 2) throw new DataError(file, row, `expected 'x,y', got '${t}'`);
    pts.push([num(v[0], file, row, `x of landmark ${i + 1}`), num(v[1], file, row, `y of landmark ${i + 1}`)]);
  }
  return pts;
}

/** Mean of two annotations (the ISBI 2015 ground truth is the senior/junior mean). */
export function meanPoints(a: Point[], b: Point[]): Point[] {
  if (a.length !== b.length) throw new RangeError(`meanPoints: ${a.length} vs ${b.length} points`);
  return a.map((p, i) => [(p[0] + b[i]![0]) / 2, (p[1] + b[i]![1]) / 2]);
}

/** Official ISBI 2015 split of an image number: 1–150 train, 151–300 test1, 301–400 test2. */
export function isbiSplitOf(n: number): 'train' | 'test1' | 'test2' | undefined {
  if (n >= 1 && n <= 150) return 'train';
  if (n >= 151 && n <= 300) return 'test1';
  if (n >= 301 && n <= 400) return 'test2';
  return undefined;
}


// ---------------------------------------------------------------------------------------------
// Generic `image,x1,y1,…` CSV (also ISBI's train_senior.csv)

/**
 * CSV rows `image,x1,y1,…,xK,yK[,mm_per_pixel]`. A header is recognised when its second field is
 * not a number; a header column named mm_per_pixel / mmPerPixel / spacing carries the spacing.
 * K comes from `k`, else from the header, else from the first row. Rows with another number of
 * values, or non-numeric values, become errors (the row is left out).
 */
export function parseImageCsv(text: string, file: string, k?: number): ParseResult {
  const ls = lines(text);
  const rows: ParsedRow[] = [];
  const errors: DataError[] = [];
  if (ls.length === 0) return { rows, errors: [new DataError(file, undefined, 'no rows')] };
  let start = 0;
  let mmCol = -1;
  let width: number | undefined;
  const first = splitCsv(ls[0]!.text);
  if (first.length > 1 && !NUM.test(first[1]!)) {
    start = 1;
    mmCol = first.findIndex((h) => /^(mm_?per_?pixel|spacing|mm)$/i.test(h));
    width = first.length;
  }
  const coordCols = (w: number) => (mmCol >= 0 ? w - 2 : w - 1);
  const split = ls.slice(start).map((l) => splitCsv(l.text));
  let kFrom = 'given';
  if (k === undefined) {
    // K from the header, else from the column count most rows share: one short or long row
    // (the first, say) must not make every correct row "wrong".
    let w: number;
    if (width !== undefined) { w = width; kFrom = 'from the header'; }
    else {
      const m = majority(split.map((v) => v.length));
      w = m.value;
      kFrom = m.count === split.length ? 'from the rows' : `from the majority of rows (${m.count} of ${split.length})`;
    }
    const c = coordCols(w);
    if (c <= 0 || c % 2 !== 0) {
      return { rows, errors: [new DataError(file, ls[start]?.row ?? ls[0]!.row, `cannot infer K from ${w} columns`)] };
    }
    k = c / 2;
  }
  const want = 1 + 2 * k + (mmCol >= 0 ? 1 : 0);
  for (let i = start; i < ls.length; i++) {
    const { row } = ls[i]!;
    const v = split[i - start]!;
    try {
      if (v.length !== want) throw new DataError(file, row, `expected ${want} values (image + ${k} x,y pairs${mmCol >= 0 ? ' + mm_per_pixel' : ''}), found ${v.length} (K=${k} ${kFrom})`);
      if (!v[0]) throw new DataError(file, row, 'empty image name');
      const coords = mmCol >= 0 ? v.filter((_, j) => j !== mmCol) : v;
      const r: ParsedRow = { row, id: stem(v[0]), image: v[0], points: pointsFrom(coords, 1, k, file, row) };
      if (mmCol >= 0) r.mmPerPixel = positive(v[mmCol], file, row);
      rows.push(r);
    } catch (e) {
      if (e instanceof DataError) errors.push(e); else throw e;
    }
  }
  return { rows, errors };
}

/** The most frequent value (ties: the one seen first) and how often it occurs. */
export function majority(values: number[]): { value: number; count: number } {
  const n = new Map<number, number>();
  let best = { value: values[0] ?? 0, count: 0 };
  for (const v of values) {
    const c = (n.get(v) ?? 0) + 1;
    n.set(v, c);
    if (c > best.count) best = { value: v, count: c };
  }
  return best;
}

function positive(s: string | undefined, file: string, row: number): number {
  const x = num(s, file, row, 'mm per pixel');
  if (!(x > 0)) throw new DataError(file, row, `mm per pixel must be > 0, got ${x}`);
  return x;
}

/** JSON `[{ image, points: [[x,y],…], mmPerPixel? }]`. All items must have the same K. */
export function parseImageJson(text: string, file: string, k?: number): ParseResult {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) {
    return { rows: [], errors: [new DataError(file, undefined, `invalid JSON: ${(e as Error).message}`)] };
  }
  if (!Array.isArray(doc)) return { rows: [], errors: [new DataError(file, undefined, 'expected a JSON array of items')] };
  const rows: ParsedRow[] = [];
  const errors: DataError[] = [];
  let kFrom = 'given';
  if (k === undefined) {
    // K from the point count most items share (as for CSV): one odd item does not condemn the rest
    const counts = doc.flatMap((it: unknown) => (it && typeof it === 'object' && Array.isArray((it as { points?: unknown }).points) ? [((it as { points: unknown[] }).points).length] : []));
    const m = majority(counts);
    k = m.value;
    kFrom = m.count === doc.length ? 'from the items' : `from the majority of items (${m.count} of ${doc.length})`;
  }
  doc.forEach((it: unknown, i: number) => {
    const row = i + 1; // item number
    try {
      if (typeof it !== 'object' || it === null) throw new DataError(file, row, 'item is not an object');
      const o = it as Record<string, unknown>;
      if (typeof o.image !== 'string' || !o.image) throw new DataError(file, row, "missing string 'image'");
      if (!Array.isArray(o.points)) throw new DataError(file, row, "missing array 'points'");
      if (o.points.length !== k) throw new DataError(file, row, `expected ${k} points, found ${o.points.length} (K=${k} ${kFrom})`);
      const pts: Point[] = o.points.map((p: unknown, j: number) => {
        if (!Array.isArray(p) || p.length !== 2 || !p.every((c) => typeof c === 'number' && Number.isFinite(c))) {
          throw new DataError(file, row, `point ${j + 1} is not [x, y] numbers: ${JSON.stringify(p)}`);
        }
        return [p[0] as number, p[1] as number];
      });
      const r: ParsedRow = { row, id: stem(o.image), image: o.image, points: pts };
      if (o.mmPerPixel !== undefined) {
        if (typeof o.mmPerPixel !== 'number' || !(o.mmPerPixel > 0)) throw new DataError(file, row, `mmPerPixel must be a positive number`);
        r.mmPerPixel = o.mmPerPixel;
      }
      rows.push(r);
    } catch (e) {
      if (e instanceof DataError) errors.push(e); else throw e;
    }
  });
  return { rows, errors };
}

// ---------------------------------------------------------------------------------------------
// Digital Hand Atlas (Payer et al.)

/** `all.csv`: no header, `id,x1,y1,…,x37,y37`. */
export function parseHandCsv(text: string, file: string, k = HAND_K): ParseResult {
  const rows: ParsedRow[] = [];
  const errors: DataError[] = [];
  for (const { row, text: t } of lines(text)) {
    const v = splitCsv(t);
    try {
      if (v.length !== 1 + 2 * k) throw new DataError(file, row, `expected ${1 + 2 * k} values (id + ${k} x,y pairs), found ${v.length}`);
      if (!v[0]) throw new DataError(file, row, 'empty id');
      rows.push({ row, id: v[0], points: pointsFrom(v, 1, k, file, row) });
    } catch (e) {
      if (e instanceof DataError) errors.push(e); else throw e;
    }
  }
  return { rows, errors };
}

/** `spacing.csv`: `id,mm_per_pixel` (header optional). Bad rows throw. */
export function parseSpacingCsv(text: string, file: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const { row, text: t } of lines(text)) {
    const v = splitCsv(t);
    if (v.length !== 2) throw new DataError(file, row, `expected 'id,mm_per_pixel', got '${t}'`);
    if (row === lines(text)[0]!.row && !NUM.test(v[1]!)) continue; // header
    m.set(v[0]!, positive(v[1], file, row));
  }
  return m;
}

/** mm per pixel from the wrist-width rule (50 mm between landmarks 0 and 4). */
export function wristMmPerPixel(points: Point[], rule: { a: number; b: number; mm: number } = HAND_WRIST): number {
  const p = points[rule.a], q = points[rule.b];
  if (!p || !q) throw new RangeError(`wrist rule needs landmarks ${rule.a} and ${rule.b}`);
  const d = Math.hypot(p[0] - q[0], p[1] - q[1]);
  if (!(d > 0)) throw new RangeError('wrist rule: landmarks coincide');
  return rule.mm / d;
}

// ---------------------------------------------------------------------------------------------
// Shenzhen chest (Zhu et al. labels)

/** First line N, then N lines `x_ratio y_ratio` in [0, 1]. Returns the ratios. */
export function parseChestLabel(text: string, file: string, k = 6): Point[] {
  const ls = lines(text);
  if (ls.length === 0) throw new DataError(file, undefined, 'empty label file');
  const n = num(ls[0]!.text, file, ls[0]!.row, 'landmark count');
  if (n !== k) throw new DataError(file, ls[0]!.row, `expected ${k} landmarks, file says ${n}`);
  if (ls.length < n + 1) throw new DataError(file, ls[ls.length - 1]!.row, `expected ${n} point lines, found ${ls.length - 1}`);
  const pts: Point[] = [];
  for (let i = 1; i <= n; i++) {
    const { row, text: t } = ls[i]!;
    const v = t.split(/[\s,]+/);
    if (v.length !== 2) throw new DataError(file, row, `expected 'x_ratio y_ratio', got '${t}'`);
    const x = num(v[0], file, row, `x ratio of landmark ${i}`), y = num(v[1], file, row, `y ratio of landmark ${i}`);
    if (x < 0 || x > 1 || y < 0 || y > 1) throw new DataError(file, row, `ratio outside [0, 1]: ${x} ${y}`);
    pts.push([x, y]);
  }
  return pts;
}

// ---------------------------------------------------------------------------------------------
// Dataset spec strings for the CLI

export type DatasetKind = 'isbi2015' | 'hand' | 'chest' | 'points' | 'generic' | 'landmarks' | 'synthetic';
export const DATASET_KINDS: readonly DatasetKind[] = ['isbi2015', 'hand', 'chest', 'points', 'generic', 'landmarks', 'synthetic'];

export interface DatasetSpec {
  kind: DatasetKind;
  /** Path (isbi2015, hand, chest, points, generic) or synthetic layout ('hand' | 'head' | 'chest'). */
  target: string;
  options: Record<string, string>;
}

const KIND_ALIASES: Record<string, DatasetKind> = {
  isbi2015: 'isbi2015', isbi: 'isbi2015', ceph: 'isbi2015', head: 'isbi2015',
  hand: 'hand', dha: 'hand', chest: 'chest', shenzhen: 'chest',
  points: 'points', generic: 'generic', landmarks: 'landmarks', annotations: 'landmarks', synthetic: 'synthetic', synth: 'synthetic',
};

/** Query keys each kind reads (src/node/data_readers.ts readDataset); any other key is an error, not ignored. */
const READ_KEYS = ['strict', 'limit', 'missing', 'heldout'] as const;
export const DATASET_SPEC_KEYS: Record<DatasetKind, readonly string[]> = {
  isbi2015: ['annotator', ...READ_KEYS],
  hand: ['spacing', 'images', ...READ_KEYS],
  chest: ['images', ...READ_KEYS],
  points: ['images', 'mm', 'mmPerPixel', ...READ_KEYS],
  generic: ['images', 'mm', 'mmPerPixel', ...READ_KEYS],
  landmarks: ['annotator', 'mm', 'mmPerPixel', 'k', 'names', 'test', 'seed', ...READ_KEYS],
  synthetic: ['n', 'size', 'seed'],
};

/**
 * `kind:target[?key=value&…]`, e.g. `isbi2015:/data/ISBI?annotator=senior`, `hand:/data/dha`,
 * `chest:/data/chest_labels.zip?images=/data/png`, `points:/x/points.json` (docs/points-format.md),
 * `generic:/x/labels.csv?mm=0.1`,
 * `synthetic:hand?n=64&seed=1&size=128`. The query starts at the last '?'.
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  const m = /^([A-Za-z0-9]+):(.*)$/.exec(spec.trim());
  const kind = m ? KIND_ALIASES[m[1]!.toLowerCase()] : undefined;
  if (!m || !kind) {
    const typed = m?.[1] ?? /^[A-Za-z0-9]+/.exec(spec.trim())?.[0] ?? '';
    throw new RangeError(`dataset spec '${spec}': expected <kind>:<path>[?options] with kind one of ${DATASET_KINDS.join(', ')}${didYouMean(typed, Object.keys(KIND_ALIASES), (k) => `${KIND_ALIASES[k]}:`)}`);
  }
  let target = m[2]!;
  const options: Record<string, string> = {};
  const q = target.lastIndexOf('?');
  if (q >= 0) {
    for (const kv of target.slice(q + 1).split('&')) {
      if (!kv) continue;
      const eq = kv.indexOf('=');
      const key = decodeQuery(eq < 0 ? kv : kv.slice(0, eq), spec);
      const valid = DATASET_SPEC_KEYS[kind];
      if (!valid.includes(key)) {
        const elsewhere = DATASET_KINDS.filter((k) => DATASET_SPEC_KEYS[k].includes(key));
        throw new RangeError(
          `dataset spec '${spec}': unknown option '${key}'${didYouMean(key, valid)} for ${kind} data; valid: ${valid.join(', ')}` +
            (elsewhere.length ? ` ('${key}' is an option of ${elsewhere.join(', ')} data)` : ''),
        );
      }
      options[key] = eq < 0 ? 'true' : decodeQuery(kv.slice(eq + 1), spec, key);
    }
    target = target.slice(0, q);
  }
  if (!target) throw new RangeError(`dataset spec '${spec}': empty path`);
  if (kind === 'synthetic' && !['hand', 'head', 'chest'].includes(target)) {
    throw new RangeError(`dataset spec '${spec}': synthetic layout must be hand, head or chest${didYouMean(target, ['hand', 'head', 'chest'])}`);
  }
  return { kind, target, options };
}

/** decodeURIComponent with a RangeError naming the spec (and the key) instead of a bare URIError. */
function decodeQuery(s: string, spec: string, key?: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RangeError(`dataset spec '${spec}': ${key ? `option ${key}=${s}` : `option '${s}'`} has a malformed %-escape (write %25 for a literal %)`);
  }
}


/**
 * The osteo points file (docs/points-format.md): one versioned JSON shape for landmarks on images,
 * written by `osteo predict` and the web app's export, read by the app's import and by every
 * trainer (`--data points:FILE`, `generic:FILE`, the library's `train`). Browser-safe: text in,
 * a checked document out; nothing here touches files.
 *
 * {
 *   "format": "osteo-points", "version": 1,
 *   "model"?: string,                    the checkpoint that predicted the points (informative)
 *   "landmarks"?: string[],              one name per landmark, in point order
 *   "images": [ {
 *     "image": string,                   file name, or a path relative to the points file, or absolute
 *     "width"?, "height"?: number,       the image's size in pixels (a reader checks it against the file)
 *     "mmPerPixel"?: number,             pixel spacing; errors are then in mm
 *     "points": [ { "x", "y",            in the image's own pixels, pixel centres at integers
 *                   "confidence"?, "expectedError"?, "flags"?: string[] } ],
 *     "warnings"?: string[]
 *   } ]
 * }
 *
 * Validation is valibot's (as for checkpoint metadata): an error names the file and the path
 * inside the JSON (`images[2].points[5].x`). Fields a version-1 reader does not know are ignored,
 * so a later minor addition stays readable; a file of a higher version is refused with a message
 * that says which version this reader reads.
 */
import * as v from 'valibot';
import { DataError } from './types';

export const POINTS_FORMAT = 'osteo-points';
export const POINTS_VERSION = 1;

/**
 * Flags a point may carry. `corrected`: placed or moved by a person (a label, not a prediction);
 * `low-confidence`: the model's heatmap peak was weak; `implausible`: the point breaks the shape
 * the model learnt; `missing`: the landmark is not visible (its x, y mean nothing; trainers skip
 * the image). Other strings are kept and ignored by the readers here.
 */
export const POINT_FLAGS = ['corrected', 'low-confidence', 'implausible', 'missing'] as const;
export type KnownPointFlag = (typeof POINT_FLAGS)[number];

/** One landmark of one image: its position in the image's own pixels and what is known of it. */
export interface PointRecord {
  x: number;
  y: number;
  /** The model's heatmap peak, 0–1 (predictions only). */
  confidence?: number;
  /** The error to expect at this point, in mm when the image has a spacing, else pixels. */
  expectedError?: number;
  flags?: string[];
}

/** One image of a points file: which image, its size and spacing when known, its points. */
export interface PointsImage {
  image: string;
  width?: number;
  height?: number;
  mmPerPixel?: number;
  points: PointRecord[];
  warnings?: string[];
}

/** An osteo points file (docs/points-format.md): the format tag, its version, the landmark names, the images. */
export interface PointsDocument {
  format: typeof POINTS_FORMAT;
  version: typeof POINTS_VERSION;
  model?: string;
  landmarks?: string[];
  images: PointsImage[];
}

/** A points file that cannot be read: names the file and where in it. */
export class PointsFileError extends DataError {
  /** The same message as a row error of a generic file, as a points-file error. */
  static from(e: DataError): PointsFileError {
    const p = new PointsFileError(e.file, e.row, '');
    p.message = e.message;
    return p;
  }
}

const finite = v.pipe(v.number('must be a number'), v.finite('must be a finite number'));
const positive = v.pipe(finite, v.gtValue(0, 'must be > 0'));
const size = v.pipe(finite, v.integer('must be a whole number of pixels'), v.minValue(1, 'must be ≥ 1'));
const text = v.string('must be a string');

const POINT_SHAPE = 'must be an object { "x": number, "y": number, … }';
// valibot's object() takes an array as an object with its keys missing: say what the point should be
const PointSchema = v.pipe(v.custom<object>((p) => !!p && typeof p === 'object' && !Array.isArray(p), `${POINT_SHAPE}, not [x, y]`), v.object({
  x: finite,
  y: finite,
  confidence: v.optional(finite),
  expectedError: v.optional(v.pipe(finite, v.minValue(0, 'must be ≥ 0'))),
  flags: v.optional(v.array(text, 'must be an array of strings')),
}, POINT_SHAPE));

const ImageSchema = v.object({
  image: v.pipe(text, v.minLength(1, 'must not be empty')),
  width: v.optional(size),
  height: v.optional(size),
  mmPerPixel: v.optional(positive),
  points: v.pipe(v.array(PointSchema, 'must be an array of points'), v.minLength(1, 'must hold at least one point')),
  warnings: v.optional(v.array(text, 'must be an array of strings')),
}, 'must be an object { "image": string, "points": [...] }');

const DocumentSchema = v.object({
  format: v.literal(POINTS_FORMAT),
  version: v.literal(POINTS_VERSION),
  model: v.optional(text),
  landmarks: v.optional(v.array(text, 'must be an array of strings')),
  images: v.array(ImageSchema, 'must be an array of images'),
});

/** JSONPath-like place of a valibot issue: `images[2].points[5].x`. */
function pathOf(issue: v.BaseIssue<unknown>): string {
  let s = '';
  for (const p of issue.path ?? []) {
    const key = (p as { key: unknown }).key;
    s += typeof key === 'number' ? `[${key}]` : s ? `.${String(key)}` : String(key);
  }
  return s;
}

/** True when a parsed JSON value says it is an osteo points file (any version). */
export function isPointsDocument(value: unknown): boolean {
  return !!value && typeof value === 'object' && (value as { format?: unknown }).format === POINTS_FORMAT;
}

/**
 * Checks a parsed JSON value against the schema and returns it typed. Throws PointsFileError
 * naming `file` and the JSON path of the first problem, with what was found there.
 */
export function checkPointsDocument(value: unknown, file: string): PointsDocument {
  if (!isPointsDocument(value)) throw new PointsFileError(file, undefined, `not an osteo points file (expected "format": "${POINTS_FORMAT}")`);
  const version = (value as { version?: unknown }).version;
  if (typeof version === 'number' && version > POINTS_VERSION) {
    throw new PointsFileError(file, undefined, `osteo points version ${version} is newer than this osteo reads (version ${POINTS_VERSION}); update osteo`);
  }
  const r = v.safeParse(DocumentSchema, value);
  if (!r.success) {
    const issue = r.issues[0];
    const path = pathOf(issue);
    if (issue.input === undefined) throw new PointsFileError(file, undefined, `${path} is missing`);
    const got = JSON.stringify(issue.input)?.slice(0, 80);
    throw new PointsFileError(file, undefined, `${path || 'the document'} ${issue.message.startsWith('must') ? issue.message : `is invalid: ${issue.message}`} (found ${got})`);
  }
  const doc = r.output as PointsDocument;
  const k = doc.landmarks?.length;
  doc.images.forEach((im, i) => {
    if (k !== undefined && im.points.length !== k) {
      throw new PointsFileError(file, undefined, `images[${i}] (${im.image}) has ${im.points.length} points but "landmarks" names ${k}`);
    }
  });
  return doc;
}

/** Parses and checks the text of an osteo points file (see checkPointsDocument). */
export function parsePointsDocument(textIn: string, file: string): PointsDocument {
  let value: unknown;
  try {
    value = JSON.parse(textIn.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new PointsFileError(file, undefined, `not valid JSON (${(e as Error).message})`);
  }
  return checkPointsDocument(value, file);
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/**
 * The file text of a document: fields in the documented order, coordinates rounded to 1/1000
 * pixel, confidences to 4 digits; one point per line so that a diff shows which point moved.
 */
export function serializePoints(doc: Omit<PointsDocument, 'format' | 'version'>): string {
  const point = (p: PointRecord): string => JSON.stringify({
    x: round(p.x, 3), y: round(p.y, 3),
    ...(p.confidence !== undefined ? { confidence: round(p.confidence, 4) } : {}),
    ...(p.expectedError !== undefined ? { expectedError: round(p.expectedError, 3) } : {}),
    ...(p.flags?.length ? { flags: p.flags } : {}),
  });
  const image = (im: PointsImage): string => {
    const head = JSON.stringify({
      image: im.image,
      ...(im.width !== undefined ? { width: im.width } : {}),
      ...(im.height !== undefined ? { height: im.height } : {}),
      ...(im.mmPerPixel !== undefined ? { mmPerPixel: im.mmPerPixel } : {}),
      ...(im.warnings?.length ? { warnings: im.warnings } : {}),
    }).slice(0, -1);
    return `  ${head}${head.length > 1 ? ',' : ''} "points": [\n${im.points.map((p) => `    ${point(p)}`).join(',\n')}\n  ]}`;
  };
  const top = JSON.stringify({
    format: POINTS_FORMAT, version: POINTS_VERSION,
    ...(doc.model !== undefined ? { model: doc.model } : {}),
    ...(doc.landmarks ? { landmarks: doc.landmarks } : {}),
  }).slice(0, -1);
  return `${top}, "images": [\n${doc.images.map(image).join(',\n')}\n]}\n`;
}

/** Whether a point carries a flag. */
export const hasFlag = (p: PointRecord, flag: KnownPointFlag | string): boolean => !!p.flags?.includes(flag);

/**
 * TensorFlow.js layers model (browser-safe): `model.json` with `weightsManifest`
 * `[{paths: [shard, …], weights: [{name, shape, dtype, quantization?}]}]`; each group's shards are
 * concatenated in order and its weights lie back to back in that byte stream. VGG19 names look like
 * `block1_conv1/kernel` (possibly prefixed by a model scope, possibly with `:0`). Kernels are HWIO;
 * conversion is the same as for Keras .h5 (HWIO→OIHW, first conv BGR→RGB, caffe normalisation),
 * since tfjs VGG19 models are converted Keras models.
 */
import { f16ToF32 } from './safetensors';
import { type LoadedWeights, type WeightMap, WeightFileError, checkFinite, numel, sameShape, shapeStr } from './types';
import {
  BGR_TO_RGB,
  type VggSpec,
  hwioToOihw,
  kerasVgg19Result,
  permuteInputChannels,
  vgg19Convs,
} from './vgg19';

export interface TfjsReadOptions {
  /** Name of model.json inside `files` (default: the one key ending in .json). */
  modelJson?: string;
  file?: string;
  checkFinite?: boolean;
  spec?: VggSpec;
  /** Largest model.json accepted (default 64 MB). */
  maxJsonBytes?: number;
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QBYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** A shard path from the manifest: relative, no `..`, no absolute paths (the Node reader opens them). */
export function safeShardPath(p: unknown, file: string): string {
  if (typeof p !== 'string' || p.length === 0) throw new WeightFileError(`${file}: shard path ${JSON.stringify(p)} is not a string`, file);
  const clean = p.replace(/^(\.\/)+/, '');
  if (clean.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(clean) || clean.includes('\\') || clean.split('/').some((s) => s === '..' || s === ''))
    throw new WeightFileError(`${file}: shard path ${JSON.stringify(p)} must be a plain relative path next to model.json`, file);
  return clean;
}

/** Parses and validates model.json; returns the groups and the shard paths they need. */
export function parseTfjsManifest(json: Uint8Array | string, file = 'model.json', maxBytes = 64 << 20): { paths: string[]; weights: ManifestWeight[] }[] {
  const len = typeof json === 'string' ? json.length : json.byteLength;
  if (len > maxBytes) throw new WeightFileError(`${file}: ${len} bytes is too large for a model.json (limit ${maxBytes})`, file);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof json === 'string' ? json : new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new WeightFileError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  const manifest = (doc as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length === 0)
    throw new WeightFileError(`${file}: no weightsManifest; not a TensorFlow.js layers model`, file);
  const seen = new Set<string>();
  return manifest.map((g, gi) => {
    if (typeof g !== 'object' || g === null || Array.isArray(g))
      throw new WeightFileError(`${file}: weightsManifest[${gi}] is ${g === null ? 'null' : Array.isArray(g) ? 'a list' : `a ${typeof g}`}, not a weight group {paths, weights}`, file);
    const grp = g as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(grp.paths) || grp.paths.length === 0) throw new WeightFileError(`${file}: weightsManifest[${gi}].paths is not a non-empty list`, file);
    if (!Array.isArray(grp.weights)) throw new WeightFileError(`${file}: weightsManifest[${gi}].weights is not a list`, file);
    const paths = grp.paths.map((p) => safeShardPath(p, file));
    const weights = grp.weights.map((w, wi) => {
      const e = w as Partial<ManifestWeight> | null;
      const where = `weightsManifest[${gi}].weights[${wi}]`;
      if (!e || typeof e.name !== 'string') throw new WeightFileError(`${file}: ${where} has no name`, file);
      if (seen.has(e.name)) throw new WeightFileError(`${file}: duplicate weight name ${e.name}`, file, e.name);
      seen.add(e.name);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        throw new WeightFileError(`${file}: weight ${e.name}: shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`, file, e.name);
      if (typeof e.dtype !== 'string' || !(e.dtype in BYTES)) throw new WeightFileError(`${file}: weight ${e.name}: unknown dtype ${JSON.stringify(e.dtype)}`, file, e.name);
      if (e.quantization !== undefined) {
        const q = e.quantization;
        if (!q || typeof q.dtype !== 'string' || !(q.dtype in QBYTES))
          throw new WeightFileError(`${file}: weight ${e.name}: unknown quantization ${JSON.stringify(q)}`, file, e.name);
        if (q.dtype !== 'float16' && !(Number.isFinite(q.scale) && Number.isFinite(q.min)))
          throw new WeightFileError(`${file}: weight ${e.name}: ${q.dtype} quantization needs finite scale and min`, file, e.name);
      }
      return e as ManifestWeight;
    });
    return { paths, weights };
  });
}

/** `vgg19/block1_conv1/kernel:0` → ['block1_conv1', 'kernel']. */
function splitName(name: string): [string, string] | null {
  const parts = name.replace(/:\d+$/, '').split('/');
  if (parts.length < 2) return null;
  const leaf = parts[parts.length - 1]!;
  const layer = parts[parts.length - 2]!;
  const slot = leaf === 'kernel' || leaf === 'W' ? 'kernel' : leaf === 'bias' || leaf === 'b' ? 'bias' : null;
  return slot ? [layer, slot] : null;
}

/** Reads a tfjs layers VGG19 from model.json + shards (`files`: path → bytes, paths relative to model.json). */
export function readTfjsLayers(files: Map<string, Uint8Array>, opts: TfjsReadOptions = {}): LoadedWeights {
  let jsonName = opts.modelJson;
  if (!jsonName) {
    const jsons = [...files.keys()].filter((k) => k.endsWith('.json'));
    if (jsons.length !== 1) throw new WeightFileError(`tfjs model: expected one .json among the files, found ${jsons.length}`);
    jsonName = jsons[0]!;
  }
  const file = opts.file ?? jsonName;
  const json = files.get(jsonName);
  if (!json) throw new WeightFileError(`${file}: no such file among the inputs`, file);
  const groups = parseTfjsManifest(json, file, opts.maxJsonBytes);

  const byLayer = new Map(vgg19Convs(opts.spec).map((c) => [c.keras, c]));
  const found: WeightMap = new Map();
  const unexpected: string[] = [];
  const absentShards: string[] = [];
  const absentWeights: string[] = [];
  let inputChannels = 3;
  for (const g of groups) {
    // Check sizes before concatenating anything.
    let need = 0;
    for (const w of g.weights) {
      const per = w.quantization ? QBYTES[w.quantization.dtype]! : BYTES[w.dtype]!;
      let n = 1;
      for (const d of w.shape) n = Math.min(n * d, 2 ** 40);
      need += n * per;
    }
    // A group whose shards are absent (a partial copy of a model) is skipped and listed; its layers
    // are then missing from the result, which says so. A shard present but of the wrong size is an error.
    const absent = g.paths.filter((p) => !files.has(p));
    if (absent.length) {
      absentShards.push(...absent);
      absentWeights.push(...g.weights.map((w) => w.name));
      continue;
    }
    const shards = g.paths.map((p) => files.get(p)!);
    const have = shards.reduce((a, b) => a + b.byteLength, 0);
    if (have !== need)
      throw new WeightFileError(`${file}: shards [${g.paths.join(', ')}] hold ${have} bytes but the manifest describes ${need}; truncated or mismatched shards`, file);
    const buf = new Uint8Array(have);
    let o = 0;
    for (const s of shards) {
      buf.set(s, o);
      o += s.byteLength;
    }
    const dv = new DataView(buf.buffer);
    let pos = 0;
    for (const w of g.weights) {
      const n = numel(w.shape);
      const q = w.quantization;
      const per = q ? QBYTES[q.dtype]! : BYTES[w.dtype]!;
      const start = pos;
      pos += n * per;
      const sp = splitName(w.name);
      const conv = sp ? byLayer.get(sp[0]) : undefined;
      if (!sp || !conv) {
        unexpected.push(w.name);
        continue;
      }
      const data = new Float32Array(n);
      if (!q) {
        if (w.dtype === 'float32') data.set(new Float32Array(buf.slice(start, pos).buffer));
        else if (w.dtype === 'int32') for (let i = 0; i < n; i++) data[i] = dv.getInt32(start + 4 * i, true);
        else for (let i = 0; i < n; i++) data[i] = buf[start + i]!;
      } else if (q.dtype === 'float16') for (let i = 0; i < n; i++) data[i] = f16ToF32(dv.getUint16(start + 2 * i, true));
      else if (q.dtype === 'uint8') for (let i = 0; i < n; i++) data[i] = buf[start + i]! * q.scale! + q.min!;
      else for (let i = 0; i < n; i++) data[i] = dv.getUint16(start + 2 * i, true) * q.scale! + q.min!;
      if (opts.checkFinite ?? true) checkFinite(data, file, w.name);
      const name = `${conv.canonical}.${sp[1] === 'kernel' ? 'weight' : 'bias'}`;
      if (found.has(name)) throw new WeightFileError(`${file}: two weights map to ${conv.keras} ${sp[1]} (second: ${w.name})`, file, w.name);
      if (sp[1] === 'bias') {
        found.set(name, { shape: [...w.shape], data });
        continue;
      }
      if (w.shape.length !== 4) {
        found.set(name, { shape: [...w.shape], data });
        continue;
      }
      const [kh, kw, ci, co] = w.shape as [number, number, number, number];
      if (conv.layer === 0 && (ci === 1 || ci === 3)) inputChannels = ci;
      const cin = conv.layer === 0 ? inputChannels : conv.inChannels;
      if (!sameShape(w.shape, [3, 3, cin, conv.outChannels])) {
        if (sameShape(w.shape, [conv.outChannels, cin, 3, 3]))
          throw new WeightFileError(`${file}: ${w.name} is ${shapeStr(w.shape)}: channels-first kernel; tfjs layers kernels must be HWIO`, file, w.name);
        found.set(name, { shape: [co, ci, kh, kw], data: new Float32Array(0) });
        continue;
      }
      let { data: oihw, shape } = hwioToOihw(data, w.shape);
      if (conv.layer === 0 && cin === 3) oihw = permuteInputChannels(oihw, shape, BGR_TO_RGB);
      found.set(name, { shape, data: oihw });
    }
  }
  if (absentShards.length && ![...found.keys()].some((n) => n.endsWith('.weight'))) {
    throw new WeightFileError(`${file}: no complete layer: the shards of every VGG19 conv layer are absent (${absentShards.slice(0, 4).join(', ')}${absentShards.length > 4 ? ', …' : ''})`, file);
  }
  const r = kerasVgg19Result('tfjs-layers', found, unexpected, inputChannels, opts.spec);
  if (absentShards.length) {
    r.report.absent = { shards: absentShards, layers: [...new Set(absentWeights.map((w) => splitName(w)?.[0] ?? w))] };
  }
  return r;
}

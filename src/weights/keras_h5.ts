/**
 * Keras VGG19 weights in HDF5 (browser-safe: h5wasm's in-memory file system, loaded lazily).
 *
 * Accepted layouts (all seen in the wild):
 * - Keras 2 `save_weights` / the "notop" release file: root attr `layer_names`; group per layer
 *   with attr `weight_names` (`block1_conv1/kernel:0`, `block1_conv1/bias:0`), datasets at
 *   `<layer>/<weight_name>` (so `block1_conv1/block1_conv1/kernel:0`).
 * - Keras 1 names (`block1_conv1_W_1:0`, `block1_conv1_b_1:0`) — same structure, flat names.
 * - A whole-model `model.save(...h5)`: the same under a `model_weights` group.
 * - Keras 3 `.weights.h5`: `layers/<name>/vars/0` (kernel) and `vars/1` (bias).
 * In every case a layer's kernel is its one 4-D dataset and its bias its one 1-D dataset.
 * Kernels must be HWIO (TensorFlow ordering); channels-first (Theano) kernels are rejected since
 * they are also spatially flipped. Conversion: HWIO→OIHW and, for block1_conv1, BGR→RGB input
 * channels (see vgg19.ts); normalisation recorded as caffe-style in RGB order.
 */
import type { Dataset, Group } from 'h5wasm';
import { f16ToF32 } from './safetensors';
import { type LoadedWeights, type WeightMap, WeightFileError, checkFinite, numel, sameShape, shapeStr } from './types';
import {
  BGR_TO_RGB,
  type VggSpec,
  VGG19_KERAS_NAMES,
  hwioToOihw,
  kerasVgg19Result,
  permuteInputChannels,
  vgg19Convs,
} from './vgg19';

export interface KerasReadOptions {
  file?: string;
  checkFinite?: boolean;
  /** Shrunken widths for tests; input channels come from the file. */
  spec?: VggSpec;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 files start with the signature at 0, 512, 1024, 2048, … (after a user block). */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[off + i] === b)) return true;
    if (off > 1 << 20) break;
  }
  return false;
}

type H5 = typeof import('h5wasm').default;
let h5Ready: Promise<{ h5: H5; FS: NonNullable<Awaited<H5['ready']>['FS']> }> | null = null;

/**
 * The HDF5 library prints its error stack (20-77 lines for a corrupt file) through the Emscripten
 * module's `out` / `err`, which h5wasm binds to console.log / console.error when the module is
 * created. Those are bound to these filters instead: while `h5Quiet` is set, the library's lines
 * are kept in `h5Lines` (the first one is quoted in our error) rather than printed.
 */
let h5Quiet = false;
const h5Lines: string[] = [];

/** Runs `f` with the HDF5 library's own printing captured; returns its result. */
function quietly<T>(f: () => T): T {
  h5Quiet = true;
  h5Lines.length = 0;
  try {
    return f();
  } finally {
    h5Quiet = false;
  }
}

/** Loads h5wasm once (about 4 MB of wasm), only when an HDF5 file is actually read. */
async function loadH5() {
  h5Ready ??= (async () => {
    const { log, error } = console;
    const filter = (print: (...a: unknown[]) => void) => (...a: unknown[]) => {
      if (!h5Quiet) print(...a);
      else if (h5Lines.length < 200) h5Lines.push(a.map(String).join(' '));
    };
    console.log = filter(log);
    console.error = filter(error);
    try {
      const mod = await import('h5wasm');
      const h5 = mod.default;
      const m = await h5.ready;
      return { h5, FS: m.FS! };
    } finally {
      // h5wasm kept its bound copies of the filters; everyone else gets the console back
      console.log = log;
      console.error = error;
    }
  })();
  return h5Ready;
}

/** The HDF5 library's innermost diagnostic (e.g. "bad superblock version number"), for our message. */
function h5Detail(): string {
  const line = h5Lines.filter((l) => /\): /.test(l)).pop(); // the innermost frame says what was wrong
  return line ? `; HDF5: ${line.replace(/^.*\): /, '').trim()}` : '';
}

let fileCounter = 0;

/** String attributes: h5py writes fixed-length, null-padded byte strings; trim the padding. */
function strings(v: unknown): string[] | null {
  const trim = (s: string): string => s.replace(/[\0 ]+$/, '');
  if (typeof v === 'string') return [trim(v)];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return (v as string[]).map(trim);
  if (v instanceof Uint8Array) return [trim(new TextDecoder().decode(v))];
  return null;
}

const isGroup = (e: unknown): e is Group => !!e && (e as Group).type === ('Group' as Group['type']);
const isDataset = (e: unknown): e is Dataset => !!e && (e as Dataset).type === ('Dataset' as Dataset['type']);

/** Breadth-first search for a group with basename `name` (bounded: hostile files may be deep). */
function findGroup(root: Group, name: string, maxDepth = 6, budget = { n: 20000 }): Group | null {
  let level: Group[] = [root];
  for (let depth = 0; depth < maxDepth && level.length; depth++) {
    const next: Group[] = [];
    for (const g of level) {
      for (const k of g.keys()) {
        if (--budget.n < 0) return null;
        const e = g.get(k);
        if (!isGroup(e)) continue;
        if (k === name) return e;
        next.push(e);
      }
    }
    level = next;
  }
  return null;
}

/** All datasets under a group, with paths relative to it (bounded). */
function datasetsUnder(g: Group, prefix = '', depth = 0, out: [string, Dataset][] = []): [string, Dataset][] {
  if (depth > 6 || out.length > 64) return out;
  for (const k of g.keys()) {
    const e = g.get(k);
    if (isDataset(e)) out.push([prefix + k, e]);
    else if (isGroup(e)) datasetsUnder(e, `${prefix}${k}/`, depth + 1, out);
  }
  return out;
}

function readFloat(d: Dataset, file: string, what: string): Float32Array {
  const md = d.metadata;
  if (md.type !== 1) throw new WeightFileError(`${file}: ${what} is not a floating-point dataset (HDF5 type class ${md.type})`, file, what);
  if (!md.littleEndian) throw new WeightFileError(`${file}: ${what} is big-endian; re-save it with h5py/Keras on a little-endian machine`, file, what);
  const v = d.value;
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array) return Float32Array.from(v);
  if (md.size === 2 && v instanceof Uint16Array) return Float32Array.from(v, f16ToF32);
  if (md.size === 2 && v instanceof Uint8Array && v.length % 2 === 0) {
    const u = new Uint16Array(v.slice().buffer);
    return Float32Array.from(u, f16ToF32);
  }
  throw new WeightFileError(`${file}: ${what} has an unsupported float type (${md.size} bytes)`, file, what);
}

/** Reads Keras VGG19 weights (HDF5 bytes) into canonical smp names. */
export async function readKerasH5(bytes: Uint8Array, opts: KerasReadOptions = {}): Promise<LoadedWeights> {
  const file = opts.file ?? 'Keras .h5 file';
  if (!isHdf5(bytes)) throw new WeightFileError(`${file}: not an HDF5 file (no HDF5 signature)`, file);
  const { h5, FS } = await loadH5();
  const path = `/osteo-keras-${++fileCounter}-${Math.random().toString(36).slice(2)}.h5`;
  FS.writeFile(path, bytes);
  let f: InstanceType<H5['File']> | null = null;
  try {
    try {
      const opened = quietly(() => new h5.File(path, 'r'));
      // h5wasm reports a failed open as a negative id rather than an exception.
      if (typeof opened.file_id !== 'bigint' || opened.file_id < 0n) throw new Error('not a readable HDF5 file');
      f = opened;
    } catch (e) {
      throw new WeightFileError(`${file}: the HDF5 library could not open it (${(e as Error).message ?? e}${h5Detail()}); corrupt or truncated file`, file);
    }
    const opened = f;
    try {
      return quietly(() => convert(opened, file, opts));
    } catch (e) {
      if (e instanceof WeightFileError) throw e;
      throw new WeightFileError(`${file}: could not read the HDF5 structure (${(e as Error).message ?? e}${h5Detail()}); corrupt or truncated file`, file);
    }
  } finally {
    try {
      if (f) quietly(() => f!.close());
    } catch {
      /* already broken */
    }
    try {
      FS.unlink(path);
    } catch {
      /* not there */
    }
  }
}

function convert(f: Group, file: string, opts: KerasReadOptions): LoadedWeights {
  let root: Group = f;
  const mw = f.keys().includes('model_weights') ? f.get('model_weights') : null;
  if (isGroup(mw)) root = mw;

  // Layer names from the attribute when present, else the groups found.
  let layerNames: string[] | null = null;
  const attr = root.attrs.layer_names;
  if (attr) {
    layerNames = strings(attr.value);
    if (!layerNames) throw new WeightFileError(`${file}: attribute layer_names is not a list of strings`, file);
  }

  const found: WeightMap = new Map();
  const unexpected: string[] = [];
  const convs = vgg19Convs({ ...opts.spec });
  let inputChannels = 3;
  let anyLayer = false;
  for (const conv of convs) {
    const g = root.keys().includes(conv.keras) ? (root.get(conv.keras) as Group) : findGroup(root, conv.keras);
    if (!isGroup(g)) continue;
    anyLayer = true;
    let dsets: [string, Dataset][];
    const wn = g.attrs.weight_names;
    if (wn) {
      const names = strings(wn.value);
      if (!names) throw new WeightFileError(`${file}: ${conv.keras}: attribute weight_names is not a list of strings`, file, conv.keras);
      dsets = names.map((n) => {
        const d = g.get(n);
        if (!isDataset(d)) throw new WeightFileError(`${file}: ${conv.keras}: weight_names lists ${n}, which is not a dataset in the file`, file, conv.keras);
        return [n, d] as [string, Dataset];
      });
    } else dsets = datasetsUnder(g);
    let kernel: [string, Dataset] | null = null;
    let bias: [string, Dataset] | null = null;
    for (const [n, d] of dsets) {
      const rank = d.shape?.length ?? -1;
      const slot = rank === 4 ? 'kernel' : rank === 1 ? 'bias' : null;
      if (!slot) {
        unexpected.push(`${conv.keras}/${n}`);
        continue;
      }
      if ((slot === 'kernel' ? kernel : bias) !== null)
        throw new WeightFileError(`${file}: ${conv.keras} has more than one ${slot} dataset (${n}); ambiguous`, file, conv.keras);
      if (slot === 'kernel') kernel = [n, d];
      else bias = [n, d];
    }
    const wName = `${conv.canonical}.weight`;
    const bName = `${conv.canonical}.bias`;
    if (kernel) {
      const shape = kernel[1].shape!;
      const [kh, kw, ci, co] = shape as [number, number, number, number];
      if (conv.layer === 0 && (ci === 1 || ci === 3) && kh === 3 && kw === 3) inputChannels = ci;
      const cin = conv.layer === 0 ? inputChannels : conv.inChannels;
      const want = [3, 3, cin, conv.outChannels];
      if (!sameShape(shape, want)) {
        if (sameShape(shape, [conv.outChannels, cin, 3, 3]))
          throw new WeightFileError(
            `${file}: ${conv.keras}/${kernel[0]} is ${shapeStr(shape)}: channels-first (Theano) kernel ordering; only TensorFlow-ordered (HWIO) weights are supported (use the *_tf_dim_ordering_tf_kernels* file)`,
            file,
            conv.keras,
          );
        found.set(wName, { shape: [co, ci, kh, kw], data: new Float32Array(0) }); // reported as mismatch; data never read
      } else {
        const raw = readFloat(kernel[1], file, `${conv.keras}/${kernel[0]}`);
        if (raw.length !== numel(shape)) throw new WeightFileError(`${file}: ${conv.keras}/${kernel[0]}: ${raw.length} values for shape ${shapeStr(shape)}`, file, conv.keras);
        if (opts.checkFinite ?? true) checkFinite(raw, file, `${conv.keras}/${kernel[0]}`);
        let { data, shape: oihw } = hwioToOihw(raw, shape);
        if (conv.layer === 0 && cin === 3) data = permuteInputChannels(data, oihw, BGR_TO_RGB);
        found.set(wName, { shape: oihw, data });
      }
    }
    if (bias) {
      const shape = bias[1].shape!;
      if (!sameShape(shape, [conv.outChannels])) found.set(bName, { shape: [...shape], data: new Float32Array(0) });
      else {
        const data = readFloat(bias[1], file, `${conv.keras}/${bias[0]}`);
        if (opts.checkFinite ?? true) checkFinite(data, file, `${conv.keras}/${bias[0]}`);
        found.set(bName, { shape: [...shape], data });
      }
    }
  }
  if (!anyLayer) {
    const keys = root.keys().slice(0, 10);
    throw new WeightFileError(
      `${file}: no VGG19 layers (block1_conv1 … block5_conv4) in this HDF5 file; top-level entries: [${keys.join(', ')}]. Expected Keras VGG19 weights (vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5)`,
      file,
    );
  }
  // Other layers that carry weights (e.g. fc1/fc2/predictions of the with-top file).
  const known = new Set<string>(VGG19_KERAS_NAMES);
  for (const name of new Set([...(layerNames ?? []), ...root.keys()])) {
    if (known.has(name) || !root.keys().includes(name)) continue;
    const g = root.get(name);
    // Containers of the VGG layers (Keras 3 `layers/`) are not extra layers.
    if (isGroup(g) && datasetsUnder(g).length > 0 && !VGG19_KERAS_NAMES.some((k) => findGroup(g, k, 3))) unexpected.push(name);
  }
  return kerasVgg19Result('keras-h5', found, unexpected, inputChannels, opts.spec);
}

/**
 * Fast image loading for training in Node: libvips (sharp) decodes JPEG and PNG and resizes to the
 * training working copy in the same pass, in worker threads, and a disk cache keeps each working
 * copy keyed by the file's content and the settings, so a second run starts at once.
 *
 * The training loop asks for images synchronously (src/train/prepare.ts), so the pool answers
 * synchronously too: jobs go to the workers ahead of the request (a bounded look-ahead), and the
 * main thread sleeps on an Atomics counter the workers bump, then takes the reply with
 * receiveMessageOnPort (the pattern of synckit). Measured on the 150 ISBI 2015 JPEGs: see
 * bench/results/decode-isbi.md.
 *
 * Anything the workers do not handle (other formats, images already small, sharp missing or
 * refusing a file) comes back as `fallback` and is decoded by the JavaScript decoders, which give
 * the specific DataError for a bad file.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { maxImagePixels } from '../data/image_limits';
import { DECODE_CACHE_VERSION } from './decode_cache';

/**
 * A working copy from a worker: min-max scaled grey pixels at `width` x `height`, from a `srcWidth` x `srcHeight` file.
 */
export interface WorkerImage {
  id: number;
  width: number;
  height: number;
  srcWidth: number;
  srcHeight: number;
  data: Float32Array;
  cached: boolean;
}
export interface WorkerFallback { id: number; fallback: string }
export type WorkerReply = WorkerImage | WorkerFallback;

/** Environment variable: number of decode workers (0: decode on the main thread with the JS decoders). */
export const DECODE_WORKERS_ENV = 'OSTEO_DECODE_WORKERS';

/** The worker, as CommonJS source run with `eval` (no separate file to ship next to the bundles). */
const WORKER_SOURCE = String.raw`
const { workerData, threadId } = require('node:worker_threads');
const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
const { port, signal, sharpPath, cacheDir, version } = workerData;
const sig = new Int32Array(signal);
let sharp, loadError = '';
try { sharp = require(sharpPath); sharp.concurrency(1); sharp.cache(false); } catch (e) { loadError = String((e && e.message) || e); }
const reply = (msg, transfer) => { port.postMessage(msg, transfer || []); Atomics.add(sig, 0, 1); Atomics.notify(sig, 0); };
const MAGIC = 'OSTEO-WORKING-COPY-1';
function readCache(file) {
  let b;
  try { b = fs.readFileSync(file); } catch { return undefined; }
  const nl1 = b.indexOf(10), nl2 = nl1 < 0 ? -1 : b.indexOf(10, nl1 + 1);
  if (nl2 < 0 || b.toString('latin1', 0, nl1) !== MAGIC) return undefined;
  let h;
  try { h = JSON.parse(b.toString('utf8', nl1 + 1, nl2)); } catch { return undefined; }
  const n = h.width * h.height, off = nl2 + 1;
  if (!(Number.isSafeInteger(n) && n > 0) || b.length !== off + 4 * n) return undefined; // corrupt: decoded again, rewritten
  const data = new Float32Array(n);
  new Uint8Array(data.buffer).set(b.subarray(off));
  for (let i = 0; i < n; i++) if (!(data[i] >= 0 && data[i] <= 1)) return undefined;
  try { const t = new Date(); fs.utimesSync(file, t, t); } catch {}
  return { width: h.width, height: h.height, srcWidth: h.srcWidth, srcHeight: h.srcHeight, data };
}
function writeCache(file, h, data) {
  const tmp = file + '.' + process.pid + '-' + threadId + '.tmp';
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC + '\n' + JSON.stringify(h) + '\n'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
    fs.renameSync(tmp, file);
  } catch { try { fs.unlinkSync(tmp); } catch {} }
}
function minmax(out) {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < out.length; i++) { const v = out[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
  const r = hi > lo ? 1 / (hi - lo) : 0;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, (out[i] - lo) * r));
}
async function resizeOnly(job) {
  // pixels decoded on the main thread (DICOM, TIFF…), min-max scaled to 16 bits there
  const W = job.width, H = job.height, s = job.target / Math.max(W, H);
  const w = Math.max(1, Math.round(W * s)), h = Math.max(1, Math.round(H * s));
  const { data } = await sharp(job.data, { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').resize(w, h, { fit: 'fill', kernel: 'linear' }).raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
  const out = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4).slice(0, w * h);
  minmax(out);
  reply({ id: job.id, cached: false, width: w, height: h, srcWidth: W, srcHeight: H, data: out }, [out.buffer]);
}
port.on('message', async (job) => {
  const id = job.id;
  try {
    if (!sharp) return reply({ id, fallback: 'sharp is not available: ' + loadError });
    if (job.kind === 'resize') return await resizeOnly(job);
    const bytes = fs.readFileSync(job.path);
    const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
    if (!jpeg && !png) return reply({ id, fallback: 'not a JPEG or PNG' });
    const key = crypto.createHash('sha256').update(bytes).update('\0' + version + '\0' + job.target).digest('hex');
    const file = cacheDir ? path.join(cacheDir, key.slice(0, 2), key + '.bin') : undefined;
    const hit = file ? readCache(file) : undefined;
    if (hit) return reply({ id, cached: true, ...hit }, [hit.data.buffer]);
    const img = sharp(bytes, { limitInputPixels: job.maxPixels, failOn: 'warning' });
    const meta = await img.metadata();
    const W = meta.width, H = meta.height, longer = Math.max(W, H);
    if (!(W > 0 && H > 0)) return reply({ id, fallback: 'no size' });
    if (longer <= job.target) return reply({ id, fallback: 'already small' });
    const s = job.target / longer, w = Math.max(1, Math.round(W * s)), h = Math.max(1, Math.round(H * s));
    // fill: each axis scaled on its own, as the training working copy (fitTransform 'stretch');
    // no shrink-on-load, whose DCT-domain downscale shifts the pixel grid
    const { data, info } = await img.removeAlpha().resize(w, h, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false }).raw({ depth: 'float' }).toBuffer({ resolveWithObject: true });
    const src = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4), c = info.channels;
    const out = new Float32Array(w * h);
    // Rec. 601 luma for colour, as the JS decoders
    for (let i = 0; i < out.length; i++) out[i] = c >= 3 ? 0.299 * src[c * i] + 0.587 * src[c * i + 1] + 0.114 * src[c * i + 2] : src[c * i];
    minmax(out);
    if (file) writeCache(file, { width: w, height: h, srcWidth: W, srcHeight: H }, out);
    reply({ id, cached: false, width: w, height: h, srcWidth: W, srcHeight: H, data: out }, [out.buffer]);
  } catch (e) {
    reply({ id, fallback: String((e && e.message) || e) });
  }
});
`;

/** How many workers: OSTEO_DECODE_WORKERS, else one per core (at most 8). */
export function decodeWorkerCount(): number {
  const env = process.env[DECODE_WORKERS_ENV];
  const n = env !== undefined && env.trim() !== '' ? Number(env) : NaN;
  if (Number.isInteger(n) && n >= 0) return Math.min(n, 32);
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Where sharp is, or undefined when it is not installed (the pool then hands every job back). */
function sharpPath(): string | undefined {
  try { return createRequire(import.meta.url).resolve('sharp'); } catch { return undefined; }
}

/** Worker threads that decode + resize jobs; `take` blocks the calling thread until a job's reply is in. */
export class DecodePool {
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly workers: { worker: Worker; port: MessagePort; busy: number }[] = [];
  private readonly replies = new Map<number, WorkerReply>();
  private readonly owner = new Map<number, number>();
  private readonly noSharp: boolean;

  constructor(readonly workerCount: number, readonly target: number, cacheDir: string | undefined) {
    const sp = sharpPath();
    this.noSharp = sp === undefined;
    if (this.noSharp) return;
    for (let i = 0; i < workerCount; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { port: port2, signal: this.signal.buffer, sharpPath: sp, cacheDir, version: DECODE_CACHE_VERSION },
        transferList: [port2],
      });
      worker.unref();
      this.workers.push({ worker, port: port1, busy: 0 });
    }
  }

  /** Queues a file on the least busy worker. */
  submit(id: number, path: string): void {
    if (this.noSharp || this.workers.length === 0) { this.replies.set(id, { id, fallback: 'sharp is not installed' }); return; }
    let k = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.busy < this.workers[k]!.busy) k = i;
    this.workers[k]!.busy++;
    this.owner.set(id, k);
    this.workers[k]!.port.postMessage({ id, path, target: this.target, maxPixels: maxImagePixels() });
  }

  private drain(): void {
    for (const w of this.workers) {
      for (let m = receiveMessageOnPort(w.port); m; m = receiveMessageOnPort(w.port)) {
        const r = m.message as WorkerReply;
        w.busy--;
        this.owner.delete(r.id);
        this.replies.set(r.id, r);
      }
    }
  }

  /** The reply to job `id` (submitted before), waiting for it; a fallback after `timeoutMs` without it. */
  take(id: number, timeoutMs = 120_000): WorkerReply {
    const t0 = Date.now();
    for (;;) {
      const seen = Atomics.load(this.signal, 0);
      this.drain();
      const r = this.replies.get(id);
      if (r) { this.replies.delete(id); return r; }
      const left = timeoutMs - (Date.now() - t0);
      if (left <= 0) return { id, fallback: `no reply from the decode worker in ${timeoutMs / 1000} s` };
      Atomics.wait(this.signal, 0, seen, Math.min(left, 1000));
    }
  }

  /**
   * Resizes an image decoded here to the working copy in a worker (libvips, as the decode path),
   * waiting for it: min-max scaled to 16 bits for the transfer. A fallback reply when the pool
   * has no sharp.
   */
  resizeSync(id: number, image: { width: number; height: number; data: Float32Array }): WorkerReply {
    if (this.noSharp || this.workers.length === 0) return { id, fallback: 'sharp is not installed' };
    let lo = Infinity, hi = -Infinity;
    for (const v of image.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const r = hi > lo ? 65535 / (hi - lo) : 0;
    const q = new Uint16Array(image.data.length);
    for (let i = 0; i < q.length; i++) q[i] = Math.round((image.data[i]! - lo) * r);
    let k = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.busy < this.workers[k]!.busy) k = i;
    this.workers[k]!.busy++;
    this.workers[k]!.port.postMessage({ id, kind: 'resize', width: image.width, height: image.height, data: q, target: this.target }, [q.buffer]);
    return this.take(id);
  }

  /** Drops a reply nobody will take (an item the training set left out). */
  discard(id: number): void {
    this.replies.delete(id);
  }

  /** Ends the workers. */
  close(): void {
    for (const w of this.workers) { w.port.close(); void w.worker.terminate(); }
    this.workers.length = 0;
  }
}

/**
 * JPEG-LS and JPEG 2000 DICOM for Node's synchronous readers (training and evaluation data sets):
 * the WASM codecs initialise asynchronously, so one worker thread holds them and the calling
 * thread waits for each frame on an Atomics counter (the pattern of src/node/decode_pool.ts).
 * Parsing, checks and the modality / MONOCHROME1 steps stay in src/data/dicom.ts; only the
 * compressed frame crosses to the worker.
 */
import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { dicomImageParts, encapsulatedFrame, toGrey, TRANSFER_SYNTAXES, WASM_SYNTAXES } from '../data/dicom';
import { DataError, type GreyImage } from '../data/types';

const CODECS = { jpegls: ['@cornerstonejs/codec-charls/wasmjs', 'JpegLSDecoder'], j2k: ['@cornerstonejs/codec-openjpeg/wasmjs', 'J2KDecoder'] } as const;

const WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
const { port, signal, paths } = workerData;
const sig = new Int32Array(signal);
const libs = {};
const reply = (msg, transfer) => { port.postMessage(msg, transfer || []); Atomics.add(sig, 0, 1); Atomics.notify(sig, 0); };
port.on('message', async ({ id, kind, cls, frame }) => {
  let dec;
  try {
    libs[kind] ??= require(paths[kind])();
    const lib = await libs[kind];
    dec = new lib[cls]();
    dec.getEncodedBuffer(frame.length).set(frame);
    try { dec.decode(); } catch (e) { return reply({ id, error: 'corrupt frame' + (e && e.message ? ': ' + e.message : '') }); }
    const fi = dec.getFrameInfo();
    const out = dec.getDecodedBuffer().slice();
    reply({ id, width: fi.width, height: fi.height, bitsPerSample: fi.bitsPerSample, componentCount: fi.componentCount, data: out }, [out.buffer]);
  } catch (e) {
    reply({ id, error: 'codec failed: ' + String((e && e.message) || e) });
  } finally {
    if (dec && dec.delete) dec.delete();
  }
});
`;

interface Reply { id: number; error?: string; width?: number; height?: number; bitsPerSample?: number; componentCount?: number; data?: Uint8Array }

let bridge: { worker: Worker; port: MessagePort; signal: Int32Array; next: number } | undefined;

function start(): NonNullable<typeof bridge> {
  if (bridge) return bridge;
  const req = createRequire(import.meta.url);
  const paths = Object.fromEntries(Object.entries(CODECS).map(([k, [spec]]) => {
    try { return [k, req.resolve(spec)]; } catch { return [k, spec]; }
  }));
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, signal: signal.buffer, paths }, transferList: [port2] });
  worker.unref();
  port1.unref();
  bridge = { worker, port: port1, signal, next: 0 };
  return bridge;
}

/** One compressed frame through the worker, waited for synchronously (60 s at most). */
function decodeFrameSync(kind: 'jpegls' | 'j2k', frame: Uint8Array, name: string): Required<Omit<Reply, 'error'>> {
  const b = start();
  const id = b.next++;
  b.port.postMessage({ id, kind, cls: CODECS[kind][1], frame }, []);
  const t0 = Date.now();
  for (;;) {
    const seen = Atomics.load(b.signal, 0);
    for (let m = receiveMessageOnPort(b.port); m; m = receiveMessageOnPort(b.port)) {
      const r = m.message as Reply;
      if (r.id !== id) continue; // a reply to a call that timed out
      if (r.error) throw new DataError(name, undefined, `DICOM ${TRANSFER_SYNTAXES[Object.keys(WASM_SYNTAXES).find((k) => WASM_SYNTAXES[k] === kind)!]}: ${r.error}`);
      return r as Required<Omit<Reply, 'error'>>;
    }
    if (Date.now() - t0 > 60_000) throw new DataError(name, undefined, 'DICOM codec worker gave no answer in 60 s');
    Atomics.wait(b.signal, 0, seen, 1000);
  }
}

/** Decodes a JPEG-LS or JPEG 2000 DICOM synchronously (first frame). */
export function decodeDicomWasmSync(bytes: Uint8Array, name: string): GreyImage {
  const { ds, el, info } = dicomImageParts(bytes, name);
  const kind = WASM_SYNTAXES[info.transferSyntax];
  if (!kind) throw new DataError(name, undefined, `not a JPEG-LS or JPEG 2000 DICOM (${info.transferSyntax})`);
  const what = TRANSFER_SYNTAXES[info.transferSyntax];
  const r = decodeFrameSync(kind, encapsulatedFrame(ds, el, info, name), name);
  if (r.width !== info.width || r.height !== info.height || r.componentCount !== 1) {
    throw new DataError(name, undefined, `corrupt DICOM: ${what} frame is ${r.width}x${r.height} with ${r.componentCount} component(s); the header says ${info.width}x${info.height} grey`);
  }
  const n = info.width * info.height;
  const bytesPer = r.bitsPerSample > 8 ? 2 : 1;
  if (r.data.length < n * bytesPer) throw new DataError(name, undefined, `truncated DICOM ${what} frame: ${r.data.length} bytes for ${n} pixels`);
  return toGrey(bytesPer === 2 ? new Uint16Array(r.data.buffer, r.data.byteOffset, n) : r.data.subarray(0, n), info);
}

/**
 * Browser image decoding: any format the browser decodes (PNG, JPEG, BMP, WebP…) through
 * createImageBitmap + OffscreenCanvas, to the same grey image as the Node decoder (Rec. 601 luma
 * of 8-bit RGB; non-interlaced 16-bit PNGs are decoded here, since canvases are 8-bit). DICOM, TIFF and
 * MetaImage, which browsers do not decode, are sniffed by their magic numbers and decoded by the
 * host-neutral decoders of src/data, loaded on first use (a dynamic import), in a module worker
 * when the library was loaded from its own file.
 */
import { SNIFF_BYTES, sniffFormat } from './formats';
import { checkImageSize } from './image_limits';
import { decodePng16, isPng16 } from './png16';
import { DataError, type GreyImage } from './types';

/** A PNG's size from its IHDR (the browser decodes the rest): checked before the browser decodes. */
function pngHeaderSize(b: Uint8Array): { width: number; height: number } | undefined {
  if (b.length < 24 || b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/**
 * Decodes PNG / JPEG / BMP / WebP (by the browser) or DICOM / TIFF / MetaImage (by osteo's
 * decoders, with the file's pixel spacing) bytes or a Blob to grey pixels (size-checked before decoding).
 */
export async function decodeImageBrowser(source: Blob | ArrayBuffer | Uint8Array, name = 'image'): Promise<GreyImage> {
  const head = source instanceof Blob ? new Uint8Array(await source.slice(0, SNIFF_BYTES).arrayBuffer()) : new Uint8Array(source instanceof Uint8Array ? source.subarray(0, SNIFF_BYTES) : source.slice(0, SNIFF_BYTES));
  const format = sniffFormat(head);
  const own = format === 'dicom' || format === 'tiff' || format === 'metaimage';
  if (own || isPng16(head)) {
    const bytes = source instanceof Blob ? new Uint8Array(await source.arrayBuffer()) : source instanceof Uint8Array ? source : new Uint8Array(source);
    const off = await decodeInWorker(bytes, name);
    if (off) return off;
    if (!own) return decodePng16(bytes, name); // a canvas would keep only the high byte of each sample
    const { decodeMedical } = await import('./decode_medical');
    return decodeMedical(bytes, name, format);
  }
  const png = pngHeaderSize(head);
  if (png) checkImageSize(png.width, png.height, name, 'PNG');
  const blob = source instanceof Blob ? source : new Blob([source instanceof Uint8Array ? source.slice() : source]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new DataError(name, undefined, `cannot decode image: ${(e as Error).message}`);
  }
  const { width, height } = bitmap;
  try { checkImageSize(width, height, name, 'image'); } catch (e) { bitmap.close(); throw e; }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new DataError(name, undefined, 'no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!;
  return { width, height, data, bitDepth: 8 };
}

// ------------------------------------------------------------------------------ decode worker

type WorkerReply = { id: number; img?: GreyImage; error?: { message: string; dataError: boolean } };
let worker: Worker | null | undefined;
let nextId = 0;
const pending = new Map<number, (r: WorkerReply | undefined) => void>();

/**
 * One module worker per page that runs this same decoder off the main thread, made only when this
 * code was loaded from its own file (dist/osteo.browser.js: the worker imports it by URL). Inside
 * a bundle of its own (the web app's), in a worker, or where module workers fail, it is null and
 * the decoding stays on the calling thread.
 */
function decodeWorker(): Worker | null {
  if (worker !== undefined) return worker;
  worker = null;
  try {
    const url = import.meta.url;
    if (typeof Worker === 'undefined' || typeof document === 'undefined' || !/\/osteo\.browser\.js([?#].*)?$/.test(url)) return null;
    const src = `import { decodeImage } from ${JSON.stringify(url)};
self.onmessage = async (e) => {
  const { id, bytes, name } = e.data;
  try { const img = await decodeImage(bytes, name); self.postMessage({ id, img }, [img.data.buffer]); }
  catch (err) { self.postMessage({ id, error: { message: String((err && err.message) || err), dataError: !!err && err.name !== 'TypeError' && 'file' in err } }); }
};`;
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    w.onmessage = (e: MessageEvent<WorkerReply>) => { pending.get(e.data.id)?.(e.data); pending.delete(e.data.id); };
    // a worker that cannot start (CSP, no module workers): everything pending decodes here instead
    w.onerror = () => { worker = null; for (const done of pending.values()) done(undefined); pending.clear(); };
    worker = w;
  } catch {
    worker = null;
  }
  return worker;
}

/** The image decoded in the worker, or undefined when there is none (the caller decodes). */
async function decodeInWorker(bytes: Uint8Array, name: string): Promise<GreyImage | undefined> {
  const w = decodeWorker();
  if (!w) return undefined;
  const id = nextId++;
  const r = await new Promise<WorkerReply | undefined>((resolve) => {
    pending.set(id, resolve);
    w.postMessage({ id, bytes, name });
  });
  if (!r) return undefined;
  if (r.error) {
    const m = r.error.message;
    throw r.error.dataError ? new DataError(name, undefined, m.startsWith(`${name}: `) ? m.slice(name.length + 2) : m) : new Error(m);
  }
  return r.img;
}

/** Fetches an image URL and decodes it to grey pixels. */
export async function fetchImage(url: string): Promise<GreyImage> {
  const res = await fetch(url);
  if (!res.ok) throw new DataError(url, undefined, `HTTP ${res.status}`);
  return decodeImageBrowser(await res.blob(), url);
}

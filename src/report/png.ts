/**
 * RGBA → PNG bytes → data URI, host-neutral (zlib by fflate, which the image decoders use too).
 * Used to put the worst-case overlays inline in the self-contained HTML report.
 */
import { zlibSync } from 'fflate';
import { crc32 } from '../data/crc32';
import type { Rgba } from '../landmarks/draw';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** An RGBA image as PNG bytes (8-bit RGBA, filter 0 on every row). */
export async function encodePngBytes(img: Rgba): Promise<Uint8Array> {
  const { width: w, height: h } = img;
  const raw = new Uint8Array(h * (4 * w + 1));
  for (let y = 0; y < h; y++) raw.set(img.data.subarray(y * 4 * w, (y + 1) * 4 * w), y * (4 * w + 1) + 1);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr[8] = 8; ihdr[9] = 6;
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlibSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Base64 of bytes (btoa exists in browsers and Node ≥ 16). */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export const pngDataUri = async (img: Rgba): Promise<string> => `data:image/png;base64,${base64(await encodePngBytes(img))}`;

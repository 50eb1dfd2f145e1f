/**
 * 16-bit PNG to grey pixels (browser-safe). Browsers decode PNGs through 8-bit canvases, which
 * would throw away the low byte of a 16-bit X-ray; this reads non-interlaced 16-bit PNGs itself
 * (grey, grey + alpha, RGB, RGBA; alpha ignored, colour to Rec. 601 luma), with fflate's inflate
 * bounded to the size the header implies. Other PNGs are left to the browser.
 */
import { Inflate } from 'fflate';
import { checkImageSize } from './image_limits';
import { DataError, type GreyImage } from './types';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** True for a non-interlaced 16-bit grey / RGB (± alpha) PNG: the ones a canvas would cut to 8 bits. */
export function isPng16(b: Uint8Array): boolean {
  return b.length >= 29 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 &&
    String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) === 'IHDR' && b[24] === 16 && CHANNELS[b[25]!] !== undefined && b[28] === 0;
}

export function decodePng16(b: Uint8Array, name: string): GreyImage {
  if (!isPng16(b)) throw new DataError(name, undefined, 'not a non-interlaced 16-bit PNG');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = dv.getUint32(16), height = dv.getUint32(20), colorType = b[25]!;
  checkImageSize(width, height, name, 'PNG');
  const ch = CHANNELS[colorType]!;
  const bpp = 2 * ch; // bytes per pixel
  const stride = width * bpp;
  const need = height * (1 + stride);
  const raw = new Uint8Array(need);
  let o = 0;
  const inf = new Inflate((d) => { const k = Math.min(d.length, need - o); raw.set(d.subarray(0, k), o); o += k; });
  const parts: Uint8Array[] = [];
  let off = 8;
  for (;;) {
    if (off + 12 > b.length) throw new DataError(name, undefined, 'truncated PNG: no IEND chunk');
    const len = dv.getUint32(off);
    const type = String.fromCharCode(b[off + 4]!, b[off + 5]!, b[off + 6]!, b[off + 7]!);
    if (off + 12 + len > b.length) throw new DataError(name, undefined, `truncated PNG: ${type} chunk at byte ${off} needs ${len} bytes`);
    if (type === 'IDAT') parts.push(b.subarray(off + 8, off + 8 + len));
    if (type === 'IEND') break;
    off += 12 + len;
  }
  const idat = parts.length > 0;
  const z = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => { z.set(p, at); return at + p.length; }, 0);
  try {
    // a zlib stream: its 2-byte header skipped, the rest is raw deflate (the Adler-32 trailer is ignored)
    for (let i = 2; i < z.length && o < need; i += 65536) inf.push(z.subarray(i, i + 65536), i + 65536 >= z.length);
  } catch (e) {
    throw new DataError(name, undefined, `corrupt PNG: image data does not inflate (${(e as Error).message})`);
  }
  if (!idat) throw new DataError(name, undefined, 'corrupt PNG: no image data (IDAT)');
  if (o < need) throw new DataError(name, undefined, `corrupt or truncated PNG: image data inflates to ${o} bytes, a ${width}x${height} image needs ${need}`);
  // unfilter in place (PNG spec 9.2: None, Sub, Up, Average, Paeth), row by row
  for (let y = 0; y < height; y++) {
    const r = y * (1 + stride), f = raw[r]!, cur = r + 1, prev = cur - 1 - stride;
    if (f > 4) throw new DataError(name, undefined, `corrupt PNG: filter type ${f} in row ${y + 1}`);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? raw[cur + i - bpp]! : 0;
      const up = y > 0 ? raw[prev + i]! : 0;
      const c = y > 0 && i >= bpp ? raw[prev + i - bpp]! : 0;
      let p = 0;
      if (f === 1) p = a;
      else if (f === 2) p = up;
      else if (f === 3) p = (a + up) >> 1;
      else if (f === 4) { const pa = Math.abs(up - c), pb = Math.abs(a - c), pc = Math.abs(a + up - 2 * c); p = pa <= pb && pa <= pc ? a : pb <= pc ? up : c; }
      raw[cur + i] = (raw[cur + i]! + p) & 0xff;
    }
  }
  const out = new Float32Array(width * height);
  const sample = (p: number): number => (raw[p]! << 8) | raw[p + 1]!;
  for (let y = 0; y < height; y++) {
    const r = y * (1 + stride) + 1;
    for (let x = 0; x < width; x++) {
      const p = r + x * bpp;
      out[y * width + x] = ch >= 3 ? 0.299 * sample(p) + 0.587 * sample(p + 2) + 0.114 * sample(p + 4) : sample(p);
    }
  }
  return { width, height, data: out, bitDepth: 16 };
}

/** Test-only encoders that produce exact PNG (any colour type / depth) and BMP files. */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../src/node/data_zip';

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** samples: row-major, `channels` per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA, 1 palette index). */
export function encodePngRaw(w: number, h: number, samples: ArrayLike<number>, colorType: 0 | 2 | 3 | 4 | 6, depth: 1 | 2 | 4 | 8 | 16, palette?: [number, number, number][]): Buffer {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const rowBytes = Math.ceil((w * channels * depth) / 8);
  const raw = Buffer.alloc(h * (rowBytes + 1));
  for (let y = 0; y < h; y++) {
    const o = y * (rowBytes + 1) + 1;
    if (depth === 16) {
      for (let i = 0; i < w * channels; i++) raw.writeUInt16BE(samples[y * w * channels + i]!, o + 2 * i);
    } else if (depth === 8) {
      for (let i = 0; i < w * channels; i++) raw[o + i] = samples[y * w * channels + i]!;
    } else {
      for (let i = 0; i < w * channels; i++) {
        const bit = i * depth;
        raw[o + (bit >> 3)]! |= samples[y * w * channels + i]! << (8 - depth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = depth; ihdr[9] = colorType;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (palette) parts.push(chunk('PLTE', Uint8Array.from(palette.flat())));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** BMP: bpp 8 (palette; `pix` are indices) or 24 (`pix` are [r,g,b] triplets flattened). */
export function encodeBmp(w: number, h: number, pix: ArrayLike<number>, bpp: 1 | 4 | 8 | 24, palette?: [number, number, number][], topDown = false): Buffer {
  const stride = Math.floor((bpp * w + 31) / 32) * 4;
  const palBytes = bpp <= 8 ? 4 * palette!.length : 0;
  const off = 14 + 40 + palBytes;
  const b = Buffer.alloc(off + stride * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2); b.writeUInt32LE(off, 10);
  b.writeUInt32LE(40, 14); b.writeInt32LE(w, 18); b.writeInt32LE(topDown ? -h : h, 22);
  b.writeUInt16LE(1, 26); b.writeUInt16LE(bpp, 28); b.writeUInt32LE(0, 30); b.writeUInt32LE(stride * h, 34);
  b.writeUInt32LE(bpp <= 8 ? palette!.length : 0, 46);
  palette?.forEach(([r, g, bl], i) => { b[54 + 4 * i] = bl; b[55 + 4 * i] = g; b[56 + 4 * i] = r; });
  for (let y = 0; y < h; y++) {
    const row = off + (topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      if (bpp === 24) {
        const p = 3 * (y * w + x);
        b[row + 3 * x] = pix[p + 2]!; b[row + 3 * x + 1] = pix[p + 1]!; b[row + 3 * x + 2] = pix[p]!;
      } else {
        const bit = x * bpp;
        b[row + (bit >> 3)]! |= pix[y * w + x]! << (8 - bpp - (bit & 7));
      }
    }
  }
  return b;
}

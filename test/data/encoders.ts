/** Test-only encoders that produce exact PNG (any colour type / depth) and BMP files. */
import { deflateRawSync, deflateSync } from 'node:zlib';
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

/**
 * A zip archive (PKZIP 2.0: stored or deflated entries, no zip64). A name ending in '/' with no
 * data is a directory entry. Made here so the zip reader is tested on archives the tests write.
 */
export function encodeZip(entries: { name: string; data?: Uint8Array; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const raw = Buffer.from(e.data ?? new Uint8Array(0));
    const method = e.deflate && raw.length ? 8 : 0;
    const body = method === 8 ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(body.length, 18); local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(body.length, 20); central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28); central.writeUInt32LE(e.name.endsWith('/') ? 0x10 : 0, 38); central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

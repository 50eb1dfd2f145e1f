/**
 * A small ZIP reader (central directory; stored and deflated entries via zlib.inflateRawSync;
 * CRC-32 checked). No ZIP64, no encryption, no multi-disk archives: those throw a DataError.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { DataError } from '../data/types';
import { crc32 } from '../data/crc32';
export { crc32 };

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
  isDirectory: boolean;
}

export interface ZipArchive {
  path: string;
  entries: ZipEntry[];
  has(name: string): boolean;
  read(name: string): Buffer;
  readText(name: string): string;
}

export function readZip(path: string): ZipArchive {
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) {
    throw new DataError(path, undefined, `cannot read zip: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return openZip(buf, path);
}

export function openZip(buf: Buffer, path: string): ZipArchive {
  const fail = (what: string): never => { throw new DataError(path, undefined, `zip: ${what}`); };
  // End of central directory: 22 bytes + a comment of up to 65535 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) fail('no end-of-central-directory record (not a zip, or truncated)');
  if (buf.readUInt16LE(eocd + 4) !== 0 || buf.readUInt16LE(eocd + 6) !== 0) fail('multi-disk archives are not supported');
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) fail('ZIP64 is not supported');
  if (cdOffset + cdSize > eocd) fail('central directory lies outside the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) fail(`bad central directory entry ${i}`);
    const flags = buf.readUInt16LE(p + 8);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    if (flags & 1) fail(`${name}: encrypted entries are not supported`);
    entries.push({
      name,
      method: buf.readUInt16LE(p + 10),
      crc32: buf.readUInt32LE(p + 16),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localHeaderOffset: buf.readUInt32LE(p + 42),
      isDirectory: name.endsWith('/'),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const read = (name: string): Buffer => {
    const e = byName.get(name);
    if (!e) return fail(`no entry '${name}'`);
    const o = e.localHeaderOffset;
    if (o + 30 > buf.length || buf.readUInt32LE(o) !== 0x04034b50) fail(`${name}: bad local header`);
    const start = o + 30 + buf.readUInt16LE(o + 26) + buf.readUInt16LE(o + 28);
    if (start + e.compressedSize > buf.length) fail(`${name}: data runs past the end of the file`);
    const raw = buf.subarray(start, start + e.compressedSize);
    let out: Buffer;
    if (e.method === 0) out = Buffer.from(raw);
    else if (e.method === 8) {
      try { out = inflateRawSync(raw); } catch (err) { return fail(`${name}: inflate failed: ${(err as Error).message}`); }
    } else return fail(`${name}: compression method ${e.method} is not supported`);
    if (out.length !== e.size) fail(`${name}: size ${out.length}, directory says ${e.size}`);
    if (crc32(out) !== e.crc32) fail(`${name}: CRC mismatch`);
    return out;
  };
  return { path, entries, has: (n) => byName.has(n), read, readText: (n) => read(n).toString('utf8') };
}

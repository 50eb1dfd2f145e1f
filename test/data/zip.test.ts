import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/types';
import { crc32, openZip, readZip } from '../../src/node/data_zip';
import { itShared, SHARED_DATA } from '../helpers/shared_data';
import { encodeZip } from './encoders';

const dir = mkdtempSync(join(tmpdir(), 'osteo-zip-'));
const label = (i: number) => `6\n${Array.from({ length: 6 }, (_, j) => `${(0.1 * j + 0.01 * i).toFixed(4)} ${(0.5 + 0.01 * j).toFixed(4)}`).join('\n')}\n`;

/** A generated archive laid out like the chest label zip: two directories, deflated and stored text files. */
function labelZip(n: number): Buffer {
  return encodeZip([
    { name: 'chest/' },
    { name: 'chest/labels/' },
    ...Array.from({ length: n }, (_, i) => ({ name: `chest/labels/CHNCXR_${String(i + 1).padStart(4, '0')}_0.txt`, data: Buffer.from(label(i)), deflate: i % 3 !== 0 })),
  ]);
}

describe('zip reader', () => {
  it('lists and inflates a generated archive (stored and deflated entries, directories)', () => {
    const p = join(dir, 'labels.zip');
    writeFileSync(p, labelZip(12));
    const z = readZip(p);
    expect(z.entries.length).toBe(14);
    expect(z.entries.filter((e) => e.isDirectory).map((e) => e.name)).toEqual(['chest/', 'chest/labels/']);
    const txt = z.entries.filter((e) => e.name.endsWith('.txt'));
    expect(txt.length).toBe(12);
    txt.forEach((e, i) => expect(z.readText(e.name)).toBe(label(i)));
    for (const e of txt) expect(z.read(e.name).length).toBe(e.size);
  });
  itShared('lists and inflates the real chest label zip', () => {
    const z = readZip(join(SHARED_DATA, 'shenzhen-chest/chest_labels.zip'));
    expect(z.entries.length).toBe(281);
    const txt = z.entries.filter((e) => e.name.endsWith('.txt'));
    expect(txt.length).toBe(279);
    expect(z.entries.filter((e) => e.isDirectory).map((e) => e.name)).toEqual(['chest/', 'chest/labels/']);
    expect(z.readText('chest/labels/CHNCXR_0001_0.txt')).toBe(
      '6\n0.41625 0.14375\n0.148125 0.798125\n0.4075 0.59875\n0.63 0.12875\n0.891875 0.7825\n0.7625 0.685\n');
    for (const e of txt) expect(z.read(e.name).length).toBe(e.size);
  });
  it('crc32 matches the known value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
  it('truncated or damaged archives → DataError naming the file', () => {
    const buf = labelZip(8);
    const p = join(dir, 'cut.zip');
    writeFileSync(p, buf.subarray(0, buf.length - 100));
    expect(() => readZip(p)).toThrow(DataError);
    expect(() => readZip(p)).toThrow(p);
    const z = openZip(Buffer.from(buf), 'x.zip');
    const e = z.entries.find((x) => x.name === 'chest/labels/CHNCXR_0002_0.txt')!;
    const bad = Buffer.from(buf);
    const start = e.localHeaderOffset + 30 + buf.readUInt16LE(e.localHeaderOffset + 26) + buf.readUInt16LE(e.localHeaderOffset + 28);
    bad[start + 5] ^= 0x55;
    expect(() => openZip(bad, 'bad.zip').read(e.name)).toThrow(/bad\.zip: zip: .*CHNCXR_0002_0\.txt/);
    expect(() => z.read('nope.txt')).toThrow(DataError);
    expect(readFileSync(p).length).toBe(buf.length - 100);
  });
});

/**
 * The fast Node loader (worker threads + libvips + disk cache) against the JS path it replaces:
 * same working-copy geometry (points and the map back to original pixels), close pixels, the
 * same skipped-and-counted errors, cache hits on a second run, corrupt cache entries rewritten,
 * and a cache that stays under its bound.
 */
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync, truncateSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { DataError, type LandmarkDataset, type LandmarkItem, type Point } from '../../src/data/types';
import { applyAffine } from '../../src/landmarks/preprocess';
import { readImage } from '../../src/node/data_image';
import { pruneDecodeCache } from '../../src/node/decode_cache';
import { prepareDataFast } from '../../src/node/decode_prepare';
import { prepareData } from '../../src/train/prepare';
import { encodePngRaw } from './encoders';
import { writeDicom } from './dicom_writer';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

/** A W x H grey X-ray stand-in: a smooth gradient and a bright disc at `spot`. */
function picture(w: number, h: number, spot: Point): Uint8Array {
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const d = Math.hypot(x - spot[0], y - spot[1]);
    px[y * w + x] = d < 12 ? 250 : Math.round(30 + (60 * x) / w + (40 * y) / h);
  }
  return px;
}

function dataset(dir: string, n: number, opts: { jpeg?: boolean; dicom?: boolean; broken?: number } = {}): LandmarkDataset {
  const items: LandmarkItem[] = [];
  for (let i = 0; i < n; i++) {
    const w = 500 + 37 * i, h = 420 + 11 * i;
    const spot: Point = [100 + 13 * i, 200 + 7 * i];
    const px = picture(w, h, spot);
    let bytes: Uint8Array;
    if (opts.dicom) bytes = writeDicom({ width: w, height: h, pixels: Array.from(px, (v) => v * 16), bitsStored: 12, photometric: 'MONOCHROME1' });
    else if (opts.jpeg) {
      const rgba = new Uint8Array(4 * w * h);
      for (let k = 0; k < w * h; k++) { rgba.fill(px[k]!, 4 * k, 4 * k + 3); rgba[4 * k + 3] = 255; }
      bytes = jpeg.encode({ data: rgba, width: w, height: h }, 95).data;
    } else bytes = encodePngRaw(w, h, px, 0, 8);
    if (opts.broken === i) bytes = bytes.subarray(0, Math.floor(bytes.length / 2));
    const path = join(dir, `${i}.${opts.dicom ? 'dcm' : opts.jpeg ? 'jpg' : 'png'}`);
    writeFileSync(path, bytes);
    items.push({ id: String(i), imagePath: path, points: [spot, [w - 1, h - 1]], width: w, height: h, mmPerPixel: 0.1 });
  }
  return { name: 't', k: 2, items, unit: 'mm', report: { skipped: 0, errors: [], missingImages: 0, notes: [] } };
}

const SIZE = 128; // working copies at ≤ 192 px

describe('fast loader (worker threads + sharp + cache)', () => {
  for (const fmt of ['png', 'jpeg'] as const) {
    it(`${fmt}: same working-copy geometry as the JS path, pixels within a few percent`, () => {
      const ds = dataset(tmp('osteo-fast-'), 4, { jpeg: fmt === 'jpeg' });
      const slow = prepareData('t', ds, { size: SIZE }, (it) => readImage(it.imagePath));
      const fast = prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir: null });
      expect(fast.loadStats).toMatchObject({ decoded: 4, cached: 0, fallback: 0 });
      for (let i = 0; i < 4; i++) {
        const a = slow.set.images[i]!, b = fast.set.images[i]!;
        expect([b.width, b.height]).toEqual([a.width, a.height]);
        expect(Math.max(b.width, b.height)).toBe(Math.ceil(1.5 * SIZE));
        const pa = slow.set.points[i]!, pb = fast.set.points[i]!;
        pb.forEach((p, k) => { expect(p[0]).toBeCloseTo(pa[k]![0], 9); expect(p[1]).toBeCloseTo(pa[k]![1], 9); });
        // the map back to original pixels recovers the labelled points
        ds.items[i]!.points.forEach((p, k) => {
          const q = applyAffine(fast.set.toOriginal![i]!, pb[k]!);
          expect(q[0]).toBeCloseTo(p[0], 6); expect(q[1]).toBeCloseTo(p[1], 6);
        });
        let diff = 0;
        for (let j = 0; j < a.data.length; j++) diff += Math.abs(a.data[j]! - b.data[j]!);
        expect(diff / a.data.length).toBeLessThan(0.03);
        // the bright disc sits where the mapped point says, in the fast copy too
        const [sx, sy] = pb[0]!.map(Math.round) as [number, number];
        expect(b.data[sy * b.width + sx]!).toBeGreaterThan(0.9);
      }
    });
  }

  it('DICOM: decoded on this thread, resized in a worker; same geometry as the JS path', () => {
    const ds = dataset(tmp('osteo-fast-'), 3, { dicom: true });
    const slow = prepareData('t', ds, { size: SIZE }, (it) => readImage(it.imagePath));
    const fast = prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir: null });
    expect(fast.loadStats).toMatchObject({ decoded: 0, fallback: 3, resizedOnly: 3 });
    for (let i = 0; i < 3; i++) {
      const a = slow.set.images[i]!, b = fast.set.images[i]!;
      expect([b.width, b.height]).toEqual([a.width, a.height]);
      fast.set.points[i]!.forEach((p, k) => { expect(p[0]).toBeCloseTo(slow.set.points[i]![k]![0], 9); expect(p[1]).toBeCloseTo(slow.set.points[i]![k]![1], 9); });
      let diff = 0;
      for (let j = 0; j < a.data.length; j++) diff += Math.abs(a.data[j]! - b.data[j]!);
      expect(diff / a.data.length).toBeLessThan(0.03);
    }
  });

  it('a second run reads every working copy from the cache; a corrupt entry is decoded again and rewritten', () => {
    const dir = tmp('osteo-fast-'), cacheDir = tmp('osteo-cache-');
    const ds = dataset(dir, 3);
    const first = prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir });
    expect(first.loadStats).toMatchObject({ decoded: 3, cached: 0 });
    const second = prepareDataFast('t', ds, { size: SIZE }, { workers: 1, cacheDir });
    expect(second.loadStats).toMatchObject({ decoded: 0, cached: 3 });
    for (let i = 0; i < 3; i++) expect(Array.from(second.set.images[i]!.data)).toEqual(Array.from(first.set.images[i]!.data));
    const entries = readdirSync(cacheDir).flatMap((d) => readdirSync(join(cacheDir, d)).map((f) => join(cacheDir, d, f)));
    expect(entries.length).toBe(3);
    truncateSync(entries[0]!, statSync(entries[0]!).size - 8);
    const third = prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir });
    expect(third.loadStats).toMatchObject({ decoded: 1, cached: 2 });
    expect(prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir }).loadStats).toMatchObject({ decoded: 0, cached: 3 });
    // another working-copy size is another key
    expect(prepareDataFast('t', ds, { size: 96 }, { workers: 2, cacheDir }).loadStats).toMatchObject({ decoded: 3, cached: 0 });
  });

  it('a truncated file falls back to the JS decoder: skipped and counted with its specific error, or thrown with strict', () => {
    const ds = dataset(tmp('osteo-fast-'), 3, { jpeg: true, broken: 1 });
    const fast = prepareDataFast('t', ds, { size: SIZE }, { workers: 2, cacheDir: null });
    expect(fast.set.ids).toEqual(['0', '2']);
    expect(fast.skipped).toBe(1);
    expect(fast.errors[0]).toMatch(/1\.jpg: truncated JPEG/);
    expect(fast.loadStats.fallback).toBe(1);
    expect(() => prepareDataFast('t', ds, { size: SIZE, strict: true }, { workers: 2, cacheDir: null })).toThrow(DataError);
  });

  it('workers: 0 is the JS path', () => {
    const ds = dataset(tmp('osteo-fast-'), 2);
    const r = prepareDataFast('t', ds, { size: SIZE }, { workers: 0 });
    expect(r.loadStats).toMatchObject({ decoded: 0, cached: 0, fallback: 2 });
    expect(r.set.toOriginal![0]).toBeDefined();
  });

  it('the cache is pruned to its bound, least recently used first', () => {
    const dir = tmp('osteo-prune-');
    const sub = join(dir, 'ab');
    mkdirSync(sub);
    for (let i = 0; i < 5; i++) {
      const p = join(sub, `${i}.bin`);
      writeFileSync(p, new Uint8Array(1000));
      utimesSync(p, new Date(1e12 + i * 1e6), new Date(1e12 + i * 1e6));
    }
    const r = pruneDecodeCache(dir, 2500);
    expect(r.removed).toBe(3);
    expect(readdirSync(sub).sort()).toEqual(['3.bin', '4.bin']);
  });
});

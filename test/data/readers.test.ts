import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDatasetSpec, parseImageCsv, parseIsbiAnnotation, wristMmPerPixel } from '../../src/data/datasets';
import { DataError } from '../../src/data/types';
import { readChest, readDataset, readGeneric, readHand, readIsbi2015, loadItemImage } from '../../src/node/data_readers';
import { readZip } from '../../src/node/data_zip';
import { itShared, SHARED_DATA as DATA } from '../helpers/shared_data';
import { encodeBmp, encodePngRaw, encodeZip } from './encoders';

const tmp = () => mkdtempSync(join(tmpdir(), 'osteo-read-'));
const firstLine = (p: string) => readFileSync(p, 'utf8').split('\n')[0]!;

describe('ISBI 2015', () => {
  const root = join(DATA, 'isbi2015-ceph-train');
  itShared('reads the JPEG + 400_senior re-save', () => {
    const ds = readIsbi2015(root);
    expect(ds.items.length).toBe(150);
    expect(ds.k).toBe(19);
    expect(ds.unit).toBe('mm');
    expect(ds.landmarkNames![0]).toBe('S');
    expect(ds.report!.skipped).toBe(0);
    expect(ds.report!.notes.join()).toContain('senior only');
    expect(ds.splits!.train.length).toBe(150);
    expect(ds.splits!.test1).toEqual([]);
    const it0 = ds.items[0]!;
    expect(it0.id).toBe('001');
    expect(it0.mmPerPixel).toBe(0.1);
    expect([it0.width, it0.height]).toEqual([1935, 2400]);
    const [x, y] = firstLine(join(root, '400_senior/001.txt')).split(',').map(Number);
    expect(it0.points[0]).toEqual([x, y]);
    expect(it0.points[0]).toEqual([835, 996]);
    const last = ds.items[149]!;
    expect(last.id).toBe('150');
  });
  itShared('train_senior.csv agrees with the .txt files', () => {
    const csv = join(root, 'train_senior.csv');
    const { rows, errors } = parseImageCsv(readFileSync(csv, 'utf8'), csv, 19);
    expect(errors).toEqual([]);
    expect(rows.length).toBe(150);
    for (const r of rows) {
      const f = join(root, '400_senior', `${r.id}.txt`);
      expect(r.points).toEqual(parseIsbiAnnotation(readFileSync(f, 'utf8'), f));
    }
    // CSV-only layout: copy the CSV next to (linked) images.
    const d = tmp();
    writeFileSync(join(d, 'train_senior.csv'), readFileSync(csv));
    const ds = readIsbi2015(d, { checkImages: false });
    expect(ds.items.length).toBe(150);
    expect(ds.items.find((i) => i.id === '001')!.points[18]).toEqual([664, 1340]);
  });
  it('official layout: senior/junior mean, extra lines ignored, BMP images, splits', () => {
    const d = tmp();
    for (const who of ['senior', 'junior']) mkdirSync(join(d, 'AnnotationsByMD', `400_${who}`), { recursive: true });
    mkdirSync(join(d, 'RawImage', 'TrainingData'), { recursive: true });
    mkdirSync(join(d, 'RawImage', 'Test1Data'), { recursive: true });
    const pal = Array.from({ length: 256 }, (_, i) => [i, i, i] as [number, number, number]);
    for (const [id, dirName] of [['001', 'TrainingData'], ['151', 'Test1Data']] as const) {
      const s = Array.from({ length: 19 }, (_, i) => `${10 + i},${20 + 2 * i}`).join('\n') + '\n3\n1\n2\n';
      const j = Array.from({ length: 19 }, (_, i) => `${11 + i},${23 + 2 * i}`).join('\r\n') + '\r\n1\r\n';
      writeFileSync(join(d, 'AnnotationsByMD', '400_senior', `${id}.txt`), s);
      writeFileSync(join(d, 'AnnotationsByMD', '400_junior', `${id}.txt`), j);
      writeFileSync(join(d, 'RawImage', dirName, `${id}.bmp`), encodeBmp(80, 90, new Array(80 * 90).fill(7), 8, pal));
    }
    const ds = readIsbi2015(d);
    expect(ds.items.map((i) => i.id)).toEqual(['001', '151']);
    expect(ds.items[0]!.points[0]).toEqual([10.5, 21.5]);
    expect(ds.items[0]!.imagePath).toContain('TrainingData');
    expect(ds.splits).toEqual({ train: ['001'], test1: ['151'], test2: [] });
    expect(readIsbi2015(d, { annotator: 'junior' }).items[0]!.points[0]).toEqual([11, 23]);
    expect(loadItemImage(ds.items[1]!).width).toBe(80);
    // annotator=mean with only senior files is an error.
    const seniorOnly = tmp();
    mkdirSync(join(seniorOnly, '400_senior'));
    mkdirSync(join(seniorOnly, 'images'));
    writeFileSync(join(seniorOnly, '400_senior', '001.txt'), Array.from({ length: 19 }, (_, i) => `${10 + i},${20 + i}`).join('\n') + '\n');
    writeFileSync(join(seniorOnly, 'images', '001.bmp'), encodeBmp(80, 90, new Array(80 * 90).fill(7), 8, pal));
    expect(() => readIsbi2015(seniorOnly, { annotator: 'mean' })).toThrow(/needs senior and junior/);
    // A short annotation file: skipped and counted, or thrown when strict.
    writeFileSync(join(d, 'AnnotationsByMD', '400_senior', '002.txt'), '1,2\n3,4\n');
    writeFileSync(join(d, 'AnnotationsByMD', '400_junior', '002.txt'), '1,2\n3,4\n');
    const ds2 = readIsbi2015(d);
    expect(ds2.items.length).toBe(2);
    expect(ds2.report!.skipped).toBe(2);
    expect(ds2.report!.errors[0]!.message).toMatch(/400_senior\/002\.txt:2: expected 19 lines/);
    expect(() => readIsbi2015(d, { strict: true })).toThrow(DataError);
  });
});

describe('Digital Hand Atlas', () => {
  const root = join(DATA, 'hand-dha');
  itShared('reads all.csv, keeps rows with images, spacing.csv mm/px', () => {
    const ds = readHand(root);
    expect(ds.items.map((i) => i.id)).toEqual(['3167', '3177', '3229', '3231', '5245']);
    expect(ds.report!.missingImages).toBe(905);
    expect(ds.report!.skipped).toBe(0);
    expect(ds.k).toBe(37);
    expect(ds.unit).toBe('mm');
    const line = readFileSync(join(root, 'all.csv'), 'utf8').split('\n').find((l) => l.startsWith('3167,'))!;
    const v = line.split(',').map(Number);
    const it0 = ds.items[0]!;
    expect(it0.points[0]).toEqual([v[1], v[2]]);
    expect(it0.points[36]).toEqual([v[73], v[74]]);
    expect(it0.points.length).toBe(37);
    expect(it0.mmPerPixel).toBe(0.108075);
    expect([it0.width, it0.height]).toEqual([1600, 2350]);
  });
  itShared('wrist rule: 50 mm between landmarks 0 and 4', () => {
    const ds = readHand(root, { spacing: 'wrist' });
    const p = ds.items[0]!.points;
    expect(ds.items[0]!.mmPerPixel).toBeCloseTo(50 / Math.hypot(802 - 313, 2250 - 2247), 12);
    expect(wristMmPerPixel(p)).toBe(ds.items[0]!.mmPerPixel);
    // The two estimates agree to about 6% on this image.
    expect(Math.abs(ds.items[0]!.mmPerPixel! / 0.108075 - 1)).toBeLessThan(0.1);
  });
  it('bad rows are skipped and counted, or thrown when strict', () => {
    const d = tmp();
    mkdirSync(join(d, 'images'));
    writeFileSync(join(d, 'images', '1.png'), encodePngRaw(50, 60, new Array(3000).fill(100), 0, 8));
    writeFileSync(join(d, 'images', '2.png'), encodePngRaw(50, 60, new Array(3000).fill(100), 0, 8));
    writeFileSync(join(d, 'images', '3.png'), encodePngRaw(50, 60, new Array(3000).fill(100), 0, 8));
    const good = (id: string) => [id, ...Array.from({ length: 37 }, (_, i) => `${i + 1},${i + 2}`)].join(',');
    writeFileSync(join(d, 'all.csv'), [good('1'), good('2').replace(/,5,6,/, ',5,x6,'), good('3') + ',9', good('4'), good('1').replace(/^1,1,2/, '1,99,2')].join('\n'));
    const ds = readHand(d);
    expect(ds.items.map((i) => i.id)).toEqual(['1']);
    expect(ds.report!.missingImages).toBe(1);
    expect(ds.report!.skipped).toBe(3);
    const msgs = ds.report!.errors.map((e) => e.message);
    expect(msgs[0]).toMatch(/all\.csv:2: .*'x6' is not a number/);
    expect(msgs[1]).toMatch(/all\.csv:3: expected 75 values/);
    expect(msgs[2]).toMatch(/all\.csv:5: landmark 1 \(99, 2\) lies outside the 50x60 image/);
    expect(ds.report!.errors[0]!.row).toBe(2);
    expect(() => readHand(d, { strict: true })).toThrow(/all\.csv:2:/);
  });
});

describe('Shenzhen chest (generated files)', () => {
  const ratios = (i: number) => Array.from({ length: 6 }, (_, j) => [0.1 + 0.12 * j, 0.2 + 0.01 * i + 0.05 * j] as const);
  const labelText = (i: number) => `6\n${ratios(i).map(([x, y]) => `${x} ${y}`).join('\n')}\n`;
  function chestFolder(): string {
    const d = tmp();
    mkdirSync(join(d, 'images'));
    const ids = [1, 2, 3, 4].map((i) => `CHNCXR_${String(i).padStart(4, '0')}_0`);
    // labels for four images, images for three: one missing image, counted
    ids.slice(0, 3).forEach((id, i) => writeFileSync(join(d, 'images', `${id}.png`), encodePngRaw(60 + i, 50, new Array((60 + i) * 50).fill(80), 0, 8)));
    writeFileSync(join(d, 'chest_labels.zip'), encodeZip([{ name: 'chest/' }, { name: 'chest/labels/' }, ...ids.map((id, i) => ({ name: `chest/labels/${id}.txt`, data: Buffer.from(labelText(i)), deflate: true }))]));
    return d;
  }
  it('reads labels from the zip, points = ratio × image size; an extracted folder reads the same', () => {
    const d = chestFolder();
    const ds = readChest(d);
    expect(ds.items.map((i) => i.id)).toEqual(['CHNCXR_0001_0', 'CHNCXR_0002_0', 'CHNCXR_0003_0']);
    expect(ds.report!.missingImages).toBe(1);
    expect(ds.unit).toBe('px');
    expect(ds.k).toBe(6);
    ds.items.forEach((it, i) => it.points.forEach(([x, y], j) => {
      expect(x).toBeCloseTo(ratios(i)[j]![0] * (60 + i), 10);
      expect(y).toBeCloseTo(ratios(i)[j]![1] * 50, 10);
    }));
    const e = tmp();
    mkdirSync(join(e, 'labels'));
    const z = readZip(join(d, 'chest_labels.zip'));
    for (const en of z.entries) if (!en.isDirectory) writeFileSync(join(e, 'labels', en.name.split('/').pop()!), z.read(en.name));
    expect(readChest(e, { images: join(d, 'images') }).items).toEqual(ds.items);
    writeFileSync(join(e, 'labels', 'CHNCXR_0002_0.txt'), '6\n0.1 0.2\n');
    const bad = readChest(e, { images: join(d, 'images') });
    expect(bad.items.length).toBe(2);
    expect(bad.report!.errors[0]!.message).toMatch(/CHNCXR_0002_0\.txt:2: expected 6 point lines/);
  });
});

describe('Digital Hand Atlas (generated files)', () => {
  it('reads all.csv, keeps rows with images, mm/px from spacing.csv or the wrist rule', () => {
    const d = tmp();
    mkdirSync(join(d, 'images'));
    const pts = (id: number) => Array.from({ length: 37 }, (_, i) => [10 + i + id, 20 + 2 * i] as const);
    const row = (id: number) => [id, ...pts(id).flat()].join(',');
    writeFileSync(join(d, 'all.csv'), [row(1), row(2), row(3)].join('\n') + '\n');
    writeFileSync(join(d, 'images', '1.png'), encodePngRaw(120, 100, new Array(12000).fill(9), 0, 8));
    writeFileSync(join(d, 'images', '2.png'), encodePngRaw(120, 100, new Array(12000).fill(9), 0, 8));
    writeFileSync(join(d, 'spacing.csv'), 'id,mm_per_pixel\n1,0.125\n');
    const ds = readHand(d);
    expect(ds.items.map((i) => i.id)).toEqual(['1', '2']);
    expect(ds.report!.missingImages).toBe(1);
    expect(ds.k).toBe(37);
    expect(ds.items[0]!.points).toEqual(pts(1).map(([x, y]) => [x, y]));
    expect(ds.items[0]!.mmPerPixel).toBe(0.125);
    // no spacing for image 2: the 50 mm wrist rule (landmarks 0 and 4)
    expect(ds.items[1]!.mmPerPixel).toBeCloseTo(50 / Math.hypot(4, 8), 12);
    expect(readHand(d, { spacing: 'wrist' }).items[0]!.mmPerPixel).toBeCloseTo(50 / Math.hypot(4, 8), 12);
  });
});

describe('Shenzhen chest', () => {
  const root = join(DATA, 'shenzhen-chest');
  itShared('reads labels from the zip, points = ratio × image size', () => {
    const ds = readChest(root);
    expect(ds.items.length).toBe(6);
    expect(ds.report!.missingImages).toBe(273);
    expect(ds.unit).toBe('px');
    expect(ds.k).toBe(6);
    const it0 = ds.items[0]!;
    expect(it0.id).toBe('CHNCXR_0001_0');
    expect(it0.points[0]![0]).toBeCloseTo(0.41625 * 750, 10);
    expect(it0.points[0]![1]).toBeCloseTo(0.14375 * 730, 10);
    expect(readChest(join(root, 'chest_labels.zip')).items.length).toBe(6);
  });
  itShared('reads an extracted label folder the same way', () => {
    const d = tmp();
    const z = readZip(join(root, 'chest_labels.zip'));
    mkdirSync(join(d, 'labels'));
    for (const e of z.entries) if (!e.isDirectory) writeFileSync(join(d, 'labels', e.name.split('/').pop()!), z.read(e.name));
    const ds = readChest(d, { images: join(root, 'images') });
    expect(ds.items).toEqual(readChest(root).items);
    writeFileSync(join(d, 'labels', 'CHNCXR_0002_0.txt'), '6\n0.1 0.2\n');
    const bad = readChest(d, { images: join(root, 'images') });
    expect(bad.items.length).toBe(5);
    expect(bad.report!.errors[0]!.message).toMatch(/CHNCXR_0002_0\.txt:2: expected 6 point lines/);
  });
});

describe('generic CSV / JSON', () => {
  const d = tmp();
  mkdirSync(join(d, 'img'));
  writeFileSync(join(d, 'img', 'a.png'), encodePngRaw(40, 30, new Array(1200).fill(50), 0, 8));
  writeFileSync(join(d, 'img', 'b.png'), encodePngRaw(40, 30, new Array(1200).fill(50), 0, 8));
  it('CSV with header and spacing column', () => {
    const p = join(d, 'labels.csv');
    writeFileSync(p, 'image,x1,y1,x2,y2,mm_per_pixel\nimg/a.png,1,2,3.5,4,0.2\nimg/b.png,5,6,7,8,0.3\n');
    const ds = readGeneric(p);
    expect(ds.k).toBe(2);
    expect(ds.items.map((i) => [i.id, i.points, i.mmPerPixel])).toEqual([['a', [[1, 2], [3.5, 4]], 0.2], ['b', [[5, 6], [7, 8]], 0.3]]);
    expect(ds.unit).toBe('mm');
  });
  it('CSV errors name file and row; strict throws', () => {
    const p = join(d, 'bad.csv');
    writeFileSync(p, 'img/a.png,1,2,3,4\nimg/b.png,1,2,3\nimg/missing.png,1,2,3,4\nimg/b.png,1,2,3,400\nimg/b.png,1,2,3,abc\n');
    const ds = readGeneric(p);
    expect(ds.items.length).toBe(1);
    expect(ds.unit).toBe('px');
    expect(ds.report!.skipped).toBe(4);
    const m = ds.report!.errors.map((e) => e.message).sort();
    expect(m.some((s) => /bad\.csv:2: expected 5 values/.test(s))).toBe(true);
    expect(m.some((s) => /bad\.csv:3: image not found: .*missing\.png/.test(s))).toBe(true);
    expect(m.some((s) => /bad\.csv:4: landmark 2 \(3, 400\) lies outside the 40x30 image/.test(s))).toBe(true);
    expect(m.some((s) => /bad\.csv:5: y of landmark 2: 'abc' is not a number/.test(s))).toBe(true);
    expect(() => readGeneric(p, { strict: true })).toThrow(DataError);
    expect(readGeneric(p, { missingImages: 'skip' }).report!.missingImages).toBe(1);
  });
  it('JSON items with optional mm per pixel', () => {
    const p = join(d, 'labels.json');
    writeFileSync(p, JSON.stringify([
      { image: 'img/a.png', points: [[1, 1], [2, 2], [3, 3]], mmPerPixel: 0.5 },
      { image: 'img/b.png', points: [[1, 1], [2, 2]] },
      { image: 'img/b.png', points: [[1, 1], [2, 'x'], [3, 3]] },
      { image: 'img/b.png', points: [[4, 1], [2, 2], [3, 3]] },
    ]));
    const ds = readGeneric(p, { mmPerPixel: 0.25 });
    expect(ds.items.map((i) => [i.id, i.mmPerPixel])).toEqual([['a', 0.5], ['b', 0.25]]);
    expect(ds.report!.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/labels\.json:2: expected 3 points, found 2/),
      expect.stringMatching(/labels\.json:3: point 2 is not \[x, y\]/),
    ]);
  });
});

describe('osteo points files (points: and generic: specs, one reader)', () => {
  const d = tmp();
  mkdirSync(join(d, 'img'));
  writeFileSync(join(d, 'img', 'a.png'), encodePngRaw(40, 30, new Array(1200).fill(50), 0, 8));
  writeFileSync(join(d, 'img', 'b.png'), encodePngRaw(40, 30, new Array(1200).fill(50), 0, 8));
  const doc = (images: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ format: 'osteo-points', version: 1, ...extra, images });
  it('reads images relative to the file (or images=), points, spacing, landmark names; generic: reads the same file the same way', () => {
    const p = join(d, 'points.json');
    writeFileSync(p, doc([
      { image: 'img/a.png', width: 40, height: 30, mmPerPixel: 0.2, points: [{ x: 1, y: 2, flags: ['corrected'] }, { x: 3.5, y: 4, confidence: 0.9 }] },
      { image: join(d, 'img', 'b.png'), points: [{ x: 5, y: 6 }, { x: 7, y: 8 }] },
    ], { landmarks: ['tip', 'base'] }));
    const ds = readDataset(`points:${p}`);
    expect(ds.k).toBe(2);
    expect(ds.landmarkNames).toEqual(['tip', 'base']);
    expect(ds.items.map((i) => [i.id, i.imagePath, i.points, i.mmPerPixel])).toEqual([
      ['a', join(d, 'img', 'a.png'), [[1, 2], [3.5, 4]], 0.2], ['b', join(d, 'img', 'b.png'), [[5, 6], [7, 8]], undefined],
    ]);
    expect(ds.report!.notes.join()).toMatch(/1 point\(s\) flagged corrected/);
    expect(readDataset(`generic:${p}`).items).toEqual(ds.items);
    writeFileSync(join(d, 'img', 'rel.json'), doc([{ image: 'a.png', points: [{ x: 1, y: 1 }] }]));
    const moved = join(d, 'elsewhere.json');
    writeFileSync(moved, doc([{ image: 'a.png', points: [{ x: 1, y: 1 }] }]));
    expect(readDataset(`points:${moved}?images=${join(d, 'img')}`).items[0]!.imagePath).toBe(join(d, 'img', 'a.png'));
  });
  it('a missing landmark, another point count, a size that is not the image\'s: the image is left out with a named error; a bad document throws with its JSON path', () => {
    const p = join(d, 'bad-items.json');
    writeFileSync(p, doc([
      { image: 'img/a.png', points: [{ x: 1, y: 2 }, { x: 3, y: 4 }] },
      { image: 'img/b.png', points: [{ x: 1, y: 2 }, { x: 3, y: 4, flags: ['missing'] }] },
      { image: 'img/b.png', points: [{ x: 1, y: 2 }] },
      { image: 'img/b.png', width: 400, height: 300, points: [{ x: 1, y: 2 }, { x: 3, y: 4 }] },
    ]));
    const ds = readDataset(`points:${p}`);
    expect(ds.items.map((i) => i.id)).toEqual(['a']);
    expect(ds.report!.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/bad-items\.json: images\[1\] \(img\/b\.png\): landmark 2 flagged missing/),
      expect.stringMatching(/bad-items\.json: images\[2\] \(img\/b\.png\): expected 2 points, found 1/),
      expect.stringMatching(/bad-items\.json: images\[3\] \(img\/b\.png\): the points file says 400x300 but .*b\.png is 40x30/),
    ]);
    expect(() => readDataset(`points:${p}?strict`)).toThrow(/images\[1\].*flagged missing/);
    const q = join(d, 'bad-doc.json');
    writeFileSync(q, doc([{ image: 'img/a.png', points: [{ x: 1, y: 'two' }] }]));
    expect(() => readDataset(`points:${q}`)).toThrow(/bad-doc\.json: images\[0\]\.points\[0\]\.y must be a number \(found "two"\)/);
    writeFileSync(q, JSON.stringify({ format: 'osteo-points', version: 2, images: [] }));
    expect(() => readDataset(`points:${q}`)).toThrow(/version 2 is newer than this osteo reads \(version 1\)/);
  });
  it("the web app's earlier JSON export and long CSV still train, with a note that they are an older format", () => {
    const p = join(d, 'old-app.json');
    writeFileSync(p, JSON.stringify({ model: 'm', landmarkNames: ['tip', 'base'], images: [{ name: 'img/a.png', width: 40, height: 30, points: [[1, 2], [3, 4]], corrected: [true, false] }] }));
    const ds = readDataset(`points:${p}`);
    expect(ds.items.map((i) => i.points)).toEqual([[[1, 2], [3, 4]]]);
    expect(ds.report!.notes.join()).toMatch(/older points file \(app-json\)/);
    const c = join(d, 'old-app.csv');
    writeFileSync(c, 'image,width,height,landmark,name,x,y,corrected,x_mm,y_mm\nimg/a.png,40,30,1,tip,1,2,1,,\nimg/a.png,40,30,2,base,3,4,0,,\n');
    expect(readDataset(`points:${c}`).items.map((i) => [i.id, i.points])).toEqual([['a', [[1, 2], [3, 4]]]]);
    expect(readDataset(`points:${c}`).landmarkNames).toEqual(['tip', 'base']);
  });
});

describe('dataset specs', () => {
  it('parses kinds, paths and options', () => {
    expect(parseDatasetSpec('isbi2015:/data/ISBI?annotator=senior&strict')).toEqual({ kind: 'isbi2015', target: '/data/ISBI', options: { annotator: 'senior', strict: 'true' } });
    expect(parseDatasetSpec('synthetic:hand?n=64&seed=1&size=128')).toEqual({ kind: 'synthetic', target: 'hand', options: { n: '64', seed: '1', size: '128' } });
    expect(parseDatasetSpec('generic:/x/labels.csv').kind).toBe('generic');
    expect(parseDatasetSpec('chest:C:/data/chest').target).toBe('C:/data/chest');
    expect(() => parseDatasetSpec('/just/a/path')).toThrow(/kind/);
    expect(() => parseDatasetSpec('synthetic:foot')).toThrow(/hand, head or chest/);
  });
  itShared('reads the real samples through specs', () => {
    expect(readDataset(`hand:${DATA}/hand-dha?spacing=wrist`).items.length).toBe(5);
    expect(readDataset(`chest:${DATA}/shenzhen-chest?limit=2`).items.length).toBe(2);
    expect(readDataset(`isbi2015:${DATA}/isbi2015-ceph-train?limit=3`).items.length).toBe(3);
  });
  it('reads through specs', () => {
    const s = readDataset('synthetic:head?n=3&size=64&seed=5');
    expect(s.items.length).toBe(3);
    expect(s.k).toBe(19);
    expect(loadItemImage(s.items[0]!).width).toBe(64);
  });
});

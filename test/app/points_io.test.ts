/** The app's points files: JSON and CSV exports read back to the same points; bad files are named errors. */
import { describe, expect, test } from 'vitest';
import { checkLandmarkCount, exportCsv, exportJson, parsePointsFile, PointsFileError, toPointsFile } from '../../src/app/points_io';
import type { ImageRecord } from '../../src/app/state';

const images: ImageRecord[] = [
  { id: 'a.png', name: 'a.png', width: 100, height: 80, points: [[10.12345, 20], [30, 40.5]], corrected: [true, false], confidence: [0.5, 0.4] },
  { id: 'b,"odd".dcm', name: 'b,"odd".dcm', width: 50, height: 50, spacing: { x: 0.1, y: 0.1 }, points: [[1, 2], [3, 4]], corrected: [false, false], confidence: [] },
  { id: 'c.png', name: 'c.png', width: 5, height: 5, points: [], corrected: [], confidence: [] },
];

describe('points files', () => {
  test('JSON export: the test contract shape, points rounded to 1/1000 px, mm where the spacing is known, images without points left out', () => {
    const f = JSON.parse(exportJson(toPointsFile('m.safetensors', ['tip', 'base'], images)));
    expect(f.model).toBe('m.safetensors');
    expect(f.images.map((i: { name: string }) => i.name)).toEqual(['a.png', 'b,"odd".dcm']);
    expect(f.images[0]).toEqual({ name: 'a.png', width: 100, height: 80, points: [[10.123, 20], [30, 40.5]], corrected: [true, false] });
    expect(f.images[1].pointsMm).toEqual([[0.1, 0.2], [0.3, 0.4]]);
  });

  test('JSON and CSV both read back to the exported points and flags (CSV quoting included)', () => {
    const file = toPointsFile('m', ['tip', 'base, left'], images);
    for (const [text, name] of [[exportJson(file), 'p.json'], [exportCsv(file), 'p.csv']] as const) {
      const back = parsePointsFile(text, name);
      expect(back.images.map((i) => [i.name, i.points, i.corrected])).toEqual(file.images.map((i) => [i.name, i.points, i.corrected]));
      expect(back.landmarkNames).toEqual(['tip', 'base, left']);
    }
    const csv = exportCsv(file).split('\n');
    expect(csv[0]).toBe('image,width,height,landmark,name,x,y,corrected,x_mm,y_mm');
    expect(csv[3]).toBe('"b,""odd"".dcm",50,50,1,tip,1,2,0,0.1,0.2');
  });

  test('bad files name the file and the place', () => {
    expect(() => parsePointsFile('{"images": 3}', 'x.json')).toThrow(/x\.json: expected/);
    expect(() => parsePointsFile('{ nope', 'x.json')).toThrow(/x\.json: not valid JSON/);
    expect(() => parsePointsFile('{"images":[{"name":"a","points":[[1]]}]}', 'x.json')).toThrow(/x\.json images\[0\]\.points\[0\]: expected \[x, y\]/);
    expect(() => parsePointsFile('image,landmark,x,y\na.png,1,3,abc\n', 'x.csv')).toThrow(/x\.csv line 2 y: expected a number/);
    expect(() => parsePointsFile('a,b\n1,2\n', 'x.csv')).toThrow(PointsFileError);
    expect(() => parsePointsFile('image,landmark,x,y\na.png,2,3,4\n', 'x.csv')).toThrow(/a\.png has no row for landmark 1/);
  });

  test('a points file for another number of landmarks than the model is refused', () => {
    const file = parsePointsFile(exportJson(toPointsFile('m', [], images)), 'p.json');
    expect(() => checkLandmarkCount(file, 2, 'p.json')).not.toThrow();
    expect(() => checkLandmarkCount(file, 19, 'p.json')).toThrow(/p\.json: a\.png has 2 landmarks, the model predicts 19/);
  });
});

/**
 * The app's points files: osteo points JSON and CSV exports read back to the same points; old exports still import;
 * bad files are named errors.
 */
import { describe, expect, test } from 'vitest';
import { checkLandmarkCount, exportCsv, exportJson, parsePointsFile, PointsFileError, toPointsFile } from '../../src/app/points_io';
import type { ImageRecord } from '../../src/app/state';
import { parsePointsDocument } from '../../src/data/points_format';

const images: ImageRecord[] = [
  { id: 'a.png', name: 'a.png', width: 100, height: 80, points: [[10.12345, 20], [30, 40.5]], corrected: [true, false], confidence: [0.5, 0.4] },
  { id: 'b,"odd".dcm', name: 'b,"odd".dcm', width: 50, height: 50, spacing: { x: 0.1, y: 0.1 }, points: [[1, 2], [3, 4]], corrected: [false, false], confidence: [] },
  { id: 'c.png', name: 'c.png', width: 5, height: 5, points: [], corrected: [], confidence: [] },
];

describe('points files', () => {
  test('JSON export is an osteo points file: corrected points flagged, confidence on the others, mm per pixel where the spacing is known, images without points left out', () => {
    const f = parsePointsDocument(exportJson(toPointsFile('m.safetensors', ['tip', 'base'], images)), 'x.json');
    expect([f.format, f.version, f.model, f.landmarks]).toEqual(['osteo-points', 1, 'm.safetensors', ['tip', 'base']]);
    expect(f.images.map((i) => i.image)).toEqual(['a.png', 'b,"odd".dcm']);
    expect(f.images[0]).toEqual({ image: 'a.png', width: 100, height: 80, points: [{ x: 10.123, y: 20, flags: ['corrected'] }, { x: 30, y: 40.5, confidence: 0.4 }] });
    expect(f.images[1]!.mmPerPixel).toBeCloseTo(0.1, 12);
  });

  test('JSON and CSV both read back to the exported points and flags (CSV quoting included)', () => {
    const file = toPointsFile('m', ['tip', 'base, left'], images);
    for (const [text, name] of [[exportJson(file), 'p.json'], [exportCsv(file), 'p.csv']] as const) {
      const back = parsePointsFile(text, name);
      expect(back.images.map((i) => [i.name, i.points])).toEqual(file.images.map((i) => [i.image, i.points.map((p) => [Math.round(p.x * 1000) / 1000, p.y])]));
      expect(back.landmarkNames).toEqual(['tip', 'base, left']);
    }
    // JSON keeps a model's prediction (a confidence, no "corrected" flag) apart from a label; a CSV
    // holds labels only (as the app always imported it)
    expect(parsePointsFile(exportJson(file), 'p.json').images[0]!.corrected).toEqual([true, false]);
    expect(parsePointsFile(exportCsv(file), 'p.csv').images[0]!.corrected).toEqual([true, true]);
    const csv = exportCsv(file).split('\n');
    expect(csv[0]).toBe('image,width,height,landmark,name,x,y,corrected,x_mm,y_mm');
    expect(csv[3]).toBe('"b,""odd"".dcm",50,50,1,tip,1,2,0,0.1,0.2');
  });

  test("the app's earlier JSON export and predict's predictions.json still import; a path in a points file matches by file name", () => {
    const old = parsePointsFile(JSON.stringify({ model: 'm', landmarkNames: ['a', 'b'], images: [{ name: 'a.png', width: 10, height: 10, points: [[1, 2], [3, 4]], corrected: [true, false] }] }), 'old.json');
    expect(old.images).toEqual([{ name: 'a.png', points: [[1, 2], [3, 4]], corrected: [true, true] }]);
    const pred = parsePointsFile(JSON.stringify({ model: '/m.safetensors', size: 128, k: 2, images: [{ image: 'runs/x/a.png', id: 'a', width: 10, height: 10, points: [[1, 2], [3, 4]], confidence: [0.9, 0.8] }] }), 'predictions.json');
    expect(pred.images).toEqual([{ name: 'a.png', points: [[1, 2], [3, 4]], corrected: [false, false] }]);
    const rel = parsePointsFile('{"format":"osteo-points","version":1,"images":[{"image":"../data/x/a.png","points":[{"x":1,"y":2}]}]}', 'p.json');
    expect(rel.images[0]).toEqual({ name: 'a.png', points: [[1, 2]], corrected: [true] });
  });

  test('bad files name the file and the place', () => {
    expect(() => parsePointsFile('{"images": 3}', 'x.json')).toThrow(/x\.json: expected an osteo points file/);
    expect(() => parsePointsFile('{ nope', 'x.json')).toThrow(/x\.json: not valid JSON/);
    expect(() => parsePointsFile('{"images":[{"name":"a","points":[[1]]}]}', 'x.json')).toThrow(/x\.json: images\[0\]\.points\[0\]: expected \[x, y\]/);
    expect(() => parsePointsFile('{"format":"osteo-points","version":1,"images":[{"image":"a","points":[{"x":1}]}]}', 'x.json')).toThrow(/x\.json: images\[0\]\.points\[0\]\.y is missing/);
    expect(() => parsePointsFile('image,landmark,x,y\na.png,1,3,abc\n', 'x.csv')).toThrow(/x\.csv: line 2 y: expected a number/);
    expect(() => parsePointsFile('image,landmark,x,y\na.png,2,3,4\n', 'x.csv')).toThrow(/x\.csv:2: a\.png has no row for landmark 1/);
    expect(() => parsePointsFile('a,b\n1,2\n', 'x.csv')).toThrow(PointsFileError);
  });

  test('a points file for another number of landmarks than the model is refused', () => {
    const file = parsePointsFile(exportJson(toPointsFile('m', [], images)), 'p.json');
    expect(() => checkLandmarkCount(file, 2, 'p.json')).not.toThrow();
    expect(() => checkLandmarkCount(file, 19, 'p.json')).toThrow(/p\.json: a\.png has 2 landmarks, the model predicts 19/);
  });
});

/**
 * The osteo points schema: valid documents round-trip, invalid ones are refused naming the file and the JSON path,
 * old shapes read through the one reader.
 */
import { describe, expect, test } from 'vitest';
import { checkPointsDocument, parsePointsDocument, PointsFileError, serializePoints, type PointsDocument } from '../../src/data/points_format';
import { readPointsText } from '../../src/data/points_read';

const valid: PointsDocument = {
  format: 'osteo-points', version: 1, model: 'm.safetensors', landmarks: ['S', 'N'],
  images: [
    { image: 'a.png', width: 1935, height: 2400, mmPerPixel: 0.1, warnings: ['mirrored?'], points: [{ x: 835.12345, y: 996, confidence: 0.81234567, expectedError: 1.5, flags: ['low-confidence'] }, { x: 1, y: 2, flags: ['corrected'] }] },
    { image: '/abs/b.dcm', points: [{ x: 3, y: 4 }, { x: 5, y: 6 }] },
  ],
};

describe('osteo points schema', () => {
  test('a valid document serialises (one point per line, rounded) and parses back to the same values', () => {
    const text = serializePoints(valid);
    expect(text.split('\n').filter((l) => /^\s+\{"x":/.test(l))).toHaveLength(4);
    const back = parsePointsDocument(text, 'p.json');
    expect(back.images[0]!.points[0]).toEqual({ x: 835.123, y: 996, confidence: 0.8123, expectedError: 1.5, flags: ['low-confidence'] });
    expect({ ...back, images: back.images.map((im, i) => (i === 0 ? { ...im, points: [valid.images[0]!.points[0]!, ...im.points.slice(1)] } : im)) }).toEqual(valid);
    // unknown fields are ignored: a later minor addition stays readable
    expect(checkPointsDocument({ ...valid, createdBy: 'x', images: [{ ...valid.images[1], extra: 1 }] }, 'p.json').images[0]).toEqual(valid.images[1]);
  });

  test.each([
    [{ images: [] }, /p\.json: not an osteo points file \(expected "format": "osteo-points"\)/],
    [{ format: 'osteo-points', images: [] }, /p\.json: version is missing/],
    [{ format: 'osteo-points', version: 7, images: [] }, /p\.json: osteo points version 7 is newer than this osteo reads \(version 1\); update osteo/],
    [{ format: 'osteo-points', version: 1 }, /p\.json: images is missing/],
    [{ format: 'osteo-points', version: 1, images: {} }, /p\.json: images must be an array of images \(found \{\}\)/],
    [{ format: 'osteo-points', version: 1, images: [{ points: [{ x: 1, y: 2 }] }] }, /p\.json: images\[0\]\.image is missing/],
    [{ format: 'osteo-points', version: 1, images: [{ image: '', points: [{ x: 1, y: 2 }] }] }, /p\.json: images\[0\]\.image must not be empty/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', points: [] }] }, /images\[0\]\.points must hold at least one point/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', points: [[1, 2]] }] }, /images\[0\]\.points\[0\] must be an object \{ "x": number/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', points: [{ x: 1, y: '2' }] }] }, /images\[0\]\.points\[0\]\.y must be a number \(found "2"\)/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', width: 10.5, points: [{ x: 1, y: 2 }] }] }, /images\[0\]\.width must be a whole number of pixels \(found 10\.5\)/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', mmPerPixel: 0, points: [{ x: 1, y: 2 }] }] }, /images\[0\]\.mmPerPixel must be > 0 \(found 0\)/],
    [{ format: 'osteo-points', version: 1, images: [{ image: 'a', points: [{ x: 1, y: 2, flags: 'corrected' }] }] }, /images\[0\]\.points\[0\]\.flags must be an array of strings/],
    [{ format: 'osteo-points', version: 1, landmarks: ['a', 'b'], images: [{ image: 'x.png', points: [{ x: 1, y: 2 }] }] }, /images\[0\] \(x\.png\) has 1 points but "landmarks" names 2/],
  ])('refuses %j with a specific message', (value, message) => {
    expect(() => checkPointsDocument(value, 'p.json')).toThrow(PointsFileError);
    expect(() => checkPointsDocument(value, 'p.json')).toThrow(message);
  });

  test('not JSON: the parser says so and names the file', () => {
    expect(() => parsePointsDocument('{"format": ', 'p.json')).toThrow(/p\.json: not valid JSON/);
  });
});

describe('the one reader: old shapes become documents', () => {
  test('wide CSV and generic JSON arrays keep their row errors instead of failing the read', () => {
    const csv = readPointsText('image,x1,y1,x2,y2,mm_per_pixel\na.png,1,2,3,4,0.1\nb.png,1,2,3\n', 'l.csv');
    expect(csv.source).toBe('wide-csv');
    expect(csv.doc.images).toEqual([{ image: 'a.png', mmPerPixel: 0.1, points: [{ x: 1, y: 2 }, { x: 3, y: 4 }] }]);
    expect(csv.rows).toEqual([2]);
    expect(csv.errors.map((e) => e.message)).toEqual([expect.stringMatching(/l\.csv:3: expected 6 values/)]);
    const json = readPointsText(JSON.stringify([{ image: 'a.png', points: [[1, 2]] }, { image: 'b.png', points: [[1, 'x']] }]), 'l.json');
    expect(json.source).toBe('generic-json');
    expect(json.doc.images.map((i) => i.image)).toEqual(['a.png']);
    expect(json.errors).toHaveLength(1);
  });

  test("predict's earlier predictions.json: predictions with confidences, not labels; spacing as mm per pixel", () => {
    const r = readPointsText(JSON.stringify({ model: '/m', size: 128, k: 1, images: [{ image: 'x/a.dcm', width: 10, height: 8, spacing: { x: 0.2, y: 0.2, source: 'PixelSpacing' }, points: [[1, 2]], confidence: [0.7] }] }), 'predictions.json');
    expect(r.source).toBe('predictions-json');
    expect(r.doc.model).toBe('/m');
    expect(r.doc.images[0]).toEqual({ image: 'x/a.dcm', width: 10, height: 8, mmPerPixel: expect.closeTo(0.2, 12), points: [{ x: 1, y: 2, confidence: 0.7 }] });
  });
});

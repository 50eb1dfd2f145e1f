/** The app's annotation state: predictions never overwrite corrections; undo / redo; snapshots survive a round trip. */
import { describe, expect, test } from 'vitest';
import { Annotations, uniqueId, type XY } from '../../src/app/state';

const P: XY[] = [[10, 20], [30, 40], [50, 60]];

describe('Annotations', () => {
  test('a prediction fills the points; a correction survives the next prediction; another landmark count replaces everything', () => {
    const a = new Annotations();
    const im = a.add('a.png', 100, 80);
    expect(a.selected).toBe(0);
    a.setPrediction(im.id, P, [0.9, 0.5, 0.1]);
    expect(im.points).toEqual(P);
    expect(im.corrected).toEqual([false, false, false]);
    a.move(im.id, 1, [33, 44]);
    expect(im.points[1]).toEqual([33, 44]);
    expect(im.corrected).toEqual([false, true, false]);
    a.setPrediction(im.id, [[11, 21], [31, 41], [51, 61]], [1, 1, 1]);
    expect(im.points).toEqual([[11, 21], [33, 44], [51, 61]]);
    expect(a.labelled().map((x) => x.id)).toEqual(['a.png']);
    a.setPrediction(im.id, [[1, 2], [3, 4]], [1, 1]);
    expect(im.points).toEqual([[1, 2], [3, 4]]);
    expect(im.corrected).toEqual([false, false]);
    expect(a.labelled()).toEqual([]);
  });

  test('undo restores the predicted point and its flag, redo re-applies; a new edit clears redo', () => {
    const a = new Annotations();
    const im = a.add('a.png', 100, 80);
    a.setPrediction(im.id, P, [1, 1, 1]);
    expect(a.canUndo).toBe(false);
    a.move(im.id, 0, [12, 22]);
    a.move(im.id, 0, [14, 24]);
    expect(a.undo()).toBe('a.png');
    expect(im.points[0]).toEqual([12, 22]);
    expect(a.undo()).toBe('a.png');
    expect(im.points[0]).toEqual([10, 20]);
    expect(im.corrected[0]).toBe(false);
    expect(a.undo()).toBeUndefined();
    a.redo();
    expect(im.points[0]).toEqual([12, 22]);
    expect(im.corrected[0]).toBe(true);
    a.move(im.id, 2, [0, 0]);
    expect(a.canRedo).toBe(false);
  });

  test('an import is one undoable edit; its landmark count must match the image\'s', () => {
    const a = new Annotations();
    const im = a.add('a.png', 100, 80);
    a.setPrediction(im.id, P, [1, 1, 1]);
    a.importPoints(im.id, [[1, 1], [2, 2], [3, 3]], [true, false, true]);
    expect(im.points).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(im.corrected).toEqual([true, false, true]);
    a.undo();
    expect(im.points).toEqual(P);
    expect(() => a.importPoints(im.id, [[1, 1]], [true])).toThrow(/1 points imported, 3 landmarks/);
  });

  test('a snapshot (what IndexedDB keeps) restores points, flags, selection and the undo history', () => {
    const a = new Annotations();
    const im = a.add('a.png', 100, 80);
    a.add('b.png', 10, 10);
    a.setPrediction(im.id, P, [1, 1, 1]);
    a.move(im.id, 2, [55, 66]);
    a.select(1);
    const b = Annotations.from(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.images.map((x) => x.id)).toEqual(['a.png', 'b.png']);
    expect(b.selected).toBe(1);
    expect(b.byId('a.png')!.points[2]).toEqual([55, 66]);
    expect(b.canUndo).toBe(true);
    b.undo();
    expect(b.byId('a.png')!.points[2]).toEqual([50, 60]);
  });

  test('removing an image drops it from the history; ids are unique per name', () => {
    const a = new Annotations();
    const x = a.add('a.png', 1, 1);
    const y = a.add('a.png', 1, 1);
    expect(y.id).toBe('a.png (2)');
    expect(uniqueId('a.png', new Set(['a.png', 'a.png (2)']))).toBe('a.png (3)');
    a.setPrediction(x.id, P, [1, 1, 1]);
    a.move(x.id, 0, [0, 0]);
    a.remove(x.id);
    expect(a.canUndo).toBe(false);
    expect(a.images).toHaveLength(1);
  });
});

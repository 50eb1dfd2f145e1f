/**
 * Errors crossing from the engine worker to the page: structured cloning drops an error's class,
 * and the page tells failures apart by class (errors.ts), so the worker sends the class's name and
 * the page rebuilds it. Each library error and the built-ins the page reads come back as the same
 * class with the same message and fields, and are explained the same way.
 */
import { describe, expect, test } from 'vitest';
import { explain } from '../../src/app/errors';
import { fromWire, toWire } from '../../src/app/protocol';
import { CheckpointError, DataError, DeviceLostError, NoAdapterError, OutOfMemoryError, PointsFileError, WeightFileError } from '../../src/browser';

/** Through the wire and a structured clone, as postMessage does. */
const cross = (e: unknown): Error => fromWire(structuredClone(toWire(e)));

describe('errors across the worker boundary', () => {
  test('library errors come back as their class, with message, name and fields; explain() sorts them as before', () => {
    const cases: unknown[] = [
      new NoAdapterError('navigator.gpu is missing', 'no-webgpu'),
      new DeviceLostError('GPU device lost (destroyed)'),
      new OutOfMemoryError('GPU out of memory: buffer'),
      new CheckpointError('broken.safetensors: not a checkpoint'),
      new DataError('broken.png', undefined, 'not an image'),
      new PointsFileError('three.json', 2, 'bad row'),
      new RangeError('learning rate must be between 0 and 1, got 7'),
      new Error('plain'),
    ];
    for (const e of cases) {
      const back = cross(e);
      const cls = (e as Error).constructor as new (...a: never[]) => Error;
      expect(back, (e as Error).name).toBeInstanceOf(cls);
      expect(back.message).toBe((e as Error).message);
      expect(back.name).toBe((e as Error).name);
      expect(explain(back, { what: 'x' })).toEqual(explain(e, { what: 'x' }));
    }
    const noWebgpu = cross(new NoAdapterError('missing', 'no-webgpu')) as NoAdapterError;
    expect(noWebgpu.reason).toBe('no-webgpu');
    const data = cross(new DataError('a.dcm', 3, 'bad tag')) as DataError;
    expect([data.file, data.row]).toEqual(['a.dcm', 3]);
  });

  test('a subclass the page does not list comes back as its nearest listed parent; an AbortError stays a DOMException; a thrown string a plain Error', () => {
    class LocalWeightError extends WeightFileError {}
    expect(cross(new LocalWeightError('w.bin: short'))).toBeInstanceOf(WeightFileError);
    const abort = cross(new DOMException('stopped by the user', 'AbortError'));
    expect(abort).toBeInstanceOf(DOMException);
    expect(abort.name).toBe('AbortError');
    const s = cross('just a string');
    expect(s).toBeInstanceOf(Error);
    expect(s.message).toBe('just a string');
  });
});

/**
 * A corrupt .h5 file gives one error, not the HDF5 library's 20-77 lines of diagnostics (issue 10).
 * Its own file: h5wasm must not have been imported before (the test fixtures import it directly).
 */
import { expect, it } from 'vitest';
import { readKerasH5 } from '../../src/weights/keras_h5';
import { WeightFileError } from '../../src/weights/types';

it('corrupt HDF5: nothing printed, the innermost HDF5 reason in the error', async () => {
  const b = new Uint8Array(4096);
  b.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]); // HDF5 signature, then garbage
  for (let i = 8; i < b.length; i++) b[i] = (i * 131) & 255;
  const printed: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void printed.push(a.join(' '));
  console.error = (...a: unknown[]) => void printed.push(a.join(' '));
  let err: unknown;
  try {
    await readKerasH5(b, { file: 'bad.h5' });
  } catch (e) {
    err = e;
  } finally {
    console.log = log;
    console.error = error;
  }
  expect(printed).toEqual([]);
  expect(err).toBeInstanceOf(WeightFileError);
  expect((err as Error).message).toBe('bad.h5: the HDF5 library could not open it (not a readable HDF5 file; HDF5: bad superblock version number); corrupt or truncated file');
  // the console is the caller's again: printing works after the read
  console.log = (...a: unknown[]) => void printed.push(a.join(' '));
  try { console.log('after'); } finally { console.log = log; }
  expect(printed).toEqual(['after']);
});

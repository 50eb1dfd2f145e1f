/** The Node RunStore: a folder, written atomically (src/node/weights_io.ts writeFileAtomic). */
import { existsSync, promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunStore } from '../train/store';
import { writeFileAtomic } from './weights_io';

/** A RunStore over the folder `dir` (made when the first file is written). */
export function folderStore(dir: string): RunStore {
  const root = resolve(dir);
  const at = (name: string): string => (name ? join(root, ...name.split('/')) : root);
  return {
    locate: at,
    async read(name) {
      try {
        const b = await fsp.readFile(at(name));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    write: (name, bytes) => writeFileAtomic(at(name), bytes),
    exists: async (name) => existsSync(at(name)),
  };
}

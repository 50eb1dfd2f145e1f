import { readFileSync } from 'node:fs';

/** Set by scripts/build.mjs from package.json (esbuild `define`). */
declare const __OSTEO_VERSION__: string | undefined;

/** The package version: inlined in dist/osteo.mjs, read from package.json when run from source. */
export const VERSION: string = typeof __OSTEO_VERSION__ === 'string' ? __OSTEO_VERSION__ : sourceVersion();

function sourceVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

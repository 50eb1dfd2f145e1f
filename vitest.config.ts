import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

/** Loads `*.wgsl` as a default-exported string, the same contract as esbuild's `text` loader. */
const wgslAsText = {
  name: 'wgsl-as-text',
  enforce: 'pre' as const,
  load(id: string) {
    if (!id.endsWith('.wgsl')) return null;
    return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
  },
};

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    include: ['test/**/*.test.ts'],
    // tests that measure the machine's responsiveness run alone, after the rest (vitest.alone.config.ts)
    exclude: [...configDefaults.exclude, 'test/**/*.alone.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // decoded working copies of test data go to a temp folder, not the user's ~/.cache/osteo
    env: { OSTEO_CACHE_DIR: join(tmpdir(), 'osteo-test-cache') },
  },
});

/**
 * The published package as a user gets it: `npm pack`, install the tarball into an empty folder,
 * type-check a TypeScript program that imports from 'osteo' under `strict` (skipLibCheck off, so
 * the shipped declarations are checked too), and run it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../..');
/** Runs a command without blocking the event loop (vitest's worker must keep answering). */
const run = async (cmd: string, args: string[], cwd: string): Promise<string> => (await promisify(execFile)(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;

test('npm pack → install in an empty folder → a strict TypeScript consumer type-checks and runs', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] };
  expect(pkg.scripts.prepare).toMatch(/build/);
  // `npm test` has just built dist/*.js; the declarations are built here (prepare does both on a git install).
  await run('node', ['scripts/build_types.mjs'], ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'osteo-consumer-'));
  const packed = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as { filename: string; files: { path: string }[] }[];
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/osteo.browser.js', 'dist/browser.d.ts', 'dist/osteo.mjs',
    'dist/engine.js', 'dist/engine.d.ts', 'dist/node.js', 'dist/node.d.ts', 'dist/types/api/model.d.ts']));
  // stripInternal: no `@internal` member is published (the old `destroy` is one)
  const published = files.filter((f) => f.startsWith('dist/types/')).map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
  expect(published).not.toMatch(/@internal/);
  expect(published).not.toMatch(/\bdestroy\(\): void|get network\(\)|get trainSettings\(\)/);
  expect(files.filter((f) => /^(test|bench|src|scripts|shaders|\.github)\//.test(f) || f.startsWith('.'))).toEqual([]);

  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(dir, packed[0]!.filename)], dir);
  copyFileSync(join(ROOT, 'test/package/consumer.ts'), join(dir, 'consumer.ts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: false, types: [], outDir: 'out', lib: ['ES2022', 'DOM'] },
    files: ['consumer.ts'],
  }));
  try {
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], dir);
  } catch (e) {
    throw new Error(`the consumer does not type-check:\n${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`);
  }
  const lines = (await run('node', ['out/consumer.js'], dir)).trim().split('\n');
  const r = JSON.parse(lines.at(-2)!) as Record<string, unknown>;
  expect(JSON.parse(lines.at(-1)!)).toEqual({ disposed: 'DisposedError', defaultSize: 256, sameEngine: true, store: 'function' });
  expect(r).toMatchObject({ steps: 2, epochs: 1, points: 37, width: 64, finite: true, heatmap: 37 * 32 * 32, size: 32, fresh: 3 });
  expect(r.names).toEqual(['ulnar styloid', 'ulna distal centre']);
  expect(r.bytes).toBeGreaterThan(10_000);
}, 600_000);

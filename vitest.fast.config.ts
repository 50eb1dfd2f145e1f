/**
 * `npm run test:fast`: the pure tests, for the edit–run loop. A test file is pure unless it reaches
 * a GPU engine (Dawn or SwiftShader), Chromium, TensorFlow.js / ONNX Runtime references, or runs the
 * built CLI in a child process — decided from its source, so a new test lands in the right tier
 * without a list to maintain. `npm test` still runs every file (vitest.config.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/** What makes a test file slow or device-bound: engines, browsers, reference frameworks, child processes. */
const HEAVY = /nodeEngine|acquireNodeEngine|createEngine|engineFromAdapter|node_suite|shareEngine|launchChromium|puppeteer|@tensorflow|onnxruntime|runBuilt|ensureBuilt|runInProcess|src\/cli\/commands|src\/cli\/run|execFile|spawn\(|dist\/osteo/;

const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? files(p) : p.endsWith('.test.ts') ? [p] : [];
});

export const FAST_TESTS = files(join(__dirname, 'test')).filter((f) => !HEAVY.test(readFileSync(f, 'utf8'))).map((f) => relative(__dirname, f));

export default defineConfig({ ...base, test: { ...base.test, include: FAST_TESTS } });

/**
 * Every export of `osteo` and `osteo/browser` has a doc comment, and the API reference builds:
 * TypeDoc (typedoc.json: notDocumented and invalidLink validation, warnings are errors).
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

test('the API reference builds with a doc comment on every export (npm run docs:api)', async () => {
  const root = resolve(__dirname, '../..');
  const r = await promisify(execFile)('node', ['scripts/docs_api.mjs', '--check'], { cwd: root, encoding: 'utf8' })
    .then((x) => ({ ok: true, out: `${x.stdout}${x.stderr}` }), (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }));
  expect(r.out).not.toMatch(/\[warning\]|\[error\]/);
  expect(r.ok, r.out).toBe(true);
}, 300_000);

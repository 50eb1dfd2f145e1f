/**
 * weights/README.md states the shipped model's size and SHA-256: they must be the tracked file's.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = process.cwd();

test.each(['osteo-isbi2015-ceph', 'osteo-ceph-2site'])('weights/README.md names %s\'s byte size and SHA-256, and its metadata names no path of this machine', (name) => {
  const bytes = readFileSync(join(ROOT, `weights/${name}.safetensors`));
  const readme = readFileSync(join(ROOT, 'weights/README.md'), 'utf8');
  expect(readme).toContain(createHash('sha256').update(bytes).digest('hex'));
  expect(readme).toContain(`${bytes.length.toLocaleString('en')} bytes`);
  // the safetensors header (JSON after an 8-byte length) holds the training run's settings
  const header = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
  expect(header).not.toMatch(/\/tmp\/|\/work\/|\/home\//);
});

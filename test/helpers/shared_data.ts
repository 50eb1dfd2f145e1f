/**
 * The real X-ray samples (ISBI 2015, Digital Hand Atlas, Shenzhen chest) live outside the
 * repository, at `../shared/data` next to the clone, on the project's own machines and CI only: a
 * user's clone has none. Tests that read them use `itShared`, which skips them — saying why, once
 * per file — where that folder does not exist. Everything they check about the readers is also
 * checked on generated files by tests that always run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

/** `<repo>/../shared/data`, resolved from this file (test/helpers/ → repository root). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data', import.meta.url));

export const hasSharedData = existsSync(SHARED_DATA);

let told = false;

/** `it` for tests that need the real samples; skipped with a printed reason where they are absent. */
export function itShared(name: string, fn: () => unknown, timeout?: number): void {
  if (!hasSharedData && !told) {
    told = true;
    console.warn(`[osteo tests] skipping the real-sample tests: ${SHARED_DATA} does not exist (the samples are on the project's CI only; every reader is also tested on generated files)`);
  }
  it.skipIf(!hasSharedData)(`${name} [real samples: ../shared/data]`, fn, timeout);
}

/**
 * The shipped two-stage cephalometric model (weights/README.md): `osteo predict` predicts with it
 * and `osteo serve` offers it to the page when no other model is named.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEFAULT_CEPH_MODEL = 'weights/osteo-isbi2015-ceph.safetensors';

/**
 * The shipped model's path: under the working folder (a clone), else next to the installed package
 * (dist/osteo.mjs → ../weights/); undefined when neither holds it (an install without weights).
 */
export function findShippedCephModel(): string | undefined {
  if (existsSync(DEFAULT_CEPH_MODEL)) return DEFAULT_CEPH_MODEL;
  const beside = fileURLToPath(new URL(`../${DEFAULT_CEPH_MODEL}`, import.meta.url));
  return existsSync(beside) ? beside : undefined;
}

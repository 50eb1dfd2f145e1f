/**
 * The shipped two-stage cephalometric model (weights/README.md): `osteo predict` predicts with it
 * and `osteo serve` offers it to the page when no other model is named. The default is the
 * two-site model (ISBI 2015 + Hamedan); the ISBI-only model is the fallback when it is absent.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEFAULT_CEPH_MODEL = 'weights/osteo-ceph-2site.safetensors';
/** The ISBI 2015-only model, used when the default is absent. */
export const ISBI_CEPH_MODEL = 'weights/osteo-isbi2015-ceph.safetensors';

/**
 * The shipped model's path: under the working folder (a clone), else next to the installed package
 * (dist/osteo.mjs → ../weights/); undefined when neither holds it (an install without weights).
 */
export function findShippedCephModel(): string | undefined {
  for (const f of [DEFAULT_CEPH_MODEL, ISBI_CEPH_MODEL]) {
    if (existsSync(f)) return f;
    const beside = fileURLToPath(new URL(`../${f}`, import.meta.url));
    if (existsSync(beside)) return beside;
  }
  return undefined;
}

import type { Engine } from '../../src/gpu/engine';

/**
 * A host-agnostic test case: the Node suite wraps each in a vitest `test`, the Chromium page
 * runs the same list and reports back. `run` throws on failure.
 */
export interface Case {
  name: string;
  run(engine: Engine): Promise<void>;
}

/**
 * Runs a case inside validation / out-of-memory error scopes and checks that the pool's live
 * bytes return to where they were (nothing leaked).
 */
export async function runCase(engine: Engine, c: Case): Promise<void> {
  const before = engine.memory().liveBytes;
  await engine.scope(() => c.run(engine));
  const after = engine.memory().liveBytes;
  if (after !== before) throw new Error(`${c.name}: leaked ${after - before} bytes of pool memory (live ${before} → ${after})`);
}

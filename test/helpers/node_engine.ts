import { acquireNodeEngine } from '../../src/node/acquire_node';
import type { Engine } from '../../src/gpu/engine';

let engine: Promise<Engine> | null = null;
/** One engine per test process (vitest runs each file in its own fork). */
export function nodeEngine(): Promise<Engine> {
  engine ??= acquireNodeEngine();
  return engine;
}

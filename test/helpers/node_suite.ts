import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Engine } from '../../src/gpu/engine';
import { runCase } from '../suites/case';
import { ALL_SUITES } from '../suites/all';
import { nodeEngine } from './node_engine';

/** Registers one host-agnostic suite as vitest tests on the Node (Dawn) engine. */
export function nodeSuite(name: keyof typeof ALL_SUITES & string): void {
  let engine: Engine;
  beforeAll(async () => {
    engine = await nodeEngine();
  });
  afterAll(() => engine?.destroy());
  const cases = ALL_SUITES[name]!;
  describe(name, () => {
    if (cases.length === 0) test.todo(`${name}: no cases yet`);
    for (const c of cases) test(c.name, () => runCase(engine, c));
  });
}

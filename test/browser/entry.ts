// Runs every host-agnostic suite in the page and leaves the results on window.__osteo.
import { acquireBrowserEngine } from '../../src/gpu/acquire';
import { runCase } from '../suites/case';
import { ALL_SUITES } from '../suites/all';

export interface BrowserResult {
  suite: string;
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

declare global {
  interface Window {
    __osteo?: { done: boolean; adapter?: unknown; results: BrowserResult[]; fatal?: string };
  }
}

async function main(): Promise<void> {
  const state: NonNullable<Window['__osteo']> = { done: false, results: [] };
  window.__osteo = state;
  try {
    let engine = await acquireBrowserEngine();
    state.adapter = engine.adapter;
    for (const [suite, cases] of Object.entries(ALL_SUITES)) {
      for (const c of cases) {
        const t0 = performance.now();
        try {
          await runCase(engine, c);
          state.results.push({ suite, name: c.name, ok: true, ms: performance.now() - t0 });
        } catch (e) {
          // give the device a moment to report loss, then record the case and carry on with a fresh device
          await new Promise((r) => setTimeout(r, 50));
          const lost = engine.lostReason;
          state.results.push({ suite, name: c.name, ok: false, error: `${String((e as Error).stack ?? e)}${lost ? `\n(device lost: ${lost})` : ''}`, ms: performance.now() - t0 });
          if (lost) engine = await acquireBrowserEngine();
        }
        console.log(`[osteo] ${suite} > ${c.name}: ${state.results.at(-1)!.ok ? 'ok' : 'FAIL'}`);
      }
    }
    engine.destroy();
  } catch (e) {
    state.fatal = String((e as Error).stack ?? e);
  }
  state.done = true;
}

void main();

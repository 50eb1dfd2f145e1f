import type { Engine } from '../gpu/engine';
import { acquireNodeEngine } from '../node/acquire_node';

/**
 * How every command gets and gives back its engine: the one place a GPU is acquired, so tests can
 * share one engine across commands, or check that a bad command line never gets this far.
 */
export const engineProvider = {
  acquire: (software?: boolean): Promise<Engine> => acquireNodeEngine({ forceSoftware: software }),
  release: (engine: Engine): void => engine.destroy(),
};

export async function withEngine<T>(software: boolean | undefined, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await engineProvider.acquire(software);
  try {
    return await fn(engine);
  } finally {
    engineProvider.release(engine);
  }
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineProvider } from '../../src/cli/engine';
import { nodeEngine } from '../helpers/node_engine';

/** Narrow VGG19 / decoder so a training step takes about a second on SwiftShader. */
export const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
export const DECODER = [8, 8, 4, 4, 4];
export const NARROW = ['--widths', WIDTHS.join(','), '--decoder', DECODER.join(',')];

export const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `osteo-${name}-`));

/** Every command in this process uses the test process's one engine, and never destroys it. */
export function shareEngine(): void {
  engineProvider.acquire = () => nodeEngine();
  engineProvider.release = () => {};
}

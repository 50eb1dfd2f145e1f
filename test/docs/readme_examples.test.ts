/**
 * The README's library examples run as tests, so they cannot rot: each ```ts block after an
 * `<!-- example:NAME -->` marker is run against this checkout (`'osteo'` → src/node/api.ts) in a
 * folder holding the files it names. The browser example runs in test/browser_api.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { synthesize } from '../../src/data/synthetic';
import { createEngine, createModel } from '../../src/node/api';
import { writeGreyPng } from '../../src/node/data_png';
import { readmeExample } from '../helpers/readme';

const ROOT = resolve(__dirname, '../..');
const WIDTHS = [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];

/** Runs an example as a module in `cwd`; returns what it logged. */
async function runExample(code: string, cwd: string): Promise<string[]> {
  const file = join(cwd, 'example.ts');
  writeFileSync(file, code.replace(/from 'osteo'/g, `from '${join(ROOT, 'src/node/api.ts')}'`));
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  const was = process.cwd();
  process.chdir(cwd);
  try {
    await import(file);
  } finally {
    process.chdir(was);
    spy.mockRestore();
  }
  return lines;
}

afterEach(() => vi.restoreAllMocks());

describe('README library examples', () => {
  test('"Use as a library (Node)": load a checkpoint, predict on a PNG, save', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-readme-node-'));
    const hand = synthesize({ kind: 'hand', n: 1, size: 96, seed: 5 });
    writeGreyPng(join(dir, 'xray.png'), hand.images[0]!);
    const engine = await createEngine();
    try {
      const model = createModel(engine, { landmarks: 37, size: 32, widths: WIDTHS, decoderChannels: [8, 8, 4, 4, 4], landmarkNames: hand.landmarkNames });
      writeFileSync(join(dir, 'model.safetensors'), await model.save());
      model.dispose();
    } finally {
      engine.destroy();
    }
    const lines = await runExample(readmeExample('node'), dir);
    expect(lines).toHaveLength(37);
    expect(lines[0]).toMatch(/^ulnar styloid: \(\d+\.\d, \d+\.\d\) px, peak -?\d+\.\d\d$/);
  });

  test('"Bring your own data": train on images and points in memory, evaluate', async () => {
    const lines = await runExample(readmeExample('data'), mkdtempSync(join(tmpdir(), 'osteo-readme-data-')));
    expect(lines.some((l) => /^init: scratch/.test(l))).toBe(true);
    const last = lines.at(-1)!;
    expect(last).toMatch(/^best validation MRE \d+\.\d\d mm /);
    const report = JSON.parse(last.slice(last.indexOf('{'))) as { unit: string; overall: { n: number; mre: number }; perLandmark: unknown[] };
    expect(report.unit).toBe('mm');
    expect(report.overall.n).toBe(8 * 37);
    expect(report.perLandmark).toHaveLength(37);
  });
});

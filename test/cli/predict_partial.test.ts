/**
 * predict writes predictions.json as it goes (issue 10): a run that dies at image N keeps the
 * images before it. The death here is --strict meeting an unreadable second image.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { predictMain } from '../../src/cli/commands/predict';
import { trainMain } from '../../src/cli/commands/train';
import { synthesize } from '../../src/data/synthetic';
import { DataError } from '../../src/data/types';
import { CHECKPOINT_BEST } from '../../src/node/checkpoint';
import { encodePngRaw } from '../data/encoders';
import { NARROW, shareEngine, tmp } from '../train/helpers';

let model = '';
beforeAll(async () => {
  shareEngine();
  const out = tmp('partial-model');
  await trainMain(['--data', 'synthetic:hand?n=2&size=64', '--init', 'scratch', '--size', '32', '--batch', '2', '--epochs', '1', '--val-split', '0', ...NARROW, '--out', out], { quiet: true });
  model = join(out, CHECKPOINT_BEST);
});

test('a run that dies at image 2 of 3 leaves predictions.json with image 1', async () => {
  const out = tmp('partial');
  const s = synthesize({ kind: 'hand', n: 2, size: 64, seed: 3 });
  const png = (i: number) => encodePngRaw(64, 64, Array.from(s.images[i]!.data, (v) => Math.round(Math.min(255, Math.max(0, v)))), 0, 8);
  const a = join(out, 'a.png'), bad = join(out, 'b.png'), c = join(out, 'c.png');
  writeFileSync(a, png(0));
  writeFileSync(bad, 'not an image');
  writeFileSync(c, png(1));
  const res = join(out, 'res');
  await expect(predictMain([a, bad, c, '--model', model, '--strict', '--out', res])).rejects.toBeInstanceOf(DataError);
  const file = join(res, 'predictions.json');
  expect(existsSync(file)).toBe(true);
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  expect(doc.images.map((r: { image: string }) => r.image)).toEqual([a]);
  expect(doc.images[0].points).toHaveLength(37);
});

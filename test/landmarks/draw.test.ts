import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/data/synthetic';
import { COLOURS, drawOverlay, heatmapMontage } from '../../src/landmarks/draw';
import { gaussianHeatmaps } from '../../src/landmarks/preprocess';
import { writeHeatmapMontagePng, writeOverlayPng } from '../../src/node/data_png';

describe('overlay and montage PNGs', () => {
  const s = synthesize({ kind: 'hand', n: 1, size: 96, seed: 2 });
  const gt = s.points[0]!;
  const pred = gt.map(([x, y]) => [x + 4, y - 3] as [number, number]);
  it('draws ground truth, predictions and error vectors', () => {
    const c = drawOverlay(s.images[0]!, pred, gt, { radius: 2 });
    expect([c.width, c.height]).toEqual([96, 96]);
    const px = (x: number, y: number) => Array.from(c.data.subarray(4 * (Math.round(y) * 96 + Math.round(x)), 4 * (Math.round(y) * 96 + Math.round(x)) + 3));
    expect(px(gt[0]![0], gt[0]![1])).toEqual(COLOURS.gt);
    expect(px(pred[0]![0], pred[0]![1])).toEqual(COLOURS.pred);
  });
  it('writes PNGs atomically (no temp files left) that decode to the drawn pixels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'osteo-png-'));
    writeOverlayPng(join(dir, 'overlay.png'), s.images[0]!, pred, gt);
    const hm = gaussianHeatmaps(gt, 32, 32, 2);
    writeHeatmapMontagePng(join(dir, 'montage.png'), hm, 37, 32, 32);
    expect(readdirSync(dir).sort()).toEqual(['montage.png', 'overlay.png']);
    const o = PNG.sync.read(readFileSync(join(dir, 'overlay.png')));
    expect([o.width, o.height]).toEqual([96, 96]);
    const m = PNG.sync.read(readFileSync(join(dir, 'montage.png')));
    const want = heatmapMontage(hm, 37, 32, 32);
    expect([m.width, m.height]).toEqual([7 * 33 + 1, 6 * 33 + 1]);
    expect(Buffer.compare(m.data, Buffer.from(want.data))).toBe(0);
  });
});

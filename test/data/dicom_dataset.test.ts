/**
 * A folder of DICOM X-rays with a points file (`generic:labels.csv`): sizes and spacing come from
 * the files' headers, errors are in mm without an `mm=` option, a broken file is skipped and
 * counted (or thrown with strict).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/types';
import { loadItemImage, readDataset } from '../../src/node/data_readers';
import { TS, writeDicom } from './dicom_writer';

const W = 40, H = 30;
const pixels = Array.from({ length: W * H }, (_, i) => (i * 37) % 4096);

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'osteo-dicom-'));
  writeFileSync(join(dir, 'a.dcm'), writeDicom({ width: W, height: H, pixels, bitsStored: 12, pixelSpacing: [0.1, 0.1] }));
  // a DICOM file without an extension, deflated, MONOCHROME1, spacing from ImagerPixelSpacing only
  writeFileSync(join(dir, 'IM0002'), writeDicom({ width: W, height: H, pixels, bitsStored: 12, photometric: 'MONOCHROME1', transferSyntax: TS.deflate, imagerPixelSpacing: [0.2, 0.2] }));
  return dir;
}

describe('generic: data spec over DICOM files', () => {
  it('reads sizes and mm per pixel from the DICOM headers: errors in mm with no mm= option', () => {
    const dir = folder();
    writeFileSync(join(dir, 'labels.csv'), 'image,x1,y1,x2,y2\na.dcm,1,2,30,20\nIM0002,5,5,39,29\n');
    const ds = readDataset(`generic:${join(dir, 'labels.csv')}`);
    expect(ds.items.map((i) => [i.id, i.width, i.height, i.mmPerPixel])).toEqual([['IM0002', W, H, 0.2], ['a', W, H, 0.1]]);
    expect(ds.unit).toBe('mm');
    expect(ds.report!.notes.join('\n')).toMatch(/1 image\(s\) from their files' PixelSpacing/);
    expect(ds.report!.notes.join('\n')).toMatch(/ImagerPixelSpacing \(at the detector/);
    const img = loadItemImage(ds.items[0]!);
    expect(img.data[0]).toBe(4095 - pixels[0]!); // MONOCHROME1 inverted
    expect(img.spacing?.source).toBe('ImagerPixelSpacing');
  });

  it("the labels' own mm per pixel wins over the file's", () => {
    const dir = folder();
    writeFileSync(join(dir, 'labels.csv'), 'image,x1,y1,mm_per_pixel\na.dcm,1,2,0.5\n');
    expect(readDataset(`generic:${join(dir, 'labels.csv')}`).items[0]!.mmPerPixel).toBe(0.5);
  });

  it('a broken DICOM is skipped and counted, or thrown with strict', () => {
    const dir = folder();
    const b = writeDicom({ width: W, height: H, pixels, photometric: 'RGB', samplesPerPixel: 3 });
    writeFileSync(join(dir, 'trunc.dcm'), b.subarray(0, 100));
    writeFileSync(join(dir, 'labels.csv'), 'image,x1,y1\na.dcm,1,2\ntrunc.dcm,1,1\n');
    const ds = readDataset(`generic:${join(dir, 'labels.csv')}`);
    expect(ds.items.map((i) => i.id)).toEqual(['a']);
    expect(ds.report!.skipped).toBe(1);
    expect(ds.report!.errors[0]!.message).toMatch(/trunc\.dcm: truncated DICOM/);
    expect(() => readDataset(`generic:${join(dir, 'labels.csv')}?strict`)).toThrow(DataError);
  });

  it('an RGB DICOM passes the header check but its decode names the problem', () => {
    const dir = folder();
    writeFileSync(join(dir, 'rgb.dcm'), writeDicom({ width: W, height: H, pixels, photometric: 'RGB', samplesPerPixel: 3 }));
    writeFileSync(join(dir, 'labels.csv'), 'image,x1,y1\nrgb.dcm,1,2\n');
    const ds = readDataset(`generic:${join(dir, 'labels.csv')}`);
    expect(() => loadItemImage(ds.items[0]!)).toThrow(/rgb\.dcm: unsupported DICOM photometric interpretation RGB/);
  });
});

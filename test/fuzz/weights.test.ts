/** Fuzzing the weight readers: safetensors (torchvision, smp, osteo layouts), tfjs model.json + shards, Keras .h5. */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { OsteoError } from '../../src/gpu/errors';
import { parseSafetensorsHeader, parseTfjsManifest, readWeights, WeightFileError } from '../../src/weights/index';
import { readKerasH5 } from '../../src/weights/keras_h5';
import { editedJson, expectDocumented, fuzz, hostileJson, mutated, reportTo } from './harness';

reportTo('weights');

// h5wasm binds the console when first imported; keras_h5 must import it first (to silence the
// HDF5 library's printing), so the fixtures, which import h5wasm too, are loaded after it.
await readKerasH5(Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0])).catch(() => {});
const { craftSafetensors, kerasH5Bytes, randomKerasLayers, safetensorsBytes, SMALL, SMALL_DECODER, smpTensors, tfjsFiles, torchvisionTensors } = await import('../weights/fixtures');

const FILE = 'fuzz-weights.bin';
const OPTS = { file: FILE, spec: SMALL, decoderChannels: SMALL_DECODER };
const SAFETENSORS = [safetensorsBytes(torchvisionTensors(SMALL, 3, false)), safetensorsBytes(smpTensors(2, 5))];

/**
 * readWeights gives canonical tensors whose data fits their shape and is finite, or a WeightFileError naming the file.
 */
async function checkRead(input: Uint8Array | Map<string, Uint8Array>): Promise<Error | void> {
  const r = await expectDocumented(() => readWeights(input, OPTS), [WeightFileError, OsteoError], FILE);
  if ('error' in r) return r.error;
  for (const [name, t] of r.value.tensors) {
    expect(t.data.length, name).toBe(t.shape.reduce((a, b) => a * b, 1));
    for (const v of t.data) if (!Number.isFinite(v)) expect.fail(`${name}: non-finite ${v}`);
  }
}

/** Header entries lie inside the file, in order, with a size that matches dtype x shape. */
async function checkHeader(bytes: Uint8Array): Promise<Error | void> {
  const r = await expectDocumented(() => parseSafetensorsHeader(bytes, FILE), [WeightFileError], FILE);
  if ('error' in r) return r.error;
  for (const e of r.value.entries) {
    expect(e.begin).toBeGreaterThanOrEqual(r.value.dataStart);
    expect(e.end).toBeLessThanOrEqual(bytes.length);
    expect(e.begin).toBeLessThanOrEqual(e.end);
  }
}

const validHeader = { 'features.0.weight': { dtype: 'F32', shape: [2, 1, 1, 1], data_offsets: [0, 8] }, 'features.0.bias': { dtype: 'F16', shape: [2], data_offsets: [8, 12] }, __metadata__: { format: 'pt' } };
const craftedHeader = editedJson(validHeader).map((h) => craftSafetensors(h, new Uint8Array(12).fill(60)));
const rawHeader = fc.string({ maxLength: 80 }).map((s) => craftSafetensors(null, new Uint8Array(16), s));

const layers = randomKerasLayers(SMALL, 2);
const TFJS = tfjsFiles(layers, 2);
const manifest = JSON.parse(new TextDecoder().decode(TFJS.get('model.json')!));
const tfjsEdited = editedJson(manifest).map((doc) => new Map([...TFJS, ['model.json', new TextEncoder().encode(JSON.stringify(doc))]]));
const shardNames = [...TFJS.keys()].filter((k) => k !== 'model.json');
const tfjsShards = fc.tuple(fc.constantFrom(...shardNames), mutated(shardNames.map((n) => TFJS.get(n)!), 3)).map(([n, b]) => new Map([...TFJS, [n, b]]));

const H5 = [await kerasH5Bytes(layers, 'keras2')];

describe('fuzz: weight files', () => {
  fuzz('safetensors header, mutated files', mutated(SAFETENSORS), checkHeader, { quickRuns: 80 });
  fuzz('safetensors header, edited JSON', craftedHeader, checkHeader, { quickRuns: 80 });
  fuzz('safetensors header, raw text', rawHeader, checkHeader, { quickRuns: 40 });
  fuzz('safetensors weights (torchvision, smp), mutated', mutated(SAFETENSORS, 3), checkRead, { quickRuns: 40, longScale: 0.25 });
  fuzz('tfjs model.json, edited manifest', tfjsEdited, checkRead, { quickRuns: 60, longScale: 0.5 });
  fuzz('tfjs weightsManifest, any JSON', hostileJson, (m) => expectDocumented(() => parseTfjsManifest(JSON.stringify({ weightsManifest: m }), 'fuzz-model.json'), [WeightFileError], 'fuzz-model.json').then((r) => ('error' in r ? r.error : undefined)), { quickRuns: 60 });
  fuzz('tfjs shards, mutated', tfjsShards, checkRead, { quickRuns: 20, longScale: 0.25 });
  fuzz('Keras .h5, mutated', mutated(H5, 3), checkRead, { quickRuns: 12, longScale: 0.05 });
});

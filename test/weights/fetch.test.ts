import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEIGHT_SOURCES, WeightFetchError, fetchWeights } from '../../src/node/weights_fetch';
import { readSafetensors } from '../../src/weights/index';
import { SMALL, kerasH5Bytes, randomKerasLayers } from './fixtures';

let server: Server;
let base: string;
let file: Uint8Array;
let sha256: string;
let md5: string;
const hits: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'osteo-fetch-'));

beforeAll(async () => {
  file = await kerasH5Bytes(randomKerasLayers(SMALL, 12));
  sha256 = createHash('sha256').update(file).digest('hex');
  md5 = createHash('md5').update(file).digest('hex');
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/vgg19.h5') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) });
      // Several chunks so progress is reported more than once.
      const step = Math.ceil(file.length / 4);
      let o = 0;
      const next = () => {
        if (o >= file.length) return void res.end();
        res.write(file.subarray(o, o + step));
        o += step;
        setTimeout(next, 15);
      };
      next();
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/vgg19.h5' });
      res.end();
    } else if (req.url === '/cut') {
      // Promises the whole file, sends half, then drops the connection.
      res.writeHead(200, { 'content-length': String(file.length) });
      res.write(file.subarray(0, file.length >> 1), () => res.destroy());
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

const fresh = (name: string) => join(root, name);
const leftovers = (dir: string) => (existsSync(join(dir, 'downloads')) ? readdirSync(join(dir, 'downloads')) : []);

describe('fetchWeights from a local server', () => {
  it('the official sources are the known URLs, with the published Keras hash', () => {
    expect(WEIGHT_SOURCES.keras.url).toBe('https://github.com/fchollet/deep-learning-models/releases/download/v0.1/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(WEIGHT_SOURCES.keras.md5).toBe('253f8cb515780f3b799900260a226db6');
    expect(WEIGHT_SOURCES.timm.url).toBe('https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors');
  });

  it('downloads with progress, verifies SHA-256 and MD5, stores atomically and converts', async () => {
    const dir = fresh('ok');
    const progress: { received: number; total?: number }[] = [];
    const r = await fetchWeights('keras', { url: `${base}/redirect`, sha256, md5, weightsDir: dir, spec: SMALL, onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ verified: 'sha256+md5', cached: false, bytes: file.length, sha256, md5 });
    expect(r.downloaded).toBe(join(dir, 'downloads', WEIGHT_SOURCES.keras.fileName));
    expect(Buffer.compare(readFileSync(r.downloaded), Buffer.from(file))).toBe(0);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ received: file.length, total: file.length });
    expect(leftovers(dir)).toEqual([WEIGHT_SOURCES.keras.fileName]);
    expect(r.conversion!.out).toBe(join(dir, 'vgg19-imagenet.safetensors'));
    const conv = readSafetensors(new Uint8Array(readFileSync(r.conversion!.out)));
    expect(conv.metadata).toMatchObject({ source_format: 'keras-h5', source_sha256: sha256, normalization: 'caffe-imagenet' });
    // A second call reuses the verified download without touching the network.
    const n = hits.length;
    const again = await fetchWeights('keras', { url: `${base}/vgg19.h5`, sha256, weightsDir: dir, spec: SMALL, noConvert: true });
    expect(again.cached).toBe(true);
    expect(hits.length).toBe(n);
  });

  it('rejects a wrong SHA-256 and leaves nothing behind', async () => {
    const dir = fresh('badsha');
    const e = await fetchWeights('keras', { url: `${base}/vgg19.h5`, sha256: '0'.repeat(64), weightsDir: dir, spec: SMALL }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WeightFetchError);
    expect((e as Error).message).toMatch(/SHA-256 mismatch .* expected 0{64}, got [0-9a-f]{64}; .*nothing was saved/);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(join(dir, 'vgg19-imagenet.safetensors'))).toBe(false);
  });

  it('rejects a wrong MD5 (the hash Keras publishes) too', async () => {
    const dir = fresh('badmd5');
    await expect(fetchWeights('keras', { url: `${base}/vgg19.h5`, md5: 'f'.repeat(32), weightsDir: dir, spec: SMALL })).rejects.toThrow(/MD5 mismatch/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a connection dropped mid-download leaves nothing behind', async () => {
    const dir = fresh('cut');
    await expect(fetchWeights('keras', { url: `${base}/cut`, sha256, weightsDir: dir, spec: SMALL })).rejects.toThrow(WeightFetchError);
    expect(leftovers(dir)).toEqual([]);
  });

  it('HTTP errors say how to get the file by hand', async () => {
    const dir = fresh('404');
    await expect(fetchWeights('keras', { url: `${base}/missing.h5`, weightsDir: dir })).rejects.toThrow(
      new RegExp(`${base}/missing\\.h5 answered HTTP 404.*download the file by hand from ${base}/missing\\.h5 and run \`osteo weights convert FILE\``),
    );
  });

  it('no network: "could not reach … ; download the file by hand"', async () => {
    // A port nothing listens on (opened and closed again).
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const dir = fresh('offline');
    const url = `http://127.0.0.1:${port}/vgg19.h5`;
    const e = await fetchWeights('keras', { url, weightsDir: dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WeightFetchError);
    expect((e as Error).message).toMatch(new RegExp(`^could not reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); download the file by hand from ${url.replace(/\./g, '\\.')} and run \`osteo weights convert FILE\`$`));
    expect(leftovers(dir)).toEqual([]);
    // The default (official) URL is named in the message when fetch itself fails.
    const offline = (() => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } }))) as unknown as typeof fetch;
    await expect(fetchWeights('timm', { fetch: offline, weightsDir: dir })).rejects.toThrow(
      'could not reach huggingface.co (ENOTFOUND); download the file by hand from https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors',
    );
  });
});

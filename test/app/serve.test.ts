/**
 * `osteo serve`: the static server of the web app (files with their MIME types, nothing outside
 * the app folder, config.json naming the default model, the model's bytes), its option checks
 * before anything listens, and a clean stop on SIGINT of the built CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { SERVE_LIMITS, startAppServer } from '../../src/cli/commands/serve';
import { runCli } from '../../src/cli/run';
import { createEngine, createModel } from '../../src/node/api';

const ROOT = resolve(__dirname, '../..');
let dir: string;
let checkpoint: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'osteo-serve-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'app/app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'app/app.css'), 'body{}');
  writeFileSync(join(dir, 'app/chunk-AB12CD34.js'), 'export const x = 1;');
  writeFileSync(join(dir, 'app/manifest.webmanifest'), '{}');
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'outside/inner.txt'), 'outside too');
  // links inside the app folder that point out of it: the server must not follow them
  symlinkSync(join(dir, 'secret.txt'), join(dir, 'app/linked-secret.txt'));
  symlinkSync(join(dir, 'outside'), join(dir, 'app/linked-dir'));
  writeFileSync(join(dir, 'secret.txt'), 'outside');
  writeFileSync(join(dir, 'broken.safetensors'), 'not a checkpoint');
  const engine = await createEngine();
  try {
    const m = createModel(engine, { landmarks: 3, size: 32, widths: [4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8], decoderChannels: [8, 8, 4, 4, 4] });
    checkpoint = await m.save();
    m.dispose();
  } finally {
    engine.destroy();
  }
  writeFileSync(join(dir, 'my model.safetensors'), checkpoint);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('osteo serve', () => {
  test('serves the app with MIME types, config.json with the default model, the model bytes, and nothing outside the folder', async () => {
    const { server, url } = await startAppServer({ root: join(dir, 'app'), port: 0, host: '127.0.0.1', model: join(dir, 'my model.safetensors') });
    try {
      const get = (p: string) => fetch(new URL(p, url));
      const index = await get('/');
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect((await get('/app.js')).headers.get('content-type')).toMatch(/^text\/javascript/);
      expect((await get('/app.css')).headers.get('content-type')).toMatch(/^text\/css/);
      const config = await (await get('/config.json')).json();
      expect(config).toEqual({ model: 'model/my%20model.safetensors' });
      const model = new Uint8Array(await (await get(config.model)).arrayBuffer());
      expect(model).toEqual(checkpoint);
      expect((await get('/nope.js')).status).toBe(404);
      expect((await get('/%2e%2e/secret.txt')).status).toBe(404); // the URL parser resolves it to /secret.txt inside the app
      expect((await get('/..%2fsecret.txt')).status).toBe(403);
      expect((await fetch(new URL('/', url), { method: 'POST' })).status).toBe(405);
    } finally {
      server.close();
    }
    const bare = await startAppServer({ root: join(dir, 'app'), port: 0, host: '127.0.0.1' });
    try {
      expect(await (await fetch(new URL('/config.json', bare.url))).json()).toEqual({ model: null });
    } finally {
      bare.server.close();
    }
  });

  test('hostile requests: encoded and double-encoded dot-dot, symlinks out of the folder, NUL, bodies, oversized and slow headers', async () => {
    const { server, url } = await startAppServer({ root: join(dir, 'app'), port: 0, host: '127.0.0.1', limits: { headersTimeoutMs: 1000 } });
    const { port } = new URL(url);
    /** Sends raw bytes and resolves to what came back when the server closed the connection (or after 8 s). */
    const raw = (text: string, keepOpen = false) => new Promise<{ reply: string; closedAfterMs: number }>((ok, fail) => {
      const t0 = Date.now();
      let reply = '';
      const sock = connect(Number(port), '127.0.0.1', () => sock.write(text));
      sock.on('data', (b) => { reply += b; });
      sock.on('error', fail);
      sock.on('close', () => { clearTimeout(timer); ok({ reply, closedAfterMs: Date.now() - t0 }); });
      const timer = setTimeout(() => { sock.destroy(); }, keepOpen ? 8000 : 4000);
    });
    const status = (r: { reply: string }) => Number(/^HTTP\/1\.1 (\d+)/.exec(r.reply)?.[1] ?? 0);
    try {
      const get = (p: string) => raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      // the raw paths, not a client's normalised ones
      for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/..%2fsecret.txt', '/..%5csecret.txt', '/%252e%252e/secret.txt', '/linked-dir/../../secret.txt']) {
        const r = await get(p);
        expect([400, 403, 404], p).toContain(status(r));
        expect(r.reply, p).not.toContain('outside');
      }
      expect(status(await get('/linked-secret.txt'))).toBe(403);
      expect(status(await get('/linked-dir/inner.txt'))).toBe(403);
      expect(status(await get('/app.js%00.png'))).toBe(400);
      expect(status(await get('/app.js'))).toBe(200);
      // a GET with a body is refused, and its body never read
      const body = await raw(`GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nxxxx`, true);
      expect(status(body)).toBe(413);
      expect(body.closedAfterMs).toBeLessThan(8000);
      // headers over the size limit: 431, before the handler
      expect(status(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(SERVE_LIMITS.maxHeaderBytes + 1)}\r\n\r\n`))).toBe(431);
      // headers that never finish: the connection is closed (408) after the header timeout, not held open
      const slow = await raw('GET / HTTP/1.1\r\nHost: x\r\n', true);
      expect(slow.closedAfterMs).toBeLessThan(8000);
      expect([0, 408]).toContain(status(slow));
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  test('content types and caching: hashed chunks are immutable, the rest (app, manifest, model, config) is revalidated by ETag and answers 304 when unchanged', async () => {
    const { server, url } = await startAppServer({ root: join(dir, 'app'), port: 0, host: '127.0.0.1', model: join(dir, 'my model.safetensors') });
    try {
      const get = (p: string, headers: Record<string, string> = {}) => fetch(new URL(p, url), { headers });
      const types: [string, RegExp][] = [['/', /^text\/html; charset=utf-8/], ['/app.js', /^text\/javascript/], ['/chunk-AB12CD34.js', /^text\/javascript/], ['/app.css', /^text\/css/], ['/manifest.webmanifest', /^application\/manifest\+json/], ['/config.json', /^application\/json/], ['/model/my%20model.safetensors', /^application\/octet-stream$/]];
      for (const [p, type] of types) {
        const r = await get(p);
        expect(r.status, p).toBe(200);
        expect(r.headers.get('content-type'), p).toMatch(type);
        expect(r.headers.get('x-content-type-options'), p).toBe('nosniff');
        expect(r.headers.get('cache-control'), p).toBe(p.startsWith('/chunk-') ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
      for (const p of ['/', '/app.js', '/model/my%20model.safetensors']) {
        const first = await get(p);
        const etag = first.headers.get('etag');
        expect(etag, p).toMatch(/^".+"$/);
        const again = await get(p, { 'if-none-match': etag! });
        expect(again.status, p).toBe(304);
        expect((await again.arrayBuffer()).byteLength).toBe(0);
        expect((await get(p, { 'if-none-match': '"other"' })).status, p).toBe(200);
      }
    } finally {
      server.close();
    }
  });

  test('bad options are usage errors naming the option, before anything listens', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await runCli(['serve', '--port', '70000', '--dir', join(dir, 'app')])).toBe(2);
      expect(err.mock.calls.flat().join('\n')).toMatch(/--port must be at most 65535/);
      expect(await runCli(['serve', '--model', join(dir, 'missing.safetensors'), '--dir', join(dir, 'app')])).toBe(2);
      expect(err.mock.calls.flat().join('\n')).toMatch(/--model .*missing\.safetensors: no such file/);
      expect(await runCli(['serve', '--model', join(dir, 'broken.safetensors'), '--dir', join(dir, 'app')])).toBe(2);
      expect(err.mock.calls.flat().join('\n')).toMatch(/--model .*broken\.safetensors/);
      expect(await runCli(['serve', '--dir', dir])).toBe(2);
      expect(err.mock.calls.flat().join('\n')).toMatch(/no index\.html there/);
    } finally {
      err.mockRestore();
    }
  });

  test('the built CLI serves dist/app with the model and stops cleanly on SIGINT', async () => {
    const cli = join(ROOT, 'dist/osteo.mjs');
    expect(existsSync(cli) && existsSync(join(ROOT, 'dist/app/index.html')), 'npm run build first').toBe(true);
    const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--model', join(dir, 'my model.safetensors')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const url = await new Promise<string>((ok, fail) => {
      child.stdout.on('data', (b: Buffer) => { out += b; const m = /http:\/\/\S+\//.exec(out); if (m) ok(m[0]); });
      child.on('exit', () => fail(new Error(`serve exited: ${out}`)));
    });
    const html = await (await fetch(url)).text();
    expect(html).toContain('id="model-input"');
    expect(await (await fetch(new URL('/config.json', url))).json()).toEqual({ model: 'model/my%20model.safetensors' });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);

  test('without --model the built CLI offers the shipped cephalometric model (found beside the package from any folder); --model none offers none', async () => {
    const cli = join(ROOT, 'dist/osteo.mjs');
    const shipped = join(ROOT, 'weights/osteo-ceph-2site.safetensors');
    expect(existsSync(shipped), 'the shipped model is tracked in weights/').toBe(true);
    const serve = async (args: string[]) => {
      // from a folder that holds no weights/: the model is found next to dist/
      const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const url = await new Promise<string>((ok, fail) => {
        child.stdout.on('data', (b: Buffer) => { out += b; const m = /http:\/\/\S+\//.exec(out); if (m) ok(m[0]); });
        child.on('exit', () => fail(new Error(`serve exited: ${out}`)));
      });
      const config = (await (await fetch(new URL('/config.json', url))).json()) as { model: string | null };
      const bytes = config.model ? new Uint8Array(await (await fetch(new URL(config.model, url))).arrayBuffer()) : undefined;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      return { config, bytes, out };
    };
    const byDefault = await serve([]);
    expect(byDefault.config).toEqual({ model: 'model/osteo-ceph-2site.safetensors' });
    expect(Buffer.from(byDefault.bytes!).equals(readFileSync(shipped)), 'the served bytes are the shipped file').toBe(true);
    expect(byDefault.out).toMatch(/default model .*osteo-ceph-2site\.safetensors/);
    const none = await serve(['--model', 'none']);
    expect(none.config).toEqual({ model: null });
    expect(none.out).toMatch(/no default model/);
  }, 60_000);
});

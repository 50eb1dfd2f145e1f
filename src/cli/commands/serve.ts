/**
 * `osteo serve [--port 8080] [--host 127.0.0.1] [--model FILE|none]`: serves the web app (dist/app/,
 * static files) on this machine. The page runs the model on the visitor's own GPU; the server only
 * hands out files. The default model (--model, else the shipped cephalometric model) is served at
 * model/NAME and named in config.json, which the page reads to load it by default. Stops cleanly on
 * Ctrl+C (SIGINT) or SIGTERM.
 */
import { createReadStream, existsSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint } from '../../train/checkpoint';
import { UsageError, type Command } from '../command';
import { DEFAULT_CEPH_MODEL, findShippedCephModel } from '../shipped_model';
import { checks, defineOptions, parseOptions } from '../options';

const OPTIONS = defineOptions({
  port: { type: 'string', value: 'N', default: '8080', description: 'TCP port (0: any free port, printed at start)', check: checks.int(0, { max: 65535, maxWhy: 'TCP ports end at 65535' }) },
  host: { type: 'string', value: 'ADDR', default: '127.0.0.1', description: 'address to listen on; 127.0.0.1 / localhost keep it on this machine (and count as a secure context, which WebGPU needs; other addresses need https)' },
  model: { type: 'string', value: 'FILE|none', defaultText: `${DEFAULT_CEPH_MODEL} (the shipped cephalometric model) when present`, description: 'osteo checkpoint (.safetensors) the page loads by default; none: the page asks for one', check: (v, flag) => (v === 'none' ? undefined : checks.exists('file')(v, flag)) },
  dir: { type: 'string', value: 'DIR', defaultText: 'the app built next to the CLI (dist/app)', description: 'folder of the built web app to serve', check: checks.exists('path') },
});

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

/** Limits of a request: headers (size and time to arrive) and the whole request; GET and HEAD take no body. */
export const SERVE_LIMITS = { maxHeaderBytes: 16 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 };

/**
 * Cache policy. Build chunks carry a content hash in their name (chunk-ABCD1234.js): kept for a
 * year, never revalidated. Everything else (index.html, app.js, sw.js, the manifest, config.json,
 * the model) is revalidated on every use against its ETag, so a rebuilt app or another --model is
 * seen at once and an unchanged 20 MB model costs a 304.
 */
const IMMUTABLE = /-[A-Z0-9]{8}\.(js|css|wasm)$/;
const cacheControl = (file: string): string => (IMMUTABLE.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');

/** The built app: --dir, else dist/app next to the bundled CLI (dist/osteo.mjs), else ./dist/app. */
function appDir(dir: string | undefined): string {
  const candidates = dir ? [resolve(dir)] : [fileURLToPath(new URL('./app/', import.meta.url)), resolve('dist/app')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new UsageError(dir ? `--dir ${dir}: no index.html there (a built app folder is made by npm run build)` : `the web app is not built (no ${candidates.join(' or ')}): run npm run build`);
  return found;
}

export interface AppServerOptions {
  root: string;
  /** Checkpoint file offered as the page's default model. */
  model?: string;
}

const inside = (root: string, file: string): boolean => file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * The app's request handler: static files under root, config.json and the default model. A path
 * is decoded once and resolved; it is refused (403) when it, or what its symlinks point to, is
 * outside root, and (400) when it holds a NUL or a backslash. GET and HEAD only, without a body.
 */
export function appHandler(o: AppServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const modelUrl = o.model ? `model/${encodeURIComponent(basename(o.model))}` : undefined;
  const config = JSON.stringify({ model: modelUrl ?? null });
  const root = resolve(o.root);
  let realRoot: string | undefined;
  const common = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  return (req, res) => {
    const send = (status: number, type: string, body: string, extra: Record<string, string> = {}) =>
      res.writeHead(status, { ...common, 'content-type': type, 'cache-control': 'no-cache', ...extra }).end(req.method === 'HEAD' ? undefined : body);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void send(405, 'text/plain', 'GET or HEAD only', { allow: 'GET, HEAD' });
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] || length > 0) {
      // nothing reads a body here: refuse it and close, rather than drain what a client sends
      res.setHeader('connection', 'close');
      send(413, 'text/plain', 'a GET or HEAD request has no body');
      return void req.destroy();
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(400, 'text/plain', 'bad URL');
    }
    if (path.includes('\0') || path.includes('\\')) return send(400, 'text/plain', 'bad URL');
    if (path === '/config.json') return send(200, MIME['.json']!, config);
    let file: string;
    if (modelUrl && path === `/${decodeURIComponent(modelUrl)}`) file = o.model!;
    else {
      file = resolve(join(root, path === '/' ? 'index.html' : path));
      if (!inside(root, file)) return send(403, 'text/plain', 'forbidden');
      try {
        realRoot ??= realpathSync(root);
        if (!inside(realRoot, realpathSync(file))) return send(403, 'text/plain', 'forbidden');
      } catch {
        return send(404, 'text/plain', 'not found');
      }
    }
    let st: Stats;
    try {
      st = statSync(file);
      if (!st.isFile()) return send(404, 'text/plain', 'not found');
    } catch {
      return send(404, 'text/plain', 'not found');
    }
    const etag = `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"`;
    const headers = { ...common, 'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': cacheControl(file), etag, 'last-modified': st.mtime.toUTCString() };
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
    res.writeHead(200, { ...headers, 'content-length': st.size });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  };
}

/** Listens; resolves to the server and its URL. Header size and time, and request time, are bounded (SERVE_LIMITS). */
export async function startAppServer(o: AppServerOptions & { port: number; host: string; limits?: Partial<typeof SERVE_LIMITS> }): Promise<{ server: Server; url: string }> {
  const limits = { ...SERVE_LIMITS, ...o.limits };
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // how often Node checks the two timeouts above (its default, 30 s, would let them run late)
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  }, appHandler(o));
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new UsageError(`--port ${o.port}: already in use on ${o.host} (pick another, or --port 0 for any free port)`) : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? new UsageError(`--host ${o.host}: not an address of this machine`) : e));
    server.listen(o.port, o.host, ok);
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/` };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the web app: open X-rays, see and correct landmarks, fine-tune, all on the visitor\'s GPU',
  usage: 'osteo serve [--port 8080] [--host 127.0.0.1] [--model FILE|none]',
  options: OPTIONS,
  examples: [
    { command: 'osteo serve', what: 'the app at http://127.0.0.1:8080/ with the shipped cephalometric model' },
    { command: 'osteo serve --model none', what: 'the same without a default model (open a checkpoint in the page)' },
    { command: 'osteo serve --model runs/train/checkpoint-best.safetensors', what: 'the same, loading that checkpoint by default' },
    { command: 'osteo serve --port 0', what: 'on any free port (printed)' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv);
    const root = appDir(values.dir);
    const model = values.model === 'none' ? undefined : (values.model ?? findShippedCephModel());
    if (model) {
      try {
        decodeCheckpoint(new Uint8Array(readFileSync(model)), model); // a bad file is reported now, not in the page
      } catch (e) {
        throw new UsageError(`--model ${(e as Error).message}`);
      }
    }
    const { server, url } = await startAppServer({ root, port: Number(values.port), host: values.host, ...(model ? { model: resolve(model) } : {}) });
    console.log(`osteo serve: ${url} (app ${root}${model ? `, default model ${model}` : ', no default model: the page asks for one'}); Ctrl+C stops`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => done());
        server.closeAllConnections();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    console.error('osteo serve: stopped');
    return 0;
  },
};

import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';

/**
 * Headless Chromium with WebGPU, for the browser test suite and the browser benchmark. With no
 * GPU, Chromium's bundled SwiftShader provides a Vulkan adapter (flags measured: docs/DESIGN.md §5).
 */
export function findChromium(): string {
  const candidates = [
    process.env.OSTEO_CHROMIUM,
    process.env.PUPPETEER_EXECUTABLE_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
  ].filter(Boolean) as string[];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'No Chromium found: apt-get install -y chromium (Debian/Ubuntu), or set OSTEO_CHROMIUM=/path/to/chrome',
    );
  }
  return found;
}

export function chromiumFlags(software: boolean): string[] {
  const common = [
    '--no-sandbox',
    '--headless=new',
    '--enable-unsafe-webgpu',
    // full-resolution timestamp queries (Chromium quantizes them to 100 µs otherwise)
    '--enable-webgpu-developer-features',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
  ];
  if (!software) return [...common, '--enable-features=Vulkan', '--use-angle=vulkan'];
  return [
    ...common,
    '--enable-unsafe-swiftshader',
    '--use-webgpu-adapter=swiftshader',
    '--enable-features=Vulkan',
    '--use-vulkan=swiftshader',
    '--use-angle=swiftshader',
  ];
}

export async function launchChromium(opts: { software?: boolean } = {}): Promise<Browser> {
  const { default: puppeteer } = await import('puppeteer-core');
  const software = opts.software ?? !hasGpuNode();
  return puppeteer.launch({
    executablePath: findChromium(),
    args: chromiumFlags(software),
    headless: true,
    protocolTimeout: 30 * 60_000,
  });
}

function hasGpuNode(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');
}

/** Serves in-memory files on 127.0.0.1 (a secure context: navigator.gpu exists there). */
export async function serveFiles(files: Record<string, { body: string | Uint8Array; type: string }>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const f = files[path === '/' ? '/index.html' : path];
    if (!f && path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (!f) {
      res.writeHead(404).end('not found');
      return;
    }
    // cross-origin isolated (COOP + COEP), so SharedArrayBuffer exists and tfjs-wasm can use threads
    res
      .writeHead(200, {
        'content-type': f.type,
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      .end(f.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

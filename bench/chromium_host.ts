/**
 * Chromium host: bundles bench/browser_entry.ts for the browser (tfjs bundled in), serves it on
 * 127.0.0.1 (a secure context, so navigator.gpu exists), drives Debian's chromium with
 * puppeteer-core (flags: docs/DESIGN.md §5, src/node/chromium.ts) and collects the page's results.
 * Node-only.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { launchChromium, serveFiles } from '../src/node/chromium';
import { ORT_WEB_FILES } from './ort_web';
import type { BenchOverrides } from './run';
import type { BenchResults } from './types';

const OPTIONAL = ['@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-wasm'];

function resolvable(pkg: string, from: string): string | null {
  try {
    return createRequire(join(from, 'package.json')).resolve(`${pkg}/package.json`);
  } catch {
    return null;
  }
}

/** Absent optional backends become a module that throws on import, so the page can skip them. */
function optionalBackends(root: string): Plugin {
  return {
    name: 'optional-tfjs-backends',
    setup(b) {
      b.onResolve({ filter: /^@tensorflow\/tfjs-backend-(webgl|wasm)$/ }, (args) =>
        resolvable(args.path, root) ? undefined : { path: args.path, namespace: 'missing-backend' },
      );
      b.onLoad({ filter: /.*/, namespace: 'missing-backend' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not installed (npm install -D ${args.path}@4.22.0)`)});`,
        loader: 'js',
      }));
    },
  };
}

export async function bundleBrowserBench(root: string): Promise<string> {
  const out = await build({
    entryPoints: [join(root, 'bench/browser_entry.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    plugins: [optionalBackends(root)],
    logLevel: 'error',
  });
  return out.outputFiles[0]!.text;
}

/** onnxruntime-web's bundle and runtimes under /ort/ (none when it is not installed: the page then skips it). */
export function ortWebFiles(root: string): Record<string, { body: Uint8Array; type: string }> {
  let dist = '';
  try {
    // its exports map has no ./package.json; the CommonJS entry lies in dist/
    dist = dirname(createRequire(join(root, 'package.json')).resolve('onnxruntime-web'));
  } catch {
    return {};
  }
  const files: Record<string, { body: Uint8Array; type: string }> = {};
  for (const f of existsSync(dist) ? readdirSync(dist) : []) {
    if (ORT_WEB_FILES.test(f)) files[`/ort/${f}`] = { type: f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', body: readFileSync(join(dist, f)) };
  }
  return files;
}

export async function runChromiumBench(root: string, overrides: BenchOverrides, log: (s: string) => void): Promise<BenchResults> {
  const js = await bundleBrowserBench(root);
  const files: Record<string, { body: string | Uint8Array; type: string }> = {
    '/index.html': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>osteo bench</title><script type="module" src="/bench.js"></script>' },
    '/bench.js': { type: 'text/javascript', body: js },
  };
  const wasmPkg = resolvable(OPTIONAL[1]!, root);
  if (wasmPkg) {
    const dist = join(dirname(wasmPkg), 'dist');
    for (const f of existsSync(dist) ? readdirSync(dist) : []) if (f.endsWith('.wasm')) files[`/wasm/${f}`] = { type: 'application/wasm', body: readFileSync(join(dist, f)) };
  }
  Object.assign(files, ortWebFiles(root));
  const { url, server } = await serveFiles(files);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(`[chromium] ${m.text().replace(/^\[bench\] /, '')}`));
    page.on('pageerror', (e) => log(`[chromium page error] ${String(e)}`));
    await page.evaluateOnNewDocument((o) => {
      (window as unknown as { __benchOverrides: unknown }).__benchOverrides = o;
    }, overrides as unknown as Record<string, unknown>);
    await page.goto(url);
    await page.waitForFunction(() => window.__bench?.done === true, { timeout: 0, polling: 1000 });
    const state = await page.evaluate(() => window.__bench!);
    if (state.fatal || !state.results) throw new Error(`Chromium bench failed: ${state.fatal ?? 'no results'}`);
    return state.results;
  } finally {
    await browser.close();
    server.close();
  }
}

import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { engineFromAdapter } from '../gpu/acquire';
import type { Engine, EngineOptions } from '../gpu/engine';
import { NoAdapterError } from '../gpu/errors';
import { parseTuning, setTuning } from '../kernels/tuning';

/**
 * Node entry: Dawn through the `webgpu` package. Tries the system's Vulkan driver (a real GPU)
 * first; when it finds none, points the Vulkan loader at a SwiftShader ICD (software Vulkan that
 * ships with Chromium/Chrome) and tries again. The environment variable is read when Dawn
 * creates its Vulkan instance, so a second `create()` in the same process picks it up.
 */
/**
 * Dawn instances must outlive their devices: if the GPU object from `create()` is garbage
 * collected, queued callbacks (onSubmittedWorkDone, mapAsync) never fire and awaits hang.
 */
const instances: GPU[] = [];
/** The Dawn instance that gave the last engine's adapter (for tfjs-webgpu in the same process: `navigator.gpu`). */
export function dawnInstance(): GPU | undefined {
  return instances[instances.length - 1];
}

/**
 * Dawn quantizes timestamp queries to 65.536 µs by default (a fingerprinting defence for the
 * web): a single small dispatch then reads 0 or 65.5 µs and per-kernel profiles are noise.
 * Node is not a web page, so ask for full resolution.
 */
const DAWN_OPTIONS = ['disable-dawn-features=timestamp_quantization'];

function dawn(): GPU {
  const gpu = create(DAWN_OPTIONS);
  instances.push(gpu);
  return gpu;
}

/**
 * A Node engine, with the tuning table named by OSTEO_TUNING (a JSON file, see
 * src/kernels/tuning.ts and tuning/) installed when that variable is set.
 */
export async function acquireNodeEngine(options: EngineOptions & { forceSoftware?: boolean } = {}): Promise<Engine> {
  const engine = await acquireUntuned(options);
  const file = process.env.OSTEO_TUNING;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      engine.destroy();
      throw new Error(`OSTEO_TUNING=${file}: cannot read it (${(e as Error).message})`);
    }
    try {
      setTuning(engine, parseTuning(text, `OSTEO_TUNING=${file}`));
    } catch (e) {
      engine.destroy();
      throw e;
    }
  }
  return engine;
}

async function acquireUntuned(options: EngineOptions & { forceSoftware?: boolean }): Promise<Engine> {
  Object.assign(globalThis, globals);
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `osteo-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const debugShaders = options.debugShaders ?? process.env.OSTEO_DEBUG_SHADERS === '1';
  const opts = { ...options, debugShaders };

  const override = process.env.OSTEO_VK_ICD;
  if (override) {
    if (!existsSync(override)) throw new NoAdapterError(`OSTEO_VK_ICD=${override}: no such file`);
    return (await tryIcd(override, opts)) ?? fail([`OSTEO_VK_ICD=${override} gave no adapter`]);
  }
  // Probing Vulkan with no GPU makes Dawn print a warning about lavapipe; skip it when Linux has no GPU device node.
  if (!options.forceSoftware && mayHaveGpu()) {
    const hw = await dawn().requestAdapter({ powerPreference: 'high-performance' });
    if (hw) return engineFromAdapter(hw, 'node-hardware', opts);
  }
  const tried: string[] = [];
  for (const icd of findSwiftShaderIcds()) {
    tried.push(icd);
    const engine = await tryIcd(icd, opts);
    if (engine) return engine;
  }
  return fail(tried);
}

async function tryIcd(icd: string, opts: EngineOptions): Promise<Engine | null> {
  process.env.VK_ICD_FILENAMES = icd;
  process.env.VK_DRIVER_FILES = icd;
  const adapter = await dawn().requestAdapter();
  return adapter ? engineFromAdapter(adapter, 'node-swiftshader', opts) : null;
}

function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = safeList('/dev/dri').some((f) => f.startsWith('render'));
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl') || existsSync('/dev/kfd');
}

function fail(tried: string[]): never {
  const libvulkan = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);
  throw new NoAdapterError(
    [
      'No WebGPU adapter: Dawn found no usable Vulkan driver.',
      libvulkan ? null : '- The Vulkan loader (libvulkan.so.1) is missing: apt-get install -y libvulkan1',
      tried.length
        ? `- SwiftShader ICDs tried without success: ${tried.join(', ')}`
        : '- No SwiftShader ICD found for the CPU fallback: apt-get install -y chromium (ships /usr/lib/chromium/vk_swiftshader_icd.json), or set OSTEO_VK_ICD=/path/to/vk_swiftshader_icd.json',
      '- With a GPU: install its Vulkan driver (NVIDIA driver, mesa-vulkan-drivers for AMD/Intel).',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** Candidate SwiftShader Vulkan ICD manifests: Debian/Ubuntu chromium, Google Chrome, Puppeteer's cache. */
export function findSwiftShaderIcds(): string[] {
  const found: string[] = [];
  const direct = [
    '/usr/lib/chromium/vk_swiftshader_icd.json',
    '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
    '/opt/google/chrome/vk_swiftshader_icd.json',
    '/opt/google/chrome-beta/vk_swiftshader_icd.json',
    '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  ];
  for (const p of direct) if (existsSync(p)) found.push(p);
  // Puppeteer / @puppeteer/browsers: ~/.cache/puppeteer/chrome/linux-<ver>/chrome-linux64/
  const caches = [process.env.PUPPETEER_CACHE_DIR, join(homedir(), '.cache', 'puppeteer')].filter(Boolean) as string[];
  for (const cache of caches) {
    for (const product of ['chrome', 'chrome-headless-shell', 'chromium']) {
      const dir = join(cache, product);
      if (!existsSync(dir)) continue;
      for (const ver of safeList(dir)) {
        for (const sub of safeList(join(dir, ver))) {
          const p = join(dir, ver, sub, 'vk_swiftshader_icd.json');
          if (existsSync(p)) found.push(p);
        }
      }
    }
  }
  return found;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

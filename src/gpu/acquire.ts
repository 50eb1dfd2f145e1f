import { Engine, type AdapterSummary, type EngineOptions } from './engine';
import { NoAdapterError } from './errors';

/** Limits we raise to the adapter's maximum: big tiles and big activations need them. */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
] as const;

const WANTED_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|warp|software|basic render/i;

export function summarizeAdapter(adapter: GPUAdapter, source: string): AdapterSummary {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const fallback = Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) || SOFTWARE.test(text);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    device: info.device,
    fallback,
    source,
  };
}

/** Requests a device with raised limits and the useful optional features, wrapped in an Engine. */
export async function engineFromAdapter(adapter: GPUAdapter, source: string, options: EngineOptions = {}): Promise<Engine> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'osteo' });
  return new Engine(device, summarizeAdapter(adapter, source), options);
}

/** Browser entry: navigator.gpu, or a clear error when the page has no WebGPU. */
export async function acquireBrowserEngine(options: EngineOptions = {}): Promise<Engine> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new NoAdapterError(
      'navigator.gpu is missing: this browser has no WebGPU, or the page is not a secure context (serve it from https:// or http://localhost / 127.0.0.1).',
      'no-webgpu',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoAdapterError('navigator.gpu.requestAdapter() returned null: WebGPU is disabled or no GPU is usable.');
  return engineFromAdapter(adapter, 'browser', options);
}

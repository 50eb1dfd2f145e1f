import { measureCeilings } from '../../gpu/ceilings';
import type { Command } from '../command';
import { engineProvider } from '../engine';
import { defineOptions, parseOptions, SOFTWARE_OPTION } from '../options';

const KEY_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'minStorageBufferOffsetAlignment',
] as const;

const OPTIONS = defineOptions({
  json: { type: 'boolean', description: 'print the report as JSON instead of text' },
  software: SOFTWARE_OPTION,
});

export const deviceCommand: Command = {
  name: 'device',
  summary: 'show the WebGPU adapter, its limits and features, and measured FMA / copy ceilings',
  usage: 'osteo device [--json] [--software]',
  options: OPTIONS,
  examples: [
    { command: 'osteo device', what: 'which adapter osteo finds (a GPU, else the CPU fallback), its limits and what it measures' },
    { command: 'osteo device --software --json', what: 'the same for the CPU fallback, as JSON' },
  ],
  async run(argv) {
    const { values } = parseOptions(OPTIONS, argv);
    const engine = await engineProvider.acquire(values.software);
    try {
      const ceilings = await measureCeilings(engine);
      const limits: Record<string, number> = {};
      for (const k of KEY_LIMITS) limits[k] = engine.limits[k];
      const report = {
        adapter: {
          vendor: engine.adapter.vendor,
          architecture: engine.adapter.architecture,
          description: engine.adapter.description,
          device: engine.adapter.device,
          source: engine.adapter.source,
        },
        fallback: engine.adapter.fallback,
        limits,
        features: engine.features,
        fmaGflops: round(ceilings.fmaGflops),
        copyGbps: round(ceilings.copyGbps),
        timing: ceilings.timing,
      };
      if (values.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      const a = report.adapter;
      console.log(`adapter   ${a.vendor} / ${a.architecture} — ${a.description || a.device} (${a.source})`);
      console.log(`fallback  ${report.fallback ? 'yes: software rasteriser on the CPU — correct but slow' : 'no: hardware GPU'}`);
      console.log(`features  ${report.features.join(', ')}`);
      console.log('limits');
      for (const [k, v] of Object.entries(limits)) console.log(`  ${k.padEnd(36)} ${v}`);
      console.log(`ceilings  FMA ${report.fmaGflops} GFLOP/s, copy ${report.copyGbps} GB/s (read + write; ${report.timing} timing)`);
    } finally {
      engineProvider.release(engine);
    }
  },
};

const round = (v: number) => Math.round(v * 100) / 100;

import { parseArgs } from 'node:util';
import { measureCeilings } from '../../gpu/ceilings';
import { acquireNodeEngine } from '../../node/acquire_node';
import type { Command } from '../command';

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

export const deviceCommand: Command = {
  name: 'device',
  summary: 'show the WebGPU adapter, its limits and features, and measured FMA / copy ceilings',
  usage: 'osteo device [--json] [--software]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, software: { type: 'boolean' } },
    });
    const engine = await acquireNodeEngine({ forceSoftware: values.software });
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
      engine.destroy();
    }
  },
};

const round = (v: number) => Math.round(v * 100) / 100;

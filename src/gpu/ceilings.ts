import template from '../../shaders/ceilings.wgsl';
import { grid, specialize, Uniforms } from './wgsl';
import type { Engine } from './engine';

export interface Ceilings {
  /** Peak fused multiply-add rate reachable from WGSL, in GFLOP/s (an FMA counts as 2 FLOPs). */
  fmaGflops: number;
  /** Device-to-device copy bandwidth, counting bytes read plus bytes written, in GB/s. */
  copyGbps: number;
  /** How the times were taken. */
  timing: 'timestamp' | 'wall';
}

/** Picks the #if FMA / #else half of the template. */
function variant(fma: boolean, wg: number): string {
  const [, a, b] = /#if FMA\n([\s\S]*?)#else\n([\s\S]*?)#endif/.exec(template)!;
  const head = template.slice(0, template.indexOf('#if FMA'));
  return specialize(head + (fma ? a : b), { WG: wg });
}

/** Median GPU time of `reps` runs of `record` (timestamp queries when available). */
async function timeIt(engine: Engine, record: () => void, reps: number): Promise<number> {
  record(); // warm-up: compile + first touch
  await engine.sync();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const prof = await engine.profile(record);
    times.push(prof.mode === 'timestamp' ? prof.records.reduce((s, x) => s + x.ms, 0) : prof.wallMs);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Measures the FMA and copy ceilings. Sizes adapt to the device: a software adapter gets small
 * problems so this takes a second or two; a GPU gets enough work to saturate it.
 */
export async function measureCeilings(engine: Engine, opts: { quick?: boolean } = {}): Promise<Ceilings> {
  const small = engine.adapter.fallback || opts.quick;
  const wg = Math.min(256, engine.limits.maxComputeInvocationsPerWorkgroup);
  const max = engine.limits.maxComputeWorkgroupsPerDimension;

  // FMA: threads × iters × 8 accumulators × 4 lanes × 2 FLOPs
  const threads = small ? 16 * 1024 : 4 * 1024 * 1024;
  const iters = small ? 256 : 2048;
  const fmaSrc = engine.zeros([4 * 1024 * 4]);
  const sink = engine.zeros([4 * 1024 * 4]);
  const [fx, fy] = grid(threads / wg, max);
  const fmaCode = variant(true, wg);
  const fmaTime = await timeIt(
    engine,
    () =>
      engine.run({
        kernel: 'ceiling_fma',
        code: fmaCode,
        uniforms: new Uniforms().u32(iters, 4 * 1024, fx * wg).bytes(),
        buffers: [fmaSrc.binding, sink.binding],
        workgroups: [fx, fy],
      }),
    small ? 3 : 7,
  );
  const fmaGflops = (threads * iters * 8 * 4 * 2) / (fmaTime * 1e6);

  // Copy: vec4 elements, bytes read + written
  const maxBytes = Math.min(engine.limits.maxStorageBufferBindingSize, small ? 16 << 20 : 256 << 20);
  const vec4s = Math.floor(maxBytes / 16);
  const a = engine.zeros([vec4s * 4]);
  const b = engine.empty([vec4s * 4]);
  const [cx, cy] = grid(Math.ceil(vec4s / wg), max);
  const copyCode = variant(false, wg);
  const copyTime = await timeIt(
    engine,
    () =>
      engine.run({
        kernel: 'ceiling_copy',
        code: copyCode,
        uniforms: new Uniforms().u32(0, vec4s, cx * wg).bytes(),
        buffers: [a.binding, b.binding],
        workgroups: [cx, cy],
      }),
    small ? 3 : 7,
  );
  const copyGbps = (vec4s * 16 * 2) / (copyTime * 1e6);
  for (const t of [fmaSrc, sink, a, b]) t.dispose();
  return { fmaGflops, copyGbps, timing: engine.hasTimestamps ? 'timestamp' : 'wall' };
}

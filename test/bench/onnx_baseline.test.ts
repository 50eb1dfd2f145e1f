/**
 * The ONNX-runtime baseline of `osteo bench`: a runtime is timed only after its output matched
 * osteo's; a mismatch or a failure is reported with its text, untimed; the report and the notes
 * show the runtime beside osteo and tfjs. The Node host's onnxruntime-node adapter runs a real
 * exported model.
 */
import { describe, expect, test } from 'vitest';
import { maxAbsDiff, runOnnxBaseline, type OnnxRuntimeHost } from '../../bench/onnx_baseline';
import { ortNodeCpu } from '../../bench/node_host';
import { randomUnetPPWeights } from '../../bench/reference/tfjs_unetpp';
import { markdownReport, modelChart } from '../../bench/report';
import { parseBenchArgs } from '../../bench/args';
import { applyOverrides, autoNotes, defaultOptions } from '../../bench/run';
import { summarizeTimes } from '../../bench/stats';
import type { BenchResults } from '../../bench/types';
import { exportOnnx } from '../../src/export/onnx';
import { DECODER, WIDTHS } from '../train/helpers';

const REF = new Float32Array([0.5, -2, 1.25, 0]);
const DIMS = [1, 1, 2, 2];

function fakeHost(output: Float32Array, calls: { runs: number; released: number }): OnnxRuntimeHost {
  return {
    name: 'fake-rt',
    detail: 'fake 1.0, cpu',
    async create() {
      return {
        async run() {
          calls.runs++;
          return output;
        },
        async release() {
          calls.released++;
        },
      };
    },
  };
}

describe('runOnnxBaseline', () => {
  test('matching output: checked, then timed (first run apart), session released', async () => {
    const calls = { runs: 0, released: 0 };
    const r = await runOnnxBaseline(fakeHost(REF.map((v) => v + 1e-5), calls), new Uint8Array(1), new Float32Array(4), DIMS, REF, 3);
    expect(r.error).toBeUndefined();
    expect(r.maxAbsDiff).toBeCloseTo(1e-5, 7); // f32 rounding of 1.25 + 1e-5
    expect(r.outputScale).toBe(2);
    expect(r.phase?.steady.reps).toBe(3);
    expect(calls).toEqual({ runs: 4, released: 1 });
    expect(r.createMs).not.toBeNull();
  });

  test('a different output is reported with the difference and not timed; a failing runtime names itself', async () => {
    const calls = { runs: 0, released: 0 };
    const wrong = await runOnnxBaseline(fakeHost(REF.map((v) => v + 0.01), calls), new Uint8Array(1), new Float32Array(4), DIMS, REF, 3);
    expect(wrong.phase).toBeNull();
    expect(wrong.error).toMatch(/fake-rt: output differs from osteo's \(max \|Δ\| 1\.00e-2 at output scale 2\.00e\+0, over 0\.001 of it\); not timed/);
    expect(calls).toEqual({ runs: 1, released: 1 });
    const broken: OnnxRuntimeHost = { name: 'broken-rt', detail: '', create: () => Promise.reject(new Error('no such EP')) };
    const failed = await runOnnxBaseline(broken, new Uint8Array(1), new Float32Array(4), DIMS, REF, 3);
    expect(failed).toMatchObject({ phase: null, error: 'broken-rt: no such EP' });
    expect(maxAbsDiff(new Float32Array([NaN]), new Float32Array([1])).diff).toBeNaN();
  });

  test('the Node host’s onnxruntime-node adapter runs an exported model', async () => {
    const model = { classes: 2, inChannels: 1 as const, widths: WIDTHS, decoderChannels: DECODER };
    const bytes = exportOnnx({ model, tensors: randomUnetPPWeights(model, 8) }, { size: 32 }).bytes;
    const host = await ortNodeCpu();
    expect(host.detail).toMatch(/^onnxruntime-node 1\.30\.0, cpu EP, \d+ intra-op threads/);
    const x = new Float32Array(32 * 32).map((_, i) => Math.sin(i));
    const session = await host.create(bytes);
    const ref = await session.run(x, [1, 1, 32, 32]);
    await session.release();
    expect(ref.length).toBe(2 * 32 * 32);
    const r = await runOnnxBaseline(host, bytes, x, [1, 1, 32, 32], ref, 2);
    expect(r.error).toBeUndefined();
    expect(r.maxAbsDiff).toBe(0);
    expect(r.phase!.firstMs).toBeGreaterThanOrEqual(r.createMs!);
  });
});

test('--suite inference: the model suite without the training step', () => {
  const { overrides } = parseBenchArgs(['--suite', 'inference', '--reps', '2']);
  const o = applyOverrides(defaultOptions(true, 'node'), overrides);
  expect(o).toMatchObject({ suite: 'inference', train: null, inference: { size: 32, batch: 1 }, modelReps: 2 });
  expect(() => parseBenchArgs(['--suite', 'inferense'])).toThrow(/--suite must be kernels, model, inference or all, got inferense/);
});

describe('the report', () => {
  const results: BenchResults = {
    meta: {
      host: 'node', date: '2026-01-01T00:00:00Z',
      adapter: { vendor: 'google', architecture: 'swiftshader', description: 'test', fallback: true, source: 'synthetic' },
      ceilings: { fmaGflops: 5, copyGbps: 2, timing: 'timestamp' }, size: 32, batch: 1, reps: 3,
      tfjsVersion: '4.22.0', tfjsBackend: 'webgpu', timing: 'synthetic',
    },
    kernels: [],
    model: [{
      name: 'inference', batch: 1, size: 32, flops: 1e9, osteo: { firstMs: 900, steady: summarizeTimes([100, 110]) }, osteoGpuMs: null,
      tfjs: { firstMs: 3000, steady: summarizeTimes([400]) }, ratio: 4,
      runtimes: {
        'ort-node-cpu': { detail: 'onnxruntime-node 1.30.0, cpu EP', phase: { firstMs: 80, steady: summarizeTimes([21, 20, 19]) }, createMs: 60, maxAbsDiff: 3e-6, outputScale: 0.5 },
        'ort-bad': { detail: 'bad', phase: null, createMs: 5, maxAbsDiff: 1, outputScale: 0.5, error: 'ort-bad: output differs' },
      },
    }],
    notes: [],
  };

  test('a runtimes table with session, first and steady times, the check and the speed-up; the chart has the series', () => {
    const md = markdownReport(results);
    expect(md).toContain('| inference | 1 | 32 | ort-node-cpu | 60 | 80 | 20 [19–21] | 105 | ort-node-cpu 5.25x | 3.00e-6 (5.00e-1) | onnxruntime-node 1.30.0, cpu EP |');
    expect(md).toContain('| inference | 1 | 32 | ort-bad | 5 | – | – | 105 | – | 1.00e+0 (5.00e-1) | bad; error: ort-bad: output differs |');
    const svg = modelChart(results.model);
    expect(svg).toContain('data-series="ort-node-cpu"');
    expect(svg).not.toContain('data-series="ort-bad"');
  });

  test('a note says who is faster, by how much, after which check', () => {
    const notes = autoNotes(results, true);
    expect(notes.find((n) => n.startsWith('ort-node-cpu'))).toMatch(/in 20 ms steady, 80 ms first \(session 60 ms\); osteo 105 ms: ort-node-cpu 5\.25x faster\./);
    expect(notes.some((n) => n.startsWith('ort-bad'))).toBe(false);
  });
});

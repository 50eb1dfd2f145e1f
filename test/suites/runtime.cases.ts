import { DisposedError, LimitError, ShaderCompileError, ShapeError } from '../../src/gpu/errors';
import { relu } from '../../src/kernels/elementwise';
import { assert, assertClose, assertThrows } from '../helpers/compare';
import type { Case } from './case';

export const runtimeCases: Case[] = [
  {
    name: 'upload / read round trip, reshape copy',
    async run(e) {
      const data = Float32Array.from({ length: 37 }, (_, i) => i * 0.5 - 3);
      const t = e.tensor(data, [37]);
      assertClose(await t.read(), data, 'round trip', { atol: 0, rtol: 0 });
      const c = e.copy(t, [1, 37]);
      assertClose(await c.read(), data, 'copy', { atol: 0, rtol: 0 });
      const z = e.zeros([5, 3]);
      assert((await z.read()).every((v) => v === 0), 'zeros are zero');
      t.dispose();
      c.dispose();
      z.dispose();
    },
  },
  {
    name: 'use after dispose is a DisposedError',
    async run(e) {
      const t = e.tensor([1, 2, 3], [3], 'activations');
      t.dispose();
      const err = await assertThrows(() => relu(t), /activations \[3\] was used after dispose/, 'relu(disposed)');
      assert(err instanceof DisposedError, 'error class is DisposedError');
      t.dispose(); // a second dispose is harmless
    },
  },
  {
    name: 'wrong data length is a ShapeError naming the shape',
    async run(e) {
      const err = await assertThrows(() => e.tensor([1, 2, 3], [2, 2], 'w'), /3 values do not fill shape \[2, 2\]/, 'tensor()');
      assert(err instanceof ShapeError, 'ShapeError');
    },
  },
  {
    name: 'a buffer beyond the device limit is a LimitError naming the limit',
    async run(e) {
      const tooMany = Math.floor(e.limits.maxStorageBufferBindingSize / 4) + 1024;
      const err = await assertThrows(() => e.empty([tooMany], 'huge'), /maxStorageBufferBindingSize/, 'empty(huge)');
      assert(err instanceof LimitError, 'LimitError');
    },
  },
  {
    name: 'WGSL compile errors report line, column and source',
    async run(e) {
      const code = [
        '@group(0) @binding(1) var<storage, read_write> y: array<f32>;',
        '@compute @workgroup_size(1)',
        'fn main() {',
        '  y[0] = undefined_symbol;',
        '}',
      ].join('\n');
      const t = e.empty([1]);
      const err = await assertThrows(
        async () => {
          e.device.pushErrorScope('validation'); // keep the expected pipeline error out of the case's scope
          try {
            e.run({ kernel: 'broken', code, buffers: [t.buffer], workgroups: [1] });
          } finally {
            e.flush();
            await e.device.popErrorScope();
          }
          await e.sync();
        },
        /broken:4:\d+/,
        'broken shader',
      );
      assert(err instanceof ShaderCompileError, `ShaderCompileError, got ${err.name}`);
      assert(err.message.includes('undefined_symbol'), 'message shows the source line');
      t.dispose();
    },
  },
  {
    name: 'pool reuses buffers and tracks live and peak bytes',
    async run(e) {
      const base = e.memory();
      const a = e.empty([1000]);
      const after = e.memory();
      assert(after.liveBytes - base.liveBytes >= 4000, 'live bytes grew by at least the tensor');
      const buf = a.buffer;
      a.dispose();
      assert(e.memory().liveBytes === base.liveBytes, 'live back to baseline after dispose');
      const b = e.empty([990]);
      assert(b.buffer === buf, 'same size class reuses the freed buffer');
      assert(e.memory().peakBytes >= after.liveBytes, 'peak covers the high-water mark');
      b.dispose();
    },
  },
  {
    name: 'profiler records each dispatch with kernel name and time',
    async run(e) {
      const x = e.tensor(new Float32Array(4096).fill(-1), [4096]);
      let y1: ReturnType<typeof relu> | null = null;
      let y2: ReturnType<typeof relu> | null = null;
      const prof = await e.profile(() => {
        y1 = relu(x);
        y2 = relu(y1);
      });
      assert(prof.records.length === 2, `2 records, got ${prof.records.length}`);
      assert(prof.records.every((r) => r.kernel === 'relu_vec4' && r.ms >= 0 && Number.isFinite(r.ms)), `records: ${JSON.stringify(prof.records)}`);
      x.dispose();
      y1!.dispose();
      y2!.dispose();
    },
  },
];

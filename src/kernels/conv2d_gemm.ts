import type { Engine } from '../gpu/engine';
import template from '../../shaders/conv2d.wgsl';
import splitReduceTemplate from '../../shaders/conv2d_splitk_reduce.wgsl';
import { threadsOf, type ConvTile } from './conv2d_plan';
import { cachedCode, grid, specialize, Uniforms } from '../gpu/wgsl';

/**
 * The implicit-GEMM conv kernel (shaders/conv2d.wgsl) for GPUs: source generation for one tile
 * and variant, and its dispatch — single pass, or split-K (workgroup (tile, z = s) reduces slice s
 * into a pooled scratch part[S, M, P4], then shaders/conv2d_splitk_reduce.wgsl sums the S partials
 * and applies the epilogue: bias, ReLU, the channel slice of `out`; WGSL has no float atomics).
 * Used by conv2d and conv2dBackwardInput (src/kernels/conv2d.ts); the plan comes from
 * conv2d_plan.ts.
 */

export type AMode = 'rows' | 'rows4' | 'flipped';

export interface GemmConv {
  kernel: string;
  mode: AMode;
  M: number;
  P: number;
  K: number;
  KS: number;
  pad: number; // padding of the gathered input; may be negative
  cin: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  outC: number;
  outOff: number;
  relu: boolean;
  tile: ConvTile;
  /** GEMM split-K (absent or 1 slice: single pass). */
  split?: { slices: number; kChunk: number };
  x: GPUBufferBinding;
  w: GPUBufferBinding;
  y: GPUBufferBinding;
  bias: GPUBufferBinding | null;
  flops: number;
  /** Inputs (x, w, bias) read once plus the M·P outputs written once. */
  bytes: number;
  shape: string;
}

/** Epilogue of the single pass: bias, ReLU, store into the (possibly wider) output tensor. */
function epilogue(c: GemmConv, outVec4: boolean): string {
  const { BM, BN, TM, TN } = c.tile;
  const GM = TM / 4;
  const GN = TN / 4;
  const ep: string[] = [];
  for (let j = 0; j < GN; j++) {
    const q = `q0 + ${j * (BN / GN)}u + tx * 4u`;
    if (outVec4) {
      // outHW % 4 == 0: the 4 pixels are in one image and the address is 16-byte aligned
      ep.push(`  let yq${j} = ${q}; let yn${j} = yq${j} / p.outHW;`);
      ep.push(`  let base${j} = (yn${j} * p.outC + p.outOff) * p.outHW + (yq${j} - yn${j} * p.outHW);`);
    } else {
      for (let cc = 0; cc < 4; cc++) {
        ep.push(`  let yq${j}_${cc} = ${q} + ${cc}u; let yn${j}_${cc} = yq${j}_${cc} / p.outHW;`);
        ep.push(`  let base${j}_${cc} = (yn${j}_${cc} * p.outC + p.outOff) * p.outHW + (yq${j}_${cc} - yn${j}_${cc} * p.outHW);`);
      }
    }
  }
  for (let r = 0; r < TM; r++) {
    ep.push(`  { let m = m0 + ${(r >> 2) * (BM / GM) + (r & 3)}u + ty * 4u;`);
    ep.push(`    if (m < p.M) {`);
    ep.push(`      let bm = ${c.bias ? 'bias[m]' : '0.0'};`);
    for (let j = 0; j < GN; j++) {
      const v = c.relu ? `max(c${r}_${j} + bm, vec4<f32>(0.0))` : `c${r}_${j} + bm`;
      ep.push(`      let v${j} = ${v};`);
      if (outVec4) {
        ep.push(`      if (yq${j} < p.P) { y[(base${j} + m * p.outHW) / 4u] = v${j}; }`);
      } else {
        for (let cc = 0; cc < 4; cc++) ep.push(`      if (yq${j}_${cc} < p.P) { y[base${j}_${cc} + m * p.outHW] = v${j}[${cc}]; }`);
      }
    }
    ep.push('    }', '  }');
  }
  return ep.join('\n');
}

/**
 * Epilogue of the split-K pass: the raw sums of slice wid.z, as vec4s along q, into
 * part[(wid.z·M + m)·P4/4 + q/4]. q is a multiple of 4 and P4 = 4·p.p4, so each vec4 lies wholly
 * inside its row iff q < P; bias, ReLU and the output layout are the reduce pass's.
 */
function splitEpilogue(t: ConvTile): string {
  const { BM, BN, TM, TN } = t;
  const GM = TM / 4;
  const GN = TN / 4;
  const ep: string[] = [];
  for (let r = 0; r < TM; r++) {
    ep.push(`  { let m = m0 + ${(r >> 2) * (BM / GM) + (r & 3)}u + ty * 4u;`);
    ep.push('    if (m < p.M) {');
    ep.push('      let row = (wid.z * p.M + m) * p.p4;');
    for (let j = 0; j < GN; j++) {
      ep.push(`      { let q = q0 + ${j * (BN / GN)}u + tx * 4u; if (q < p.P) { y[row + q / 4u] = c${r}_${j}; } }`);
    }
    ep.push('    }', '  }');
  }
  return ep.join('\n');
}

/**
 * Generates the unrolled pieces of shaders/conv2d.wgsl for one tile and variant. `split`: the
 * split-K pass (its slice of K from wid.z; raw sums into part[s, m, q/4] instead of the epilogue).
 */
function buildShader(c: GemmConv, outVec4: boolean, split: boolean): string {
  const { BM, BN, BK, TM, TN } = c.tile;
  const T = threadsOf(c.tile);
  const aVec = c.mode === 'rows4';
  const aElems = aVec ? (BM * BK) / 4 : BM * BK;
  const aLoads = Math.ceil(aElems / T);
  const aGuard = aElems % T !== 0;
  const bLoads = (BK * BN) / T;
  const bStep = T / BN;
  const GM = TM / 4;
  const GN = TN / 4;

  // Global→register loads and register→workgroup stores stay WGSL loops over private arrays
  // (GPU compilers unroll them; SwiftShader takes minutes over dozens of inlined gathers).
  const reg: string[] = [];
  reg.push(`  var ra: array<${aVec ? 'vec4<f32>' : 'f32'}, ${aLoads}>;`);
  reg.push(`  var rb: array<f32, ${bLoads}>;`);
  for (let r = 0; r < TM; r++) for (let j = 0; j < GN; j++) reg.push(`  var c${r}_${j} = vec4<f32>(0.0);`);

  // flipped: A[ci, (co, r)] = w[co, ci, k−1−ky, k−1−kx] = w[(co·M + ci)·KK + KK−1−r]
  const aIndex = aVec ? '(m * p.K + k) / 4u' : c.mode === 'rows' ? 'm * p.K + k' : '((k / KK) * p.M + m) * KK + (KK - 1u - k % KK)';
  const zero = aVec ? 'vec4<f32>(0.0)' : '0.0';
  const load = (ind: string): string =>
    [
      `${ind}for (var i = 0u; i < ${aLoads}u; i++) {`,
      `${ind}  let e = lid + i * THREADS;`,
      // vec4 path: one vec4 along k (K % 4 == 0, so it is all in or all out)
      `${ind}  let m = m0 + e % BM; let k = k0 + (e / BM)${aVec ? ' * 4u' : ''};`,
      `${ind}  let ok = ${aGuard ? `e < ${aElems}u && ` : ''}m < p.M && k < p.K;`,
      `${ind}  ra[i] = select(${zero}, w[select(0u, ${aIndex}, ok)], ok);`,
      `${ind}}`,
      `${ind}for (var i = 0u; i < ${bLoads}u; i++) {`,
      `${ind}  rb[i] = gatherB(k0 + bRow + i * ${bStep}u, bValid, bBase, boy, box, p.K, p.inH, p.inW, inHW);`,
      `${ind}}`,
    ].join('\n');

  const store: string[] = [];
  store.push(`    for (var i = 0u; i < ${aLoads}u; i++) {`);
  store.push(`      let e = lid + i * THREADS; let row = e % BM; let col = (e / BM)${aVec ? ' * 4u' : ''};`);
  if (aGuard) store.push(`      if (e >= ${aElems}u) { break; }`);
  if (aVec) {
    for (let q = 0; q < 4; q++) store.push(`      As[(col + ${q}u) * (BM / 4u) + row / 4u][row % 4u] = ra[i][${q}];`);
  } else {
    store.push('      As[col * (BM / 4u) + row / 4u][row % 4u] = ra[i];');
  }
  store.push('    }');
  store.push(`    for (var i = 0u; i < ${bLoads}u; i++) {`);
  store.push(`      Bs[(bRow + i * ${bStep}u) * (BN / 4u) + bCol / 4u][bCol % 4u] = rb[i];`);
  store.push('    }');

  const compute: string[] = [];
  for (let g = 0; g < GM; g++) compute.push(`      let a${g} = As[kk * (BM / 4u) + ${g * (BM / TM)}u + ty];`);
  for (let j = 0; j < GN; j++) compute.push(`      let b${j} = Bs[kk * (BN / 4u) + ${j * (BN / TN)}u + tx];`);
  const comp = ['x', 'y', 'z', 'w'];
  for (let r = 0; r < TM; r++) {
    for (let j = 0; j < GN; j++) compute.push(`      c${r}_${j} = fma(vec4<f32>(a${r >> 2}.${comp[r & 3]}), b${j}, c${r}_${j});`);
  }

  return specialize(template, {
    W_T: aVec ? 'vec4<f32>' : 'f32',
    Y_T: outVec4 || split ? 'vec4<f32>' : 'f32',
    BIAS_DECL: c.bias && !split ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : '',
    BM,
    BN,
    BK,
    TN,
    THREADS: T,
    KS: c.KS,
    KK: c.KS * c.KS,
    PAD: `${c.pad}i`,
    AS_LEN: (BK * BM) / 4,
    BS_LEN: (BK * BN) / 4,
    REG_DECL: reg.join('\n'),
    // the last slice ends at K; kChunk is a multiple of BK, so the gather's `k < K` stays the only bound
    K_RANGE: split ? '  let kb = wid.z * p.kChunk;\n  let kEnd = min(p.K, kb + p.kChunk);' : '  let kb = 0u;\n  let kEnd = p.K;',
    LOAD: `  {\n    let k0 = kb;\n${load('    ')}\n  }`,
    LOAD_NEXT: load('      '),
    STORE: store.join('\n'),
    COMPUTE: compute.join('\n'),
    EPILOGUE: split ? splitEpilogue(c.tile) : epilogue(c, outVec4),
  });
}

/** Everything buildShader's text depends on besides the output and split variants. */
function shaderKey(c: GemmConv): string {
  const t = c.tile;
  return `conv2d_gemm|${t.BM},${t.BN},${t.BK},${t.TM},${t.TN}|${c.mode}|k${c.KS}|p${c.pad}|b${!!c.bias}|r${c.relu}`;
}

export function dispatchGemmConv(e: Engine, c: GemmConv): void {
  const outVec4 = (c.outH * c.outW) % 4 === 0;
  const tilesM = Math.ceil(c.M / c.tile.BM);
  const tiles = tilesM * Math.ceil(c.P / c.tile.BN);
  const [gx, gy] = grid(tiles, e.limits.maxComputeWorkgroupsPerDimension);
  const t = c.tile;
  const name = `${c.kernel}_k${c.KS}_${t.BM}x${t.BN}x${t.BK}_${t.TM}x${t.TN}${c.mode === 'rows4' ? '_a4' : ''}`;
  const split = c.split && c.split.slices > 1 ? c.split : null;
  const p4 = Math.ceil(c.P / 4);
  const uniforms = new Uniforms()
    .u32(c.M, c.P, c.K, c.cin, c.inH, c.inW, c.outW, c.outH * c.outW, c.outC, c.outOff, tilesM, tiles)
    .u32(split ? split.kChunk : 0, p4, 0, 0)
    .bytes();
  if (!split) {
    e.run({
      kernel: `${name}${outVec4 ? '_y4' : ''}`,
      code: cachedCode(`${shaderKey(c)}|y4${outVec4}`, () => buildShader(c, outVec4, false)),
      uniforms,
      buffers: c.bias ? [c.x, c.w, c.y, c.bias] : [c.x, c.w, c.y],
      workgroups: [gx, gy],
      flops: c.flops,
      bytes: c.bytes,
      shape: c.shape,
    });
    return;
  }
  const S = split.slices;
  const part = e.empty([S, c.M, p4 * 4], 'conv2d_splitK_partial');
  const partBytes = 4 * S * c.M * p4 * 4;
  const outBytes = 4 * c.M * c.P + (c.bias ? 4 * c.M : 0); // the output and the bias: the reduce's
  const shape = `${c.shape} splitK${S}`;
  e.run({
    kernel: `${name}_splitK`,
    code: cachedCode(`${shaderKey(c)}|split`, () => buildShader(c, false, true)),
    uniforms,
    buffers: [c.x, c.w, part.binding],
    workgroups: [gx, gy, S],
    flops: c.flops,
    bytes: c.bytes - outBytes + partBytes,
    shape,
  });
  const total = c.M * p4;
  const [rx, ry] = grid(Math.ceil(total / 256), e.limits.maxComputeWorkgroupsPerDimension);
  const b = c.bias ? 'bias[m]' : '0.0';
  const store: string[] = [];
  if (outVec4) {
    // outHW % 4 == 0: the 4 pixels are in one image and the address is 16-byte aligned
    store.push('  let n = q / p.outHW;');
    store.push('  y[((n * p.outC + p.outOff + m) * p.outHW + q - n * p.outHW) / 4u] = v;');
  } else {
    for (let cc = 0; cc < 4; cc++) {
      store.push(`  { let qc = q + ${cc}u; let n = qc / p.outHW;`);
      store.push(`    if (qc < p.P) { y[(n * p.outC + p.outOff + m) * p.outHW + qc - n * p.outHW] = v[${cc}]; } }`);
    }
  }
  e.run({
    kernel: `${c.kernel}_splitK_reduce${outVec4 ? '_y4' : ''}`,
    code: cachedCode(`conv2d_splitk_reduce|y4${outVec4}|b${!!c.bias}|r${c.relu}`, () =>
      specialize(splitReduceTemplate, {
        Y_T: outVec4 ? 'vec4<f32>' : 'f32',
        BIAS_DECL: c.bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : '',
        VALUE: c.relu ? `max(s + ${b}, vec4<f32>(0.0))` : `s + ${b}`,
        STORE: store.join('\n'),
      }),
    ),
    uniforms: new Uniforms().u32(total, p4, S, c.M * p4, c.P, c.outH * c.outW, c.outC, c.outOff, rx * 256, 0, 0, 0).bytes(),
    buffers: c.bias ? [part.binding, c.y, c.bias] : [part.binding, c.y],
    workgroups: [rx, ry],
    flops: S * c.M * c.P,
    bytes: partBytes + outBytes,
    shape,
  });
  part.dispose();
}

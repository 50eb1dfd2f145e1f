import type { Engine } from '../gpu/engine';
import type { Tensor } from '../gpu/tensor';
import { ShapeError } from '../gpu/errors';
import directTemplate from '../../shaders/conv2d_direct.wgsl';
import type { GemmConv } from './conv2d_gemm';
import { cachedCode, grid, specialize, Uniforms } from '../gpu/wgsl';

/**
 * The direct conv for software adapters (SwiftShader; shaders/conv2d_direct.wgsl): each
 * invocation owns TM output channels × PX consecutive output pixels of one row in named registers
 * and loops over the input channels (per channel: k·(PX+k−1) x loads and k·k·TM weight loads for
 * TM·PX·k·k FMAs), with no workgroup memory and no barriers. The GEMM's 64-wide tiles are mostly
 * empty for the narrow U-Net++ layers (Cout 8–64) and its barriers are coroutine switches on a CPU
 * rasteriser. Weights are packed per channel group by a small pass first. Used by conv2d and
 * conv2dBackwardInput (src/kernels/conv2d.ts).
 */

/** Direct-path register tile: TM output channels (4 or 8) × PX pixels of a row (1–16) per invocation. */
export interface ConvDirectTile {
  TM: number;
  PX: number;
}

/**
 * Default direct tile: 8 output channels (4 when M ≤ 4) × up to 16 pixels of a row (the whole row
 * when it is narrower). SwiftShader, 2 busy cores, 16→16 64² and 64→64 8², batch 8: 8x16 ran
 * 1.3–1.5 GFLOP/s vs 1.0–1.1 for 8x8, 0.6 for 8x4; TM 4 was no better. Each x/weight element
 * load costs several FMAs there (a 4-lane gather), so the per-channel loads, k·(PX+k−1) + k·k·TM,
 * must be spread over as many of the TM·PX·k·k FMAs as the registers allow.
 */
export function conv2dDirectTile(M: number, outW: number): ConvDirectTile {
  return { TM: M <= 4 ? 4 : 8, PX: Math.min(16, outW) };
}

export function checkDirectTile(t: ConvDirectTile): void {
  if (!(t.TM === 4 || t.TM === 8)) throw new ShapeError(`conv2d direct tile ${JSON.stringify(t)}: TM must be 4 or 8`);
  if (!(Number.isInteger(t.PX) && t.PX >= 1 && t.PX <= 16)) throw new ShapeError(`conv2d direct tile ${JSON.stringify(t)}: PX must be an integer in 1–16`);
}

/** Generates the unrolled blocks of shaders/conv2d_direct.wgsl for one register tile and variant. */
function buildDirectShader(c: Omit<GemmConv, 'tile'>, t: ConvDirectTile, wg: number): string {
  const { TM, PX } = t;
  const KS = c.KS;
  const G = TM / 4;
  const cols = PX + KS - 1;
  const setup: string[] = [];
  // image-border tests once per invocation: invalid rows/columns read offset 0 (in bounds) and are zeroed
  for (let ky = 0; ky < KS; ky++) {
    setup.push(`  let iy${ky} = i32(oy) + ${ky} - PAD; let rv${ky} = iy${ky} >= 0 && iy${ky} < i32(p.inH); let ro${ky} = select(0, iy${ky} * W, rv${ky});`);
  }
  for (let j = 0; j < cols; j++) {
    setup.push(`  let ix${j} = i32(ox0) + ${j} - PAD; let cv${j} = ix${j} >= 0 && ix${j} < W; let co${j} = select(0, ix${j}, cv${j});`);
  }
  for (let g = 0; g < G; g++) for (let j = 0; j < PX; j++) setup.push(`  var a${g}_${j} = vec4<f32>(0.0);`);

  const body: string[] = [];
  const comp = ['x', 'y', 'z', 'w'];
  for (let ky = 0; ky < KS; ky++) {
    body.push('    {');
    for (let j = 0; j < cols; j++) body.push(`      let x${j} = select(0.0, x[cb + u32(ro${ky} + co${j})], rv${ky} && cv${j});`);
    for (let kx = 0; kx < KS; kx++) {
      const tap = ky * KS + kx;
      for (let g = 0; g < G; g++) {
        body.push(`      let w${g}_${tap} = wp[wc + ${tap * G + g}u];`);
      }
      for (let g = 0; g < G; g++) for (let j = 0; j < PX; j++) body.push(`      a${g}_${j} += x${j + kx} * w${g}_${tap};`);
    }
    body.push('    }');
  }

  const ep: string[] = [];
  ep.push('  let ybase = ((n * p.outC + p.outOff) * p.outH + oy) * p.outW + ox0;');
  ep.push('  let outHW = p.outH * p.outW;');
  for (let g = 0; g < G; g++)
    for (let r = 0; r < 4; r++) {
      ep.push(`  { let m = m0 + ${4 * g + r}u;`);
      ep.push('    if (m < p.M) {');
      ep.push(`      let bm = ${c.bias ? 'bias[m]' : '0.0'}; let yb = ybase + m * outHW;`);
      for (let j = 0; j < PX; j++) {
        const v = `a${g}_${j}.${comp[r]} + bm`;
        ep.push(`      if (ox0 + ${j}u < p.outW) { y[yb + ${j}u] = ${c.relu ? `max(${v}, 0.0)` : v}; }`);
      }
      ep.push('    }', '  }');
    }

  return specialize(directTemplate, {
    BIAS_DECL: c.bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : '',
    KS,
    PAD: `${c.pad}i`,
    PX,
    TM,
    WG: wg,
    SETUP: setup.join('\n'),
    BODY: body.join('\n'),
    EPILOGUE: ep.join('\n'),
  });
}

const DIRECT_WG = 16;

/**
 * Packs the weights for the direct shader: wp[((mg·cin + c)·KK + tap)·G + g][r] = W(mg·TM + 4g + r, c, tap)
 * (zero past M), W = w[m, c, tap] forward, w[c, m, KK−1−tap] for the grad-input.
 */
const PACK_WGSL = `
struct Params { M: u32, cin: u32, total: u32, stride: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wp: array<vec4<f32>>;
const KK = {{KK}}u;
const TM = {{TM}}u;
const G = TM / 4u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.total) { return; }
  let g = i % G;
  let r1 = i / G;
  let tap = r1 % KK;
  let r2 = r1 / KK;
  let c = r2 % p.cin;
  let mg = r2 / p.cin;
  var v = vec4<f32>(0.0);
  for (var r = 0u; r < 4u; r++) {
    let m = mg * TM + 4u * g + r;
    if (m < p.M) { v[r] = w[{{INDEX}}]; }
  }
  wp[i] = v;
}
`;

/**
 * Records the direct conv. With `weights` (the tensor behind `c.w`) the packed layout is cached on
 * it (`Tensor.derived`): parameters are packed once per weight update instead of on every pass —
 * the pack was 42 % of a SwiftShader inference step when it ran per forward.
 */
export function dispatchDirectConv(e: Engine, c: Omit<GemmConv, 'tile'>, t: ConvDirectTile, weights?: Tensor): void {
  checkDirectTile(t);
  const KK0 = c.KS * c.KS;
  const groupsM = Math.ceil(c.M / t.TM);
  const packed = groupsM * c.cin * KK0 * (t.TM / 4);
  const pack = (): Tensor => {
    const wp = e.empty([packed * 4], 'conv2d_direct_wpack');
    const [px, py] = grid(Math.ceil(packed / 64), e.limits.maxComputeWorkgroupsPerDimension);
    e.run({
      kernel: `conv2d_direct_pack_k${c.KS}_${t.TM}${c.mode === 'flipped' ? '_flip' : ''}`,
      code: specialize(PACK_WGSL, {
        KK: KK0,
        TM: t.TM,
        INDEX: c.mode === 'flipped' ? '(c * p.M + m) * KK + KK - 1u - tap' : '(m * p.cin + c) * KK + tap',
      }),
      uniforms: new Uniforms().u32(c.M, c.cin, packed, px * 64).bytes(),
      buffers: [c.w, wp.binding],
      workgroups: [px, py],
      flops: 0,
      bytes: 4 * (c.M * c.cin * KK0 + packed * 4),
      shape: c.shape,
    });
    return wp;
  };
  const { tensor: wp, cached } = weights ? weights.derived(`conv2d_direct_pack|${c.mode === 'flipped' ? 'flip' : 'fwd'}|${t.TM}`, pack) : { tensor: pack(), cached: false };
  const strips = Math.ceil(c.outW / t.PX);
  const rows = (c.P / (c.outH * c.outW)) * c.outH;
  const total = strips * rows * Math.ceil(c.M / t.TM);
  const [gx, gy] = grid(Math.ceil(total / DIRECT_WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `${c.kernel}_direct_k${c.KS}_${t.TM}x${t.PX}`,
    code: cachedCode(`conv2d_direct|${t.TM},${t.PX}|${DIRECT_WG}|k${c.KS}|p${c.pad}|b${!!c.bias}|r${c.relu}`, () => buildDirectShader(c, t, DIRECT_WG)),
    uniforms: new Uniforms()
      .u32(c.M, c.cin, c.inH, c.inW, c.outH, c.outW, c.outC, c.outOff, strips, rows, total, 0)
      .bytes(),
    buffers: c.bias ? [c.x, wp.binding, c.y, c.bias] : [c.x, wp.binding, c.y],
    workgroups: [gx, gy],
    flops: c.flops,
    bytes: c.bytes,
    shape: c.shape,
  });
  if (!cached) wp.dispose();
}

import type { Engine } from '../gpu/engine';
import { ShapeError } from '../gpu/errors';
import template from '../../shaders/conv2d_dx_small.wgsl';
import { grid, specialize, Uniforms } from '../gpu/wgsl';

/**
 * Input gradient of a stride-1 convolution on software adapters (SwiftShader), pixel-block form
 * (shaders/conv2d_dx_small.wgsl). conv2dBackwardInput in conv2d.ts validates and calls this; the
 * maths is in its comment: dx = conv(dy, flip(w)ᵀ) with padding k−1−p.
 *
 * Why not the direct row-strip kernel (conv2d_direct.wgsl) for these layers: the deep U-Net++
 * layers are tiny planes (2²–8² at a 32² input) with 256–1280 channels, i.e. M·cin·k² weights
 * that are each used by only N·H·W output pixels. There the cost is the weights, not the FMAs:
 *  - its packing pass (flip + transpose into vec4s of 4 output channels) moved every weight
 *    twice more, with four strided gathers per vec4: 56 of 76 ms for 512x2x2 → 512 (SwiftShader,
 *    2 cores). For the input gradient no packing is needed: for a fixed reduction channel c the
 *    weights of TM consecutive output channels, w[c, m0 .. m0+TM−1, :, :], are one contiguous run
 *    of TM·k² floats, aligned to 16 bytes when M % 4 == 0, so they are read as vec4s in place;
 *  - a row strip reloads all TM·k² weights of a channel once per output row (2–8 times per plane);
 *    a 2-D block covering the plane (or a ~32-pixel piece of it) loads them once per block;
 *  - on a plane that one block spans, the halo positions in the zero padding are known when the
 *    shader is generated and their products are dropped (2x2, k 3: 16 of 36 taps are real).
 *
 * Used by default on software adapters for planes of ≤ 256 pixels (`dxSmallTile`: one block per
 * plane up to 64 pixels, else ~32-pixel blocks); any block can be forced (`smallTile`). Blocks
 * that do not span an axis test the halo bounds at run time, once per invocation, like the
 * row-strip kernel. Larger planes stay on the row-strip kernel, where it ties.
 */

/** Register tile: TM channels of dx (4 or 8) × a BH×BW block of pixels (TM·BH·BW ≤ 256). */
export interface ConvDxSmallTile {
  TM: number;
  BH: number;
  BW: number;
}

/** One input-gradient convolution, already validated (see conv2dBackwardInput). */
export interface DxSmallConv {
  /** dx channels (the forward conv's input channels). */
  M: number;
  /** dy channels (the forward conv's output channels): the reduction. */
  cin: number;
  KS: number;
  /** Padding of the gathered dy: k−1−p (may be negative). */
  pad: number;
  N: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  dy: GPUBufferBinding;
  w: GPUBufferBinding;
  dx: GPUBufferBinding;
  flops: number;
  bytes: number;
  shape: string;
}

/**
 * Most accumulators per invocation, TM·BH·BW (SwiftShader spills beyond a few dozen anyway; this bounds the unrolled
 * text).
 */
const MAX_BLOCK = 256;

export function checkDxSmallTile(t: ConvDxSmallTile): void {
  const ok =
    (t.TM === 4 || t.TM === 8) &&
    Number.isInteger(t.BH) && Number.isInteger(t.BW) && t.BH >= 1 && t.BW >= 1 && t.TM * t.BH * t.BW <= MAX_BLOCK;
  if (!ok) throw new ShapeError(`conv2d dx block tile ${JSON.stringify(t)}: TM must be 4 or 8, BH and BW positive integers with TM·BH·BW ≤ ${MAX_BLOCK}`);
}

/**
 * Default tile on a software adapter (`usesDxSmall`: planes of ≤ 256 pixels, k ≤ 3). Planes of ≤ 64
 * pixels: one block per plane, 8 channels per invocation on planes of ≤ 16 pixels when M % 8 == 0
 * and that still leaves ≥ 16 invocations, else 4 (TM·H·W ≤ 256 accumulators). Larger planes:
 * blocks of ~32 pixels, whole rows up to 16 wide (2x16 on a 16² plane), 8 channels.
 * SwiftShader, 2 busy cores: whole 8x8 planes at TM 4 ran 13–34 ms for 256x8x8 → 256 and
 * 1024x8x8 → 256 vs 17–68 ms for 4x4 or 2x8 blocks at TM 8; on 2² and 4² planes TM 4 and 8 (and
 * workgroups of 4 or 16) were within the noise. On 16² planes 2x16, 4x8 (TM 8) and 4x16 (TM 4)
 * blocks tied, 1.3–1.8x faster than the row-strip kernel with its packing pass (384, 640 and
 * 576 → 128/32 channels); at 32² they only tied with it, so 32² and up stay there.
 */
export function dxSmallTile(M: number, N: number, H: number, W: number): ConvDxSmallTile {
  if (H * W <= 64) return { TM: H * W <= 16 && M % 8 === 0 && N * (M / 8) >= 16 ? 8 : 4, BH: H, BW: W };
  const BW = Math.min(W, 16);
  return { TM: M % 8 === 0 ? 8 : 4, BH: Math.min(H, Math.max(1, Math.floor(32 / BW))), BW };
}

/**
 * Whether the default (software) input gradient takes this kernel: planes of at most 256 pixels,
 * kernels up to 3x3 (the unrolled text grows with TM·BH·BW·k²; U-Net++ has only 3x3 and 1x1).
 */
export function usesDxSmall(H: number, W: number, k: number): boolean {
  return H * W <= 256 && k <= 3;
}

/** Invocations per workgroup: one SwiftShader SIMD group, so that 32 invocations still make 8 workgroups. */
const WG = 4;

const COMP = ['x', 'y', 'z', 'w'];

/** Generates the unrolled blocks of shaders/conv2d_dx_small.wgsl for one tile and shape. */
function buildShader(c: DxSmallConv, t: ConvDxSmallTile, wg: number, vecW: boolean): string {
  const { TM, BH, BW } = t;
  const KS = c.KS;
  const KK = KS * KS;
  const HH = BH + KS - 1; // halo rows
  const HW = BW + KS - 1; // halo columns
  // an axis is static when one block spans it from 0: halo bounds known now
  const staticY = BH === c.outH;
  const staticX = BW === c.outW;
  const guardM = c.M % TM !== 0;

  const setup: string[] = [];
  // halo row / column hy: dy row y0 + hy − PAD; static → a constant or absent, else a bounds test once
  const rowOk: (boolean | string)[] = [];
  const rowOff: string[] = [];
  for (let hy = 0; hy < HH; hy++) {
    if (staticY) {
      const iy = hy - c.pad;
      rowOk.push(iy >= 0 && iy < c.inH);
      rowOff.push(`${Math.max(0, iy) * c.inW}`);
    } else {
      setup.push(`  let iy${hy} = i32(y0) + ${hy} - PAD; let rv${hy} = iy${hy} >= 0 && iy${hy} < i32(p.inH); let ro${hy} = select(0, iy${hy} * W, rv${hy});`);
      rowOk.push(`rv${hy}`);
      rowOff.push(`ro${hy}`);
    }
  }
  const colOk: (boolean | string)[] = [];
  const colOff: string[] = [];
  for (let hx = 0; hx < HW; hx++) {
    if (staticX) {
      const ix = hx - c.pad;
      colOk.push(ix >= 0 && ix < c.inW);
      colOff.push(`${Math.max(0, ix)}`);
    } else {
      setup.push(`  let ix${hx} = i32(x0) + ${hx} - PAD; let cv${hx} = ix${hx} >= 0 && ix${hx} < W; let co${hx} = select(0, ix${hx}, cv${hx});`);
      colOk.push(`cv${hx}`);
      colOff.push(`co${hx}`);
    }
  }
  if (guardM) for (let mi = 0; mi < TM; mi++) setup.push(`  let mv${mi} = m0 + ${mi}u < p.M;`);
  for (let mi = 0; mi < TM; mi++) for (let by = 0; by < BH; by++) for (let bx = 0; bx < BW; bx++) setup.push(`  var a${mi}_${by}_${bx} = 0.0;`);

  const body: string[] = [];
  // weights of this c: flat f = mi·KK + KK−1−tap inside the run w[c, m0.., :, :]
  if (vecW) {
    body.push('    let wb4 = wb / 4u;');
    for (let j = 0; j < (TM * KK) / 4; j++) body.push(`    let q${j} = w[wb4 + ${j}u];`);
  } else {
    for (let mi = 0; mi < TM; mi++) {
      for (let r = 0; r < KK; r++) {
        const f = mi * KK + r;
        body.push(guardM ? `    let w${f} = select(0.0, w[select(0u, wb + ${f}u, mv${mi})], mv${mi});` : `    let w${f} = w[wb + ${f}u];`);
      }
    }
  }
  const weight = (mi: number, tap: number): string => {
    const f = mi * KK + KK - 1 - tap;
    return vecW ? `q${f >> 2}.${COMP[f & 3]}` : `w${f}`;
  };
  for (let hy = 0; hy < HH; hy++) {
    if (rowOk[hy] === false) continue;
    const h: (string | null)[] = [];
    body.push('    {');
    for (let hx = 0; hx < HW; hx++) {
      if (colOk[hx] === false) {
        h.push(null);
        continue;
      }
      const conds = [rowOk[hy], colOk[hx]].filter((v): v is string => typeof v === 'string');
      const both = rowOff[hy]!.match(/^\d+$/) && colOff[hx]!.match(/^\d+$/);
      const off = both ? `${Number(rowOff[hy]) + Number(colOff[hx])}u` : `u32(${rowOff[hy]} + ${colOff[hx]})`;
      const load = `x[cb + ${off}]`;
      body.push(`      let h${hx} = ${conds.length ? `select(0.0, ${load}, ${conds.join(' && ')})` : load};`);
      h.push(`h${hx}`);
    }
    for (let by = Math.max(0, hy - KS + 1); by <= Math.min(BH - 1, hy); by++) {
      const ky = hy - by;
      for (let kx = 0; kx < KS; kx++) {
        const tap = ky * KS + kx;
        for (let bx = 0; bx < BW; bx++) {
          const hv = h[bx + kx];
          if (!hv) continue;
          for (let mi = 0; mi < TM; mi++) body.push(`      a${mi}_${by}_${bx} += ${hv} * ${weight(mi, tap)};`);
        }
      }
    }
    body.push('    }');
  }

  const ep: string[] = [];
  for (let mi = 0; mi < TM; mi++) {
    ep.push(`  { let m = m0 + ${mi}u;`);
    if (guardM) ep.push('    if (m < p.M) {');
    ep.push('    let base = ((n * p.M + m) * p.outH + y0) * p.outW + x0;');
    for (let by = 0; by < BH; by++) {
      for (let bx = 0; bx < BW; bx++) {
        const conds = [...(staticY ? [] : [`y0 + ${by}u < p.outH`]), ...(staticX ? [] : [`x0 + ${bx}u < p.outW`])];
        const st = `y[base + ${by}u * p.outW + ${bx}u] = a${mi}_${by}_${bx};`;
        ep.push(conds.length ? `    if (${conds.join(' && ')}) { ${st} }` : `    ${st}`);
      }
    }
    if (guardM) ep.push('    }');
    ep.push('  }');
  }

  return specialize(template, {
    W_T: vecW ? 'vec4<f32>' : 'f32',
    KK,
    TM,
    BH,
    BW,
    PAD: `${c.pad}i`,
    WG: wg,
    SETUP: setup.join('\n'),
    BODY: body.join('\n'),
    EPILOGUE: ep.join('\n'),
  });
}

/** Records the dispatch (one pass, no scratch). */
export function dispatchDxSmall(e: Engine, c: DxSmallConv, t: ConvDxSmallTile): void {
  checkDxSmallTile(t);
  // vec4 weight runs: 16-byte aligned for every c and m0 when M % 4 == 0; whole runs in range when M % TM == 0
  const vecW = c.M % t.TM === 0;
  const blocksX = Math.ceil(c.outW / t.BW);
  const blocksY = Math.ceil(c.outH / t.BH);
  const total = blocksX * blocksY * c.N * Math.ceil(c.M / t.TM);
  const [gx, gy] = grid(Math.ceil(total / WG), e.limits.maxComputeWorkgroupsPerDimension);
  e.run({
    kernel: `conv2d_dx_small_k${c.KS}_${t.TM}x${t.BH}x${t.BW}${vecW ? '_w4' : ''}`,
    code: buildShader(c, t, WG, vecW),
    uniforms: new Uniforms().u32(c.M, c.cin, c.inH, c.inW, c.outH, c.outW, blocksX, blocksY, c.N, total, 0, 0).bytes(),
    buffers: [c.dy, c.w, c.dx],
    workgroups: [gx, gy],
    flops: c.flops,
    bytes: c.bytes,
    shape: c.shape,
  });
}

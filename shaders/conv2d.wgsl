// 2-D convolution, stride 1, as an implicit GEMM (used for the forward pass and, over the flipped
// kernel, for the gradient with respect to the input; see src/kernels/conv2d.ts).
//
//   y[m, q] = Σ_k A[m, k] · B[k, q]      m: output channel, q = (n, oy, ox): output pixel,
//                                         k = (c, ky, kx): input channel and kernel tap
//   B[k, q] = x[n, c, oy + ky − PAD, ox + kx − PAD]   (zero outside the image; never stored)
//
// One workgroup computes a BM×BN tile of y. Per K step it stages a BK×BM slice of A and a BK×BN
// slice of B in workgroup memory (both k-major, so the inner loop reads vec4s along m and along q),
// while the next step's global loads are already in flight in registers. Each thread accumulates
// TM×TN outputs in registers: TM/4 groups of 4 rows spaced BM/(TM/4) apart, TN/4 groups of 4
// pixels spaced BN/(TN/4) apart (conflict-free vec4 reads from workgroup memory, coalesced stores).
// The TS side generates the unrolled blocks ({{…}}) for the chosen tile.
//
// Split-K variant (small M×P, long K): workgroup z = s reduces only k ∈ [s·kChunk, min(K, (s+1)·kChunk))
// (kChunk a multiple of BK, so every slice but the last is whole steps and the bound by K stays the
// only guard) and stores its raw accumulators as vec4s along q into part[s, m, q/4] (rows of P4 =
// P rounded up to 4); shaders/conv2d_splitk_reduce.wgsl sums the slices and applies the epilogue.

struct Params {
  M: u32,       // GEMM rows: output channels of this conv
  P: u32,       // GEMM columns: N·outH·outW output pixels
  K: u32,       // reduction: cin·KS·KS
  cin: u32,     // channels of the gathered input
  inH: u32,
  inW: u32,
  outW: u32,
  outHW: u32,   // outH·outW
  outC: u32,    // channels of the output tensor (≥ M when writing a channel slice)
  outOff: u32,  // first output channel written
  tilesM: u32,  // ceil(M / BM)
  tiles: u32,   // tilesM · ceil(P / BN)
  kChunk: u32,  // split-K: reduction elements per slice (a multiple of BK); unused without a split
  p4: u32,      // split-K: ceil(P / 4), the vec4 row length of the partial sums
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{W_T}}>;
@group(0) @binding(3) var<storage, read_write> y: array<{{Y_T}}>;
{{BIAS_DECL}}

const BM = {{BM}}u;
const BN = {{BN}}u;
const BK = {{BK}}u;
const THREADS = {{THREADS}}u;
const KS = {{KS}}u;
const KK = {{KK}}u;       // KS·KS
const PAD = {{PAD}};      // i32; negative for the backward pass of an over-padded conv

var<workgroup> As: array<vec4<f32>, {{AS_LEN}}>;   // [BK][BM/4]
var<workgroup> Bs: array<vec4<f32>, {{BS_LEN}}>;   // [BK][BN/4]

@compute @workgroup_size({{THREADS}})
fn main(@builtin(local_invocation_index) lid: u32,
        @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let tile = wid.x + wid.y * nwg.x;   // folded grid; uniform across the workgroup
  if (tile >= p.tiles) { return; }
  // consecutive workgroups share an input-pixel tile and walk the output channels
  let m0 = (tile % p.tilesM) * BM;
  let q0 = (tile / p.tilesM) * BN;

  // ---- this thread's B column (output pixel), decomposed once
  let bCol = lid % BN;
  let bRow = lid / BN;
  let bq = q0 + bCol;
  let bValid = bq < p.P;
  let bn = bq / p.outHW;
  let brem = bq - bn * p.outHW;
  let boy = i32(brem / p.outW) - PAD;
  let box = i32(brem % p.outW) - PAD;
  let bBase = bn * p.cin * p.inH * p.inW;
  let inHW = p.inH * p.inW;
  // ---- this thread's place in the register tile
  let tx = lid % (BN / {{TN}}u);
  let ty = lid / (BN / {{TN}}u);

{{REG_DECL}}
{{K_RANGE}}
  let nk = (kEnd - kb + BK - 1u) / BK;
{{LOAD}}
  for (var t = 0u; t < nk; t++) {
    workgroupBarrier();
{{STORE}}
    workgroupBarrier();
    if (t + 1u < nk) {
      let k0 = kb + (t + 1u) * BK;
{{LOAD_NEXT}}
    }
    for (var kk = 0u; kk < BK; kk++) {
{{COMPUTE}}
    }
  }
{{EPILOGUE}}
}

// B[k, q] for this thread's pixel: the im2col gather, bounded by the image and by K. Branch-free
// (one clamped load, then a select): SwiftShader compiles branchy inlined loads very slowly.
fn gatherB(k: u32, valid: bool, base: u32, oy: i32, ox: i32, K: u32, inH: u32, inW: u32, inHW: u32) -> f32 {
  let c = k / KK;
  let r = k - c * KK;
  let iy = oy + i32(r / KS);
  let ix = ox + i32(r % KS);
  let ok = valid && k < K && u32(iy) < inH && u32(ix) < inW;
  let v = x[select(0u, base + c * inHW + u32(iy) * inW + u32(ix), ok)];
  return select(0.0, v, ok);
}

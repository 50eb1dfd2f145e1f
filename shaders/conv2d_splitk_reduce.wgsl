// Second pass of the split-K conv2d GEMM (src/kernels/conv2d.ts, shaders/conv2d.wgsl): sums the
// S partial products of every output and applies the epilogue the single-pass kernel would have:
//
//   y[n, outOff + m, pix] = act(Σ_s part[s, m, q] + bias[m]),   q = n·outHW + pix < P
//
// part is [S, M, P4] (P4 = P rounded up to a multiple of 4), read as vec4 along q: invocation
// i = m·P4/4 + q/4 owns 4 consecutive pixels of channel m, so consecutive invocations read and
// write consecutive addresses. The TS side fills Y_T (vec4 when outHW % 4 == 0, so the 4 pixels
// lie in one image at a 16-byte aligned address; else f32), BIAS_DECL, VALUE and STORE.

struct Params {
  total: u32,   // M·P4/4 invocations
  p4: u32,      // P4/4
  splits: u32,  // S
  stride: u32,  // one slice, in vec4s: M·P4/4
  P: u32,
  outHW: u32,
  outC: u32,    // channels of the output tensor (≥ M when writing a channel slice)
  outOff: u32,  // first output channel written
  row: u32,     // invocations per row of the folded grid
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<{{Y_T}}>;
{{BIAS_DECL}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let m = i / p.p4;
  let q = (i - m * p.p4) * 4u;
  var s = part[i];
  for (var k = 1u; k < p.splits; k++) {
    s += part[i + k * p.stride];
  }
  let v = {{VALUE}};
{{STORE}}
}

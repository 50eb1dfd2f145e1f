// Gradient of a stride-1 convolution with respect to its input, for CPU rasterisers (SwiftShader)
// on small planes (see src/kernels/conv2d_dx_small.ts):
//
//   dx[n, m, y, x] = Σ_{c, ky, kx} dy[n, c, y + ky − PAD, x + kx − PAD] · w[c, m, KS−1−ky, KS−1−kx]
//
// (m: input channel of the forward conv, c: its output channel, PAD = KS−1−padding.)
// Invocation (pixel block, image, channel group) owns TM channels m0.. × a BH×BW block of pixels
// in named registers and loops over c. Per c it loads the (BH+KS−1)×(BW+KS−1) halo of dy and the
// TM·KS·KS weights it needs straight from w (OIHW: for a fixed c they are one contiguous run
// w[c, m0 .. m0+TM−1, :, :], read as TM·KS·KS/4 aligned vec4s when M % 4 == 0; no packing pass),
// then does up to TM·BH·BW·KS·KS multiply-adds. When the block spans the whole plane along an axis
// its halo bounds are known when the shader is generated, so halo values that fall in the padding
// and the products with them are left out of the text altogether (a 2x2 plane does 16 of 36 taps).
// No workgroup memory, no barriers, no divisions in the channel loop.
// The TS side generates the unrolled blocks (placeholders below).

struct Params {
  M: u32,       // channels of dx (rows of the weight matrix read per c)
  cin: u32,     // channels of dy (the reduction)
  inH: u32,     // dy plane
  inW: u32,
  outH: u32,    // dx plane
  outW: u32,
  blocksX: u32, // ceil(outW / BW)
  blocksY: u32, // ceil(outH / BH)
  N: u32,
  total: u32,   // blocksX · blocksY · N · ceil(M / TM)
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<{{W_T}}>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const KK = {{KK}}u;
const TM = {{TM}}u;
const BH = {{BH}}u;
const BW = {{BW}}u;
const PAD = {{PAD}};      // i32; negative when the forward conv was over-padded

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * {{WG}}u + lid;
  if (t >= p.total) { return; }
  let bx = t % p.blocksX;
  let r1 = t / p.blocksX;
  let by = r1 % p.blocksY;
  let r2 = r1 / p.blocksY;
  let n = r2 % p.N;
  let m0 = (r2 / p.N) * TM;
  let y0 = by * BH;
  let x0 = bx * BW;
  let inHW = p.inH * p.inW;
  let W = i32(p.inW);
  let xn = n * p.cin * inHW;   // this image's first dy channel
{{SETUP}}
  for (var c = 0u; c < p.cin; c++) {
    let cb = xn + c * inHW;
    let wb = (c * p.M + m0) * KK;
{{BODY}}
  }
{{EPILOGUE}}
}

// 2-D convolution, stride 1, direct form for CPU rasterisers (SwiftShader); used for the forward
// pass and, over the flipped kernel with in/out channels swapped, for the gradient with respect to
// the input (see src/kernels/conv2d.ts):
//
//   y[n, m, oy, ox] = Σ_{c, ky, kx} W(m, c, ky, kx) · x[n, c, oy + ky − PAD, ox + kx − PAD]
//   forward: W = w[m, c, ky, kx];   grad-input: W = w[c, m, KS−1−ky, KS−1−kx]
//
// Invocation (pixel strip, channel group) owns TM output channels (TM/4 vec4 groups) × PX
// consecutive output pixels of one row in named registers and loops over the input channels c:
// per channel it loads the KS×(PX+KS−1) x values its strip touches and, per tap, TM/4 vec4s of
// weights, for TM·PX·KS·KS FMAs. The weights come pre-packed (flipped and transposed for the
// grad-input) by a tiny pass in src/kernels/conv2d.ts as wp[((mg·cin + c)·KK + tap)·TM/4 + g] =
// W(mg·TM + 4g .. +3, c, tap), zero past M: one aligned vec4 load per 4 output channels instead of
// four strided scalar gathers (which cost half the time). No workgroup memory, no barriers (a barrier is a coroutine switch per SIMD
// group on SwiftShader), no index divisions in the channel loop: all image-border tests and
// offsets are computed once per invocation. Consecutive invocations walk the pixel strips of one
// channel group, so a SIMD group (4 lanes) shares its loop bounds and weight addresses.
// The TS side generates the unrolled blocks (placeholders below).

struct Params {
  M: u32,       // output channels of this conv
  cin: u32,     // channels of the gathered input
  inH: u32,
  inW: u32,
  outH: u32,
  outW: u32,
  outC: u32,    // channels of the output tensor (≥ M when writing a channel slice)
  outOff: u32,  // first output channel written
  strips: u32,  // ceil(outW / PX)
  rows: u32,    // N·outH
  total: u32,   // strips · rows · ceil(M / TM)
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
{{BIAS_DECL}}

const KS = {{KS}}u;
const KK = KS * KS;
const PAD = {{PAD}};      // i32; negative for the grad-input of an over-padded conv
const PX = {{PX}}u;
const TM = {{TM}}u;
const G = TM / 4u;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * {{WG}}u + lid;
  if (t >= p.total) { return; }
  let strip = t % p.strips;
  let rest = t / p.strips;
  let row = rest % p.rows;
  let mg = rest / p.rows;
  let m0 = mg * TM;
  let wg0 = mg * p.cin * KK * G;
  let n = row / p.outH;
  let oy = row - n * p.outH;
  let ox0 = strip * PX;
  let inHW = p.inH * p.inW;
  let W = i32(p.inW);
  let xn = n * p.cin * inHW;   // this image's first input channel
{{SETUP}}
  for (var c = 0u; c < p.cin; c++) {
    let cb = xn + c * inHW;
    let wc = wg0 + c * KK * G;
{{BODY}}
  }
{{EPILOGUE}}
}

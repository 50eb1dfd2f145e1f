// conv2d weight gradient (stride 1), direct form for CPU rasterisers (SwiftShader):
//   dW[co, ci, ky, kx] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh + ky − PAD, ow + kx − PAD]
// Invocation (ci group, co group, slice) owns TM output channels × CIT input channels × KS·KS taps
// in registers and walks the output rows [slice·p.chunk, …) of N·Ho pixel rows left to right,
// keeping a KS×KS window of x per input channel that slides by one column per pixel: per pixel it
// loads TM dy values and KS new x values for TM·CIT·KS·KS FMAs. No workgroup memory and no barriers
// (a barrier is a coroutine switch per SIMD group on SwiftShader). Consecutive invocations differ in
// the input-channel group, so the 4 SIMD lanes share their loop bounds and dy addresses.
// With several slices each writes its [Cout, Cin·k·k] partial into scratch (summed by
// conv2d_grad_reduce); with one slice it writes dW directly (optionally +=).
// The TS side (conv2d_grad_weight.ts) generates the unrolled blocks (placeholders below).
struct Params {
  cout: u32, cin: u32, cinkk: u32, h: u32,
  w: u32, ho: u32, wo: u32, rows: u32,
  chunk: u32, groupsC: u32, groupsM: u32, total: u32,
  split_stride: u32, _p0: u32, _p1: u32, _p2: u32,
}

const TM = {{TM}}u;
const CIT = {{CIT}}u;
const KS = {{KS}}u;
const KK = KS * KS;
const PAD = {{PAD}}i;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// x[idx] where ok, else 0 (one clamped load then a select: branch-free for SwiftShader)
fn ld(idx: i32, ok: bool) -> f32 {
  return select(0.0, x[select(0u, u32(idx), ok)], ok);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let t = (wid.x + wid.y * nwg.x) * {{WG}}u + lid;
  if (t >= p.total) { return; }
  let gc = t % p.groupsC;
  let rest = t / p.groupsC;
  let gm = rest % p.groupsM;
  let slice = rest / p.groupsM;
  let ci0 = gc * CIT;
  let co0 = gm * TM;
  let hw = p.h * p.w;
  let howo = p.ho * p.wo;
  let W = i32(p.w);
{{REG_DECL}}
  let r0 = slice * p.chunk;
  let r1 = min(r0 + p.chunk, p.rows);
  var n = r0 / p.ho;
  var oh = r0 - n * p.ho;
  for (var r = r0; r < r1; r++) {
    // row bases: x rows oh + ky − PAD of this thread's input channels, dy row of its channels
    let xn = i32((n * p.cin + ci0) * hw);
{{ROW_SETUP}}
    let dyr = (n * p.cout) * howo + oh * p.wo;
{{WINDOW_INIT}}
    for (var ow = 0u; ow < p.wo; ow++) {
      let ix = i32(ow) + i32(KS) - 1 - PAD;
      let cv = ix >= 0 && ix < W;
{{PIXEL}}
    }
    oh++;
    if (oh == p.ho) { oh = 0u; n++; }
  }
{{STORE}}
}

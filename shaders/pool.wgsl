// Max-pool 2x2, stride 2, floor for odd H/W (PyTorch MaxPool2d(2, 2)), and its backward.
// One file, four kernels: the TS side takes the text before the first `//! name` line (shared
// helpers) plus the named section. All tensors NCHW f32.
//
// argmax: which element of the 2x2 window won, as a small integer stored in an f32 tensor of y's
// shape: 0 = (0,0), 1 = (0,1), 2 = (1,0), 3 = (1,1) (row-major window order, i.e. dy*2 + dx).
// Ties keep the first max (strict >); a NaN always wins over a number and a later NaN replaces an
// earlier one, as in PyTorch's `val > maxval || isnan(val)`. NaN is tested on the bits so that no
// compiler fast-math assumption can drop it.

fn isnan4(v: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

fn isnan1(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

//! fwd_vec4
// W % 8 == 0: each thread produces 4 consecutive outputs along W from two vec4 loads in each of
// the two input rows. Output rows are flattened over N*C*Ho; input row = 2*ro (+ ro / Ho if H odd,
// skipping the unused last row of each plane).
struct Params {
  total: u32,  // output vec4s
  row: u32,    // threads per folded grid row
  wg: u32,     // output vec4s per row (Wo / 4)
  ho: u32,
  hodd: u32,   // H & 1
  w4: u32,     // input vec4s per row (W / 4)
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> arg: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let ro = i / p.wg;
  let j = i - ro * p.wg;
  var ri = 2u * ro;
  if (p.hodd != 0u) { ri += ro / p.ho; }
  let b0 = ri * p.w4 + 2u * j;
  let a0 = x[b0];
  let a1 = x[b0 + 1u];
  let c0 = x[b0 + p.w4];
  let c1 = x[b0 + p.w4 + 1u];
  let v01 = vec4<f32>(a0.y, a0.w, a1.y, a1.w);
  let v10 = vec4<f32>(c0.x, c0.z, c1.x, c1.z);
  let v11 = vec4<f32>(c0.y, c0.w, c1.y, c1.w);
  var m = vec4<f32>(a0.x, a0.z, a1.x, a1.z);
  var k = vec4<f32>(0.0);
  var u = (v01 > m) | isnan4(v01);
  m = select(m, v01, u);
  k = select(k, vec4<f32>(1.0), u);
  u = (v10 > m) | isnan4(v10);
  m = select(m, v10, u);
  k = select(k, vec4<f32>(2.0), u);
  u = (v11 > m) | isnan4(v11);
  m = select(m, v11, u);
  k = select(k, vec4<f32>(3.0), u);
  y[i] = m;
  arg[i] = k;
}

//! fwd_scalar
// Any W: one output per thread.
struct Params {
  total: u32,  // outputs
  row: u32,
  wo: u32,
  ho: u32,
  hodd: u32,
  w: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> arg: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let ro = i / p.wo;
  let ow = i - ro * p.wo;
  var ri = 2u * ro;
  if (p.hodd != 0u) { ri += ro / p.ho; }
  let b0 = ri * p.w + 2u * ow;
  var m = x[b0];
  var k = 0.0;
  let v01 = x[b0 + 1u];
  if (v01 > m || isnan1(v01)) { m = v01; k = 1.0; }
  let v10 = x[b0 + p.w];
  if (v10 > m || isnan1(v10)) { m = v10; k = 2.0; }
  let v11 = x[b0 + p.w + 1u];
  if (v11 > m || isnan1(v11)) { m = v11; k = 3.0; }
  y[i] = m;
  arg[i] = k;
}

//! bwd_vec4
// W % 4 == 0 (so W = 2*Wo and every column is in a window): each thread writes 4 consecutive dx
// along W from one vec2 of dy and one vec2 of argmax. Rows flattened over N*C*H; the last row
// of a plane with odd H is outside every window and gets 0.
struct Params {
  total: u32,  // dx vec4s
  row: u32,
  w4: u32,     // dx vec4s per row (= dy vec2s per row)
  h: u32,
  ho: u32,
  hodd: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> arg: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let ri = i / p.w4;
  let q = i - ri * p.w4;
  var ro = ri >> 1u;
  var a = ri & 1u;
  if (p.hodd != 0u) {
    let nc = ri / p.h;
    let ih = ri - nc * p.h;
    if (ih >= 2u * p.ho) {
      dx[i] = vec4<f32>(0.0);
      return;
    }
    ro = nc * p.ho + (ih >> 1u);
    a = ih & 1u;
  }
  let j = ro * p.w4 + q;
  let g = dy[j];
  let c = arg[j];
  let c0 = f32(2u * a);
  let c1 = c0 + 1.0;
  dx[i] = select(vec4<f32>(0.0), vec4<f32>(g.x, g.x, g.y, g.y), vec4<f32>(c.x, c.x, c.y, c.y) == vec4<f32>(c0, c1, c0, c1));
}

//! bwd_scalar
// Any W: one dx element per thread.
struct Params {
  total: u32,  // dx elements
  row: u32,
  w: u32,
  h: u32,
  ho: u32,
  hodd: u32,
  wo: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> arg: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let ri = i / p.w;
  let iw = i - ri * p.w;
  var ro = ri >> 1u;
  var a = ri & 1u;
  var inside = true;
  if (p.hodd != 0u) {
    let nc = ri / p.h;
    let ih = ri - nc * p.h;
    inside = ih < 2u * p.ho;
    ro = nc * p.ho + (ih >> 1u);
    a = ih & 1u;
  }
  let ow = iw >> 1u;
  var v = 0.0;
  if (inside && ow < p.wo) {
    let j = ro * p.wo + ow;
    if (arg[j] == f32(2u * a + (iw & 1u))) { v = dy[j]; }
  }
  dx[i] = v;
}

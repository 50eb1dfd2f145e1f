// 2x upsampling (nearest and bilinear, PyTorch F.interpolate(scale_factor=2) semantics) and the
// backward of each, all as gathers (no atomics). The TS side takes the text before the first
// `//! name` line plus the named section. NCHW f32.
//
// Naming: "small" is the H x W tensor (x in the forward, dx in the backward), "big" the 2H x 2W
// one (y in the forward, dy in the backward). The big tensor may be a channel slice of a wider
// tensor (zero-copy concat): its rows for (n, c) start at n*bigBatch + bigRow0 + c*2H.
// gid.z is the batch item; gid.x + gid.y*row the thread within it; each thread owns one input
// row segment `rl` (= c*H + h) and a column group q.
//
// Bilinear, align_corners=False, scale 2: source = dst/2 - 0.25 clamped at 0, so along one axis
//   big[2k]   = 0.25*small[max(k-1, 0)]   + 0.75*small[k]
//   big[2k+1] = 0.75*small[k] + 0.25*small[min(k+1, W-1)]
// and the adjoint (each small pixel gathers from the big pixels that read it):
//   gsmall[k] = 0.25*g[max(2k-1, 0)] + 0.75*g[2k] + 0.75*g[2k+1] + 0.25*g[min(2k+2, 2W-1)]
// Both are separable: horizontal pass per row, then the same weights across rows.

struct Params {
  per: u32,       // threads per batch item
  row: u32,       // threads per folded grid row
  w: u32,         // small row width in this kernel's unit (vec4s or elements)
  h: u32,         // small H
  smallBatch: u32,// small rows per batch item: C*H
  bigRow0: u32,   // first big row of the slice in batch item 0: channelOffset*2H
  bigBatch: u32,  // big rows per batch item: Cbig*2H
}
@group(0) @binding(0) var<uniform> p: Params;

//! nearest_fwd_vec4
// W % 4 == 0: one output vec4 per thread (per = 4 * C*H*W/4), so a subgroup's stores are one
// contiguous run; big row R of this batch item comes from small row R/2, output vec4 j of it from
// small vec4 j/2 (lanes xxyy for even j, zzww for odd). Neighbouring threads share the load.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let yw = 2u * p.w;
  let r = i / yw;
  let j = i - r * yw;
  let v = x[(gid.z * p.smallBatch + (r >> 1u)) * p.w + (j >> 1u)];
  y[(gid.z * p.bigBatch + p.bigRow0 + r) * yw + j] = select(v.xxyy, v.zzww, (j & 1u) == 1u);
}

//! nearest_fwd
// Any W: one x element -> one vec2 in each of 2 output rows (2W is even, so vec2-aligned).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let k = i - rl * p.w;
  let v = vec2<f32>(x[(gid.z * p.smallBatch + rl) * p.w + k]);
  let o = (gid.z * p.bigBatch + p.bigRow0 + 2u * rl) * p.w + k;
  y[o] = v;
  y[o + p.w] = v;
}

//! nearest_bwd_vec4
// W % 4 == 0: dx vec4 = sums of the 2x2 blocks of 2 vec4 in each of 2 dy rows.
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let q = i - rl * p.w;
  let yw = 2u * p.w;
  let o = (gid.z * p.bigBatch + p.bigRow0 + 2u * rl) * yw + 2u * q;
  let s = dy[o] + dy[o + yw];
  let t = dy[o + 1u] + dy[o + yw + 1u];
  dx[(gid.z * p.smallBatch + rl) * p.w + q] = vec4<f32>(s.x + s.y, s.z + s.w, t.x + t.y, t.z + t.w);
}

//! nearest_bwd
@group(0) @binding(1) var<storage, read> dy: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let k = i - rl * p.w;
  let o = (gid.z * p.bigBatch + p.bigRow0 + 2u * rl) * p.w + k;
  let s = dy[o] + dy[o + p.w];
  dx[(gid.z * p.smallBatch + rl) * p.w + k] = s.x + s.y;
}

//! bilinear_fwd_vec4
// W % 4 == 0: each thread reads 4 consecutive x (plus one neighbour each side) in rows h-1, h,
// h+1 (clamped) and writes 8 consecutive outputs in each of output rows 2h and 2h+1.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

struct Pair { lo: vec4<f32>, hi: vec4<f32> }

// Horizontal 2x interpolation of x[r, 4q-1 .. 4q+4] -> outputs 8q .. 8q+7.
fn hrow(r: u32, q: u32) -> Pair {
  let b = r * p.w + q;
  let c = x[b];
  var l = c.x;
  if (q > 0u) { l = x[b - 1u].w; }
  var rt = c.w;
  if (q + 1u < p.w) { rt = x[b + 1u].x; }
  let ev = 0.25 * vec4<f32>(l, c.xyz) + 0.75 * c;
  let od = 0.75 * c + 0.25 * vec4<f32>(c.yzw, rt);
  return Pair(vec4<f32>(ev.x, od.x, ev.y, od.y), vec4<f32>(ev.z, od.z, ev.w, od.w));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let q = i - rl * p.w;
  let hh = rl - (rl / p.h) * p.h;
  let r = gid.z * p.smallBatch + rl;
  let m = hrow(r, q);
  var u = m;
  if (hh > 0u) { u = hrow(r - 1u, q); }
  var d = m;
  if (hh + 1u < p.h) { d = hrow(r + 1u, q); }
  let yw = 2u * p.w;
  let o = (gid.z * p.bigBatch + p.bigRow0 + 2u * rl) * yw + 2u * q;
  y[o] = 0.25 * u.lo + 0.75 * m.lo;
  y[o + 1u] = 0.25 * u.hi + 0.75 * m.hi;
  y[o + yw] = 0.75 * m.lo + 0.25 * d.lo;
  y[o + yw + 1u] = 0.75 * m.hi + 0.25 * d.hi;
}

//! bilinear_fwd
// Any W: one x pixel -> a 2x2 output block (one vec2 in each of 2 rows).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<vec2<f32>>;

fn hrow(r: u32, k: u32) -> vec2<f32> {
  let b = r * p.w + k;
  let c = x[b];
  let l = x[select(b, b - 1u, k > 0u)];
  let rt = x[select(b, b + 1u, k + 1u < p.w)];
  return vec2<f32>(0.25 * l + 0.75 * c, 0.75 * c + 0.25 * rt);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let k = i - rl * p.w;
  let hh = rl - (rl / p.h) * p.h;
  let r = gid.z * p.smallBatch + rl;
  let m = hrow(r, k);
  var u = m;
  if (hh > 0u) { u = hrow(r - 1u, k); }
  var d = m;
  if (hh + 1u < p.h) { d = hrow(r + 1u, k); }
  let o = (gid.z * p.bigBatch + p.bigRow0 + 2u * rl) * p.w + k;
  y[o] = 0.25 * u + 0.75 * m;
  y[o + p.w] = 0.75 * m + 0.25 * d;
}

//! bilinear_bwd_vec4
// W % 4 == 0: each thread gathers 4 consecutive dx from dy rows 2h-1 .. 2h+2 (clamped), columns
// 8q-1 .. 8q+8 (clamped).
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;

// Horizontal adjoint of dy row r (absolute) for dx columns 4q .. 4q+3.
fn hg(r: u32, q: u32) -> vec4<f32> {
  let b = r * 2u * p.w + 2u * q;
  let a = dy[b];
  let c = dy[b + 1u];
  var l = a.x;
  if (q > 0u) { l = dy[b - 1u].w; }
  var rt = c.w;
  if (q + 1u < p.w) { rt = dy[b + 2u].x; }
  let ev = vec4<f32>(a.xz, c.xz);      // g[2k]
  let od = vec4<f32>(a.yw, c.yw);      // g[2k+1]
  let pv = vec4<f32>(l, a.yw, c.y);    // g[2k-1]
  let nx = vec4<f32>(a.z, c.xz, rt);   // g[2k+2]
  return 0.75 * (ev + od) + 0.25 * (pv + nx);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let q = i - rl * p.w;
  let hh = rl - (rl / p.h) * p.h;
  let r0 = gid.z * p.bigBatch + p.bigRow0 + 2u * rl;
  let r1 = r0 + 1u;
  let rm = select(r0, r0 - 1u, hh > 0u);
  let rp = select(r1, r1 + 1u, hh + 1u < p.h);
  dx[(gid.z * p.smallBatch + rl) * p.w + q] = 0.75 * (hg(r0, q) + hg(r1, q)) + 0.25 * (hg(rm, q) + hg(rp, q));
}

//! bilinear_bwd
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

fn hg(r: u32, k: u32) -> f32 {
  let b = r * 2u * p.w + 2u * k;
  let l = dy[select(b, b - 1u, k > 0u)];
  let rt = dy[select(b + 1u, b + 2u, k + 1u < p.w)];
  return 0.75 * (dy[b] + dy[b + 1u]) + 0.25 * (l + rt);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.per) { return; }
  let rl = i / p.w;
  let k = i - rl * p.w;
  let hh = rl - (rl / p.h) * p.h;
  let r0 = gid.z * p.bigBatch + p.bigRow0 + 2u * rl;
  let r1 = r0 + 1u;
  let rm = select(r0, r0 - 1u, hh > 0u);
  let rp = select(r1, r1 + 1u, hh + 1u < p.h);
  dx[(gid.z * p.smallBatch + rl) * p.w + k] = 0.75 * (hg(r0, k) + hg(r1, k)) + 0.25 * (hg(rm, k) + hg(rp, k));
}

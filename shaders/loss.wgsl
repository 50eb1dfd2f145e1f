// Softmax cross-entropy across the channel dimension (per pixel), soft targets.
// Sections start with `//! name`; src/kernels/loss.ts picks one.

//! ce_partial
// Each workgroup sums the per-pixel loss over `span` pixels (thread-strided, so loads of one
// channel are coalesced across the workgroup) and writes one partial; the generic reduce in
// arith.wgsl finishes. Pixel loss = Σ_c t_c·(m − z_c) + (Σ_c t_c)·log Σ_c exp(z_c − m), m = max_c z_c.
struct Params { npix: u32, hw: u32, c: u32, span: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let start = wid.x * p.span;
  let end = min(start + p.span, p.npix);
  var acc = 0.0;
  for (var q = start + lid; q < end; q += 256u) {
    let n = q / p.hw;
    let base = n * p.c * p.hw + (q - n * p.hw);
    var m = z[base];
    for (var k = 1u; k < p.c; k++) { m = max(m, z[base + k * p.hw]); }
    var se = 0.0;
    var ts = 0.0;
    var tmz = 0.0;
    for (var k = 0u; k < p.c; k++) {
      let v = z[base + k * p.hw];
      let tv = t[base + k * p.hw];
      se += exp(v - m);
      ts += tv;
      tmz += tv * (m - v);
    }
    acc += tmz + ts * log(se);
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { sh[lid] += sh[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) { part[wid.x] = sh[0]; }
}

//! ce_backward
// One thread per pixel: dz_c = (softmax_c·Σ_k t_k − t_c)·scale·{{G}}.
struct Params { npix: u32, hw: u32, c: u32, row: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
{{G_BINDING}}
@group(0) @binding({{OUT_BINDING}}) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let q = gid.x + gid.y * p.row;
  if (q >= p.npix) { return; }
  let n = q / p.hw;
  let base = n * p.c * p.hw + (q - n * p.hw);
  var m = z[base];
  for (var k = 1u; k < p.c; k++) { m = max(m, z[base + k * p.hw]); }
  var se = 0.0;
  var ts = 0.0;
  for (var k = 0u; k < p.c; k++) {
    se += exp(z[base + k * p.hw] - m);
    ts += t[base + k * p.hw];
  }
  let sc = p.scale * {{G}};
  let f = ts / se;
  for (var k = 0u; k < p.c; k++) {
    let i = base + k * p.hw;
    dz[i] = (exp(z[i] - m) * f - t[i]) * sc;
  }
}

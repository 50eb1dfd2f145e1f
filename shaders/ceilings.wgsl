// Micro-kernels that measure what WGSL can reach on this device: peak FMA rate and copy bandwidth.
// Benchmarks report their throughput as a share of these.

struct Params { iters: u32, n: u32, row: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

#if FMA
// 8 independent vec4 accumulators per thread hide FMA latency (DESIGN.md §3).
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  let s = src[i % p.n];
  var a0 = s; var a1 = s + 1.0; var a2 = s + 2.0; var a3 = s + 3.0;
  var a4 = s + 4.0; var a5 = s + 5.0; var a6 = s + 6.0; var a7 = s + 7.0;
  let m = vec4<f32>(0.9999);
  let c = vec4<f32>(0.0001);
  for (var k = 0u; k < p.iters; k++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  let r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  if (r.x == 12345.678) { dst[i % p.n] = r; }  // keeps the loop alive, never true in practice
}
#else
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i < p.n) { dst[i] = src[i]; }
}
#endif

// Arithmetic for autograd: element-wise maps and reductions to a scalar.
// Sections start with `//! name`; src/kernels/arith.ts picks one and fills its NAME placeholders.

//! map
// out[i] = {{EXPR}} over loaded values v0, v1, … ({{T}}), vo (out's current value, in-place ops),
// s (a uniform f32) and g0[0], … (scalar tensors). Z and O are {{T}} zero and one.
struct Params { n: u32, row: u32, s: f32, _pad: u32 }   // n: elements (or vec4s); row: threads per grid row

@group(0) @binding(0) var<uniform> p: Params;
{{BINDINGS}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let s = p.s;
  let Z = {{T}}(0.0);
  let O = {{T}}(1.0);
{{LOADS}}
  out[i] = {{EXPR}};
}

//! reduce
// One workgroup sums {{TERM}} over `span` vec4s of a (and b) starting at wid.x·span; lanes past the
// logical element count n are masked out (the buffer's padding holds garbage). Thread sums, then a
// tree in workgroup memory. out[wid.x] = {{FINAL}} (s: the workgroup's sum). Two-stage use: the
// first pass writes one partial per workgroup with FINAL = s, the second reduces the partials.
struct Params { n: u32, span: u32, scale: f32, _pad: u32 }   // n: scalar elements

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
{{B_BINDING}}
@group(0) @binding({{OUT_BINDING}}) var<storage, read_write> out: array<f32>;

var<workgroup> sh: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let nv = (p.n + 3u) / 4u;
  let start = wid.x * p.span;
  let end = min(start + p.span, nv);
  var acc = vec4<f32>(0.0);
  for (var i = start + lid; i < end; i += 256u) {
    let av = a[i];
    {{LOAD_B}}
    let valid = vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.n);
    acc += select(vec4<f32>(0.0), {{TERM}}, valid);
  }
  sh[lid] = (acc.x + acc.y) + (acc.z + acc.w);
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) { sh[lid] += sh[lid + k]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let s = sh[0];
    out[wid.x] = {{FINAL}};
  }
}

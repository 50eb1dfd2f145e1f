// Unary element-wise maps (ReLU, sigmoid, …), vectorised when the element count allows.
// {{T}} is f32 or vec4<f32>; {{EXPR}} computes y from v (a {{T}}).
struct Params { n: u32, row: u32 }   // n: elements (or vec4s); row: threads per grid row

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let v = x[i];
  y[i] = {{EXPR}};
}

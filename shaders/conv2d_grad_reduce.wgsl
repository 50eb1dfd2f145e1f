// Sums split-K partials of the conv2d weight / bias gradients:
//   out[i] (+)= Σ_s part[s·stride + (i / ncols)·np + i % ncols]
// The scratch rows are np wide (padded); out is dense, ncols wide. {{T}} is f32 or vec4<f32>, and
// every count below is in units of {{T}}. {{EPILOGUE}} combines `s` with the old value (accumulate).
struct Params { total: u32, ncols: u32, np: u32, splits: u32, stride: u32, row: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.total) { return; }
  let m = i / p.ncols;
  let base = m * p.np + (i - m * p.ncols);
  var s = {{T}}();
  for (var k = 0u; k < p.splits; k++) {
    s += part[base + k * p.stride];
  }
  out[i] = {{EPILOGUE}};
}

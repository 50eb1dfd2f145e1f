//! common
// Optimizer and gradient kernels over flat parameter arenas (src/nn/optim.ts).
// Every kernel walks a chunk table: one workgroup per chunk, a chunk is up to 1024 consecutive
// elements of ONE trainable parameter: (start, end, local parameter index, 0). Arena padding and
// frozen parameters are in no chunk, so they are never read or written.
struct Chunk { start: u32, end: u32, param: u32, pad: u32 }

//! adamw
// torch.optim.AdamW (single-tensor path), per parameter i with hyper-parameters h[2i], h[2i+1]:
//   p ← p·(1 − lr·wd);  m ← m + (1−β1)(g − m);  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
// h[2i] = (1 − lr·wd, lr/(1−β1ᵗ), √(1−β2ᵗ), eps), h[2i+1] = (1−β1, β2, 1−β2, 0); computed on the host in f64.
struct Params { nchunks: u32, gx: u32, p0: u32, p1: u32, h: array<vec4<f32>, {{NH}}> }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> chunks: array<Chunk>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wid.x + wid.y * u.gx;
  if (c >= u.nchunks) { return; }
  let ch = chunks[c];
  let a = u.h[2u * ch.param];
  let b = u.h[2u * ch.param + 1u];
  for (var i = ch.start + lid.x; i < ch.end; i += 256u) {
    let g = grad[i];
    let p = param[i] * a.x;
    let mi = m[i] + b.x * (g - m[i]);
    let vi = v[i] * b.y + b.z * g * g;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / a.z + a.w;
    param[i] = p - a.y * (mi / denom);
  }
}

//! sgd
// torch.optim.SGD: d = g + wd·p; with momentum μ: buf = (first ? d : μ·buf + (1−dampening)·d),
// d = nesterov ? d + μ·buf : buf; p ← p − lr·d.
// h[2i] = (lr, wd, μ, 1 − dampening), h[2i+1] = (nesterov, first, 0, 0).
struct Params { nchunks: u32, gx: u32, p0: u32, p1: u32, h: array<vec4<f32>, {{NH}}> }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> chunks: array<Chunk>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
{{BUF_DECL}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wid.x + wid.y * u.gx;
  if (c >= u.nchunks) { return; }
  let ch = chunks[c];
  let a = u.h[2u * ch.param];
  let b = u.h[2u * ch.param + 1u];
  for (var i = ch.start + lid.x; i < ch.end; i += 256u) {
    let p = param[i];
    var d = grad[i] + a.y * p;
    {{BUF_UPDATE}}
    param[i] = p - a.x * d;
  }
}

//! gradstats_partial
// Per chunk: (Σ g² over finite g, #NaN, #±Inf, 0) → partial[base + chunk]. Non-finite values are
// found with a bit test (exponent all ones), since compilers may fold `x != x` away.
struct Params { nchunks: u32, gx: u32, base: u32, p1: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> chunks: array<Chunk>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<vec4<f32>>;
var<workgroup> acc: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wid.x + wid.y * u.gx;
  var s = vec4<f32>(0.0);
  if (c < u.nchunks) {
    let ch = chunks[c];
    for (var i = ch.start + lid.x; i < ch.end; i += 256u) {
      let g = grad[i];
      let bits = bitcast<u32>(g);
      if ((bits & 0x7f800000u) == 0x7f800000u) {
        if ((bits & 0x007fffffu) != 0u) { s.y += 1.0; } else { s.z += 1.0; }
      } else {
        s.x += g * g;
      }
    }
  }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid.x < k) { acc[lid.x] += acc[lid.x + k]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && c < u.nchunks) { partial[u.base + c] = acc[0]; }
}

//! gradstats_final
// One workgroup sums the partials: out[0] = (Σ g² over finite g, #NaN, #±Inf, 0).
struct Params { n: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> partial: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
var<workgroup> acc: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var s = vec4<f32>(0.0);
  for (var i = lid.x; i < u.n; i += 256u) { s += partial[i]; }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid.x < k) { acc[lid.x] += acc[lid.x + k]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[0] = acc[0]; }
}

//! scale
// g ← g·f over every chunk. {{FACTOR}} is either the uniform `u.f` (scaleGrads) or the clip
// coefficient min(max / (‖g‖ + 1e-6), 1) from the gradstats result (clipGradNorm); with any
// non-finite gradient the clip factor is 1 (gradients left as they are; the caller skips the step).
struct Params { nchunks: u32, gx: u32, f: f32, maxNorm: f32 }
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> chunks: array<Chunk>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
{{STATS_DECL}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wid.x + wid.y * u.gx;
  if (c >= u.nchunks) { return; }
  let ch = chunks[c];
  let f = {{FACTOR}};
  for (var i = ch.start + lid.x; i < ch.end; i += 256u) {
    grad[i] = grad[i] * f;
  }
}

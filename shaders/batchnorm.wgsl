// Batch norm over N·H·W per channel (NCHW). Sections start with `//! name`; src/kernels/batchnorm.ts
// picks one. T is vec4<f32> when H·W is a multiple of 4 (a vec4 never straddles planes), else f32.
// Per-channel reductions are two-stage: a (chunk, channel) grid of workgroups writes partials,
// then one workgroup per channel merges its ≤ 256 partials.

//! stats
// Shifted sums per thread (vec4: four lanes with a shared count), lanes merged exactly, then Chan's
// parallel merge of (count, mean, M2) in a workgroup-memory tree. part[c·P + chunk] = (n, mean, M2, 0).
struct Params { hwv: u32, c: u32, mv: u32, span: u32, parts: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> part: array<vec4<f32>>;

var<workgroup> sn: array<f32, {{RWG}}>;
var<workgroup> sm: array<f32, {{RWG}}>;
var<workgroup> sq: array<f32, {{RWG}}>;

@compute @workgroup_size({{RWG}})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let ch = wid.y;
  let start = wid.x * p.span;
  let end = min(start + p.span, p.mv);
  // shifted sums (shift = the channel's first value) keep the per-thread Σd² − (Σd)²/n accurate
  // without a division per element; threads hold only span/256 values each
  let shift = x[ch * p.hwv];
  var cnt = 0.0;
  var sd = {{T}}(0.0);
  var sq2 = {{T}}(0.0);
  for (var j = start + lid; j < end; j += {{RWG}}u) {
    let n = j / p.hwv;
    let d = x[(n * p.c + ch) * p.hwv + (j - n * p.hwv)] - shift;
    cnt += 1.0;
    sd += d;
    sq2 += d * d;
  }
  var mean = {{T}}(0.0);
  var m2 = {{T}}(0.0);
  if (cnt > 0.0) {
    mean = shift + sd / cnt;
    m2 = max(sq2 - sd * sd / cnt, {{T}}(0.0));
  }
{{LANES}}
  sn[lid] = tn;
  sm[lid] = tm;
  sq[lid] = tq;
  workgroupBarrier();
  for (var k = {{RHALF}}u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let na = sn[lid];
      let nb = sn[lid + k];
      let nt = na + nb;
      if (nb > 0.0) {
        let d = sm[lid + k] - sm[lid];
        let w = nb / nt;
        sm[lid] = sm[lid] + d * w;
        sq[lid] = sq[lid] + sq[lid + k] + d * d * na * w;
        sn[lid] = nt;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { part[ch * p.parts + wid.x] = vec4<f32>(sn[0], sm[0], sq[0], 0.0); }
}

//! finalize
// One 64-thread workgroup per channel: threads merge strided partials (Chan), a workgroup tree
// merges the threads; then save mean and 1/sqrt(var + eps), and update the running statistics in
// place with the unbiased variance (PyTorch's BatchNorm2d).
struct Params { c: u32, parts: u32, momentum: f32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> rmean: array<f32>;
@group(0) @binding(3) var<storage, read_write> rvar: array<f32>;
@group(0) @binding(4) var<storage, read_write> smean: array<f32>;
@group(0) @binding(5) var<storage, read_write> sinv: array<f32>;

var<workgroup> sn: array<f32, {{FWG}}>;
var<workgroup> sm: array<f32, {{FWG}}>;
var<workgroup> sq: array<f32, {{FWG}}>;

@compute @workgroup_size({{FWG}})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let ch = wid.x;
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var i = lid; i < p.parts; i += {{FWG}}u) {
    let q = part[ch * p.parts + i];
    if (q.x > 0.0) {
      let nt = n + q.x;
      let d = q.y - mean;
      let w = q.x / nt;
      mean += d * w;
      m2 += q.z + d * d * n * w;
      n = nt;
    }
  }
  sn[lid] = n;
  sm[lid] = mean;
  sq[lid] = m2;
  workgroupBarrier();
  for (var k = {{FHALF}}u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let na = sn[lid];
      let nb = sn[lid + k];
      if (nb > 0.0) {
        let nt = na + nb;
        let d = sm[lid + k] - sm[lid];
        let w = nb / nt;
        sm[lid] = sm[lid] + d * w;
        sq[lid] = sq[lid] + sq[lid + k] + d * d * na * w;
        sn[lid] = nt;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let nt = sn[0];
    let mu = sm[0];
    let v = sq[0] / nt;
    smean[ch] = mu;
    sinv[ch] = 1.0 / sqrt(v + p.eps);
    rmean[ch] = (1.0 - p.momentum) * rmean[ch] + p.momentum * mu;
    rvar[ch] = (1.0 - p.momentum) * rvar[ch] + p.momentum * (sq[0] / (nt - 1.0));
  }
}

//! apply
// y = (x − mean)·inv·γ + β, inv = {{INV}} (saved 1/std in training, from the running variance in
// eval), optional fused ReLU.
struct Params { n: u32, row: u32, hwv: u32, c: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{T}}>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> stat: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let ch = (i / p.hwv) % p.c;
  let inv = {{INV}};
  let sc = gamma[ch] * inv;
  let sh = beta[ch] - mean[ch] * sc;
  y[i] = {{OUT}};
}

//! bwd_reduce
// Partials of Σ g and Σ g·(x − mean) per (chunk, channel), g = dy (masked by y > 0 when ReLU was fused).
struct Params { hwv: u32, c: u32, mv: u32, span: u32, parts: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<{{T}}>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
{{Y_BINDING}}
@group(0) @binding({{PART_BINDING}}) var<storage, read_write> part: array<vec2<f32>>;

var<workgroup> sa: array<f32, {{RWG}}>;
var<workgroup> sb: array<f32, {{RWG}}>;

@compute @workgroup_size({{RWG}})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let ch = wid.y;
  let mu = mean[ch];
  let start = wid.x * p.span;
  let end = min(start + p.span, p.mv);
  var a = {{T}}(0.0);
  var b = {{T}}(0.0);
  for (var j = start + lid; j < end; j += {{RWG}}u) {
    let n = j / p.hwv;
    let i = (n * p.c + ch) * p.hwv + (j - n * p.hwv);
    let g = {{G}};
    a += g;
    b += g * (x[i] - mu);
  }
  sa[lid] = {{HSUM_A}};
  sb[lid] = {{HSUM_B}};
  workgroupBarrier();
  for (var k = {{RHALF}}u; k > 0u; k >>= 1u) {
    if (lid < k) {
      sa[lid] += sa[lid + k];
      sb[lid] += sb[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { part[ch * p.parts + wid.x] = vec2<f32>(sa[0], sb[0]); }
}

//! bwd_finalize
// One 64-thread workgroup per channel sums the partials (strided, then a tree): dβ = Σg,
// dγ = inv·Σg(x − mean), and the dx coefficients
// dx = A·g + B·(x − mean) + C with A = γ·inv, B = −A·inv·dγ/M, C = −A·dβ/M.
struct Params { c: u32, parts: u32, invm: f32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> sinv: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;

var<workgroup> ss: array<vec2<f32>, {{FWG}}>;

@compute @workgroup_size({{FWG}})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let ch = wid.x;
  var acc = vec2<f32>(0.0);
  for (var i = lid; i < p.parts; i += {{FWG}}u) { acc += part[ch * p.parts + i]; }
  ss[lid] = acc;
  workgroupBarrier();
  for (var k = {{FHALF}}u; k > 0u; k >>= 1u) {
    if (lid < k) { ss[lid] += ss[lid + k]; }
    workgroupBarrier();
  }
  if (lid != 0u) { return; }
  let s = ss[0];
  let inv = sinv[ch];
  let dg = s.y * inv;
  dbeta[ch] = s.x;
  dgamma[ch] = dg;
  let a = gamma[ch] * inv;
  coef[ch] = vec4<f32>(a, -a * inv * dg * p.invm, mean[ch], -a * s.x * p.invm);
}

//! bwd_dx
struct Params { n: u32, row: u32, hwv: u32, c: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<{{T}}>;
@group(0) @binding(2) var<storage, read> x: array<{{T}}>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;
{{Y_BINDING}}
@group(0) @binding({{DX_BINDING}}) var<storage, read_write> dx: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let k = coef[(i / p.hwv) % p.c];
  let g = {{G}};
  dx[i] = k.x * g + k.y * (x[i] - k.z) + k.w;
}

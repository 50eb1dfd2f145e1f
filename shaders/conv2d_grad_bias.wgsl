// conv2d bias gradient, stage 1: db[co] = Σ_{n,h,w} dy[n, co, h, w]. Workgroup (co, chunk) sums the
// pixels q ∈ [chunk·p.chunk, min(+p.chunk, N·H·W)) of channel co (threads consecutive along W:
// coalesced), then a tree reduction in workgroup memory. {{STORE}} writes red[0] either into the
// partial buffer [chunks, Cout] (stage 2 is the split reduce) or straight into db (optionally +=).
struct Params { cout: u32, hw: u32, ktotal: u32, chunk: u32 }

const WG = {{WG}}u; // 256 on a GPU; 4 (one SIMD group: barriers are coroutine switches) on SwiftShader

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let co = wid.x;
  let qb = wid.y * p.chunk;
  let qe = min(qb + p.chunk, p.ktotal);
  var q = qb + lid.x;
  var n = q / p.hw;
  var r = q - n * p.hw;
  var s0 = 0.0;
  var s1 = 0.0;
  loop {
    if (q >= qe) { break; }
    s0 += dy[(n * p.cout + co) * p.hw + r];
    q += WG;
    r += WG;
    if (r >= p.hw) { let d = r / p.hw; n += d; r -= d * p.hw; }
    if (q >= qe) { break; }
    s1 += dy[(n * p.cout + co) * p.hw + r];
    q += WG;
    r += WG;
    if (r >= p.hw) { let d = r / p.hw; n += d; r -= d * p.hw; }
  }
  red[lid.x] = s0 + s1;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid.x < st) { red[lid.x] += red[lid.x + st]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    {{STORE}}
  }
}

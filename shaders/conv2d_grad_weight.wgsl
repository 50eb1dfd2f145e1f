// conv2d weight gradient (stride 1) as an implicit GEMM with split-K:
//   dW[co, j] = Σ_q dy[co, q] · col(x)[j, q],  j = (ci, ky, kx),  q = (n, oh, ow)
// M = Cout rows, N = Cin·k·k columns, reduction over the output pixels q ∈ [0, N·Ho·Wo).
// Workgroup (x: column tile, y: row tile, z: split) reduces pixels [z·chunk, min((z+1)·chunk, K)).
// Both operands are staged through workgroup memory k-major (As[k][m], Bs[k][n], as vec4 along
// m / n, rows padded by one vec4 against bank conflicts); global loads are coalesced along q (= along
// W), prefetched into registers one BK-step ahead. Each thread owns a TM×TN register tile whose
// rows / columns are interleaved vec4 groups (conflict-free vec4 reads of As and Bs).
// The STORE placeholder either writes the raw tile into a padded scratch [splits, Mp, Np] (vec4 stores, no
// bounds: the split-K path) or writes dW directly (bounded, optionally `+=`: a single split).
struct Params {
  cout: u32, cinkk: u32, cin: u32, pad: u32,
  h: u32, w: u32, ho: u32, wo: u32,
  howo: u32, ktotal: u32, chunk: u32, np4: u32,
  split_stride4: u32, _p0: u32, _p1: u32, _p2: u32,
}

const BM = {{BM}}u;
const BN = {{BN}}u;
const BK = {{BK}}u;
const WGX = {{WGX}}u;          // BN / TN
const WGY = {{WGY}}u;          // BM / TM
const TM4 = {{TM4}}u;          // TM / 4
const TN4 = {{TN4}}u;          // TN / 4
const THREADS = WGX * WGY;
const ROWS = THREADS / BK;     // groups of 4 tile rows loaded per pass
const LA = BM * BK / THREADS;  // dy values each thread loads per step (groups of 4 rows)
const LB = BN * BK / THREADS;  // x values each thread loads per step (groups of 4 columns)
const KS = {{KS}}u;            // kernel size
const KK = KS * KS;
const AS = BM / 4u + 1u;       // As row stride in vec4
const BS = BN / 4u + 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{OUT_T}}>;

var<workgroup> As: array<vec4<f32>, BK * AS>;
var<workgroup> Bs: array<vec4<f32>, BK * BS>;

var<private> ra: array<f32, LA>;
var<private> rb: array<f32, LB>;
var<private> bci: array<u32, LB>;
var<private> bdy: array<i32, LB>;
var<private> bdx: array<i32, LB>;
var<private> bok: array<bool, LB>;
var<private> lk: u32;
var<private> lrow: u32;
var<private> m0: u32;
var<private> kend: u32;

// Global → registers for the BK-step starting at pixel k0.
fn load_tiles(k0: u32) {
  let q = k0 + lk;
  let valid = q < kend;
  let n = q / p.howo;
  let r = q - n * p.howo;
  let oh = r / p.wo;
  let ow = r - oh * p.wo;
  let abase = n * p.cout * p.howo + r;
  for (var i = 0u; i < LA; i++) {
    let co = m0 + 4u * (lrow + (i / 4u) * ROWS) + i % 4u;
    var v = 0.0;
    if (valid && co < p.cout) { v = dy[abase + co * p.howo]; }
    ra[i] = v;
  }
  let xbase = n * p.cin;
  for (var i = 0u; i < LB; i++) {
    let ih = i32(oh) + bdy[i];
    let iw = i32(ow) + bdx[i];
    var v = 0.0;
    if (valid && bok[i] && ih >= 0 && ih < i32(p.h) && iw >= 0 && iw < i32(p.w)) {
      v = x[((xbase + bci[i]) * p.h + u32(ih)) * p.w + u32(iw)];
    }
    rb[i] = v;
  }
}

fn store_tiles() {
  for (var i = 0u; i < LA / 4u; i++) {
    As[lk * AS + lrow + i * ROWS] = vec4<f32>(ra[4u * i], ra[4u * i + 1u], ra[4u * i + 2u], ra[4u * i + 3u]);
  }
  for (var i = 0u; i < LB / 4u; i++) {
    Bs[lk * BS + lrow + i * ROWS] = vec4<f32>(rb[4u * i], rb[4u * i + 1u], rb[4u * i + 2u], rb[4u * i + 3u]);
  }
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * WGX + lid.x;
  let n0 = wid.x * BN;
  m0 = wid.y * BM;
  let kbeg = wid.z * p.chunk;
  let kstop = min(kbeg + p.chunk, p.ktotal); // workgroup-uniform: the loop below has barriers
  kend = kstop;
  lk = tid % BK;
  lrow = tid / BK;
  for (var i = 0u; i < LB; i++) {
    let j = n0 + 4u * (lrow + (i / 4u) * ROWS) + i % 4u;
    bok[i] = j < p.cinkk;
    let t = j % KK;
    bci[i] = j / KK;
    bdy[i] = i32(t / KS) - i32(p.pad);
    bdx[i] = i32(t % KS) - i32(p.pad);
  }

  var acc: array<vec4<f32>, TM4 * 4u * TN4>;
  var k0 = kbeg;
  if (k0 < kstop) { load_tiles(k0); }
  loop {
    if (k0 >= kstop) { break; }
    store_tiles();
    workgroupBarrier();
    k0 += BK;
    if (k0 < kstop) { load_tiles(k0); } // prefetch the next step while this one computes
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<vec4<f32>, TM4>;
      var b: array<vec4<f32>, TN4>;
      for (var i = 0u; i < TM4; i++) { a[i] = As[kk * AS + lid.y + i * WGY]; }
      for (var j = 0u; j < TN4; j++) { b[j] = Bs[kk * BS + lid.x + j * WGX]; }
      for (var i = 0u; i < TM4; i++) {
        for (var r = 0u; r < 4u; r++) {
          let av = vec4<f32>(a[i][r]);
          for (var j = 0u; j < TN4; j++) {
            let ai = (i * 4u + r) * TN4 + j;
            acc[ai] = fma(av, b[j], acc[ai]);
          }
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM4; i++) {
    for (var r = 0u; r < 4u; r++) {
      let m = m0 + (lid.y + i * WGY) * 4u + r;
      for (var j = 0u; j < TN4; j++) {
        let v = acc[(i * 4u + r) * TN4 + j];
        let c4 = n0 / 4u + lid.x + j * WGX;
        {{STORE}}
      }
    }
  }
}

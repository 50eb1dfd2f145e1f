// Channel-slice copy (concat, copyChannels, sliceChannels):
//   dst[n, dstOff + c, :, :] = src[n, srcOff + c, :, :] for c < C.
// Within one batch item the C*H*W block is contiguous in both tensors, so the copy is a plain
// strided block move: gid.z is the batch item, gid.x + gid.y * row the element (or vec4) inside
// it. No integer division. {{T}} is vec4<f32> when every block start and length is a multiple of
// 4 elements, f32 otherwise.
struct Params {
  n: u32,         // elements (or vec4s) to copy per batch item: C*H*W
  row: u32,       // threads per folded grid row
  srcBatch: u32,  // src elements (vec4s) per batch item: Csrc*H*W
  srcOff: u32,    // src channel offset * H*W
  dstBatch: u32,  // dst elements (vec4s) per batch item: Cdst*H*W
  dstOff: u32,    // dst channel offset * H*W
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> dst: array<{{T}}>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  dst[gid.z * p.dstBatch + p.dstOff + i] = src[gid.z * p.srcBatch + p.srcOff + i];
}

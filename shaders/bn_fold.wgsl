// Folds an eval-mode BatchNorm2d into the convolution in front of it (PyTorch OIHW weights, so
// output channel co owns the contiguous run w[co*K .. co*K + K), K = Cin*kh*kw):
//   s[co]  = gamma[co] / sqrt(running_var[co] + eps)
//   w'[i]  = w[i] * s[co]                                   co = i / K
//   b'[co] = beta[co] - running_mean[co] * s[co] + s[co] * conv_bias[co]   (conv_bias 0 when absent)
// since BN(conv(x) + b) = s*(conv(x) + b - mean) + beta = conv_with(w')(x) + b'.
// One thread per T (vec4 when K is a multiple of 4, so a vec4 never straddles two channels; K and
// n are then counted in vec4s). The thread holding a channel's first weights also writes b'.
struct Params { n: u32, k: u32, row: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<{{T}}>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> rmean: array<f32>;
@group(0) @binding(5) var<storage, read> rvar: array<f32>;
@group(0) @binding(6) var<storage, read_write> wout: array<{{T}}>;
@group(0) @binding(7) var<storage, read_write> bout: array<f32>;
{{BIAS_DECL}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * p.row;
  if (i >= p.n) { return; }
  let co = i / p.k;
  let s = gamma[co] * inverseSqrt(rvar[co] + p.eps);
  wout[i] = w[i] * s;
  if (i == co * p.k) {
    bout[co] = beta[co] - rmean[co] * s + s * {{CONV_BIAS}};
  }
}

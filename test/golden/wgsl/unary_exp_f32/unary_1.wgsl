// attnc kernel unary_1
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_N: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
fn _isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn _exp(x: f32) -> f32 { if (_isnan(x)) { return x; } return exp(x); }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < u.d_N)) {
    let o0: i32 = gi;
    let ix1: i32 = o0;
    out[gi] = _exp(in0[ix1]);
  }
}

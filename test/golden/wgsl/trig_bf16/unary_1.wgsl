// attnc kernel unary_1
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_N: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
fn _bf16(x: f32) -> f32 { let b = bitcast<u32>(x); if ((b & 0x7fffffffu) > 0x7f800000u) { return x; } return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u); }
fn _trig_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u; }
fn _sinp(r: f32) -> f32 { let z = r * r; return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r; }
fn _cosp(r: f32) -> f32 { let z = r * r; return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0; }
fn _sin(x: f32) -> f32 { if (_trig_nan(x)) { return bitcast<f32>(u._inf | 0x400000u); } let ax = abs(x); var sg = select(1.0, -1.0, x < 0.0); var j = i32(ax * 1.27323954473516); var y = f32(j); if ((j & 1) != 0) { j = j + 1; y = y + 1.0; } j = j & 7; if (j > 3) { sg = -sg; j = j - 4; } let r = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8; if (j == 1 || j == 2) { return sg * _cosp(r); } return sg * _sinp(r); }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < u.d_N)) {
    let o0: i32 = gi;
    let ix1: i32 = o0;
    out[gi] = _bf16(_sin(in0[ix1]));
  }
}

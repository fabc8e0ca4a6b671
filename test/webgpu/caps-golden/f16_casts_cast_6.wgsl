// attnc kernel cast_6
enable f16;
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f16>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_N: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
fn _f16(x: f32) -> f32 { let b = bitcast<u32>(x); let s = b & 0x80000000u; let a = b & 0x7fffffffu; if (a > 0x7f800000u) { return x; } if (a >= 0x477ff000u) { return bitcast<f32>(s | bitcast<u32>(u._inf)); } if (a < 0x38800000u) { let q = round(abs(x) * 16777216.0) / 16777216.0; return select(q, -q, s != 0u); } return bitcast<f32>(s | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u)); }
fn _h16(x: f32) -> f16 { let r = _f16(x); let b = bitcast<u32>(r); let a = b & 0x7fffffffu; if (a >= 0x7f800000u) { return bitcast<vec2<f16>>(((b >> 16u) & 0x8000u) | select(0x7c00u, 0x7e00u, a > 0x7f800000u)).x; } return f16(r); }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < u.d_N)) {
    let o0: i32 = gi;
    let ix1: i32 = o0;
    out[gi] = _h16(in0[ix1]);
  }
}

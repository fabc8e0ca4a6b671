// attnc kernel matmul_2
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_K: i32, d_M: i32, d_N: i32, _inf: u32 }
@group(0) @binding(4) var<uniform> u: Uniforms;
fn _fdiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; } return q; }
fn _fmod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { return r + b; } return r; }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < (u.d_M * u.d_N))) {
    let o0: i32 = _fmod(gi, u.d_N);
    let q1: i32 = _fdiv(gi, u.d_N);
    let o2: i32 = q1;
    var acc3: f32 = 0.0f;
    for (var r5: i32 = 0i; r5 < u.d_K; r5 += 1) {
      let ix6: i32 = o2;
      let ix7: i32 = r5;
      let ix8: i32 = r5;
      let ix9: i32 = o0;
      acc3 = (acc3 + (in0[((ix6 * u.d_K) + ix7)] * in1[((ix8 * u.d_N) + ix9)]));
    }
    out[gi] = acc3;
  }
}

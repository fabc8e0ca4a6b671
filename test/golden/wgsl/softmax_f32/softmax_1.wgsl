// attnc kernel softmax_1
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_A: i32, d_B: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
fn _isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn _fdiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; } return q; }
fn _fmod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { return r + b; } return r; }
fn _fmax(a: f32, b: f32) -> f32 { if (_isnan(a) || _isnan(b)) { return a + b; } return max(a, b); }
fn _exp(x: f32) -> f32 { if (_isnan(x)) { return x; } return exp(x); }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < (u.d_A * u.d_B))) {
    let o0: i32 = _fmod(gi, u.d_B);
    let q1: i32 = _fdiv(gi, u.d_B);
    let o2: i32 = q1;
    var acc3: f32 = (-bitcast<f32>(u._inf));
    for (var r5: i32 = 0i; r5 < u.d_B; r5 += 1) {
      let ix6: i32 = o2;
      let ix7: i32 = r5;
      acc3 = _fmax(acc3, in0[((ix6 * u.d_B) + ix7)]);
    }
    var sel15: f32 = 0.0f;
    if ((acc3 == (-bitcast<f32>(u._inf)))) {
      sel15 = 0.0f;
    } else {
      let ix8: i32 = o2;
      let ix9: i32 = o0;
      var acc10: f32 = 0.0f;
      for (var r12: i32 = 0i; r12 < u.d_B; r12 += 1) {
        let ix13: i32 = o2;
        let ix14: i32 = r12;
        acc10 = (acc10 + _exp((in0[((ix13 * u.d_B) + ix14)] - select(acc3, 0.0f, (acc3 == (-bitcast<f32>(u._inf)))))));
      }
      sel15 = (_exp((in0[((ix8 * u.d_B) + ix9)] - select(acc3, 0.0f, (acc3 == (-bitcast<f32>(u._inf)))))) / acc10);
    }
    out[gi] = sel15;
  }
}

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
    var sel37: f32 = 0.0f;
    if ((acc3 == (-bitcast<f32>(u._inf)))) {
      sel37 = 0.0f;
    } else {
      let ix8: i32 = o2;
      let ix9: i32 = o0;
      var acc10: f32 = (-bitcast<f32>(u._inf));
      for (var r12: i32 = 0i; r12 < u.d_B; r12 += 1) {
        let ix13: i32 = o2;
        let ix14: i32 = r12;
        acc10 = _fmax(acc10, in0[((ix13 * u.d_B) + ix14)]);
      }
      var sel20: f32 = 0.0f;
      if ((acc10 == (-bitcast<f32>(u._inf)))) {
        sel20 = 0.0f;
      } else {
        var acc15: f32 = (-bitcast<f32>(u._inf));
        for (var r17: i32 = 0i; r17 < u.d_B; r17 += 1) {
          let ix18: i32 = o2;
          let ix19: i32 = r17;
          acc15 = _fmax(acc15, in0[((ix18 * u.d_B) + ix19)]);
        }
        sel20 = acc15;
      }
      var acc21: f32 = 0.0f;
      for (var r23: i32 = 0i; r23 < u.d_B; r23 += 1) {
        let ix24: i32 = o2;
        let ix25: i32 = r23;
        var acc26: f32 = (-bitcast<f32>(u._inf));
        for (var r28: i32 = 0i; r28 < u.d_B; r28 += 1) {
          let ix29: i32 = o2;
          let ix30: i32 = r28;
          acc26 = _fmax(acc26, in0[((ix29 * u.d_B) + ix30)]);
        }
        var sel36: f32 = 0.0f;
        if ((acc26 == (-bitcast<f32>(u._inf)))) {
          sel36 = 0.0f;
        } else {
          var acc31: f32 = (-bitcast<f32>(u._inf));
          for (var r33: i32 = 0i; r33 < u.d_B; r33 += 1) {
            let ix34: i32 = o2;
            let ix35: i32 = r33;
            acc31 = _fmax(acc31, in0[((ix34 * u.d_B) + ix35)]);
          }
          sel36 = acc31;
        }
        acc21 = (acc21 + _exp((in0[((ix24 * u.d_B) + ix25)] - sel36)));
      }
      sel37 = (_exp((in0[((ix8 * u.d_B) + ix9)] - sel20)) / acc21);
    }
    out[gi] = sel37;
  }
}

// attnc kernel reduce_1
@group(0) @binding(0) var<storage, read> in0: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_A: i32, d_B: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < u.d_A)) {
    let o0: i32 = gi;
    var acc1: i32 = i32(-2147483647 - 1);
    var cnt2: i32 = 0i;
    for (var r3: i32 = 0i; r3 < u.d_B; r3 += 1) {
      let ix4: i32 = o0;
      let ix5: i32 = r3;
      acc1 = max(acc1, in0[((ix4 * u.d_B) + ix5)]);
      cnt2 = (cnt2 + 1i);
    }
    out[gi] = select(acc1, 0i, (cnt2 == 0i));
  }
}

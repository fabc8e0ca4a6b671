// attnc kernel where_19
enable f16;
@group(0) @binding(0) var<storage, read> in0: array<u32>;
@group(0) @binding(1) var<storage, read> in1: array<f16>;
@group(0) @binding(2) var<storage, read> in2: array<f16>;
@group(0) @binding(3) var<storage, read_write> out: array<f16>;
@group(0) @binding(4) var<storage, read_write> flag: array<u32>;
struct Uniforms { d_N: i32, _inf: u32 }
@group(0) @binding(5) var<uniform> u: Uniforms;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < u.d_N)) {
    let o0: i32 = gi;
    let ix1: i32 = o0;
    var sel4: f16 = 0.0h;
    if ((in0[ix1] != 0u)) {
      let ix2: i32 = o0;
      sel4 = in1[ix2];
    } else {
      let ix3: i32 = o0;
      sel4 = in2[ix3];
    }
    out[gi] = sel4;
  }
}

// attnc kernel cast_3
@group(0) @binding(0) var<storage, read> in0: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> flag: array<u32>;
struct Uniforms { _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gi: i32 = i32((((wid.x + (wid.y * nwg.x)) * 64u) + lid.x));
  if ((gi < 1i)) {
    out[gi] = f32(in0[0i]);
  }
}

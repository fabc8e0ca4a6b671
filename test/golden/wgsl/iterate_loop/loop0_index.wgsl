// attnc kernel loop0_index
@group(0) @binding(0) var<storage, read_write> out: array<i32>;
struct Uniforms { iter: i32, _inf: u32 }
@group(0) @binding(1) var<uniform> u: Uniforms;
@compute @workgroup_size(1, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  out[0i] = u.iter;
}

// attnc kernel softmax_1
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Uniforms { d_A: i32, d_B: i32, _inf: u32 }
@group(0) @binding(2) var<uniform> u: Uniforms;
var<workgroup> red: array<f32, 64>;
fn _isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn _fdiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; } return q; }
fn _fmod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { return r + b; } return r; }
fn _fmax(a: f32, b: f32) -> f32 { if (_isnan(a) || _isnan(b)) { return a + b; } return max(a, b); }
fn _exp(x: f32) -> f32 { if (_isnan(x)) { return x; } return exp(x); }
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row0: i32 = i32((wid.x + (wid.y * nwg.x)));
  let t1: i32 = i32(lid.x);
  let lim2: i32 = select(0i, u.d_B, (row0 < u.d_A));
  let base3: i32 = ((_fdiv(row0, 1i) * u.d_B) + _fmod(row0, 1i));
  var pm4: f32 = (-bitcast<f32>(u._inf));
  for (var j5: i32 = t1; j5 < lim2; j5 += 64) {
    pm4 = _fmax(pm4, x[(base3 + j5)]);
  }
  red[t1] = pm4;
  workgroupBarrier();
  if ((t1 < 32i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 32i)]);
  }
  workgroupBarrier();
  if ((t1 < 16i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 16i)]);
  }
  workgroupBarrier();
  if ((t1 < 8i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 8i)]);
  }
  workgroupBarrier();
  if ((t1 < 4i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 4i)]);
  }
  workgroupBarrier();
  if ((t1 < 2i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 2i)]);
  }
  workgroupBarrier();
  if ((t1 < 1i)) {
    red[t1] = _fmax(red[t1], red[(t1 + 1i)]);
  }
  workgroupBarrier();
  let r6: f32 = red[0i];
  workgroupBarrier();
  let dead7: bool = (r6 == (-bitcast<f32>(u._inf)));
  let safe8: f32 = select(r6, 0.0f, dead7);
  var ps9: f32 = 0.0f;
  for (var j10: i32 = t1; j10 < lim2; j10 += 64) {
    ps9 = (ps9 + _exp((x[(base3 + j10)] - safe8)));
  }
  red[t1] = ps9;
  workgroupBarrier();
  if ((t1 < 32i)) {
    red[t1] = (red[t1] + red[(t1 + 32i)]);
  }
  workgroupBarrier();
  if ((t1 < 16i)) {
    red[t1] = (red[t1] + red[(t1 + 16i)]);
  }
  workgroupBarrier();
  if ((t1 < 8i)) {
    red[t1] = (red[t1] + red[(t1 + 8i)]);
  }
  workgroupBarrier();
  if ((t1 < 4i)) {
    red[t1] = (red[t1] + red[(t1 + 4i)]);
  }
  workgroupBarrier();
  if ((t1 < 2i)) {
    red[t1] = (red[t1] + red[(t1 + 2i)]);
  }
  workgroupBarrier();
  if ((t1 < 1i)) {
    red[t1] = (red[t1] + red[(t1 + 1i)]);
  }
  workgroupBarrier();
  let r11: f32 = red[0i];
  workgroupBarrier();
  for (var j12: i32 = t1; j12 < lim2; j12 += 64) {
    out[(base3 + j12)] = select((_exp((x[(base3 + j12)] - safe8)) / r11), 0.0f, dead7);
  }
}

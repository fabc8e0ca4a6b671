// attnc kernel matmul_2
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct Uniforms { d_K: i32, d_M: i32, d_N: i32, _inf: u32 }
@group(0) @binding(3) var<uniform> u: Uniforms;
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
fn _fdiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; } return q; }
fn _fmod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { return r + b; } return r; }
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let wg0: i32 = i32((wid.x + (wid.y * nwg.x)));
  let t1: i32 = i32(lid.x);
  let tx2: i32 = (t1 & 15i);
  let ty3: i32 = (t1 >> 4u);
  let tn4: i32 = _fmod(wg0, _fdiv((u.d_N + 63i), 64i));
  let rest5: i32 = _fdiv(wg0, _fdiv((u.d_N + 63i), 64i));
  let tm6: i32 = _fmod(rest5, _fdiv((u.d_M + 63i), 64i));
  let bi7: i32 = _fdiv(rest5, _fdiv((u.d_M + 63i), 64i));
  let abase8: i32 = 0i;
  let bbase9: i32 = 0i;
  let row010: i32 = (tm6 * 64i);
  let col011: i32 = (tn4 * 64i);
  let obase12: i32 = (bi7 * (u.d_M * u.d_N));
  let mlim13: i32 = select(0i, u.d_M, (wg0 < (_fdiv((u.d_M + 63i), 64i) * _fdiv((u.d_N + 63i), 64i))));
  let klim14: i32 = select(0i, u.d_K, (wg0 < (_fdiv((u.d_M + 63i), 64i) * _fdiv((u.d_N + 63i), 64i))));
  var c0_0_15: f32 = 0.0f;
  var c0_1_16: f32 = 0.0f;
  var c0_2_17: f32 = 0.0f;
  var c0_3_18: f32 = 0.0f;
  var c1_0_19: f32 = 0.0f;
  var c1_1_20: f32 = 0.0f;
  var c1_2_21: f32 = 0.0f;
  var c1_3_22: f32 = 0.0f;
  var c2_0_23: f32 = 0.0f;
  var c2_1_24: f32 = 0.0f;
  var c2_2_25: f32 = 0.0f;
  var c2_3_26: f32 = 0.0f;
  var c3_0_27: f32 = 0.0f;
  var c3_1_28: f32 = 0.0f;
  var c3_2_29: f32 = 0.0f;
  var c3_3_30: f32 = 0.0f;
  for (var k0: i32 = 0i; k0 < u.d_K; k0 += 16) {
    As[t1] = select(0.0f, in0[select(0i, (abase8 + (((row010 + (t1 >> 4u)) * u.d_K) + (k0 + (t1 & 15i)))), (((row010 + (t1 >> 4u)) < mlim13) && ((k0 + (t1 & 15i)) < u.d_K)))], (((row010 + (t1 >> 4u)) < mlim13) && ((k0 + (t1 & 15i)) < u.d_K)));
    Bs[t1] = select(0.0f, in1[select(0i, (bbase9 + (((k0 + (t1 >> 6u)) * u.d_N) + (col011 + (t1 & 63i)))), (((k0 + (t1 >> 6u)) < klim14) && ((col011 + (t1 & 63i)) < u.d_N)))], (((k0 + (t1 >> 6u)) < klim14) && ((col011 + (t1 & 63i)) < u.d_N)));
    As[(t1 + 256i)] = select(0.0f, in0[select(0i, (abase8 + (((row010 + ((t1 + 256i) >> 4u)) * u.d_K) + (k0 + ((t1 + 256i) & 15i)))), (((row010 + ((t1 + 256i) >> 4u)) < mlim13) && ((k0 + ((t1 + 256i) & 15i)) < u.d_K)))], (((row010 + ((t1 + 256i) >> 4u)) < mlim13) && ((k0 + ((t1 + 256i) & 15i)) < u.d_K)));
    Bs[(t1 + 256i)] = select(0.0f, in1[select(0i, (bbase9 + (((k0 + ((t1 + 256i) >> 6u)) * u.d_N) + (col011 + ((t1 + 256i) & 63i)))), (((k0 + ((t1 + 256i) >> 6u)) < klim14) && ((col011 + ((t1 + 256i) & 63i)) < u.d_N)))], (((k0 + ((t1 + 256i) >> 6u)) < klim14) && ((col011 + ((t1 + 256i) & 63i)) < u.d_N)));
    As[(t1 + 512i)] = select(0.0f, in0[select(0i, (abase8 + (((row010 + ((t1 + 512i) >> 4u)) * u.d_K) + (k0 + ((t1 + 512i) & 15i)))), (((row010 + ((t1 + 512i) >> 4u)) < mlim13) && ((k0 + ((t1 + 512i) & 15i)) < u.d_K)))], (((row010 + ((t1 + 512i) >> 4u)) < mlim13) && ((k0 + ((t1 + 512i) & 15i)) < u.d_K)));
    Bs[(t1 + 512i)] = select(0.0f, in1[select(0i, (bbase9 + (((k0 + ((t1 + 512i) >> 6u)) * u.d_N) + (col011 + ((t1 + 512i) & 63i)))), (((k0 + ((t1 + 512i) >> 6u)) < klim14) && ((col011 + ((t1 + 512i) & 63i)) < u.d_N)))], (((k0 + ((t1 + 512i) >> 6u)) < klim14) && ((col011 + ((t1 + 512i) & 63i)) < u.d_N)));
    As[(t1 + 768i)] = select(0.0f, in0[select(0i, (abase8 + (((row010 + ((t1 + 768i) >> 4u)) * u.d_K) + (k0 + ((t1 + 768i) & 15i)))), (((row010 + ((t1 + 768i) >> 4u)) < mlim13) && ((k0 + ((t1 + 768i) & 15i)) < u.d_K)))], (((row010 + ((t1 + 768i) >> 4u)) < mlim13) && ((k0 + ((t1 + 768i) & 15i)) < u.d_K)));
    Bs[(t1 + 768i)] = select(0.0f, in1[select(0i, (bbase9 + (((k0 + ((t1 + 768i) >> 6u)) * u.d_N) + (col011 + ((t1 + 768i) & 63i)))), (((k0 + ((t1 + 768i) >> 6u)) < klim14) && ((col011 + ((t1 + 768i) & 63i)) < u.d_N)))], (((k0 + ((t1 + 768i) >> 6u)) < klim14) && ((col011 + ((t1 + 768i) & 63i)) < u.d_N)));
    workgroupBarrier();
    for (var kk: i32 = 0i; kk < 16i; kk += 1) {
      let a0_: f32 = As[((ty3 * 16i) + kk)];
      let a1_: f32 = As[(((ty3 + 16i) * 16i) + kk)];
      let a2_: f32 = As[(((ty3 + 32i) * 16i) + kk)];
      let a3_: f32 = As[(((ty3 + 48i) * 16i) + kk)];
      let b0_: f32 = Bs[((kk * 64i) + tx2)];
      let b1_: f32 = Bs[((kk * 64i) + (tx2 + 16i))];
      let b2_: f32 = Bs[((kk * 64i) + (tx2 + 32i))];
      let b3_: f32 = Bs[((kk * 64i) + (tx2 + 48i))];
      c0_0_15 = (c0_0_15 + (a0_ * b0_));
      c0_1_16 = (c0_1_16 + (a0_ * b1_));
      c0_2_17 = (c0_2_17 + (a0_ * b2_));
      c0_3_18 = (c0_3_18 + (a0_ * b3_));
      c1_0_19 = (c1_0_19 + (a1_ * b0_));
      c1_1_20 = (c1_1_20 + (a1_ * b1_));
      c1_2_21 = (c1_2_21 + (a1_ * b2_));
      c1_3_22 = (c1_3_22 + (a1_ * b3_));
      c2_0_23 = (c2_0_23 + (a2_ * b0_));
      c2_1_24 = (c2_1_24 + (a2_ * b1_));
      c2_2_25 = (c2_2_25 + (a2_ * b2_));
      c2_3_26 = (c2_3_26 + (a2_ * b3_));
      c3_0_27 = (c3_0_27 + (a3_ * b0_));
      c3_1_28 = (c3_1_28 + (a3_ * b1_));
      c3_2_29 = (c3_2_29 + (a3_ * b2_));
      c3_3_30 = (c3_3_30 + (a3_ * b3_));
    }
    workgroupBarrier();
  }
  let r31: i32 = (row010 + ty3);
  if (((r31 < mlim13) && ((col011 + tx2) < u.d_N))) {
    out[(obase12 + ((r31 * u.d_N) + (col011 + tx2)))] = c0_0_15;
  }
  if (((r31 < mlim13) && ((col011 + (tx2 + 16i)) < u.d_N))) {
    out[(obase12 + ((r31 * u.d_N) + (col011 + (tx2 + 16i))))] = c0_1_16;
  }
  if (((r31 < mlim13) && ((col011 + (tx2 + 32i)) < u.d_N))) {
    out[(obase12 + ((r31 * u.d_N) + (col011 + (tx2 + 32i))))] = c0_2_17;
  }
  if (((r31 < mlim13) && ((col011 + (tx2 + 48i)) < u.d_N))) {
    out[(obase12 + ((r31 * u.d_N) + (col011 + (tx2 + 48i))))] = c0_3_18;
  }
  let r32: i32 = (row010 + (ty3 + 16i));
  if (((r32 < mlim13) && ((col011 + tx2) < u.d_N))) {
    out[(obase12 + ((r32 * u.d_N) + (col011 + tx2)))] = c1_0_19;
  }
  if (((r32 < mlim13) && ((col011 + (tx2 + 16i)) < u.d_N))) {
    out[(obase12 + ((r32 * u.d_N) + (col011 + (tx2 + 16i))))] = c1_1_20;
  }
  if (((r32 < mlim13) && ((col011 + (tx2 + 32i)) < u.d_N))) {
    out[(obase12 + ((r32 * u.d_N) + (col011 + (tx2 + 32i))))] = c1_2_21;
  }
  if (((r32 < mlim13) && ((col011 + (tx2 + 48i)) < u.d_N))) {
    out[(obase12 + ((r32 * u.d_N) + (col011 + (tx2 + 48i))))] = c1_3_22;
  }
  let r33: i32 = (row010 + (ty3 + 32i));
  if (((r33 < mlim13) && ((col011 + tx2) < u.d_N))) {
    out[(obase12 + ((r33 * u.d_N) + (col011 + tx2)))] = c2_0_23;
  }
  if (((r33 < mlim13) && ((col011 + (tx2 + 16i)) < u.d_N))) {
    out[(obase12 + ((r33 * u.d_N) + (col011 + (tx2 + 16i))))] = c2_1_24;
  }
  if (((r33 < mlim13) && ((col011 + (tx2 + 32i)) < u.d_N))) {
    out[(obase12 + ((r33 * u.d_N) + (col011 + (tx2 + 32i))))] = c2_2_25;
  }
  if (((r33 < mlim13) && ((col011 + (tx2 + 48i)) < u.d_N))) {
    out[(obase12 + ((r33 * u.d_N) + (col011 + (tx2 + 48i))))] = c2_3_26;
  }
  let r34: i32 = (row010 + (ty3 + 48i));
  if (((r34 < mlim13) && ((col011 + tx2) < u.d_N))) {
    out[(obase12 + ((r34 * u.d_N) + (col011 + tx2)))] = c3_0_27;
  }
  if (((r34 < mlim13) && ((col011 + (tx2 + 16i)) < u.d_N))) {
    out[(obase12 + ((r34 * u.d_N) + (col011 + (tx2 + 16i))))] = c3_1_28;
  }
  if (((r34 < mlim13) && ((col011 + (tx2 + 32i)) < u.d_N))) {
    out[(obase12 + ((r34 * u.d_N) + (col011 + (tx2 + 32i))))] = c3_2_29;
  }
  if (((r34 < mlim13) && ((col011 + (tx2 + 48i)) < u.d_N))) {
    out[(obase12 + ((r34 * u.d_N) + (col011 + (tx2 + 48i))))] = c3_3_30;
  }
}

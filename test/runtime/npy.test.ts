import { describe, expect, it } from "vitest";
import { NpyError, readNpy, readNpyAsF64, writeNpy, type NpyWriteDtype } from "../../runtime/npy.ts";
import { f16FromBits, roundBF16, roundF16 } from "../../compiler/util/float16.ts";

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

/**
 * Files written by numpy 2.4 `np.save` (the bytes are embedded; numpy is not needed to run this).
 * Each header is padded so the data starts at byte 128.
 */
const NUMPY = {
  // np.arange(6, dtype='<f4').reshape(2, 3) / 3
  f4_2x3:
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000abaaaa3eabaa2a3f0000803fabaaaa3f5555d53f",
  // np.array([[1.5, -2], [3, 4e300]], dtype='>f8')
  f8_be:
    "934e554d5059010076007b276465736372273a20273e6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a3ff8000000000000c00000000000000040080000000000007e57e43c8800759c",
  // np.array([-1, 2**31 - 1, -2**31], dtype='>i8')
  i8_be:
    "934e554d5059010076007b276465736372273a20273e6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200affffffffffffffff000000007fffffffffffffff80000000",
  // np.array([1, -2.5, 65504, 6e-8, np.inf], dtype='<f2')
  f2_5: "934e554d5059010076007b276465736372273a20273c6632272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028352c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a003c00c1ff7b0100007c",
  // np.array([True, False, True])
  b1: "934e554d5059010076007b276465736372273a20277c6231272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a010001",
  // format.write_array(f, np.array([1, 2, 3], dtype='<f4'), version=(3, 0))
  f4_v3:
    "934e554d50590300740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000803f0000004000004040",
  // np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
  fortran:
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20547275652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000000040400000803f00008040000000400000a040",
};

/** Builds a .npy file by hand: magic, version, header length, header text (+ '\n'), data bytes. */
function build(header: string, data: ArrayLike<number>, major = 1, opts: { pad?: boolean } = {}): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let text = header;
  if (opts.pad !== false) {
    const total = Math.ceil((prefix + text.length + 1) / 16) * 16;
    text = text + " ".repeat(total - prefix - text.length - 1);
  }
  text += "\n";
  const hb = new TextEncoder().encode(text);
  const out = new Uint8Array(prefix + hb.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, hb.length, true);
  else dv.setUint32(8, hb.length, true);
  out.set(hb, prefix);
  out.set(Array.from(data), prefix + hb.length);
  return out;
}

const dict = (descr: string, shape: string, fortran = "False") =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function expectNpyError(f: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NpyError);
  expect((err as Error).message).toMatch(pattern);
}

describe("readNpy on numpy-written files", () => {
  it("reads a 2-d little-endian f4 array", () => {
    const a = readNpy(hex(NUMPY.f4_2x3));
    expect(a.dtype).toBe("f4");
    expect(a.descr).toBe("<f4");
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5].map((i) => Math.fround(i / 3)));
  });

  it("reads big-endian f8 and i8 files", () => {
    const a = readNpy(hex(NUMPY.f8_be));
    expect(a.descr).toBe(">f8");
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1.5, -2, 3, 4e300]);
    const b = readNpy(hex(NUMPY.i8_be));
    expect(b.dtype).toBe("i8");
    expect(b.data).toBeInstanceOf(Int32Array);
    expect(Array.from(b.data)).toEqual([-1, 2 ** 31 - 1, -(2 ** 31)]);
  });

  it("reads f2 as exact Float32 values, b1 as 0/1 bytes, and a 3.0 file", () => {
    const a = readNpy(hex(NUMPY.f2_5));
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data)).toEqual([1, -2.5, 65504, 2 ** -24, Infinity]);
    const b = readNpy(hex(NUMPY.b1));
    expect(b.dtype).toBe("b1");
    expect(b.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(b.data)).toEqual([1, 0, 1]);
    expect(Array.from(readNpy(hex(NUMPY.f4_v3)).data)).toEqual([1, 2, 3]);
  });

  it("rejects Fortran order with a clear error", () => {
    expectNpyError(() => readNpy(hex(NUMPY.fortran)), /Fortran-order .*not supported.*ascontiguousarray/);
  });

  it("writes byte-for-byte what numpy writes", () => {
    const f4 = Array.from(readNpy(hex(NUMPY.f4_2x3)).data);
    expect(writeNpy([2, 3], f4, "f4")).toEqual(hex(NUMPY.f4_2x3));
    expect(writeNpy([5], [1, -2.5, 65504, 6e-8, Infinity], "f2")).toEqual(hex(NUMPY.f2_5));
    expect(writeNpy([3], [1, 0, 1], "b1")).toEqual(hex(NUMPY.b1));
  });
});

describe("writeNpy -> readNpy round trips", () => {
  const shapes: number[][] = [[], [0], [7], [2, 3], [2, 0, 3], [1, 2, 1, 3]];
  const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const sample = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i * 1.37 + 0.1));

  const cases: { dtype: NpyWriteDtype; descr: string; ctor: unknown; values: (n: number) => number[]; expect: (v: number) => number }[] = [
    { dtype: "f4", descr: "<f4", ctor: Float32Array, values: sample, expect: Math.fround },
    { dtype: "f8", descr: "<f8", ctor: Float64Array, values: sample, expect: (v) => v },
    { dtype: "f2", descr: "<f2", ctor: Float32Array, values: sample, expect: roundF16 },
    { dtype: "bf16", descr: "<f4", ctor: Float32Array, values: sample, expect: roundBF16 },
    {
      dtype: "i4",
      descr: "<i4",
      ctor: Int32Array,
      values: (n) => Array.from({ length: n }, (_, i) => (i === 0 ? -(2 ** 31) : i === 1 ? 2 ** 31 - 1 : i * 7 - 20)),
      expect: (v) => v,
    },
    {
      dtype: "u4",
      descr: "<u4",
      ctor: Uint32Array,
      values: (n) => Array.from({ length: n }, (_, i) => (i === 0 ? 2 ** 32 - 1 : i * 1000)),
      expect: (v) => v,
    },
    {
      dtype: "b1",
      descr: "|b1",
      ctor: Uint8Array,
      values: (n) => Array.from({ length: n }, (_, i) => [0, 1, -3, NaN, 0.5][i % 5]!),
      expect: (v) => (v !== 0 ? 1 : 0),
    },
  ];

  for (const c of cases) {
    it(`round-trips ${c.dtype} for several shapes`, () => {
      for (const shape of shapes) {
        const vals = c.values(count(shape));
        const bytes = writeNpy(shape, vals, c.dtype);
        const itemsize = Number(c.descr.slice(2));
        const a = readNpy(bytes);
        expect(a.descr).toBe(c.descr);
        expect(a.shape).toEqual(shape);
        expect(a.data).toBeInstanceOf(c.ctor as typeof Float32Array);
        expect(Array.from(a.data)).toEqual(vals.map(c.expect));
        // The data starts at a multiple of 64 bytes, as numpy lays it out.
        expect((bytes.length - count(shape) * itemsize) % 64).toBe(0);
      }
    });
  }

  it("accepts typed arrays as input and keeps special float values", () => {
    const v = new Float64Array([NaN, -0, Infinity, -Infinity, 1e-310, 5e-324]);
    const f8 = readNpy(writeNpy([6], v, "f8")).data;
    expect(Number.isNaN(f8[0])).toBe(true);
    expect(Object.is(f8[1], -0)).toBe(true);
    expect(Array.from(f8.subarray(2))).toEqual([Infinity, -Infinity, 1e-310, 5e-324]);
    const f2 = readNpy(writeNpy([6], v, "f2")).data;
    expect(Number.isNaN(f2[0])).toBe(true);
    expect(Object.is(f2[1], -0)).toBe(true);
    expect(Array.from(f2.subarray(2))).toEqual([Infinity, -Infinity, 0, 0]);
    expect(Array.from(readNpy(writeNpy([2], new Float32Array([70000, 1 / 3]), "f2")).data)).toEqual([
      Infinity,
      roundF16(Math.fround(1 / 3)),
    ]);
  });

  it("f2 writes round the exact double once (ties to even)", () => {
    const tie = 1 + 2 ** -11; // halfway between 1 and the next f16 value
    const a = readNpy(writeNpy([3], [tie, tie + 2 ** -30, 2049], "f2"));
    expect(Array.from(a.data)).toEqual([1, 1 + 2 ** -10, 2048]);
  });

  it("readNpyAsF64 converts every dtype exactly", () => {
    const f = readNpyAsF64(writeNpy([2, 2], [1.5, -2, 3, 1 / 3], "f4"));
    expect(f.data).toBeInstanceOf(Float64Array);
    expect(f.shape).toEqual([2, 2]);
    expect(f.dtype).toBe("f4");
    expect(Array.from(f.data)).toEqual([1.5, -2, 3, Math.fround(1 / 3)]);
    expect(Array.from(readNpyAsF64(hex(NUMPY.f2_5)).data)).toEqual([1, -2.5, 65504, 2 ** -24, Infinity]);
    expect(Array.from(readNpyAsF64(hex(NUMPY.i8_be)).data)).toEqual([-1, 2 ** 31 - 1, -(2 ** 31)]);
    expect(Array.from(readNpyAsF64(writeNpy([2], [4294967295, 0], "u4")).data)).toEqual([4294967295, 0]);
    const f8 = new Float64Array([0.1, 0.2]);
    expect(Array.from(readNpyAsF64(writeNpy([2], f8, "f8")).data)).toEqual([0.1, 0.2]);
  });
});

describe("readNpy on hand-built headers", () => {
  it("reads format 1.0, 2.0 and 3.0 headers", () => {
    const data = [1, 0, 0, 0, 2, 0, 0, 0];
    for (const major of [1, 2, 3]) {
      const a = readNpy(build(dict("<i4", "(2,)"), data, major));
      expect(a.dtype).toBe("i4");
      expect(Array.from(a.data)).toEqual([1, 2]);
    }
  });

  it("reads a UTF-8 (3.0) header and tolerates key order, quotes, spacing and extra keys", () => {
    const h = `{"shape":(2,),"fortran_order":False,"descr":"<u2","note":'\u00e9t\u00e9',}`;
    const a = readNpy(build(h, [1, 0, 0xff, 0xff], 3));
    expect(a.dtype).toBe("u2");
    expect(a.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(a.data)).toEqual([1, 65535]);
  });

  it("reads Python 2 long shapes like (2L, 1L) and an unpadded header", () => {
    const a = readNpy(build(dict("|u1", "(2L, 1L)"), [7, 8], 1, { pad: false }));
    expect(a.shape).toEqual([2, 1]);
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(a.data)).toEqual([7, 8]);
  });

  it("reads every integer width in both byte orders", () => {
    expect(Array.from(readNpy(build(dict("<i2", "(2,)"), [0x00, 0x80, 0xff, 0x7f])).data)).toEqual([-32768, 32767]);
    expect(Array.from(readNpy(build(dict(">i2", "(2,)"), [0x80, 0x00, 0xff, 0xfe])).data)).toEqual([-32768, -2]);
    expect(Array.from(readNpy(build(dict("|i1", "(3,)"), [0x80, 0x7f, 0xff])).data)).toEqual([-128, 127, -1]);
    expect(Array.from(readNpy(build(dict(">u4", "(1,)"), [0xde, 0xad, 0xbe, 0xef])).data)).toEqual([0xdeadbeef]);
    expect(Array.from(readNpy(build(dict(">i4", "(1,)"), [0xff, 0xff, 0xff, 0xfe])).data)).toEqual([-2]);
    expect(Array.from(readNpy(build(dict(">u2", "(1,)"), [0x12, 0x34])).data)).toEqual([0x1234]);
    const u8 = readNpy(build(dict("<u8", "(2,)"), [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]));
    expect(u8.data).toBeInstanceOf(Uint32Array);
    expect(Array.from(u8.data)).toEqual([2 ** 32 - 1, 5]);
    const i8 = readNpy(build(dict("<i8", "(2,)"), [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0, 0, 0, 0, 0]));
    expect(i8.data).toBeInstanceOf(Int32Array);
    expect(Array.from(i8.data)).toEqual([-2, 3]);
  });

  it("reads big-endian floats", () => {
    const f4 = readNpy(build(dict(">f4", "(2,)"), [0x3f, 0xc0, 0, 0, 0xc0, 0x20, 0, 0]));
    expect(Array.from(f4.data)).toEqual([1.5, -2.5]);
    const f2 = readNpy(build(dict(">f2", "(3,)"), [0x3c, 0x00, 0x7b, 0xff, 0x80, 0x01]));
    expect(Array.from(f2.data)).toEqual([1, 65504, -f16FromBits(1)]);
    const le = readNpy(build(dict("<f2", "(1,)"), [0x00, 0x7e]));
    expect(Number.isNaN(le.data[0])).toBe(true);
  });

  it("normalises b1 bytes other than 0/1 to 1", () => {
    expect(Array.from(readNpy(build(dict("|b1", "(3,)"), [0, 2, 255])).data)).toEqual([0, 1, 1]);
  });

  it("reads 0-d and empty arrays", () => {
    const s = readNpy(build(dict("<f8", "()"), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data)).toEqual([1]);
    const e = readNpy(build(dict("<f4", "(3, 0)"), []));
    expect(e.shape).toEqual([3, 0]);
    expect(e.data.length).toBe(0);
  });

  it("accepts fortran_order True when the layout equals C order", () => {
    const a = readNpy(build(dict("<i4", "(1, 2)", "True"), [1, 0, 0, 0, 2, 0, 0, 0]));
    expect(Array.from(a.data)).toEqual([1, 2]);
  });

  it("ignores trailing bytes and does not alias or modify the input", () => {
    const bytes = build(dict(">i4", "(1,)"), [0, 0, 0, 9, 0xaa, 0xbb]);
    const copy = bytes.slice();
    const a = readNpy(bytes);
    expect(Array.from(a.data)).toEqual([9]);
    expect(bytes).toEqual(copy);
    expect(a.data.buffer).not.toBe(bytes.buffer);
  });

  it("reads from a Node Buffer that is a view at an odd offset", () => {
    const file = writeNpy([3], [1.25, 2.5, -3], "f8");
    const pool = Buffer.alloc(file.length + 3);
    pool.set(file, 3);
    const view = pool.subarray(3);
    expect(Array.from(readNpy(view).data)).toEqual([1.25, 2.5, -3]);
  });
});

describe("errors", () => {
  it("bad magic, truncated file, unsupported version", () => {
    expectNpyError(() => readNpy(new Uint8Array([1, 2, 3])), /not a \.npy file/);
    expectNpyError(() => readNpy(new TextEncoder().encode("PK\x03\x04 this is a zip")), /not a \.npy file/);
    const ok = build(dict("<f4", "(2,)"), [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    expectNpyError(() => readNpy(ok.subarray(0, 20)), /truncated \.npy file: header/);
    expectNpyError(() => readNpy(ok.subarray(0, ok.length - 1)), /truncated \.npy file: shape \(2\) of '<f4' needs 8 data bytes, only 7/);
    const v4 = ok.slice();
    v4[6] = 4;
    expectNpyError(() => readNpy(v4), /unsupported \.npy format version 4\.0/);
    const v11 = ok.slice();
    v11[7] = 1;
    expectNpyError(() => readNpy(v11), /format version 1\.1/);
  });

  it("unsupported dtypes", () => {
    expectNpyError(() => readNpy(build(dict("|O", "(1,)"), [0])), /unsupported \.npy dtype '\|O'.*object/);
    expectNpyError(() => readNpy(build(dict("<U5", "(1,)"), [])), /unsupported \.npy dtype '<U5'.*string/);
    expectNpyError(() => readNpy(build(dict("<c8", "(1,)"), [])), /unsupported \.npy dtype '<c8'/);
    expectNpyError(() => readNpy(build(dict("|f4", "(1,)"), [])), /'\|' needs a 1-byte type/);
    const structured = `{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }`;
    expectNpyError(() => readNpy(build(structured, [0, 0, 0, 0, 0, 0, 0, 0])), /structured/);
  });

  it("64-bit integers out of 32-bit range", () => {
    const big = [0, 0, 0, 0x80, 0, 0, 0, 0]; // 2^31
    expectNpyError(() => readNpy(build(dict("<i8", "(1,)"), big)), /element 0 = 2147483648 does not fit in int32/);
    const neg = [0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff]; // -2^31 - 1
    expectNpyError(() => readNpy(build(dict("<i8", "(1,)"), neg)), /-2147483649 does not fit in int32/);
    const u = [0, 0, 0, 0, 1, 0, 0, 0]; // 2^32
    expectNpyError(() => readNpy(build(dict("<u8", "(1,)"), u)), /4294967296 does not fit in uint32/);
  });

  it("malformed headers", () => {
    expectNpyError(() => readNpy(build(`{'descr': '<f4', 'shape': (1,), }`, [0, 0, 0, 0])), /missing key 'fortran_order'/);
    expectNpyError(() => readNpy(build(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,)`, [])), /malformed/);
    expectNpyError(() => readNpy(build(`['descr', '<f4']`, [])), /not a dictionary/);
    expectNpyError(() => readNpy(build(dict("<f4", "[1]"), [0, 0, 0, 0])), /'shape' is not a tuple/);
    expectNpyError(() => readNpy(build(dict("<f4", "(-1,)"), [])), /bad dimension -1/);
    expectNpyError(() => readNpy(build(dict("<f4", "(1,)", "0"), [0, 0, 0, 0])), /fortran_order/);
    expectNpyError(() => readNpy(build(dict("<f4", "(1,)") + " x", [0, 0, 0, 0])), /unexpected text/);
    expectNpyError(() => readNpy(build(dict("<f4", "(99999999999999999999,)"), [])), /too large/);
  });

  it("writeNpy rejects mismatched lengths, bad shapes and unrepresentable integers", () => {
    expectNpyError(() => writeNpy([2, 2], [1, 2, 3], "f4"), /shape \(2, 2\) has 4 elements but data has 3/);
    expectNpyError(() => writeNpy([-1], [], "f4"), /bad dimension -1/);
    expectNpyError(() => writeNpy([1.5], [1], "f4"), /bad dimension 1\.5/);
    expectNpyError(() => writeNpy([1], [1.5], "i4"), /element 0 = 1\.5 is not an int32/);
    expectNpyError(() => writeNpy([1], [2 ** 31], "i4"), /not an int32/);
    expectNpyError(() => writeNpy([1], [-1], "u4"), /not a uint32/);
    expectNpyError(() => writeNpy([1], [1], "i8" as NpyWriteDtype), /cannot write \.npy dtype 'i8'/);
  });
});

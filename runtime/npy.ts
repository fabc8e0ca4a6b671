/**
 * NumPy .npy files: read (format versions 1.0, 2.0 and 3.0; little-, big-endian and
 * byte-order-free dtypes; C order) and write (format 1.0, little-endian, numpy's own layout:
 * header padded so the data starts at a multiple of 64 bytes; 2.0 only if the header would
 * not fit in 1.0, as numpy does).
 *
 * Read dtypes and the typed array each one is returned in (`dtype` is given without its
 * byte-order character; the header's own string is in `descr`):
 *   f4 -> Float32Array      f8 -> Float64Array     f2 -> Float32Array (exact decoded values)
 *   i4 -> Int32Array        i2, i1 -> Int32Array   i8 -> Int32Array (NpyError if out of range)
 *   u4 -> Uint32Array       u8 -> Uint32Array (NpyError if out of range)
 *   u2 -> Uint16Array       u1 -> Uint8Array       b1 -> Uint8Array (0 or 1)
 * Fortran-order arrays are rejected (unless at most one dimension is longer than 1, where
 * the two orders are the same bytes). Errors are thrown as `NpyError`.
 */
import { f16Bits, f16FromBits, roundBF16 } from "../compiler/util/float16.ts";

export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NpyError";
  }
}

/** Element types that `readNpy` understands (byte order stripped). */
export type NpyDtype = "f2" | "f4" | "f8" | "i1" | "i2" | "i4" | "i8" | "u1" | "u2" | "u4" | "u8" | "b1";

/** Element types that `writeNpy` can write. 'bf16' writes '<f4' (every bf16 value is an f4 value). */
export type NpyWriteDtype = "f4" | "f8" | "f2" | "i4" | "u4" | "b1" | "bf16";

export type NpyData = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;

export interface NpyArray {
  /** Element type without byte order, e.g. "f4". */
  dtype: NpyDtype;
  /** The header's dtype string as written in the file, e.g. "<f4" or ">i8". */
  descr: string;
  shape: number[];
  /** Elements in C (row-major) order; length is the product of `shape`. */
  data: NpyData;
}

export interface NpyArrayF64 {
  dtype: NpyDtype;
  shape: number[];
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;

const ITEMSIZE: Record<NpyDtype, number> = {
  f2: 2,
  f4: 4,
  f8: 8,
  i1: 1,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
  u2: 2,
  u4: 4,
  u8: 8,
  b1: 1,
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

type PyValue = string | number | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

class HeaderParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new NpyError(`malformed .npy header: ${what} at offset ${this.pos} in ${JSON.stringify(this.text.trim())}`);
  }

  private ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    this.ws();
    return this.text[this.pos] ?? "";
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  parseTop(): PyValue {
    const v = this.value();
    this.ws();
    if (this.pos !== this.text.length) this.fail("unexpected text after the dictionary");
    return v;
  }

  private value(): PyValue {
    const c = this.peek();
    if (c === "{") return this.dict();
    if (c === "(") return { tuple: this.seq("(", ")") };
    if (c === "[") return this.seq("[", "]");
    if (c === "'" || c === '"') return this.str();
    if (/[-+0-9]/.test(c)) return this.int();
    const m = /^(True|False|None)\b/.exec(this.text.slice(this.pos));
    if (m) {
      this.pos += m[1]!.length;
      return m[1] === "True" ? true : m[1] === "False" ? false : null;
    }
    return this.fail(c === "" ? "unexpected end" : `unexpected '${c}'`);
  }

  private dict(): Map<string, PyValue> {
    this.expect("{");
    const out = new Map<string, PyValue>();
    while (this.peek() !== "}") {
      const k = this.value();
      if (typeof k !== "string") this.fail("dictionary key is not a string");
      this.expect(":");
      out.set(k, this.value());
      if (this.peek() === ",") this.pos++;
      else if (this.peek() !== "}") this.fail("expected ',' or '}'");
    }
    this.pos++;
    return out;
  }

  private seq(open: string, close: string): PyValue[] {
    this.expect(open);
    const out: PyValue[] = [];
    while (this.peek() !== close) {
      out.push(this.value());
      if (this.peek() === ",") this.pos++;
      else if (this.peek() !== close) this.fail(`expected ',' or '${close}'`);
    }
    this.pos++;
    return out;
  }

  private str(): string {
    const q = this.text[this.pos]!;
    this.pos++;
    let out = "";
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail("unterminated string");
      this.pos++;
      if (c === q) return out;
      if (c === "\\") {
        const e = this.text[this.pos];
        if (e === undefined) this.fail("unterminated string");
        this.pos++;
        out += e === "n" ? "\n" : e === "t" ? "\t" : e;
      } else {
        out += c;
      }
    }
  }

  private int(): number {
    const m = /^[-+]?[0-9]+L?/.exec(this.text.slice(this.pos)); // 'L': Python 2 longs, e.g. (3L, 4L)
    if (!m) this.fail("bad number");
    this.pos += m[0].length;
    const n = Number(m[0].replace(/L$/, ""));
    if (!Number.isSafeInteger(n)) this.fail(`integer ${m[0]} is too large`);
    return n;
  }
}

function parseDescr(descr: string): { dtype: NpyDtype; little: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  const key = m ? `${m[2]}${m[3]}` : "";
  if (!m || !(key in ITEMSIZE)) {
    const hint = descr.includes("O")
      ? " (object arrays are pickled Python objects)"
      : /[USa]/.test(descr)
        ? " (string arrays)"
        : "";
    throw new NpyError(
      `unsupported .npy dtype '${descr}'${hint}; supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 (any byte order)`,
    );
  }
  const dtype = key as NpyDtype;
  const order = m[1]!;
  if (order === "|" && ITEMSIZE[dtype] !== 1) throw new NpyError(`invalid .npy dtype '${descr}': '|' needs a 1-byte type`);
  // '=' (or no character) means native order; numpy always writes '<', '>' or '|'.
  return { dtype, little: order === ">" ? false : order === "<" ? true : HOST_LITTLE_ENDIAN };
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`invalid .npy shape (${shape.join(", ")}): bad dimension ${d}`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new NpyError(`.npy shape (${shape.join(", ")}) is too large`);
  return n;
}

interface Header {
  descr: string;
  dtype: NpyDtype;
  little: boolean;
  shape: number[];
  dataOffset: number;
}

function readHeader(bytes: Uint8Array): Header {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError("not a .npy file: missing the \\x93NUMPY magic string");
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  let headerLen: number;
  let start: number;
  if (major === 1 && minor === 0) {
    headerLen = bytes[8]! | (bytes[9]! << 8);
    start = 10;
  } else if ((major === 2 || major === 3) && minor === 0) {
    if (bytes.length < 12) throw new NpyError("truncated .npy file: header length is cut off");
    headerLen = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16) | (bytes[11]! << 24)) >>> 0;
    start = 12;
  } else {
    throw new NpyError(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (start + headerLen > bytes.length) {
    throw new NpyError(`truncated .npy file: header needs ${headerLen} bytes, only ${bytes.length - start} present`);
  }
  const raw = bytes.subarray(start, start + headerLen);
  // 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8.
  let text = "";
  if (major === 3) {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      throw new NpyError("malformed .npy header: format 3.0 header is not valid UTF-8");
    }
  } else {
    for (const b of raw) text += String.fromCharCode(b);
  }

  const parsed = new HeaderParser(text).parseTop();
  if (!(parsed instanceof Map)) throw new NpyError(`malformed .npy header: not a dictionary: ${text.trim()}`);
  const descrV = parsed.get("descr");
  const fortranV = parsed.get("fortran_order");
  const shapeV = parsed.get("shape");
  for (const [k, v] of [
    ["descr", descrV],
    ["fortran_order", fortranV],
    ["shape", shapeV],
  ] as const) {
    if (v === undefined) throw new NpyError(`malformed .npy header: missing key '${k}' in ${text.trim()}`);
  }
  if (Array.isArray(descrV)) throw new NpyError("unsupported .npy dtype: structured (record) arrays are not supported");
  if (typeof descrV !== "string") throw new NpyError(`malformed .npy header: 'descr' is not a string in ${text.trim()}`);
  if (typeof fortranV !== "boolean") throw new NpyError(`malformed .npy header: 'fortran_order' is not True/False`);
  if (shapeV === null || typeof shapeV !== "object" || !("tuple" in shapeV) || !shapeV.tuple.every((d) => typeof d === "number")) {
    throw new NpyError(`malformed .npy header: 'shape' is not a tuple of integers in ${text.trim()}`);
  }
  const shape = shapeV.tuple as number[];
  elementCount(shape);
  if (fortranV && shape.filter((d) => d > 1).length > 1) {
    throw new NpyError(
      `Fortran-order .npy arrays are not supported (shape (${shape.join(", ")})); save a C-order copy, e.g. np.save(path, np.ascontiguousarray(a))`,
    );
  }
  const { dtype, little } = parseDescr(descrV);
  return { descr: descrV, dtype, little, shape, dataOffset: start + headerLen };
}

/** Reads a .npy file. Throws `NpyError` for anything it cannot read faithfully. */
export function readNpy(bytes: Uint8Array): NpyArray {
  const h = readHeader(bytes);
  const count = elementCount(h.shape);
  const size = ITEMSIZE[h.dtype];
  const nbytes = count * size;
  const have = bytes.length - h.dataOffset;
  if (have < nbytes) {
    throw new NpyError(
      `truncated .npy file: shape (${h.shape.join(", ")}) of '${h.descr}' needs ${nbytes} data bytes, only ${have} present`,
    );
  }
  // Copy into a fresh, aligned buffer, never a view of the caller's (a Node Buffer's slice() is a
  // view). Trailing bytes past the array are ignored, as numpy does.
  const buf = new Uint8Array(nbytes);
  buf.set(bytes.subarray(h.dataOffset, h.dataOffset + nbytes));
  if (size > 1 && h.little !== HOST_LITTLE_ENDIAN) swapBytes(buf, size);
  const ab = buf.buffer;
  let data: NpyData;
  switch (h.dtype) {
    case "f4":
      data = new Float32Array(ab, 0, count);
      break;
    case "f8":
      data = new Float64Array(ab, 0, count);
      break;
    case "f2": {
      const bits = new Uint16Array(ab, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = f16FromBits(bits[i]!);
      data = out;
      break;
    }
    case "i4":
      data = new Int32Array(ab, 0, count);
      break;
    case "i2":
      data = Int32Array.from(new Int16Array(ab, 0, count));
      break;
    case "i1":
      data = Int32Array.from(new Int8Array(ab, 0, count));
      break;
    case "u4":
      data = new Uint32Array(ab, 0, count);
      break;
    case "u2":
      data = new Uint16Array(ab, 0, count);
      break;
    case "u1":
      data = buf;
      break;
    case "b1":
      for (let i = 0; i < count; i++) buf[i] = buf[i] !== 0 ? 1 : 0;
      data = buf;
      break;
    case "i8":
    case "u8": {
      // Narrow to 32 bits: value fits iff the high word is the sign (i8) or zero (u8) extension.
      const words = new Int32Array(ab, 0, count * 2);
      const lowFirst = HOST_LITTLE_ENDIAN;
      const signed = h.dtype === "i8";
      const out = signed ? new Int32Array(count) : new Uint32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = words[lowFirst ? 2 * i : 2 * i + 1]!;
        const hi = words[lowFirst ? 2 * i + 1 : 2 * i]!;
        const fits = signed ? hi === lo >> 31 : hi === 0;
        if (!fits) {
          const big = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          const v = signed ? big : BigInt.asUintN(64, big);
          throw new NpyError(
            `.npy '${h.descr}' element ${i} = ${v} does not fit in ${signed ? "int32" : "uint32"} (64-bit integers are read into 32-bit arrays)`,
          );
        }
        out[i] = lo;
      }
      data = out;
      break;
    }
  }
  return { dtype: h.dtype, descr: h.descr, shape: h.shape, data };
}

/** Reads a .npy file of any supported dtype into float64 values (exact for every dtype). */
export function readNpyAsF64(bytes: Uint8Array): NpyArrayF64 {
  const a = readNpy(bytes);
  return { dtype: a.dtype, shape: a.shape, data: a.data instanceof Float64Array ? a.data : Float64Array.from(a.data) };
}

function swapBytes(buf: Uint8Array, size: number): void {
  for (let i = 0; i < buf.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = buf[a]!;
      buf[a] = buf[b]!;
      buf[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const WRITE_DESCR: Record<NpyWriteDtype, string> = {
  f4: "<f4",
  f8: "<f8",
  f2: "<f2",
  i4: "<i4",
  u4: "<u4",
  b1: "|b1",
  bf16: "<f4",
};

/**
 * numpy's header text for a C-order array: keys sorted, Python reprs, trailing ", ", then the
 * spare spaces numpy leaves so the first dimension can grow in place (GROWTH_AXIS_MAX_DIGITS = 21).
 */
function headerText(descr: string, shape: readonly number[]): string {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const spare = shape.length > 0 ? Math.max(0, 21 - String(shape[0]).length) : 0;
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }` + " ".repeat(spare);
}

/**
 * Writes a C-order array as a .npy file (format 1.0, little-endian). `data.length` must equal
 * the product of `shape`. Values are converted as numpy's astype would for these exact cases:
 * f4/bf16/f2 round to nearest even (f2 and bf16 from the exact double, bf16 stored as '<f4'),
 * i4/u4 need integers in range (NpyError otherwise), b1 stores nonzero (and NaN) as 1.
 */
export function writeNpy(shape: readonly number[], data: ArrayLike<number>, dtype: NpyWriteDtype): Uint8Array {
  if (!(dtype in WRITE_DESCR)) throw new NpyError(`cannot write .npy dtype '${String(dtype)}'`);
  const count = elementCount(shape);
  if (data.length !== count) {
    throw new NpyError(`cannot write .npy: shape (${shape.join(", ")}) has ${count} elements but data has ${data.length}`);
  }
  const descr = WRITE_DESCR[dtype];
  const itemsize = descr === "<f8" ? 8 : descr === "<f2" ? 2 : descr === "|b1" ? 1 : 4;

  let text = headerText(descr, shape);
  // Pad with spaces and end with '\n' so the data starts at a multiple of ALIGN; like numpy,
  // pad by 1..ALIGN spaces (a full ALIGN when already aligned).
  const padded = (prefix: number) => prefix + text.length + 1 + (ALIGN - ((prefix + text.length + 1) % ALIGN));
  let prefix = 10;
  let major = 1;
  let total = padded(prefix);
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = padded(prefix);
  }
  text = text + " ".repeat(total - prefix - text.length - 1) + "\n";

  const out = new Uint8Array(total + count * itemsize);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const hlen = text.length;
  out[8] = hlen & 0xff;
  out[9] = (hlen >>> 8) & 0xff;
  if (major === 2) {
    out[10] = (hlen >>> 16) & 0xff;
    out[11] = (hlen >>> 24) & 0xff;
  }
  for (let i = 0; i < hlen; i++) out[prefix + i] = text.charCodeAt(i);

  const view = new DataView(out.buffer, total);
  for (let i = 0; i < count; i++) {
    const v = data[i]!;
    switch (dtype) {
      case "f4":
        view.setFloat32(4 * i, v, true);
        break;
      case "bf16":
        view.setFloat32(4 * i, roundBF16(v), true);
        break;
      case "f8":
        view.setFloat64(8 * i, v, true);
        break;
      case "f2":
        view.setUint16(2 * i, f16Bits(v), true);
        break;
      case "i4":
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
          throw new NpyError(`cannot write .npy i4: element ${i} = ${v} is not an int32`);
        }
        view.setInt32(4 * i, v, true);
        break;
      case "u4":
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new NpyError(`cannot write .npy u4: element ${i} = ${v} is not a uint32`);
        }
        view.setUint32(4 * i, v, true);
        break;
      case "b1":
        out[total + i] = v !== 0 ? 1 : 0; // NaN !== 0, so NaN -> True as in numpy
        break;
    }
  }
  return out;
}

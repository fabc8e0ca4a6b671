/**
 * The reference interpreter: THE executable spec of the graph IR. Every pass and backend is
 * tested against it, so it is written to be plainly correct rather than fast.
 *
 * - Values are row-major Float64Arrays holding doubles already rounded to the node's dtype
 *   (f32 via Math.fround, f16/bf16 via util/float16.ts, i32/u32 wrap, bool 0/1). Each op computes
 *   in double and rounds once; reductions, matmul, softmax and attention accumulate in double.
 * - Dim variables are bound by matching the input tensors' shapes against the input nodes'
 *   symbolic shapes (a dim that is exactly one variable binds it), then composite dims are
 *   checked; variables no input determines come from `opts.dims`.
 * - Out-of-range data-dependent indices never throw: they read 0 / drop the write and set the
 *   error flag (see ops.ts); `errors` lists the first such event of each node. Malformed graphs
 *   or inputs throw InterpError.
 * - iterate: nodes that depend on no loop placeholder are evaluated once; a node that depends on
 *   loop L (transitively, through loop_state/loop_index of L) is evaluated afresh in every
 *   iteration of L, in a memo table private to that iteration, so nothing loop-dependent leaks
 *   from one iteration to the next. Nested loops nest these tables.
 */
import { asVar, dimVars, evalDim, type Dim } from "./dim.ts";
import type { DType } from "./dtype.ts";
import { toposort, type Graph } from "./node.ts";
import type { Node, OpArgs } from "./ops.ts";
import { InterpError, fmtShape, fmtSym, makeDimEval, numelOf, tensor, type Ctx, type HostTensor } from "./interp/core.ts";
import { roundTo, validFor } from "./interp/scalar.ts";
import {
  evalBinary, evalBroadcast, evalCast, evalConcat, evalConst, evalIota, evalPad, evalPermute, evalRegions, evalReshape,
  evalSlice, evalUnary, evalWhere,
} from "./interp/basic.ts";
import { evalArgreduce, evalCumsum, evalLogsumexp, evalMatmul, evalReduce, evalSoftmax } from "./interp/reduce.ts";
import { evalArgsort, evalCompact, evalGather, evalSegmentReduce, evalTopk } from "./interp/order.ts";
import { evalDequantize, evalDwconv2d, evalL2normalize, evalLayernorm, evalQuantize, evalRmsnorm } from "./interp/nn.ts";
import { evalAttention } from "./interp/attention.ts";
import { compileExpr, makeEnv } from "./interp/sexpr.ts";

export { InterpError, type HostTensor } from "./interp/core.ts";
export { erf, erfc } from "./interp/scalar.ts";

export interface InterpOptions {
  /** Values of dim variables that no input shape determines (or that must match them). */
  dims?: Record<string, number>;
}

export interface InterpResult {
  /** One tensor per graph output, in order. */
  outputs: HostTensor[];
  /** Every bound dim variable. */
  dims: Record<string, number>;
  /** Whether any data-dependent index was out of range (the program's error flag). */
  errorFlag: boolean;
  /** The first out-of-range event of each node that had one. */
  errors: { node: Node; message: string }[];
}

/**
 * A host tensor of `dtype` and `shape` from plain values (booleans allowed). Float values are
 * rounded to the dtype; integer and bool values must already be valid (else InterpError).
 */
export function hostTensor(dtype: DType, shape: readonly number[], data: ArrayLike<number | boolean>): HostTensor {
  const n = numelOf(shape);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InterpError(`invalid shape ${fmtShape(shape)}`);
  if (data.length !== n) throw new InterpError(`${data.length} values for shape ${fmtShape(shape)} (${n} elements)`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (!validFor(dtype, v)) throw new InterpError(`value ${v} at flat index ${i} is not a valid ${dtype}`);
    out[i] = roundTo(dtype, v);
  }
  return { dtype, shape: [...shape], data: out };
}

type Value = HostTensor | HostTensor[];

interface Frame {
  readonly loop: number;
  readonly index: number;
  readonly state: readonly HostTensor[];
  readonly memo: Map<Node, Value>;
}

const NO_LOOPS: ReadonlySet<number> = new Set();

export function interpret(graph: Graph, inputs: Record<string, HostTensor>, opts: InterpOptions = {}): InterpResult {
  const { env, inputs: given } = bindDims(graph, inputs, opts.dims ?? {});
  checkRequires(graph, env);
  const dimOf = makeDimEval(env);
  const errors = new Map<Node, string>();
  const frames: Frame[] = [];
  const ctx: Ctx = {
    dim: (d, node) => dimOf(d, node),
    flag: (node, message) => {
      if (errors.has(node)) return;
      const where = frames.map((f) => `iteration ${f.index} of loop ${f.loop}`).join(", ");
      errors.set(node, where ? `${message} (in ${where})` : message);
    },
  };
  const order = toposort(graph.outputs);
  // Loops each node depends on (through loop_state / loop_index), children first.
  const loops = new Map<Node, ReadonlySet<number>>();
  for (const n of order) {
    let s: Set<number> | undefined;
    const add = (x: ReadonlySet<number>) => {
      for (const l of x) (s ??= new Set()).add(l);
    };
    if (n.op === "loop_state" || n.op === "loop_index") add(new Set([(n.arg as OpArgs["loop_state"]).loop]));
    for (const c of n.src) add(loops.get(c)!);
    if (n.op === "iterate") {
      const it = n.arg as OpArgs["iterate"];
      for (const b of it.body) add(loops.get(b)!);
      s?.delete(it.loop);
    }
    loops.set(n, s && s.size ? s : NO_LOOPS);
  }
  const global = new Map<Node, Value>();
  const shapeCache = new Map<Node, number[][]>();
  const shapesOf = (n: Node): number[][] => {
    let s = shapeCache.get(n);
    if (!s) {
      s = n.types.map((t) =>
        t.shape.map((d) => {
          const v = dimOf(d, n);
          if (v < 0) throw new InterpError(`dim '${d.toString()}' of the result is ${v} (negative)`, n);
          return v;
        }),
      );
      shapeCache.set(n, s);
    }
    return s;
  };

  const lookup = (n: Node): Value => {
    for (let f = frames.length - 1; f >= 0; f--) {
      const v = frames[f]!.memo.get(n);
      if (v) return v;
    }
    const v = global.get(n);
    if (!v) throw new InterpError(`value not available: a loop placeholder (or a node built from one) is used outside its iterate`, n);
    return v;
  };
  const tensorOf = (n: Node): HostTensor => {
    const v = lookup(n);
    if (Array.isArray(v)) throw new InterpError(`a tuple is used as a tensor`, n);
    return v;
  };

  const iterCache = new Map<Node, Node[]>();
  const runIterate = (node: Node<"iterate">): HostTensor[] => {
    const { loop, body } = node.arg;
    const steps = dimOf(node.arg.n, node);
    if (steps < 0) throw new InterpError(`iterate count ${steps} is negative`, node);
    let list = iterCache.get(node);
    if (!list) {
      list = toposort(body).filter((b) => loops.get(b)!.has(loop));
      iterCache.set(node, list);
    }
    let state = node.src.map(tensorOf);
    for (let t = 0; t < steps; t++) {
      const frame: Frame = { loop, index: t, state, memo: new Map() };
      frames.push(frame);
      const bound = new Set(frames.map((f) => f.loop));
      for (const b of list) if ([...loops.get(b)!].every((l) => bound.has(l))) frame.memo.set(b, evalNode(b));
      state = body.map(tensorOf);
      frames.pop();
    }
    return state;
  };

  const frameOf = (node: Node, loop: number): Frame => {
    for (let f = frames.length - 1; f >= 0; f--) if (frames[f]!.loop === loop) return frames[f]!;
    throw new InterpError(`loop placeholder used outside its iterate (loop ${loop})`, node);
  };

  const evalNode = (node: Node): Value => {
    const shp = shapesOf(node);
    const shape = shp[0] ?? []; // tuple nodes use shp
    const src = (i: number): HostTensor => tensorOf(node.src[i]!);
    const srcs = (): HostTensor[] => node.src.map(tensorOf);
    switch (node.op) {
      case "input": {
        const name = (node.arg as OpArgs["input"]).name;
        return given.get(name)!; // validated and rounded by bindDims
      }
      case "const":
        return evalConst(node as Node<"const">, shape);
      case "iota":
        return evalIota(node as Node<"iota">, shape);
      case "unary":
        return evalUnary(node as Node<"unary">, src(0), shape);
      case "binary":
        return evalBinary(node as Node<"binary">, src(0), src(1), shape);
      case "where":
        return evalWhere(node, src(0), src(1), src(2), shape);
      case "cast":
        return evalCast(node, src(0), shape);
      case "reshape":
        return evalReshape(node, src(0), shape);
      case "permute":
        return evalPermute(node as Node<"permute">, src(0), shape);
      case "broadcast":
        return evalBroadcast(node, src(0), shape);
      case "slice":
        return evalSlice(node as Node<"slice">, src(0), shape, ctx);
      case "concat":
        return evalConcat(node as Node<"concat">, srcs(), shape);
      case "pad":
        return evalPad(node as Node<"pad">, src(0), shape, ctx);
      case "regions":
      case "unregions":
        return evalRegions(node as Node<"regions">, src(0), shape);
      case "reduce":
        return evalReduce(node as Node<"reduce">, src(0), shape);
      case "argreduce":
        return evalArgreduce(node as Node<"argreduce">, src(0), shape);
      case "softmax":
        return evalSoftmax(node as Node<"softmax">, src(0), shape);
      case "logsumexp":
        return evalLogsumexp(node as Node<"logsumexp">, src(0), shape);
      case "matmul":
        return evalMatmul(node, src(0), src(1), shape);
      case "cumsum":
        return evalCumsum(node as Node<"cumsum">, src(0), shape);
      case "topk":
        return evalTopk(node as Node<"topk">, src(0), ctx, shape);
      case "argsort":
        return evalArgsort(node as Node<"argsort">, src(0), shape);
      case "compact":
        return evalCompact(node, src(0));
      case "gather":
        return evalGather(node as Node<"gather">, src(0), src(1), shape, ctx);
      case "segment_reduce":
        return evalSegmentReduce(node as Node<"segment_reduce">, src(0), src(1), shape, ctx);
      case "compute":
        return evalCompute(node as Node<"compute">, srcs(), shape, ctx);
      case "dwconv2d": {
        const hasBias = (node.arg as OpArgs["dwconv2d"]).hasBias;
        return evalDwconv2d(node as Node<"dwconv2d">, src(0), src(1), hasBias ? src(2) : undefined, shape);
      }
      case "layernorm":
        return evalLayernorm(node as Node<"layernorm">, srcs(), shape);
      case "rmsnorm":
        return evalRmsnorm(node as Node<"rmsnorm">, srcs(), shape);
      case "l2normalize":
        return evalL2normalize(node as Node<"l2normalize">, src(0), shape);
      case "quantize":
        return evalQuantize(node as Node<"quantize">, src(0), shp);
      case "dequantize":
        return evalDequantize(node as Node<"dequantize">, src(0), src(1), src(2), shape, ctx);
      case "attention": {
        const res = evalAttention(node as Node<"attention">, srcs(), shp, ctx);
        return node.dtype === "tuple" ? res : res[0]!;
      }
      case "iterate":
        return runIterate(node as Node<"iterate">);
      case "loop_state": {
        const { loop, index } = node.arg as OpArgs["loop_state"];
        const st = frameOf(node, loop).state[index];
        if (!st) throw new InterpError(`loop state ${index} does not exist`, node);
        return st;
      }
      case "loop_index":
        return tensor("i32", [], Float64Array.of(frameOf(node, (node.arg as OpArgs["loop_index"]).loop).index));
      case "proj": {
        const t = lookup(node.src[0]!);
        const i = (node.arg as OpArgs["proj"]).index;
        if (!Array.isArray(t) || !t[i]) throw new InterpError(`projection ${i} of a value that is not a tuple with that many outputs`, node);
        return t[i];
      }
    }
  };

  for (const n of order) {
    if (loops.get(n)!.size !== 0) continue; // evaluated inside its iterate
    global.set(n, evalNode(n));
  }
  const outputs = graph.outputs.map(tensorOf);
  return {
    outputs,
    dims: Object.fromEntries(env),
    errorFlag: errors.size > 0,
    errors: [...errors].map(([node, message]) => ({ node, message })),
  };
}

function evalCompute(node: Node<"compute">, srcs: readonly HostTensor[], shape: number[], ctx: Ctx): HostTensor {
  const body = node.arg.body;
  const dt = node.dtype as DType;
  const r = shape.length;
  const env = makeEnv(node, [body], srcs, ctx, r);
  const f = compileExpr(body);
  const out = tensor(dt, shape);
  const n = out.data.length;
  for (let p = 0; p < n; p++) {
    out.data[p] = roundTo(dt, f(env));
    for (let k = r - 1; k >= 0; k--) {
      if (++env.vars[k]! < shape[k]!) break;
      env.vars[k] = 0;
    }
  }
  return out;
}

/** Binds dim variables from the inputs (see the module comment) and validates the inputs. */
/**
 * Sizes for the dim variables of a graph's inputs that `given` leaves open: `fallback`, raised to
 * a multiple of any divisor the graph requires of a variable (e.g. heads dividing C).
 */
export function defaultDims(graph: Graph, given: Record<string, number>, fallback = 8): Record<string, number> {
  const dims = { ...given };
  const open = new Set<string>();
  for (const inp of graph.inputs) for (const d of inp.shape) for (const v of dimVars(d)) if (dims[v] === undefined) open.add(v);
  for (const v of open) {
    let x = fallback;
    for (const r of graph.requires ?? []) if (asVar(r.dim) === v) x = Math.ceil(x / r.divisor) * r.divisor;
    dims[v] = x;
  }
  return dims;
}

/** The divisibility the graph's shapes assume (split_heads, regions) must hold for the bound dims. */
export function checkRequires(graph: Graph, env: ReadonlyMap<string, number> | Record<string, number>): void {
  for (const r of graph.requires ?? []) {
    const v = evalDim(r.dim, env);
    if (v !== undefined && v % r.divisor !== 0)
      throw new InterpError(`${r.what} needs ${r.dim.toString()} = ${v} to be divisible by ${r.divisor}`);
  }
}

function bindDims(graph: Graph, inputs: Record<string, HostTensor>, given: Record<string, number>): { env: Map<string, number>; inputs: Map<string, HostTensor> } {
  const env = new Map<string, number>();
  const from = new Map<string, string>();
  for (const [k, v] of Object.entries(given)) {
    if (!Number.isInteger(v)) throw new InterpError(`opts.dims.${k} = ${v} is not an integer`);
    env.set(k, v);
    from.set(k, "opts.dims");
  }
  const names = graph.inputs.map((i) => i.arg.name);
  for (const k of Object.keys(inputs))
    if (!names.includes(k)) throw new InterpError(`unknown input '${k}'; the graph's inputs are ${names.map((n) => `'${n}'`).join(", ") || "none"}`);
  const mismatch = (node: Node<"input">, t: HostTensor, why: string) =>
    new InterpError(`input '${node.arg.name}': expected shape ${fmtSym(node.shape)}, got ${fmtShape(t.shape)}: ${why}`);
  for (const node of graph.inputs) {
    const name = node.arg.name;
    const t = inputs[name];
    if (!t) throw new InterpError(`missing input '${name}' (${node.dtype} ${fmtSym(node.shape)})`);
    if (t.dtype !== node.dtype) throw new InterpError(`input '${name}': expected dtype ${node.dtype}, got ${t.dtype}`);
    if (t.shape.length !== node.shape.length) throw mismatch(node, t, `rank ${t.shape.length} instead of ${node.shape.length}`);
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) throw mismatch(node, t, "not a valid shape");
    if (t.data.length !== numelOf(t.shape)) throw new InterpError(`input '${name}': ${t.data.length} values for shape ${fmtShape(t.shape)}`);
    for (let i = 0; i < t.data.length; i++)
      if (!validFor(t.dtype, t.data[i]!)) throw new InterpError(`input '${name}': value ${t.data[i]} at flat index ${i} is not a valid ${t.dtype}`);
    node.shape.forEach((d: Dim, k) => {
      const actual = t.shape[k]!;
      const v = asVar(d);
      if (v === undefined) return;
      const prev = env.get(v);
      if (prev !== undefined && prev !== actual) throw mismatch(node, t, `${v} = ${prev} (from ${from.get(v)}) but axis ${k} has ${actual}`);
      env.set(v, actual);
      from.set(v, `input '${name}'`);
    });
  }
  for (const node of graph.inputs) {
    const t = inputs[node.arg.name]!;
    node.shape.forEach((d: Dim, k) => {
      const want = evalDim(d, env);
      if (want === undefined) throw mismatch(node, t, `axis ${k} (${d.toString()}) does not determine its variables; pass them in opts.dims`);
      if (want !== t.shape[k]) throw mismatch(node, t, `axis ${k} is ${d.toString()} = ${want}, not ${t.shape[k]}`);
    });
  }
  // Rounded copies, so float inputs hold values of their dtype (and the caller's arrays are never aliased).
  const rounded = new Map<string, HostTensor>();
  for (const node of graph.inputs) {
    const t = inputs[node.arg.name]!;
    const data = Float64Array.from(t.data, (x) => roundTo(t.dtype, x));
    rounded.set(node.arg.name, { dtype: t.dtype, shape: [...t.shape], data });
  }
  return { env, inputs: rounded };
}

/** mulberry32: a small, well-mixed 32-bit PRNG; returns uniform doubles in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the text, mixed with the seed. */
function hashSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Deterministic pseudo-random inputs for `graph` with the given dim values: floats are standard
 * normal N(0, 1) (Box-Muller) rounded to their dtype, i32/u32 are uniform in [0, 4) (a safe
 * range whatever the use, e.g. indices into dims of size >= 4), bools are true with probability
 * 1/2. Each input draws from its own stream seeded by (seed, input name), so adding an input
 * does not change the others.
 */
export function randomInputs(graph: Graph, dims: Record<string, number>, seed = 0): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const node of graph.inputs) {
    const name = node.arg.name;
    const shape = node.shape.map((d) => {
      const v = evalDim(d, dims);
      if (v === undefined || v < 0) throw new InterpError(`randomInputs: dim '${d.toString()}' of input '${name}' has no valid value in dims`);
      return v;
    });
    const dt = node.dtype as DType;
    const rnd = mulberry32(hashSeed(seed, name));
    const data = new Float64Array(numelOf(shape));
    for (let i = 0; i < data.length; i++) {
      if (dt === "bool") data[i] = rnd() < 0.5 ? 1 : 0;
      else if (dt === "i32" || dt === "u32") data[i] = Math.floor(rnd() * 4);
      else {
        const u1 = 1 - rnd(); // (0, 1]
        const u2 = rnd();
        data[i] = roundTo(dt, Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
      }
    }
    out[name] = { dtype: dt, shape, data };
  }
  return out;
}

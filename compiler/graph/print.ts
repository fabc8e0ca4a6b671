/**
 * The textual form of the graph IR (parse.ts reads it back). One node per line, SSA style, in
 * toposort order; nodes are numbered by their position in the printed text (graph inputs first,
 * printed by name), so structurally equal graphs print identically whatever their build history.
 *
 *   graph tome(%x: f32[B, N, C], %w: f32[C, C]) -> (%12 as scores, %13) {
 *     %2 = matmul %x, %w : f32[B, N, C]
 *     %3 = compute %2 { $0[v0, v1, v2] * select(v1 == 0, 0.5, 1.0) } : f32[B, N, C]
 *     %4 = reduce %3 {fn = sum, axes = [2], keepdims = false} : f32[B, N]
 *     %5 = topk %4 {k = 4, axis = 1, largest = true} : (f32[B, 4], i32[B, 4])
 *     %6 = proj %5 {index = 0} : f32[B, 4]
 *     %7 = iterate %6 {n = T, loop = 0} : (f32[B, 4]) {
 *       %8 = loop_state {loop = 0, index = 0} : f32[B, 4]
 *       %9 = loop_index {loop = 0} : i32[]
 *       %10 = cast %9 : f32[]
 *       %11 = mul %8, %10 : f32[B, 4]
 *       yield %11
 *     }
 *     %12 = proj %7 {index = 0} : f32[B, 4]
 *     %13 = proj %5 {index = 1} : i32[B, 4]
 *   }
 *
 * Syntax
 * - `%name = op operands {attr = value, ...} : type`; types are `dtype[dims]` or, for tuple
 *   nodes, `(type, ...)`. Attributes follow the field order of OpArgs (ops.ts); fields that are
 *   undefined (and attention's empty `returns`) are left out. unary/binary nodes use their fn as
 *   the op name (`exp %1`, `add %1, %2`); `const 0.5` / `const [1, 2]`; `compute srcs { body }`.
 * - Dims print with printDim (`N - r + 1`, `(N / 2)`, `(N % 2)`, `min(a, b)`, `S*S`).
 * - Attribute values: integers and numbers (`nan`, `inf`, `-inf`, `-0.0` exact), `true`/`false`,
 *   enum words (`sum`), strings (JSON), dims, lists `[...]`, src positions `$3`, attention's
 *   `scale = auto` (null), `blocks = {src = $3, blockQ = 64, blockK = 64}`,
 *   `returns = [lse, probs($4), mass($5)]`.
 * - Scalar expressions (compute bodies, attention hooks): infix `+ - * / %` and comparisons
 *   `== != < <= > >=` with the usual precedence (left-associative); every other function is a
 *   call (`exp(x)`, `min(a, b)`, `and(a, b)`, `select(c, a, b)`, `cast<f16>(x)`, `dim(N - 1)`);
 *   `v3` index variables, `score`, loads `$0[v0, v1]`, reductions
 *   `sum[v2 < N, v3 < M | cond] { body }`. Literals: a plain integer is i32, a number with a dot
 *   or exponent (or nan/inf) is f32, `true`/`false` are bool; other dtypes are written `1:u32`.
 *   Any expression whose dtype differs from the one its parts imply carries `(expr):dtype`.
 * - iterate has a region `{ ... yield %a, %b }` holding the nodes that depend on its loop
 *   placeholders (loop_state/loop_index), each in the innermost such loop; loop-invariant nodes
 *   are printed before the iterate. Names are global (a region only groups lines), so a graph
 *   where a placeholder-dependent value escapes its loop still prints that value in the region.
 *   When regions cannot keep every definition before its uses (malformed graphs: a loop id
 *   shared by two iterate nodes, escapes that reorder definitions), the graph prints flat: every
 *   node at top level in toposort order, each region holding only its `yield`.
 * - Outputs: `-> (%5, %7 as lse)`; the name is left out when it is the builder's default
 *   (`out` for a single output, `out0`, `out1`… otherwise). `//` starts a comment.
 */
import { printDim, type Dim } from "./dim.ts";
import { isFloat, type DType } from "./dtype.ts";
import { fmtNum, type SExpr } from "./expr.ts";
import { children, toposort, type Graph } from "./node.ts";
import { COMPARE_FNS, REDUCE_FNS, type AttnReturn, type BinaryFn, type GOp, type Node, type OpArgs, type TensorType } from "./ops.ts";

// ── attribute schema (shared with parse.ts) ──────────────────────────────────────────────────

/** How an attribute value is written. An array is an enum of words. */
export type AttrKind =
  | "int"
  | "num"
  | "bool"
  | "str"
  | "dim"
  | "dims"
  | "ints"
  | "expr"
  | "src"
  | "scale"
  | "blocks"
  | "returns"
  | readonly string[];

export interface AttrSpec {
  readonly name: string;
  readonly kind: AttrKind;
  /** May be left out: undefined (or an empty list for `returns`). */
  readonly optional?: boolean;
}

const a = (name: string, kind: AttrKind, optional = false): AttrSpec => ({ name, kind, optional });

/**
 * The `{...}` attributes of each op, in OpArgs field order. unary/binary (fn is the op name),
 * const (values), compute (body) and iterate's body (its region) have their own syntax.
 */
export const ATTRS: { readonly [O in GOp]: readonly AttrSpec[] } = {
  input: [a("name", "str")],
  const: [],
  iota: [a("axis", "int")],
  unary: [],
  binary: [],
  where: [],
  cast: [],
  reshape: [],
  permute: [a("perm", "ints")],
  broadcast: [],
  slice: [a("starts", "dims"), a("steps", "ints")],
  concat: [a("axis", "int")],
  pad: [a("before", "dims"), a("after", "dims"), a("value", "num")],
  regions: [a("sh", "int"), a("sw", "int")],
  unregions: [a("sh", "int"), a("sw", "int")],
  reduce: [a("fn", REDUCE_FNS), a("axes", "ints"), a("keepdims", "bool")],
  argreduce: [a("fn", ["argmax", "argmin"]), a("axis", "int"), a("keepdims", "bool")],
  softmax: [a("axis", "int")],
  logsumexp: [a("axis", "int"), a("keepdims", "bool")],
  matmul: [],
  cumsum: [a("axis", "int"), a("exclusive", "bool"), a("reverse", "bool")],
  topk: [a("k", "dim"), a("axis", "int"), a("largest", "bool")],
  argsort: [a("axis", "int"), a("descending", "bool")],
  compact: [],
  gather: [a("axis", "int")],
  segment_reduce: [a("fn", ["sum", "mean", "max", "min"]), a("axis", "int"), a("num", "dim")],
  compute: [],
  dwconv2d: [a("hasBias", "bool")],
  layernorm: [a("eps", "num"), a("hasWeight", "bool"), a("hasBias", "bool")],
  rmsnorm: [a("eps", "num"), a("hasWeight", "bool")],
  l2normalize: [a("axis", "int"), a("eps", "num")],
  quantize: [a("bits", "int"), a("axis", "int")],
  dequantize: [a("bits", "int"), a("axis", "int"), a("n", "dim")],
  attention: [
    a("scale", "scale"),
    a("score", "expr", true),
    a("mask", "expr", true),
    a("bias", "src", true),
    a("valueScale", "src", true),
    a("blocks", "blocks", true),
    a("returns", "returns", true),
  ],
  iterate: [a("n", "dim"), a("loop", "int")],
  loop_state: [a("loop", "int"), a("index", "int")],
  loop_index: [a("loop", "int")],
  proj: [a("index", "int")],
};

/** The fields of attention's `blocks = {...}`. */
export const BLOCK_ATTRS: readonly AttrSpec[] = [a("src", "src"), a("blockQ", "dim"), a("blockK", "dim")];

export const GOPS: readonly GOp[] = Object.keys(ATTRS) as GOp[];

/** The default name of output i of n (GraphBuilder.finish). */
export const defaultOutputName = (i: number, n: number): string => (n === 1 ? "out" : `out${i}`);

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A name as written in the text: bare when it is an identifier, else a JSON string. */
export const fmtName = (s: string): string => (IDENT.test(s) ? s : JSON.stringify(s));

// ── types ───────────────────────────────────────────────────────────────────────────────────

const tensorType = (t: TensorType): string => `${t.dtype}[${t.shape.map(printDim).join(", ")}]`;

/** `f32[B, N]`; for a node, its type, or `(f32[B, 4], i32[B, 4])` when it is a tuple. */
export function printType(t: TensorType | Node): string {
  if ("op" in t) return t.dtype === "tuple" ? `(${t.types.map(tensorType).join(", ")})` : tensorType(t.types[0] ?? { dtype: t.dtype as DType, shape: t.shape });
  return tensorType(t);
}

// ── scalar expressions ──────────────────────────────────────────────────────────────────────

/** Dtypes of a node's src list as seen by loads (undefined for tuples). */
export const srcDTypes = (n: Node): (DType | undefined)[] => n.src.map((s) => (s.dtype === "tuple" ? undefined : s.dtype));

/**
 * The dtype an expression gets from its parts when the text does not say (the GraphBuilder's
 * rules); undefined for a load of a missing or tuple operand. Consts are typed by their literal.
 */
export function impliedDType(e: SExpr, srcT: readonly (DType | undefined)[]): DType | undefined {
  switch (e.k) {
    case "var":
    case "dim":
      return "i32";
    case "score":
      return "f32";
    case "const":
    case "cast":
      return e.dtype;
    case "load":
      return srcT[e.src];
    case "unary":
      return e.fn === "isnan" ? "bool" : e.a.dtype;
    case "binary":
      return COMPARE_FNS.has(e.fn) ? "bool" : e.a.dtype;
    case "select":
      return e.a.dtype;
    case "reduce":
      return e.fn === "argmax" || e.fn === "argmin" ? "i32" : e.fn === "mean" && !isFloat(e.body.dtype) ? "f32" : e.body.dtype;
  }
}

/** Infix binary functions and their precedence (higher binds tighter). */
export const INFIX: Partial<Record<BinaryFn, { readonly sym: string; readonly prec: number }>> = {
  eq: { sym: "==", prec: 1 },
  ne: { sym: "!=", prec: 1 },
  lt: { sym: "<", prec: 1 },
  le: { sym: "<=", prec: 1 },
  gt: { sym: ">", prec: 1 },
  ge: { sym: ">=", prec: 1 },
  add: { sym: "+", prec: 2 },
  sub: { sym: "-", prec: 2 },
  mul: { sym: "*", prec: 3 },
  div: { sym: "/", prec: 3 },
  mod: { sym: "%", prec: 3 },
};
const PRIMARY = 4;

/** A literal that parses back to exactly this value and dtype. */
function constText(v: number, dt: DType): string {
  if (dt === "bool" && (Object.is(v, 0) || v === 1)) return v ? "true" : "false";
  const t = fmtNum(v);
  if (dt === "i32" && /^-?\d+$/.test(t)) return t;
  if (dt === "f32") return /[.e]|nan|inf/.test(t) ? t : `${t}.0`;
  return `${t}:${dt}`;
}

/** Prints a compute body or attention hook; srcT gives the dtypes of the node's operands ($i). */
export function printExpr(e: SExpr, srcT: readonly (DType | undefined)[] = []): string {
  // expressions are immutable and passes keep untouched bodies, so the text is memoized per
  // expression and operand dtypes (the only context the text depends on)
  const sig = srcT.join(",");
  let bySig = printed.get(e);
  if (!bySig) printed.set(e, (bySig = new Map()));
  let s = bySig.get(sig);
  if (s === undefined) bySig.set(sig, (s = pe(e, srcT).s));
  return s;
}

const printed = new WeakMap<SExpr, Map<string, string>>();

function pe(e: SExpr, srcT: readonly (DType | undefined)[]): { s: string; prec: number } {
  if (e.k === "const") return { s: constText(e.value, e.dtype), prec: PRIMARY };
  const r = peRaw(e, srcT);
  if (impliedDType(e, srcT) === e.dtype) return r;
  return { s: `${r.prec === PRIMARY ? r.s : `(${r.s})`}:${e.dtype}`, prec: PRIMARY };
}

function peRaw(e: SExpr, srcT: readonly (DType | undefined)[]): { s: string; prec: number } {
  const p = (x: SExpr) => pe(x, srcT).s;
  switch (e.k) {
    case "var":
      return { s: `v${e.id}`, prec: PRIMARY };
    case "score":
      return { s: "score", prec: PRIMARY };
    case "const":
      return { s: constText(e.value, e.dtype), prec: PRIMARY };
    case "dim":
      return { s: `dim(${printDim(e.dim)})`, prec: PRIMARY };
    case "load":
      return { s: `$${e.src}[${e.idx.map(p).join(", ")}]`, prec: PRIMARY };
    case "unary":
      return { s: `${e.fn}(${p(e.a)})`, prec: PRIMARY };
    case "binary": {
      const inf = INFIX[e.fn];
      if (!inf) return { s: `${e.fn}(${p(e.a)}, ${p(e.b)})`, prec: PRIMARY };
      const l = pe(e.a, srcT);
      const r = pe(e.b, srcT);
      // Left-associative; comparisons never chain without parentheses.
      const ls = l.prec < inf.prec || (inf.prec === 1 && l.prec === 1) ? `(${l.s})` : l.s;
      const rs = r.prec <= inf.prec ? `(${r.s})` : r.s;
      return { s: `${ls} ${inf.sym} ${rs}`, prec: inf.prec };
    }
    case "select":
      return { s: `select(${p(e.c)}, ${p(e.a)}, ${p(e.b)})`, prec: PRIMARY };
    case "cast":
      return { s: `cast<${e.dtype}>(${p(e.a)})`, prec: PRIMARY };
    case "reduce": {
      const vars = e.vars.map((v) => `v${v.id} < ${printDim(v.extent)}`).join(", ");
      const cond = e.cond ? ` | ${p(e.cond)}` : "";
      return { s: `${e.fn}[${vars}${cond}] { ${p(e.body)} }`, prec: PRIMARY };
    }
  }
}

// ── nodes ───────────────────────────────────────────────────────────────────────────────────

function attrValue(kind: AttrKind, v: unknown, srcT: readonly (DType | undefined)[]): string {
  if (Array.isArray(kind)) return String(v);
  switch (kind) {
    case "int":
    case "num":
      return fmtNum(v as number);
    case "bool":
      return v ? "true" : "false";
    case "str":
      return JSON.stringify(v);
    case "dim":
      return printDim(v as Dim);
    case "dims":
      return `[${(v as readonly Dim[]).map(printDim).join(", ")}]`;
    case "ints":
      return `[${(v as readonly number[]).map(fmtNum).join(", ")}]`;
    case "expr":
      return printExpr(v as SExpr, srcT);
    case "src":
      return `$${fmtNum(v as number)}`;
    case "scale":
      return v === null ? "auto" : fmtNum(v as number);
    case "blocks":
      return `{${attrList(BLOCK_ATTRS, v as Record<string, unknown>, srcT)}}`;
    case "returns":
      return `[${(v as readonly AttnReturn[])
        .map((r) => (r.kind === "lse" ? "lse" : r.kind === "probs" ? `probs($${fmtNum(r.rows)})` : `mass($${fmtNum(r.keys)})`))
        .join(", ")}]`;
  }
  return String(v);
}

function attrList(specs: readonly AttrSpec[], arg: Record<string, unknown>, srcT: readonly (DType | undefined)[]): string {
  const parts: string[] = [];
  for (const s of specs) {
    const v = arg[s.name];
    if (s.optional && (v === undefined || (s.kind === "returns" && Array.isArray(v) && v.length === 0))) continue;
    parts.push(`${s.name} = ${attrValue(s.kind, v, srcT)}`);
  }
  return parts.join(", ");
}

/** `op operands {attrs}` of a node (no name, no type). */
function opText(n: Node, ref: (m: Node) => string): string {
  const srcs = n.src.map(ref).join(", ");
  const withSrc = (head: string) => (srcs ? `${head} ${srcs}` : head);
  switch (n.op) {
    case "unary":
    case "binary":
      return withSrc((n.arg as OpArgs["unary"] | OpArgs["binary"]).fn);
    case "const": {
      const vals = (n.arg as OpArgs["const"]).values;
      const scalar = n.dtype !== "tuple" && n.shape.length === 0 && vals.length === 1;
      return `const ${scalar ? fmtNum(vals[0]!) : `[${vals.map(fmtNum).join(", ")}]`}`;
    }
    case "compute":
      return `${withSrc("compute")} { ${printExpr((n.arg as OpArgs["compute"]).body, srcDTypes(n))} }`;
    default: {
      const attrs = attrList(ATTRS[n.op], n.arg as unknown as Record<string, unknown>, srcDTypes(n));
      return attrs ? `${withSrc(n.op)} {${attrs}}` : withSrc(n.op);
    }
  }
}

const defaultRef = (m: Node): string => (m.op === "input" ? `%${fmtName((m.arg as OpArgs["input"]).name)}` : `%${m.id}`);

/**
 * One node as a line, for messages: operands are named by `ref` (default: inputs by name, other
 * nodes by their internal id). An iterate node shows its body as `{ yield ... }`.
 */
export function printNode(n: Node, ref: (m: Node) => string = defaultRef): string {
  const line = `${ref(n)} = ${opText(n, ref)} : ${printType(n)}`;
  if (n.op !== "iterate") return line;
  const body = (n.arg as OpArgs["iterate"]).body;
  return `${line} { yield${body.length ? " " + body.map(ref).join(", ") : ""} }`;
}

// ── graphs ──────────────────────────────────────────────────────────────────────────────────

interface Item {
  readonly node: Node;
  /** The nodes printed inside an iterate's region. */
  readonly region: readonly Item[];
}

class Flat extends Error {}

/**
 * Nodes inside iterate regions: a node goes in the region of the innermost loop whose
 * placeholders it depends on. Undefined when that does not give a well-formed nesting (a loop id
 * shared by two iterate nodes, placeholders escaping their loop); the caller then prints flat.
 */
function nestedLayout(order: readonly Node[], header: ReadonlySet<Node>): Item[] | undefined {
  const free = new Map<Node, Set<number>>();
  const iterOf = new Map<number, Node>();
  for (const n of order) {
    let s: Set<number>;
    if (n.op === "loop_state" || n.op === "loop_index") s = new Set([(n.arg as OpArgs["loop_index"]).loop]);
    else {
      s = new Set();
      for (const c of children(n)) for (const l of free.get(c)!) s.add(l);
    }
    if (n.op === "iterate") {
      const loop = (n.arg as OpArgs["iterate"]).loop;
      s.delete(loop);
      if (iterOf.has(loop)) return undefined;
      iterOf.set(loop, n);
    }
    free.set(n, s);
  }
  const parent = new Map<number, number | undefined>();
  const depth = new Map<number, number>();
  const visiting = new Set<number>();
  const depthOf = (l: number): number => {
    const d = depth.get(l);
    if (d !== undefined) return d;
    if (visiting.has(l)) throw new Flat();
    visiting.add(l);
    const p = innermost(free.get(iterOf.get(l)!)!);
    parent.set(l, p);
    const r = p === undefined ? 1 : depthOf(p) + 1;
    depth.set(l, r);
    return r;
  };
  const innermost = (s: ReadonlySet<number>): number | undefined => {
    const ls = [...s].filter((l) => iterOf.has(l));
    if (ls.length === 0) return undefined;
    let best = ls[0]!;
    for (const l of ls) if (depthOf(l) > depthOf(best)) best = l;
    // every other loop must enclose the innermost one
    const anc = new Set<number>();
    for (let x = parent.get(best); x !== undefined; x = parent.get(x)) anc.add(x);
    for (const l of ls) if (l !== best && !anc.has(l)) throw new Flat();
    return best;
  };
  const regions = new Map<number | "top", Node[]>();
  try {
    for (const n of order) {
      if (header.has(n)) continue;
      const key = innermost(free.get(n)!) ?? "top";
      let list = regions.get(key);
      if (!list) regions.set(key, (list = []));
      list.push(n);
    }
  } catch (e) {
    if (e instanceof Flat) return undefined;
    throw e;
  }
  let placed = 0;
  const build = (key: number | "top"): Item[] =>
    (regions.get(key) ?? []).map((node) => {
      placed++;
      return { node, region: node.op === "iterate" ? build((node.arg as OpArgs["iterate"]).loop) : [] };
    });
  const items = build("top");
  if (placed !== order.length - [...order].filter((n) => header.has(n)).length) return undefined;
  // every operand printed before its use (an iterate counts as defined after its region)
  const defined = new Set<Node>(header);
  const ok = (xs: readonly Item[]): boolean =>
    xs.every((it) => {
      if (!it.node.src.every((s) => defined.has(s))) return false;
      if (it.node.op === "iterate") {
        if (!ok(it.region)) return false;
        if (!(it.node.arg as OpArgs["iterate"]).body.every((s) => defined.has(s))) return false;
      }
      defined.add(it.node);
      return true;
    });
  return ok(items) ? items : undefined;
}

/** The graph as text (see the module comment); ends with a newline. */
export function printGraph(g: Graph): string {
  const order = toposort(g.outputs);
  const header = new Set<Node>(g.inputs);
  const layout = nestedLayout(order, header) ?? order.filter((n) => !header.has(n)).map((node) => ({ node, region: [] }));
  const names = new Map<Node, string>();
  g.inputs.forEach((n) => names.set(n, `%${fmtName(n.arg.name)}`));
  let next = g.inputs.length;
  const number = (xs: readonly Item[]) =>
    xs.forEach((it) => {
      names.set(it.node, `%${next++}`);
      number(it.region);
    });
  number(layout);
  const ref = (m: Node): string => names.get(m) ?? `%?${m.id}`;
  const lines: string[] = [];
  const outs = g.outputs.map((o, i) => {
    const nm = g.outputNames[i] ?? defaultOutputName(i, g.outputs.length);
    return nm === defaultOutputName(i, g.outputs.length) ? ref(o) : `${ref(o)} as ${fmtName(nm)}`;
  });
  const params = g.inputs.map((n) => `${ref(n)}: ${printType(n)}`);
  lines.push(`graph ${fmtName(g.name)}(${params.join(", ")}) -> (${outs.join(", ")}) {`);
  const emit = (xs: readonly Item[], ind: string) => {
    for (const { node, region } of xs) {
      const line = `${ind}${ref(node)} = ${opText(node, ref)} : ${printType(node)}`;
      if (node.op !== "iterate") {
        lines.push(line);
        continue;
      }
      lines.push(`${line} {`);
      emit(region, ind + "  ");
      const body = (node.arg as OpArgs["iterate"]).body;
      lines.push(`${ind}  yield${body.length ? " " + body.map(ref).join(", ") : ""}`);
      lines.push(`${ind}}`);
    }
  };
  emit(layout, "  ");
  lines.push("}");
  return lines.join("\n") + "\n";
}

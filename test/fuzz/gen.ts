/**
 * Program sources for the compiler fuzz test: a corpus of real programs (examples, std, the
 * diagnostics cases, the CLI fixtures), token-level mutations of them, and a grammar-based
 * generator of syntactically valid, semantically random programs that use the builtins.
 * Everything is driven by a seeded PRNG so runs are reproducible.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

// ── PRNG ───────────────────────────────────────────────────────────────────────────────────

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** [0, 1) (mulberry32). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ── corpus ─────────────────────────────────────────────────────────────────────────────────

export interface Source {
  /** Path relative to the repository root (used as the compile path). */
  readonly path: string;
  readonly text: string;
}

function attnFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...attnFiles(p));
    else if (f.endsWith(".attn")) out.push(p);
  }
  return out;
}

/** Every .attn program of the repository that the fuzzer starts from. */
export function corpus(): Source[] {
  const dirs = ["examples", "dsl/std", "test/diagnostics/cases", "test/cli/fixtures"];
  return dirs.flatMap((d) => attnFiles(join(ROOT, d))).map((p) => ({ path: relative(ROOT, p).split("\\").join("/"), text: readFileSync(p, "utf8") }));
}

// ── tokens and mutations ───────────────────────────────────────────────────────────────────

const TOKEN = /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"?|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|[A-Za-z_][A-Za-z0-9_]*|\^T|->|=>|\.\.\.|\*\*|==|!=|<=|>=|&&|\|\||[^\s]/g;

export function tokens(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

const isTrivia = (t: string) => /^\s/.test(t) || t.startsWith("//") || t.startsWith("/*");
const isIdent = (t: string) => /^[A-Za-z_]/.test(t);
const isNumber = (t: string) => /^(\d|\.\d)/.test(t);
const BRACKETS = new Set(["(", ")", "[", "]", "{", "}"]);

export const BUILTINS = [
  "exp", "log", "sqrt", "rsqrt", "abs", "sin", "tanh", "sigmoid", "relu", "gelu", "floor", "ceil", "round", "isnan", "silu",
  "pow", "atan2", "min", "max", "clamp", "where", "cast", "elu", "int", "float", "sum", "mean", "prod", "any", "all", "argmax",
  "argmin", "softmax", "log_softmax", "logsumexp", "norm", "normalize", "layernorm", "rmsnorm", "reshape", "permute", "unsqueeze",
  "squeeze", "broadcast_to", "concat", "split", "pad", "regions", "unregions", "split_heads", "merge_heads", "arange", "zeros",
  "ones", "full", "tensor", "matmul", "einsum", "topk", "argsort", "sort", "gather", "take_along", "compact", "cumsum",
  "segment_sum", "segment_mean", "segment_max", "segment_min", "dwconv2d", "quantize", "dequant", "attention", "iterate",
];
const WORDS = [
  ...BUILTINS, "f32", "f16", "bf16", "i32", "u32", "bool", "int", "float", "tensor", "None", "lse", "probs", "mass", "rows", "keys",
  "axis", "keepdims", "mask", "score", "returns", "blocks", "block_q", "block_k", "scale", "bias", "value_scale", "descending",
  "largest", "exclusive", "dtype", "values", "indices", "count", "graph", "fn", "let", "return", "param", "import", "from",
  "true", "false", "inf", "nan", "B", "N", "H", "D", "C", "x", "y", "q", "k", "v", "i", "j", "b", "h", "c", "r",
];
const NUMBERS = ["0", "-1", "1", "2", "3", "-7", "64", "0.5", "1e-6", "1e30", "2147483647", "2147483648", "4294967296", "99999999999999999999", "1e308", "0.0", "-0", "3.5"];
const PUNCT = ["(", ")", "[", "]", "{", "}", ",", ":", "=", "=>", "->", "|", "+", "-", "*", "/", "%", "**", "@", "^T", "==", "<", "<=", "&&", "!", "?", ".", "...", ";", "\n"];

/** Applies 1–3 random token-level mutations. */
export function mutate(text: string, rng: Rng, extraNames: readonly string[] = []): string {
  const toks = tokens(text);
  const idx = () => {
    // a random non-trivia token
    for (let tries = 0; tries < 20; tries++) {
      const i = rng.int(toks.length);
      if (!isTrivia(toks[i]!)) return i;
    }
    return rng.int(toks.length);
  };
  const names = [...new Set([...toks.filter(isIdent), ...extraNames, ...WORDS])];
  const n = rng.range(1, 3);
  for (let m = 0; m < n && toks.length > 0; m++) {
    const i = idx();
    const t = toks[i]!;
    switch (rng.int(9)) {
      case 0: // delete
        toks.splice(i, 1);
        break;
      case 1: // duplicate
        toks.splice(i, 0, t);
        break;
      case 2: {
        // swap with the next non-trivia token
        let j = i + 1;
        while (j < toks.length && isTrivia(toks[j]!)) j++;
        if (j < toks.length) [toks[i], toks[j]] = [toks[j]!, t];
        break;
      }
      case 3: // replace an identifier by another identifier
      case 4: {
        const k = toks.findIndex((x, p) => p >= i && isIdent(x));
        if (k >= 0) toks[k] = rng.pick(names);
        break;
      }
      case 5: {
        // change a number
        const k = toks.findIndex((x, p) => p >= i && isNumber(x));
        if (k >= 0) toks[k] = rng.pick(NUMBERS);
        else toks.splice(i, 0, rng.pick(NUMBERS));
        break;
      }
      case 6: {
        // drop a bracket
        const k = toks.findIndex((x, p) => p >= i && BRACKETS.has(x));
        if (k >= 0) toks.splice(k, 1);
        break;
      }
      case 7: // insert a random token
        toks.splice(i, 0, rng.chance(0.5) ? ` ${rng.pick(names)} ` : rng.pick(PUNCT));
        break;
      case 8: {
        // copy a random span of tokens elsewhere (duplicates statements, arguments…)
        const a = rng.int(toks.length);
        const len = rng.range(1, 12);
        toks.splice(idx(), 0, ...toks.slice(a, a + len));
        break;
      }
    }
  }
  return toks.join("");
}

// ── grammar-based generation ───────────────────────────────────────────────────────────────

type Kind = "float" | "int" | "bool";
interface Var {
  name: string;
  rank: number;
  kind: Kind;
}

const DIM_NAMES = ["B", "N", "H", "D", "C", "M"];
const FLOAT_UNARY = ["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "gelu", "silu", "floor", "round", "sin", "rsqrt"];
const REDUCERS = ["sum", "mean", "max", "min", "prod"];

/**
 * A random program: params, optionally a fn, and a graph whose inputs have random dtypes and
 * shapes and whose body chains random builtin calls, operators, index notation, reductions,
 * attention with hooks, topk/iterate/split destructuring and slicing. It parses; whether it
 * type-checks is up to chance (mostly not — that exercises the checker's error paths).
 */
export function generate(rng: Rng): string {
  const lines: string[] = [];
  const params: string[] = [];
  if (rng.chance(0.5)) {
    const p = rng.pick(["r", "k", "w", "heads"]);
    params.push(p);
    lines.push(`param ${p}: int = ${rng.pick(["1", "2", "4", "8", "0", "-1", "16"])}`);
  }
  if (rng.chance(0.3)) lines.push(`param eps: float = ${rng.pick(["1e-6", "0.5", "0"])}`);
  const dimExpr = (): string => {
    const r = rng.int(20);
    if (r < 14) return rng.pick(DIM_NAMES.slice(0, 5));
    if (r < 18) return rng.pick(["1", "2", "4", "8", "16"]);
    if (r < 19 && params.length) return `${rng.pick(DIM_NAMES.slice(0, 5))} - ${rng.pick(params)}`;
    return rng.pick([`${rng.pick(DIM_NAMES)} * 2`, `${rng.pick(DIM_NAMES)} / 2`, `ceil(N / 3)`, `max(N, 4)`, "M"]);
  };
  const type = (rank: number, kind: Kind): string => {
    const dt = kind === "float" ? rng.pick(["f32", "f32", "f16", "bf16"]) : kind === "int" ? rng.pick(["i32", "i32", "u32"]) : "bool";
    return `${dt}[${Array.from({ length: rank }, dimExpr).join(", ")}]`;
  };
  const vars: Var[] = [];
  const inputs: string[] = [];
  const nIn = rng.range(1, 4);
  for (let i = 0; i < nIn; i++) {
    const kind: Kind = rng.chance(0.75) ? "float" : rng.chance(0.6) ? "int" : "bool";
    const rank = rng.range(0, 4);
    const name = ["x", "y", "z", "w"][i]!;
    inputs.push(`${name}: ${type(rank, kind)}`);
    vars.push({ name, rank, kind });
  }
  const pickVar = (pred?: (v: Var) => boolean): Var => {
    const c = pred ? vars.filter(pred) : vars;
    return rng.pick(c.length ? c : vars);
  };
  const num = () => rng.pick(["0", "1", "2", "-1", "0.5", "1e-6", "3", "inf", "-inf"]);
  const axis = () => rng.pick(["-1", "0", "1", "-2", "2", "3"]);
  let fresh = 0;
  const expr = (depth: number): { src: string; v?: Partial<Var> } => {
    const a = pickVar();
    const b = pickVar();
    if (depth > 2) return { src: rng.chance(0.8) ? a.name : num(), v: a };
    const sub = () => expr(depth + 1).src;
    switch (rng.int(22)) {
      case 0: return { src: `${a.name} ${rng.pick(["+", "-", "*", "/", "%", "**"])} ${rng.chance(0.7) ? b.name : num()}`, v: a };
      case 1: return { src: `${a.name} ${rng.pick(["<", "<=", "==", "!=", ">"])} ${rng.chance(0.5) ? b.name : num()}`, v: { ...a, kind: "bool" } };
      case 2: return { src: `${a.name} @ ${rng.chance(0.5) ? `${b.name}^T` : b.name}`, v: a };
      case 3: return { src: `${rng.pick(FLOAT_UNARY)}(${sub()})`, v: a };
      case 4: return { src: `${rng.pick(REDUCERS)}(${a.name}${rng.chance(0.7) ? `, axis: ${axis()}` : ""}${rng.chance(0.3) ? ", keepdims: true" : ""})`, v: { ...a, rank: Math.max(0, a.rank - 1) } };
      case 5: return { src: `${rng.pick(["softmax", "log_softmax", "normalize", "cumsum", "argsort", "sort"])}(${a.name}, axis: ${axis()})`, v: a };
      case 6: return { src: `${rng.pick(["argmax", "argmin", "logsumexp", "norm"])}(${a.name}, axis: ${axis()})`, v: { ...a, rank: Math.max(0, a.rank - 1) } };
      case 7: return { src: `where(${a.name} > 0, ${b.name}, ${num()})`, v: b };
      case 8: return { src: `cast(${a.name}, ${rng.pick(["f32", "i32", "u32", "bool", "f16", "bf16"])})`, v: a };
      case 9: return { src: `reshape(${a.name}, [${rng.pick(["-1", "B, -1", "N, C", "2, -1, 4", "B * N, C", "0"])}])`, v: a };
      case 10: return { src: `permute(${a.name}, [${rng.pick(["1, 0", "0, 2, 1", "2, 1, 0", "3, 2, 1, 0", "0, 0"])}])`, v: a };
      case 11: return { src: `${rng.pick(["unsqueeze", "squeeze"])}(${a.name}, ${axis()})`, v: a };
      case 12: return { src: `${a.name}[${rng.pick([":, 1:", "0", "::2", "-1, ...", "..., None", ":, :-1, 0", "1:3:-1", ":, ::0", "i"])}]`, v: a };
      case 13: return { src: `concat([${a.name}, ${b.name}], axis: ${axis()})`, v: a };
      case 14: return { src: `${rng.pick(["zeros", "ones"])}([${Array.from({ length: rng.range(0, 3) }, dimExpr).join(", ")}]${rng.chance(0.3) ? `, dtype: ${rng.pick(["i32", "bool", "f16"])}` : ""})`, v: { kind: "float", rank: 2 } };
      case 15: return { src: `gather(${a.name}, ${b.name}, ${rng.pick(["0", "1", "-1"])})`, v: a };
      case 16: return { src: `clamp(${a.name}, ${num()}, ${num()})`, v: a };
      case 17: return { src: `${rng.pick(["split_heads", "merge_heads"])}(${a.name}${rng.chance(0.6) ? `, ${rng.pick(["2", "4", "3", "0"])}` : ""})`, v: a };
      case 18: return { src: `layernorm(${a.name}${rng.chance(0.5) ? `, ${b.name}` : ""})`, v: a };
      case 19: return { src: `einsum("${rng.pick(["ij,jk->ik", "bnc,cd->bnd", "ii->i", "ab->ba", "a,a->", "ij->k"])}", ${a.name}${rng.chance(0.6) ? `, ${b.name}` : ""})`, v: a };
      case 20: return { src: `${a.name} ? ${b.name} : ${num()}`, v: b };
      default: return { src: `(${sub()}) ${rng.pick(["+", "*", "-"])} (${sub()})`, v: a };
    }
  };
  const idxNames = ["b", "i", "j", "c"];
  const indexLet = (): string => {
    const a = pickVar((v) => v.rank > 0);
    if (a.rank === 0) return `  let s${++fresh} = ${a.name} + 1`;
    const r = Math.max(1, a.rank);
    const lhs = idxNames.slice(0, Math.min(r, rng.range(1, 3)));
    const withExtent = lhs.map((n) => (rng.chance(0.15) ? `${n}: ${dimExpr()}` : n));
    const subs = Array.from({ length: a.rank }, (_, k) => (k < lhs.length ? lhs[k]! : rng.pick(["k", "0", "k + 1", lhs[0]!, "m"])));
    const red = subs.some((s) => s.startsWith("k")) ? `${rng.pick(["sum", "max", "mean", "argmax", "any"])}(k${rng.chance(0.2) ? ` | k <= ${lhs[0]}` : ""}) ` : "";
    const body = `${red}${a.name}[${subs.join(", ")}]${rng.chance(0.4) ? ` * ${rng.pick(["2.0", lhs[0]!, "(i == j ? 1.0 : 0.0)", "true"])}` : ""}`;
    fresh++;
    const name = `t${fresh}`;
    vars.push({ name, rank: lhs.length, kind: a.kind });
    return `  let ${name}[${withExtent.join(", ")}] = ${body}`;
  };
  const special = (): string => {
    const a = pickVar();
    fresh++;
    switch (rng.int(6)) {
      case 0: {
        const o = `o${fresh}`;
        vars.push({ name: o, rank: a.rank, kind: "float" });
        const q = a.name;
        const nb = Math.max(0, a.rank - 2);
        const idx = [...["b", "h", "g"].slice(0, rng.chance(0.8) ? nb : nb + 1), "i", "j"].join(", ");
        const hooks = [
          rng.chance(0.5) ? `mask: (${idx}) => ${rng.pick(["j <= i", "i - j < 4", "j", "true", "x[i] > 0"])}` : "",
          rng.chance(0.3) ? `score: (s, ${idx}) => ${rng.pick(["s * 2.0", "s - (i - j)", "s + 1", "i"])}` : "",
          rng.chance(0.2) ? `returns: [${rng.pick(["lse", "probs(rows: [0])", "mass(keys: x > 0)", "lse, lse", "nope"])}]` : "",
          rng.chance(0.15) ? `scale: ${rng.pick(["0.5", "2", "x"])}` : "",
        ].filter(Boolean);
        return `  let ${o} = attention(${q}, ${pickVar().name}, ${pickVar().name}${hooks.map((h) => `, ${h}`).join("")})`;
      }
      case 1: {
        vars.push({ name: `vals${fresh}`, rank: a.rank, kind: a.kind }, { name: `ids${fresh}`, rank: a.rank, kind: "int" });
        return `  let (vals${fresh}, ids${fresh}) = topk(${a.name}, ${rng.pick(["1", "2", "k", "r", "N", "0", "-1", "100"])}${rng.chance(0.5) ? `, axis: ${axis()}` : ""})`;
      }
      case 2: {
        vars.push({ name: `it${fresh}`, rank: a.rank, kind: a.kind });
        const step = rng.pick(["(s) => s * 0.5", "(s, t) => s + 1.0", "(s) => sum(s, axis: -1)", "(s, t) => cast(s, i32)", "(s, t, u) => s", "(s) => { let s2 = s * s; return s2 }"]);
        return `  let it${fresh} = iterate(${rng.pick(["3", "0", "k", "-1"])}, ${a.name}, ${step})`;
      }
      case 3: {
        vars.push({ name: `p${fresh}`, rank: a.rank, kind: a.kind }, { name: `q${fresh}`, rank: a.rank, kind: a.kind });
        return `  let (p${fresh}, q${fresh}) = split(${a.name}, ${rng.pick(["2", "[1, 1]", "3", "[N, 0]"])}, axis: ${axis()})`;
      }
      case 4: {
        vars.push({ name: `c${fresh}`, rank: Math.max(0, a.rank - 1), kind: "int" });
        return `  let (c${fresh}, n${fresh}) = compact(${a.name}${rng.chance(0.5) ? " > 0" : ""})`;
      }
      default: {
        vars.push({ name: `u${fresh}`, rank: a.rank, kind: "int" });
        return `  let (u${fresh}, sc${fresh}, z${fresh}) = quantize(${a.name}, ${rng.pick(["2", "4", "8", "5", "3"])})`;
      }
    }
  };
  const body: string[] = [];
  const nStmts = rng.range(1, 6);
  for (let s = 0; s < nStmts; s++) {
    const r = rng.int(10);
    if (r < 5) {
      const e = expr(0);
      fresh++;
      const name = `v${fresh}`;
      body.push(`  let ${name} = ${e.src}`);
      vars.push({ name, rank: e.v?.rank ?? 1, kind: e.v?.kind ?? "float" });
    } else if (r < 8) body.push(indexLet());
    else body.push(special());
  }
  const ret = vars[vars.length - 1]!;
  const nRet = rng.chance(0.15) ? 2 : 1;
  const retTypes = Array.from({ length: nRet }, () => (rng.chance(0.5) ? type(ret.rank, ret.kind) : type(rng.range(0, 3), rng.pick(["float", "int", "bool"] as Kind[]))));
  const retVals = nRet === 1 ? ret.name : `${ret.name}, ${pickVar().name}`;
  let fnDecl = "";
  if (rng.chance(0.3)) {
    fnDecl = `fn helper(a: ${rng.pick(["float", "tensor", "f32", "i32"])}[${rng.pick(["N", "B, N", "N, N", "B, N, C"])}], s: ${rng.pick(["int", "float", "bool"])} = ${rng.pick(["1", "2.0", "true"])}) -> ${rng.pick(["float", "tensor", "f32"])}[${rng.pick(["N", "B, N", "N, N", "B, N, C"])}] {\n  return a * ${rng.pick(["2.0", "s", "a"])}\n}\n`;
    body.push(`  let hv = helper(${pickVar().name}${rng.chance(0.4) ? `, s: ${rng.pick(["3", "1.5", "false", "x"])}` : ""})`);
    vars.push({ name: "hv", rank: 2, kind: "float" });
  }
  const retTy = nRet === 1 ? retTypes[0]! : `(${retTypes.join(", ")})`;
  return `${lines.join("\n")}\n${fnDecl}graph g(${inputs.join(", ")}) -> ${retTy} {\n${body.join("\n")}\n  return ${retVals}\n}\n`;
}

// ── random builtin calls ───────────────────────────────────────────────────────────────────

/**
 * The builtins' parameters (dsl/BUILTINS.md) with the kind of value each expects:
 * T tensor, I compile-time int, F number, B bool, D dtype, L int list, X tensor list, S string,
 * H hook lambda, P iterate step, R attention returns list.
 */
const SIG: Record<string, string> = {
  exp: "x:T", log: "x:T", sqrt: "x:T", abs: "x:T", tanh: "x:T", sigmoid: "x:T", relu: "x:T", gelu: "x:T", floor: "x:T", ceil: "x:T",
  round: "x:T", isnan: "x:T", silu: "x:T", pow: "a:T b:T", atan2: "a:T b:T", clamp: "x:T lo:F hi:F", where: "cond:T a:T b:T",
  cast: "x:T dtype:D", elu: "x:T alpha:F", int: "x:F", float: "x:I", sum: "x:T b:T axis:I keepdims:B", mean: "x:T b:T axis:I keepdims:B",
  max: "x:T b:T axis:I keepdims:B", min: "x:T b:T axis:I keepdims:B", prod: "x:T b:T axis:L keepdims:B", any: "x:T b:T axis:I keepdims:B",
  all: "x:T b:T axis:L keepdims:B", argmax: "x:T axis:I keepdims:B", argmin: "x:T axis:I keepdims:B", softmax: "x:T axis:I",
  log_softmax: "x:T axis:I", logsumexp: "x:T axis:I keepdims:B", norm: "x:T axis:I keepdims:B", normalize: "x:T axis:I eps:F",
  layernorm: "x:T weight:T bias:T eps:F", rmsnorm: "x:T weight:T eps:F", reshape: "x:T shape:L", permute: "x:T axes:L",
  unsqueeze: "x:T axis:I", squeeze: "x:T axis:I", broadcast_to: "x:T shape:L", concat: "xs:X axis:I", split: "x:T parts:L axis:I",
  pad: "x:T before:L after:L value:F", regions: "x:T sh:I sw:I", unregions: "x:T sh:I sw:I h:I w:I", split_heads: "x:T heads:I",
  merge_heads: "x:T", arange: "n:I", zeros: "shape:L dtype:D", ones: "shape:L dtype:D", full: "shape:L value:F dtype:D",
  tensor: "values:L dtype:D", matmul: "a:T b:T", einsum: "", topk: "x:T k:I axis:I largest:B", argsort: "x:T axis:I descending:B",
  sort: "x:T axis:I descending:B", gather: "x:T idx:T axis:I", take_along: "x:T idx:T axis:I", compact: "mask:T",
  cumsum: "x:T axis:I exclusive:B reverse:B", segment_sum: "x:T seg:T num:I axis:I", segment_max: "x:T seg:T num:I axis:I",
  segment_mean: "x:T seg:T num:I axis:I", dwconv2d: "x:T w:T bias:T", quantize: "x:T bits:I axis:I",
  dequant: "packed:T scale:T zero:T bits:I n:I axis:I",
  attention: "q:T k:T v:T scale:F score:H mask:H bias:T value_scale:T blocks:T block_q:I block_k:I returns:R", iterate: "n:I init:T step:P",
};
const PARAMS: Record<string, readonly string[]> = Object.fromEntries(Object.entries(SIG).map(([f, s]) => [f, s ? s.split(" ").map((p) => p.split(":")[0]!) : []]));
const KINDS: Record<string, readonly string[]> = Object.fromEntries(Object.entries(SIG).map(([f, s]) => [f, s ? s.split(" ").map((p) => p.split(":")[1]!) : []]));
const CALLABLE = Object.keys(SIG);

const CALL_INPUTS = [
  "x: f32[B, N, C]", "y: f32[N, C]", "m: bool[B, N]", "ix: i32[B, K]", "u: u32[N]", "s: f32[]", "h: f16[B, H, N, D]",
  "q: f32[B, H, N, D]", "img: f32[B, 4, 4, C]", "w3: f32[C, 3, 3]", "r: i32[B, H, 2, 2]",
];
const TENSORS = ["x", "y", "m", "ix", "u", "s", "h", "q", "img", "w3", "r"];
const INTS = ["0", "1", "2", "3", "4", "-1", "-2", "-4", "5", "64", "N", "B", "C", "K", "D", "N - 1", "N / 2", "ceil(N / 3)", "2147483648", "99999999999999999999", "-0", "1e308", "int(2.5)", "k", "10 ** 400", "N % 0", "0 - N"];
const FLOATS = ["0.5", "1.0", "-1.5", "inf", "-inf", "nan", "1e-12", "1e308", "eps"];
const BY_KIND: Record<string, readonly string[]> = {
  I: ["0", "1", "2", "-1", "-2", "3", "4", "N", "C", "K", "D", "H", "N - 1", "N / 2", "2 * N", "ceil(N / 3)", "-0", "1e308", "2147483648", "99999999999999999999", "10 ** 400", "int(inf)", "N % 0", "k", "8", "5"],
  F: ["0.5", "1", "0", "-1.5", "inf", "-inf", "nan", "1e-12", "1e308", "eps", "true"],
  B: ["true", "false", "1", "None"],
  D: ["f32", "i32", "u32", "bool", "f16", "bf16", '"f32"', "float"],
  L: ["[]", "[0]", "[1, 0]", "[-1]", "[N, C]", "[B, N, C]", "[2, -1]", "[0, 0]", "[1e308]", "[B, -1, C]", "[N, -1]", "[1, 1]", "[2, 2]", "[-1, -1]", "[N + 1, -1]", "[x]", "[[1]]", "[0.5]", "[B, N, C, 1]", "[0, 2, 1]", "[3, 2, 1, 0]", "2"],
  X: ["[x, x]", "[x, y]", "[y, y, y]", "[]", "[x]", "(x, x)", "[m, m]", "[ix, ix]", "[x, 1]", "x"],
  S: ['"ij->ji"', '""', '"i,i->"'],
  H: [
    "(b, i, j) => j <= i", "(b, h, i, j) => j <= i", "(s, b, h, i, j) => s - (i - j)", "(s, b, i, j) => s * 2.0", "(i, j) => i",
    "(b, h, i, j) => x[b, i, 0] > 0", "(s, b, h, i, j) => i", "(b, h, i, j) => { let z = j <= i; return z }", "(s, b, h, i, j) => (s, s)",
    "(b, h, i, j) => m[b, j]", "(s, b, h, i, j) => s + ix[b, j]", "(b, h, i, j) => r[b, h, i, j] > 0", "x", "true",
  ],
  P: ["(a) => a * 2.0", "(a, t) => a + 1.0", "(a) => sum(a, axis: 0)", "(a, t) => cast(a, i32)", "(a, b) => (b, a)", "(p, t) => { return p }", "(a, t) => a[t]", "(a, b, c) => a", "x"],
  R: ["[lse]", "[probs(rows: [0])]", "[mass(keys: m)]", "[lse, probs(rows: [0, 1]), mass(keys: m)]", "[probs(rows: ix)]", "[probs(rows: [N])]", "[probs()]", "[mass(keys: x)]", "lse", "[]", "[foo]"],
};

const OTHER = [
  "true", "false", "f32", "i32", "bool", "f16", "u32", "bf16", "None", '"ij->ji"', '"bnc,cd->bnd"', '""', '"i,i->"', '"abc"',
  "[]", "[0]", "[1, 0]", "[-1]", "[N, C]", "[B, N, C]", "[2, -1]", "[0, 0]", "[1e308]", "[x]", "[x, y]", "[x, x]", "[true]", "[B, -1, C]", "[[1]]",
  "(x, y)", "(x,)", "lse", "[lse]", "[probs(rows: [0]), mass(keys: m)]", "[probs(rows: ix), lse]", "[mass(keys: x)]", "[probs()]",
  "(b, i, j) => j <= i", "(b, h, i, j) => j <= i", "(s, b, h, i, j) => s - (i - j)", "(s, b, i, j) => s * 2.0", "(a) => a",
  "(a, t) => a * 2.0", "() => 1", "(b, h, i, j) => x[b, i, 0] > 0", "(a, b) => (b, a)", "(p, t) => { return p }", "(s, b, h, i, j) => i",
  "(b, h, i, j) => { let z = j <= i; return z }", "(a, t) => cast(a, i32)", "(a) => sum(a, axis: 0)",
];

/**
 * A graph of random builtin calls: every argument is drawn from a pool of tensors of several
 * ranks and dtypes, compile-time ints (zero, negative, symbolic, huge), floats (inf, nan),
 * bools, dtypes, strings, lists, tuples, lambdas and nested calls, positionally or by name
 * (real parameter names, mostly). Also index-notation lets calling builtins on scalars.
 */
export function generateCalls(rng: Rng): string {
  const locals: string[] = [];
  const typed = (kind: string | undefined, depth: number): string => {
    if (kind === "T" || kind === undefined || rng.chance(0.15)) return arg(depth);
    return rng.pick(BY_KIND[kind]!);
  };
  const arg = (depth: number): string => {
    const r = rng.int(20);
    if (r < 7) return rng.pick([...TENSORS, ...locals]);
    if (r < 11) return rng.pick(INTS);
    if (r < 13) return rng.pick(FLOATS);
    if (r < 17 || depth > 1) return rng.pick(OTHER);
    return call(depth + 1);
  };
  const call = (depth: number): string => {
    const f = rng.pick(CALLABLE);
    const ps = PARAMS[f]!;
    if (f === "einsum") {
      const spec = rng.pick(['"ij,jk->ik"', '"bnc,nc->bn"', '"ii->i"', '"bnc->"', '"a,b->ab"', '"ij->jk"', '"bhnd,bhmd->bhnm"', "x"]);
      return `einsum(${[spec, ...Array.from({ length: rng.range(0, 3) }, () => arg(depth))].join(", ")})`;
    }
    // mostly well-formed: a positional prefix, then some of the other parameters by name
    const ks = KINDS[f]!;
    const nPos = rng.range(Math.min(1, ps.length), ps.length);
    const args = ps.slice(0, nPos).map((_, i) => typed(ks[i], depth));
    const rest = ps.map((p, i) => [p, ks[i]] as const).slice(nPos).filter(() => rng.chance(0.4));
    for (const [p, k] of rest) args.push(`${p}: ${typed(k, depth)}`);
    // and sometimes not: an extra, unknown, duplicate or missing argument
    const r = rng.int(12);
    if (r === 0) args.push(arg(depth));
    else if (r === 1) args.push(`${rng.pick(["dim", "foo", "axis", "k"])}: ${arg(depth)}`);
    else if (r === 2 && ps.length) args.push(`${rng.pick(ps)}: ${arg(depth)}`);
    else if (r === 3) args.pop();
    return `${f}(${args.join(", ")})`;
  };
  const lines: string[] = [];
  if (rng.chance(0.5)) lines.push(`param k: int = ${rng.pick(["2", "0", "-3", "100"])}`);
  if (rng.chance(0.5)) lines.push(`param eps: float = ${rng.pick(["1e-6", "0.0", "inf"])}`);
  const body: string[] = [];
  const nStmts = rng.range(1, 6);
  for (let i = 0; i < nStmts; i++) {
    const name = `l${i}`;
    const r = rng.int(10);
    if (r < 6) body.push(`  let ${name} = ${call(0)}`);
    else if (r < 7) body.push(`  let (${name}, ${name}b) = ${call(0)}`);
    else if (r < 8) body.push(`  let ${name} = ${call(0)}${rng.pick([".values", ".indices", ".count", "[0]", "[:, 0]", "^T", " @ y^T", " + x", "[1:, ...]"])}`);
    else {
      // builtins on scalars inside index notation
      const t = rng.pick(["x[b, i, c]", "y[i, c]", "h[b, 0, i, c]", "ix[b, i]", "m[b, i]", "s", "i", "1.5"]);
      const f = rng.pick(["exp", "max", "min", "pow", "where", "clamp", "cast", "sigmoid", "int", "float", "abs", "atan2", "isnan", "softmax", "sum"]);
      const extra = rng.pick(["", ", 2.0", ", i", ", x[b, i, c]", ", f32", ", i32", ", axis: 0", ", 1, 2", ", true"]);
      const red = rng.chance(0.3) ? `${rng.pick(["sum", "max", "argmax", "mean", "any"])}(c${rng.chance(0.3) ? " | c < i" : ""}) ` : "";
      body.push(`  let ${name}[b, i${red ? "" : ", c"}] = ${red}${f}(${t}${extra})`);
    }
    locals.push(name);
  }
  const ret = rng.chance(0.8) ? locals[locals.length - 1]! : rng.pick(TENSORS);
  const inputs = CALL_INPUTS.filter(() => rng.chance(0.85));
  const retTy = rng.pick(["f32[B, N, C]", "f32[B, N]", "tensor[B, N, C]", "f32", "i32[B, K]", "(f32[B, N, C], i32[B, N, C])", "float[N, C]"]);
  return `${lines.join("\n")}\ngraph g(${inputs.join(", ")}) -> ${retTy} {\n${body.join("\n")}\n  return ${ret}\n}\n`;
}

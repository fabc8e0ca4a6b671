/**
 * Random well-typed attn programs, each rendered twice: as attn source text and as direct
 * GraphBuilder calls. A recipe is plain numbers (fast-check generates and shrinks it); `realize`
 * turns it into steps, each with its DSL statement and its builder closure. A candidate step is
 * tried on a shadow builder and dropped when the builder rejects it (BuildError), so every kept
 * step is valid by construction and its dtype and shape are known to later steps.
 */
import fc from "fast-check";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import * as D from "../../compiler/graph/dim.ts";
import { printDim, type DimLike } from "../../compiler/graph/dim.ts";
import { isFloat, type DType } from "../../compiler/graph/dtype.ts";
import { BuildError } from "../../compiler/graph/errors.ts";
import type { SExpr, SVar } from "../../compiler/graph/expr.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import type { BinaryFn, ReduceFn, UnaryFn } from "../../compiler/graph/ops.ts";

export type Choice = readonly [op: number, a: number, b: number, c: number, d: number];

export interface Recipe {
  readonly inputs: readonly (readonly [dtype: number, dims: readonly number[]])[];
  readonly steps: readonly Choice[];
  readonly outs: readonly number[];
}

/** Dims of input shapes: symbolic (bound to RUN_DIMS when interpreting) and constant. */
const DIMS: readonly DimLike[] = ["B", "N", "C", 1, 2, 3];
export const RUN_DIMS: Record<string, number> = { B: 2, N: 3, C: 4 };
const IN_DTYPES: readonly DType[] = ["f32", "f16", "i32", "bool", "f32", "bf16", "u32"];
export const NUM_OPS = 18;

export const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  inputs: fc.array(fc.tuple(fc.nat(IN_DTYPES.length - 1), fc.array(fc.nat(DIMS.length - 1), { maxLength: 3 })), { minLength: 1, maxLength: 3 }),
  steps: fc.array(fc.tuple(fc.nat(NUM_OPS - 1), fc.nat(999), fc.nat(999), fc.nat(999), fc.nat(999)), { minLength: 1, maxLength: 8 }),
  outs: fc.array(fc.nat(999), { minLength: 1, maxLength: 3 }),
});

type Build = (b: GraphBuilder, env: readonly Tensor[]) => Tensor;

interface Step {
  /** The attn statement defining the value (`let v3 = ...`). */
  readonly src: string;
  readonly build: Build;
}

export interface Program {
  readonly recipe: Recipe;
  readonly source: string;
  readonly names: readonly string[];
  readonly inputs: readonly { name: string; dtype: DType; shape: readonly DimLike[] }[];
  readonly steps: readonly Step[];
  readonly outs: readonly number[];
}

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

const UNARY: readonly UnaryFn[] = ["neg", "not", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "tanh", "sigmoid", "relu", "gelu", "erf", "floor", "round", "sign", "isnan"];
const BINARY: readonly { fn: BinaryFn; op?: string; call?: string }[] = [
  { fn: "add", op: "+" }, { fn: "sub", op: "-" }, { fn: "mul", op: "*" }, { fn: "div", op: "/" }, { fn: "mod", op: "%" },
  { fn: "pow", op: "**" }, { fn: "eq", op: "==" }, { fn: "ne", op: "!=" }, { fn: "lt", op: "<" }, { fn: "ge", op: ">=" },
  { fn: "and", op: "&&" }, { fn: "or", op: "||" }, { fn: "max", call: "max" }, { fn: "min", call: "min" }, { fn: "atan2", call: "atan2" },
];
/** Literals as written in attn; `float` marks a float literal with an integral value (`2.0`). */
const LITERALS: readonly { text: string; value: number; float: boolean }[] = [
  { text: "2", value: 2, float: false }, { text: "0.5", value: 0.5, float: true }, { text: "1.5", value: 1.5, float: true },
  { text: "3", value: 3, float: false }, { text: "2.0", value: 2, float: true }, { text: "0", value: 0, float: false },
];
const REDUCE: readonly ReduceFn[] = ["sum", "mean", "max", "min", "prod"];
const CASTS: readonly DType[] = ["f32", "f16", "bf16", "i32", "bool"];

/** The builder form of a literal next to an operand of dtype `other`, as the DSL types it. */
function lit(b: GraphBuilder, l: (typeof LITERALS)[number], other: DType): Tensor | number {
  return l.float && Number.isInteger(l.value) && !isFloat(other) ? b.scalar(l.value, "f32") : l.value;
}
function slit(l: (typeof LITERALS)[number], other: DType): SExpr | number {
  return l.float && Number.isInteger(l.value) && !isFloat(other) ? S.const(l.value, "f32") : l.value;
}

const axesText = (axes: readonly number[]): string => (axes.length === 1 ? String(axes[0]) : `[${axes.join(", ")}]`);

/** Turns a recipe into a program; steps the builder rejects are dropped. */
export function realize(r: Recipe): Program {
  const shadow = new GraphBuilder("g");
  const env: Tensor[] = [];
  const names: string[] = [];
  const inputs = r.inputs.map(([t, ds], i) => {
    const shape = ds.map((d) => pick(DIMS, d));
    const name = `x${i}`;
    const dtype = pick(IN_DTYPES, t);
    env.push(shadow.input(name, dtype, shape));
    names.push(name);
    return { name, dtype, shape };
  });
  const steps: Step[] = [];
  for (const ch of r.steps) {
    const name = `v${steps.length}`;
    for (const cand of candidates(ch, env, names, name)) {
      let t: Tensor;
      try {
        t = cand.build(shadow, env);
      } catch (e) {
        if (e instanceof BuildError) continue;
        throw e;
      }
      if (t.dtype === "tuple") continue;
      env.push(t);
      names.push(name);
      steps.push(cand);
      break;
    }
  }
  // every step value is an output (so each one is compared), plus the inputs the recipe picks
  const n = env.length;
  const outs = [...new Set([...[...Array(steps.length).keys()].map((i) => inputs.length + i), ...r.outs.slice(1).map((o) => o % n), n - 1])];
  const typeOf = (t: Tensor) => `${t.dtype}[${t.shape.map(printDim).join(", ")}]`;
  const formals = inputs.map((x, i) => `${x.name}: ${typeOf(env[i]!)}`).join(", ");
  const ret = outs.map((o) => typeOf(env[o]!));
  const source = [
    `graph g(${formals}) -> (${ret.join(", ")}) {`,
    ...steps.map((s) => `  ${s.src}`),
    `  return ${outs.map((o) => names[o]).join(", ")}`,
    `}`,
    "",
  ].join("\n");
  // fast-check shows a counterexample by its source text
  return { recipe: r, source, names, inputs, steps, outs, [fc.toStringMethod]: () => `${JSON.stringify(r)}\n${source}` } as Program;
}

/** Builds the program's graph with direct builder calls. */
export function buildProgram(p: Program): Graph {
  const b = new GraphBuilder("g");
  const env: Tensor[] = p.inputs.map((x) => b.input(x.name, x.dtype, x.shape));
  for (const s of p.steps) env.push(s.build(b, env));
  return b.finish(p.outs.map((o) => env[o]!));
}

/**
 * The candidate steps for one choice, in order of preference: the operands rotate through the
 * values built so far until one combination is valid.
 */
function* candidates(ch: Choice, env: readonly Tensor[], names: readonly string[], out: string): Generator<Step> {
  const [op, a, b, c, d] = ch;
  const n = env.length;
  const rot = (k: number) => [...Array(n).keys()].map((i) => (i + k) % n);
  const dt = (i: number) => env[i]!.dtype as DType;
  const rank = (i: number) => env[i]!.shape.length;
  switch (op) {
    case 0: {
      // unary function or operator
      const fn = pick(UNARY, a);
      for (const x of rot(b)) {
        const X = names[x]!;
        const text = fn === "neg" ? `-${X}` : fn === "not" ? `!${X}` : `${fn}(${X})`;
        yield { src: `let ${out} = ${text}`, build: (g, e) => g.unary(fn, e[x]!) };
      }
      return;
    }
    case 1: {
      // binary operator on two values (broadcasting)
      const f = pick(BINARY, a);
      for (const x of rot(b))
        for (const y of rot(c)) {
          const [X, Y] = [names[x]!, names[y]!];
          const text = f.op ? `${X} ${f.op} ${Y}` : `${f.call}(${X}, ${Y})`;
          yield { src: `let ${out} = ${text}`, build: (g, e) => g.binary(f.fn, e[x]!, e[y]!) };
        }
      return;
    }
    case 2: {
      // binary operator with a literal on either side
      const f = pick(BINARY.filter((z) => z.op && z.fn !== "and" && z.fn !== "or"), a);
      const l = pick(LITERALS, c);
      const left = d % 2 === 0;
      for (const x of rot(b)) {
        const X = names[x]!;
        const text = left ? `${l.text} ${f.op} ${X}` : `${X} ${f.op} ${l.text}`;
        yield {
          src: `let ${out} = ${text}`,
          build: (g, e) => {
            const v = lit(g, l, e[x]!.dtype as DType);
            return left ? g.binary(f.fn, v, e[x]!) : g.binary(f.fn, e[x]!, v);
          },
        };
      }
      return;
    }
    case 3: {
      // whole-tensor reduction over random axes
      for (const x of rot(b)) {
        const r = rank(x);
        const boolish = dt(x) === "bool";
        const fn: ReduceFn = boolish ? (a % 2 ? "any" : "all") : pick(REDUCE, a);
        const X = names[x]!;
        if (r === 0 || d % 4 === 0) {
          yield { src: `let ${out} = ${fn}(${X})`, build: (g, e) => g.reduce(fn, e[x]!) };
          continue;
        }
        const axes = [...Array(r).keys()].filter((i) => (c >> i) & 1);
        if (axes.length === 0) axes.push(c % r);
        const ax = axes.map((i) => ((d >> (i + 2)) & 1 ? i - r : i));
        const keep = (d >> 1) % 2 === 1;
        yield {
          src: `let ${out} = ${fn}(${X}, axis: ${axesText(ax)}${keep ? ", keepdims: true" : ""})`,
          build: (g, e) => g.reduce(fn, e[x]!, ax, keep),
        };
      }
      return;
    }
    case 4: {
      // softmax / logsumexp / argmax along an axis
      for (const x of rot(b)) {
        const r = rank(x);
        if (r === 0) continue;
        const ax = (c % r) - (d % 2 ? r : 0);
        const X = names[x]!;
        if (a % 3 === 0) yield { src: `let ${out} = softmax(${X}, axis: ${ax})`, build: (g, e) => g.softmax(e[x]!, ax) };
        else if (a % 3 === 1) yield { src: `let ${out} = logsumexp(${X}, axis: ${ax})`, build: (g, e) => g.logsumexp(e[x]!, ax) };
        else yield { src: `let ${out} = argmax(${X}, axis: ${ax})`, build: (g, e) => g.argreduce("argmax", e[x]!, ax) };
      }
      return;
    }
    case 5: {
      // matmul, possibly against a transposed operand
      const tr = d % 2 === 0;
      for (const x of rot(b))
        for (const y of rot(c)) {
          const [X, Y] = [names[x]!, names[y]!];
          if (tr && rank(y) < 2) continue;
          yield {
            src: `let ${out} = ${X} @ ${Y}${tr ? "^T" : ""}`,
            build: (g, e) => g.matmul(e[x]!, tr ? g.transpose(e[y]!) : e[y]!),
          };
        }
      return;
    }
    case 6: {
      // transpose or a permutation
      for (const x of rot(b)) {
        const r = rank(x);
        const X = names[x]!;
        if (a % 2 === 0) {
          if (r >= 2) yield { src: `let ${out} = ${X}^T`, build: (g, e) => g.transpose(e[x]!) };
          continue;
        }
        const perm = [...Array(r).keys()];
        for (let i = r - 1; i > 0; i--) {
          const j = (c >> i) % (i + 1);
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        yield { src: `let ${out} = permute(${X}, [${perm.join(", ")}])`, build: (g, e) => g.permute(e[x]!, perm) };
      }
      return;
    }
    case 7:
    case 8: {
      // index notation: a reduction over one axis (optionally conditional), or an elementwise body
      for (const x of rot(b)) {
        const r = rank(x);
        if (r === 0) continue;
        const X = names[x]!;
        const vars = [...Array(r).keys()].map((i) => `i${i}`);
        const ax = c % r;
        const shape = env[x]!.shape;
        if (op === 8 || r === 1) {
          // elementwise bodies with weak literals: a ternary of literals, a ternary or max() with a load
          const k = d % r;
          const l = pick(LITERALS, a);
          const ld = `${X}[${vars.join(", ")}]`;
          const form = (d >> 2) % 3;
          const body =
            form === 0 ? `${ld} * (${vars[k]} == 0 ? 0.5 : 2.0) + ${l.text}` : form === 1 ? `${vars[k]} == 0 ? ${ld} : ${l.text}` : `max(${ld}, ${l.text})`;
          yield {
            src: `let ${out}[${vars.join(", ")}] = ${body}`,
            build: (g, e) =>
              g.compute(shape, (...vs) => {
                const load = S.load(e[x]!, vs);
                if (form === 1) return S.select(S.eq(vs[k]!, 0), load, slit(l, load.dtype));
                if (form === 2) return S.binary("max", load, slit(l, load.dtype));
                const m = S.mul(load, S.select(S.eq(vs[k]!, 0), 0.5, S.const(2, "f32")));
                return S.add(m, slit(l, m.dtype));
              }),
          };
          continue;
        }
        const fn: ReduceFn | "argmax" = pick(["sum", "max", "min", "mean", "argmax"] as const, a);
        const outVars = vars.filter((_, i) => i !== ax);
        const outShape = shape.filter((_, i) => i !== ax);
        const sub = vars.map((v, i) => (i === ax ? "j" : v));
        const condKind = d % 3; // 0: none, 1: j <= another var, 2: j != 0
        const other = outVars[(d >> 2) % outVars.length]!;
        const cond = condKind === 1 ? ` | j <= ${other}` : condKind === 2 ? " | j != 0" : "";
        const sq = (d >> 4) % 2 === 1 && fn !== "argmax";
        const load = `${X}[${sub.join(", ")}]`;
        const body = sq ? `${load} * ${load}` : load;
        yield {
          src: `let ${out}[${outVars.join(", ")}] = ${fn}(j${cond}) ${body}`,
          build: (g, e) =>
            g.compute(outShape, (...vs) => {
              const full = (j: SVar) => {
                const idx: SExpr[] = [];
                let o = 0;
                for (let i = 0; i < r; i++) idx.push(i === ax ? j : vs[o++]!);
                return idx;
              };
              const otherVar = vs[outVars.indexOf(other)]!;
              return S.reduce(
                fn,
                [shape[ax]!],
                (j) => (sq ? S.mul(S.load(e[x]!, full(j!)), S.load(e[x]!, full(j!))) : S.load(e[x]!, full(j!))),
                condKind === 0 ? undefined : (j) => (condKind === 1 ? S.le(j!, otherVar) : S.binary("ne", j!, 0)),
              );
            }),
        };
      }
      return;
    }
    case 9: {
      // topk values or indices, by member access or destructuring
      for (const x of rot(b)) {
        const r = rank(x);
        if (r === 0) continue;
        const ax = c % r;
        const dimv = env[x]!.shape[ax]!.value;
        const k = dimv === undefined ? 1 + (d % 2) : dimv === 0 ? 0 : 1 + (d % dimv);
        const largest = a % 2 === 0;
        const which = (d >> 3) % 2;
        const X = names[x]!;
        const call = `topk(${X}, ${k}, axis: ${ax}${largest ? "" : ", largest: false"})`;
        const src = (a >> 1) % 2 === 0 ? `let ${out} = ${call}.${which ? "indices" : "values"}` : which ? `let (_${out}, ${out}) = ${call}` : `let (${out}, _${out}) = ${call}`;
        yield { src, build: (g, e) => g.topk(e[x]!, k, ax, largest)[which]! };
      }
      return;
    }
    case 10: {
      // where / ternary with a tensor condition, a literal branch sometimes
      const l = pick(LITERALS, d);
      for (const x of rot(a))
        for (const y of rot(b))
          for (const z of rot(c)) {
            const [X, Y, Z] = [names[x]!, names[y]!, names[z]!];
            const isBool = dt(x) === "bool";
            const cond = isBool ? X : `${X} > 0`;
            const useLit = (d >> 3) % 3 === 0;
            const zt = useLit ? l.text : Z;
            const src = (d >> 5) % 2 ? `let ${out} = ${cond} ? ${Y} : ${zt}` : `let ${out} = where(${cond}, ${Y}, ${zt})`;
            yield {
              src,
              build: (g, e) => {
                const cd = isBool ? e[x]! : g.binary("gt", e[x]!, 0);
                return g.where(cd, e[y]!, useLit ? lit(g, l, e[y]!.dtype as DType) : e[z]!);
              },
            };
          }
      return;
    }
    case 11: {
      // cast
      const to = pick(CASTS, a);
      for (const x of rot(b)) yield { src: `let ${out} = cast(${names[x]}, ${to})`, build: (g, e) => g.cast(e[x]!, to) };
      return;
    }
    case 12: {
      // slicing: a range on one axis, an integer index, or a new axis
      for (const x of rot(b)) {
        const r = rank(x);
        const X = names[x]!;
        const ax = r === 0 ? 0 : c % r;
        const pre = Array(ax).fill(":").join(", ");
        const lead = pre ? `${pre}, ` : "";
        const kind = a % 4;
        if (kind === 3 || r === 0) {
          yield { src: `let ${out} = ${X}[${lead}None]`, build: (g, e) => g.unsqueeze(e[x]!, ax) };
          continue;
        }
        const dimv = env[x]!.shape[ax]!.value;
        if (kind === 0) yield { src: `let ${out} = ${X}[${lead}1:]`, build: (g, e) => g.slice(e[x]!, ax, 1) };
        else if (kind === 1) yield { src: `let ${out} = ${X}[${lead}::2]`, build: (g, e) => g.slice(e[x]!, ax, undefined, undefined, 2) };
        else if (dimv !== 0) yield { src: `let ${out} = ${X}[${lead}-1]`, build: (g, e) => g.select(e[x]!, ax, -1) };
      }
      return;
    }
    case 13: {
      // concat of two values along an axis
      for (const x of rot(b))
        for (const y of rot(c)) {
          const r = rank(x);
          if (r === 0) continue;
          const ax = (a % r) - (d % 2 ? r : 0);
          yield { src: `let ${out} = concat([${names[x]}, ${names[y]}], axis: ${ax})`, build: (g, e) => g.concat([e[x]!, e[y]!], ax) };
        }
      return;
    }
    case 14: {
      // reshape merging two adjacent axes (the new shape written with dim expressions), or with -1
      for (const x of rot(b)) {
        const r = rank(x);
        if (r < 2) continue;
        const ax = c % (r - 1);
        const sh = env[x]!.shape;
        const merged = [...sh.slice(0, ax), D.mul(sh[ax]!, sh[ax + 1]!), ...sh.slice(ax + 2)];
        const hole = d % 2 === 1 ? d % merged.length : -1;
        const text = merged.map((m, i) => (i === hole ? "-1" : printDim(m))).join(", ");
        yield { src: `let ${out} = reshape(${names[x]}, [${text}])`, build: (g, e) => g.reshape(e[x]!, merged.map((m, i) => (i === hole ? -1 : m))) };
      }
      return;
    }
    case 15: {
      // cumsum, argsort, sort along an axis
      for (const x of rot(b)) {
        const r = rank(x);
        if (r === 0) continue;
        const ax = c % r;
        const X = names[x]!;
        const flag = d % 2 === 1;
        if (a % 3 === 0)
          yield { src: `let ${out} = cumsum(${X}, axis: ${ax}, exclusive: ${flag}, reverse: ${(d >> 1) % 2 === 1})`, build: (g, e) => g.cumsum(e[x]!, ax, flag, (d >> 1) % 2 === 1) };
        else if (a % 3 === 1) yield { src: `let ${out} = argsort(${X}, axis: ${ax}, descending: ${flag})`, build: (g, e) => g.argsort(e[x]!, ax, flag) };
        else yield { src: `let ${out} = sort(${X}, axis: ${ax}, descending: ${flag})`, build: (g, e) => g.sort(e[x]!, ax, flag) };
      }
      return;
    }
    case 16: {
      // iterate: a state updated with a literal and a captured value, optionally the index
      const l = pick(LITERALS, c);
      const useT = d % 2 === 1;
      for (const x of rot(b))
        for (const y of rot(a)) {
          const [X, Y] = [names[x]!, names[y]!];
          const step = useT ? `(s, t) => s * ${l.text} + ${Y} + cast(t, f32)` : `(s) => s * ${l.text} + ${Y}`;
          yield {
            src: `let ${out} = iterate(2, ${X}, ${step})`,
            build: (g, e) =>
              g.iterate(2, [e[x]!], ([st], t) => {
                const m = g.mul(st!, lit(g, l, st!.dtype as DType));
                const sum = g.add(m, e[y]!);
                return [useT ? g.add(sum, g.cast(t, "f32")) : sum];
              })[0]!,
          };
        }
      return;
    }
    case 17: {
      // self-attention with a score hook (weak literal) and a causal mask hook
      for (const x of rot(b)) {
        const r = rank(x);
        if (r < 2 || !isFloat(dt(x))) continue;
        const nb = r - 2;
        const ps = [...Array(nb).keys()].map((i) => `b${i}`);
        const l = pick(LITERALS, c);
        const X = names[x]!;
        const hooks = [
          a % 2 === 0 ? `score: (s, ${[...ps, "i", "j"].join(", ")}) => s * ${l.text}` : "",
          d % 2 === 0 ? `mask: (${[...ps, "i", "j"].join(", ")}) => j <= i` : "",
        ].filter(Boolean);
        yield {
          src: `let ${out} = attention(${[X, X, X, ...hooks].join(", ")})`,
          build: (g, e) =>
            g.attention(e[x]!, e[x]!, e[x]!, {
              score: a % 2 === 0 ? (sc) => S.mul(sc, slit(l, "f32")) : undefined,
              mask: d % 2 === 0 ? (v) => S.le(v[nb + 1]!, v[nb]!) : undefined,
            }) as Tensor,
        };
      }
      return;
    }
  }
}

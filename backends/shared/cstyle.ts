/**
 * The C-style printer shared by every target: walks kernel IR and asks a Dialect (a record of
 * tables and small formatting functions) how to spell each construct. WGSL and CUDA are dialects;
 * a dialect never walks the IR itself. Binary expressions are fully parenthesized, so precedence
 * tables are not needed and the output is unambiguous in both languages.
 */
import type { KBinary, KExpr, KMma, KStmt, KType, KUnary, KWarpReduce, Kernel } from "../../compiler/kernel/ir.ts";

export interface Dialect {
  readonly name: "wgsl" | "cuda";
  type(t: KType): string;
  literal(v: number, t: KType): string;
  /** Infix spelling of a binary op, or a function-call form. */
  readonly infix: Partial<Record<KBinary, string>>;
  call(op: KBinary, a: string, b: string, t: KType, at: KType): string;
  unary(op: KUnary, a: string, t: KType, at: KType): string;
  select(c: string, a: string, b: string, t: KType): string;
  cast(a: string, from: KType, to: KType): string;
  bitcast(a: string, from: KType, to: KType): string;
  builtin(which: "gid" | "lid" | "wid" | "nwg", axis: 0 | 1 | 2): string;
  uniform(name: string, t: KType): string;
  load(buf: string, index: string, t: KType): string;
  store(buf: string, index: string, value: string, t: KType): string;
  sload(arr: string, index: string, k: Kernel): string;
  sstore(arr: string, index: string, value: string, k: Kernel): string;
  let(name: string, t: KType, init: string, mutable: boolean): string;
  forHeader(v: string, start: string, end: string, step: number): string;
  readonly barrier: string;
  /**
   * Warp collectives (kernel variants only): the lines of a warp reduction / a warp matrix
   * multiply-accumulate, given printed offsets. A dialect without them cannot print such a kernel
   * (its backend launches the base kernel instead).
   */
  warpReduce?(s: KWarpReduce, indent: string): string[];
  mma?(s: KMma, offsets: { a: string; b: string; c: string }, indent: string, k: Kernel): string[];
  /** Everything before the body: prelude, bindings, signature; and what closes it. */
  header(k: Kernel): string[];
  footer(k: Kernel): string[];
}

/** and/or/xor as C-family infix: logical on bool, bitwise on integers (the same in WGSL and CUDA). */
export function logicOp(op: "and" | "or" | "xor", a: string, b: string, at: KType): string {
  const sym = at === "bool" ? { and: "&&", or: "||", xor: "!=" }[op] : { and: "&", or: "|", xor: "^" }[op];
  return `(${a} ${sym} ${b})`;
}

export function printKernel(k: Kernel, d: Dialect): string {
  const lines = [...d.header(k)];
  const ind = "  ";
  const stmt = (s: KStmt, depth: number): void => {
    const p = ind.repeat(depth);
    switch (s.k) {
      case "let":
        lines.push(p + d.let(s.name, s.t, expr(s.init), s.mutable));
        break;
      case "assign":
        lines.push(`${p}${s.name} = ${expr(s.value)};`);
        break;
      case "store": {
        lines.push(p + d.store(s.buf, expr(s.index), expr(s.value), s.value.t));
        break;
      }
      case "sstore":
        lines.push(p + d.sstore(s.arr, expr(s.index), expr(s.value), k));
        break;
      case "if":
        lines.push(`${p}if (${expr(s.cond)}) {`);
        s.then.forEach((x) => stmt(x, depth + 1));
        if (s.else && s.else.length) {
          lines.push(`${p}} else {`);
          s.else.forEach((x) => stmt(x, depth + 1));
        }
        lines.push(`${p}}`);
        break;
      case "for":
        lines.push(`${p}${d.forHeader(s.var, expr(s.start), expr(s.end), s.step)} {`);
        s.body.forEach((x) => stmt(x, depth + 1));
        lines.push(`${p}}`);
        break;
      case "barrier":
        lines.push(p + d.barrier);
        break;
      case "comment":
        lines.push(`${p}// ${s.text}`);
        break;
      case "warp_reduce":
        if (!d.warpReduce) throw new Error(`${d.name}: kernel ${k.name} has a warp reduction, which this target cannot print`);
        lines.push(...d.warpReduce(s, p));
        break;
      case "mma":
        if (!d.mma) throw new Error(`${d.name}: kernel ${k.name} has a warp matrix multiply-accumulate, which this target cannot print`);
        lines.push(...d.mma(s, { a: expr(s.a.offset), b: expr(s.b.offset), c: expr(s.c.offset) }, p, k));
        break;
    }
  };
  const expr = (e: KExpr): string => {
    switch (e.k) {
      case "const":
        return d.literal(e.v, e.t);
      case "var":
        return e.name;
      case "builtin":
        return d.builtin(e.which, e.axis);
      case "uniform":
        return d.uniform(e.name, e.t);
      case "load":
        return d.load(e.buf, expr(e.index), e.t);
      case "sload":
        return d.sload(e.arr, expr(e.index), k);
      case "unary":
        return d.unary(e.op, expr(e.a), e.t, e.a.t);
      case "binary": {
        const op = d.infix[e.op];
        return op ? `(${expr(e.a)} ${op} ${expr(e.b)})` : d.call(e.op, expr(e.a), expr(e.b), e.t, e.a.t);
      }
      case "select":
        return d.select(expr(e.c), expr(e.a), expr(e.b), e.t);
      case "cast":
        return d.cast(expr(e.a), e.a.t, e.t);
      case "bitcast":
        return d.bitcast(expr(e.a), e.a.t, e.t);
    }
  };
  k.body.forEach((s) => stmt(s, 1));
  lines.push(...d.footer(k));
  return lines.join("\n") + "\n";
}

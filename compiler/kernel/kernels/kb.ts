/**
 * A small statement builder for hand-written kernels (order.ts, segment.ts): lets, mutable vars,
 * nested blocks for if/for, stores and barriers, over one KernelScope.
 */
import type { Dim } from "../../graph/dim.ts";
import { K, type KExpr, type KStmt, type KType } from "../ir.ts";
import { KernelScope, dimToK } from "../sexpr-to-kernel.ts";

export class KB {
  readonly sc = new KernelScope();
  private readonly stack: KStmt[][] = [[]];
  get body(): KStmt[] {
    return this.stack[0]!;
  }
  push(s: KStmt): void {
    this.stack[this.stack.length - 1]!.push(s);
  }
  let(prefix: string, init: KExpr, t: KType = init.t): KExpr {
    if (init.k === "const" || init.k === "var" || init.k === "uniform") return init.t === t ? init : K.cast(init, t);
    const name = this.sc.fresh(prefix);
    this.push({ k: "let", name, t, init, mutable: false });
    return K.v(name, t);
  }
  var(prefix: string, init: KExpr, t: KType = init.t): KExpr {
    const name = this.sc.fresh(prefix);
    this.push({ k: "let", name, t, init, mutable: true });
    return K.v(name, t);
  }
  set(v: KExpr, value: KExpr): void {
    if (v.k !== "var") throw new Error("assignment to a non-variable");
    this.push({ k: "assign", name: v.name, value });
  }
  block(f: () => void): KStmt[] {
    this.stack.push([]);
    f();
    return this.stack.pop()!;
  }
  if(cond: KExpr, then: () => void, els?: () => void): void {
    const t = this.block(then);
    const e = els ? this.block(els) : undefined;
    this.push(e && e.length ? { k: "if", cond, then: t, else: e } : { k: "if", cond, then: t });
  }
  for(prefix: string, start: KExpr, end: KExpr, body: (i: KExpr) => void, step = 1): void {
    const name = this.sc.fresh(prefix);
    const b = this.block(() => body(K.v(name, "i32")));
    this.push({ k: "for", var: name, start, end, step, body: b });
  }
  store(buf: string, index: KExpr, value: KExpr): void {
    this.push({ k: "store", buf, index, value });
  }
  sstore(arr: string, index: KExpr, value: KExpr): void {
    this.push({ k: "sstore", arr, index, value });
  }
  barrier(): void {
    this.push({ k: "barrier" });
  }
  dim(d: Dim): KExpr {
    return dimToK(d, this.sc);
  }
}

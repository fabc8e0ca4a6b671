/**
 * The elaborator: checks a parsed module and builds its graphs through GraphBuilder (the same API
 * users call), so the DSL and the builder give identical IR. Compile-time values fold here
 * (params, dims, fn inlining, static conditionals); every user error becomes a diagnostic at the
 * span that caused it, and evaluation continues with a poison value so one mistake is reported once.
 * This file evaluates the AST (graphs, statements, expressions, index notation, calls); state,
 * diagnostics, value conversions and operators are the base layer in elaborate-base.ts.
 */
import { Diagnostics } from "../compiler/diagnostics/messages.ts";
import type { Span } from "../compiler/diagnostics/source.ts";
import * as D from "../compiler/graph/dim.ts";
import { dim, shapeToString, type Dim } from "../compiler/graph/dim.ts";
import { isDType, isFloat, type DType } from "../compiler/graph/dtype.ts";
import { GraphBuilder } from "../compiler/graph/builder.ts";
import type { Graph } from "../compiler/graph/node.ts";
import { freshVar, sCast, sLoad, sSelect } from "../compiler/graph/scalar.ts";
import type { SExpr } from "../compiler/graph/expr.ts";
import type * as A from "./ast.ts";
import { callBuiltin, BUILTIN_NAMES } from "./builtins.ts";
import { Env, ERROR, describe, type IndexBinding, type ModuleScope, type Val } from "./values.ts";
import { ElaboratorBase } from "./elaborate-base.ts";

const MAX_INLINE_DEPTH = 64;
/**
 * fns are inlined at every call, so a chain of fns that each call the next twice expands
 * exponentially; past this many expansions in one compilation the call is an error (not a hang).
 */
const MAX_INLINED_CALLS = 20_000;

export class Elaborator extends ElaboratorBase {
  // ── graphs ───────────────────────────────────────────────────────────────────────────────

  elaborateGraph(decl: A.FnDecl, scope: ModuleScope): Graph | undefined {
    this.g = new GraphBuilder(decl.name.name);
    const env = new Env(undefined, scope);
    const errorsBefore = this.bag.items.length;
    this.enterDecl(decl);
    try {
      return this.elaborateGraphBody(decl, env, scope, errorsBefore);
    } finally {
      this.lenientStack.pop();
    }
  }

  private elaborateGraphBody(decl: A.FnDecl, env: Env, scope: ModuleScope, errorsBefore: number): Graph | undefined {
    for (const f of decl.formals) {
      const t = f.type;
      // an input that cannot be built is poisoned, so its uses report nothing more
      const poison = () => {
        if (!env.hasOwn(f.name.name)) env.set(f.name.name, { kind: "val", val: ERROR, span: f.name.span });
      };
      if (f.default) this.error(Diagnostics.Graph_input_cannot_have_default, f.default.span);
      if (!isDType(t.dtype.name)) {
        this.error(Diagnostics.Unknown_dtype_0, t.dtype.span, t.dtype.name);
        poison();
        continue;
      }
      const shape: Dim[] = [];
      let ok = true;
      for (const de of t.dims ?? []) {
        if (de.kind === "Name" && !env.lookup(de.name) && !scope.params.has(de.name)) {
          env.set(de.name, { kind: "val", val: { k: "int", d: dim(de.name) }, span: de.span });
          shape.push(dim(de.name));
          continue;
        }
        const d = this.evalDim(de, env, true);
        if (d === undefined) ok = false;
        else shape.push(d);
      }
      if (!ok) {
        poison();
        continue;
      }
      // a second input of that name, or a dim of that name (`graph g(N: f32[N])`): one block, one meaning
      if (env.hasOwn(f.name.name)) {
        this.error(Diagnostics.Duplicate_name_0, f.name.span, f.name.name);
        continue;
      }
      const node = this.build(f.span, () => this.g.input(f.name.name, t.dtype.name as DType, shape));
      if (node) env.set(f.name.name, { kind: "val", val: { k: "tensor", t: node }, span: f.name.span });
      else poison();
    }
    const ret = this.evalBody(decl.body, env, decl);
    if (!ret) return undefined;
    const outs = this.checkReturn(decl, ret, env);
    if (!outs || this.bag.items.slice(errorsBefore).some((d) => d.category === "error")) return undefined;
    const names = outs.length === 1 ? ["out"] : outs.map((_, i) => `out${i}`);
    return this.g.finish(outs, names);
  }

  /** Checks returned values against the declared types; gives the output tensors. */
  private checkReturn(decl: A.FnDecl, ret: Returned, env: Env): import("../compiler/graph/ops.ts").Node[] | undefined {
    const outs: import("../compiler/graph/ops.ts").Node[] = [];
    const unpack = ret.vals.length === 1 && ret.vals[0]!.k === "tuple";
    const vals = unpack ? [...(ret.vals[0] as Extract<Val, { k: "tuple" }>).items] : ret.vals;
    const spanOf = (i: number): Span => (unpack ? ret.spans[0] : ret.spans[i]) ?? ret.span;
    const declared = decl.ret ?? [];
    if (decl.ret && declared.length !== vals.length) {
      this.error(Diagnostics.Returns_0_values_declared_1, ret.span, vals.length, declared.length);
      return undefined;
    }
    let ok = true;
    vals.forEach((v, i) => {
      const t = this.asTensor(v, spanOf(i));
      if (!t) {
        ok = false;
        return;
      }
      outs.push(t);
      const ty = declared[i];
      if (ty) ok = this.checkType(t, ty, env, spanOf(i)) && ok;
    });
    return ok ? outs : undefined;
  }

  /** Checks a tensor against a declared type (dtype and dims); dims must already be bound. */
  private checkType(t: import("../compiler/graph/ops.ts").Node, ty: A.TypeRef, env: Env, span: Span): boolean {
    const dn = ty.dtype.name;
    const note = [{ message: `The result type '${this.nameOf(ty.span)}' is declared here.`, span: ty.span }];
    if (dn !== "tensor" && !(dn === "float" && isFloat(t.dtype as DType)) && dn !== t.dtype) {
      if (!isDType(dn) && dn !== "float") this.error(Diagnostics.Unknown_dtype_0, ty.dtype.span, dn);
      else this.bag.add(Diagnostics.Return_dtype_0_declared_1, span, [t.dtype, dn], note);
      return false;
    }
    // `f32` without brackets is a scalar tensor (f32[]); `tensor` and `float` leave the shape open
    if (ty.dims === undefined && !isDType(dn)) return true;
    const dims: Dim[] = [];
    for (const de of ty.dims ?? []) {
      const d = this.evalDim(de, env, true);
      if (d === undefined) return false;
      dims.push(d);
    }
    if (!D.shapeEq(dims, t.shape)) {
      this.bag.add(Diagnostics.Return_shape_0_declared_1, span, [shapeToString(t.shape), shapeToString(dims)], note);
      return false;
    }
    return true;
  }

  // ── statements ───────────────────────────────────────────────────────────────────────────

  /** Evaluates a block; returns the values of its `return`. */
  evalBody(block: A.Block, env: Env, owner?: A.FnDecl): Returned | undefined {
    let ret: Returned | undefined;
    for (const s of block.stmts) {
      if (ret) {
        this.error(Diagnostics.Statement_after_return, s.span);
        break;
      }
      if (this.hasSyntaxError(s.span, "stmt")) {
        // debris of a syntax error: skip it, poisoning what it binds or returns
        if (s.kind === "Return") ret = { vals: s.values.length ? s.values.map(() => ERROR) : [ERROR], span: s.span, spans: s.values.map((v) => v.span) };
        else if (s.kind === "Let") for (const n of letNames(s.target)) if (!env.hasOwn(n.name)) env.set(n.name, { kind: "val", val: ERROR, span: n.span });
        continue;
      }
      switch (s.kind) {
        case "Let":
          this.evalLet(s, env);
          break;
        case "Return":
          ret = {
            vals: s.values.map((v) => (v.kind === "Lambda" ? this.error(Diagnostics.Lambda_only_as_argument, v.span) : this.evalExpr(v, env))),
            span: s.span,
            spans: s.values.map((v) => v.span),
          };
          break;
        case "ExprStmt":
          this.error(Diagnostics.Expression_statement_has_no_effect, s.span);
          break;
      }
    }
    if (!ret) {
      if (!this.lenient.noReturn) this.error(Diagnostics.Graph_has_no_return, owner?.name.span ?? block.span, owner?.name.name ?? "lambda");
      return undefined;
    }
    return ret;
  }

  private define(env: Env, name: A.Ident, val: Val): void {
    if (env.hasOwn(name.name)) {
      this.error(Diagnostics.Duplicate_name_0, name.span, name.name);
      return;
    }
    env.set(name.name, { kind: "val", val, span: name.span });
  }

  private evalLet(s: A.Let, env: Env): void {
    const t = s.target;
    if (s.value.kind === "Lambda") {
      this.error(Diagnostics.Lambda_only_as_argument, s.value.span);
      for (const n of letNames(t)) this.define(env, n, ERROR);
      return;
    }
    if (t.kind === "NameTarget") {
      this.define(env, t.name, this.evalExpr(s.value, env));
    } else if (t.kind === "TupleTarget") {
      const v = this.evalExpr(s.value, env);
      if (v.k === "error") {
        t.names.forEach((n) => this.define(env, n, ERROR));
        return;
      }
      const items = v.k === "tuple" || v.k === "list" ? v.items : undefined;
      if (!items || items.length !== t.names.length) {
        this.error(Diagnostics.Tuple_arity_0_vs_1, t.span, t.names.length, items ? items.length : 1);
        t.names.forEach((n) => this.define(env, n, ERROR));
        return;
      }
      t.names.forEach((n, i) => this.define(env, n, items[i]!));
    } else {
      this.define(env, t.name, this.evalIndexLet(t, s.value, env));
    }
  }

  /**
   * Binds the index variables of an index-notation let or a reduction in `inner` (extents given
   * with `i: N` are evaluated in `env`); undefined after reporting a duplicate or a bad extent.
   */
  private bindIndexVars(vars: readonly A.IndexVar[], env: Env, inner: Env): IndexBinding[] | undefined {
    const binds: IndexBinding[] = [];
    for (const iv of vars) {
      if (inner.hasOwn(iv.name.name)) {
        this.error(Diagnostics.Duplicate_name_0, iv.name.span, iv.name.name);
        return undefined;
      }
      const explicit = iv.extent ? this.evalDim(iv.extent, env) : undefined;
      if (iv.extent && explicit === undefined) return undefined;
      const b: IndexBinding = { v: freshVar(), name: iv.name.name, explicit, inferred: undefined, span: iv.name.span };
      this.varNames.set(b.v.id, b.name);
      binds.push(b);
      inner.set(iv.name.name, { kind: "index", ix: b });
    }
    return binds;
  }

  /** `let z[b, i: N] = body`: a compute node over the left-hand index space. */
  private evalIndexLet(t: A.IndexTarget, body: A.Expr, env: Env): Val {
    const inner = env.child();
    const binds = this.bindIndexVars(t.vars, env, inner);
    if (!binds) return ERROR;
    this.indexDepth++;
    let v: Val;
    try {
      v = this.evalExpr(body, inner);
    } finally {
      this.indexDepth--;
    }
    if (v.k === "error") return ERROR;
    const e = this.asScalar(v, body.span);
    if (!e) return ERROR;
    const shape: Dim[] = [];
    for (const b of binds) {
      const ext = b.explicit ?? b.inferred?.d;
      if (!ext) {
        this.error(Diagnostics.Cannot_infer_extent_of_0, b.span, b.name);
        return ERROR;
      }
      shape.push(ext);
    }
    const node = this.build(t.span, () => this.g.computeExpr(shape, binds.map((b) => b.v), e));
    return node ? { k: "tensor", t: node } : ERROR;
  }

  // ── expressions ──────────────────────────────────────────────────────────────────────────

  evalExpr(e: A.Expr, env: Env): Val {
    switch (e.kind) {
      case "Num":
        return e.isInt ? { k: "int", d: dim(e.value) } : { k: "float", v: e.value };
      case "Str":
        return { k: "str", v: e.value };
      case "Bool":
        return { k: "bool", v: e.value };
      case "Inf":
        return { k: "float", v: Infinity };
      case "NaN":
        return { k: "float", v: NaN };
      case "Name":
        return this.evalName(e, env);
      case "Unary":
        return this.unary(e.op, this.evalExpr(e.operand, env), e.span);
      case "Binary":
        return this.binary(e.op, this.evalExpr(e.left, env), this.evalExpr(e.right, env), e.opSpan, e.span, e.left.span, e.right.span);
      case "Ternary":
        return this.evalTernary(e, env);
      case "Call":
        return this.evalCall(e, env);
      case "Reduction":
        return this.evalReduction(e, env);
      case "Index":
        return this.evalIndex(e, env);
      case "Member":
        return this.evalMember(e, env);
      case "Transpose": {
        const t = this.asTensor(this.evalExpr(e.operand, env), e.operand.span);
        if (!t) return ERROR;
        return this.tensor(e.span, () => this.g.transpose(t));
      }
      case "Tuple":
        return { k: "tuple", items: e.items.map((x) => this.evalExpr(x, env)) };
      case "List":
        return { k: "list", items: e.items.map((x) => this.evalExpr(x, env)) };
      case "Lambda":
        return { k: "lambda", ast: e, env };
    }
  }

  private evalName(e: A.Name, env: Env): Val {
    const b = env.lookup(e.name);
    if (b) {
      if (b.kind === "val") return b.val;
      return { k: "scalar", e: b.ix.v };
    }
    const scope = env.scope;
    const p = scope.params.get(e.name);
    if (p) return p;
    const fn = scope.fns.get(e.name);
    if (fn) return { k: "fn", decl: fn, scope };
    const imp = scope.imports.get(e.name);
    if (imp) return { k: "fn", decl: imp.decl, scope: imp.scope };
    if (BUILTIN_NAMES.has(e.name)) return { k: "builtin", name: e.name };
    if (isDType(e.name)) return { k: "dtype", dt: e.name };
    if (e.name === "None") return { k: "none" };
    if (this.lenient.names) return ERROR;
    if (this.inType > 0) return this.error(Diagnostics.Dim_0_not_bound, e.span, e.name);
    return this.error(Diagnostics.Cannot_find_name_0, e.span, e.name);
  }

  private evalTernary(e: A.Ternary, env: Env): Val {
    const c = this.evalExpr(e.cond, env);
    if (c.k === "error") return ERROR;
    if (c.k === "bool") return this.evalExpr(c.v ? e.whenTrue : e.whenFalse, env);
    const a = this.evalExpr(e.whenTrue, env);
    const b = this.evalExpr(e.whenFalse, env);
    if (a.k === "error" || b.k === "error") return ERROR;
    if (c.k === "scalar" || a.k === "scalar" || b.k === "scalar") {
      const sc = this.asScalar(c, e.cond.span);
      const [sa, sb] = [this.scalarOperand(a, e.whenTrue.span, this.operandDType(b)), this.scalarOperand(b, e.whenFalse.span, this.operandDType(a))];
      if (!sc || sa === undefined || sb === undefined) return ERROR;
      if (sc.dtype !== "bool") return this.error(Diagnostics.Condition_must_be_bool_got_0, e.cond.span, sc.dtype);
      const r = this.build(e.span, () => sSelect(sc, sa, sb));
      return r ? { k: "scalar", e: r } : ERROR;
    }
    const tc = this.asTensor(c, e.cond.span);
    if (!tc) return ERROR;
    if (tc.dtype !== "bool") return this.error(Diagnostics.Condition_must_be_bool_got_0, e.cond.span, tc.dtype);
    const [la, lb] = [this.tensorLike(a, e.whenTrue.span, this.operandDType(b)), this.tensorLike(b, e.whenFalse.span, this.operandDType(a))];
    if (la === undefined || lb === undefined) return ERROR;
    return this.tensor(e.span, () => this.g.where(tc, la, lb));
  }

  // ── index notation ───────────────────────────────────────────────────────────────────────

  private evalIndex(e: A.Index, env: Env): Val {
    const target = this.evalExpr(e.target, env);
    if (target.k === "error") return ERROR;
    if (target.k === "tuple" || target.k === "list") {
      if (e.subscripts.length !== 1 || e.subscripts[0]!.kind === "Slice" || e.subscripts[0]!.kind === "Ellipsis") return this.error(Diagnostics.Value_out_of_range_0_1, e.span, "tuple index", "one integer");
      const i = this.asInt(this.evalExpr(e.subscripts[0] as A.Expr, env), e.subscripts[0]!.span)?.value;
      if (i === undefined) return ERROR;
      const it = target.items[i < 0 ? target.items.length + i : i];
      return it ?? this.error(Diagnostics.Value_out_of_range_0_1, e.subscripts[0]!.span, "tuple index", `${i} for ${target.items.length} items`);
    }
    const t = this.asTensor(target, e.target.span);
    if (!t) return ERROR;
    // Evaluate plain subscripts; a subscript mentioning an index variable makes this a load.
    const subs: (Val | A.Slice | A.Ellipsis)[] = e.subscripts.map((s) => {
      if (s.kind === "Slice" || s.kind === "Ellipsis") return s;
      // inside index notation, a bare unknown subscript is an index variable nobody bound
      if (s.kind === "Name" && this.indexDepth > 0 && !this.resolves(s.name, env))
        return this.lenient.names ? ERROR : this.error(Diagnostics.Index_variable_0_not_bound, s.span, s.name);
      return this.evalExpr(s, env);
    });
    if (subs.some((s) => "k" in s && s.k === "error")) return ERROR;
    const isLoad = subs.some((s) => "k" in s && s.k === "scalar");
    if (isLoad) {
      if (subs.some((s) => !("k" in s))) return this.error(Diagnostics.Value_out_of_range_0_1, e.span, "subscript", "slices cannot be mixed with index variables");
      if (subs.length !== t.shape.length) return this.error(Diagnostics.Wrong_number_of_indices_0_for_rank_1, e.span, subs.length, t.shape.length);
      const idx: SExpr[] = [];
      subs.forEach((s, k) => {
        const sub = e.subscripts[k] as A.Expr;
        if (sub.kind === "Name") this.recordExtent(env, sub, t.shape[k]!);
        const x = this.asScalar(s as Val, sub.span);
        if (x) idx.push(x);
      });
      if (idx.length !== subs.length) return ERROR;
      const r = this.build(e.span, () => sLoad(t, idx));
      return r ? { k: "scalar", e: r } : ERROR;
    }
    return this.slice(t, subs, e, env);
  }

  private recordExtent(env: Env, name: A.Name, extent: Dim): void {
    const b = env.lookup(name.name);
    if (!b || b.kind !== "index") return;
    const ix = b.ix;
    if (ix.explicit) {
      if (ix.explicit !== extent && extent.value !== 1) {
        /* an explicit extent may differ from the axis it indexes (e.g. a data-dependent bound); reads are bounds-checked */
      }
      return;
    }
    if (!ix.inferred) ix.inferred = { d: extent, span: name.span };
    else if (ix.inferred.d !== extent)
      this.bag.add(Diagnostics.Extent_0_of_1_conflicts_with_2, name.span, [extent.toString(), ix.name, ix.inferred.d.toString()], [
        { message: `'${ix.name}' ranges over ${ix.inferred.d.toString()} here.`, span: ix.inferred.span },
      ]);
  }

  /** Whole-tensor subscripts: ints select, slices slice, None inserts an axis, ... fills. */
  private slice(t: import("../compiler/graph/ops.ts").Node, subs: (Val | A.Slice | A.Ellipsis)[], e: A.Index, env: Env): Val {
    const nEll = subs.filter((s) => !("k" in s) && s.kind === "Ellipsis").length;
    if (nEll > 1) return this.error(Diagnostics.Value_out_of_range_0_1, e.span, "subscript", "at most one '...'");
    const consuming = subs.filter((s) => !("k" in s && s.k === "none") && !(!("k" in s) && s.kind === "Ellipsis")).length;
    if (consuming > t.shape.length) return this.error(Diagnostics.Wrong_number_of_indices_0_for_rank_1, e.span, consuming, t.shape.length);
    const expanded: (Val | A.Slice | "all")[] = [];
    for (const s of subs) {
      if (!("k" in s) && s.kind === "Ellipsis") for (let i = 0; i < t.shape.length - consuming; i++) expanded.push("all");
      else expanded.push(s);
    }
    while (expanded.filter((s) => !(typeof s === "object" && "k" in s && s.k === "none")).length < t.shape.length) expanded.push("all");
    let x = t;
    let axis = 0;
    const drops: number[] = [];
    for (let k = 0; k < expanded.length; k++) {
      const s = expanded[k]!;
      const span = e.subscripts[k]?.span ?? e.span;
      if (s === "all") {
        axis++;
        continue;
      }
      if ("k" in s) {
        if (s.k === "none") {
          const r = this.build(span, () => this.g.unsqueeze(x, axis));
          if (!r) return ERROR;
          x = r;
          axis++;
          continue;
        }
        const i = this.asInt(s, span);
        if (i === undefined) return ERROR;
        const n = x.shape[axis]!;
        const at = i.value !== undefined && i.value < 0 ? D.add(n, i) : i;
        const r = this.build(span, () => this.g.slice(x, axis, at, D.add(at, 1), 1));
        if (!r) return ERROR;
        x = r;
        drops.push(axis);
        axis++;
        continue;
      }
      const [st, sp, stp] = [s.start, s.stop, s.step].map((p) => (p ? this.asInt(this.evalExpr(p, env), p.span) ?? null : undefined));
      if (st === null || sp === null || stp === null) return ERROR;
      const step = stp?.value ?? 1;
      if (stp && stp.value === undefined) return this.error(Diagnostics.Compile_time_value_expected_0, s.step!.span, "slice step");
      const r = this.build(span, () => this.g.slice(x, axis, st ?? undefined, sp ?? undefined, step));
      if (!r) return ERROR;
      x = r;
      axis++;
    }
    if (drops.length) {
      const shape = x.shape.filter((_, i) => !drops.includes(i));
      return this.tensor(e.span, () => this.g.reshape(x, shape));
    }
    return { k: "tensor", t: x };
  }

  private evalReduction(e: A.Reduction, env: Env): Val {
    const inner = env.child();
    const binds = this.bindIndexVars(e.vars, env, inner);
    if (!binds) return ERROR;
    this.indexDepth++;
    let cond: Val | undefined;
    let body: Val;
    try {
      cond = e.cond ? this.evalExpr(e.cond, inner) : undefined;
      body = this.evalExpr(e.body, inner);
    } finally {
      this.indexDepth--;
    }
    if (body.k === "error" || cond?.k === "error") return ERROR;
    const be = this.asScalar(body, e.body.span);
    const ce = cond ? this.asScalar(cond, e.cond!.span) : undefined;
    if (!be || (cond && !ce)) return ERROR;
    const extents: Dim[] = [];
    for (const b of binds) {
      const ext = b.explicit ?? b.inferred?.d;
      if (!ext) {
        this.error(Diagnostics.Cannot_infer_extent_of_0, b.span, b.name);
        return ERROR;
      }
      extents.push(ext);
    }
    const r = this.build(e.opSpan, () => this.g.reduceExpr(e.op, binds.map((b) => b.v), extents, be, ce));
    return r ? { k: "scalar", e: r } : ERROR;
  }

  private evalMember(e: A.Member, env: Env): Val {
    const o = this.evalExpr(e.object, env);
    if (o.k === "error") return ERROR;
    if (o.k === "tuple" && o.names) {
      const i = o.names.indexOf(e.name.name);
      if (i >= 0) return o.items[i]!;
    }
    return this.error(Diagnostics.Unknown_member_0_of_1, e.name.span, e.name.name, A_toString(e.object));
  }

  // ── calls ────────────────────────────────────────────────────────────────────────────────

  private evalCall(e: A.Call, env: Env): Val {
    if (e.callee.kind === "Name" && !this.resolves(e.callee.name, env))
      return this.lenient.names ? ERROR : this.error(Diagnostics.Unknown_function_0, e.callee.span, e.callee.name);
    const callee = this.evalExpr(e.callee, env);
    if (callee.k === "error") return ERROR;
    if (callee.k === "builtin") {
      return callBuiltin(this, callee.name, e, env);
    }
    if (callee.k === "fn") return this.callFn(callee.decl, callee.scope, e, env);
    if (callee.k === "lambda") {
      const args = e.args.map((a) => this.evalExpr(a.value, env));
      return this.callLambda(callee, args, e.span) ?? ERROR;
    }
    return this.error(Diagnostics.Value_0_is_not_callable, e.callee.span, A_toString(e.callee));
  }

  /** Inlines a fn: binds formals (checking dtypes, ranks and dims), evaluates the body. */
  private callFn(decl: A.FnDecl, scope: ModuleScope, call: A.Call, env: Env): Val {
    if (this.inlineStack.includes(decl) || this.inlineStack.length > MAX_INLINE_DEPTH) return this.error(Diagnostics.Recursive_call_0, call.span, decl.name.name);
    if (++this.inlinedCalls > MAX_INLINED_CALLS) {
      // reported once, at the call that crossed the limit; later calls fail silently
      if (this.inlinedCalls === MAX_INLINED_CALLS + 1)
        this.error(Diagnostics.Too_many_inlined_calls_0_1, call.span, decl.name.name, MAX_INLINED_CALLS);
      return ERROR;
    }
    const fenv = new Env(undefined, scope);
    const dup = decl.formals.find((f, i) => decl.formals.findIndex((g) => g.name.name === f.name.name) !== i);
    if (dup) return this.error(Diagnostics.Duplicate_name_0, dup.name.span, dup.name.name);
    const bound = this.bindArgs(decl.name.name, decl.formals.map((f) => ({ name: f.name.name })), call, env, decl.formals.map((f) => !!f.default));
    if (!bound) return ERROR;
    let ok = true;
    decl.formals.forEach((f, i) => {
      let v = bound[i];
      if (v === undefined) {
        if (!f.default) return;
        v = this.evalExpr(f.default, fenv);
      }
      if (v.k === "error") {
        ok = false;
        fenv.set(f.name.name, { kind: "val", val: ERROR });
        return;
      }
      const argSpan = call.args.find((a) => a.name?.name === f.name.name)?.span ?? call.args[i]?.span ?? call.span;
      const checked = this.bindFormal(f, v, fenv, argSpan, decl.name.name);
      if (!checked) ok = false;
      fenv.set(f.name.name, { kind: "val", val: checked ?? ERROR, span: f.name.span });
    });
    if (!ok) return ERROR;
    this.inlineStack.push(decl);
    this.enterDecl(decl);
    try {
      const ret = this.evalBody(decl.body, fenv, decl);
      if (!ret) return ERROR;
      // `return (a, b)` against a declared (T1, T2) is the same as `return a, b` (as for graphs)
      const one = ret.vals.length === 1 ? ret.vals[0]! : undefined;
      const vals = decl.ret && decl.ret.length !== 1 && one?.k === "tuple" ? [...one.items] : ret.vals;
      if (decl.ret) {
        if (decl.ret.length !== vals.length) return this.error(Diagnostics.Returns_0_values_declared_1, ret.span, vals.length, decl.ret.length);
        for (let i = 0; i < vals.length; i++) {
          const v = vals[i]!;
          if (v.k === "error") return ERROR;
          const ty = decl.ret[i]!;
          if (["int", "float", "bool"].includes(ty.dtype.name) && ty.dims === undefined) continue;
          const vs = (vals === ret.vals ? ret.spans[i] : ret.spans[0]) ?? ret.span;
          const t = this.asTensor(v, vs);
          if (!t || !this.checkType(t, ty, fenv, vs)) return ERROR;
        }
      }
      return one ?? { k: "tuple", items: vals };
    } finally {
      this.inlineStack.pop();
      this.lenientStack.pop();
    }
  }

  /** Checks one fn argument against its formal; binds the formal's dims into fenv. */
  private bindFormal(f: A.Formal, v: Val, fenv: Env, span: Span, fname: string): Val | undefined {
    const dn = f.type.dtype.name;
    if (f.type.dims === undefined && (dn === "int" || dn === "float" || dn === "bool")) {
      if (dn === "int") {
        const d = v.k === "int" ? v.d : undefined;
        if (!d) return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, "a compile-time int", describe(v));
        return v;
      }
      if (dn === "float") {
        if (v.k === "float") return v;
        if (v.k === "int" && v.d.value !== undefined) return { k: "float", v: v.d.value };
        if (v.k === "tensor" && v.t.shape.length === 0 && isFloat(v.t.dtype as DType)) return v;
        return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, "a float", describe(v));
      }
      if (v.k !== "bool") return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, "a compile-time bool", describe(v));
      return v;
    }
    if (dn === "fn" || dn === "lambda") {
      if (v.k !== "lambda" && v.k !== "fn") return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, "a function", describe(v));
      return v;
    }
    const t = this.asTensor(v, span);
    if (!t) return undefined;
    if (dn !== "tensor" && !(dn === "float" && isFloat(t.dtype as DType)) && dn !== t.dtype) {
      if (!isDType(dn) && dn !== "float") return void this.error(Diagnostics.Unknown_dtype_0, f.type.dtype.span, dn);
      return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, `${dn}${f.type.dims ? `[${f.type.dims.map(A_toString).join(", ")}]` : ""}`, describe(v));
    }
    if (!f.type.dims && isDType(dn) && t.shape.length !== 0)
      return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, `${dn}[] (a scalar)`, describe(v));
    if (f.type.dims) {
      if (f.type.dims.length !== t.shape.length)
        return void this.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, span, f.name.name, fname, `rank ${f.type.dims.length} [${f.type.dims.map(A_toString).join(", ")}]`, describe(v));
      for (let i = 0; i < f.type.dims.length; i++) {
        const de = f.type.dims[i]!;
        const actual = t.shape[i]!;
        if (de.kind === "Name" && !fenv.hasOwn(de.name) && !fenv.scope.params.has(de.name)) {
          fenv.set(de.name, { kind: "val", val: { k: "int", d: actual }, span: de.span });
          continue;
        }
        const want = this.evalDim(de, fenv, true);
        if (want === undefined) return undefined;
        if (want !== actual)
          return void this.bag.add(Diagnostics.Dim_0_inconsistent_1_vs_2, span, [A_toString(de), actual.toString(), want.toString()], [
            { message: `'${fname}' declares '${f.name.name}: ${dn}[${f.type.dims.map(A_toString).join(", ")}]' here.`, span: f.type.span },
          ]);
      }
    }
    return { k: "tensor", t };
  }

  /**
   * Binds call arguments to parameter names: positional first, then named; reports unknown,
   * duplicate and missing arguments. Returns values by parameter position (undefined = absent).
   */
  bindArgs(
    fname: string,
    params: readonly { name: string }[],
    call: A.Call,
    env: Env,
    optional: readonly boolean[],
    lazy?: ReadonlySet<string>,
  ): (Val | undefined)[] | undefined {
    const out: (Val | undefined)[] = params.map(() => undefined);
    const given = new Set<number>();
    let ok = true;
    let sawNamed = false;
    call.args.forEach((a, i) => {
      let pos: number;
      if (a.name) {
        sawNamed = true;
        pos = params.findIndex((p) => p.name === a.name!.name);
        if (pos < 0) {
          this.error(Diagnostics._0_has_no_parameter_named_1, a.name.span, fname, a.name.name);
          ok = false;
          return;
        }
      } else {
        if (sawNamed) {
          this.error(Diagnostics.Positional_argument_after_named, a.span);
          ok = false;
          return;
        }
        pos = i;
        if (pos >= params.length) {
          this.error(Diagnostics._0_expects_1_arguments_got_2, a.span, fname, params.length, call.args.length);
          ok = false;
          return;
        }
      }
      if (given.has(pos)) {
        this.error(Diagnostics.Argument_0_given_twice, a.span, params[pos]!.name);
        ok = false;
        return;
      }
      given.add(pos);
      out[pos] = lazy?.has(params[pos]!.name) ? { k: "none" } : this.evalExpr(a.value, env);
    });
    params.forEach((p, i) => {
      if (!given.has(i) && !optional[i] && ok) {
        this.error(Diagnostics.Missing_argument_0_of_1, call.span, p.name, fname);
        ok = false;
      }
    });
    return ok ? out : undefined;
  }

  /** Calls a lambda value with evaluated arguments (iterate steps, user calls of lambdas). */
  callLambda(l: Extract<Val, { k: "lambda" }>, args: readonly Val[], span: Span): Val | undefined {
    if (l.ast.params.length !== args.length) {
      this.error(Diagnostics._0_expects_1_arguments_got_2, span, "lambda", l.ast.params.length, args.length);
      return undefined;
    }
    const env = l.env.child();
    l.ast.params.forEach((p, i) => env.set(p.name, { kind: "val", val: args[i]!, span: p.span }));
    return this.evalLambdaBody(l.ast, env);
  }

  evalLambdaBody(l: A.Lambda, env: Env): Val | undefined {
    if (l.body.kind === "Block") {
      const r = this.evalBody(l.body, env);
      if (!r) return undefined;
      return r.vals.length === 1 ? r.vals[0]! : { k: "tuple", items: r.vals };
    }
    return this.evalExpr(l.body, env);
  }

  /** Binds a hook lambda's parameters to index variables (and the logit) and evaluates it. */
  hookBody(l: Extract<Val, { k: "lambda" }>, bindings: readonly ({ name: "score"; e: SExpr } | { name: "index"; v: import("../compiler/graph/expr.ts").SVar; extent: Dim })[]): Val {
    const env = l.env.child();
    l.ast.params.forEach((p, i) => {
      const b = bindings[i]!;
      if (b.name === "score") env.set(p.name, { kind: "val", val: { k: "scalar", e: b.e }, span: p.span });
      else {
        this.varNames.set(b.v.id, p.name);
        env.set(p.name, { kind: "index", ix: { v: b.v, name: p.name, explicit: b.extent, inferred: undefined, span: p.span } });
      }
    });
    this.indexDepth++;
    try {
      return this.evalLambdaBody(l.ast, env) ?? ERROR;
    } finally {
      this.indexDepth--;
    }
  }
}

/** What a `return` gave: the values, the statement's span and each value's span. */
type Returned = { vals: Val[]; span: Span; spans: Span[] };

/** The names a `let` target binds. */
function letNames(t: A.Target): A.Ident[] {
  return t.kind === "TupleTarget" ? [...t.names] : [t.name];
}

const A_toString = (e: A.Expr): string => {
  switch (e.kind) {
    case "Name":
      return e.name;
    case "Num":
      return e.text;
    default:
      return exprText(e);
  }
};

import { exprToString as exprText } from "./ast.ts";

export { sCast };

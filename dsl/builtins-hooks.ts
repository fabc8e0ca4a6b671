/**
 * The builtins whose arguments include lambdas: attention (score and mask hooks, block routes,
 * side outputs) and iterate (the step). builtins.ts registers them.
 */
import { Diagnostics } from "../compiler/diagnostics/messages.ts";
import * as D from "../compiler/graph/dim.ts";
import { dim, shapeToString, type Dim } from "../compiler/graph/dim.ts";
import { isFloat } from "../compiler/graph/dtype.ts";
import type { Node } from "../compiler/graph/ops.ts";
import type { SExpr } from "../compiler/graph/expr.ts";
import type { AttentionOptions } from "../compiler/graph/builder.ts";
import { ERROR, describe, type Val } from "./values.ts";
import { int, tensor, type Args } from "./builtin-args.ts";

// ── attention ──────────────────────────────────────────────────────────────────────────────

/** attention(q, k, v, scale:, score:, mask:, bias:, value_scale:, blocks:, block_q:, block_k:, returns:) */
export function attention(a: Args): Val {
  const [q0, k, v] = [tensor(a, 0), tensor(a, 1), tensor(a, 2)];
  if (!q0 || !k || !v) return ERROR;
  let q = q0;
  const o: AttentionOptions = {};
  const sv = a.vals[3];
  if (sv) {
    if (sv.k === "float" || (sv.k === "int" && sv.d.value !== undefined)) o.scale = sv.k === "float" ? sv.v : sv.d.value!;
    else {
      const st = a.el.asTensor(sv, a.spans[3]!);
      if (!st) return ERROR;
      if (st.shape.length !== 0) return a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[3], "scale", "attention", "a number or a scalar tensor", describe(sv));
      const qq = a.el.build(a.spans[3]!, () => a.el.g.mul(q, st));
      if (!qq) return ERROR;
      q = qq;
      o.scale = 1;
    }
  }
  const rank = Math.max(q.shape.length, k.shape.length, v.shape.length);
  const nb = rank - 2;
  const batchDims = (): Dim[] => {
    const pick = (t: Node, i: number) => t.shape[t.shape.length - rank + i];
    return [...Array(nb).keys()].map((i) => [pick(q, i), pick(k, i), pick(v, i)].find((d) => d && d.value !== 1) ?? dim(1));
  };
  const Nq = q.shape[q.shape.length - 2]!;
  const Nk = k.shape[k.shape.length - 2]!;
  const hook = (i: number, name: "score" | "mask") => {
    const l = a.vals[i];
    if (!l) return true;
    if (l.k !== "lambda") {
      if (l.k !== "error") a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[i], name, "attention", "a lambda", describe(l));
      return false;
    }
    const want = nb + 2 + (name === "score" ? 1 : 0);
    if (l.ast.params.length !== want) {
      const names = [...(name === "score" ? ["s"] : []), ...["b", "h", "g", "u"].slice(0, nb), "i", "j"].join(", ");
      a.el.error(Diagnostics.Hook_0_expects_1_params_got_2, l.ast.span, name, want, l.ast.params.length, names);
      return false;
    }
    let failed = false;
    const run = (s: SExpr | undefined, vars: import("../compiler/graph/expr.ts").SVar[]) => {
      const ext = [...batchDims(), Nq, Nk];
      const binds = [
        ...(s ? [{ name: "score" as const, e: s }] : []),
        ...vars.map((vv, k2) => ({ name: "index" as const, v: vv, extent: ext[k2]! })),
      ];
      const r = a.el.hookBody(l, binds);
      if (r.k === "error") {
        failed = true;
        return s ?? true;
      }
      const e = a.el.asScalar(r, l.ast.body.span);
      if (!e) failed = true;
      // the hook's result type is checked here, where the lambda's span is known
      else if (name === "mask" ? e.dtype !== "bool" : !isFloat(e.dtype)) {
        a.el.error(Diagnostics.Hook_0_must_return_1_got_2, l.ast.body.span, name, name === "mask" ? "bool" : "a float", e.dtype);
        failed = true;
        return s ?? true;
      }
      return e ?? s ?? true;
    };
    if (name === "score") o.score = (s, vars) => run(s, vars);
    else o.mask = (vars) => run(undefined, vars);
    return () => !failed;
  };
  const okScore = hook(4, "score");
  const okMask = hook(5, "mask");
  if (!okScore || !okMask) return ERROR;
  if (a.vals[6]) {
    const b = tensor(a, 6);
    if (!b) return ERROR;
    o.bias = b;
  }
  if (a.vals[7]) {
    const b = tensor(a, 7);
    if (!b) return ERROR;
    o.valueScale = b;
  }
  if (a.vals[8]) {
    const route = tensor(a, 8);
    const bq = int(a, 9);
    const bk = int(a, 10) ?? bq;
    if (!route) return ERROR;
    if (!bq || !bk) return a.el.error(Diagnostics.Missing_argument_0_of_1, a.call.span, "block_q", "attention (with blocks)");
    o.blocks = { route, blockQ: bq, blockK: bk };
  }
  const retArg = a.call.args.find((x) => x.name?.name === "returns");
  if (retArg) {
    const list = retArg.value;
    if (list.kind !== "List") return a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, list.span, "returns", "attention", "a list like [lse, probs(rows: r), mass(keys: m)]", "another expression");
    const rets: NonNullable<AttentionOptions["returns"]>[number][] = [];
    for (const it of list.items) {
      if (it.kind === "Name" && it.name === "lse") rets.push({ kind: "lse" });
      else if (it.kind === "Call" && it.callee.kind === "Name" && (it.callee.name === "probs" || it.callee.name === "mass") && it.args.length !== 1)
        return a.el.error(Diagnostics._0_expects_1_arguments_got_2, it.span, it.callee.name, 1, it.args.length);
      else if (it.kind === "Call" && it.callee.kind === "Name" && (it.callee.name === "probs" || it.callee.name === "mass") && it.args.length === 1) {
        const key = it.callee.name === "probs" ? "rows" : "keys";
        const arg = it.args[0]!;
        if (arg.name && arg.name.name !== key) return a.el.error(Diagnostics._0_has_no_parameter_named_1, arg.name.span, it.callee.name, arg.name.name);
        const val = a.el.evalExpr(arg.value, a.env);
        let t: Node | undefined;
        if (val.k === "list" && key === "rows") {
          const rows: number[] = [];
          for (const x of val.items) {
            const d = a.el.asInt(x, arg.value.span);
            if (d === undefined) return ERROR;
            if (d.value === undefined) return a.el.error(Diagnostics.Compile_time_value_expected_0, arg.value.span, "row index");
            rows.push(d.value);
          }
          t = a.el.build(arg.span, () => a.el.g.constant(rows, "i32"));
        } else t = a.el.asTensor(val, arg.value.span);
        if (!t) return ERROR;
        if (key === "keys" && t.dtype !== "bool") return a.el.error(Diagnostics.Operand_of_0_must_be_1_got_2, arg.value.span, "mass(keys:)", "bool", t.dtype);
        if (key === "rows" && t.dtype !== "i32" && t.dtype !== "u32") return a.el.error(Diagnostics.Index_must_be_integer_got_0, arg.value.span, t.dtype);
        rets.push(key === "rows" ? { kind: "probs", rows: t } : { kind: "mass", keys: t });
      } else return a.el.error(Diagnostics.Unknown_attention_return_0, it.span, it.kind === "Name" ? it.name : it.kind === "Call" && it.callee.kind === "Name" ? it.callee.name : "expression");
    }
    o.returns = rets;
  }
  const r = a.el.build(a.call.span, () => a.el.g.attention(q, k, v, o));
  if (!r || (typeof okScore === "function" && !okScore()) || (typeof okMask === "function" && !okMask())) return ERROR;
  if (Array.isArray(r)) {
    const names = ["o", ...(o.returns ?? []).map((x) => x.kind)];
    return { k: "tuple", items: r.map((t) => ({ k: "tensor", t })), names };
  }
  return { k: "tensor", t: r };
}

// ── iteration ──────────────────────────────────────────────────────────────────────────────

/** iterate(n, init, step): step is a lambda of the state (and optionally the iteration number). */
export function iterate(a: Args): Val {
  const n = int(a, 0);
  const init = a.vals[1]!;
  const step = a.vals[2]!;
  if (!n || init.k === "error" || step.k === "error") return ERROR;
  const isTuple = init.k === "tuple";
  const inits = (isTuple ? init.items : [init]).map((v) => a.el.asTensor(v, a.spans[1]!));
  if (inits.some((t) => !t)) return ERROR;
  if (step.k !== "lambda") return a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[2], "step", "iterate", "a lambda", describe(step));
  const ns = inits.length;
  const np = step.ast.params.length;
  if (np !== ns && np !== ns + 1) return a.el.error(Diagnostics.Hook_0_expects_1_params_got_2, step.ast.span, "iterate step", `${ns} or ${ns + 1}`, np, "the state, then optionally the iteration number");
  let failed = false;
  const r = a.el.build(a.call.span, () =>
    a.el.g.iterate(n, inits as Node[], (state, t) => {
      const args: Val[] = state.map((s) => ({ k: "tensor", t: s }));
      if (np === ns + 1) args.push({ k: "tensor", t });
      const out = a.el.callLambda(step, args, step.ast.span);
      if (!out || out.k === "error") {
        failed = true;
        return state;
      }
      const items = out.k === "tuple" ? out.items : [out];
      if (items.length !== ns) {
        a.el.error(Diagnostics.Tuple_arity_0_vs_1, step.ast.span, ns, items.length);
        failed = true;
        return state;
      }
      const ts = items.map((v) => a.el.asTensor(v, step.ast.body.span));
      if (ts.some((x) => !x)) {
        failed = true;
        return state;
      }
      // the state must keep its type; reported here to name the state and point at the step
      for (let i = 0; i < ns; i++) {
        const [was, now] = [state[i]!, ts[i]!];
        if (was.dtype !== now.dtype || !D.shapeEq(was.shape, now.shape)) {
          const nm = step.ast.params[i]?.name ?? String(i);
          a.el.error(Diagnostics.Iterate_state_0_changes_type_1_to_2, step.ast.body.span, nm, `${was.dtype}${shapeToString(was.shape)}`, `${now.dtype}${shapeToString(now.shape)}`);
          failed = true;
          return state;
        }
      }
      return ts as Node[];
    }),
  );
  if (!r || failed) return ERROR;
  return isTuple ? { k: "tuple", items: r.map((t) => ({ k: "tensor", t })) } : { k: "tensor", t: r[0]! };
}

/**
 * Values of the elaborator: what an attn expression denotes while the front end builds graph IR.
 * Compile-time values (ints that may be symbolic dims, floats, bools, dtypes, strings, lists,
 * tuples, lambdas, functions) fold away; tensors are graph nodes; scalars are index-notation
 * expressions (inside `let z[i, j] = …` bodies and attention hooks). `error` poisons silently so
 * one mistake gives one diagnostic.
 */
import type { Dim } from "../compiler/graph/dim.ts";
import type { DType } from "../compiler/graph/dtype.ts";
import type { SExpr, SVar } from "../compiler/graph/expr.ts";
import type { Node } from "../compiler/graph/ops.ts";
import type { FnDecl, Lambda } from "./ast.ts";
import type { Span } from "../compiler/diagnostics/source.ts";

export type Val =
  | { readonly k: "tensor"; readonly t: Node }
  | { readonly k: "int"; readonly d: Dim }
  | { readonly k: "float"; readonly v: number }
  | { readonly k: "bool"; readonly v: boolean }
  | { readonly k: "dtype"; readonly dt: DType }
  | { readonly k: "str"; readonly v: string }
  | { readonly k: "none" }
  | { readonly k: "tuple"; readonly items: readonly Val[]; readonly names?: readonly string[] }
  | { readonly k: "list"; readonly items: readonly Val[] }
  | { readonly k: "lambda"; readonly ast: Lambda; readonly env: Env }
  | { readonly k: "fn"; readonly decl: FnDecl; readonly scope: ModuleScope }
  | { readonly k: "builtin"; readonly name: string }
  | { readonly k: "scalar"; readonly e: SExpr }
  | { readonly k: "error" };

export const ERROR: Val = { k: "error" };

export function describe(v: Val): string {
  switch (v.k) {
    case "tensor":
      return v.t.dtype === "tuple" ? "a tuple" : `a tensor ${v.t.dtype}[${v.t.shape.join(", ")}]`;
    case "int":
      return `the integer ${v.d.toString()}`;
    case "float":
      return `the number ${v.v}`;
    case "bool":
      return `the bool ${v.v}`;
    case "dtype":
      return `the dtype ${v.dt}`;
    case "str":
      return "a string";
    case "none":
      return "None";
    case "tuple":
      return `a tuple of ${v.items.length}`;
    case "list":
      return `a list of ${v.items.length}`;
    case "lambda":
      return "a lambda";
    case "fn":
      return `the function '${v.decl.name.name}'`;
    case "builtin":
      return `the builtin '${v.name}'`;
    case "scalar":
      return `a scalar ${v.e.dtype}`;
    case "error":
      return "an erroneous value";
  }
}

/** An index variable in scope, with the extent it was given or inferred. */
export interface IndexBinding {
  readonly v: SVar;
  readonly name: string;
  explicit: Dim | undefined;
  inferred: { d: Dim; span: Span } | undefined;
  readonly span: Span;
}

export type Binding = { readonly kind: "val"; readonly val: Val; readonly span?: Span } | { readonly kind: "index"; readonly ix: IndexBinding };

/** Lexical environment: a chain of scopes. */
export class Env {
  private readonly names = new Map<string, Binding>();
  constructor(
    readonly parent: Env | undefined,
    readonly scope: ModuleScope,
  ) {}

  lookup(name: string): Binding | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }

  hasOwn(name: string): boolean {
    return this.names.has(name);
  }

  set(name: string, b: Binding): void {
    this.names.set(name, b);
  }

  child(): Env {
    return new Env(this, this.scope);
  }
}

/** The names a module defines (its params, fns, graphs and imports). */
export interface ModuleScope {
  readonly path: string;
  readonly params: Map<string, Val>;
  readonly fns: Map<string, FnDecl>;
  readonly imports: Map<string, { decl: FnDecl; scope: ModuleScope }>;
}

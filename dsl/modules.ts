/**
 * Loading modules: parsing a file, resolving its imports (`std/…` from the standard library in
 * dsl/std, relative paths from the importing file), and evaluating its params (with -D overrides).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Diagnostics } from "../compiler/diagnostics/messages.ts";
import { SourceFile, type Span } from "../compiler/diagnostics/source.ts";
import type { Diagnostic, DiagnosticBag } from "../compiler/diagnostics/diagnostic.ts";
import { dim } from "../compiler/graph/dim.ts";
import type * as A from "./ast.ts";
import { parse } from "./index.ts";
import type { Elaborator } from "./elaborate.ts";
import { Env, ERROR, describe, type ModuleScope, type Val } from "./values.ts";

/** Where `import … from "std/x"` looks. */
export const STD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "std");

export type Define = number | boolean;

export interface LoadedModule {
  readonly file: SourceFile;
  readonly ast: A.Module;
  readonly scope: ModuleScope;
}

export interface ModuleHost {
  /** Reads a module's text; undefined when it does not exist. */
  read(path: string): string | undefined;
}

export const fsHost: ModuleHost = {
  read: (p) => {
    if (!existsSync(p)) return undefined;
    try {
      return readFileSync(p, "utf8");
    } catch {
      return undefined; // a directory or an unreadable file: reported as a module that cannot be found
    }
  },
};

interface Parsed {
  readonly file: SourceFile;
  readonly module: A.Module;
  readonly diagnostics: readonly Diagnostic[];
}

function parseFresh(path: string, text: string): Parsed {
  const file = new SourceFile(path, text);
  return { file, ...parse(file) };
}

/**
 * Imported modules (the standard library, mostly) parsed once per process, by path and text:
 * parsing is pure and nothing mutates an AST, so every compile that imports std/attention
 * shares one parse. Bounded; the least recently used entry goes first.
 */
const imported = new Map<string, Parsed>();
const IMPORT_CACHE_SIZE = 64;

function parseImported(path: string, text: string): Parsed {
  const key = `${path}\0${text}`;
  let p = imported.get(key);
  if (p) imported.delete(key);
  else p = parseFresh(path, text);
  imported.set(key, p);
  if (imported.size > IMPORT_CACHE_SIZE) imported.delete(imported.keys().next().value!);
  return p;
}

export class ModuleLoader {
  private readonly cache = new Map<string, LoadedModule | null>();
  private readonly loading = new Set<string>();

  constructor(
    readonly bag: DiagnosticBag,
    readonly el: Elaborator,
    readonly host: ModuleHost = fsHost,
    readonly defines: ReadonlyMap<string, Define> = new Map(),
  ) {}

  /** Loads the root module from its text. */
  loadRoot(path: string, text: string): LoadedModule {
    return this.loadText(path, text, true)!;
  }

  private loadText(path: string, text: string, root: boolean): LoadedModule | undefined {
    const { file, module, diagnostics } = root ? parseFresh(path, text) : parseImported(path, text);
    diagnostics.forEach((d) => this.bag.push(d));
    this.el.noteSyntaxErrors(file, module, diagnostics);
    const scope: ModuleScope = { path, params: new Map(), fns: new Map(), imports: new Map() };
    const loaded: LoadedModule = { file, ast: module, scope };
    // keyed by absolute path: the root may be given relative, and an import of it must find it
    const key = resolve(path);
    this.cache.set(key, loaded);
    this.loading.add(key);
    try {
      const seen = new Map<string, Span>();
      const declare = (name: A.Ident) => {
        const prev = seen.get(name.name);
        if (prev) {
          this.bag.add(Diagnostics.Duplicate_name_0, name.span, [name.name], [{ message: `'${name.name}' is first declared here.`, span: prev }]);
          return false;
        }
        seen.set(name.name, name.span);
        return true;
      };
      for (const it of module.items) {
        if (it.kind === "Import") this.resolveImport(it, path, scope, declare);
        else if (it.kind === "FnDecl") {
          if (declare(it.name)) scope.fns.set(it.name.name, it);
        } else if (it.kind === "ParamDecl") {
          if (declare(it.name)) scope.params.set(it.name.name, this.evalParam(it, scope, root));
        } else if (it.kind === "Schedule") {
          for (const s of it.items) this.bag.add(Diagnostics.Schedule_directive_ignored_0, s.span, [s.kind === "Call" && s.callee.kind === "Name" ? s.callee.name : s.kind === "Name" ? s.name : "expression"]);
        }
      }
    } finally {
      this.loading.delete(key);
    }
    return loaded;
  }

  private resolveImport(it: A.Import, from: string, scope: ModuleScope, declare: (n: A.Ident) => boolean): void {
    const spec = it.from.value;
    const base = spec.startsWith("std/") ? resolve(STD_DIR, spec.slice(4)) : resolve(dirname(from), spec);
    const path = base.endsWith(".attn") ? base : `${base}.attn`;
    if (this.loading.has(path)) {
      this.bag.add(Diagnostics.Import_cycle_0, it.from.span, [spec]);
      return;
    }
    let mod = this.cache.get(path);
    if (mod === undefined) {
      const text = this.host.read(path);
      mod = text === undefined ? null : this.loadText(path, text, false) ?? null;
      this.cache.set(path, mod);
    }
    if (!mod) {
      this.bag.add(Diagnostics.Cannot_find_module_0, it.from.span, [spec]);
      return;
    }
    for (const n of it.names) {
      const decl = mod.scope.fns.get(n.name) ?? mod.scope.imports.get(n.name)?.decl;
      const owner = mod.scope.fns.has(n.name) ? mod.scope : mod.scope.imports.get(n.name)?.scope;
      if (!decl || !owner) {
        this.bag.add(Diagnostics.Module_0_has_no_export_1, n.span, [spec, n.name]);
        continue;
      }
      if (declare(n)) scope.imports.set(n.name, { decl, scope: owner });
    }
  }

  /** A param's value: its -D override (root module only) or its default, checked against its kind. */
  private evalParam(p: A.ParamDecl, scope: ModuleScope, root: boolean): Val {
    const kind = p.scalarKind.name;
    if (kind !== "int" && kind !== "float" && kind !== "bool") {
      this.bag.add(Diagnostics.Param_0_must_be_1_got_2, p.scalarKind.span, [p.name.name, "declared int, float or bool", `'${kind}'`]);
      return ERROR;
    }
    const over = root ? this.defines.get(p.name.name) : undefined;
    let v: Val;
    if (over !== undefined) v = typeof over === "boolean" ? { k: "bool", v: over } : Number.isInteger(over) && kind !== "float" ? { k: "int", d: dim(over) } : { k: "float", v: over };
    else v = this.el.evalExpr(p.value, new Env(undefined, scope));
    if (v.k === "error") return ERROR;
    const ok = (kind === "int" && v.k === "int" && v.d.value !== undefined) || (kind === "float" && (v.k === "float" || (v.k === "int" && v.d.value !== undefined))) || (kind === "bool" && v.k === "bool");
    if (!ok) {
      this.bag.add(Diagnostics.Param_0_must_be_1_got_2, over !== undefined ? p.name.span : p.value.span, [p.name.name, kind === "int" ? "a compile-time int" : kind === "float" ? "a number" : "a bool", over !== undefined ? `-D ${p.name.name}=${over}` : describe(v)]);
      return ERROR;
    }
    if (kind === "float" && v.k === "int") return { k: "float", v: v.d.value! };
    return v;
  }
}

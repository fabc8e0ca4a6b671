/**
 * The front half of the public API: attn source → checked graphs + diagnostics. Never throws on
 * user input; an unexpected exception is reported as an internal compiler error naming the stage.
 */
import { DiagnosticBag, type Diagnostic } from "./diagnostics/diagnostic.ts";
import { Diagnostics, formatMessage } from "./diagnostics/messages.ts";
import type { Graph } from "./graph/node.ts";
import { Elaborator } from "../dsl/elaborate.ts";
import { ModuleLoader, fsHost, type Define, type LoadedModule, type ModuleHost } from "../dsl/modules.ts";
import type { Module } from "../dsl/ast.ts";

export interface CompileOptions {
  /** -D name=value overrides of the root module's params. */
  defines?: Record<string, Define>;
  /** Only elaborate this graph (default: every graph in the module). */
  graph?: string;
  /** How imports are read (default: the file system). */
  host?: ModuleHost;
}

export interface CompileResult {
  readonly module: Module | undefined;
  readonly graphs: readonly Graph[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
  /** Set when the compiler itself failed (a bug): the stage and the error. */
  readonly internalError?: { stage: string; error: unknown };
}

export function compileSource(path: string, text: string, opts: CompileOptions = {}): CompileResult {
  const bag = new DiagnosticBag();
  let stage = "parse";
  let root: LoadedModule | undefined;
  const graphs: Graph[] = [];
  const unknownDefines: Diagnostic[] = [];
  try {
    const el = new Elaborator(bag);
    const loader = new ModuleLoader(bag, el, opts.host ?? fsHost, new Map(Object.entries(opts.defines ?? {})));
    root = loader.loadRoot(path, text);
    stage = "check";
    const params = root.scope.params;
    // no span to tell them apart, so they bypass the bag's de-duplication (one per unknown name)
    for (const name of Object.keys(opts.defines ?? {}))
      if (!params.has(name)) unknownDefines.push({ code: Diagnostics.Unknown_param_0.code, category: "error", message: formatMessage(Diagnostics.Unknown_param_0, [name]) });
    const decls = root.ast.items.filter((i) => i.kind === "FnDecl" && i.isGraph);
    if (opts.graph !== undefined && !decls.some((d) => d.kind === "FnDecl" && d.name.name === opts.graph))
      bag.add(Diagnostics.Unknown_graph_0, undefined, [opts.graph]);
    stage = "elaborate";
    for (const d of decls) {
      if (d.kind !== "FnDecl" || (opts.graph !== undefined && d.name.name !== opts.graph)) continue;
      const g = el.elaborateGraph(d, root.scope);
      if (g) graphs.push(g);
    }
    // fns are checked where they are inlined: a fn that no graph calls (e.g. in a library module
    // without graphs) is parsed and declared, but its body is not checked
  } catch (error) {
    return { module: root?.ast, graphs, diagnostics: [...unknownDefines, ...bag.sorted()], ok: false, internalError: { stage, error } };
  }
  const diagnostics = [...unknownDefines, ...bag.sorted()];
  return { module: root?.ast, graphs, diagnostics, ok: !diagnostics.some((d) => d.category === "error"), };
}

/**
 * attnc's public API: compile attn source to graphs, build graphs programmatically, run them on the
 * reference interpreter, and the diagnostics types.
 */
export { compileSource as compile, type CompileOptions, type CompileResult } from "./compile.ts";
export { GraphBuilder, S, type AttentionOptions, type Tensor } from "./graph/builder.ts";
export type { Graph } from "./graph/node.ts";
export type { Node, GOp, OpArgs, TensorType } from "./graph/ops.ts";
export type { DType } from "./graph/dtype.ts";
export { dim, type Dim } from "./graph/dim.ts";
export { BuildError, InternalCompilerError } from "./graph/errors.ts";
export { interpret as run, interpret, randomInputs, type HostTensor } from "./graph/interp.ts";
export { printGraph } from "./graph/print.ts";
export { parseGraph } from "./graph/parse.ts";
export { SourceFile, type Span } from "./diagnostics/source.ts";
export { Diagnostics, type Message, type Category } from "./diagnostics/messages.ts";
export { DiagnosticBag, formatDiagnostic, diagnosticToJson, codeString, type Diagnostic, type Related } from "./diagnostics/diagnostic.ts";

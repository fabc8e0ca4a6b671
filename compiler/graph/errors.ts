/** Errors the builder raises for invalid graphs; the DSL turns them into diagnostics at the call's span. */
import { formatMessage, type Message } from "../diagnostics/messages.ts";

export class BuildError extends Error {
  constructor(
    readonly diag: Message,
    readonly args: readonly unknown[],
  ) {
    super(formatMessage(diag, args));
    this.name = "BuildError";
  }
}

/** An invariant of the compiler itself was broken (a bug, never a user error). */
export class InternalCompilerError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(`internal compiler error in ${stage}: ${message}`);
    this.name = "InternalCompilerError";
  }
}

export function invariant(cond: unknown, stage: string, msg: () => string): asserts cond {
  if (!cond) throw new InternalCompilerError(stage, msg());
}

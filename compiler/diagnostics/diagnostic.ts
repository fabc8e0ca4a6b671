/** Diagnostics: collected (never thrown) user errors with codes and spans; printing in the CLI format. */
import type { Span } from "./source.ts";
import { formatMessage, type Category, type Message } from "./messages.ts";

export interface Related {
  readonly message: string;
  readonly span: Span;
}

export interface Diagnostic {
  readonly code: number;
  readonly category: Category;
  readonly message: string;
  readonly span?: Span;
  readonly related?: readonly Related[];
}

/** Collects diagnostics of one compilation; drops exact duplicates (same file, start, code). */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  add(msg: Message, span: Span | undefined, args: readonly unknown[] = [], related?: readonly Related[]): Diagnostic {
    const d: Diagnostic = { code: msg.code, category: msg.category, message: formatMessage(msg, args), span, related };
    const key = `${span?.file.path ?? ""}:${span?.start ?? -1}:${msg.code}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.items.push(d);
    }
    return d;
  }

  error(msg: Message, span: Span | undefined, ...args: unknown[]): Diagnostic {
    return this.add(msg, span, args);
  }

  push(d: Diagnostic): void {
    const key = `${d.span?.file.path ?? ""}:${d.span?.start ?? -1}:${d.code}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.items.push(d);
    }
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.category === "error");
  }

  /** Sorted by file and position, stable. */
  sorted(): Diagnostic[] {
    return [...this.items].sort(
      (a, b) =>
        (a.span?.file.path ?? "").localeCompare(b.span?.file.path ?? "") ||
        (a.span?.start ?? -1) - (b.span?.start ?? -1),
    );
  }
}

export const codeString = (code: number): string => `ATTN${String(code).padStart(4, "0")}`;

/** `file(line,col): error ATTN1234: message`, then the source line with `~` under the span. */
export function formatDiagnostic(d: Diagnostic, opts: { color?: boolean } = {}): string {
  const out: string[] = [];
  const head = `${d.category} ${codeString(d.code)}: ${d.message}`;
  if (!d.span) {
    out.push(head);
  } else {
    out.push(`${location(d.span)}: ${head}`);
    out.push(...excerpt(d.span));
  }
  for (const r of d.related ?? []) out.push(`${location(r.span)}: note: ${r.message}`, ...excerpt(r.span));
  const text = out.join("\n");
  return opts.color ? text.replace(/^(.*?)(error|warning)( ATTN\d+)/, "$1\x1b[31m$2\x1b[0m$3") : text;
}

function location(s: Span): string {
  const { line, column } = s.file.position(s.start);
  return `${s.file.path}(${line},${column})`;
}

function excerpt(s: Span): string[] {
  const { line, column } = s.file.position(s.start);
  const text = s.file.lineText(line);
  const width = Math.max(1, Math.min(s.length, text.length - column + 1));
  const pad = text.slice(0, column - 1).replace(/[^\t]/g, " ");
  return [`    ${text}`, `    ${pad}${"~".repeat(width)}`];
}

/** Machine-readable form for `--json`. */
export function diagnosticToJson(d: Diagnostic): object {
  const loc = (s: Span) => {
    const a = s.file.position(s.start);
    const b = s.file.position(s.start + s.length);
    return { file: s.file.path, start: s.start, length: s.length, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };
  return {
    code: codeString(d.code),
    category: d.category,
    message: d.message,
    ...(d.span ? { span: loc(d.span) } : {}),
    ...(d.related?.length ? { related: d.related.map((r) => ({ message: r.message, span: loc(r.span) })) } : {}),
  };
}

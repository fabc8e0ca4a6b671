/** Source files and spans: UTF-16 offsets, with line/column computed on demand (esbuild style). */

export class SourceFile {
  private lineStarts: number[] | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; column: number } {
    const starts = this.starts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  }

  /** Text of a 1-based line, without its newline. */
  lineText(line: number): string {
    const starts = this.starts();
    const start = starts[line - 1] ?? this.text.length;
    const next = starts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text[end - 1] === "\r") end--;
    return this.text.slice(start, end);
  }

  private starts(): number[] {
    if (!this.lineStarts) {
      const s = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) s.push(i + 1);
      this.lineStarts = s;
    }
    return this.lineStarts;
  }
}

export interface Span {
  readonly file: SourceFile;
  readonly start: number;
  readonly length: number;
}

export function span(file: SourceFile, start: number, end: number): Span {
  return { file, start, length: Math.max(0, end - start) };
}

/** The smallest span covering both. */
export function joinSpans(a: Span, b: Span): Span {
  const start = Math.min(a.start, b.start);
  const end = Math.max(a.start + a.length, b.start + b.length);
  return { file: a.file, start, length: end - start };
}

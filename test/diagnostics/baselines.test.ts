/**
 * Diagnostics baselines, in the style of TypeScript's `.errors.txt`: each `cases/<name>.attn` is a
 * small program with one (sometimes two) mistakes. It is compiled with compileSource under the
 * relative path `cases/<name>.attn` (so baselines do not depend on the machine), every diagnostic
 * is rendered with formatDiagnostic, and the text must equal `baselines/<name>.errors.txt`.
 *
 * Headers understood in a case (comment lines anywhere in the file):
 *   // expect: ATTN3002 [ATTN1005 ...]   codes that must be among the diagnostics (at least one)
 *   // @define name=value                 a -D override (int, float, true/false)
 *
 * `UPDATE_BASELINES=1 npx vitest run test/diagnostics` rewrites the baselines; review the diff.
 * Helper modules imported by cases live in `cases/lib/` and are not cases themselves.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { codeString, formatDiagnostic, type Diagnostic } from "../../compiler/diagnostics/diagnostic.ts";
import { STD_DIR, fsHost, type ModuleHost } from "../../dsl/modules.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const CASES = join(HERE, "cases");
const BASELINES = join(HERE, "baselines");
const UPDATE = process.env.UPDATE_BASELINES === "1";

/** Where `cases/…` resolves (relative to the working directory); mapped onto the real folder. */
const VIRTUAL = resolve("cases");

const host: ModuleHost = {
  read: (p) => (p.startsWith(VIRTUAL + sep) ? fsHost.read(join(CASES, p.slice(VIRTUAL.length + 1))) : fsHost.read(p)),
};

export interface Case {
  readonly name: string;
  readonly text: string;
  readonly expect: readonly string[];
  readonly defines: Record<string, number | boolean>;
}

export function parseHeaders(text: string): { expect: string[]; defines: Record<string, number | boolean> } {
  const expectCodes: string[] = [];
  const defines: Record<string, number | boolean> = {};
  for (const m of text.matchAll(/^\s*\/\/\s*expect:\s*(.*)$/gm)) expectCodes.push(...m[1]!.trim().split(/[\s,]+/).filter(Boolean));
  for (const m of text.matchAll(/^\s*\/\/\s*@define\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/gm)) {
    const raw = m[2]!;
    defines[m[1]!] = raw === "true" ? true : raw === "false" ? false : Number(raw);
  }
  return { expect: expectCodes, defines };
}

export function loadCases(): Case[] {
  return readdirSync(CASES)
    .filter((f) => f.endsWith(".attn"))
    .sort()
    .map((f) => {
      const text = readFileSync(join(CASES, f), "utf8");
      return { name: f.slice(0, -".attn".length), text, ...parseHeaders(text) };
    });
}

/** Compiles a case; machine-specific absolute paths are rewritten to `cases/…` and `std/…`. */
export function runCase(c: Case) {
  const res = compileSource(`cases/${c.name}.attn`, c.text, { defines: c.defines, host });
  const clean = (s: string) => s.split(VIRTUAL + sep).join("cases/").split(STD_DIR + sep).join("std/").replaceAll("\\", "/");
  const body = res.diagnostics.map((d) => clean(formatDiagnostic(d))).join("\n\n");
  const errors = res.diagnostics.filter((d) => d.category === "error").length;
  const warnings = res.diagnostics.length - errors;
  const baseline = `${body}\n\n==== ${errors} error(s), ${warnings} warning(s) ====\n`;
  return { res, baseline };
}

const inFile = (d: Diagnostic): boolean => !d.span || (d.span.start >= 0 && d.span.length >= 0 && d.span.start + d.span.length <= d.span.file.text.length);

const cases = loadCases();

describe("diagnostics baselines", () => {
  it("has at least 35 cases, each with an expected code", () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
    for (const c of cases) expect(c.expect.length, `${c.name} has no '// expect:' header`).toBeGreaterThan(0);
  });

  it("has no baseline without a case", () => {
    if (!existsSync(BASELINES)) return;
    const names = new Set(cases.map((c) => `${c.name}.errors.txt`));
    const stale = readdirSync(BASELINES).filter((f) => !names.has(f));
    if (UPDATE) return;
    expect(stale).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const { res, baseline } = runCase(c);
    if (res.internalError) throw new Error(`internal error in ${res.internalError.stage}: ${String((res.internalError.error as Error)?.stack ?? res.internalError.error)}`);
    const codes = res.diagnostics.map((d) => codeString(d.code));
    expect(codes).not.toContain("ATTN9001");
    expect(res.ok).toBe(false);
    for (const want of c.expect) expect(codes, `${c.name}: expected ${want}`).toContain(want);
    for (const d of res.diagnostics) expect(inFile(d), `${c.name}: span of ${codeString(d.code)} outside its file`).toBe(true);
    const file = join(BASELINES, `${c.name}.errors.txt`);
    if (UPDATE) {
      mkdirSync(BASELINES, { recursive: true });
      writeFileSync(file, baseline);
      return;
    }
    expect(existsSync(file), `missing baseline ${file}; run UPDATE_BASELINES=1 npx vitest run test/diagnostics`).toBe(true);
    expect(baseline).toBe(readFileSync(file, "utf8"));
  });
});

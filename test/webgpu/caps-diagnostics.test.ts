/**
 * Target-limit diagnostics baselines, like test/diagnostics (whose harness stops at the front end):
 * each `caps-cases/<name>.attn` compiles for WGSL under the WebGPU default record overridden by its
 * `// @limits {json}` header (compiler/kernel/caps.ts capsFromJson), through the CLI's lowering
 * (compiler/cli/lowering.ts: pipeline, lowering with the record, checkProgram). Every diagnostic
 * is rendered with formatDiagnostic and must equal `caps-cases/<name>.errors.txt`.
 *
 *   // expect: ATTN4005 ...   codes that must be among the diagnostics (none: no diagnostic at all)
 *   // @limits {...}          the record's overrides
 *
 * `UPDATE_BASELINES=1 npx vitest run test/webgpu/caps-diagnostics.test.ts` rewrites them.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { codeString, formatDiagnostic } from "../../compiler/diagnostics/diagnostic.ts";
import { WEBGPU_DEFAULT_CAPS, capsFromJson } from "../../compiler/kernel/caps.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "caps-cases");
const UPDATE = process.env.UPDATE_BASELINES === "1";

const cases = readdirSync(DIR)
  .filter((f) => f.endsWith(".attn"))
  .sort()
  .map((f) => {
    const text = readFileSync(join(DIR, f), "utf8");
    const expectCodes = [...text.matchAll(/^\s*\/\/\s*expect:(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/[\s,]+/).filter(Boolean));
    const limits = /^\s*\/\/\s*@limits\s+(.*)$/m.exec(text)?.[1] ?? "{}";
    return { name: f.slice(0, -".attn".length), text, expect: expectCodes, limits };
  });

describe("target-limit diagnostics baselines", () => {
  it("has the cases", () => expect(cases.length).toBeGreaterThanOrEqual(7));

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const res = compileSource(`caps-cases/${c.name}.attn`, c.text);
    expect(res.ok, res.diagnostics.map((d) => formatDiagnostic(d)).join("\n")).toBe(true);
    const caps = capsFromJson(c.limits, WEBGPU_DEFAULT_CAPS, "test limits");
    const ds = res.graphs.flatMap((g) => {
      const l = lowerForTarget(g, "wgsl", {}, caps);
      return [...(l.diagnostics ?? ("diagnostic" in l ? [l.diagnostic] : []))];
    });
    const codes = ds.map((d) => codeString(d.code));
    expect(codes).not.toContain("ATTN9001");
    if (c.expect.length === 0) expect(codes).toEqual([]);
    for (const want of c.expect) expect(codes, `${c.name}: expected ${want}`).toContain(want);
    // every diagnostic points into the DSL source
    for (const d of ds) {
      expect(d.span, `${c.name}: ${codeString(d.code)} has no span`).toBeDefined();
      expect(d.span!.start + d.span!.length).toBeLessThanOrEqual(c.text.length);
    }
    const errors = ds.filter((d) => d.category === "error").length;
    const baseline = `${ds.map((d) => formatDiagnostic(d)).join("\n\n")}\n\n==== ${errors} error(s), ${ds.length - errors} other(s) ====\n`;
    const file = join(DIR, `${c.name}.errors.txt`);
    if (UPDATE) {
      writeFileSync(file, baseline);
      return;
    }
    expect(existsSync(file), `missing ${file}; run with UPDATE_BASELINES=1`).toBe(true);
    expect(baseline).toBe(readFileSync(file, "utf8"));
  });
});

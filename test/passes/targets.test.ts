/**
 * Issues 5 and 6: every example program compiles for both targets (`--target wgsl`, `--target
 * cuda`) with the default capability records and no diagnostics at all. Fusion must stay within
 * the record (fuse-elementwise's binding budget): a kernel that binds more storage buffers than
 * WebGPU's default 8 would be an ATTN4005 error here.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { compileToProgram } from "../../compiler/pipeline.ts";
import { launches } from "../../compiler/kernel/program.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const EXAMPLES = readdirSync(join(ROOT, "examples"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe("every example compiles for both targets without diagnostics", () => {
  it("finds the examples", () => expect(EXAMPLES.length).toBeGreaterThanOrEqual(14));
  for (const ex of EXAMPLES)
    it(ex, () => {
      const path = join(ROOT, "examples", ex, `${ex}.attn`);
      const res = compileSource(path, readFileSync(path, "utf8"));
      expect(res.ok, JSON.stringify(res.diagnostics)).toBe(true);
      expect(res.graphs.length).toBeGreaterThan(0);
      for (const g of res.graphs)
        for (const target of ["wgsl", "cuda"] as const) {
          const l = lowerForTarget(g, target);
          const diags = "diagnostic" in l ? (l.diagnostics ?? [l.diagnostic]) : l.diagnostics;
          expect(diags.map((d) => d.message), `${ex}/${g.name} --target ${target}`).toEqual([]);
          expect("program" in l && l.program.steps.length > 0).toBe(true);
          if ("program" in l) {
            // the target lowering is the program every runtime runs (compileToProgram)
            const ls = [...launches(l.program.steps)];
            expect(ls.map((x) => x.kernel.name), `${ex}/${g.name}`).toEqual([...launches(compileToProgram(g).program.steps)].map((x) => x.kernel.name));
            for (const x of ls) expect(x.kernel.buffers.length, `${ex}/${g.name} ${x.kernel.name}`).toBeLessThanOrEqual(8);
          }
        }
    });
});

/** The README's examples are real: the attn tour compiles and runs, the API snippet runs as written. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { interpret, randomInputs } from "../../compiler/graph/interp.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const blocks = (lang: string) => [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);

describe("README", () => {
  it("the language tour's program checks and runs on the interpreter", () => {
    const prog = blocks("attn").find((b) => b.includes("graph "))!;
    expect(prog).toBeDefined();
    const res = compileSource("README.attn", prog);
    expect(res.diagnostics.map((d) => d.message)).toEqual([]);
    const g = res.graphs[0]!;
    const dims = { B: 1, N: 40, C: 24 };
    const inputs = randomInputs(g, dims, 3);
    for (let i = 0; i < inputs.size!.data.length; i++) inputs.size!.data[i] = 1 + (i % 3); // sizes are positive counts
    const out = interpret(g, inputs, { dims });
    expect(out.outputs.map((t) => t.shape)).toEqual([[1, 40, 24], [1, 24, 24], [1, 24]]);
    expect(out.outputs.every((t) => t.data.every(Number.isFinite))).toBe(true);
  });

  it("the API snippet runs as written and the DSL gives the same IR", async () => {
    const ts = blocks("ts")[0]!.replace('from "attnc"', `from ${JSON.stringify(new URL("../../compiler/index.ts", import.meta.url).pathname)}`);
    const dir = mkdtempSync(join(new URL("../../", import.meta.url).pathname, "node_modules/.readme-"));
    const file = join(dir, "snippet.ts");
    const logs: unknown[][] = [];
    writeFileSync(file, ts.replaceAll("console.log(", "globalThis.__log("));
    (globalThis as { __log?: (...a: unknown[]) => void }).__log = (...a) => logs.push(a);
    try {
      await import(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(logs.at(-1)).toEqual([true, true]);
  });
});

/**
 * Imports: relative modules (from a temporary directory, read through a custom host that records
 * what is read), `std/...` modules (served by the host at the std path, so these tests do not
 * depend on the content of dsl/std), re-exports, caching, cycles and missing names.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSource, type CompileOptions } from "../../compiler/compile.ts";
import { codeString } from "../../compiler/diagnostics/index.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { STD_DIR, type ModuleHost } from "../../dsl/modules.ts";

let dir = "";
const reads: string[] = [];
/** Reads the temporary directory; std modules come from this table instead of dsl/std. */
const STD: Record<string, string> = {
  "mini.attn": `fn sq(x: tensor) -> tensor { return x * x }\nfn cube(x: tensor) -> tensor { return sq(x) * x }`,
};
const host: ModuleHost = {
  read: (p) => {
    reads.push(p);
    if (p.startsWith(STD_DIR + "/")) return STD[p.slice(STD_DIR.length + 1)];
    return existsSync(p) ? readFileSync(p, "utf8") : undefined;
  },
};

function write(rel: string, text: string): void {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
}

function compileMain(text: string, opts: CompileOptions = {}) {
  reads.length = 0;
  const r = compileSource(join(dir, "main.attn"), text, { host, ...opts });
  if (r.internalError) throw r.internalError.error;
  const errs = r.diagnostics.filter((d) => d.category === "error").map((d) => `${codeString(d.code)} ${d.message}`);
  const files = r.diagnostics.map((d) => (d.span ? d.span.file.path.slice(dir.length + 1) : "-"));
  return { r, errs, files, text: r.graphs[0] ? printGraph(r.graphs[0]) : "" };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "attnc-imports-"));
  write("lib.attn", `import { helper } from "./sub/util"
param scale: float = 2.0
fn double(x: float[N]) -> float[N] { return helper(x) * scale }
fn leak(x: tensor) -> tensor { return x * outer }
fn broken(x: f32[N]) -> f32[N] { return x @ x }`);
  write("sub/util.attn", `fn helper(x: float[N]) -> float[N] { return x + 1 }`);
  write("other.attn", `import { helper } from "./sub/util"\nfn inc2(x: float[N]) -> float[N] { return helper(helper(x)) }`);
  write("a.attn", `import { fb } from "./b"\nfn fa(x: tensor) -> tensor { return fb(x) }`);
  write("b.attn", `import { fa } from "./a"\nfn fb(x: tensor) -> tensor { return x }`);
  write("withgraph.attn", `fn f(x: tensor) -> tensor { return x + 1 }\ngraph lib_graph(x: f32[N]) -> f32[N] { return x * 5 }`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("imports", () => {
  it("relative imports resolve from the importing file; imported fns inline like local ones", () => {
    const a = compileMain(`import { double } from "./lib"
    graph g(x: f32[N]) -> f32[N] { return double(x) }`);
    expect(a.errs).toEqual([]);
    const b = compileMain(`fn helper(x: float[N]) -> float[N] { return x + 1 }
    fn double(x: float[N]) -> float[N] { return helper(x) * 2.0 }
    graph g(x: f32[N]) -> f32[N] { return double(x) }`);
    expect(a.text).toBe(b.text);
  });

  it("a module's imports can be imported again (re-export), and each file is read once", () => {
    const { errs, text } = compileMain(`import { double, helper } from "./lib"
    import { inc2 } from "./other"
    graph g(x: f32[N]) -> f32[N] { return double(x) + helper(x) + inc2(x) }`);
    expect(errs).toEqual([]);
    expect(text).toContain("mul");
    expect(reads.map((p) => p.slice(dir.length + 1)).sort()).toEqual(["lib.attn", "other.attn", "sub/util.attn"]);
  });

  it("std/... imports are read from the standard library directory", () => {
    const { errs, text } = compileMain(`import { cube } from "std/mini"
    graph g(x: f32[N]) -> f32[N] { return cube(x) }`);
    expect(errs).toEqual([]);
    expect(reads).toEqual([join(STD_DIR, "mini.attn")]);
    expect(text.match(/mul/g)?.length).toBe(2);
  });

  it("a library fn sees its own module's params (not -D, which is for the root module)", () => {
    const { errs, text } = compileMain(`import { double } from "./lib"
    graph g(x: f32[N]) -> f32[N] { return double(x) }`);
    expect(errs).toEqual([]);
    expect(text).toContain("const 2 : f32[]");
    expect(compileMain(`import { double } from "./lib"
    graph g(x: f32[N]) -> f32[N] { return double(x) }`, { defines: { scale: 3 } }).errs).toEqual(["ATTN2011 Unknown param 'scale' (given with -D)."]);
  });

  it("a library fn does not see the importer's names; its errors point into the library file", () => {
    const r = compileMain(`import { leak } from "./lib"
    param outer: float = 1.0
    graph g(x: f32[N]) -> f32[N] { return leak(x) }`);
    expect(r.errs).toEqual(["ATTN2001 Cannot find name 'outer'."]);
    expect(r.files).toEqual(["lib.attn"]);
    const b = compileMain(`import { broken } from "./lib"
    graph g(x: f32[N]) -> tensor { return broken(x) }`);
    expect(b.errs.map((e) => e.split(" ")[0])).toEqual(["ATTN3007"]);
  });

  it("unused broken library fns are not reported", () => {
    expect(compileMain(`import { double, broken } from "./lib"
    graph g(x: f32[N]) -> f32[N] { return double(x) }`).errs).toEqual([]);
  });

  it("graphs of a library can be imported and inlined", () => {
    const { errs, text } = compileMain(`import { lib_graph } from "./withgraph"
    graph g(x: f32[N]) -> f32[N] { return lib_graph(x) }`);
    expect(errs).toEqual([]);
    expect(text).toContain("const 5 : f32[]");
  });

  it("missing modules and names, duplicate imports and cycles are reported", () => {
    expect(compileMain(`import { nothere } from "./lib"
    import { x } from "./missing"
    graph g(y: f32[N]) -> f32[N] { return y }`).errs).toEqual([
      "ATTN2004 Module './lib' has no exported function or graph 'nothere'.",
      "ATTN2003 Cannot find module './missing'.",
    ]);
    expect(compileMain(`import { double } from "./lib"
    import { double } from "./lib"
    graph g(x: f32[N]) -> f32[N] { return double(x) }`).errs).toEqual(["ATTN2002 Duplicate name 'double'."]);
    expect(compileMain(`import { double } from "./lib"
    fn double(x: tensor) -> tensor { return x }
    graph g(x: f32[N]) -> f32[N] { return double(x) }`).errs).toEqual(["ATTN2002 Duplicate name 'double'."]);
    const cyc = compileMain(`import { fa } from "./a"
    graph g(x: f32[N]) -> f32[N] { return fa(x) }`);
    expect(cyc.errs).toEqual(["ATTN2024 Import cycle through './a'."]);
    expect(cyc.files).toEqual(["b.attn"]);
  });

  it("a module that imports itself is a cycle", () => {
    write("self.attn", `import { me } from "./self"\nfn me(x: tensor) -> tensor { return x }`);
    expect(compileMain(`import { me } from "./self"
    graph g(x: f32[N]) -> f32[N] { return me(x) }`).errs).toEqual(["ATTN2024 Import cycle through './self'."]);
  });

  it("the same import compiled twice gives the same IR", () => {
    const src = `import { double } from "./lib"
    import { cube } from "std/mini"
    graph g(x: f32[N]) -> f32[N] { return cube(double(x)) }`;
    expect(compileMain(src).text).toBe(compileMain(src).text);
  });
});

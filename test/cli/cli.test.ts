/**
 * The `attnc` command line, run as a user runs it: `node bin/attnc.js …` in a child process with
 * the repository root as the working directory. Checks exit codes (0 ok, 1 user error), the
 * diagnostic format, --json, compile --emit/-o, -D, and run --backend interp — including the
 * acceptance test: dense causal attention on .npy inputs against an independent float64 reference.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy, writeNpy } from "../../runtime/npy.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIX = "test/cli/fixtures";
const TMP = mkdtempSync(join(tmpdir(), "attnc-cli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function attnc(...args: string[]): Run {
  const r = spawnSync(process.execPath, ["bin/attnc.js", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A deterministic pseudo-random sequence (mulberry32), rounded to f32 as the .npy file stores it. */
function randomF32(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out.push(Math.fround(u * 4 - 2));
  }
  return out;
}

/** Causal softmax(q k^T / sqrt(D)) v in float64, directly from the definition. q, k, v: [B, H, N, D] row-major. */
function causalAttention(q: number[], k: number[], v: number[], B: number, H: number, N: number, D: number): number[] {
  const out = new Array<number>(B * H * N * D).fill(0);
  const at = (b: number, h: number, i: number, d: number) => ((b * H + h) * N + i) * D + d;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++) {
        const logits: number[] = [];
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[at(b, h, i, d)]! * k[at(b, h, j, d)]!;
          logits.push(s / Math.sqrt(D));
        }
        const m = Math.max(...logits);
        const w = logits.map((s) => Math.exp(s - m));
        const z = w.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += (w[j]! / z) * v[at(b, h, j, d)]!;
          out[at(b, h, i, d)] = o;
        }
      }
  return out;
}

describe("attnc: help and usage errors", () => {
  it("--help prints the usage and exits 0", () => {
    const r = attnc("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage:");
    expect(r.stdout).toContain("attnc run FILE --backend interp");
  });

  it("an unknown command or option exits 1 with the usage", () => {
    const r = attnc("frobnicate", `${FIX}/causal.attn`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("attnc: unknown command 'frobnicate'");
    expect(attnc("check", `${FIX}/causal.attn`, "--frob").stderr).toContain("unknown option '--frob'");
  });

  it("a missing file or a directory as FILE exits 1 (not as an internal error)", () => {
    const r = attnc("check", `${FIX}/no-such-file.attn`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error ATTN5005: Cannot read '${FIX}/no-such-file.attn': no such file\n`);
    const d = attnc("check", FIX);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain("error ATTN5005: Cannot read");
    expect(d.stderr).not.toContain("internal");
  });
});

describe("attnc check", () => {
  it("succeeds with exit 0 on a correct program", () => {
    const r = attnc("check", `${FIX}/causal.attn`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${FIX}/causal.attn: ok (1 graph: causal)\n`);
    expect(r.stderr).toBe("");
  });

  it("prints `file(line,col): error ATTNnnnn: message`, the source line and the ~ marker, and exits 1", () => {
    const r = attnc("check", `${FIX}/bad.attn`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        `${FIX}/bad.attn(3,13): error ATTN3002: Matrix product needs equal inner dims: [B, N, D] @ [B, M, D].`,
        "      let s = q @ k",
        "                ~",
        "",
        "1 error.",
        "",
      ].join("\n"),
    );
  });

  it("--json prints parseable diagnostics with code, span, line and column", () => {
    const r = attnc("check", `${FIX}/bad.attn`, "--json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { diagnostics: { code: string; category: string; message: string; span: Record<string, unknown> }[] };
    expect(j.diagnostics).toHaveLength(1);
    const d = j.diagnostics[0]!;
    expect(d.code).toBe("ATTN3002");
    expect(d.category).toBe("error");
    expect(d.message).toContain("[B, N, D] @ [B, M, D]");
    expect(d.span).toMatchObject({ file: `${FIX}/bad.attn`, line: 3, column: 13, length: 1, endLine: 3, endColumn: 14 });
    const text = readFileSync(join(ROOT, FIX, "bad.attn"), "utf8");
    expect(text.slice(d.span.start as number, (d.span.start as number) + 1)).toBe("@");
    // success in JSON mode: an empty list
    const ok = attnc("check", `${FIX}/causal.attn`, "--json");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ diagnostics: [] });
  });
});

describe("attnc compile", () => {
  it("--emit graph prints the graph IR", () => {
    const r = attnc("compile", `${FIX}/causal.attn`, "--emit", "graph");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^graph causal\(%q: f32\[B, H, N, D\], %k: f32\[B, H, N, D\], %v: f32\[B, H, N, D\]\)/);
    expect(r.stdout).toContain("attention %q, %k, %v");
  });

  it("--emit ast prints the AST as JSON with [line, column, length] spans", () => {
    const r = attnc("compile", `${FIX}/causal.attn`, "--emit", "ast");
    expect(r.code).toBe(0);
    const ast = JSON.parse(r.stdout) as { kind: string; items: { kind: string; name: { name: string; span: number[] } }[] };
    expect(ast.kind).toBe("Module");
    expect(ast.items[0]!.kind).toBe("FnDecl");
    expect(ast.items[0]!.name).toEqual({ name: "causal", span: [2, 7, 6] });
  });

  it("--json prints one JSON object (diagnostics and the output)", () => {
    const r = attnc("compile", `${FIX}/causal.attn`, "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { diagnostics: unknown[]; files: Record<string, string> };
    expect(j.diagnostics).toEqual([]);
    expect(Object.keys(j.files)).toEqual(["causal.graph.txt"]);
    expect(j.files["causal.graph.txt"]).toMatch(/^graph causal\(/);
  });

  it("-o DIR writes one file per graph (and module.ast.json for --emit ast)", () => {
    const dir = join(TMP, "compiled");
    const r = attnc("compile", `${FIX}/causal.attn`, "-o", dir);
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(["causal.graph.txt"]);
    expect(readFileSync(join(dir, "causal.graph.txt"), "utf8")).toMatch(/^graph causal\(/);
    const r2 = attnc("compile", `${FIX}/causal.attn`, "--emit", "ast", "--out", dir);
    expect(r2.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "module.ast.json"), "utf8")).kind).toBe("Module");
  });

  it("-o onto an existing file is a user error (exit 1), not an internal one", () => {
    const f = join(TMP, "a-file");
    writeFileSync(f, "x");
    const r = attnc("compile", `${FIX}/causal.attn`, "-o", f);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`attnc: cannot write '${f}'`);
  });

  it("-D overrides params; bad -D values and unknown names are rejected with exit 1", () => {
    expect(attnc("compile", `${FIX}/params.attn`).stdout).toContain("f32[B, 6, C]");
    const r = attnc("compile", `${FIX}/params.attn`, "-D", "r=3", "-Dscale=0.5");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("f32[B, 5, C]");
    expect(r.stdout).toContain("0.5");

    const notNumber = attnc("compile", `${FIX}/params.attn`, "-D", "r=three");
    expect(notNumber.code).toBe(1);
    expect(notNumber.stderr).toContain("attnc: -D r: 'three' is not a number or true/false");

    const malformed = attnc("check", `${FIX}/params.attn`, "-D", "r");
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain("-D expects name=value, got 'r'");

    const unknown = attnc("check", `${FIX}/params.attn`, "-D", "rr=3");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("error ATTN2011: Unknown param 'rr' (given with -D).");

    const kind = attnc("check", `${FIX}/params.attn`, "-D", "r=2.5");
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain(`${FIX}/params.attn(2,7): error ATTN2012: Param 'r' must be a compile-time int, got -D r=2.5.`);

    const negative = attnc("check", `${FIX}/params.attn`, "-D", "r=12");
    expect(negative.code).toBe(1);
    expect(negative.stderr).toContain("error ATTN3026: A dim must be a non-negative integer, got -4.");
  });
});

describe("attnc run --backend interp", () => {
  it("runs on random inputs and prints a summary", () => {
    const r = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--dim", "N=4", "--dim", "B=1", "--dim", "H=2", "--dim", "D=3", "--seed", "7");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("graph causal on interp (dims: N=4, B=1, H=2, D=3, random inputs, seed 7)");
    expect(r.stdout).toMatch(/ {2}out: f32\[1, 2, 4, 3\] {2}min -?[\d.e-]+ {2}max -?[\d.e-]+ {2}mean -?[\d.e-]+/);
    const j = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--dim", "N=4", "--json");
    expect(j.code).toBe(0);
    const s = JSON.parse(j.stdout) as { diagnostics: unknown[]; graph: string; outputs: { name: string; shape: number[] }[] };
    expect(s.diagnostics).toEqual([]);
    expect(s.graph).toBe("causal");
    expect(s.outputs[0]).toMatchObject({ name: "out", shape: [8, 8, 4, 8] });
  });

  it("run requires a known backend", () => {
    expect(attnc("run", `${FIX}/causal.attn`).stderr).toContain("run: --backend is required");
    expect(attnc("run", `${FIX}/causal.attn`, "--backend", "cuda").code).toBe(1);
  });

  // The acceptance test: .npy in, .npy out, checked against softmax(QK^T/sqrt(D))V computed here in float64.
  const [B, H, N, D] = [1, 2, 5, 4];
  const q = randomF32(B * H * N * D, 1);
  const k = randomF32(B * H * N * D, 2);
  const v = randomF32(B * H * N * D, 3);
  const want = causalAttention(q, k, v, B, H, N, D);
  const inputs = join(TMP, "inputs");
  mkdirSync(inputs, { recursive: true });
  writeFileSync(join(inputs, "q.npy"), writeNpy([B, H, N, D], q, "f4"));
  writeFileSync(join(inputs, "k.npy"), writeNpy([B, H, N, D], k, "f4"));
  writeFileSync(join(inputs, "v.npy"), writeNpy([B, H, N, D], v, "f4"));

  const checkAgainstReference = (file: string, outDir: string) => {
    const r = attnc("run", file, "--graph", "causal", "--backend", "interp", "--inputs", inputs, "--outputs", outDir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("graph causal on interp (dims: B=1, H=2, N=5, D=4)");
    expect(r.stdout).toContain(`wrote ${join(outDir, "out.npy")}`);
    const o = readNpy(new Uint8Array(readFileSync(join(outDir, "out.npy"))));
    expect(o.dtype).toBe("f4");
    expect(o.shape).toEqual([B, H, N, D]);
    expect(o.data.length).toBe(want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const got = o.data[i]!;
      const rel = Math.abs(got - want[i]!) / Math.max(Math.abs(want[i]!), 1e-30);
      worst = Math.max(worst, rel);
    }
    expect(worst).toBeLessThan(1e-6);
    // the first query sees only the first key: its output is v's first row exactly (up to f32)
    for (let d = 0; d < D; d++) expect(o.data[d]).toBeCloseTo(v[d]!, 6);
  };

  it("ACCEPTANCE: dense causal attention on .npy inputs matches an independent float64 reference", () => {
    checkAgainstReference(`${FIX}/causal.attn`, join(TMP, "out-fixture"));
  });

  const example = "examples/dense-attention/dense-attention.attn";
  it.skipIf(!existsSync(join(ROOT, example)))("the dense-attention example's causal graph gives the same result", () => {
    checkAgainstReference(example, join(TMP, "out-example"));
  });

  it("an input with the wrong shape is rejected with exit 1 and a clear message", () => {
    const dir = join(TMP, "bad-shape");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "q.npy"), writeNpy([B, H, N, D], q, "f4"));
    writeFileSync(join(dir, "k.npy"), writeNpy([B, H, N, D], k, "f4"));
    writeFileSync(join(dir, "v.npy"), writeNpy([B, H, N + 1, D], randomF32(B * H * (N + 1) * D, 4), "f4"));
    const r = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--inputs", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error ATTN5003: input 'v': expected shape [B, H, N, D], got [1, 2, 6, 4]");
    expect(r.stderr).toContain("N = 5");
  });

  it("an input with the wrong dtype is rejected with exit 1", () => {
    const dir = join(TMP, "bad-dtype");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "q.npy"), writeNpy([B, H, N, D], q.map(Math.round), "i4"));
    writeFileSync(join(dir, "k.npy"), writeNpy([B, H, N, D], k, "f4"));
    writeFileSync(join(dir, "v.npy"), writeNpy([B, H, N, D], v, "f4"));
    const r = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--inputs", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error ATTN5004: Input 'q' has dtype i4, expected f32.");
  });

  it("a missing input file, a missing inputs folder and a corrupt file are rejected with exit 1", () => {
    const dir = join(TMP, "missing");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "q.npy"), writeNpy([B, H, N, D], q, "f4"));
    writeFileSync(join(dir, "k.npy"), writeNpy([B, H, N, D], k, "f4"));
    const r = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--inputs", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error ATTN5002: Input 'v' is missing.");
    expect(r.stderr).toContain(`expected the file ${join(dir, "v.npy")}`);

    const none = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--inputs", join(TMP, "nowhere"));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no such directory");

    writeFileSync(join(dir, "v.npy"), "not an npy file");
    const corrupt = attnc("run", `${FIX}/causal.attn`, "--backend", "interp", "--inputs", dir);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain(`error ATTN5005: Cannot read '${join(dir, "v.npy")}'`);
  });

  it("a program with errors does not run (exit 1)", () => {
    const r = attnc("run", `${FIX}/bad.attn`, "--backend", "interp");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error ATTN3002");
  });
});

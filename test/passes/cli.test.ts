/** attnc compile with the pipeline flags (in-process): -O, --print-after, --stop-after, --explain, --time-passes, --target wgsl. */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../../compiler/cli/main.ts";

const HAND = "test/passes/fixtures/hand-attention.attn";

async function attnc(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await main(argv, sink((s) => (stdout += s)) as never, sink((s) => (stderr += s)) as never);
  return { code, stdout, stderr };
}

describe("attnc compile pipeline flags", () => {
  it("-O --explain: the hand-written attention is recognized and fused", async () => {
    const r = await attnc("compile", HAND, "-O", "--explain");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("//   + %8 softmax : f32[B, H, N, N]: attention recognized (scale 0.125, mask hook)");
    expect(r.stdout).toContain("// attention recognition: 1 recognized, 0 not recognized");
    expect(r.stdout).toContain("%3 = attention %q, %k, %v {scale = 0.125, mask = v3 <= v2} : f32[B, H, N, 64]");
    expect(r.stdout).not.toContain("softmax %");
  });

  it("--print-after PASS prints after each occurrence; --print-after all after every pass", async () => {
    const one = await attnc("compile", HAND, "--print-after", "recognize-attention");
    expect(one.stdout.match(/^\/\/ ---- after /gm)).toHaveLength(1);
    expect(one.stdout).toContain("// ---- after recognize-attention (graph hand) ----\ngraph hand(");
    const all = await attnc("compile", HAND, "--print-after", "all");
    expect(all.stdout.match(/^\/\/ ---- after /gm)).toHaveLength(12); // one per GRAPH_PIPELINE entry
  });

  it("--stop-after emits the graph as it is after that pass", async () => {
    const r = await attnc("compile", HAND, "--stop-after", "cse", "--time-passes");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("softmax %");
    expect(r.stdout).toMatch(/\/\/ cse +[\d.]+ ms/);
    expect(r.stdout).not.toContain("recognize-attention");
  });

  it("rejects an unknown pass, and pipeline flags outside compile", async () => {
    const r = await attnc("compile", HAND, "--stop-after", "fuse");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("attnc: unknown pass 'fuse' (passes: infer-shapes, fold-constants");
    const run = await attnc("run", HAND, "--backend", "interp", "--explain");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("apply to compile only");
  });

  it("--target wgsl lowers the optimized graph (one attention kernel); reports go to stderr", async () => {
    const dir = mkdtempSync(join(tmpdir(), "attnc-passes-"));
    const r = await attnc("compile", HAND, "--target", "wgsl", "--explain", "-o", dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("attention recognition: 1 recognized");
    expect(readdirSync(dir).filter((f) => f.endsWith(".wgsl"))).toHaveLength(1);
  });

  it("--plan prints the buffer plan: no N×N buffer once attention is fused; one before", async () => {
    const dims = ["--dim", "B=1", "--dim", "H=8", "--dim", "N=1024"];
    const fused = await attnc("compile", HAND, "--plan", ...dims);
    expect(fused.stdout).toContain("// ---- buffer plan (graph hand) ----");
    expect(fused.stdout).not.toContain("N*N");
    expect(fused.stdout).toMatch(/with B=1, H=8, N=1024: 8388612 B unplanned, 8388612 B planned/);
    const unfused = await attnc("compile", HAND, "--plan", "--stop-after", "dce", ...dims);
    expect(unfused.stdout).toContain("f32[B*H*N*N]");
    expect(unfused.stdout).toMatch(/-> slot (\d+), live .*\n(.*\n)*.*-> slot \1, live/);
  });

  it("--plan with only some dims sizes the rest by default and says so (no internal error)", async () => {
    const r = await attnc("compile", HAND, "--plan", "--dim", "N=64");
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("internal compiler error");
    expect(r.stdout).toMatch(/with N=64, B=8, H=8: \d+ B unplanned/);
    expect(r.stdout).toContain("(not given with --dim, so by default: B=8, H=8)");
  });

  it("--json carries the remarks and the optimized graph", async () => {
    const r = await attnc("compile", HAND, "--json", "-O", "--explain");
    const j = JSON.parse(r.stdout);
    expect(j.pipeline[0].remarks[0]).toMatchObject({ pass: "recognize-attention", kind: "fired" });
    expect(j.files["hand.graph.txt"]).toContain("attention %q, %k, %v");
  });
});

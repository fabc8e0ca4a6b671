/**
 * The WGSL backend in a real browser: `attnc compile --target wgsl -o DIR` writes kernels and a
 * manifest; the WebGPU runtime (runtime/webgpu, bundled with esbuild from page-entry.ts) runs them
 * on navigator.gpu in headless Chromium (SwiftShader), served from a local HTTP server on
 * 127.0.0.1; the outputs are compared in Node with the reference interpreter on the same inputs
 * under the tolerance policy. Skipped, with the reason, only when /usr/bin/chromium is absent.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { defaultDims, interpret, randomInputs } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { compareOutput, describeComparison, outputTolerance } from "../../compiler/tolerance.ts";
import type { PageResult } from "./page-entry.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-webgpu-adapter=swiftshader",
  "--use-vulkan=swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HERE = dirname(fileURLToPath(import.meta.url));
const haveChromium = existsSync(CHROMIUM);
const skipReason = `${CHROMIUM} is absent (install the Debian package chromium; scripts/setup.sh does when run as root)`;

/** The graphs run in the page: a fused attention and per-element + order kernels. */
const CASES = [
  { file: "examples/dense-attention/dense-attention.attn", graph: "causal", defines: {}, dims: { B: 1, H: 2, N: 7, D: 4 } },
  { file: "examples/tome/tome.attn", graph: "tome_merge", defines: { r: 2 }, dims: { B: 1, N: 8, C: 4, D: 4 } },
  { file: "test/webgpu/fixtures/mixed.attn", graph: "mixed", defines: {}, dims: { N: 5, C: 3, M: 6 } },
] as const;

let TMP = "";
let server: Server | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let origin = "";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json", ".wgsl": "text/plain" };

beforeAll(async () => {
  if (!haveChromium) return;
  TMP = mkdtempSync(join(tmpdir(), "attnc-browser-"));
  // the artifacts, written by the CLI as a user would
  for (const c of CASES) {
    const args = ["bin/attnc.js", "compile", c.file, "--graph", c.graph, "--target", "wgsl", "-o", join(TMP, c.graph)];
    for (const [k, v] of Object.entries(c.defines)) args.push("-D", `${k}=${v}`);
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`attnc ${args.slice(1).join(" ")} failed: ${r.stderr}`);
  }
  const bundle = await build({ entryPoints: [join(HERE, "page-entry.ts")], bundle: true, format: "esm", platform: "browser", target: "es2022", external: ["webgpu"], write: false, logLevel: "silent" });
  const files = new Map<string, Buffer>([
    ["/index.html", Buffer.from(`<!doctype html><meta charset="utf-8"><title>attnc</title><script type="module" src="/bundle.js"></script>`)],
    ["/bundle.js", Buffer.from(bundle.outputFiles[0]!.text)],
  ]);
  server = createServer((req, res) => {
    const url = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    let body = files.get(url);
    if (!body) {
      const path = join(TMP, url);
      if (path.startsWith(TMP) && existsSync(path)) body = readFileSync(path);
    }
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(url)] ?? "application/octet-stream" }).end(body);
  });
  await new Promise<void>((ok) => server!.listen(0, "127.0.0.1", ok));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => typeof (globalThis as { attncRun?: unknown }).attncRun === "function", undefined, { timeout: 30_000 }).catch(() => {
    throw new Error(`the page did not load the runtime bundle: ${errors.join("; ") || "no page error"}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  if (TMP) rmSync(TMP, { recursive: true, force: true });
});

function loadGraph(file: string, name: string, defines: Record<string, number>): Graph {
  const res = compileSource(file, readFileSync(join(ROOT, file), "utf8"), { defines, graph: name });
  if (!res.ok) throw new Error(res.diagnostics.map((d) => d.message).join("; "));
  return res.graphs[0]!;
}

describe("WGSL artifacts in Chromium (navigator.gpu)", () => {
  it("navigator.gpu is available in the page", async (ctx) => {
    if (!haveChromium) return ctx.skip(skipReason);
    const has = await page!.evaluate(async () => {
      const gpu = (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator.gpu;
      return !!gpu && !!(await gpu.requestAdapter());
    });
    expect(has, "Chromium started without a WebGPU adapter (flags: SwiftShader via Vulkan)").toBe(true);
  }, 60_000);

  for (const c of CASES)
    it(`${c.graph}: manifest + WGSL from compile --target wgsl run in the page and match the interpreter`, async (ctx) => {
      if (!haveChromium) return ctx.skip(skipReason);
      const g = loadGraph(c.file, c.graph, c.defines);
      const dims = defaultDims(g, c.dims, 4);
      const inputs = randomInputs(g, dims, 5);
      const ref = interpret(g, inputs, { dims });
      const plain = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: [...t.data] }]));
      const got = (await page!.evaluate(
        ([dir, ins, ds]) => (globalThis as unknown as { attncRun: (d: string, i: unknown, x: unknown) => Promise<unknown> }).attncRun(dir, ins, ds),
        [`/${c.graph}`, plain, dims] as const,
      )) as PageResult;
      expect(got.adapter.length).toBeGreaterThan(0);
      expect(got.errorFlag).toBe(ref.errorFlag);
      ref.outputs.forEach((r, i) => {
        const o = got.outputs[i]!;
        const data = o.data.map((x) => (typeof x === "string" ? Number(x) : x));
        const { dtype, tol } = outputTolerance(g, i);
        const cmp = compareOutput(r.dtype, { shape: o.shape, data }, r, tol);
        expect(cmp.ok, `${c.graph} output ${g.outputNames[i]}: ${describeComparison(dtype, cmp)}`).toBe(true);
      });
    }, 120_000);
});

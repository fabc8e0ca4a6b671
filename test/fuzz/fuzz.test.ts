/**
 * Compiler fuzzing with a fixed seed: thousands of programs — token-level mutations of every
 * .attn file in the repository (examples, std, diagnostics cases, CLI fixtures), grammar-based
 * random programs and random builtin calls (test/fuzz/gen.ts) — go through compileSource. The
 * compiler must never throw, never report an internal error (ATTN9001 or internalError), keep
 * every span inside its file, and take under 2 s per program. A subset also goes through the CLI
 * (`check`, in-process) whose exit code must be 0 or 1, never 2.
 *
 * A failure prints the offending programs; add a user-error one to test/diagnostics/cases.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../compiler/cli/main.ts";
import { compileSource, type CompileOptions } from "../../compiler/compile.ts";
import { codeString } from "../../compiler/diagnostics/diagnostic.ts";
import { STD_DIR, fsHost, type ModuleHost } from "../../dsl/modules.ts";
import { Rng, corpus, generate, generateCalls, mutate, type Source } from "./gen.ts";

const SEED = 20_240_601;
const MUTATIONS = 3000;
const GENERATED = 1500;
const CALLS = 1500;
const CLI_PROGRAMS = 200;
const LIMIT_MS = 2000;

interface Program {
  readonly origin: string;
  readonly path: string;
  readonly text: string;
  /** The mutated std module, when the program is an example compiled against it. */
  readonly std?: { readonly path: string; readonly text: string };
}

/** What went wrong with one program, or undefined. */
function problem(p: Program): string | undefined {
  const host: ModuleHost | undefined = p.std ? { read: (f) => (f === p.std!.path ? p.std!.text : fsHost.read(f)) } : undefined;
  const opts: CompileOptions = host ? { host } : {};
  const t0 = performance.now();
  let res;
  try {
    res = compileSource(p.path, p.text, opts);
  } catch (e) {
    return `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  }
  const ms = performance.now() - t0;
  if (res.internalError) {
    const e = res.internalError.error;
    return `internal error in ${res.internalError.stage}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  }
  if (ms > LIMIT_MS) return `took ${ms.toFixed(0)} ms`;
  for (const d of res.diagnostics) {
    if (d.code === 9001) return `${codeString(d.code)}: ${d.message}`;
    const s = d.span;
    if (s && (s.start < 0 || s.length < 0 || s.start + s.length > s.file.text.length)) return `span of ${codeString(d.code)} outside its file`;
  }
  if (res.ok && res.graphs.length === 0 && res.module?.items.some((i) => i.kind === "FnDecl" && i.isGraph)) return "ok without graphs";
  return undefined;
}

/** The fuzz programs, deterministically. */
function programs(): Program[] {
  const rng = new Rng(SEED);
  const srcs = corpus();
  // the inlining stress case costs ~0.5 s a compile: mutated once, not drawn at random
  const heavy = (s: Source) => s.path.endsWith("inline_explosion.attn");
  const pool = srcs.filter((s) => !heavy(s));
  const examples = srcs.filter((s) => s.path.startsWith("examples/"));
  const out: Program[] = [];
  for (const s of srcs.filter(heavy)) out.push({ origin: `mutation of ${s.path}`, path: s.path, text: mutate(s.text, rng) });
  for (let i = 0; out.length < MUTATIONS; i++) {
    const s = rng.pick(pool);
    const text = mutate(s.text, rng);
    if (s.path.startsWith("dsl/std/")) {
      // a std module has no graphs: compile an example that imports it, against the mutated text
      const mod = s.path.slice("dsl/std/".length, -".attn".length);
      const users = examples.filter((e) => e.text.includes(`"std/${mod}"`));
      if (users.length) {
        const e = rng.pick(users);
        out.push({ origin: `mutation of ${s.path} (through ${e.path})`, path: e.path, text: e.text, std: { path: join(STD_DIR, `${mod}.attn`), text } });
        continue;
      }
    }
    out.push({ origin: `mutation of ${s.path}`, path: s.path, text });
  }
  for (let i = 0; i < GENERATED; i++) out.push({ origin: "generated program", path: "fuzz/generated.attn", text: generate(rng) });
  for (let i = 0; i < CALLS; i++) out.push({ origin: "generated builtin calls", path: "fuzz/calls.attn", text: generateCalls(rng) });
  return out;
}

const ALL = programs();

function report(bad: { p: Program; why: string }[]): string {
  return bad
    .slice(0, 5)
    .map(({ p, why }) => `--- ${p.origin}: ${why.split("\n").slice(0, 6).join("\n")}\n${p.std ? `(std module text)\n${p.std.text}` : p.text}`)
    .join("\n");
}

function run(kind: (p: Program) => boolean): { count: number; bad: { p: Program; why: string }[] } {
  const bad: { p: Program; why: string }[] = [];
  let count = 0;
  for (const p of ALL) {
    if (!kind(p)) continue;
    count++;
    const why = problem(p);
    if (why) bad.push({ p, why });
  }
  return { count, bad };
}

describe("fuzz: compileSource", () => {
  it(`has at least 5,000 programs (seed ${SEED})`, () => {
    expect(ALL.length).toBeGreaterThanOrEqual(5000);
    // the generators make programs that parse, and some that even compile
    expect(new Set(ALL.map((p) => p.text)).size).toBeGreaterThan(ALL.length * 0.9);
  });

  it(`survives ${MUTATIONS} mutated programs`, () => {
    const { count, bad } = run((p) => p.origin.startsWith("mutation"));
    expect(count).toBe(MUTATIONS);
    expect(bad.length, report(bad)).toBe(0);
  });

  it(`survives ${GENERATED} grammar-generated programs`, () => {
    const { count, bad } = run((p) => p.origin === "generated program");
    expect(count).toBe(GENERATED);
    expect(bad.length, report(bad)).toBe(0);
  });

  it(`survives ${CALLS} programs of random builtin calls`, () => {
    const { count, bad } = run((p) => p.origin === "generated builtin calls");
    expect(count).toBe(CALLS);
    expect(bad.length, report(bad)).toBe(0);
  });
});

describe("fuzz: the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "attnc-fuzz-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stream that keeps what is written. */
  const sink = () => {
    let text = "";
    const s = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    return { s, text: () => text };
  };

  it(`'attnc check' exits 0 or 1 (never 2) on ${CLI_PROGRAMS} fuzz programs`, async () => {
    const step = Math.floor(ALL.length / CLI_PROGRAMS);
    const picked = ALL.filter((p, i) => i % step === 0 && !p.std && !p.text.includes('from "./')).slice(0, CLI_PROGRAMS);
    expect(picked.length).toBeGreaterThanOrEqual(CLI_PROGRAMS * 0.9);
    const bad: string[] = [];
    const codes = new Set<number>();
    for (const [i, p] of picked.entries()) {
      const file = join(dir, `p${i}.attn`);
      writeFileSync(file, p.text);
      const [out, err] = [sink(), sink()];
      const code = await main(["check", file], out.s, err.s);
      codes.add(code);
      if (code !== 0 && code !== 1) bad.push(`exit ${code} for ${p.origin}:\n${err.text()}\n${p.text}`);
      else if (code === 1 && !/error/.test(err.text())) bad.push(`exit 1 without an error message for ${p.origin}`);
    }
    expect(bad, bad.slice(0, 3).join("\n")).toEqual([]);
    expect(codes.has(1)).toBe(true);
  });
});

/** Structural comparison of graphs across GraphContexts, and the print → parse round trip. */
import { expect } from "vitest";
import { Dim, printDim } from "../../compiler/graph/dim.ts";
import { toposort, type Graph } from "../../compiler/graph/node.ts";
import type { Node } from "../../compiler/graph/ops.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { printGraph } from "../../compiler/graph/print.ts";

const isNode = (x: unknown): x is Node =>
  typeof x === "object" && x !== null && typeof (x as Node).id === "number" && typeof (x as Node).op === "string" && Array.isArray((x as Node).types);

/**
 * The first structural difference between two graphs (op, dtype, types, src, args with Dims by
 * identity, SExprs field by field incl. dtypes, nodes recursively), or undefined when none.
 */
export function graphDiff(a: Graph, b: Graph): string | undefined {
  const memo = new Map<Node, Node>();
  function fail(path: string, what: string): never {
    throw new Error(`${path}: ${what}`);
  }
  const value = (x: unknown, y: unknown, path: string): void => {
    if (x instanceof Dim || y instanceof Dim) {
      if (x !== y) fail(path, `dim ${x instanceof Dim ? printDim(x) : String(x)} vs ${y instanceof Dim ? printDim(y) : String(y)}`);
      return;
    }
    if (isNode(x) || isNode(y)) {
      if (!isNode(x) || !isNode(y)) fail(path, "node vs non-node");
      node(x, y, path);
      return;
    }
    if (typeof x === "number" || typeof y === "number") {
      if (!Object.is(x, y)) fail(path, `${String(x)} vs ${String(y)}`);
      return;
    }
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y)) fail(path, "array vs non-array");
      if (x.length !== y.length) fail(path, `length ${x.length} vs ${y.length}`);
      x.forEach((v, i) => value(v, y[i], `${path}[${i}]`));
      return;
    }
    if (typeof x === "object" && x !== null && typeof y === "object" && y !== null) {
      const keys = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined).sort();
      const kx = keys(x);
      const ky = keys(y);
      if (kx.join(",") !== ky.join(",")) fail(path, `keys {${kx}} vs {${ky}}`);
      for (const k of kx) value((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    if (x !== y) fail(path, `${String(x)} vs ${String(y)}`);
  };
  const node = (x: Node, y: Node, path: string): void => {
    const seen = memo.get(x);
    if (seen === y) return;
    if (seen !== undefined) fail(path, "node matched twice to different nodes");
    memo.set(x, y);
    const p = `${path}<${x.op}>`;
    if (x.op !== y.op) fail(p, `op ${x.op} vs ${y.op}`);
    if (x.dtype !== y.dtype) fail(p, `dtype ${x.dtype} vs ${y.dtype}`);
    value(x.shape, y.shape, `${p}.shape`);
    value(x.types, y.types, `${p}.types`);
    value(x.src, y.src, `${p}.src`);
    value(x.arg, y.arg, `${p}.arg`);
  };
  try {
    if (a.name !== b.name) fail("name", `${a.name} vs ${b.name}`);
    value(a.outputNames, b.outputNames, "outputNames");
    value(a.inputs, b.inputs, "inputs");
    value(a.outputs, b.outputs, "outputs");
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Prints, parses back, and checks the text and the structure survive; returns the text. */
export function roundTrip(g: Graph): string {
  const text = printGraph(g);
  const back = parseGraph(text);
  expect(printGraph(back)).toBe(text);
  expect(graphDiff(g, back)).toBeUndefined();
  // interning: parsing the same text again into a fresh context gives the same structure
  expect(graphDiff(back, parseGraph(text))).toBeUndefined();
  return text;
}

/** Every node of the graph, including iterate bodies. */
export const allNodes = (g: Graph): Node[] => toposort([...g.outputs, ...g.inputs]);

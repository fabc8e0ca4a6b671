/**
 * Which nodes may set the program's error flag (an out-of-range data-dependent index: gather,
 * segment_reduce, attention block routes and probs rows, loads in compute bodies and hooks that
 * are not provably in range). Passes use it to stay exact about the flag: a node that may flag
 * must keep being evaluated in full, so it is neither dropped nor evaluated only in part.
 */
import { dimGeneration, type Dim } from "../dim.ts";
import type { SExpr } from "../expr.ts";
import { children } from "../node.ts";
import type { Node, OpArgs } from "../ops.ts";
import { forEachLoadInScope, inRange, rootScope } from "./ranges.ts";

/**
 * bodyMayFlag's answers per (immutable) body, by what they depend on: the extents, the operand
 * shapes (dims are interned: ids name them) and the dims generation. Fusion asks about one
 * producer once per consumer, and dead-code elimination asks again for every kept node.
 */
const flagMemo = new WeakMap<SExpr, Map<string, boolean>>();

/** Whether evaluating `body` over `extents` (its output / hook variables) may read out of range. */
export function bodyMayFlag(body: SExpr, extents: readonly Dim[], srcs: readonly Node[]): boolean {
  const sig = `${dimGeneration()}|${extents.map((d) => d.id).join(",")}|${srcs.length}:${srcs.map((s) => s.shape.map((d) => d.id).join(",")).join(";")}`;
  let known = flagMemo.get(body);
  if (!known) flagMemo.set(body, (known = new Map()));
  let r = known.get(sig);
  if (r === undefined) known.set(sig, (r = loadsMayFlag(body, extents, srcs)));
  return r;
}

function loadsMayFlag(body: SExpr, extents: readonly Dim[], srcs: readonly Node[]): boolean {
  let flag = false;
  forEachLoadInScope(body, rootScope(extents), (l, sc) => {
    const s = srcs[l.src];
    if (!flag && (!s || !l.idx.every((ix, a) => inRange(ix, s.shape[a]!, sc)))) flag = true;
  });
  return flag;
}

/** Whether n itself (not its operands) may set the error flag. */
export function ownMayFlag(n: Node): boolean {
  switch (n.op) {
    case "gather":
    case "segment_reduce":
      return true;
    case "compute":
      return bodyMayFlag((n.arg as OpArgs["compute"]).body, n.shape, n.src);
    case "attention": {
      const a = n.arg as OpArgs["attention"];
      if (a.blocks || a.returns.some((r) => r.kind === "probs")) return true;
      const o = n.types[0]!.shape;
      const extents = [...o.slice(0, -1), n.src[1]!.shape[n.src[1]!.shape.length - 2]!];
      return [a.score, a.mask].some((e) => e !== undefined && bodyMayFlag(e, extents, n.src));
    }
    default:
      return false;
  }
}

const memo = new WeakMap<Node, boolean>();

/** Whether evaluating n, including everything it is computed from, may set the error flag. */
export function mayFlag(n: Node): boolean {
  const known = memo.get(n);
  if (known !== undefined) return known;
  // iterative post-order, so long chains do not overflow the stack
  const stack: Node[] = [n];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (memo.has(top)) {
      stack.pop();
      continue;
    }
    const pending = children(top).filter((c) => !memo.has(c));
    if (pending.length) {
      stack.push(...pending);
      continue;
    }
    stack.pop();
    memo.set(top, ownMayFlag(top) || children(top).some((c) => memo.get(c)!));
  }
  return memo.get(n)!;
}

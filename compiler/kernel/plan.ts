/**
 * plan-memory — liveness-based buffer reuse on a lowered Program, and the buffer-plan report.
 * Why: one buffer per node output makes peak memory the sum of all intermediates; most die early.
 * Pre:  a Program from lowerGraph (steps in execution order; loops as `loop` steps).
 * Post: temporaries whose lifetimes do not overlap share one physical buffer when they have the
 *       same dtype and sizes that compare symbolically (the slot is as large as its largest
 *       occupant); buffer ids are renumbered densely and every reference is rewritten.
 *
 * Rules
 * - Never shared: inputs, constants, the error flag, graph outputs, loop state (buffers copied
 *   to or from, and the iteration-index buffers), which all live for the whole run.
 * - A buffer's live range runs from its first use to its last; a use inside a loop extends the
 *   range over the whole loop (later iterations read what earlier ones wrote).
 * - A buffer may move into a slot another buffer left only if its producer writes every element
 *   (the generic per-element kernel, marked by lowerGraph with markFullWrite): WebGPU buffers
 *   start zeroed and a dedicated kernel might rely on that. Any dead temporary can give its slot.
 * - Sizes compare when their difference is a constant or a positive sum of products of dim
 *   variables (dims are never negative), e.g. B*N*N >= B*N*N, 2*N >= N; B*N vs N*C never.
 */
import * as D from "../graph/dim.ts";
import { dim, evalDim, type Dim } from "../graph/dim.ts";
import type { DType } from "../graph/dtype.ts";
import type { BufferDecl, Launch, Program, Step } from "./program.ts";

/** Launch → the buffer it writes completely (registered by lowerGraph for per-element kernels). */
const FULL_WRITES = new WeakMap<Launch, Set<number>>();

/** Declares that `launch` writes every element of buffer `buf` (so a reused buffer needs no zeroing). */
export function markFullWrite(launch: Launch, buf: number): Launch {
  const s = FULL_WRITES.get(launch) ?? new Set<number>();
  s.add(buf);
  FULL_WRITES.set(launch, s);
  return launch;
}

/** Bytes per element as the WebGPU runtime stores them (f16/bf16 live as f32, bool as u32). */
export const STORAGE_BYTES = 4;

export interface PlannedBuffer {
  /** Id in the original (unplanned) program. */
  readonly id: number;
  readonly decl: BufferDecl;
  /** Physical buffer id in the planned program. */
  readonly slot: number;
  /** First and last step positions that use it (inclusive); -1 for buffers no step touches. */
  readonly live: readonly [number, number];
  /** Why it may not share a slot (undefined when it may). */
  readonly pinned?: string;
}

export interface BufferPlan {
  readonly buffers: readonly PlannedBuffer[];
  /** Physical buffers: element count (the largest occupant), dtype, occupants (original ids). */
  readonly slots: readonly { readonly id: number; readonly dtype: DType; readonly numel: Dim; readonly occupants: readonly number[] }[];
}

const STORAGE_ROLES: ReadonlySet<BufferDecl["role"]> = new Set(["input", "const", "flag", "output"]);

const VAR_MONO = /^[A-Za-z_][A-Za-z0-9_]*(\*[A-Za-z_][A-Za-z0-9_]*)*$/;
function nonNegative(d: Dim): boolean {
  if (d.value !== undefined) return d.value >= 0;
  for (const [mono, coef] of d.terms) if (mono === "" ? coef < 0 : coef <= 0 || !VAR_MONO.test(mono)) return false;
  return true;
}
/** a <= b for every binding of the dims. */
export const sizeLE = (a: Dim, b: Dim): boolean => a === b || nonNegative(D.sub(b, a));

/** Live ranges over the linearized steps (loops extended over their whole body). */
function liveness(p: Program): { ranges: Map<number, [number, number]>; fullWrite: Map<number, boolean>; loopState: Set<number> } {
  const ranges = new Map<number, [number, number]>();
  const fullWrite = new Map<number, boolean>();
  const loopState = new Set<number>();
  let pos = 0;
  const touch = (b: number, lo: number, hi: number) => {
    const r = ranges.get(b);
    if (r) {
      r[0] = Math.min(r[0], lo);
      r[1] = Math.max(r[1], hi);
    } else ranges.set(b, [lo, hi]);
  };
  const visit = (steps: readonly Step[], loops: [number, number][]): void => {
    for (const s of steps) {
      const here = pos++;
      const use = (b: number) => {
        touch(b, here, here);
        for (const [lo, hi] of loops) touch(b, lo, hi);
      };
      if (s.k === "launch") {
        const full = FULL_WRITES.get(s);
        for (const b of s.args) {
          if (!ranges.has(b)) fullWrite.set(b, full?.has(b) ?? false);
          use(b);
        }
        if (s.uniforms.some((u) => u.kind === "iter")) s.args.forEach((b) => loopState.add(b));
      } else if (s.k === "copy") {
        loopState.add(s.from);
        loopState.add(s.to);
        use(s.from);
        use(s.to);
      } else {
        const start = pos;
        const size = countSteps(s.body);
        visit(s.body, [...loops, [start, start + size - 1]]);
      }
    }
  };
  visit(p.steps, []);
  return { ranges, fullWrite, loopState };
}

function countSteps(steps: readonly Step[]): number {
  let n = 0;
  for (const s of steps) n += 1 + (s.k === "loop" ? countSteps(s.body) : 0);
  return n;
}

/** Assigns buffers to physical slots and rewrites the program to use them. */
export function planMemory(p: Program): { program: Program; plan: BufferPlan } {
  const { ranges, fullWrite, loopState } = liveness(p);
  const outputs = new Set(p.outputs.map((o) => o.buffer));
  const pinnedWhy = (b: BufferDecl): string | undefined => {
    if (STORAGE_ROLES.has(b.role)) return b.role;
    if (outputs.has(b.id)) return "output";
    if (loopState.has(b.id)) return "loop state";
    if (!ranges.has(b.id)) return "unused";
    return undefined;
  };
  interface Slot { id: number; dtype: DType; numel: Dim; freeAt: number; shared: boolean; occupants: number[] }
  const slots: Slot[] = [];
  const slotOf = new Map<number, Slot>();
  const order = [...p.buffers].sort((a, b) => (ranges.get(a.id)?.[0] ?? -1) - (ranges.get(b.id)?.[0] ?? -1) || a.id - b.id);
  for (const b of order) {
    const pinned = pinnedWhy(b);
    const [start, end] = ranges.get(b.id) ?? [-1, -1];
    let slot: Slot | undefined;
    if (!pinned && fullWrite.get(b.id)) {
      // best fit: a free slot of this dtype whose size compares; prefer one that need not grow, then the smallest
      const fits = slots.filter((s) => s.shared && s.dtype === b.dtype && s.freeAt < start && (sizeLE(b.numel, s.numel) || sizeLE(s.numel, b.numel)));
      fits.sort((x, y) => Number(!sizeLE(b.numel, x.numel)) - Number(!sizeLE(b.numel, y.numel)) || (sizeLE(x.numel, y.numel) ? -1 : 1));
      slot = fits[0];
      if (slot && !sizeLE(b.numel, slot.numel)) slot.numel = b.numel;
    }
    if (!slot) {
      slot = { id: slots.length, dtype: b.dtype, numel: b.numel, freeAt: end, shared: !pinned, occupants: [] };
      slots.push(slot);
    }
    slot.freeAt = end;
    slot.occupants.push(b.id);
    slotOf.set(b.id, slot);
  }
  // dense renumbering: slots in order of their first occupant's original id
  const byFirst = [...slots].sort((a, b) => Math.min(...a.occupants) - Math.min(...b.occupants));
  byFirst.forEach((s, i) => (s.id = i));
  const to = (b: number) => slotOf.get(b)!.id;
  const buffers: BufferDecl[] = byFirst.map((s) => {
    const lead = p.buffers[Math.min(...s.occupants)]!;
    return { ...lead, id: s.id, numel: s.numel };
  });
  const mapSteps = (steps: readonly Step[]): Step[] =>
    steps.map((s): Step => {
      if (s.k === "launch") {
        const l: Launch = { ...s, args: s.args.map(to) };
        const full = FULL_WRITES.get(s);
        if (full) for (const b of full) markFullWrite(l, to(b));
        return l;
      }
      if (s.k === "copy") return { ...s, from: to(s.from), to: to(s.to) };
      return { ...s, body: mapSteps(s.body) };
    });
  const program: Program = {
    ...p,
    buffers,
    steps: mapSteps(p.steps),
    inputs: p.inputs.map((i) => ({ ...i, buffer: to(i.buffer) })),
    outputs: p.outputs.map((o) => ({ ...o, buffer: to(o.buffer) })),
    flag: to(p.flag),
  };
  const plan: BufferPlan = {
    buffers: p.buffers.map((b) => ({ id: b.id, decl: b, slot: to(b.id), live: ranges.get(b.id) ?? [-1, -1], pinned: pinnedWhy(b) })),
    slots: byFirst.map((s) => ({ id: s.id, dtype: s.dtype, numel: s.numel, occupants: [...s.occupants] })),
  };
  return { program, plan };
}

/** Bytes for given dims: all buffers unplanned, the planned slots, and the peak of live bytes. */
export function planBytes(plan: BufferPlan, dims: Record<string, number>): { unplanned: number; planned: number; peakLive: number } {
  const bytes = (d: Dim) => {
    const v = evalDim(d, dims);
    if (v === undefined) throw new Error(`size ${d.toString()} needs dims ${JSON.stringify(dims)}`);
    return v * STORAGE_BYTES;
  };
  const unplanned = plan.buffers.reduce((s, b) => s + bytes(b.decl.numel), 0);
  const planned = plan.slots.reduce((s, x) => s + bytes(x.numel), 0);
  // peak of live bytes over positions: pinned buffers count throughout
  const events = new Map<number, number>();
  let always = 0;
  for (const b of plan.buffers) {
    if (b.pinned) always += bytes(b.decl.numel);
    else {
      events.set(b.live[0], (events.get(b.live[0]) ?? 0) + bytes(b.decl.numel));
      events.set(b.live[1] + 1, (events.get(b.live[1] + 1) ?? 0) - bytes(b.decl.numel));
    }
  }
  let cur = 0;
  let peak = 0;
  for (const k of [...events.keys()].sort((a, b) => a - b)) {
    cur += events.get(k)!;
    peak = Math.max(peak, cur);
  }
  return { unplanned, planned, peakLive: always + peak };
}

/** The buffer-plan report: one line per original buffer (symbolic size, slot, live range), then totals. */
export function planReport(plan: BufferPlan, dims?: Record<string, number>): string {
  const lines: string[] = [`buffer plan: ${plan.buffers.length} buffers in ${plan.slots.length} physical buffers`];
  for (const b of plan.buffers) {
    const what = b.decl.node ? ` ${b.decl.node.op}` : "";
    const live = b.live[0] < 0 ? "unused" : `live ${b.live[0]}..${b.live[1]}`;
    const size = D.mul(b.decl.numel, dim(STORAGE_BYTES));
    lines.push(`  #${b.id} ${b.decl.role}${what} ${b.decl.dtype}[${b.decl.numel.toString()}] ${size.toString()} B -> slot ${b.slot}, ${live}${b.pinned ? ` (kept: ${b.pinned})` : ""}`);
  }
  if (dims) {
    const t = planBytes(plan, dims);
    lines.push(`  with ${Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(", ")}: ${t.unplanned} B unplanned, ${t.planned} B planned, peak live ${t.peakLive} B`);
  }
  return lines.join("\n") + "\n";
}

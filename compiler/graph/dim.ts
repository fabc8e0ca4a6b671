/**
 * Symbolic dims. A Dim is an integer polynomial over named dim variables (B, N, C…) and opaque
 * atoms (floor division, modulo, min, max of non-constant operands), kept in a canonical form so
 * that structural equality is string equality: `N - r + r` and `N` are the same Dim object.
 * Division and modulo are floored (Python). Dims are interned process-wide by canonical key.
 */

type Atom = { readonly key: string; readonly kind: "var"; readonly name: string } | {
  readonly key: string;
  readonly kind: "div" | "mod" | "min" | "max";
  readonly a: Dim;
  readonly b: Dim;
};

/** monomial key ("" for the constant term) -> coefficient; monomial = sorted atom keys joined by "*". */
type Terms = ReadonlyMap<string, number>;

const atoms = new Map<string, Atom>();
const dims = new Map<string, Dim>();
/** Keys of `div(X, k)` atoms (constant k > 0) assumed exact: k * (X / k) simplifies to X. */
const exactDivs = new Set<string>();

/**
 * Memo tables. Dims are interned, so an operation on two dims is a pure function of their ids —
 * except that registering an exact division changes what `make` returns (cancelExact), so the
 * operation tables are emptied whenever exactDivs grows. Constants, variables, monomial splits
 * and printed text never depend on exactDivs.
 */
const constDims = new Map<number, Dim>();
const varDims = new Map<string, Dim>();
const monoAtoms = new Map<string, readonly string[]>();
const opMemo = { add: new Map<number, Dim>(), mul: new Map<number, Dim>(), div: new Map<number, Dim>(), mod: new Map<number, Dim>(), min: new Map<number, Dim>(), max: new Map<number, Dim>() };
/** Pair key of two dims for the memo tables (ids stay far below 2^26 in practice; beyond, no memo). */
const ID_LIMIT = 2 ** 26;
const pairKey = (x: Dim, y: Dim): number => (x.id < ID_LIMIT && y.id < ID_LIMIT ? x.id * ID_LIMIT + y.id : -1);
function memo(table: Map<number, Dim>, x: Dim, y: Dim, f: (x: Dim, y: Dim) => Dim): Dim {
  const k = pairKey(x, y);
  if (k < 0) return f(x, y);
  let r = table.get(k);
  if (r === undefined) {
    r = f(x, y);
    if (table.size >= MEMO_LIMIT) table.clear(); // bounded: a long-lived process forgets, it does not grow
    table.set(k, r);
  }
  return r;
}
const MEMO_LIMIT = 1 << 18;
let nextDimId = 0;
let generation = 0;

/**
 * Bumped whenever an exact division is registered, which can make dim arithmetic simplify
 * further: memo tables outside this module that cache conclusions drawn from dims key on it.
 */
export const dimGeneration = (): number => generation;

export class Dim {
  // private fields: a Dim's own enumerable properties stay `terms` and `key` (JSON, deep equality)
  readonly #id = nextDimId++;
  readonly #value: number | undefined;
  #text: string | undefined;

  private constructor(
    readonly terms: Terms,
    readonly key: string,
  ) {
    this.#value = terms.size === 0 ? 0 : terms.size === 1 && terms.has("") ? terms.get("")! : undefined;
  }

  /** Interning order: unique per process. */
  get id(): number {
    return this.#id;
  }

  /** The integer value when the dim is constant. */
  get value(): number | undefined {
    return this.#value;
  }

  /** @internal printDim's memo. */
  static text(d: Dim, print: (d: Dim) => string): string {
    return (d.#text ??= print(d));
  }

  /** @internal */
  static make(terms: Map<string, number>): Dim {
    for (const [k, v] of terms) if (v === 0) terms.delete(k);
    if (exactDivs.size) {
      const r = cancelExact(terms);
      if (r) return r;
    }
    const keys = [...terms.keys()].sort(monoCompare);
    const key = keys.length === 0 ? "0" : keys.map((k) => `${terms.get(k)}${k === "" ? "" : "·" + k}`).join("+");
    let d = dims.get(key);
    if (!d) {
      d = new Dim(new Map(keys.map((k) => [k, terms.get(k)!])), key);
      dims.set(key, d);
    }
    return d;
  }

  get isConst(): boolean {
    return this.value !== undefined;
  }

  toString(): string {
    return printDim(this);
  }
}

function monoCompare(a: string, b: string): number {
  if (a === "") return 1; // constant last
  if (b === "") return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export type DimLike = Dim | number | string;

export function dim(x: DimLike): Dim {
  if (x instanceof Dim) return x;
  if (typeof x === "number") {
    let d = constDims.get(x);
    if (d === undefined) {
      if (!Number.isInteger(x)) throw new RangeError(`dim must be an integer, got ${x}`);
      constDims.set(x, (d = Dim.make(new Map([["", x]]))));
    }
    return d;
  }
  let d = varDims.get(x);
  if (d === undefined) varDims.set(x, (d = atomDim(varAtom(x))));
  return d;
}

function varAtom(name: string): Atom {
  const key = name;
  let a = atoms.get(key);
  if (!a) atoms.set(key, (a = { key, kind: "var", name }));
  return a;
}

function opAtom(kind: "div" | "mod" | "min" | "max", a: Dim, b: Dim): Atom {
  const key = `${kind}(${a.key},${b.key})`;
  let at = atoms.get(key);
  if (!at) atoms.set(key, (at = { key, kind, a, b }));
  return at;
}

const atomByKey = (k: string): Atom => atoms.get(k)!;

/** The atom keys of a monomial key (memoized; do not mutate the result). */
function splitMono(mono: string): readonly string[] {
  let r = monoAtoms.get(mono);
  if (r === undefined) {
    if (monoAtoms.size >= MEMO_LIMIT) monoAtoms.clear();
    monoAtoms.set(mono, (r = Object.freeze(splitMonoText(mono))));
  }
  return r;
}

/** Splits a monomial key on "*" outside parentheses (op atom keys nest dim keys). */
function splitMonoText(mono: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < mono.length; i++) {
    const c = mono[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "*" && depth === 0) {
      out.push(mono.slice(start, i));
      start = i + 1;
    }
  }
  out.push(mono.slice(start));
  return out;
}

function atomDim(a: Atom): Dim {
  return Dim.make(new Map([[a.key, 1]]));
}

export function add(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.add, dim(a), dim(b), addDims);
}

function addDims(x: Dim, y: Dim): Dim {
  const t = new Map(x.terms);
  for (const [k, v] of y.terms) t.set(k, (t.get(k) ?? 0) + v);
  return Dim.make(t);
}

export function neg(a: DimLike): Dim {
  return mul(a, -1);
}

export function sub(a: DimLike, b: DimLike): Dim {
  return add(a, neg(b));
}

export function mul(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.mul, dim(a), dim(b), mulDims);
}

function mulDims(x: Dim, y: Dim): Dim {
  const t = new Map<string, number>();
  for (const [ka, va] of x.terms)
    for (const [kb, vb] of y.terms) {
      const k = [...(ka ? splitMono(ka) : []), ...(kb ? splitMono(kb) : [])].sort().join("*");
      t.set(k, (t.get(k) ?? 0) + va * vb);
    }
  return Dim.make(t);
}

const floorDiv = (a: number, b: number): number => Math.floor(a / b);
const floorMod = (a: number, b: number): number => a - Math.floor(a / b) * b;

/** Floored division. Throws RangeError on a constant zero divisor. */
export function div(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.div, dim(a), dim(b), divDims);
}

function divDims(x: Dim, y: Dim): Dim {
  const yv = y.value;
  if (yv === 0) throw new RangeError("division by zero");
  const xv = x.value;
  if (xv !== undefined && yv !== undefined) return dim(floorDiv(xv, yv));
  if (yv === 1) return x;
  if (yv !== undefined && [...x.terms.values()].every((c) => c % yv === 0)) {
    return Dim.make(new Map([...x.terms].map(([k, v]) => [k, v / yv])));
  }
  if (x.key === y.key) return dim(1);
  const q = divideMonomial(x, y);
  if (q) return q;
  return atomDim(opAtom("div", x, y));
}

/** x / y when y is one term c·m and every term of x is a multiple of it; else undefined. */
function divideMonomial(x: Dim, y: Dim, scaled = false): Dim | undefined {
  if (y.terms.size !== 1) return undefined;
  const [[ym, yc]] = [...y.terms] as [[string, number]];
  if (ym === "" || yc === 0) return undefined;
  const yAtoms = splitMono(ym);
  if (!scaled) {
    // y = Π (X_i / k_i) with exact divisions: compare x·Πk with Π X_i instead
    const K = yAtoms.reduce((p, a) => (exactDivs.has(a) ? p * (atoms.get(a) as { b: Dim }).b.value! : p), 1);
    if (K > 1) {
      const q = divideMonomial(mul(x, K), mul(y, K), true);
      if (q) return q;
    }
  }
  const out = new Map<string, number>();
  for (const [mono, coef] of x.terms) {
    if (coef % yc !== 0) return undefined;
    const rest = mono === "" ? [] : [...splitMono(mono)];
    for (const a of yAtoms) {
      const i = rest.indexOf(a);
      if (i < 0) return undefined;
      rest.splice(i, 1);
    }
    const k = rest.join("*");
    out.set(k, (out.get(k) ?? 0) + coef / yc);
  }
  return Dim.make(out);
}

/**
 * Division assumed exact (the caller records a run-time check that k divides a): k * (a / k)
 * then simplifies to a, so shapes like [h, C / h] reshape back to [C]. k must be a positive constant.
 */
export function exactDiv(a: DimLike, k: number): Dim {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`exact division by ${k}`);
  const d = div(a, k);
  if (d.terms.size === 1) {
    const [[mono, coef]] = [...d.terms] as [[string, number]];
    const at = coef === 1 && mono !== "" ? atoms.get(mono) : undefined;
    if (at && at.kind === "div" && at.b.value === k && at.a === dim(a) && !exactDivs.has(at.key)) {
      exactDivs.add(at.key);
      generation++;
      for (const t of Object.values(opMemo)) t.clear();
    }
  }
  return d;
}

/** Rewrites terms c·(X/k)·rest with k | c into (c/k)·X·rest for exact divisions; undefined if none apply. */
function cancelExact(terms: Map<string, number>): Dim | undefined {
  let hit = false;
  for (const [mono, coef] of terms) {
    if (mono === "") continue;
    for (const ak of splitMono(mono)) {
      const at = exactDivs.has(ak) ? atoms.get(ak) : undefined;
      if (at && at.kind === "div" && coef % at.b.value! === 0) hit = true;
    }
  }
  if (!hit) return undefined;
  let acc = dim(0);
  for (const [mono, coef] of terms) {
    const parts = mono === "" ? [] : splitMono(mono);
    const i = parts.findIndex((ak) => {
      const at = exactDivs.has(ak) ? atoms.get(ak) : undefined;
      return at !== undefined && at.kind === "div" && coef % at.b.value! === 0;
    });
    if (i < 0) {
      acc = add(acc, Dim.make(new Map([[mono, coef]])));
      continue;
    }
    const at = atoms.get(parts[i]!) as { a: Dim; b: Dim };
    const rest = parts.filter((_, j) => j !== i);
    let term = mul(at.a, coef / at.b.value!);
    for (const r of rest) term = mul(term, Dim.make(new Map([[r, 1]])));
    acc = add(acc, term);
  }
  return acc;
}

/** Ceiling division: ceil(a / b) = floor((a + b - 1) / b) for positive b. */
export function ceilDiv(a: DimLike, b: DimLike): Dim {
  if (mod(a, b).value === 0) return div(a, b);
  return div(add(a, sub(b, 1)), b);
}

export function mod(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.mod, dim(a), dim(b), modDims);
}

function modDims(x: Dim, y: Dim): Dim {
  const yv = y.value;
  if (yv === 0) throw new RangeError("modulo by zero");
  const xv = x.value;
  if (xv !== undefined && yv !== undefined) return dim(floorMod(xv, yv));
  if (yv !== undefined && [...x.terms.values()].every((c) => c % yv === 0)) return dim(0);
  if (x.key === y.key) return dim(0);
  if (divideMonomial(x, y)) return dim(0);
  return atomDim(opAtom("mod", x, y));
}

/** Dim variables are sizes (≥ 0) and every atom of non-negative operands is ≥ 0, so a dim whose coefficients are all ≥ 0 is ≥ 0. */
const provablyNonneg = (d: Dim): boolean => [...d.terms.values()].every((c) => c >= 0);

export function min(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.min, dim(a), dim(b), minDims);
}

function minDims(x: Dim, y: Dim): Dim {
  if (x === y) return x;
  const d = sub(x, y).value;
  if (d !== undefined) return d <= 0 ? x : y;
  if (provablyNonneg(sub(y, x))) return x;
  if (provablyNonneg(sub(x, y))) return y;
  const [p, q] = x.key < y.key ? [x, y] : [y, x];
  return atomDim(opAtom("min", p, q));
}

export function max(a: DimLike, b: DimLike): Dim {
  return memo(opMemo.max, dim(a), dim(b), maxDims);
}

function maxDims(x: Dim, y: Dim): Dim {
  if (x === y) return x;
  const d = sub(x, y).value;
  if (d !== undefined) return d >= 0 ? x : y;
  if (provablyNonneg(sub(x, y))) return x;
  if (provablyNonneg(sub(y, x))) return y;
  const [p, q] = x.key < y.key ? [x, y] : [y, x];
  return atomDim(opAtom("max", p, q));
}

/** Evaluates a dim under bindings of its variables; undefined when a variable is unbound. */
export function evalDim(d: Dim, env: ReadonlyMap<string, number> | Record<string, number>): number | undefined {
  const get = env instanceof Map ? (n: string) => env.get(n) : (n: string) => (env as Record<string, number>)[n];
  let total = 0;
  for (const [mono, coef] of d.terms) {
    let v = coef;
    if (mono !== "")
      for (const ak of splitMono(mono)) {
        const av = evalAtom(atomByKey(ak), get);
        if (av === undefined) return undefined;
        v *= av;
      }
    total += v;
  }
  return total;
}

function evalAtom(a: Atom, get: (n: string) => number | undefined): number | undefined {
  if (a.kind === "var") return get(a.name);
  const x = evalDimWith(a.a, get);
  const y = evalDimWith(a.b, get);
  if (x === undefined || y === undefined) return undefined;
  switch (a.kind) {
    case "div":
      return y === 0 ? undefined : floorDiv(x, y);
    case "mod":
      return y === 0 ? undefined : floorMod(x, y);
    case "min":
      return Math.min(x, y);
    case "max":
      return Math.max(x, y);
  }
}

function evalDimWith(d: Dim, get: (n: string) => number | undefined): number | undefined {
  const env = new Map<string, number>();
  for (const v of dimVars(d)) {
    const x = get(v);
    if (x === undefined) return undefined;
    env.set(v, x);
  }
  return evalDim(d, env);
}

/** A factor of a dim's monomial: a variable, or an opaque op of two dims. */
export type DimAtom = { readonly kind: "var"; readonly name: string } | { readonly kind: "div" | "mod" | "min" | "max"; readonly a: Dim; readonly b: Dim };

/** The dim as a sum of coef · Π atoms (the constant term has no atoms), in canonical order. */
export function dimTerms(d: Dim): { readonly coef: number; readonly atoms: readonly DimAtom[] }[] {
  return [...d.terms].map(([mono, coef]) => ({ coef, atoms: mono === "" ? [] : splitMono(mono).map(atomByKey) }));
}

/** Names of the dim variables a dim mentions, sorted. */
export function dimVars(d: Dim): string[] {
  const out = new Set<string>();
  const visit = (x: Dim) => {
    for (const mono of x.terms.keys())
      if (mono !== "")
        for (const ak of splitMono(mono)) {
          const a = atomByKey(ak);
          if (a.kind === "var") out.add(a.name);
          else {
            visit(a.a);
            visit(a.b);
          }
        }
  };
  visit(d);
  return [...out].sort();
}

/** When the dim is exactly one variable, its name. */
export function asVar(d: Dim): string | undefined {
  if (d.terms.size !== 1) return undefined;
  const [[mono, coef]] = [...d.terms] as [[string, number]];
  if (coef !== 1 || mono === "" || splitMono(mono).length > 1) return undefined;
  const a = atomByKey(mono);
  return a.kind === "var" ? a.name : undefined;
}

/** Human-readable form: `N - r + 1`, `(N + 1) / 2`, `S*S`. Also the IR text form (re-parseable). */
export function printDim(d: Dim): string {
  return Dim.text(d, printTerms);
}

function printTerms(d: Dim): string {
  if (d.terms.size === 0) return "0";
  const parts: string[] = [];
  const keys = [...d.terms.keys()].sort(monoCompare);
  keys.forEach((mono, idx) => {
    const coef = d.terms.get(mono)!;
    const body = mono === "" ? "" : splitMono(mono).map((k) => printAtom(atomByKey(k))).join("*");
    const abs = Math.abs(coef);
    const term = body === "" ? String(abs) : abs === 1 ? body : `${abs}*${body}`;
    if (idx === 0) parts.push(coef < 0 ? `-${term}` : term);
    else parts.push(coef < 0 ? ` - ${term}` : ` + ${term}`);
  });
  return parts.join("");
}

function printAtom(a: Atom): string {
  if (a.kind === "var") return a.name;
  const wrap = (x: Dim) => (x.terms.size > 1 ? `(${printDim(x)})` : printDim(x));
  // The right operand of / and % also needs parentheses when it is a product (`M / (2*N)`).
  const wrapR = (x: Dim) => {
    const [mono, coef] = [...x.terms][0] ?? ["", 0];
    return x.terms.size > 1 || (mono !== "" && (Math.abs(coef) !== 1 || splitMono(mono).length > 1)) ? `(${printDim(x)})` : printDim(x);
  };
  switch (a.kind) {
    case "div":
      return `${wrap(a.a)} / ${wrapR(a.b)}`.replace(/^(.*)$/, "($1)");
    case "mod":
      return `(${wrap(a.a)} % ${wrapR(a.b)})`;
    case "min":
      return `min(${printDim(a.a)}, ${printDim(a.b)})`;
    case "max":
      return `max(${printDim(a.a)}, ${printDim(a.b)})`;
  }
}

export const shapeToString = (s: readonly Dim[]): string => `[${s.map(printDim).join(", ")}]`;

export const shapeEq = (a: readonly Dim[], b: readonly Dim[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Element count of a shape as a Dim. */
export const numel = (s: readonly Dim[]): Dim => s.reduce<Dim>((acc, d) => mul(acc, d), dim(1));

/**
 * The attn grammar (dsl/GRAMMAR.md) as a chevrotain CstParser: grammar only, no actions. Error
 * recovery is on; error messages are structured (JSON) so dsl/index.ts can map them to catalog
 * diagnostics. Lambdas and reductions are chosen by bounded token scans (gates); nesting is capped.
 */
import { CstParser, EOF, tokenMatcher, type IOrAlt, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import { isRedOp } from "./ast.ts";
import {
  AddOp, AndAnd, Arrow, BodyStart, Colon, Comma, CmpOp, Dot, Ellipsis, Eq, False, FatArrow, Fn, From, Graph,
  Identifier, Import, Inf, ItemKeyword, LBrace, LBracket, Let, LParen, MulOp, NaN_, NumberLit, OrOr, Param, Pipe,
  Question, RBrace, RBracket, Return, RParen, Schedule, Semi, StarStar, StringLit, Transpose, True, UnaryOp, allTokens,
} from "./tokens.ts";

/** Most nested `expr`/`unary` rule invocations before the parser gives up on an item. */
export const MAX_NESTING = 100;
/** Most tokens a gate scans ahead when deciding between a reduction and a call. */
const SCAN_LIMIT = 4000;

/** Thrown (and caught in dsl/index.ts) when an item nests deeper than MAX_NESTING. */
export class NestingTooDeep extends Error {
  constructor(readonly token: IToken) {
    super("nesting too deep");
  }
}

/** What went wrong, as carried in a chevrotain exception's message. */
export interface ParseErrorInfo {
  readonly kind: "mismatch" | "redundant" | "noAlt" | "earlyExit";
  readonly rule: string;
  /** For "mismatch": the label of the expected token, e.g. `')'` or `identifier`. */
  readonly expected?: string;
}

export const tokenLabel = (t: TokenType): string => t.LABEL ?? t.name;

const info = (x: ParseErrorInfo): string => JSON.stringify(x);
const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) => info({ kind: "mismatch", rule: ruleName, expected: tokenLabel(expected) }),
  buildNotAllInputParsedMessage: ({ ruleName }) => info({ kind: "redundant", rule: ruleName }),
  buildNoViableAltMessage: ({ ruleName }) => info({ kind: "noAlt", rule: ruleName }),
  buildEarlyExitMessage: ({ ruleName }) => info({ kind: "earlyExit", rule: ruleName }),
};

const OPENERS: readonly TokenType[] = [LParen, LBracket];
const CLOSERS: readonly TokenType[] = [RParen, RBracket];
/** Tokens that can never occur inside a reduction header: the scan stops there. */
const HARD_STOPS: readonly TokenType[] = [LBrace, RBrace, Let, Return, Semi, EOF];

export class AttnParser extends CstParser {
  private nesting = 0;
  /**
   * Alternatives of each OR, built once: tsx compiles with keepNames, which makes creating the
   * `{ ALT: () => ... }` closures on every rule invocation the parser's main cost.
   */
  private readonly alts: Record<string, IOrAlt<unknown>[]> = {};

  /**
   * `validate` runs chevrotain's grammar checks (ambiguities, left recursion). They need
   * `Object.groupBy` (Node 21+), so they are off by default and run in test/dsl on a polyfill.
   */
  constructor(opts: { validate?: boolean } = {}) {
    super(allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "onlyOffset",
      maxLookahead: 3,
      errorMessageProvider,
      skipValidations: opts.validate !== true,
    });
    this.performSelfAnalysis();
  }

  /** Parses one chunk of tokens (one item, or stray tokens) into a `program` CST. */
  parseTokens(tokens: IToken[]) {
    this.nesting = 0;
    this.input = tokens;
    return this.program();
  }

  private enter(): void {
    if (++this.nesting > MAX_NESTING && !this.RECORDING_PHASE) throw new NestingTooDeep(this.LA(1));
  }

  // ------------------------------------------------------------------ gates

  private is(i: number, t: TokenType): boolean {
    return tokenMatcher(this.LA(i), t);
  }

  /** `x =>`, `() =>` or `(a, b, c) =>` ahead. */
  private lambdaAhead(): boolean {
    if (this.is(1, Identifier)) return this.is(2, FatArrow);
    if (!this.is(1, LParen)) return false;
    let i = 2;
    if (!this.is(i, RParen)) {
      for (;;) {
        if (!this.is(i, Identifier)) return false;
        i++;
        if (!this.is(i, Comma)) break;
        i++;
      }
    }
    return this.is(i, RParen) && this.is(i + 1, FatArrow);
  }

  /** From token `i`, skips a balanced run up to a token in `stops` at depth 0; its index, or -1. */
  private skipBalanced(i: number, stops: readonly TokenType[]): number {
    let depth = 0;
    for (const end = i + SCAN_LIMIT; i < end; i++) {
      const t = this.LA(i);
      if (HARD_STOPS.some((s) => tokenMatcher(t, s))) return -1;
      if (depth === 0 && stops.some((s) => tokenMatcher(t, s))) return i;
      if (OPENERS.some((s) => tokenMatcher(t, s))) depth++;
      else if (CLOSERS.some((s) => tokenMatcher(t, s)) && --depth < 0) return -1;
    }
    return -1;
  }

  /**
   * `RedOp '(' redVar (',' redVar)* ('|' expr)? ')'` followed by a token that can start a body
   * (GRAMMAR.md, "Reduction vs call"); otherwise `sum(...)` is an ordinary call.
   */
  private reductionAhead(): boolean {
    const op = this.LA(1);
    if (!tokenMatcher(op, Identifier) || !isRedOp(op.image) || !this.is(2, LParen)) return false;
    let i = 3;
    for (;;) {
      if (!this.is(i, Identifier)) return false;
      i++;
      if (this.is(i, Colon)) {
        i = this.skipBalanced(i + 1, [Comma, Pipe, RParen]);
        if (i < 0) return false;
      }
      if (!this.is(i, Comma)) break;
      i++;
    }
    if (this.is(i, Pipe)) {
      i = this.skipBalanced(i + 1, [RParen]);
      if (i < 0) return false;
    }
    return this.is(i, RParen) && this.is(i + 1, BodyStart);
  }

  // ------------------------------------------------------------------ items

  program = this.RULE("program", () => {
    this.MANY(() => this.OR((this.alts["program"] ??= [{ ALT: () => this.SUBRULE(this.item) }, { ALT: () => this.CONSUME(Semi) }])));
  });

  item = this.RULE("item", () => {
    this.OR((this.alts["item"] ??= [
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.fnDecl) },
      { ALT: () => this.SUBRULE(this.scheduleDecl) },
    ]));
  });

  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(Import);
    this.CONSUME(LBrace);
    this.CONSUME(Identifier, { LABEL: "names" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.CONSUME2(Identifier, { LABEL: "names" });
    });
    this.OPTION(() => this.CONSUME2(Comma));
    this.CONSUME(RBrace);
    this.CONSUME(From);
    this.CONSUME(StringLit, { LABEL: "from" });
  });

  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(Param);
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Colon);
    this.CONSUME2(Identifier, { LABEL: "scalarKind" });
    this.CONSUME(Eq);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  /** `graph` and `fn` share one rule; `->` is required for a graph (checked in cst-to-ast). */
  fnDecl = this.RULE("fnDecl", () => {
    this.OR((this.alts["fnDecl"] ??= [{ ALT: () => this.CONSUME(Graph, { LABEL: "keyword" }) }, { ALT: () => this.CONSUME(Fn, { LABEL: "keyword" }) }]));
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(LParen);
    this.OPTION(() => {
      this.SUBRULE(this.formal, { LABEL: "formals" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.formal, { LABEL: "formals" });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RParen);
    this.OPTION3(() => {
      this.CONSUME(Arrow);
      this.SUBRULE(this.retType);
    });
    this.SUBRULE(this.block, { LABEL: "body" });
  });

  formal = this.RULE("formal", () => {
    this.CONSUME(Identifier, { LABEL: "name" });
    this.CONSUME(Colon);
    this.SUBRULE(this.typeRef, { LABEL: "type" });
    this.OPTION(() => {
      this.CONSUME(Eq);
      this.SUBRULE(this.expr, { LABEL: "default" });
    });
  });

  typeRef = this.RULE("typeRef", () => {
    this.CONSUME(Identifier, { LABEL: "dtype" });
    this.OPTION(() => {
      this.CONSUME(LBracket, { LABEL: "open" });
      this.OPTION2(() => {
        this.SUBRULE(this.expr, { LABEL: "dims" });
        this.MANY(() => {
          this.CONSUME(Comma);
          this.SUBRULE2(this.expr, { LABEL: "dims" });
        });
      });
      this.CONSUME(RBracket);
    });
  });

  retType = this.RULE("retType", () => {
    this.OR((this.alts["retType"] ??= [
      { ALT: () => this.SUBRULE(this.typeRef, { LABEL: "types" }) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.SUBRULE2(this.typeRef, { LABEL: "types" });
          this.MANY(() => {
            this.CONSUME(Comma);
            this.SUBRULE3(this.typeRef, { LABEL: "types" });
          });
          this.CONSUME(RParen);
        },
      },
    ]));
  });

  scheduleDecl = this.RULE("scheduleDecl", () => {
    this.CONSUME(Schedule);
    this.OPTION(() => this.CONSUME(Identifier, { LABEL: "name" }));
    this.CONSUME(LBrace);
    this.MANY(() => this.OR((this.alts["scheduleDecl"] ??= [{ ALT: () => this.SUBRULE(this.expr, { LABEL: "items" }) }, { ALT: () => this.CONSUME(Semi) }])));
    this.CONSUME(RBrace);
  });

  // ------------------------------------------------------------------ statements

  block = this.RULE("block", () => {
    this.CONSUME(LBrace);
    this.MANY(() => this.OR((this.alts["block"] ??= [{ ALT: () => this.SUBRULE(this.stmt, { LABEL: "stmts" }) }, { ALT: () => this.CONSUME(Semi) }])));
    this.CONSUME(RBrace);
  });

  stmt = this.RULE("stmt", () => {
    this.OR((this.alts["stmt"] ??= [
      { ALT: () => this.SUBRULE(this.letStmt) },
      { ALT: () => this.SUBRULE(this.returnStmt) },
      { ALT: () => this.SUBRULE(this.expr) },
    ]));
  });

  letStmt = this.RULE("letStmt", () => {
    this.CONSUME(Let);
    this.SUBRULE(this.letTarget, { LABEL: "target" });
    this.CONSUME(Eq);
    this.SUBRULE(this.expr, { LABEL: "value" });
  });

  letTarget = this.RULE("letTarget", () => {
    this.OR((this.alts["letTarget"] ??= [
      {
        ALT: () => {
          this.CONSUME(Identifier, { LABEL: "name" });
          this.OPTION(() => {
            this.CONSUME(LBracket, { LABEL: "open" });
            this.SUBRULE(this.idxVar, { LABEL: "vars" });
            this.MANY(() => {
              this.CONSUME(Comma);
              this.SUBRULE2(this.idxVar, { LABEL: "vars" });
            });
            this.CONSUME(RBracket);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(LParen, { LABEL: "tuple" });
          this.CONSUME2(Identifier, { LABEL: "names" });
          this.MANY2(() => {
            this.CONSUME2(Comma);
            this.CONSUME3(Identifier, { LABEL: "names" });
          });
          this.CONSUME(RParen);
        },
      },
    ]));
  });

  idxVar = this.RULE("idxVar", () => {
    this.CONSUME(Identifier, { LABEL: "name" });
    this.OPTION(() => {
      this.CONSUME(Colon);
      this.SUBRULE(this.expr, { LABEL: "extent" });
    });
  });

  returnStmt = this.RULE("returnStmt", () => {
    this.CONSUME(Return);
    this.SUBRULE(this.expr, { LABEL: "values" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expr, { LABEL: "values" });
    });
  });

  // ------------------------------------------------------------------ expressions

  expr = this.RULE("expr", () => {
    this.enter();
    try {
      this.OR((this.alts["expr"] ??= [
        { GATE: () => this.lambdaAhead(), ALT: () => this.SUBRULE(this.lambda) },
        { GATE: () => this.reductionAhead(), ALT: () => this.SUBRULE(this.reduction) },
        { ALT: () => this.SUBRULE(this.ternary) },
      ]));
    } finally {
      this.nesting--;
    }
  });

  lambda = this.RULE("lambda", () => {
    this.OR((this.alts["lambda"] ??= [
      { ALT: () => this.CONSUME(Identifier, { LABEL: "params" }) },
      {
        ALT: () => {
          this.CONSUME(LParen);
          this.OPTION(() => {
            this.CONSUME2(Identifier, { LABEL: "params" });
            this.MANY(() => {
              this.CONSUME(Comma);
              this.CONSUME3(Identifier, { LABEL: "params" });
            });
          });
          this.CONSUME(RParen);
        },
      },
    ]));
    this.CONSUME(FatArrow);
    this.OR2((this.alts["lambda2"] ??= [{ ALT: () => this.SUBRULE(this.block, { LABEL: "body" }) }, { ALT: () => this.SUBRULE(this.expr, { LABEL: "body" }) }]));
  });

  reduction = this.RULE("reduction", () => {
    this.CONSUME(Identifier, { LABEL: "op" });
    this.CONSUME(LParen);
    this.SUBRULE(this.idxVar, { LABEL: "vars" });
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.idxVar, { LABEL: "vars" });
    });
    this.OPTION(() => {
      this.CONSUME(Pipe);
      this.SUBRULE(this.expr, { LABEL: "cond" });
    });
    this.CONSUME(RParen);
    this.SUBRULE2(this.expr, { LABEL: "body" });
  });

  ternary = this.RULE("ternary", () => {
    this.SUBRULE(this.orExpr, { LABEL: "cond" });
    this.OPTION(() => {
      this.CONSUME(Question);
      this.SUBRULE(this.expr, { LABEL: "whenTrue" });
      this.CONSUME(Colon);
      this.SUBRULE2(this.expr, { LABEL: "whenFalse" });
    });
  });

  orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(OrOr, { LABEL: "ops" });
      this.SUBRULE2(this.andExpr, { LABEL: "operands" });
    });
  });

  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.cmpExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(AndAnd, { LABEL: "ops" });
      this.SUBRULE2(this.cmpExpr, { LABEL: "operands" });
    });
  });

  /** Parsed as a chain so that `a < b < c` gets a precise error (cst-to-ast: non-associative). */
  cmpExpr = this.RULE("cmpExpr", () => {
    this.SUBRULE(this.addExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(CmpOp, { LABEL: "ops" });
      this.SUBRULE2(this.addExpr, { LABEL: "operands" });
    });
  });

  addExpr = this.RULE("addExpr", () => {
    this.SUBRULE(this.mulExpr, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(AddOp, { LABEL: "ops" });
      this.SUBRULE2(this.mulExpr, { LABEL: "operands" });
    });
  });

  mulExpr = this.RULE("mulExpr", () => {
    this.SUBRULE(this.unary, { LABEL: "operands" });
    this.MANY(() => {
      this.CONSUME(MulOp, { LABEL: "ops" });
      this.SUBRULE2(this.unary, { LABEL: "operands" });
    });
  });

  unary = this.RULE("unary", () => {
    this.enter();
    try {
      this.OR((this.alts["unary"] ??= [
        {
          ALT: () => {
            this.CONSUME(UnaryOp, { LABEL: "op" });
            this.SUBRULE(this.unary, { LABEL: "operand" });
          },
        },
        { ALT: () => this.SUBRULE(this.power, { LABEL: "operand" }) },
      ]));
    } finally {
      this.nesting--;
    }
  });

  power = this.RULE("power", () => {
    this.SUBRULE(this.postfix, { LABEL: "base" });
    this.OPTION(() => {
      this.CONSUME(StarStar, { LABEL: "op" });
      this.SUBRULE(this.unary, { LABEL: "exponent" });
    });
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary, { LABEL: "base" });
    this.MANY(() => this.SUBRULE(this.postfixOp, { LABEL: "ops" }));
  });

  postfixOp = this.RULE("postfixOp", () => {
    this.OR((this.alts["postfixOp"] ??= [
      {
        ALT: () => {
          this.CONSUME(LBracket, { LABEL: "index" });
          this.SUBRULE(this.subscript, { LABEL: "subscripts" });
          this.MANY(() => {
            this.CONSUME(Comma);
            this.SUBRULE2(this.subscript, { LABEL: "subscripts" });
          });
          this.CONSUME(RBracket);
        },
      },
      {
        ALT: () => {
          this.CONSUME(LParen, { LABEL: "call" });
          this.OPTION(() => {
            this.SUBRULE(this.arg, { LABEL: "args" });
            this.MANY2(() => {
              this.CONSUME2(Comma);
              this.SUBRULE2(this.arg, { LABEL: "args" });
            });
          });
          this.CONSUME(RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(Dot, { LABEL: "member" });
          this.CONSUME(Identifier, { LABEL: "name" });
        },
      },
      { ALT: () => this.CONSUME(Transpose, { LABEL: "transpose" }) },
    ]));
  });

  /** `...` | expr | `expr? ':' expr? (':' expr?)?`; the colons tell a slice from an index. */
  subscript = this.RULE("subscript", () => {
    this.OR((this.alts["subscript"] ??= [
      { ALT: () => this.CONSUME(Ellipsis, { LABEL: "ellipsis" }) },
      { ALT: () => this.SUBRULE(this.sliceTail) },
      {
        ALT: () => {
          this.SUBRULE(this.expr, { LABEL: "start" });
          this.OPTION(() => this.SUBRULE2(this.sliceTail));
        },
      },
    ]));
  });

  sliceTail = this.RULE("sliceTail", () => {
    this.CONSUME(Colon);
    this.OPTION(() => this.SUBRULE(this.expr, { LABEL: "stop" }));
    this.OPTION2(() => {
      this.CONSUME2(Colon, { LABEL: "stepColon" });
      this.OPTION3(() => this.SUBRULE2(this.expr, { LABEL: "step" }));
    });
  });

  arg = this.RULE("arg", () => {
    this.OR((this.alts["arg"] ??= [
      {
        ALT: () => {
          this.CONSUME(Identifier, { LABEL: "name" });
          this.CONSUME(Colon);
          this.SUBRULE(this.expr, { LABEL: "value" });
        },
      },
      { ALT: () => this.SUBRULE2(this.expr, { LABEL: "value" }) },
    ]));
  });

  primary = this.RULE("primary", () => {
    this.OR((this.alts["primary"] ??= [
      { ALT: () => this.CONSUME(NumberLit, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(StringLit, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(True, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(False, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(Inf, { LABEL: "literal" }) },
      { ALT: () => this.CONSUME(NaN_, { LABEL: "literal" }) },
      // A reduction in operand position (`a * sum(c) x[c]`): parsed, then reported by cst-to-ast.
      { GATE: () => this.reductionAhead(), ALT: () => this.SUBRULE(this.reduction) },
      { ALT: () => this.CONSUME(Identifier, { LABEL: "name" }) },
      { ALT: () => this.SUBRULE(this.parenExpr) },
      { ALT: () => this.SUBRULE(this.listExpr) },
    ]));
  });

  /** `(e)`, or a tuple `(e, f, ...)` of two or more items with an optional trailing comma. */
  parenExpr = this.RULE("parenExpr", () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expr, { LABEL: "items" });
    this.OPTION(() => {
      this.CONSUME(Comma, { LABEL: "commas" });
      this.SUBRULE2(this.expr, { LABEL: "items" });
      this.MANY(() => {
        this.CONSUME2(Comma, { LABEL: "commas" });
        this.SUBRULE3(this.expr, { LABEL: "items" });
      });
      this.OPTION2(() => this.CONSUME3(Comma, { LABEL: "commas" }));
    });
    this.CONSUME(RParen);
  });

  listExpr = this.RULE("listExpr", () => {
    this.CONSUME(LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expr, { LABEL: "items" });
      this.MANY(() => {
        this.CONSUME(Comma);
        this.SUBRULE2(this.expr, { LABEL: "items" });
      });
      this.OPTION2(() => this.CONSUME2(Comma));
    });
    this.CONSUME(RBracket);
  });
}

/** Shared parser instance (chevrotain parsers are meant to be built once and reused). */
let instance: AttnParser | undefined;
export function attnParser(): AttnParser {
  instance ??= new AttnParser();
  return instance;
}

/** Item keywords split a file into independently parsed chunks (see dsl/index.ts). */
export const isItemKeyword = (t: IToken): boolean => tokenMatcher(t, ItemKeyword);

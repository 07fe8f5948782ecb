// The derive pass: walks the parsed lines in assembly order and produces the expanded
// statements. Handles .macro/.endm (+ \arg, \(), \@, defaults, :req, :vararg, .exitm, .purgem),
// .rept/.irp/.irpc, gas conditionals (.if family; a condition that is not constant here is
// treated as true for both branches, so nothing sensitive is hidden), code mode, sections,
// labels and symbols. Expanded body lines are re-parsed from their substituted text.

import type {
  CodeMode, DirectiveStatement, ExpandedStatement, ExpansionOrigin, InstructionStatement, LabelDefinition, LexState,
  MacroDefinition, MacroParameter, ParseDiagnostic, ParsedLine, SourceOrigin, Span, Statement, SymbolDefinition,
} from "./types.js";
import * as expressionModule from "./expression.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { analyseExpression } = expressionModule;
import * as lineModule from "./line.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { LEX_INITIAL, parseLine } = lineModule;
import * as chars from "./chars.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { isIdentPart, isIdentStart, isSpace, lower } = chars;
import * as operandsModule from "./operands.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { skipCharConstant, skipString } = operandsModule;
import * as expandedModule from "./expanded.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { expandedStatement } = expandedModule;

/** The directives that set a symbol (`.set x, expr` and its spellings), as `x = expr` does. */
export const SYMBOL_DIRECTIVES: ReadonlySet<string> = new Set([".set", ".equ", ".equiv", ".eqv"]);

/** How the diagnostics of an expansion that stopped begin (the afterburner fails the build on them). */
export const EXPANSION_STOPPED = "expansion stopped:";

/** Where a message from inside an expansion says so (reportInExpansion): `in expansion of macro 'm' (body line 3): `. */
const IN_EXPANSION = /^in expansion of (?:macro '[^']*'|\.[a-z]+) \(body line \d+\): /;

/** Whether a diagnostic says an expansion stopped, at the top level or from inside another expansion. */
export function expansionStopped(message: string): boolean {
  if (message.startsWith(EXPANSION_STOPPED)) return true;
  const m = IN_EXPANSION.exec(message);
  return m !== null && message.startsWith(EXPANSION_STOPPED, m[0].length);
}

/** GNU as refuses deeper macro nesting than this. */
export const MAX_EXPANSION_DEPTH = 100;
/**
 * Expansion budget per file, before expansion stops with a diagnostic. An expanded body line costs
 * one, plus one per statement on it, plus one per 32 characters of it (and an empty .rept body one
 * per iteration): counting lines alone let a few bytes of input (a long line repeated, a .rept of
 * nothing a billion times) take minutes and gigabytes. An ordinary line costs 2 or 3: the old limit
 * of 500,000 lines still fits. Where the limit stops expansion, the afterburner fails the build
 * (EXPANSION_STOPPED) rather than leave sites past it unannotated.
 */
export const MAX_EXPANDED_LINES = 1_000_000;

/**
 * Matches every diagnostic message of this pass that names a line ("already defined (line N)", "in
 * expansion of ... (body line N)": the two formats below), and perhaps some others.
 */
export const LINE_NUMBERED_MESSAGE = /\((body )?line \d+\)/;

type Truth = 0 | 1 | 2; // false, true, unknown (both branches analysed)

interface Source {
  texts: string[];
  parsed: ParsedLine[];
  /** File line of each source line (the body line for expansions). Undefined: identity (top level). */
  lineNos?: number[];
  /** Whether the text differs from the file line (substitution happened). */
  substituted?: boolean[];
}

interface Frame {
  top: boolean;
  reportLine: number;
  expansion?: ExpansionOrigin;
  origin?: SourceOrigin;
  inApp?: boolean;
  depth: number;
  isMacro: boolean;
  exited: boolean;
}

interface Collector {
  kind: "macro" | "rept" | "irp" | "irpc";
  directive: DirectiveStatement;
  depth: number;
  body: { text: string; line: number }[];
  /** Source line where collection started. */
  startIndex: number;
}

interface Conditional {
  branch: Truth;
  taken: Truth;
  parentActive: boolean;
  span: Span;
  sawElse: boolean;
}

export interface DeriveInput {
  texts: readonly string[];
  lines: ParsedLine[];
  mode: CodeMode;
  defines?: ReadonlyMap<string, number>;
}

export interface DeriveResult {
  statements: ExpandedStatement[];
  diagnostics: ParseDiagnostic[];
  macros: Map<string, MacroDefinition>;
  labels: Map<string, LabelDefinition[]>;
  symbols: Map<string, SymbolDefinition>;
  /** Code mode in force at the start of each top-level line (for incremental updates). */
  lineModes: Uint8Array;
  /** Section in force at the start of each top-level line. */
  lineSections: string[];
  /** Every macro name defined at some point (including ones later purged). */
  macroNames: Set<string>;
  /** Some `.altmacro` was read: bodies substitute bare names too (incremental patches leave such files alone). */
  altmacroUsed: boolean;
  /**
   * Body lines parsed afresh for an expansion (substituted text), each once, with the file line it was
   * parsed as: their spans belong to no line of `lines` (for callers that renumber lines in place).
   */
  bodyParses: { line: number; parsed: ParsedLine }[];
  /** Budget units the expansions used (see MAX_EXPANDED_LINES), and whether the budget stopped one. */
  expandedLines: number;
  limitReached: boolean;
  /** Some diagnostic message names a line number ("already defined (line N)", "body line N"). */
  lineNumbersInMessages: boolean;
  /** Every label definition of `labels`, in the order made (assembly order, so by line). */
  labelList: LabelDefinition[];
}

/** Directives that change the state later lines are analysed in. */
export const STRUCTURAL_DIRECTIVES: ReadonlySet<string> = new Set([
  ".macro", ".endm", ".endmacro", ".rept", ".irp", ".irpc", ".endr", ".exitm", ".purgem",
  ".if", ".ifdef", ".ifndef", ".ifnotdef", ".ifb", ".ifnb", ".ifc", ".ifnc", ".ifeq", ".ifne", ".iflt", ".ifle",
  ".ifgt", ".ifge", ".ifeqs", ".ifnes", ".else", ".elseif", ".endif",
  ".code16", ".code16gcc", ".code32", ".code64", ".text", ".data", ".bss", ".section", ".pushsection", ".popsection",
  ".previous", ".subsection", ".set", ".equ", ".equiv", ".eqv", ".end", ".altmacro", ".noaltmacro",
]);

const CONDITIONAL_OPEN: ReadonlySet<string> = new Set([
  ".if", ".ifdef", ".ifndef", ".ifnotdef", ".ifb", ".ifnb", ".ifc", ".ifnc", ".ifeq", ".ifne", ".iflt", ".ifle",
  ".ifgt", ".ifge", ".ifeqs", ".ifnes",
]);

function isConditional(s: Statement): s is DirectiveStatement {
  return s.kind === "directive" && (CONDITIONAL_OPEN.has(s.name) || s.name === ".else" || s.name === ".elseif" || s.name === ".endif");
}

function stripQuotes(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 34 && s.charCodeAt(s.length - 1) === 34 ? s.slice(1, -1) : s;
}

/**
 * After an argument ending at `i`: skips the blanks and one comma that part it from the next and
 * returns where that starts; -1 at the end (a comma there leaves an empty last argument in `out`).
 */
function nextArgument(s: string, i: number, out: { text: string; start: number }[]): number {
  const n = s.length;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i >= n) return -1;
  if (s.charCodeAt(i) === 44) {
    i++;
    while (i < n && isSpace(s.charCodeAt(i))) i++;
    if (i >= n) {
      out.push({ text: "", start: i });
      return -1;
    }
  }
  return i;
}

/**
 * The text with its block comments blanked (same length), strings kept: GNU as drops comments before a
 * macro reads its arguments, so `m 1, /* one *\/ 2` passes 1 and 2.
 */
function blankBlockComments(s: string): string {
  if (s.indexOf("/*") < 0) return s;
  const n = s.length;
  let out = "";
  let last = 0;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const j = skipString(s, i, n);
      i = j < 0 ? n : j;
    } else if (c === 39) {
      i = skipCharConstant(s, i, n);
    } else if (c === 47 && s.charCodeAt(i + 1) === 42) {
      const j = s.indexOf("*/", i + 2);
      const e = j < 0 ? n : j + 2;
      out += s.slice(last, i) + " ".repeat(e - i);
      last = i = e;
    } else i++;
  }
  return out + s.slice(last);
}

/** Splits macro invocation arguments the way gas does: by commas, or by whitespace outside quotes and parentheses. */
export function splitMacroArguments(s: string): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  const n = s.length;
  let i = 0;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i >= n) return out;
  for (;;) {
    const start = i;
    let depth = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        const j = skipString(s, i, n);
        i = j < 0 ? n : j;
        continue;
      }
      if (c === 40) depth++;
      else if (c === 41) depth = depth > 0 ? depth - 1 : 0;
      else if (depth === 0 && (c === 44 || isSpace(c))) break;
      i++;
    }
    out.push({ text: s.slice(start, i), start });
    i = nextArgument(s, i, out);
    if (i < 0) break;
  }
  return out;
}

/** The values of `.irpc sym, chars`: each character, blanks outside quotes skipped and quotes dropped. */
function irpcCharacters(s: string): string[] {
  const out: string[] = [];
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (quoted || !isSpace(ch.charCodeAt(0))) out.push(ch);
  }
  return out;
}

/** `.macro name a, b=1, c:req, d:vararg` → name and parameters. */
export function parseMacroHeader(args: string): { name: string; params: MacroParameter[]; error?: string } {
  const toks = splitMacroArguments(args.replace(/\s*=\s*/g, "="));
  if (toks.length === 0 || toks[0].text.length === 0) return { name: "", params: [], error: ".macro needs a name" };
  const name = lower(toks[0].text);
  const params: MacroParameter[] = [];
  const names = new Set<string>();
  let error: string | undefined;
  for (let k = 1; k < toks.length; k++) {
    let t = toks[k].text;
    if (t.length === 0) continue;
    const p: MacroParameter = { name: "", required: false, vararg: false };
    const eq = t.indexOf("=");
    if (eq >= 0) {
      p.defaultValue = stripQuotes(t.slice(eq + 1));
      t = t.slice(0, eq);
    }
    const colon = t.indexOf(":");
    if (colon >= 0) {
      const q = t.slice(colon + 1).toLowerCase();
      if (q === "req") p.required = true;
      else if (q === "vararg") p.vararg = true;
      else error ??= `invalid parameter qualifier ':${q}' for '${t.slice(0, colon)}'`;
      t = t.slice(0, colon);
    }
    p.name = t;
    if (names.has(t)) error ??= `duplicate macro parameter '${t}'`;
    names.add(t);
    params.push(p);
  }
  return error === undefined ? { name, params } : { name, params, error };
}

/**
 * Substitutes a body line as GNU as's macro_expand_body does: `\name` and `&name` (`&name&`) with a
 * known name's value, `\(text)` with the text, `\@` with the count of macro executions; under
 * `.altmacro` a known name written bare too (a name as GNU as reads it: `$a`, `x.a` are other names).
 */
export function substitute(text: string, lookup: (name: string) => string | undefined, counter: number, altmacro = false): string {
  if (!altmacro && text.indexOf("\\") < 0 && text.indexOf("&") < 0) return text;
  let out = "";
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 92 && i < n - 1) {
      const d = text.charCodeAt(i + 1);
      if (d === 64) {
        out += text.slice(last, i) + counter;
        i = last = i + 2;
        continue;
      }
      if (d === 40) {
        // `\(text)`: the text as it is (`\()` joins a name to what follows).
        const close = text.indexOf(")", i + 2);
        const to = close < 0 ? n : close;
        out += text.slice(last, i) + text.slice(i + 2, to);
        i = last = close < 0 ? n : close + 1;
        continue;
      }
      if (isIdentStart(d) || (d >= 48 && d <= 57)) {
        let j = i + 2;
        while (j < n && isIdentPart(text.charCodeAt(j)) && text.charCodeAt(j) !== 36) j++;
        // Longest parameter name that matches (gas stops at non-name characters; '.' ends a name too).
        let k = j;
        let v: string | undefined;
        while (k > i + 1) {
          v = lookup(text.slice(i + 1, k));
          if (v !== undefined) break;
          const dot = text.lastIndexOf(".", k - 1);
          k = dot > i + 1 ? dot : i + 1;
        }
        if (v !== undefined) {
          out += text.slice(last, i) + v;
          i = last = k;
          continue;
        }
        i = j;
        continue;
      }
      // `\&` stays as written; `\\` is a backslash kept, and the second one starts anew.
      i += d === 38 ? 2 : 1;
      continue;
    }
    if (c === 38) {
      // `&name` or `&name&`; another `&` stays, with the name after it and a closing `&`.
      const j = nameEnd(text, i + 1, n);
      if (j === i + 1) {
        // No name: a second `&` right after goes with this one (`&&` starts nothing).
        i += i + 1 < n && text.charCodeAt(i + 1) === 38 ? 2 : 1;
        continue;
      }
      const to = j < n && text.charCodeAt(j) === 38 ? j + 1 : j;
      const v = lookup(text.slice(i + 1, j));
      if (v !== undefined) {
        out += text.slice(last, i) + v;
        last = to;
      }
      i = to;
      continue;
    }
    if (altmacro && nameStarts(c)) {
      const j = nameEnd(text, i, n);
      const v = lookup(text.slice(i, j));
      if (v !== undefined) {
        out += text.slice(last, i) + v;
        last = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** A character GNU as (i386) begins a name with: a letter, `_`, `.` or `$` (`$a` is one name, not `$` and a). */
function nameStarts(c: number): boolean {
  return c < 128 && (isIdentStart(c) || c === 36);
}

/** End of the name GNU as reads at `i` (a name-beginning character, then name characters); `i` when none starts there. */
function nameEnd(s: string, i: number, n: number): number {
  if (i >= n || !nameStarts(s.charCodeAt(i))) return i;
  let j = i + 1;
  while (j < n && isIdentPart(s.charCodeAt(j)) && s.charCodeAt(j) < 128) j++;
  return j;
}

/** `LOCAL a, b` opening a macro body line under `.altmacro`: the names it declares, else undefined. */
export function altmacroLocals(text: string): string[] | undefined {
  const m = /^\s*local[ \t]+(.*)$/i.exec(text);
  if (m === null) return undefined;
  return m[1].split(/[\s,]+/).filter((x) => x.length > 0);
}

/**
 * Macro (or .irp) arguments as GNU as reads them under `.altmacro`: `%expr` is the expression's value
 * in decimal, `<text>` the text (`!` escapes the next character), a quoted string keeps its quotes;
 * otherwise as splitMacroArguments. `evaluate` gives an expression's value, or undefined.
 */
export function splitAltmacroArguments(s: string, evaluate: (expr: string) => number | undefined, report: (message: string) => void): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  const n = s.length;
  let i = 0;
  while (i < n && isSpace(s.charCodeAt(i))) i++;
  if (i >= n) return out;
  for (;;) {
    const start = i;
    let value = "";
    const c = s.charCodeAt(i);
    if (c === 37) {
      // `%expr`: up to a comma or blank outside parentheses.
      let j = i + 1;
      let depth = 0;
      while (j < n) {
        const d = s.charCodeAt(j);
        if (d === 40) depth++;
        else if (d === 41) depth = depth > 0 ? depth - 1 : 0;
        else if (depth === 0 && (d === 44 || isSpace(d))) break;
        j++;
      }
      const expr = s.slice(i + 1, j);
      const v = evaluate(expr);
      if (v === undefined) report(`'%${expr}': the % operator needs an absolute expression, and '${expr}' is not a constant here`);
      value = v === undefined ? s.slice(i, j) : String(v);
      i = j;
    } else if (c === 60 || c === 34 || c === 39) {
      // `<a b>`, `"a b"`, `'a b'` (several in a row make one argument).
      while (i < n && (s.charCodeAt(i) === 60 || s.charCodeAt(i) === 34 || s.charCodeAt(i) === 39)) {
        const q = s.charCodeAt(i);
        if (q === 60) {
          let nest = 0;
          i++;
          while (i < n && (s.charCodeAt(i) !== 62 || nest > 0)) {
            const d = s.charCodeAt(i);
            if (d === 33 && i + 1 < n) {
              value += s[i + 1];
              i += 2;
              continue;
            }
            if (d === 62) nest--;
            else if (d === 60) nest++;
            value += s[i++];
          }
          i++;
        } else {
          value += '"';
          i++;
          while (i < n) {
            const d = s.charCodeAt(i);
            if (d === 33 && i + 1 < n) {
              value += s[i + 1];
              i += 2;
              continue;
            }
            if (d === q) {
              i++;
              if (i < n && s.charCodeAt(i) === q) {
                value += s[i++];
                continue;
              }
              break;
            }
            value += s[i++];
          }
          value += '"';
        }
      }
    } else {
      let depth = 0;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (d === 34 || d === 39) {
          const j = d === 34 ? skipString(s, i, n) : s.indexOf("'", i + 1) + 1;
          i = j <= 0 ? n : j;
          continue;
        }
        if (d === 40) depth++;
        else if (d === 41) depth = depth > 0 ? depth - 1 : 0;
        else if (depth === 0 && (d === 44 || d === 60 || isSpace(d))) break;
        i++;
      }
      value = s.slice(start, i);
    }
    out.push({ text: value, start });
    i = nextArgument(s, i, out);
    if (i < 0) break;
  }
  return out;
}

class Expander {
  mode: CodeMode;
  section = ".text";
  previous = ".text";
  sectionStack: { section: string; previous: string }[] = [];
  macros = new Map<string, MacroDefinition>();
  labels = new Map<string, LabelDefinition[]>();
  labelList: LabelDefinition[] = [];
  symbols = new Map<string, SymbolDefinition>();
  symbolValues: Map<string, number>;
  statements: ExpandedStatement[] = [];
  diagnostics: ParseDiagnostic[] = [];
  reported = new Set<string>();
  counter = 0;
  /** `.altmacro` in force (GNU as's alternate macro syntax), and the LOCAL names numbered so far. */
  altmacro = false;
  altmacroUsed = false;
  localCounter = 0;
  expandedLines = 0;
  limitReported = false;
  parseCache = new Map<string, { parsed: ParsedLine; state: LexState }>();
  bodyParses: { line: number; parsed: ParsedLine }[] = [];
  lineNumbersInMessages = false;

  lineModes: Uint8Array;
  lineSections: string[];
  macroNames = new Set<string>();

  constructor(readonly input: DeriveInput) {
    this.mode = input.mode;
    this.lineModes = new Uint8Array(input.lines.length);
    this.lineSections = new Array<string>(input.lines.length);
    this.symbolValues = new Map(input.defines ?? []);
  }

  report(span: Span, message: string, severity: ParseDiagnostic["severity"] = "error"): void {
    this.diagnostics.push({ span, message, severity });
  }

  /** A diagnostic found inside an expansion is reported once, at the outermost invocation. */
  reportInExpansion(frame: Frame, d: ParseDiagnostic): void {
    let site = frame.expansion!;
    while (site.parent !== undefined) site = site.parent;
    const what = frame.expansion!.kind === "macro" ? `macro '${frame.expansion!.name}'` : `.${frame.expansion!.kind}`;
    // Spans of expanded lines carry the body line they came from.
    const message = `in expansion of ${what} (body line ${d.span.line + 1}): ${d.message}`;
    this.lineNumbersInMessages = true;
    const key = `${site.site.line}:${site.site.start}:${message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.report(site.site, message, d.severity);
  }

  run(src: Source, frame: Frame): void {
    const n = src.texts.length;
    let collector: Collector | undefined;
    const conds: Conditional[] = [];
    let active = true;
    for (let i = 0; i < n && !frame.exited; i++) {
      const pl = src.parsed[i];
      const st = pl.statements;
      if (frame.top) {
        this.lineModes[i] = this.mode;
        this.lineSections[i] = this.section;
        if (pl.skipped) continue;
      }

      if (collector !== undefined) {
        let closed = false;
        for (const s of st) {
          if (s.kind !== "directive") continue;
          const name = s.name;
          if (collector.kind === "macro") {
            if (name === ".macro") collector.depth++;
            else if (name === ".endm" || name === ".endmacro") collector.depth--;
          } else if (name === ".rept" || name === ".irp" || name === ".irpc") collector.depth++;
          else if (name === ".endr") collector.depth--;
          if (collector.depth === 0) {
            closed = true;
            break;
          }
        }
        if (!closed) {
          collector.body.push({ text: src.texts[i], line: src.lineNos === undefined ? i : src.lineNos[i] });
          if (frame.top) pl.template = true;
          continue;
        }
        const c = collector;
        collector = undefined;
        // The body is assembled when its closing directive is read: expansion first, then .endr/.endm.
        this.finishCollector(c, src, i, frame);
        this.emitLine(src, i, frame, pl);
        continue;
      }

      // gas conditionals are tracked even while a branch is skipped (to find the matching .endif).
      if (st.length === 1 && isConditional(st[0])) {
        active = this.conditional(st[0], src, i, frame, pl, conds, active);
        continue;
      }
      if (!st.some(isConditional)) {
        if (!active) {
          if (frame.top) pl.skipped = true;
          continue;
        }
        this.lineDiagnostics(frame, src, pl);
        collector = this.processStatements(src, i, frame, pl, st);
        continue;
      }
      // A line mixing conditionals and other statements ("a: cli; .ifndef x; x:; .endif"): gas reads
      // it left to right, so each statement counts only where its part of the line is assembled.
      // Parse diagnostics count only in the assembled parts (gas never reads `.else; movl $1, %e14`).
      const assembled: Statement[] = [];
      let part: Statement[] = [];
      const flush = () => {
        if (part.length === 0) return;
        assembled.push(...part);
        collector = this.processStatements(src, i, frame, pl, part) ?? collector;
        part = [];
      };
      for (const s of st) {
        if (frame.exited) break;
        if (!isConditional(s)) {
          if (active) part.push(s);
          continue;
        }
        flush();
        active = this.conditional(s, src, i, frame, pl, conds, active);
      }
      flush();
      if (assembled.length > 0) {
        const inSkipped = (d: ParseDiagnostic) => st.some((s) => !isConditional(s) && !assembled.includes(s) && d.span.start >= s.span.start && d.span.start < s.span.end);
        this.lineDiagnostics(frame, src, pl.diagnostics.some(inSkipped) ? { ...pl, diagnostics: pl.diagnostics.filter((d) => !inSkipped(d)) } : pl);
      } else if (frame.top && !active) pl.skipped = true;
    }
    if (collector !== undefined) {
      const d = collector.directive;
      const what = collector.kind === "macro" ? `.endm for .macro` : `.endr for .${collector.kind}`;
      this.lineReport(frame, d.span, `missing ${what}`);
      if (collector.kind === "macro") this.finishCollector(collector, src, n - 1, frame);
    }
    // .exitm inside a conditional leaves it open: GNU as drops the rest of the expansion, .endif too.
    if (!frame.exited) for (const c of conds) this.lineReport(frame, c.span, "missing .endif for this conditional");
  }

  /**
   * One conditional directive (`active`: whether the code before it is assembled): updates the stack,
   * emits the directive when it sits in an assembled part, and returns whether the code after it is.
   */
  conditional(s: DirectiveStatement, src: Source, i: number, frame: Frame, pl: ParsedLine, conds: Conditional[], active: boolean): boolean {
    const name = s.name;
    if (CONDITIONAL_OPEN.has(name)) {
      const t: Truth = active ? this.condition(s) : 0;
      conds.push({ branch: t, taken: t, parentActive: active, span: s.span, sawElse: false });
      if (active) this.emit(s, src, i, frame, pl);
      return active && t !== 0;
    }
    const top = conds[conds.length - 1];
    if (name === ".endif") {
      if (top === undefined) {
        if (active) this.lineReport(frame, s.span, ".endif without .if");
        return active;
      }
      conds.pop();
      if (top.parentActive) this.emit(s, src, i, frame, pl);
      return top.parentActive;
    }
    // .else, .elseif
    if (top === undefined) {
      if (active) this.lineReport(frame, s.span, `${name} without .if`);
      return active;
    }
    if (top.sawElse) this.lineReport(frame, s.span, `${name} after .else`);
    let t: Truth;
    if (name === ".else") {
      top.sawElse = true;
      t = top.taken === 1 ? 0 : top.taken === 2 ? 2 : 1;
    } else if (top.taken === 1) t = 0;
    else {
      const c = top.parentActive ? this.condition(s) : 0;
      t = top.taken === 2 && c !== 0 ? 2 : c;
    }
    if (t === 1) top.taken = 1;
    else if (t === 2 && top.taken !== 1) top.taken = 2;
    top.branch = t;
    if (top.parentActive) this.emit(s, src, i, frame, pl);
    return top.parentActive && t !== 0;
  }

  /** The parse diagnostics of a line that is assembled (inside an expansion: at the invocation). */
  lineDiagnostics(frame: Frame, src: Source, pl: ParsedLine): void {
    if (frame.top) this.pushLineDiagnostics(pl);
    else if (pl.diagnostics.length > 0 && src.substituted !== undefined) {
      for (const d of pl.diagnostics) this.reportInExpansion(frame, d);
    }
  }

  lineReport(frame: Frame, span: Span, message: string): void {
    if (frame.top) this.report(span, message);
    else this.reportInExpansion(frame, { span, message, severity: "error" });
  }

  pushLineDiagnostics(pl: ParsedLine): void {
    if (pl.diagnostics.length === 0) return;
    // A macro invocation's arguments are not operands: drop operand diagnostics inside it.
    let calls: Span[] | undefined;
    for (const s of pl.statements) if (s.kind === "instruction" && this.macros.has(s.mnemonic)) (calls ??= []).push(s.span);
    for (const d of pl.diagnostics) {
      if (calls !== undefined && calls.some((c) => d.span.start >= c.start && d.span.start < c.end)) continue;
      this.diagnostics.push(d);
    }
  }

  condition(d: DirectiveStatement): Truth {
    const name = d.name;
    const args = d.args;
    switch (name) {
      case ".ifdef":
      case ".ifndef":
      case ".ifnotdef": {
        const sym = args.trim();
        const known = this.symbols.has(sym) || this.labels.has(sym);
        return (name === ".ifdef") === known ? 1 : 0;
      }
      case ".ifb":
        return args.trim().length === 0 ? 1 : 0;
      case ".ifnb":
        return args.trim().length > 0 ? 1 : 0;
      case ".ifc":
      case ".ifnc":
      case ".ifeqs":
      case ".ifnes": {
        const parts = d.argList;
        const a = stripQuotes(parts[0] ?? "");
        const b = stripQuotes(parts.slice(1).join(","));
        const eq = a === b;
        return (name === ".ifc" || name === ".ifeqs") === eq ? 1 : 0;
      }
      default: {
        const v = analyseExpression(args, this.symbolValues).value;
        if (v === undefined) return 2;
        switch (name) {
          case ".ifeq": return v === 0 ? 1 : 0;
          case ".iflt": return v < 0 ? 1 : 0;
          case ".ifle": return v <= 0 ? 1 : 0;
          case ".ifgt": return v > 0 ? 1 : 0;
          case ".ifge": return v >= 0 ? 1 : 0;
          default: return v !== 0 ? 1 : 0; // .if, .ifne, .elseif
        }
      }
    }
  }

  emitLine(src: Source, i: number, frame: Frame, pl: ParsedLine): void {
    for (const s of pl.statements) this.emit(s, src, i, frame, pl);
  }

  emit(s: Statement, src: Source, i: number, frame: Frame, pl: ParsedLine): void {
    const es = expandedStatement(s, frame.top ? i : frame.reportLine, this.mode, this.section, frame.top ? pl.origin : frame.origin, (frame.top ? pl.inApp : frame.inApp) === true);
    if (frame.expansion !== undefined) {
      es.expansion = { ...frame.expansion, bodyLine: src.lineNos![i] };
      if (src.substituted![i]) es.text = src.texts[i];
    }
    this.statements.push(es);
    if (s.kind === "label") this.defineLabel(s.name, s.numeric, s.span, es);
  }

  defineLabel(name: string, numeric: boolean, span: Span, es: ExpandedStatement): void {
    const def: LabelDefinition = { name, numeric, span, line: es.line, section: es.section };
    if (es.expansion !== undefined) def.expansion = es.expansion;
    this.labelList.push(def);
    const list = this.labels.get(name);
    if (list === undefined) this.labels.set(name, [def]);
    else {
      if (!numeric) {
        const msg = `symbol '${name}' is already defined (line ${list[0].line + 1})`;
        this.lineNumbersInMessages = true;
        if (es.expansion === undefined) this.report(span, msg);
        else this.reportInExpansion({ top: false, reportLine: es.line, expansion: es.expansion, depth: 0, isMacro: false, exited: false }, { span, message: msg, severity: "error" });
      }
      list.push(def);
    }
  }

  /** Handles one active line; returns a collector when the line opens a .macro/.rept/.irp body. */
  processStatements(src: Source, i: number, frame: Frame, pl: ParsedLine, statements: readonly Statement[]): Collector | undefined {
    let collector: Collector | undefined;
    for (const s of statements) {
      if (frame.exited) break;
      if (s.kind === "instruction") {
        const m = this.macros.get(s.mnemonic);
        if (m !== undefined) {
          this.expandMacro(m, s, src, i, frame);
          continue;
        }
        this.emit(s, src, i, frame, pl);
        continue;
      }
      this.emit(s, src, i, frame, pl);
      if (s.kind === "assignment") this.defineSymbol(s.name, s.expr, s.span, frame.top ? i : frame.reportLine);
      else if (s.kind === "directive") {
        const c = this.directive(s, src, i, frame);
        if (c !== undefined) collector = c;
      }
    }
    return collector;
  }

  defineSymbol(name: string, expr: string, span: Span, line: number): void {
    if (name === ".") return;
    const def: SymbolDefinition = { name, expr, line, span };
    const v = analyseExpression(expr, this.symbolValues).value;
    if (v !== undefined) {
      def.value = v;
      this.symbolValues.set(name, v);
    } else this.symbolValues.delete(name);
    this.symbols.set(name, def);
  }

  directive(d: DirectiveStatement, src: Source, i: number, frame: Frame): Collector | undefined {
    switch (d.name) {
      case ".macro":
      case ".rept":
      case ".irp":
      case ".irpc":
        return { kind: d.name === ".macro" ? "macro" : (d.name.slice(1) as "rept" | "irp" | "irpc"), directive: d, depth: 1, body: [], startIndex: i };
      case ".endm":
      case ".endmacro":
        this.lineReport(frame, d.span, `${d.name} without .macro`);
        return undefined;
      case ".endr":
        this.lineReport(frame, d.span, ".endr without .rept, .irp or .irpc");
        return undefined;
      case ".exitm":
        if (frame.isMacro) frame.exited = true;
        else this.lineReport(frame, d.span, ".exitm outside a macro");
        return undefined;
      case ".purgem": {
        for (const a of d.argList) {
          const name = lower(a);
          if (!this.macros.delete(name)) this.lineReport(frame, d.span, `.purgem: macro '${a}' is not defined`);
        }
        return undefined;
      }
      case ".altmacro":
        this.altmacro = this.altmacroUsed = true;
        return undefined;
      case ".noaltmacro":
        this.altmacro = false;
        return undefined;
      case ".code16":
      case ".code16gcc":
        this.mode = 16;
        return undefined;
      case ".code32":
        this.mode = 32;
        return undefined;
      case ".code64":
        this.mode = 64;
        return undefined;
      case ".text":
      case ".data":
      case ".bss":
        this.switchSection(d.name);
        return undefined;
      case ".section": {
        const name = stripQuotes(d.argList[0] ?? "");
        if (name.length === 0) this.lineReport(frame, d.span, ".section needs a section name");
        else this.switchSection(name);
        return undefined;
      }
      case ".pushsection": {
        const name = stripQuotes(d.argList[0] ?? "");
        if (name.length === 0) {
          this.lineReport(frame, d.span, ".pushsection needs a section name");
          return undefined;
        }
        this.sectionStack.push({ section: this.section, previous: this.previous });
        this.switchSection(name);
        return undefined;
      }
      case ".popsection": {
        const top = this.sectionStack.pop();
        if (top === undefined) this.lineReport(frame, d.span, ".popsection without .pushsection");
        else {
          this.section = top.section;
          this.previous = top.previous;
        }
        return undefined;
      }
      case ".previous": {
        const s = this.section;
        this.section = this.previous;
        this.previous = s;
        return undefined;
      }
      case ".set":
      case ".equ":
      case ".equiv":
      case ".eqv": {
        const name = d.argList[0] ?? "";
        if (name.length === 0 || d.argList.length < 2) this.lineReport(frame, d.span, `${d.name} needs a symbol and an expression`);
        else this.defineSymbol(name, d.argList.slice(1).join(","), d.span, frame.top ? i : frame.reportLine);
        return undefined;
      }
    }
    return undefined;
  }

  switchSection(name: string): void {
    if (name !== this.section) {
      this.previous = this.section;
      this.section = name;
    }
  }

  finishCollector(c: Collector, src: Source, endIndex: number, frame: Frame): void {
    const d = c.directive;
    if (c.kind === "macro") {
      const h = parseMacroHeader(d.args);
      if (h.error !== undefined) this.lineReport(frame, d.span, h.error);
      if (h.name.length === 0) return;
      const def: MacroDefinition = { name: h.name, params: h.params, body: c.body, span: d.span, endLine: src.lineNos === undefined ? endIndex : src.lineNos[endIndex] };
      this.macros.set(h.name, def);
      this.macroNames.add(h.name);
      return;
    }
    const iterations: ((name: string) => string | undefined)[] = [];
    if (c.kind === "rept") {
      const r = analyseExpression(d.args, this.symbolValues);
      let count: number;
      if (r.value === undefined) {
        this.lineReport(frame, d.span, `.rept count '${d.args}' is not a constant here; the body is analysed once`);
        count = 1;
      } else if (r.value < 0) {
        count = 0;
      } else count = r.value;
      const none = (): string | undefined => undefined;
      for (let k = 0; k < count; k++) {
        if (this.expandedLines + k * Math.max(1, c.body.length) > MAX_EXPANDED_LINES) break;
        iterations.push(none);
      }
      if (iterations.length < count) this.limitReached(frame, d.span);
    } else {
      // `.irp sym, values` / `.irp sym values`: the name, then one comma (or blanks) before the values.
      const m = /^\s*([^\s,]*)\s*,?\s*/.exec(d.args)!;
      const sym = m[1];
      const rest = d.args.slice(m[0].length);
      if (sym.length === 0) {
        this.lineReport(frame, d.span, `.${c.kind} needs a parameter name`);
        return;
      }
      let values: string[];
      if (c.kind === "irp") {
        // GNU as reads the values as it reads macro arguments: separated by commas or blanks.
        values = this.altmacro
          ? splitAltmacroArguments(rest, (e) => analyseExpression(e, this.symbolValues).value, (message) => this.lineReport(frame, d.span, message)).map((a) => a.text)
          : splitMacroArguments(rest).map((a) => stripQuotes(a.text));
      } else values = irpcCharacters(rest);
      if (values.length === 0) values = [""];
      for (const v of values) iterations.push((name) => (name === sym ? v : undefined));
    }
    for (const lookup of iterations) {
      if (frame.exited) break;
      // Refused once for the budget, refused for every iteration after it. GNU as substitutes
      // nothing in a .rept body (`\@` included); an .irp body as a macro's, LOCAL aside.
      if (!this.expandBody(c.kind, undefined, d.span, c.body, c.kind === "rept" ? undefined : lookup, false, frame) && this.limitReported) break;
    }
  }

  limitReached(frame: Frame, span: Span): void {
    if (this.limitReported) return;
    this.limitReported = true;
    this.lineReport(frame, span, `${EXPANSION_STOPPED} the expansion limit was reached (a budget of ${MAX_EXPANDED_LINES.toLocaleString("en")} expanded lines and statements); the rest is not expanded`);
  }

  expandMacro(m: MacroDefinition, ins: InstructionStatement, src: Source, i: number, frame: Frame): void {
    const argText = blankBlockComments(src.texts[i].slice(ins.mnemonicSpan.end, ins.span.end));
    const report = (message: string) => this.lineReport(frame, ins.span, message);
    const values = macroArguments(m, argText, report, this.altmacro ? (e) => analyseExpression(e, this.symbolValues).value : undefined);
    this.expandBody("macro", m.name, ins.span, m.body, (name) => values.get(name), true, frame);
  }

  expandBody(
    kind: ExpansionOrigin["kind"], name: string | undefined, site: Span, body: { text: string; line: number }[],
    lookup: ((name: string) => string | undefined) | undefined, isMacro: boolean, frame: Frame,
  ): boolean {
    if (frame.depth + 1 > MAX_EXPANSION_DEPTH) {
      this.lineReport(frame, site, `${EXPANSION_STOPPED} macros nested too deeply (limit ${MAX_EXPANSION_DEPTH})`);
      return false;
    }
    if (this.expandedLines + Math.max(1, body.length) > MAX_EXPANDED_LINES) {
      this.limitReached(frame, site);
      return false;
    }
    let cost = Math.max(1, body.length);
    // \@ counts the macro expansions made; one refused below takes no number.
    const counter = this.counter;
    const texts: string[] = [];
    const parsed: ParsedLine[] = [];
    const lineNos: number[] = [];
    const substituted: boolean[] = [];
    let state = LEX_INITIAL;
    const fileTexts = this.input.texts;
    const altmacro = this.altmacro;
    // `.altmacro` LOCAL names: each gets a symbol of its own per expansion, as GNU as numbers them.
    let locals: Map<string, string> | undefined;
    const find = lookup === undefined ? undefined : (n: string): string | undefined => locals?.get(n) ?? lookup(n);
    for (const b of body) {
      let t = b.text;
      const declared = altmacro && isMacro ? altmacroLocals(t) : undefined;
      if (declared !== undefined) {
        for (const local of declared) {
          if (find!(local) !== undefined) this.lineReport(frame, site, `LOCAL '${local}' is already a parameter or local name of macro '${name}'`);
          else (locals ??= new Map()).set(local, `.LL${(++this.localCounter).toString(16).padStart(4, "0")}`);
        }
        t = "";
      } else if (find !== undefined) t = substitute(t, find, counter, altmacro);
      texts.push(t);
      lineNos.push(b.line);
      const same = t === fileTexts[b.line];
      substituted.push(!same);
      if (same && !state.inBlockComment && !state.inPreprocessorContinuation && !this.input.lines[b.line].statements.some(isPreprocessor)) {
        // Unchanged body line: reuse its parse so spans point into the file.
        parsed.push(this.input.lines[b.line]);
        cost += expandedLineCost(this.input.lines[b.line].statements.length, t.length);
        state = LEX_INITIAL;
        continue;
      }
      const key = `${state.inBlockComment ? 1 : 0}${b.line}:${t}`;
      let r = this.parseCache.get(key);
      if (r === undefined) {
        r = parseLine(t, b.line, state);
        this.parseCache.set(key, r);
        this.bodyParses.push({ line: b.line, parsed: r.parsed });
      }
      parsed.push(r.parsed);
      cost += expandedLineCost(r.parsed.statements.length, t.length);
      state = r.state;
      if (this.expandedLines + cost > MAX_EXPANDED_LINES) break;
    }
    if (this.expandedLines + cost > MAX_EXPANDED_LINES) {
      this.limitReached(frame, site);
      return false;
    }
    this.expandedLines += cost;
    if (isMacro) this.counter++;
    const expansion: ExpansionOrigin = { kind, site, bodyLine: -1 };
    if (name !== undefined) expansion.name = name;
    if (frame.expansion !== undefined) expansion.parent = frame.expansion;
    const child: Frame = {
      top: false,
      reportLine: frame.top ? site.line : frame.reportLine,
      expansion,
      depth: frame.depth + 1,
      isMacro: isMacro || frame.isMacro,
      exited: false,
    };
    const origin = frame.top ? this.input.lines[site.line]?.origin : frame.origin;
    if (origin !== undefined) child.origin = origin;
    const inApp = frame.top ? this.input.lines[site.line]?.inApp : frame.inApp;
    if (inApp) child.inApp = true;
    this.run({ texts, parsed, lineNos, substituted }, child);
    // .exitm ends the macro it is in, including any .rept/.irp loop inside that macro.
    if (!isMacro && child.exited) frame.exited = true;
    return true;
  }
}

/**
 * The value of each parameter of a macro call whose arguments are `argText` (the text after the
 * macro's name): positional, keyword (`name=value`) and vararg arguments, then defaults. Problems go
 * to `report`.
 */
export function macroArguments(
  m: MacroDefinition, argText: string, report: (message: string) => void = () => undefined,
  altmacro?: (expr: string) => number | undefined,
): Map<string, string> {
  const args = altmacro === undefined ? splitMacroArguments(argText) : splitAltmacroArguments(argText, altmacro, report);
  const values = new Map<string, string>();
  // Looked up per keyword argument: a set, not a scan of the parameters for each.
  const names = args.some((a) => a.text.indexOf("=") > 0) ? new Set(m.params.map((p) => p.name)) : undefined;
  let pos = 0;
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    const eq = a.text.indexOf("=");
    if (eq > 0) {
      const key = a.text.slice(0, eq);
      if (names!.has(key)) {
        const v = a.text.slice(eq + 1);
        values.set(key, altmacro === undefined ? stripQuotes(v) : v);
        continue;
      }
    }
    const p = m.params[pos];
    if (p === undefined) {
      report(`too many arguments for macro '${m.name}' (it takes ${m.params.length})`);
      break;
    }
    pos++;
    if (p.vararg) {
      values.set(p.name, argText.slice(a.start).trim());
      break;
    }
    values.set(p.name, altmacro === undefined ? stripQuotes(a.text) : a.text);
  }
  for (const p of m.params) {
    const v = values.get(p.name);
    if (v === undefined || (v.length === 0 && p.defaultValue !== undefined)) {
      if (p.required) report(`missing value for required parameter '${p.name}' of macro '${m.name}'`);
      values.set(p.name, p.defaultValue ?? "");
    }
  }
  return values;
}

/**
 * What one expanded body line costs of the budget, besides the 1 per body line (at least 1) each
 * expansion costs: its statements, and 1 per 32 characters.
 */
export function expandedLineCost(statements: number, length: number): number {
  return statements + (length >> 5);
}

function isPreprocessor(s: Statement): boolean {
  return s.kind === "preprocessor";
}

export function derive(input: DeriveInput): DeriveResult {
  const x = new Expander(input);
  const top: Frame = { top: true, reportLine: 0, depth: 0, isMacro: false, exited: false };
  x.run({ texts: input.texts as string[], parsed: input.lines }, top);
  return {
    statements: x.statements, diagnostics: x.diagnostics, macros: x.macros, labels: x.labels, symbols: x.symbols,
    lineModes: x.lineModes, lineSections: x.lineSections, macroNames: x.macroNames, altmacroUsed: x.altmacroUsed,
    bodyParses: x.bodyParses, lineNumbersInMessages: x.lineNumbersInMessages, labelList: x.labelList,
    expandedLines: x.expandedLines, limitReached: x.limitReported,
  };
}

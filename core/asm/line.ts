// One physical line → statements. A hand-written charCode scanner: comments (`#`, `/* */`,
// a leading `/`), strings, char constants and `;` separators, then labels, directives,
// assignments, prefixes + instructions and cpp lines. Pure: the only carried state is LexState.

import type {
  DirectiveStatement, InstructionStatement, LabelStatement, LexState, ParseDiagnostic, ParsedLine, Prefix, Statement,
} from "./types.js";
import * as chars from "./chars.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const {
  CH_BACKSLASH, CH_COLON, CH_DQUOTE, CH_EQ, CH_HASH, CH_LBRACE, CH_PERCENT, CH_SEMI, CH_SLASH, CH_SQUOTE,
  CH_STAR, CH_DOT, CH_AT, CH_LPAREN, CH_RPAREN, CH_COMMA, CH_DOLLAR,
  isDigit, isIdentPart, isIdentStart, isSpace, lower, skipSpaces, trimEnd,
} = chars;
import * as operandsModule from "./operands.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { parseOperands, skipCharConstant, skipString } = operandsModule;
import * as registersModule from "./registers.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { isPrefixWord, isSegmentRegister } = registersModule;

const STATES: LexState[] = [
  Object.freeze({ inBlockComment: false, inPreprocessorContinuation: false }),
  Object.freeze({ inBlockComment: true, inPreprocessorContinuation: false }),
  Object.freeze({ inBlockComment: false, inPreprocessorContinuation: true }),
  Object.freeze({ inBlockComment: true, inPreprocessorContinuation: true }),
];

/** The canonical (frozen, `===`-comparable) state for these flags. */
export function lexState(inBlockComment: boolean, inPreprocessorContinuation = false): LexState {
  return STATES[(inBlockComment ? 1 : 0) + (inPreprocessorContinuation ? 2 : 0)];
}

export const LEX_INITIAL: LexState = STATES[0];

const CPP_WORDS: ReadonlySet<string> = new Set([
  "include", "include_next", "import", "define", "undef", "if", "ifdef", "ifndef", "elif", "elifdef", "elifndef",
  "else", "endif", "error", "warning", "pragma", "line", "ident", "sccs", "assert", "unassert",
]);

/** Lines longer than this are not analysed beyond a diagnostic (protects the editor from pathological input). */
export const MAX_LINE_LENGTH = 1 << 20;

/** Shared by every line without diagnostics (saves one retained array per line; never mutated). */
const NO_DIAGNOSTICS = Object.freeze([]) as unknown as ParseDiagnostic[];
const NO_PREFIXES = Object.freeze([]) as unknown as Prefix[];

// Mnemonics and directive names repeat endlessly; keep one copy of each (bounded).
const interned = new Map<string, string>();
function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < 4096 && s.length < 32) interned.set(s, s);
  return s;
}

// Scratch buffers reused across calls (parseLine is synchronous and not re-entrant).
const segBounds: number[] = [];
const commentRanges: number[] = [];

function diag(out: ParseDiagnostic[], line: number, start: number, end: number, message: string, severity: ParseDiagnostic["severity"] = "error"): void {
  out.push({ span: { line, start, end: end > start ? end : start + 1 }, message, severity });
}

/** Parses one line. Never throws: an internal failure becomes a diagnostic. */
export function parseLine(text: string, line: number, state: LexState = LEX_INITIAL): { parsed: ParsedLine; state: LexState } {
  try {
    return parseLineUnchecked(text, line, state);
  } catch (e) {
    const parsed: ParsedLine = {
      statements: [],
      diagnostics: [{ span: { line, start: 0, end: Math.max(1, text.length) }, message: `internal parser error: ${(e as Error)?.message ?? e}`, severity: "error" }],
      inApp: undefined, origin: undefined, skipped: undefined, template: undefined,
    };
    return { parsed, state: lexState(state.inBlockComment) };
  }
}

function parseLineUnchecked(text: string, line: number, state: LexState): { parsed: ParsedLine; state: LexState } {
  const r = lexAndParse(text, line, state);
  if (r.parsed.diagnostics.length === 0) r.parsed.diagnostics = NO_DIAGNOSTICS;
  return r;
}

function lexAndParse(text: string, line: number, state: LexState): { parsed: ParsedLine; state: LexState } {
  scratchStatements.length = 0;
  scratchDiagnostics.length = 0;
  const r = lexInto(text, line, state, scratchStatements, scratchDiagnostics);
  // Exact-size copies: an array grown by push keeps spare capacity for every retained line.
  r.parsed.statements = scratchStatements.length === 0 ? [] : scratchStatements.slice();
  r.parsed.diagnostics = scratchDiagnostics.length === 0 ? NO_DIAGNOSTICS : scratchDiagnostics.slice();
  return r;
}

const scratchStatements: Statement[] = [];
const scratchDiagnostics: ParseDiagnostic[] = [];

function lexInto(text: string, line: number, state: LexState, statements: Statement[], diagnostics: ParseDiagnostic[]): { parsed: ParsedLine; state: LexState } {
  const n = text.length;
  // All fields present from the start: the file-level passes assign them without changing the object's shape.
  const parsed: ParsedLine = { statements, diagnostics, inApp: undefined, origin: undefined, skipped: undefined, template: undefined };
  if (n > MAX_LINE_LENGTH) {
    diag(diagnostics, line, 0, 1, `line is ${n} characters long; lines over ${MAX_LINE_LENGTH} characters are not analysed`, "warning");
    return { parsed, state: lexState(state.inBlockComment) };
  }
  if (state.inPreprocessorContinuation) {
    // The whole line belongs to the previous cpp directive (backslash-newline).
    const r = scanPreprocessorRest(text, 0, state.inBlockComment, line, diagnostics);
    return { parsed, state: lexState(r.inComment, r.continued) };
  }
  let i = 0;
  let inComment = state.inBlockComment;
  commentRanges.length = 0;
  if (inComment) {
    const j = text.indexOf("*/");
    if (j < 0) return { parsed, state };
    commentRanges.push(0, j + 2);
    i = j + 2;
    inComment = false;
  }
  const first = skipSpaces(text, i, n);
  if (first < n) {
    const c = text.charCodeAt(first);
    if (c === CH_HASH) return parsePreprocessorLine(text, line, first, parsed);
    // gas on i386: '/' at the start of a line (not '/*') starts a comment.
    if (c === CH_SLASH && text.charCodeAt(first + 1) !== CH_STAR) return { parsed, state: LEX_INITIAL };
  } else if (commentRanges.length === 0) {
    return { parsed, state: LEX_INITIAL };
  }

  segBounds.length = 0;
  let segStart = i;
  let codeEnd = n;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_DQUOTE) {
      const j = skipString(text, i, n);
      if (j < 0) {
        diag(diagnostics, line, i, n, "unterminated string");
        i = n;
        break;
      }
      i = j;
      continue;
    }
    if (c === CH_SQUOTE) {
      i = skipCharConstant(text, i, n);
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_STAR) {
      const j = text.indexOf("*/", i + 2);
      if (j < 0) {
        inComment = true;
        codeEnd = i;
        break;
      }
      commentRanges.push(i, j + 2);
      i = j + 2;
      continue;
    }
    if (c === CH_HASH) {
      codeEnd = i;
      break;
    }
    if (c === CH_SEMI) {
      segBounds.push(segStart, i);
      segStart = i + 1;
    }
    i++;
  }
  segBounds.push(segStart, codeEnd);

  // Blank out mid-line block comments so the statement parser sees whitespace (same offsets).
  let code = text;
  if (commentRanges.length > 0) {
    let out = "";
    let last = 0;
    for (let k = 0; k < commentRanges.length; k += 2) {
      out += text.slice(last, commentRanges[k]) + " ".repeat(commentRanges[k + 1] - commentRanges[k]);
      last = commentRanges[k + 1];
    }
    code = out + text.slice(last);
  }

  const bounds = segBounds; // not re-entered while in use
  let lastNonEmpty = -1;
  for (let k = bounds.length - 2; k >= 0; k -= 2) {
    if (skipSpaces(code, bounds[k], bounds[k + 1]) < bounds[k + 1]) {
      lastNonEmpty = k;
      break;
    }
  }
  let pending: Prefix[] | undefined;
  for (let k = 0; k <= lastNonEmpty; k += 2) {
    pending = parseSegment(code, text, line, bounds[k], bounds[k + 1], statements, diagnostics, pending, k === lastNonEmpty);
  }
  return { parsed, state: lexState(inComment) };
}

/** Characters of a label or mnemonic word, plus `\` and `@` which appear in macro templates (`\name\@:`). */
function isWordPart(c: number): boolean {
  return isIdentPart(c) || c === CH_BACKSLASH || c === CH_AT;
}

function readWord(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (isWordPart(c)) i++;
    else if (c === CH_LPAREN && s.charCodeAt(i + 1) === CH_RPAREN && s.charCodeAt(i - 1) === CH_BACKSLASH) i += 2; // `\()`
    else break;
  }
  return i;
}

function allDigits(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Parses one `;`-separated segment. Returns prefixes that end the segment with more
 * statements following on the line (`rep; movsl`): they belong to the next instruction.
 */
function parseSegment(
  code: string, text: string, line: number, s: number, e: number,
  statements: Statement[], diagnostics: ParseDiagnostic[], pending: Prefix[] | undefined, lastSegment: boolean,
): Prefix[] | undefined {
  let p = skipSpaces(code, s, e);
  e = trimEnd(code, p, e);
  if (p >= e) return pending;

  // Labels: `name:`, `1:`, `"any name":`, several in a row.
  for (;;) {
    const c = code.charCodeAt(p);
    if (c === CH_DQUOTE) {
      // A quoted symbol name (GNU as 2.26+), a label only when the ':' follows the closing quote.
      const q = skipString(code, p, e);
      if (q < 0 || q >= e || code.charCodeAt(q) !== CH_COLON) break;
      if (pending !== undefined) {
        flushPrefixes(text, line, pending, statements);
        pending = undefined;
      }
      statements.push({ kind: "label", name: quotedSymbolName(code, p, q), numeric: false, quoted: true, span: { line, start: p, end: q + 1 } });
      p = skipSpaces(code, q + 1, e);
      if (p >= e) return undefined;
      continue;
    }
    if (!(isIdentStart(c) || isDigit(c) || c === CH_BACKSLASH)) break;
    const q = readWord(code, p, e);
    if (q >= e || code.charCodeAt(q) !== CH_COLON || q === p) break;
    const numeric = isDigit(c);
    if (numeric && !allDigits(code, p, q)) break;
    if (pending !== undefined) {
      flushPrefixes(text, line, pending, statements);
      pending = undefined;
    }
    const label: LabelStatement = { kind: "label", name: code.slice(p, q), numeric, span: { line, start: p, end: q + 1 } };
    statements.push(label);
    p = skipSpaces(code, q + 1, e);
    if (p >= e) return undefined;
  }

  const c = code.charCodeAt(p);
  // `$done = 1`: GNU as takes a symbol name starting with '$' where a statement starts (not as an operand).
  if (isIdentStart(c) || c === CH_BACKSLASH || (c === CH_DOLLAR && p + 1 < e && isIdentStart(code.charCodeAt(p + 1)))) {
    const q = readWord(code, c === CH_DOLLAR ? p + 1 : p, e);
    const r = skipSpaces(code, q, e);
    if (r < e && code.charCodeAt(r) === CH_EQ) {
      if (pending !== undefined) flushPrefixes(text, line, pending, statements);
      const x = skipSpaces(code, code.charCodeAt(r + 1) === CH_EQ ? r + 2 : r + 1, e);
      if (x >= e) diag(diagnostics, line, r, e, "missing expression after '='");
      statements.push({ kind: "assignment", name: code.slice(p, q), expr: code.slice(x, e), span: { line, start: p, end: e } });
      return undefined;
    }
    if (c === CH_DOT) {
      if (pending !== undefined) flushPrefixes(text, line, pending, statements);
      statements.push(makeDirective(code, line, p, q, e));
      return undefined;
    }
  } else if (c === CH_DOT) {
    // `. = 0x100` (location counter assignment)
    const r = skipSpaces(code, p + 1, e);
    if (r < e && code.charCodeAt(r) === CH_EQ) {
      const x = skipSpaces(code, r + 1, e);
      statements.push({ kind: "assignment", name: ".", expr: code.slice(x, e), span: { line, start: p, end: e } });
      return undefined;
    }
  }
  return parseInstruction(code, text, line, p, e, statements, diagnostics, pending, lastSegment);
}

/** The symbol a quoted name `"..."` at [a, b) stands for: GNU as takes `\\` and `\"` as the character, other escapes as written. */
export function quotedSymbolName(s: string, a: number, b: number): string {
  const inner = s.slice(a + 1, b - 1);
  return inner.indexOf("\\") < 0 ? inner : inner.replace(/\\([\\"])/g, "$1");
}

/** A label as source text: its name, quoted again where it was written quoted. */
export function labelSource(label: LabelStatement): string {
  return label.quoted === true ? `"${label.name.replace(/[\\"]/g, "\\$&")}":` : `${label.name}:`;
}

function makeDirective(code: string, line: number, p: number, q: number, e: number): DirectiveStatement {
  const a = skipSpaces(code, q, e);
  return {
    kind: "directive",
    name: intern(lower(code.slice(p, q))),
    nameSpan: { line, start: p, end: q },
    args: code.slice(a, e),
    argList: splitArguments(code, a, e),
    span: { line, start: p, end: e },
  };
}

/**
 * Splits directive arguments at top-level commas (strings, char constants and parentheses respected), trimmed.
 * One or two arguments (most directives) come back as array literals of their exact size: an array
 * grown by push holds room for 17, and every directive of a large file keeps its list.
 */
export function splitArguments(s: string, a: number, e: number): string[] {
  if (a >= e) return [];
  let first: string | undefined;
  let more: string[] | undefined;
  let depth = 0;
  let start = a;
  let i = a;
  while (i < e) {
    const c = s.charCodeAt(i);
    if (c === CH_DQUOTE) {
      const j = skipString(s, i, e);
      i = j < 0 ? e : j;
      continue;
    }
    if (c === CH_SQUOTE) {
      i = skipCharConstant(s, i, e);
      continue;
    }
    if (c === CH_LPAREN) depth++;
    else if (c === CH_RPAREN) depth = depth > 0 ? depth - 1 : 0;
    else if (c === CH_COMMA && depth === 0) {
      const piece = s.slice(skipSpaces(s, start, i), trimEnd(s, start, i));
      if (more !== undefined) more.push(piece);
      else if (first !== undefined) more = [first, piece];
      else first = piece;
      start = i + 1;
    }
    i++;
  }
  const last = s.slice(skipSpaces(s, start, e), trimEnd(s, start, e));
  if (more !== undefined) {
    more.push(last);
    return more;
  }
  return first !== undefined ? [first, last] : [last];
}

function flushPrefixes(text: string, line: number, pending: Prefix[], statements: Statement[]): void {
  // Prefixes that were not followed by an instruction assemble as a prefix byte on their own.
  const last = pending[pending.length - 1];
  const start = pending[0].span.start;
  statements.push({
    kind: "instruction",
    prefixes: pending.slice(0, -1),
    mnemonic: last.name,
    mnemonicSpan: last.span,
    operands: [],
    span: { line, start, end: last.span.end },
    text: text.slice(start, last.span.end),
  });
}

function parseInstruction(
  code: string, text: string, line: number, p: number, e: number,
  statements: Statement[], diagnostics: ParseDiagnostic[], pending: Prefix[] | undefined, lastSegment: boolean,
): Prefix[] | undefined {
  // Allocated only when a prefix is seen (most instructions have none).
  let prefixes: Prefix[] = pending ?? NO_PREFIXES;
  for (;;) {
    const c = code.charCodeAt(p);
    if (c === CH_PERCENT) {
      // `%fs:` written before the mnemonic.
      let q = p + 1;
      while (q < e && isIdentPart(code.charCodeAt(q))) q++;
      const name = lower(code.slice(p + 1, q));
      if (q < e && code.charCodeAt(q) === CH_COLON && isSegmentRegister(name)) {
        diag(diagnostics, line, p, q + 1, `GNU as rejects a segment override written before the mnemonic; write '${name}' or put '%${name}:' on the memory operand`, "warning");
        if (prefixes === NO_PREFIXES) prefixes = [];
        prefixes.push({ name, span: { line, start: p, end: q + 1 } });
        p = skipSpaces(code, q + 1, e);
        if (p >= e) break;
        continue;
      }
      diag(diagnostics, line, p, e, `expected an instruction, directive or label, found '${code.slice(p, e)}'`);
      return undefined;
    }
    if (c === CH_LBRACE) {
      // Pseudo prefixes such as {disp32}, {vex}.
      const q = code.indexOf("}", p);
      if (q < 0 || q >= e) {
        diag(diagnostics, line, p, e, "missing '}' in pseudo prefix");
        return undefined;
      }
      if (prefixes === NO_PREFIXES) prefixes = [];
      prefixes.push({ name: lower(code.slice(p, q + 1)), span: { line, start: p, end: q + 1 } });
      if (code.charCodeAt(q + 1) === CH_SLASH) {
        // `{disp32}/movl`: GNU as joins a prefix to the mnemonic with '/'.
        if (!slashJoins(code, q + 1, e)) {
          slashProblem(diagnostics, line, code, p, q + 1, e);
          return undefined;
        }
        p = q + 2;
        continue;
      }
      p = skipSpaces(code, q + 1, e);
      if (p >= e) break;
      continue;
    }
    if (!(isIdentStart(c) || c === CH_BACKSLASH)) {
      const what = isDigit(c) ? "a number" : `'${String.fromCodePoint(code.codePointAt(p) ?? 63)}'`;
      diag(diagnostics, line, p, e, `expected an instruction, directive or label, found ${what}`);
      return undefined;
    }
    const q = readWord(code, p, e);
    const word = intern(lower(code.slice(p, q)));
    const r = skipSpaces(code, q, e);
    if (isPrefixWord(word)) {
      const next = r < e ? code.charCodeAt(r) : -1;
      const prefix: Prefix = { name: word, span: { line, start: p, end: q } };
      if (q < e && code.charCodeAt(q) === CH_SLASH) {
        // `rep/insb`, `lock/incl (%eax)`: GNU as reads the prefix and the mnemonic after the '/'.
        if (!slashJoins(code, q, e)) {
          slashProblem(diagnostics, line, code, p, q, e);
          return undefined;
        }
        if (prefixes === NO_PREFIXES) prefixes = [];
        prefixes.push(prefix);
        p = q + 1;
        continue;
      }
      if (next === CH_SLASH) {
        slashProblem(diagnostics, line, code, p, r, e);
        return undefined;
      }
      if (r >= e) {
        if (!lastSegment) {
          if (prefixes === NO_PREFIXES) prefixes = [];
          prefixes.push(prefix);
          return prefixes;
        }
      } else if (isIdentStart(next) || next === CH_PERCENT || next === CH_LBRACE) {
        if (next !== CH_PERCENT || /^%[a-z]s:/i.test(code.slice(r, r + 4))) {
          if (prefixes === NO_PREFIXES) prefixes = [];
          prefixes.push(prefix);
          p = r;
          continue;
        }
      }
    }
    const start = prefixes.length > 0 ? prefixes[0].span.start : p;
    let operandsStart = r;
    // `call*%eax` style: no space between mnemonic and operand.
    if (operandsStart === q && q < e && !isSpace(code.charCodeAt(q)) && code.charCodeAt(q) !== CH_STAR) {
      diag(diagnostics, line, q, e, `junk '${code.slice(q, e)}' after mnemonic`);
      operandsStart = e;
    }
    const operands = parseOperands(code, line, operandsStart, e, diagnostics);
    const ins: InstructionStatement = {
      kind: "instruction",
      prefixes: prefixes.length === 0 ? NO_PREFIXES : prefixes,
      mnemonic: word,
      mnemonicSpan: { line, start: p, end: q },
      operands,
      span: { line, start, end: e },
      text: text.slice(start, e),
    };
    statements.push(ins);
    return undefined;
  }
  // Only prefixes in this segment.
  if (!lastSegment) return prefixes;
  if (prefixes.length > 0) flushPrefixes(text, line, prefixes, statements);
  return undefined;
}

/** Whether the '/' at `slash` joins a prefix to what follows: GNU as wants the next name right after it. */
function slashJoins(code: string, slash: number, e: number): boolean {
  const c = slash + 1 < e ? code.charCodeAt(slash + 1) : -1;
  return isIdentStart(c) || c === CH_BACKSLASH;
}

function slashProblem(out: ParseDiagnostic[], line: number, code: string, p: number, slash: number, e: number): void {
  diag(out, line, p, e, `GNU as expects a mnemonic right after '${code.slice(p, slash + 1)}' (a prefix joined with '/' takes no blank on either side)`);
}

function parsePreprocessorLine(text: string, line: number, hash: number, parsed: ParsedLine): { parsed: ParsedLine; state: LexState } {
  const n = text.length;
  let p = skipSpaces(text, hash + 1, n);
  let directive: string;
  let argsStart: number;
  if (p < n && isDigit(text.charCodeAt(p))) {
    directive = "line-marker";
    argsStart = p;
  } else {
    let q = p;
    while (q < n && isIdentPart(text.charCodeAt(q))) q++;
    const word = text.slice(p, q);
    if (p === hash + 1 && (word === "APP" || word === "NO_APP")) {
      directive = word === "APP" ? "app" : "no_app";
    } else if (CPP_WORDS.has(word)) {
      directive = word;
    } else {
      return { parsed, state: LEX_INITIAL }; // a comment
    }
    argsStart = skipSpaces(text, q, n);
  }
  const r = scanPreprocessorRest(text, argsStart, false, line, parsed.diagnostics);
  let argsEnd = trimEnd(text, argsStart, r.codeEnd);
  if (r.continued && argsEnd > argsStart && text.charCodeAt(argsEnd - 1) === CH_BACKSLASH) argsEnd = trimEnd(text, argsStart, argsEnd - 1);
  const args = r.masked.slice(argsStart, argsEnd).trim();
  parsed.statements.push({ kind: "preprocessor", directive, args, span: { line, start: hash, end: Math.max(argsEnd, trimEnd(text, hash, r.codeEnd)) } });
  return { parsed, state: lexState(r.inComment, r.continued) };
}

/** Scans the rest of a cpp line for comments, strings and a trailing backslash continuation. */
function scanPreprocessorRest(text: string, i: number, inComment: boolean, line: number, out: ParseDiagnostic[]): { codeEnd: number; inComment: boolean; continued: boolean; masked: string } {
  const n = text.length;
  let codeEnd = n;
  let masked = text;
  while (i < n) {
    if (inComment) {
      const j = text.indexOf("*/", i);
      if (j < 0) {
        return { codeEnd, inComment: true, continued: false, masked };
      }
      masked = masked.slice(0, i) + " ".repeat(j + 2 - i) + masked.slice(j + 2);
      i = j + 2;
      inComment = false;
      continue;
    }
    const c = text.charCodeAt(i);
    if (c === CH_DQUOTE) {
      const j = skipString(text, i, n);
      if (j < 0) {
        diag(out, line, i, n, "unterminated string", "warning");
        break;
      }
      i = j;
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_STAR) {
      const j = text.indexOf("*/", i + 2);
      if (j < 0) {
        if (codeEnd === n) codeEnd = i;
        return { codeEnd, inComment: true, continued: false, masked };
      }
      masked = masked.slice(0, i) + " ".repeat(j + 2 - i) + masked.slice(j + 2);
      i = j + 2;
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_SLASH) {
      codeEnd = i;
      break;
    }
    i++;
  }
  const last = trimEnd(text, 0, n);
  const continued = last > 0 && text.charCodeAt(last - 1) === CH_BACKSLASH && codeEnd >= last;
  return { codeEnd, inComment: false, continued, masked };
}

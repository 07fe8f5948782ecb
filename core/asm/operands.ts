// Operand parsing for AT&T syntax: %reg, $imm, seg:disp(base,index,scale), *indirect, bare expressions.
// Positions are offsets into the line; `code` is the line with comments blanked (same length).

import type { MemoryOperand, Operand, ParseDiagnostic, Register } from "./types.js";
import * as chars from "./chars.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const {
  CH_COMMA, CH_DOLLAR, CH_DQUOTE, CH_LPAREN, CH_PERCENT, CH_RPAREN, CH_SQUOTE, CH_STAR, CH_COLON, CH_BACKSLASH,
  isDigit, skipSpaces, trimEnd,
} = chars;
import * as expressionModule from "./expression.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { evaluateExpression } = expressionModule;
import * as registersModule from "./registers.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { isRegister, isSegmentRegister, canonicalRegister } = registersModule;

function diag(out: ParseDiagnostic[], line: number, start: number, end: number, message: string, severity: ParseDiagnostic["severity"] = "error"): void {
  out.push({ span: { line, start, end: end > start ? end : start + 1 }, message, severity });
}

/** Index just past a string literal starting at `i` (a '"'), or -1 when it is not terminated. */
export function skipString(s: string, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === CH_BACKSLASH) j++;
    else if (c === CH_DQUOTE) return j + 1;
  }
  return -1;
}

/** Index just past a character constant `'x` / `'\x` starting at `i`. */
export function skipCharConstant(s: string, i: number, end: number): number {
  let j = i + 1;
  if (j < end && s.charCodeAt(j) === CH_BACKSLASH) j++;
  j++;
  if (j < end && s.charCodeAt(j) === CH_SQUOTE) j++;
  return j > end ? end : j;
}

interface RegisterToken {
  name: string;
  end: number;
}

/** Reads `%name` (with `%st(1)` / `%st (1)`) at `i` (the '%'). Register validity is checked by the caller. */
function readRegister(s: string, i: number, end: number): RegisterToken {
  let j = i + 1;
  while (j < end) {
    const c = s.charCodeAt(j) | 0x20;
    if ((c >= 97 && c <= 122) || isDigit(c) || s.charCodeAt(j) === 46 || s.charCodeAt(j) === 95) j++;
    else break;
  }
  let name = canonicalRegister(s.slice(i + 1, j).toLowerCase());
  if (name === "st") {
    const p = skipSpaces(s, j, end);
    if (p < end && s.charCodeAt(p) === CH_LPAREN) {
      const q = skipSpaces(s, p + 1, end);
      if (q < end && isDigit(s.charCodeAt(q))) {
        const r = skipSpaces(s, q + 1, end);
        if (r < end && s.charCodeAt(r) === CH_RPAREN) {
          name = canonicalRegister(`st(${s.charAt(q)})`);
          j = r + 1;
        }
      }
    }
  }
  return { name, end: j };
}

function checkRegister(out: ParseDiagnostic[], line: number, s: string, start: number, tok: RegisterToken): void {
  if (tok.name.length === 0) diag(out, line, start, start + 1, "missing register name after '%'");
  else if (!isRegister(tok.name) && s.indexOf("\\", start) < 0) diag(out, line, start, tok.end, `unknown register '%${s.slice(start + 1, tok.end)}'`);
}

/**
 * Splits operands at top-level commas and parses each. Reports unbalanced parentheses and
 * empty operands. `start`/`end` bound the operand text (already trimmed).
 */
const scratchOperands: Operand[] = [];

export function parseOperands(s: string, line: number, start: number, end: number, out: ParseDiagnostic[]): Operand[] {
  if (start >= end) return [];
  const operands = scratchOperands;
  operands.length = 0;
  let depth = 0;
  let openAt = -1;
  let opStart = start;
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === CH_DQUOTE) {
      const j = skipString(s, i, end);
      i = j < 0 ? end : j;
      continue;
    }
    if (c === CH_SQUOTE) {
      i = skipCharConstant(s, i, end);
      continue;
    }
    if (c === CH_LPAREN) {
      if (depth === 0) openAt = i;
      depth++;
    } else if (c === CH_RPAREN) {
      if (depth === 0) {
        diag(out, line, i, i + 1, "unbalanced parentheses: ')' without '('");
      } else depth--;
    } else if (c === CH_COMMA && depth === 0) {
      pushOperand(s, line, opStart, i, out, operands);
      opStart = i + 1;
    }
    i++;
  }
  if (depth > 0) diag(out, line, openAt, end, "unbalanced parentheses: missing ')'");
  pushOperand(s, line, opStart, end, out, operands);
  // Exact-size copy (see line.ts): the scratch array is reused by the next call.
  return operands.slice();
}

function pushOperand(s: string, line: number, a: number, b: number, out: ParseDiagnostic[], operands: Operand[]): void {
  a = skipSpaces(s, a, b);
  b = trimEnd(s, a, b);
  if (a >= b) {
    // Point at the comma that ends (or precedes) the empty operand.
    if (s.charCodeAt(a) === CH_COMMA) diag(out, line, a, a + 1, "missing operand");
    else diag(out, line, a > 0 ? a - 1 : a, a, "missing operand");
    return;
  }
  const op = parseOperand(s, line, a, b, out);
  if (op !== undefined) operands.push(op);
}

/** Parses one operand occupying exactly [a, b) (trimmed). */
export function parseOperand(s: string, line: number, a: number, b: number, out: ParseDiagnostic[]): Operand | undefined {
  const span = { line, start: a, end: b };
  let p = a;
  let indirect = false;
  if (s.charCodeAt(p) === CH_STAR) {
    indirect = true;
    p = skipSpaces(s, p + 1, b);
    if (p >= b) {
      diag(out, line, a, b, "missing operand after '*'");
      return undefined;
    }
  }
  const c = s.charCodeAt(p);
  if (c === CH_DOLLAR) {
    const t = skipSpaces(s, p + 1, b);
    const text = s.slice(t, b);
    if (text.length === 0) diag(out, line, p, b, "missing value after '$'");
    if (indirect) diag(out, line, a, b, "an immediate cannot be indirect ('*$')");
    const value = text.length > 0 ? evaluateExpression(text) : undefined;
    return value === undefined ? { kind: "imm", text, span } : { kind: "imm", text, value, span };
  }
  let segment: Register | undefined;
  if (c === CH_PERCENT) {
    const tok = readRegister(s, p, b);
    checkRegister(out, line, s, p, tok);
    const q = skipSpaces(s, tok.end, b);
    if (q >= b) return { kind: "reg", reg: tok.name, span, indirect };
    if (s.charCodeAt(q) === CH_COLON) {
      if (isRegister(tok.name) && !isSegmentRegister(tok.name)) diag(out, line, p, tok.end, `'%${tok.name}' is not a segment register`);
      segment = tok.name;
      p = skipSpaces(s, q + 1, b);
    } else {
      diag(out, line, q, b, `junk '${s.slice(q, b)}' after register`);
      return { kind: "reg", reg: tok.name, span, indirect };
    }
  }
  return parseMemory(s, line, a, p, b, segment, indirect, out);
}

function parseMemory(
  s: string, line: number, a: number, p: number, b: number,
  segment: Register | undefined, indirect: boolean, out: ParseDiagnostic[],
): MemoryOperand {
  let dispEnd = b;
  let base: Register | undefined;
  let index: Register | undefined;
  let scale: number | undefined;
  if (b > p && s.charCodeAt(b - 1) === CH_RPAREN) {
    // Find the '(' matching the final ')'.
    let depth = 0;
    let q = b - 1;
    for (; q >= p; q--) {
      const c = s.charCodeAt(q);
      if (c === CH_RPAREN) depth++;
      else if (c === CH_LPAREN && --depth === 0) break;
    }
    if (q >= p) {
      const inner = skipSpaces(s, q + 1, b - 1);
      const ic = s.charCodeAt(inner);
      if (ic === CH_PERCENT || ic === CH_COMMA) {
        dispEnd = q;
        const r = parseAddressParts(s, line, q + 1, b - 1, out);
        base = r.base;
        index = r.index;
        scale = r.scale;
      }
    }
  }
  const de = trimEnd(s, p, dispEnd);
  const disp = s.slice(p, de);
  const m: MemoryOperand = {
    kind: "mem",
    disp,
    span: { line, start: a, end: b },
    indirect,
    bare: !indirect && segment === undefined && base === undefined && index === undefined && dispEnd === b,
  };
  if (segment !== undefined) m.segment = segment;
  if (disp.length > 0) {
    const v = evaluateExpression(disp);
    if (v !== undefined) m.dispValue = v;
  }
  if (base !== undefined) m.base = base;
  if (index !== undefined) m.index = index;
  if (scale !== undefined) m.scale = scale;
  if (disp.length === 0 && dispEnd === b) diag(out, line, a, b, "missing address");
  return m;
}

function parseAddressParts(s: string, line: number, a: number, b: number, out: ParseDiagnostic[]): { base?: Register; index?: Register; scale?: number } {
  const r: { base?: Register; index?: Register; scale?: number } = {};
  let part = 0;
  let i = a;
  while (i <= b) {
    let j = i;
    while (j < b && s.charCodeAt(j) !== CH_COMMA) j++;
    const ps = skipSpaces(s, i, j);
    const pe = trimEnd(s, ps, j);
    if (part === 0 || part === 1) {
      if (ps < pe) {
        if (part === 1 && j >= b && s.charCodeAt(ps) !== CH_PERCENT) {
          // GNU as reads `(base, n)` as a scale without an index register: 1 is silent, 2/4/8 warn.
          const v = evaluateExpression(s.slice(ps, pe));
          if (v === 2 || v === 4 || v === 8) diag(out, line, ps, pe, `scale factor of ${v} without an index register`, "warning");
          else if (v !== 1 && (s.indexOf("\\", ps) < 0 || s.indexOf("\\", ps) >= pe)) diag(out, line, ps, pe, `scale factor must be 1, 2, 4 or 8, not '${s.slice(ps, pe)}'`);
        } else if (s.charCodeAt(ps) !== CH_PERCENT) {
          diag(out, line, ps, pe, `expected a register for the ${part === 0 ? "base" : "index"}, found '${s.slice(ps, pe)}'`);
        } else {
          const tok = readRegister(s, ps, pe);
          checkRegister(out, line, s, ps, tok);
          if (tok.end < pe) diag(out, line, tok.end, pe, `junk '${s.slice(tok.end, pe)}' after register`);
          if (part === 0) r.base = tok.name;
          else r.index = tok.name;
        }
      } else if (part === 1) {
        diag(out, line, ps > a ? ps - 1 : ps, ps, "missing index register");
      }
    } else if (part === 2) {
      if (ps >= pe) {
        diag(out, line, ps > a ? ps - 1 : ps, ps, "missing scale factor");
      } else {
        const v = evaluateExpression(s.slice(ps, pe));
        if (v === 1 || v === 2 || v === 4 || v === 8) r.scale = v;
        else if (s.indexOf("\\", ps) < 0 || s.indexOf("\\", ps) >= pe) diag(out, line, ps, pe, `scale factor must be 1, 2, 4 or 8, not '${s.slice(ps, pe)}'`);
      }
    } else {
      diag(out, line, i > a ? i - 1 : i, b, "too many parts in memory operand (base,index,scale)");
      break;
    }
    part++;
    i = j + 1;
  }
  if (r.index !== undefined && r.scale === undefined) r.scale = 1;
  return r;
}

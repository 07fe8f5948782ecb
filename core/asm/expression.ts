// Constant-expression evaluation with GNU as operators and precedence:
//   highest  unary - + ~ !
//            * / % << >>
//            | & ^ !          (binary ! is "or not")
//            + - == <> != < > <= >=   (comparisons give -1 for true, as gas does)
//   lowest   && ||
// A symbol makes the expression non-constant unless `symbols` gives its value.

import * as chars from "./chars.js";
// Bound once: under tsx (CJS interop) every use of an imported binding is a getter call.
const { CH_0, CH_9, CH_SQUOTE, CH_BACKSLASH, isIdentPart, isIdentStart, isSpace } = chars;

export type SymbolValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

export interface ExpressionResult {
  /** The value when the expression is constant. */
  value?: number;
  /** Set when the text is not a well-formed expression (or divides by zero). */
  error?: string;
  /** Symbols the expression refers to that had no value. */
  unresolved: string[];
}

class ExprParser {
  pos = 0;
  error: string | undefined;
  unresolved: string[] = [];
  constructor(
    readonly s: string,
    readonly symbols: SymbolValues | undefined,
  ) {}

  fail(msg: string): undefined {
    if (this.error === undefined) this.error = msg;
    return undefined;
  }

  skip(): void {
    const s = this.s;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
  }

  peek(): number {
    this.skip();
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }

  /** Matches a multi-character operator at the current position. */
  take(op: string): boolean {
    this.skip();
    if (this.s.startsWith(op, this.pos)) {
      this.pos += op.length;
      return true;
    }
    return false;
  }

  lookup(name: string): number | undefined {
    const t = this.symbols;
    if (t === undefined) return undefined;
    if (t instanceof Map) return t.get(name);
    const rec = t as Readonly<Record<string, number>>;
    return Object.prototype.hasOwnProperty.call(rec, name) ? rec[name] : undefined;
  }

  // Each level returns number | undefined (undefined = not constant); `ok` tracks syntax.
  parseLowest(): number | undefined {
    let v = this.parseAdditive();
    for (;;) {
      if (this.take("&&")) {
        const r = this.parseAdditive();
        v = v === undefined || r === undefined ? undefined : v !== 0 && r !== 0 ? 1 : 0;
      } else if (this.take("||")) {
        const r = this.parseAdditive();
        v = v === undefined || r === undefined ? undefined : v !== 0 || r !== 0 ? 1 : 0;
      } else return v;
    }
  }

  parseAdditive(): number | undefined {
    let v = this.parseBitwise();
    for (;;) {
      let op: string;
      if (this.take("==")) op = "==";
      else if (this.take("!=")) op = "!=";
      else if (this.take("<>")) op = "!=";
      else if (this.take("<=")) op = "<=";
      else if (this.take(">=")) op = ">=";
      else {
        const c = this.peek();
        // '<<' and '>>' belong to the higher level; they were consumed there already.
        if (c === 43) op = "+";
        else if (c === 45) op = "-";
        else if (c === 60 && this.s.charCodeAt(this.pos + 1) !== 60) op = "<";
        else if (c === 62 && this.s.charCodeAt(this.pos + 1) !== 62) op = ">";
        else return v;
        this.pos++;
      }
      const r = this.parseBitwise();
      if (v === undefined || r === undefined) {
        v = undefined;
        continue;
      }
      switch (op) {
        case "+": v = wrap(v + r); break;
        case "-": v = wrap(v - r); break;
        case "==": v = v === r ? -1 : 0; break;
        case "!=": v = v !== r ? -1 : 0; break;
        case "<": v = v < r ? -1 : 0; break;
        case ">": v = v > r ? -1 : 0; break;
        case "<=": v = v <= r ? -1 : 0; break;
        case ">=": v = v >= r ? -1 : 0; break;
      }
    }
  }

  parseBitwise(): number | undefined {
    let v = this.parseMultiplicative();
    for (;;) {
      const c = this.peek();
      let op: number;
      if (c === 124 && this.s.charCodeAt(this.pos + 1) !== 124) op = c;
      else if (c === 38 && this.s.charCodeAt(this.pos + 1) !== 38) op = c;
      else if (c === 94) op = c;
      else if (c === 33 && this.s.charCodeAt(this.pos + 1) !== 61) op = c;
      else return v;
      this.pos++;
      const r = this.parseMultiplicative();
      if (v === undefined || r === undefined) {
        v = undefined;
        continue;
      }
      v = bitop(op, v, r);
    }
  }

  parseMultiplicative(): number | undefined {
    let v = this.parseUnary();
    for (;;) {
      let op: string;
      if (this.take("<<")) op = "<<";
      else if (this.take(">>")) op = ">>";
      else {
        const c = this.peek();
        if (c === 42) op = "*";
        else if (c === 47) op = "/";
        else if (c === 37) op = "%";
        else return v;
        this.pos++;
      }
      const r = this.parseUnary();
      if (v === undefined || r === undefined) {
        v = undefined;
        continue;
      }
      switch (op) {
        case "*": v = mul(v, r); break;
        case "/": v = r === 0 ? this.fail("division by zero") : wrap(Math.trunc(v / r)); break;
        case "%": v = r === 0 ? this.fail("division by zero") : v % r; break;
        case "<<": v = shift(v, r, true); break;
        case ">>": v = shift(v, r, false); break;
      }
    }
  }

  parseUnary(): number | undefined {
    const c = this.peek();
    if (c === 45 || c === 43 || c === 126 || c === 33) {
      this.pos++;
      const v = this.parseUnary();
      if (v === undefined) return undefined;
      if (c === 45) return wrap(-v);
      if (c === 126) return bitNot(v);
      if (c === 33) return v === 0 ? 1 : 0;
      return v;
    }
    return this.parsePrimary();
  }

  parsePrimary(): number | undefined {
    const s = this.s;
    const c = this.peek();
    if (c === -1) return this.fail("missing operand in expression");
    if (c === 40) {
      this.pos++;
      const v = this.parseLowest();
      if (!this.take(")")) return this.fail("missing ')' in expression");
      return v;
    }
    if (c === CH_SQUOTE) {
      // 'a  or  '\n  (a closing quote is tolerated: gas accepts 'a')
      let p = this.pos + 1;
      if (p >= s.length) return this.fail("missing character after '");
      let v: number;
      if (s.charCodeAt(p) === CH_BACKSLASH && p + 1 < s.length) {
        const e = escapeValue(s, p + 1);
        v = e.value;
        p = e.next;
      } else {
        v = s.codePointAt(p) ?? 0;
        p += v > 0xffff ? 2 : 1;
      }
      if (p < s.length && s.charCodeAt(p) === CH_SQUOTE) p++;
      this.pos = p;
      return v;
    }
    if (c >= CH_0 && c <= CH_9) return this.parseNumber();
    if (isIdentStart(c)) {
      const start = this.pos;
      let p = start + 1;
      while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
      this.pos = p;
      const name = s.slice(start, p);
      const v = this.lookup(name);
      if (v === undefined) this.unresolved.push(name);
      return v;
    }
    return this.fail(`unexpected '${String.fromCodePoint(s.codePointAt(this.pos) ?? 63)}' in expression`);
  }

  parseNumber(): number | undefined {
    const s = this.s;
    const start = this.pos;
    let p = start;
    while (p < s.length && isIdentPart(s.charCodeAt(p))) p++;
    this.pos = p;
    const tok = s.slice(start, p);
    const v = parseIntegerToken(tok);
    if (v !== undefined) return v;
    // `1b` / `1f`: reference to a numeric local label, an address (not a constant).
    const last = tok.charCodeAt(tok.length - 1) | 0x20;
    if ((last === 98 || last === 102) && /^[0-9]+$/.test(tok.slice(0, -1))) {
      this.unresolved.push(tok);
      return undefined;
    }
    return this.fail(`bad number '${tok}'`);
  }
}

/** Parses a gas integer literal: 0x1f, 0b101, 017 (octal), 42. */
export function parseIntegerToken(tok: string): number | undefined {
  const n = tok.length;
  if (n === 0) return undefined;
  let radix = 10;
  let i = 0;
  if (tok.charCodeAt(0) === CH_0 && n > 1) {
    const x = tok.charCodeAt(1) | 0x20;
    if (x === 120) {
      radix = 16;
      i = 2;
    } else if (x === 98) {
      radix = 2;
      i = 2;
    } else {
      radix = 8;
      i = 1;
    }
    if (i >= n) return undefined;
  }
  let v = 0;
  for (; i < n; i++) {
    const c = tok.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 0x20) >= 97 && (c | 0x20) <= 102) d = (c | 0x20) - 87;
    else return undefined;
    if (d >= radix) return undefined;
    v = v * radix + d;
  }
  return v > Number.MAX_SAFE_INTEGER ? Number(BigInt.asIntN(64, BigInt(radix === 8 ? "0o" + tok.slice(1) : tok))) : v;
}

function escapeValue(s: string, p: number): { value: number; next: number } {
  const c = s.charCodeAt(p);
  switch (c) {
    case 110: return { value: 10, next: p + 1 }; // n
    case 116: return { value: 9, next: p + 1 }; // t
    case 114: return { value: 13, next: p + 1 }; // r
    case 98: return { value: 8, next: p + 1 }; // b
    case 102: return { value: 12, next: p + 1 }; // f
    case 48: case 49: case 50: case 51: case 52: case 53: case 54: case 55: {
      let v = 0;
      let q = p;
      while (q < s.length && q < p + 3 && s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 55) v = v * 8 + s.charCodeAt(q++) - 48;
      return { value: v, next: q };
    }
    default:
      return { value: s.codePointAt(p) ?? 0, next: p + 1 };
  }
}

const TWO64 = 18446744073709551616;
// Keep values in the signed 64-bit range the way gas's bfd_vma arithmetic wraps.
function wrap(v: number): number {
  if (v >= -9223372036854775808 && v < 9223372036854775808) return v;
  return Number(BigInt.asIntN(64, BigInt(Math.trunc(v % TWO64))));
}

function mul(a: number, b: number): number {
  const r = a * b;
  if (Number.isSafeInteger(r)) return r;
  return Number(BigInt.asIntN(64, BigInt(a) * BigInt(b)));
}

function isInt32(v: number): boolean {
  return (v | 0) === v;
}

function bitop(op: number, a: number, b: number): number {
  if (isInt32(a) && isInt32(b)) {
    if (op === 124) return a | b;
    if (op === 38) return a & b;
    if (op === 94) return a ^ b;
    return a | ~b;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  let r: bigint;
  if (op === 124) r = x | y;
  else if (op === 38) r = x & y;
  else if (op === 94) r = x ^ y;
  else r = x | ~y;
  return Number(BigInt.asIntN(64, r));
}

function bitNot(v: number): number {
  return isInt32(v) ? ~v : Number(BigInt.asIntN(64, ~BigInt(v)));
}

function shift(v: number, by: number, left: boolean): number {
  if (by < 0 || by >= 64) return 0;
  const x = BigInt(v);
  const r = left ? x << BigInt(by) : x >> BigInt(by);
  return Number(BigInt.asIntN(64, r));
}

/** Full evaluation with the reason when the text is not constant. Never throws. */
export function analyseExpression(text: string, symbols?: SymbolValues): ExpressionResult {
  const p = new ExprParser(text, symbols);
  let value: number | undefined;
  try {
    value = p.parseLowest();
    if (p.error === undefined && p.peek() !== -1) p.fail(`junk '${text.slice(p.pos).trim()}' after expression`);
  } catch {
    p.fail("expression too complex");
  }
  if (p.error !== undefined) return { error: p.error, unresolved: p.unresolved };
  return value === undefined || Number.isNaN(value) ? { unresolved: p.unresolved } : { value, unresolved: p.unresolved };
}

/**
 * Value of a constant expression (numbers, char constants, operators, parentheses, and the
 * symbols given), or undefined when it is not constant or not well formed.
 */
export function evaluateExpression(text: string, symbols?: SymbolValues): number | undefined {
  // Fast path for the plain literals that dominate compiler output.
  const n = text.length;
  if (n > 0 && n < 16) {
    const c = text.charCodeAt(0);
    if (c >= CH_0 && c <= CH_9) {
      const v = parseIntegerToken(text);
      if (v !== undefined) return v;
    } else if (c === 45 && n > 1 && text.charCodeAt(1) >= CH_0 && text.charCodeAt(1) <= CH_9) {
      const v = parseIntegerToken(text.slice(1));
      if (v !== undefined) return v === 0 ? 0 : -v;
    }
  }
  return analyseExpression(text, symbols).value;
}

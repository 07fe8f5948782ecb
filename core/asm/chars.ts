// Character classes for the charCode-based scanner (one table lookup per character, no regexes).

export const CH_TAB = 9;
export const CH_SPACE = 32;
export const CH_BANG = 33;
export const CH_DQUOTE = 34;
export const CH_HASH = 35;
export const CH_DOLLAR = 36;
export const CH_PERCENT = 37;
export const CH_AMP = 38;
export const CH_SQUOTE = 39;
export const CH_LPAREN = 40;
export const CH_RPAREN = 41;
export const CH_STAR = 42;
export const CH_PLUS = 43;
export const CH_COMMA = 44;
export const CH_MINUS = 45;
export const CH_DOT = 46;
export const CH_SLASH = 47;
export const CH_0 = 48;
export const CH_9 = 57;
export const CH_COLON = 58;
export const CH_SEMI = 59;
export const CH_LT = 60;
export const CH_EQ = 61;
export const CH_GT = 62;
export const CH_AT = 64;
export const CH_LBRACE = 123;
export const CH_RBRACE = 125;
export const CH_BACKSLASH = 92;
export const CH_CARET = 94;
export const CH_UNDERSCORE = 95;
export const CH_PIPE = 124;
export const CH_TILDE = 126;

const IDENT_START = new Uint8Array(128);
const IDENT_PART = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const digit = c >= CH_0 && c <= CH_9;
  IDENT_START[c] = letter || c === CH_UNDERSCORE || c === CH_DOT ? 1 : 0;
  IDENT_PART[c] = letter || digit || c === CH_UNDERSCORE || c === CH_DOT || c === CH_DOLLAR ? 1 : 0;
}

/** First character of a symbol or mnemonic. Non-ASCII letters are accepted (gas takes UTF-8 symbol bytes). */
export function isIdentStart(c: number): boolean {
  return c < 128 ? IDENT_START[c] === 1 : c !== 0xfffd && c !== 0xa0 && c !== 0xfeff;
}

export function isIdentPart(c: number): boolean {
  return c < 128 ? IDENT_PART[c] === 1 : c !== 0xfffd && c !== 0xa0 && c !== 0xfeff;
}

export function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

export function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === 13 || c === 12 || c === 11;
}

export function skipSpaces(s: string, i: number, end: number): number {
  while (i < end && isSpace(s.charCodeAt(i))) i++;
  return i;
}

export function trimEnd(s: string, start: number, end: number): number {
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return end;
}

/** Lower-cases only when needed (gcc output is already lower case). */
export function lower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
    if (c > 127) return s.toLowerCase();
  }
  return s;
}

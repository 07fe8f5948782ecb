// The C preprocessor's macro expansion, for the macros a file defines, as far as asm templates need it:
// `asm volatile(CR(3) : "=r"(v))`, `asm("int $" __stringify(0x80))`. Parameters, variadics (`x...`,
// `...`/__VA_ARGS__, GNU `, ## __VA_ARGS__`), `#` stringification, `##` pasting, rescanning with hide
// sets (a macro is not expanded inside its own expansion), as C11 6.10.3 and cpp's manual say. Every
// token remembers where its characters are in the text read when they come from a macro argument there;
// the rest (a macro body's text) stands at the invocation. What cannot be known from the file alone (a
// name a header may define, a macro defined differently in branches the file does not settle) stops the
// expansion with a reason rather than a guess.

import { decodeEscape } from "./template.js";

export interface Point {
  row: number;
  column: number;
}

type Kind = "id" | "num" | "str" | "chr" | "punct" | "other" | "placemarker";

export interface Token {
  kind: Kind;
  text: string;
  /** Whitespace before it (stringification puts one space there). */
  space: boolean;
  /** Names not to expand in this token (C's hide set). */
  hs: ReadonlySet<string>;
  /** Where its first character is in the text read (an argument's token); undefined for a body's. */
  at?: Point;
  /** Per character (pasted or stringified tokens): where each one is in the text read. */
  map?: ((Point & { width?: number }) | undefined)[];
  /** For a body's token: the name of the innermost invocation in the text read it was expanded from. */
  anchor?: Point & { width: number };
  /** A `##` operator of a macro body. */
  paste?: boolean;
  /** The name was not expanded but a header or gcc itself may define it. */
  maybeMacro?: boolean;
  /** First token of the variadic argument (for `, ## __VA_ARGS__`), or the placemarker standing for it empty. */
  vaStart?: boolean;
}

export interface MacroDef {
  name: string;
  /** Parameter names (`__VA_ARGS__` for `...`); undefined for an object-like macro. */
  params?: string[];
  variadic: boolean;
  body: Token[];
  /** The row of the #define (a macro is defined from there on). */
  row: number;
}

/** The file's macros by name; null for one it does not settle (defined differently twice, #undef'd). */
export type MacroDefs = Map<string, MacroDef | null>;

/** Tokens a single expansion may produce at most (uses of uses multiply). */
export const MAX_MACRO_TOKENS = 5000;
/** Nested argument expansions at most. */
export const MAX_MACRO_DEPTH = 100;

const EMPTY: ReadonlySet<string> = new Set();

const PUNCTUATORS = ["%:%:", "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##", "<:", ":>", "<%", "%>", "%:"];

/** The token at `i` of `text` (after whitespace and comments) and where it ends; undefined at the end. */
export function lexAt(text: string, i: number, end = text.length): { kind: Exclude<Kind, "placemarker">; start: number; end: number; space: boolean } | undefined {
  let space = false;
  while (i < end) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
      i++;
      space = true;
    } else if (c === "\\" && (text[i + 1] === "\n" || (text[i + 1] === "\r" && text[i + 2] === "\n"))) {
      i += text[i + 1] === "\n" ? 2 : 3;
    } else if (c === "/" && text[i + 1] === "*") {
      const j = text.indexOf("*/", i + 2);
      i = j < 0 || j + 2 > end ? end : j + 2;
      space = true;
    } else if (c === "/" && text[i + 1] === "/") {
      const j = text.indexOf("\n", i);
      i = j < 0 || j > end ? end : j;
      space = true;
    } else break;
  }
  if (i >= end) return undefined;
  for (const [kind, re] of LEXEMES) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m !== null && i + m[0].length <= end) return { kind, start: i, end: i + m[0].length, space };
  }
  for (const p of PUNCTUATORS) if (text.startsWith(p, i) && i + p.length <= end) return { kind: "punct", start: i, end: i + p.length, space };
  // A lone quote (an unterminated literal) is not a token C accepts: "other" never makes a string.
  return { kind: /["'\\`@]/.test(text[i]!) ? "other" : "punct", start: i, end: i + 1, space };
}

const LEXEMES: [Exclude<Kind, "placemarker" | "punct" | "other">, RegExp][] = [
  ["str", /(?:u8|[LuU])?"(?:[^"\\\n]|\\[^\n])*"/y],
  ["chr", /(?:u8|[LuU])?'(?:[^'\\\n]|\\[^\n])*'/y],
  ["num", /\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*/y],
  ["id", /[A-Za-z_$][A-Za-z0-9_$]*/y],
];

/** All tokens of `text` (a macro body: no positions). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (let t = lexAt(text, 0); t !== undefined; t = lexAt(text, t.end)) out.push({ kind: t.kind, text: text.slice(t.start, t.end), space: t.space, hs: EMPTY });
  return out;
}

/** A #define as a MacroDef: `params` is the parameter list's text with its parentheses, undefined when object-like. */
export function macroDef(name: string, params: string | undefined, value: string, row: number): MacroDef | undefined {
  const body = tokenize(value.replace(/\\\r?\n/g, " "));
  if (body.length > 0) body[0]!.space = false;
  if (params === undefined) return { name, variadic: false, body, row };
  const inner = params.trim().replace(/^\(/, "").replace(/\)$/, "").replace(/\\\r?\n/g, " ").trim();
  const names = inner === "" ? [] : inner.split(",").map((p) => p.trim());
  let variadic = false;
  const list: string[] = [];
  for (const [k, p] of names.entries()) {
    if (p.endsWith("...")) {
      if (k !== names.length - 1) return undefined;
      variadic = true;
      const n = p.slice(0, -3).trim();
      if (n !== "" && !/^[A-Za-z_]\w*$/.test(n)) return undefined;
      list.push(n === "" ? "__VA_ARGS__" : n);
    } else if (/^[A-Za-z_]\w*$/.test(p)) list.push(p);
    else return undefined;
  }
  // `##` is an operator in a body only (the ## of an argument is an ordinary token).
  for (const t of body) if (t.kind === "punct" && (t.text === "##" || t.text === "%:%:")) t.paste = true;
  // __VA_OPT__ (C23) is not expanded here: say nothing rather than guess.
  if (body.some((t) => t.text === "__VA_OPT__")) return undefined;
  return { name, params: list, variadic, body, row };
}

/** Where character `k` of `t` is in the text read, if it comes from there. */
export function charPoint(t: Token, k: number): (Point & { width?: number }) | undefined {
  if (t.map !== undefined) return t.map[k];
  return t.at === undefined ? undefined : { row: t.at.row, column: t.at.column + k };
}

const charPoints = (t: Token): ((Point & { width?: number }) | undefined)[] => [...t.text].map((_, k) => charPoint(t, k));

/** Why an expansion stopped. */
export class ExpansionStopped extends Error {}

/** Names gcc or a system header may define without the file saying so. */
const PREDEFINED = /^(?:__\w*|_[A-Z]\w*|i386|linux|unix)$/;

export class Expander {
  private produced = 0;

  /**
   * `defs`: the file's macros; `before`: only those defined on rows before it are in force; `headers`:
   * the file includes headers (a name it does not define may be a macro there).
   */
  constructor(private readonly defs: MacroDefs, private readonly before: number, private readonly headers: boolean) {}

  private def(name: string): MacroDef | undefined {
    const d = this.defs.get(name);
    if (d === null) throw new ExpansionStopped(`${name} has no one definition here to read (defined differently in branches the file does not settle, #undef'd, or using __VA_OPT__)`);
    return d !== undefined && d.row < this.before ? d : undefined;
  }

  /** Whether `name` is a macro in force. */
  isMacro(name: string): boolean {
    const d = this.defs.get(name);
    return d === null || (d !== undefined && d.row < this.before);
  }

  isFunctionLike(name: string): boolean {
    return this.defs.get(name)?.params !== undefined;
  }

  /** `ts` fully macro-expanded (C's rescanning); throws ExpansionStopped. */
  expand(ts: readonly Token[], depth = 0): Token[] {
    if (depth > MAX_MACRO_DEPTH) throw new ExpansionStopped(`macros nest over ${MAX_MACRO_DEPTH} deep`);
    const out: Token[] = [];
    let input = ts.slice();
    let i = 0;
    while (i < input.length) {
      const t = input[i]!;
      if (t.kind !== "id" || t.hs.has(t.text)) {
        out.push(t);
        i++;
        continue;
      }
      const d = this.def(t.text);
      if (d === undefined) {
        const maybe = this.headers || PREDEFINED.test(t.text);
        out.push(maybe ? { ...t, maybeMacro: true } : t);
        i++;
        continue;
      }
      let result: Token[];
      let next: number;
      if (d.params === undefined) {
        result = this.substitute(d, [], new Set([...t.hs, d.name]), t, depth);
        next = i + 1;
      } else {
        if (input[i + 1]?.text !== "(") {
          out.push(t);
          i++;
          continue;
        }
        const call = this.arguments(input, i + 1, d);
        const close = input[call.close]!;
        const hs = new Set([...t.hs].filter((n) => close.hs.has(n)));
        hs.add(d.name);
        result = this.substitute(d, call.args, hs, t, depth);
        next = call.close + 1;
      }
      this.produced += result.length;
      if (this.produced > MAX_MACRO_TOKENS) throw new ExpansionStopped(`the expansion is over ${MAX_MACRO_TOKENS} tokens`);
      input = result.concat(input.slice(next));
      i = 0;
    }
    return out;
  }

  /** The arguments of a call whose `(` is input[open], and the index of its `)`. */
  private arguments(input: readonly Token[], open: number, d: MacroDef): { args: Token[][]; close: number } {
    const args: Token[][] = [[]];
    let depth = 0;
    for (let k = open + 1; k < input.length; k++) {
      const t = input[k]!;
      if (t.kind === "punct" && t.text === ")" && depth === 0) {
        const n = d.params!.length;
        if (args.length === 1 && args[0]!.length === 0 && n === 0) return { args: [], close: k };
        if (d.variadic && args.length === n - 1) args.push([]);
        if (args.length !== n) throw new ExpansionStopped(`${d.name} takes ${n} argument${n === 1 ? "" : "s"}, given ${args.length}`);
        return { args, close: k };
      }
      if (t.kind === "punct" && t.text === "(") depth++;
      if (t.kind === "punct" && t.text === ")") depth--;
      // The variadic parameter takes the commas of the rest.
      if (t.kind === "punct" && t.text === "," && depth === 0 && !(d.variadic && args.length === d.params!.length)) args.push([]);
      else args[args.length - 1]!.push(t);
    }
    throw new ExpansionStopped(`the call of ${d.name} has no closing parenthesis`);
  }

  /** The body of `d` with its parameters replaced, # and ## applied, marked with `hs`. */
  private substitute(d: MacroDef, args: Token[][], hs: ReadonlySet<string>, name: Token, depth: number): Token[] {
    const params = d.params ?? [];
    const param = (t: Token | undefined): number => (t !== undefined && t.kind === "id" && d.params !== undefined ? params.indexOf(t.text) : -1);
    // A body's text stands at the invocation's name when that is in the text read (`ID(CLI)`: at CLI).
    const anchor = name.at !== undefined ? { ...name.at, width: name.text.length } : name.anchor;
    const expanded = new Map<number, Token[]>();
    const va = d.variadic ? params.length - 1 : -1;
    const out: Token[] = [];
    const body = d.body;
    for (let k = 0; k < body.length; k++) {
      const b = body[k]!;
      if (d.params !== undefined && b.kind === "punct" && (b.text === "#" || b.text === "%:")) {
        const p = param(body[k + 1]);
        if (p < 0) throw new ExpansionStopped(`'#' in ${d.name} is not followed by a parameter`);
        const str = { ...stringify(args[p]!), space: b.space };
        out.push(anchor === undefined ? str : { ...str, anchor });
        k++;
        continue;
      }
      const p = param(b);
      if (p < 0) {
        out.push(anchor === undefined ? { ...b } : { ...b, anchor });
        continue;
      }
      const pasted = body[k - 1]?.paste === true || body[k + 1]?.paste === true;
      let a: Token[];
      if (pasted) a = args[p]!;
      else {
        a = expanded.get(p) ?? this.expand(args[p]!, depth + 1);
        expanded.set(p, a);
      }
      if (a.length === 0) out.push({ kind: "placemarker", text: "", space: b.space, hs: EMPTY, vaStart: p === va });
      else a.forEach((x, j) => out.push(j === 0 ? { ...x, space: b.space, vaStart: p === va } : x));
    }
    const glued: Token[] = [];
    for (let k = 0; k < out.length; k++) {
      const x = out[k]!;
      if (x.paste !== true) {
        glued.push(x);
        continue;
      }
      const lhs = glued.pop();
      const rhs = out[++k];
      if (lhs === undefined || rhs === undefined) throw new ExpansionStopped(`'##' at an end of ${d.name}'s body`);
      // GNU: `, ## __VA_ARGS__` drops the comma when there are no variadic arguments, else pastes nothing.
      if (lhs.kind === "punct" && lhs.text === "," && rhs.vaStart === true) {
        if (rhs.kind !== "placemarker") glued.push(lhs, rhs);
        continue;
      }
      glued.push(glue(lhs, rhs, d.name));
    }
    const result = glued.filter((t) => t.kind !== "placemarker").map((t) => ({ ...t, hs: union(t.hs, hs), vaStart: undefined as boolean | undefined }));
    if (result.length > 0) result[0] = { ...result[0]!, space: name.space };
    return result;
  }
}

function union(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  if (a.size === 0) return b;
  return new Set([...a, ...b]);
}

/** `#x`: the argument's spelling as a string literal (whitespace runs one space, `"` and `\` escaped in literals). */
export function stringify(arg: readonly Token[]): Token {
  let text = '"';
  const map: ((Point & { width?: number }) | undefined)[] = [undefined];
  arg.forEach((t, j) => {
    if (t.maybeMacro === true) throw new ExpansionStopped(`${t.text} may be a macro of an included header or of gcc itself`);
    if (j > 0 && t.space) {
      text += " ";
      map.push(undefined);
    }
    const literal = t.kind === "str" || t.kind === "chr";
    [...t.text].forEach((c, k) => {
      const at = charPoint(t, k) ?? t.anchor;
      if (literal && (c === '"' || c === "\\")) {
        text += "\\";
        map.push(at);
      }
      text += c;
      map.push(at);
    });
  });
  text += '"';
  map.push(undefined);
  return { kind: "str", text, space: false, hs: EMPTY, map };
}

/** `lhs ## rhs`: one token, or the expansion stops (gcc: "does not give a valid preprocessing token"). */
function glue(lhs: Token, rhs: Token, macro: string): Token {
  if (lhs.kind === "placemarker") return rhs.kind === "placemarker" ? lhs : { ...rhs, space: lhs.space };
  if (rhs.kind === "placemarker") return lhs;
  const text = lhs.text + rhs.text;
  const t = lexAt(text, 0);
  if (t === undefined || t.start !== 0 || t.end !== text.length || t.kind === "other") throw new ExpansionStopped(`pasting "${lhs.text}" and "${rhs.text}" in ${macro} does not give a valid token`);
  // The pasted token is new: not hidden by the names its halves were hidden by (C11 6.10.3.3).
  const anchor = lhs.anchor ?? rhs.anchor;
  const pasted: Token = { kind: t.kind, text, space: lhs.space, hs: EMPTY, map: [...charPoints(lhs), ...charPoints(rhs)] };
  return anchor === undefined ? pasted : { ...pasted, anchor };
}

/** The text of adjacent plain string literals (C's phase 6) and where each character is; undefined if `ts` is anything else. */
export function concatenate(ts: readonly Token[]): { text: string; pos: ((Point & { width?: number }) | undefined)[] } | undefined {
  if (ts.length === 0) return undefined;
  let text = "";
  const pos: ((Point & { width?: number }) | undefined)[] = [];
  for (const t of ts) {
    if (t.kind !== "str" || !t.text.startsWith('"')) return undefined;
    const s = t.text;
    for (let k = 1; k < s.length - 1; ) {
      if (s[k] !== "\\") {
        text += s[k];
        pos.push(charPoint(t, k) ?? t.anchor);
        k++;
        continue;
      }
      const esc = /^\\(?:[0-7]{1,3}|x[0-9a-fA-F]+|.)/.exec(s.slice(k, k + 12));
      if (esc === null) return undefined;
      text += decodeEscape(esc[0]);
      pos.push(charPoint(t, k) ?? t.anchor);
      k += esc[0].length;
    }
  }
  return { text, pos };
}

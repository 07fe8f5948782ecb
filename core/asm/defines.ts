// cpp #define expansion for analysing .S files from text alone: object-like and function-like macros are
// replaced on each line (the line count never changes), and every replacement remembers which columns of
// the source it came from, so a site found in the expanded text maps back to the exact source columns.

import { MAX_LINE_LENGTH } from "./line.js";
import { alternativeTruth, constantValue, definedTruth, evaluateCondition, knownBeforeFirstLine, takenAfter, type Truth } from "./cpp.js";

export interface CppMacro {
  name: string;
  /** Parameter names for a function-like macro; undefined for an object-like one. */
  params?: string[];
  variadic?: boolean;
  body: string;
  /** Where it was defined (file path or "" for the document itself) and 0-based line. */
  file: string;
  line: number;
}

export type DefineTable = Map<string, CppMacro>;

/** One replaced stretch of a line: source columns [start, end) became expanded columns [newStart, newEnd). */
export interface Replacement {
  start: number;
  end: number;
  newStart: number;
  newEnd: number;
  macro: string;
}

export interface ExpandedLine {
  text: string;
  replacements: Replacement[];
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;
const MAX_DEPTH = 32;

/**
 * Characters one source line's expansion may produce, nested expansions included (a line of the
 * parser's longest through the deepest nesting). The depth limit alone let macros that each use the
 * one before twice grow exponentially (24 such #defines: 20 s and a gigabyte for one line). Past it,
 * or once the line is longer than the parser takes, the rest is not expanded and the line is handed
 * on longer than the parser's limit, so that it says the line is not analysed.
 */
const EXPANSION_BUDGET = MAX_DEPTH * MAX_LINE_LENGTH;
let budget = Number.POSITIVE_INFINITY;

/**
 * What the lines of one file may produce together: twice one line's budget. Each line's own budget
 * alone let a file of many such lines cost about 0.7 s per line on every rebuild. Once it is spent,
 * every line that uses a macro gets the not-analysed warning (AsmAnalysis then rebuilds on each edit,
 * so that what it shows stays what a fresh analysis shows).
 */
export const FILE_EXPANSION_BUDGET = 2 * EXPANSION_BUDGET;

/** Characters a file's expansion may still produce (see FILE_EXPANSION_BUDGET). */
export interface ExpansionBudget {
  left: number;
}

/** Parses the text of a `#define` (after the word define, continuations already joined). */
export function parseDefine(args: string, file: string, line: number): CppMacro | undefined {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?/.exec(args);
  if (m === null) return undefined;
  const macro: CppMacro = { name: m[1], body: args.slice(m[0].length).trim(), file, line };
  if (m[2] !== undefined) {
    const params = m[3].split(",").map((p) => p.trim()).filter((p) => p.length > 0);
    if (params.length > 0 && params[params.length - 1].endsWith("...")) {
      macro.variadic = true;
      const last = params.pop()!.slice(0, -3).trim();
      params.push(last === "" ? "__VA_ARGS__" : last);
    }
    macro.params = params;
  }
  return macro;
}

/**
 * Collects #define/#undef of a file's lines in order (continuation lines joined). Later definitions
 * win; a branch cpp surely drops (#ifndef __ASSEMBLY__ around a header's C, #ifdef __APPLE__) defines
 * nothing, as in the build. A condition this cannot settle keeps every branch.
 */
export function collectDefines(lines: readonly string[], file: string, into: DefineTable = new Map()): DefineTable {
  const defined = new Map<string, boolean>();
  const values = new Map<string, number>();
  knownBeforeFirstLine(defined, values);
  for (const [name, d] of into) {
    defined.set(name, true);
    const v = d.params === undefined ? constantValue(d.body, values) : undefined;
    if (v !== undefined) values.set(name, v);
  }
  const stack: { taken: Truth; parentSkipped: boolean }[] = [];
  let skipping = false;
  const truthOf = (directive: string, args: string): Truth => (directive === "if" || directive === "elif" ? evaluateCondition(args, defined, values) : definedTruth(directive, args, defined));
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i];
    if (t.indexOf("#") < 0) continue;
    const m = /^\s*#\s*(define|undef|if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b(.*)$/.exec(t);
    if (m === null) continue;
    const directive = m[1];
    let args = m[2];
    const first = i;
    while (args.endsWith("\\") && i + 1 < lines.length) args = args.slice(0, -1) + " " + lines[++i];
    args = stripComments(args);
    switch (directive) {
      case "if":
      case "ifdef":
      case "ifndef": {
        const c: Truth = skipping ? 0 : truthOf(directive, args);
        stack.push({ taken: c, parentSkipped: skipping });
        skipping = skipping || c === 0;
        continue;
      }
      case "elif":
      case "elifdef":
      case "elifndef":
      case "else": {
        const top = stack[stack.length - 1];
        if (top === undefined) continue;
        const c = alternativeTruth(top.taken, directive === "else" ? undefined : truthOf(directive, args));
        top.taken = takenAfter(top.taken, c);
        skipping = top.parentSkipped || c === 0;
        continue;
      }
      case "endif":
        skipping = stack.pop()?.parentSkipped ?? false;
        continue;
    }
    if (skipping) continue;
    if (directive === "undef") {
      const name = /^\s*([A-Za-z_]\w*)/.exec(args);
      if (name) {
        into.delete(name[1]);
        defined.set(name[1], false);
        values.delete(name[1]);
      }
    } else {
      const d = parseDefine(args, file, first);
      if (d !== undefined) {
        into.set(d.name, d);
        defined.set(d.name, true);
        const v = d.params === undefined ? constantValue(d.body, values) : undefined;
        if (v !== undefined) values.set(d.name, v);
        else values.delete(d.name);
      }
    }
  }
  return into;
}

function stripComments(s: string): string {
  return s.replace(/\/\*.*?\*\//g, " ").replace(/\/\/.*$/, "");
}

/** Splits `(a, (b, c), d)` starting at the '(' at `open`; returns the arguments and the index after ')'. */
function readArguments(s: string, open: number): { args: string[]; end: number } | undefined {
  let depth = 0;
  let cur = "";
  const args: string[] = [];
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "(") {
      if (depth++ > 0) cur += c;
    } else if (c === ")") {
      if (--depth === 0) {
        args.push(cur.trim());
        return { args: args.length === 1 && args[0] === "" ? [] : args, end: i + 1 };
      }
      cur += c;
    } else if (c === "," && depth === 1) {
      args.push(cur.trim());
      cur = "";
    } else if (c === '"' || c === "'") {
      const j = skipQuoted(s, i);
      cur += s.slice(i, j);
      i = j - 1;
    } else cur += c;
  }
  return undefined;
}

function skipQuoted(s: string, i: number): number {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === q) return j + 1;
  }
  return s.length;
}

function substituteParams(m: CppMacro, args: string[], table: DefineTable, active: Set<string>, depth: number): string {
  const params = m.params ?? [];
  const values = new Map<string, string>();
  params.forEach((p, k) => {
    if (m.variadic && k === params.length - 1) values.set(p, args.slice(k).join(", "));
    else values.set(p, args[k] ?? "");
  });
  let body = m.body;
  // GNU cpp: `, ## args` loses its comma when the variadic argument is empty or left out.
  const va = m.variadic ? params[params.length - 1] : undefined;
  if (va !== undefined && values.get(va)!.trim() === "") body = body.replace(new RegExp(`,\\s*##\\s*${va}\\b`, "g"), "");
  // #param → "text"; a ## b → ab; other params are fully expanded before substitution (as cpp does).
  const pasted = body;
  body = body.replace(/#\s*([A-Za-z_]\w*)/g, (all, p: string, at: number) => {
    if (pasted[at - 1] === "#" || pasted[at + 1] === "#") return all;
    return values.has(p) ? JSON.stringify(values.get(p)) : all;
  });
  body = body.replace(IDENT, (id) => (values.has(id) ? `\u0000${expandText(values.get(id)!, table, active, depth + 1)}\u0000` : id));
  body = body.replace(/\s*##\s*/g, "").replace(/\u0000/g, "");
  return body;
}

/** Expands every macro in a piece of text (no position tracking; used inside replacements). */
export function expandText(text: string, table: DefineTable, active: Set<string> = new Set(), depth = 0): string {
  if (depth > MAX_DEPTH || table.size === 0 || budget <= 0) return text;
  let out = "";
  let last = 0;
  IDENT.lastIndex = 0;
  const re = new RegExp(IDENT.source, "g");
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const name = m[0];
    const def = table.get(name);
    if (def === undefined || active.has(name)) continue;
    let end = m.index + name.length;
    let replacement: string;
    if (def.params !== undefined) {
      let k = end;
      while (text[k] === " " || text[k] === "\t") k++;
      if (text[k] !== "(") continue;
      const r = readArguments(text, k);
      if (r === undefined) continue;
      end = r.end;
      replacement = substituteParams(def, r.args, table, active, depth);
    } else replacement = def.body;
    active.add(name);
    replacement = expandText(replacement, table, active, depth + 1);
    active.delete(name);
    budget -= replacement.length;
    out += text.slice(last, m.index) + replacement;
    last = end;
    re.lastIndex = end;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * The line as cpp hands it to the assembler as far as `//` goes: the comment blanked (same length, so
 * columns stay), else the text itself. Strings and char constants closed on the line and block comments
 * closed on it are stepped over (an unclosed quote is one character to cpp in assembler mode). A `*\/`
 * after the `//` may close a block comment opened on an earlier line, which one line cannot tell: such a
 * line is left as it is.
 */
export function blankLineComment(text: string): string {
  if (text.indexOf("//") < 0 || /^\s*#/.test(text)) return text;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== c) j += text.charCodeAt(j) === 92 ? 2 : 1;
      i = j < n ? j + 1 : i + 1;
      continue;
    }
    if (c === 35) return text; // gas's comment: the assembler reads nothing after it anyway
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const j = text.indexOf("*/", i + 2);
      if (j < 0) return text;
      i = j + 2;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 47) return text.indexOf("*/", i + 2) >= 0 ? text : text.slice(0, i) + " ".repeat(n - i);
    i++;
  }
  return text;
}

/**
 * Expands the macros used on one source line. Comments (`/* *\/`, `//`, and gas's `#` comments) and
 * strings are left alone; preprocessor lines are not expanded.
 */
export function expandLine(text: string, table: DefineTable, file?: ExpansionBudget): ExpandedLine | undefined {
  if (table.size === 0) return undefined;
  if (/^\s*#/.test(text)) return undefined;
  const given = file === undefined ? EXPANSION_BUDGET : Math.min(EXPANSION_BUDGET, file.left);
  budget = given;
  try {
    const x = expandUses(text, table);
    if (budget <= 0 && x !== undefined && x.text.length <= MAX_LINE_LENGTH) x.text = x.text.padEnd(MAX_LINE_LENGTH + 1);
    return x;
  } finally {
    if (file !== undefined) file.left -= given - budget;
    budget = Number.POSITIVE_INFINITY;
  }
}

function expandUses(text: string, table: DefineTable): ExpandedLine | undefined {
  let out = "";
  let last = 0;
  const replacements: Replacement[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 || c === 39) {
      i = skipQuoted(text, i);
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const j = text.indexOf("*/", i + 2);
      i = j < 0 ? n : j + 2;
      continue;
    }
    if ((c === 47 && text.charCodeAt(i + 1) === 47) || c === 35) break;
    if (!isIdentStart(c) || (i > 0 && isIdentPart(text.charCodeAt(i - 1)))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isIdentPart(text.charCodeAt(j))) j++;
    const name = text.slice(i, j);
    const def = table.get(name);
    if (def === undefined) {
      i = j;
      continue;
    }
    let end = j;
    let replacement: string;
    if (def.params !== undefined) {
      let k = j;
      while (text[k] === " " || text[k] === "\t") k++;
      const r = text[k] === "(" ? readArguments(text, k) : undefined;
      if (r === undefined) {
        i = j;
        continue;
      }
      end = r.end;
      replacement = substituteParams(def, r.args, table, new Set([name]), 0);
    } else replacement = def.body;
    replacement = expandText(replacement, table, new Set([name]), 1);
    budget -= replacement.length;
    out += text.slice(last, i);
    replacements.push({ start: i, end, newStart: out.length, newEnd: out.length + replacement.length, macro: name });
    out += replacement;
    if (out.length > MAX_LINE_LENGTH) budget = 0;
    last = end;
    i = end;
  }
  if (replacements.length === 0) return undefined;
  return { text: out + text.slice(last), replacements };
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

/** Maps a column range of the expanded line back to source columns. */
export function mapToSource(replacements: readonly Replacement[], start: number, end: number): { start: number; end: number } {
  return { start: mapColumn(replacements, start, false), end: mapColumn(replacements, end, true) };
}

function mapColumn(replacements: readonly Replacement[], col: number, isEnd: boolean): number {
  // The replacements are in order and do not overlap: the last one starting before col (at or
  // before it, for a start column) decides. Found by binary search: a line of thousands of macro
  // uses maps every site and token through it.
  let lo = 0;
  let hi = replacements.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = replacements[mid].newStart;
    if (s < col || (!isEnd && s === col)) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return col;
  const r = replacements[lo - 1];
  if (col < r.newEnd || (isEnd && col === r.newEnd)) return isEnd ? r.end : r.start;
  return col + r.end - r.newEnd;
}

/** The first of the (ordered, non-overlapping) replacements that overlaps columns [start, end) of the expanded line. */
export function replacementOver(replacements: readonly Replacement[], start: number, end: number): Replacement | undefined {
  let lo = 0;
  let hi = replacements.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (replacements[mid].newEnd <= start) lo = mid + 1;
    else hi = mid;
  }
  const r = replacements[lo];
  return r !== undefined && end > r.newStart ? r : undefined;
}

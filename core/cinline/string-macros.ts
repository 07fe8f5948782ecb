// String macros in asm templates. Kernel headers name instruction strings: `#define CLI "cli"`,
// `asm volatile(CLI)`, `asm("pushf; " CLI)`. Without the preprocessor tree-sitter sees an identifier where
// the grammar wants a string (an ERROR node, or an identifier inside the concatenation), so the site was
// either missed silently or reported as unreadable. When the file itself defines the name as nothing but
// string literals, the template's text is settled: each use inside an asm template is replaced by a
// placeholder literal of the same width (columns stay put; a one-character name's `""` is one wider, and
// the columns after it are mapped back), the text is parsed again, and the template reader pastes the
// macro's text in at the placeholder.

import type { Node, Tree } from "web-tree-sitter";
import type { CParser } from "./parser.js";
import type { Conditions } from "./conditional.js";
import { decodeEscape, type FilePoint } from "./template.js";
import { cachedQuery, NestedRanges } from "./tree-ranges.js";
import { concatenate, Expander, ExpansionStopped, lexAt, macroDef, type MacroDefs, type Point, type Token } from "./macro-expansion.js";

/** A placeholder literal standing for a macro's text, keyed by its position (`row:column`). */
export interface Placeholder {
  name: string;
  text: string;
  /** Width of the name in the source (the placeholder's width too). */
  width: number;
  /** Where each character of `text` is in the text given (a function-like macro's argument, else its name). */
  pos?: FilePoint[];
}

export type Placeholders = Map<string, Placeholder>;

export const pointKey = (row: number, column: number): string => `${row}:${column}`;

/** Text that begins with the asm keyword (in any of GCC's spellings). */
export const ASM_START = /^\s*(?:asm|__asm__|__asm)\b/;

/**
 * Object-like macros the file defines as string literals (possibly pasting other such macros), with their
 * decoded text. A name defined twice with different values in branches the file does not settle, or
 * `#undef`ined anywhere, is left out: which text the compiler sees is not known.
 */
export function stringMacros(root: Node, conditions: Conditions | undefined): Map<string, string> {
  const raw = new Map<string, string | null>();
  for (const d of root.descendantsOfType(["preproc_def", "preproc_function_def", "preproc_call"])) {
    if (d === null || conditions?.dropped(d)) continue;
    if (d.type === "preproc_call") {
      if (d.childForFieldName("directive")?.text === "#undef") {
        const arg = d.childForFieldName("argument")?.text.trim();
        if (arg) raw.set(arg, null);
      }
      continue;
    }
    const name = d.childForFieldName("name")?.text;
    if (!name) continue;
    // tree-sitter-c cuts a #define short at a comment followed by a line continuation: the value it
    // gives would be a prefix of the real one.
    const value = d.type === "preproc_def" && !d.hasError ? (d.childForFieldName("value")?.text ?? "") : null;
    const prior = raw.get(name);
    raw.set(name, prior === undefined || prior === value ? value : null);
  }
  const out = new Map<string, string>();
  const resolving = new Set<string>();
  const resolve = (name: string): string | undefined => {
    if (out.has(name)) return out.get(name);
    const value = raw.get(name);
    // Self reference (cpp would stop there, leaving the bare name): not a string.
    if (value === undefined || value === null || resolving.has(name)) return undefined;
    resolving.add(name);
    const text = readStrings(value, resolve);
    resolving.delete(name);
    if (text !== undefined) out.set(name, text);
    return text;
  };
  for (const name of raw.keys()) resolve(name);
  return out;
}

/**
 * The text of a macro value made only of string literals and names of other string macros (comments and
 * line continuations allowed); undefined for anything else (a number, an expression, a prefixed literal).
 */
export function readStrings(value: string, macro: (name: string) => string | undefined): string | undefined {
  const s = value.replace(/\\\r?\n/g, "");
  let text = "";
  let pieces = 0;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (s.startsWith("/*", i)) {
      const j = s.indexOf("*/", i + 2);
      if (j < 0) return undefined;
      i = j + 2;
    } else if (s.startsWith("//", i)) {
      break;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return undefined;
        const d = s[i]!;
        if (d === '"') break;
        if (d !== "\\") {
          text += d;
          i++;
          continue;
        }
        const esc = /^\\(?:[0-7]{1,3}|x[0-9a-fA-F]+|.)/.exec(s.slice(i, i + 12));
        if (esc === null) return undefined;
        text += decodeEscape(esc[0]);
        i += esc[0].length;
      }
      i++;
      pieces++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))!;
      const pasted = macro(m[0]);
      if (pasted === undefined) return undefined;
      text += pasted;
      i += m[0].length;
      pieces++;
    } else {
      return undefined;
    }
  }
  return pieces > 0 ? text : undefined;
}

/**
 * The identifiers that sit where an asm template's string goes: in the concatenation, or in the ERROR
 * tree-sitter makes of `asm(NAME)`. A query, run natively in one pass: asking each identifier for its
 * parent costs a descent from the root each (see tree-ranges.ts).
 */
function templateIdentifiers(cp: CParser, root: Node): Node[] {
  const q = cachedQuery(cp.language, "template identifiers", () => "(gnu_asm_expression (concatenated_string (identifier) @id)) (ERROR (identifier) @id) @error");
  const out = new Map<number, Node>();
  for (const m of q.matches(root)) {
    const error = m.captures.find((c) => c.name === "error");
    if (error !== undefined && !ASM_START.test(error.node.text)) continue;
    for (const c of m.captures) if (c.name === "id") out.set(c.node.id, c.node);
  }
  return [...out.values()];
}

/**
 * Columns a re-parsed text gained over the text given, per row: a placeholder for a one-character name
 * (`C` -> `""`) is a column wider than the name. A point at or right of `at` (a re-parsed column) is `by`
 * columns further right than in the text given.
 */
export type ColumnShifts = Map<number, { at: number; by: number }[]>;

/** `column` of the re-parsed text on `row`, in the text given. */
export function givenColumn(row: number, column: number, shifts: ColumnShifts | undefined): number {
  const list = shifts?.get(row);
  if (list === undefined) return column;
  let c = column;
  for (const s of list) if (column >= s.at) c -= s.by;
  return c;
}

export interface Pasted {
  tree: Tree;
  placeholders?: Placeholders;
  columns?: ColumnShifts;
  /** Macro uses in templates that could not be expanded, and why (positions in the text given). */
  notes?: { at: FilePoint; message: string }[];
}

/** What expanding the file's macros in templates needs. */
export interface MacroCalls {
  defs: MacroDefs;
  /** The file includes headers: a name it does not define may be a macro. */
  headers: boolean;
  /** The text given is the file: a macro is in force from its #define's row on (else: a body, expanded later). */
  file: boolean;
  /** A #define body's parameters: a call using them has its text only where that macro is used. */
  params?: ReadonlySet<string>;
}

/**
 * The tree to read: `tree` itself when no string macro is used in an asm template, else the parse of
 * `text` with each such use replaced by a placeholder literal (then `tree` is deleted). A placeholder is
 * as wide as the name (columns stay put), except for a one-character name: `""` is a column wider,
 * recorded in `columns`.
 */
export function pasteStringMacros(cp: CParser, text: string, tree: Tree, macros: ReadonlyMap<string, string>, calls?: MacroCalls, conditions?: Conditions): Pasted {
  if (macros.size === 0 && (calls === undefined || calls.defs.size === 0)) return { tree };
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const edits: Edit[] = [];
  for (const id of macros.size > 0 ? templateIdentifiers(cp, tree.rootNode) : []) {
    const pasted = macros.get(id.text);
    if (pasted === undefined) continue;
    const { row, column } = id.startPosition;
    // Columns are UTF-16 units, as JS strings index; tree-sitter's columns here are too (parsed from a JS string).
    const at = lineStarts[row]! + column;
    edits.push({ at, end: at + id.text.length, row, column, name: id.text, pasted });
  }
  const notes: { at: FilePoint; message: string }[] = [];
  if (calls !== undefined && calls.defs.size > 0) {
    const expanded = macroCallEdits(text, lineStarts, tree, calls, conditions, new Set(edits.map((e) => e.at)), notes);
    // A string macro inside a call's arguments is the call's to expand (`ID(CLI)`).
    const spans = new NestedRanges(expanded.map((c) => [c.at + 1, c.end] as const));
    const inCall = (e: Edit): boolean => spans.holds(e.at);
    edits.splice(0, edits.length, ...edits.filter((e) => !inCall(e)), ...expanded);
  }
  if (edits.length === 0) return notes.length > 0 ? { tree, notes } : { tree };
  const placeholders: Placeholders = new Map();
  const columns: ColumnShifts = new Map();
  let out = "";
  let last = 0;
  let row = -1;
  let gained = 0;
  for (const e of edits.sort((a, b) => a.at - b.at)) {
    if (e.row !== row) {
      row = e.row;
      gained = 0;
    }
    // A call over several lines: the placeholder on its first, the rest blanked (rows stay put).
    const spanned = text.slice(e.at, e.end);
    const firstLine = spanned.split("\n", 1)[0]!;
    const width = firstLine.length;
    const column = e.column + gained;
    const placeholder: Placeholder = { name: e.name, text: e.pasted, width };
    if (e.pos !== undefined) placeholder.pos = e.pos;
    placeholders.set(pointKey(e.row, column), placeholder);
    out += text.slice(last, e.at) + '"' + "_".repeat(Math.max(0, width - 2)) + '"' + spanned.slice(width).replace(/[^\n]/g, " ");
    last = e.end;
    if (width < 2) {
      const list = columns.get(e.row) ?? [];
      list.push({ at: column + 1, by: 2 - width });
      columns.set(e.row, list);
      gained += 2 - width;
    }
  }
  const reparsed = cp.parser.parse(out + text.slice(last));
  if (reparsed === null) return { tree };
  tree.delete();
  const result: Pasted = { tree: reparsed, placeholders };
  if (columns.size > 0) result.columns = columns;
  if (notes.length > 0) result.notes = notes;
  return result;
}

interface Edit {
  /** Offsets of the macro use in the text given. */
  at: number;
  end: number;
  row: number;
  column: number;
  name: string;
  pasted: string;
  pos?: FilePoint[];
}

const ASM_QUALIFIERS = new Set(["asm", "__asm__", "__asm", "volatile", "__volatile__", "__volatile", "inline", "__inline__", "__inline", "goto"]);

/**
 * Macros of the file used in asm templates (`asm(CR(3) : ...)`, `"int $" __stringify(0x80)`, an
 * object-like macro whose value is such a call) whose expansion is string literals: their text and
 * where each character is. A use that cannot be expanded is left as it is (its statement is reported
 * unanalysed); when the reason is worth telling, `notes` gets it.
 */
function macroCallEdits(text: string, lineStarts: readonly number[], tree: Tree, calls: MacroCalls, conditions: Conditions | undefined, taken: ReadonlySet<number>, notes: { at: FilePoint; message: string }[]): Edit[] {
  const pointAt = (i: number): Point => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return { row: lo, column: i - lineStarts[lo]! };
  };
  const edits: Edit[] = [];
  for (const start of asmKeywords(text, calls.file)) {
    const at = pointAt(start);
    // Found by a descent from the root: only asked for when the file drops anything at all.
    const node = conditions?.dropsAny(tree) === true ? tree.rootNode.descendantForPosition(at) : null;
    if (conditions !== undefined && node !== null && conditions.dropped(node)) continue;
    // `asm volatile goto (`: the template runs from the parenthesis to the first `:` or `)` outside parentheses.
    let t = lexAt(text, start);
    while (t !== undefined && t.kind === "id" && ASM_QUALIFIERS.has(text.slice(t.start, t.end))) t = lexAt(text, t.end);
    if (t === undefined || text.slice(t.start, t.end) !== "(") continue;
    let i = t.end;
    for (let guard = 0; guard < 100000; guard++) {
      const u = lexAt(text, i);
      if (u === undefined) break;
      const word = text.slice(u.start, u.end);
      if (u.kind === "punct" && (word === ":" || word === ")" || word === ";" || word === "{" || word === "}")) break;
      i = u.end;
      if (u.kind !== "id" || taken.has(u.start) || !calls.defs.has(word)) continue;
      const use = pointAt(u.start);
      const expander = new Expander(calls.defs, calls.file ? use.row : Number.POSITIVE_INFINITY, calls.headers);
      if (!expander.isMacro(word)) continue;
      const name: Token = { kind: "id", text: word, space: false, hs: new Set(), at: use };
      const tokens = [name];
      let end = u.end;
      if (expander.isFunctionLike(word)) {
        const open = lexAt(text, u.end);
        if (open === undefined || text.slice(open.start, open.end) !== "(") continue;
        let depth = 0;
        let close: number | undefined;
        for (let v = lexAt(text, u.end), n = 0; v !== undefined && n < 20000; v = lexAt(text, v.end), n++) {
          const w = text.slice(v.start, v.end);
          tokens.push({ kind: v.kind, text: w, space: v.space, hs: new Set(), at: pointAt(v.start) });
          if (w === "(") depth++;
          else if (w === ")" && --depth === 0) {
            close = v.end;
            break;
          }
        }
        if (close === undefined) {
          notes.push({ at: { ...use, width: word.length }, message: `the call of ${word} has no closing parenthesis` });
          break;
        }
        end = close;
      }
      i = end;
      // In a #define body, a call using that macro's parameters has its text only where the macro is used.
      if (calls.params !== undefined && tokens.some((x) => (x.kind === "id" && calls.params!.has(x.text)) || x.text === "#" || x.text === "##")) continue;
      let expanded: Token[];
      try {
        expanded = expander.expand(tokens);
      } catch (e) {
        if (!(e instanceof ExpansionStopped)) throw e;
        notes.push({ at: { ...use, width: word.length }, message: `${word} is not expanded: ${e.message}` });
        continue;
      }
      const strings = concatenate(expanded);
      if (strings === undefined) continue;
      const named: FilePoint = { ...use, width: word.length };
      edits.push({ at: u.start, end, row: use.row, column: use.column, name: word, pasted: strings.text, pos: strings.pos.map((p) => p ?? named) });
    }
  }
  return edits;
}

/**
 * Where the asm keyword is in the code of `text` (not in comments, literals or, with `directives`, in
 * directive lines: #define bodies are read on their own). Found in the text, not the tree: a macro call
 * in one template can make tree-sitter lose the asm statements after it.
 */
function asmKeywords(text: string, directives: boolean): number[] {
  const out: number[] = [];
  for (let t = lexAt(text, 0); t !== undefined; t = lexAt(text, t.end)) {
    if (t.kind === "id") {
      const w = text.slice(t.start, t.end);
      if (w === "asm" || w === "__asm__" || w === "__asm") out.push(t.start);
      continue;
    }
    if (!directives || text[t.start] !== "#" || !/(?:^|\n)[ \t]*$/.test(text.slice(Math.max(0, t.start - 200), t.start))) continue;
    // A directive: skip its logical line (its comments are blanked in the parser's text).
    let e = t.start;
    for (;;) {
      const nl = text.indexOf("\n", e);
      if (nl < 0) return out;
      e = nl + 1;
      if (text[nl - 1] !== "\\" && !(text[nl - 1] === "\r" && text[nl - 2] === "\\")) break;
    }
    // Resume at the next line: lexAt from e - 1 sees the line break as a space.
    t = { ...t, end: e - 1 };
  }
  return out;
}

/**
 * The file's macros (object-like and function-like), for expansion. A name defined twice differently in
 * branches the file does not settle, or `#undef`ined anywhere, is null: its text is not known. Read from
 * the text's directive lines, not the tree: tree-sitter's recovery from a macro call in a template can
 * swallow the #define lines after it.
 */
export function macroDefinitions(text: string, root: Node, conditions: Conditions | undefined): MacroDefs {
  const defs: MacroDefs = new Map();
  const directive = /^[ \t]*#[ \t]*(define|undef)[ \t]+([A-Za-z_]\w*)((?:\([^)]*\))?)(.*)$/;
  let row = 0;
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k = row) {
    // The logical line: continuation lines joined (kept as line breaks for the body's sake).
    let line = lines[k]!;
    row = k + 1;
    while (/\\\r?$/.test(line) && row < lines.length) line += "\n" + lines[row++]!;
    if (!/^[ \t]*#/.test(line)) continue;
    const m = directive.exec(line.replace(/\\\r?\n/g, "  "));
    if (m === null) continue;
    const node = root.descendantForPosition({ row: k, column: line.indexOf("#") });
    if (node !== null && (node.type === "comment" || node.type === "string_content" || conditions?.dropped(node))) continue;
    const [, verb, name, params, value] = m as unknown as [string, string, string, string, string];
    if (verb === "undef") {
      defs.set(name, null);
      continue;
    }
    const def = macroDef(name, params === "" ? undefined : params, value, k);
    const prior = defs.get(name);
    defs.set(name, def === undefined || prior === null || (prior !== undefined && !sameDef(prior, def)) ? null : (prior ?? def));
  }
  return defs;
}

function sameDef(a: NonNullable<ReturnType<typeof macroDef>>, b: NonNullable<ReturnType<typeof macroDef>>): boolean {
  const spell = (d: typeof a): string => `${d.params?.join(",") ?? "-"}${d.variadic}:${d.body.map((t) => (t.space ? " " : "") + t.text).join("")}`;
  return spell(a) === spell(b);
}

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
import { decodeEscape } from "./template.js";

/** A placeholder literal standing for a macro's text, keyed by its position (`row:column`). */
export interface Placeholder {
  name: string;
  text: string;
  /** Width of the name in the source (the placeholder's width too). */
  width: number;
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

/** Whether an identifier sits where an asm template's string goes (in the concatenation, or in the ERROR tree-sitter makes of `asm(NAME)`). */
function inTemplate(id: Node): boolean {
  const p = id.parent;
  if (p === null) return false;
  if (p.type === "concatenated_string") return p.parent?.type === "gnu_asm_expression";
  return p.type === "ERROR" && ASM_START.test(p.text);
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
}

/**
 * The tree to read: `tree` itself when no string macro is used in an asm template, else the parse of
 * `text` with each such use replaced by a placeholder literal (then `tree` is deleted). A placeholder is
 * as wide as the name (columns stay put), except for a one-character name: `""` is a column wider,
 * recorded in `columns`.
 */
export function pasteStringMacros(cp: CParser, text: string, tree: Tree, macros: ReadonlyMap<string, string>): Pasted {
  if (macros.size === 0) return { tree };
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const edits: { at: number; row: number; column: number; name: string; pasted: string }[] = [];
  for (const id of tree.rootNode.descendantsOfType("identifier")) {
    if (id === null) continue;
    const pasted = macros.get(id.text);
    if (pasted === undefined || !inTemplate(id)) continue;
    const { row, column } = id.startPosition;
    // Columns are UTF-16 units, as JS strings index; tree-sitter's columns here are too (parsed from a JS string).
    edits.push({ at: lineStarts[row]! + column, row, column, name: id.text, pasted });
  }
  if (edits.length === 0) return { tree };
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
    const width = e.name.length;
    const column = e.column + gained;
    placeholders.set(pointKey(e.row, column), { name: e.name, text: e.pasted, width });
    out += text.slice(last, e.at) + '"' + "_".repeat(Math.max(0, width - 2)) + '"';
    last = e.at + width;
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
  return columns.size > 0 ? { tree: reparsed, placeholders, columns } : { tree: reparsed, placeholders };
}

// The order gcc emits asm statements in. gcc -S writes each asm statement where its code is: the file's
// own in file order, a #define's wherever the macro is used (once per use; a macro used in another
// macro's body at each use of that one). An `.afterburn_noannotate` or a `.macro` in one template is in
// force in the templates emitted after it, so the templates are read in this order, not in file order.

import type { Node } from "web-tree-sitter";
import type { Conditions } from "./conditional.js";
import { NestedRanges, rangeOf } from "./tree-ranges.js";

export interface Point {
  row: number;
  column: number;
}

/** A macro named at `at` (a file position). */
export interface MacroUse {
  name: string;
  at: Point;
}

export interface MacroUses {
  /** Uses in the file's code (not in #define bodies), in file order. */
  file: MacroUse[];
  /** Uses inside each macro's body. */
  bodies: Map<string, MacroUse[]>;
}

/** What the order is made of: an asm statement's file position and, for one in a #define body, the macro's name. */
export interface Placed {
  range: { line: number; start: number };
  macro?: string;
}

export interface Emission {
  /** Indices of the statements, in emission order; a macro's statements once per use. */
  order: number[];
  /** Statements of macros never used here (gcc emits nothing for them; they are still read, after the rest). */
  unused: number[];
  /** The use in the file's code where expansion stopped, past MAX_EXPANDED. */
  stoppedAt?: MacroUse;
}

/** Statements emitted from macro uses at most: uses of uses of macros multiply, and a file could ask for millions. */
export const MAX_EXPANDED = 5000;

const before = (a: Point, b: Point): number => a.row - b.row || a.column - b.column;

/** Appends to the list under `key` (copying the list on every append was quadratic in a macro's statements). */
function pushTo<T>(map: Map<string, T[]>, key: string, ...items: T[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, items);
  else list.push(...items);
}

/**
 * Where the macros in `names` are used: identifiers in the code of `root` (not the names of #defines,
 * #ifdef, defined() or #if conditions, not in dropped branches), and words in every #define's body.
 * `filePoint` maps a point of `root` to the file.
 */
export function macroUses(root: Node, names: ReadonlySet<string>, filePoint: (p: Point) => Point, conditions: Conditions | undefined): MacroUses {
  const file: MacroUse[] = [];
  const bodies = new Map<string, MacroUse[]>();
  if (names.size === 0) return { file, bodies };
  const directives = directiveParts(root);
  for (const id of root.descendantsOfType("identifier")) {
    if (id === null || !names.has(id.text) || directives.holds(id.startIndex) || conditions?.dropped(id)) continue;
    file.push({ name: id.text, at: filePoint(id.startPosition) });
  }
  for (const d of root.descendantsOfType(["preproc_def", "preproc_function_def"])) {
    if (d === null || conditions?.dropped(d)) continue;
    const value = d.childForFieldName("value");
    const name = d.childForFieldName("name")?.text;
    if (value === null || name === undefined) continue;
    const params = new Set((d.childForFieldName("parameters")?.namedChildren ?? []).map((p) => p?.text));
    const uses = wordsIn(value.text, names, params, filePoint(value.startPosition));
    if (uses.length > 0) pushTo(bodies, name, ...uses);
  }
  file.sort((a, b) => before(a.at, b.at));
  return { file, bodies };
}

/**
 * Where identifiers are not code the preprocessor expands: directives' names, parameters and bodies,
 * `defined(X)`, other directives' arguments, and the conditions of #if/#ifdef/#elif.
 */
function directiveParts(root: Node): NestedRanges {
  const ranges: [number, number][] = [];
  // One walk of the tree for all of them (each descendantsOfType walks the whole tree).
  for (const n of root.descendantsOfType(["preproc_def", "preproc_function_def", "preproc_params", "preproc_defined", "preproc_call", "preproc_ifdef", "preproc_elifdef", "preproc_if", "preproc_elif"])) {
    if (n === null) continue;
    const part = n.type === "preproc_ifdef" || n.type === "preproc_elifdef" ? n.childForFieldName("name") : n.type === "preproc_if" || n.type === "preproc_elif" ? n.childForFieldName("condition") : n;
    if (part) ranges.push(rangeOf(part));
  }
  return new NestedRanges(ranges);
}

/** Uses of `names` in a #define body starting at `at` (strings, comments, parameters, `#x` and `x##y` are not uses). */
function wordsIn(body: string, names: ReadonlySet<string>, params: ReadonlySet<string | undefined>, at: Point): MacroUse[] {
  const out: MacroUse[] = [];
  const word = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\/\*[\s\S]*?\*\/|\/\/[^\n]*|(#\s*)?\b([A-Za-z_]\w*)\b(\s*##)?/g;
  for (let m = word.exec(body); m !== null; m = word.exec(body)) {
    const name = m[2];
    if (name === undefined || m[1] !== undefined || m[3] !== undefined || !names.has(name) || params.has(name)) continue;
    if (/##\s*$/.test(body.slice(Math.max(0, m.index - 8), m.index))) continue;
    const lineStart = body.lastIndexOf("\n", m.index) + 1;
    const rows = lineStart === 0 ? 0 : body.slice(0, lineStart).split("\n").length - 1;
    out.push({ name, at: rows === 0 ? { row: at.row, column: at.column + m.index } : { row: at.row + rows, column: m.index - lineStart } });
  }
  return out;
}

/**
 * The emission order of `statements` (sorted by file position): the file's statements and macro uses in
 * file order, each use replaced by the macro's statements and the uses in its body (in body order). A
 * macro inside its own expansion is not expanded again, as cpp does.
 */
export function emissionOrder(statements: readonly Placed[], uses: MacroUses): Emission {
  type Event = { at: Point; statement?: number; use?: string };
  const fileEvents: Event[] = [];
  const bodyEvents = new Map<string, Event[]>();
  statements.forEach((s, i) => {
    const e = { at: { row: s.range.line, column: s.range.start }, statement: i };
    if (s.macro === undefined) fileEvents.push(e);
    else pushTo(bodyEvents, s.macro, e);
  });
  // Only macros that lead to asm statements matter.
  const leadsToAsm = new Set(bodyEvents.keys());
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, list] of uses.bodies) {
      if (!leadsToAsm.has(name) && list.some((u) => leadsToAsm.has(u.name))) {
        leadsToAsm.add(name);
        grew = true;
      }
    }
  }
  for (const [name, list] of uses.bodies) {
    for (const u of list) if (leadsToAsm.has(u.name)) pushTo(bodyEvents, name, { at: u.at, use: u.name });
  }
  for (const list of bodyEvents.values()) list.sort((a, b) => before(a.at, b.at));
  for (const u of uses.file) if (leadsToAsm.has(u.name)) fileEvents.push({ at: u.at, use: u.name });
  // A use and a statement never share a position; statements first all the same.
  const rank = (e: Event): number => (e.use === undefined ? 0 : 1);
  fileEvents.sort((a, b) => before(a.at, b.at) || rank(a) - rank(b));

  const order: number[] = [];
  const emitted = new Set<number>();
  const expanding = new Set<string>();
  let expanded = 0;
  let stoppedAt: MacroUse | undefined;
  // `top`: the use in the file's code being expanded (undefined for the file's own statements).
  const emit = (events: readonly Event[], top: MacroUse | undefined): void => {
    for (const e of events) {
      if (e.statement === undefined && (e.use === undefined || expanding.has(e.use))) continue;
      if (expanded >= MAX_EXPANDED && (top !== undefined || e.use !== undefined)) {
        stoppedAt ??= top ?? { name: e.use!, at: e.at };
        if (top !== undefined) return;
        continue;
      }
      if (e.statement !== undefined) {
        if (top !== undefined) expanded++;
        order.push(e.statement);
        emitted.add(e.statement);
        continue;
      }
      expanding.add(e.use!);
      emit(bodyEvents.get(e.use!) ?? [], top ?? { name: e.use!, at: e.at });
      expanding.delete(e.use!);
    }
  };
  emit(fileEvents, undefined);
  const unused = statements.map((_, i) => i).filter((i) => !emitted.has(i));
  return stoppedAt === undefined ? { order, unused } : { order, unused, stoppedAt };
}

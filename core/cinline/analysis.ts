// Sensitive instructions in C/C++ inline asm: find every asm/__asm__ statement (also inside #define
// bodies) with tree-sitter-c, decode its template, substitute GCC operand references, and classify the
// resulting assembly with the same parser and catalogue the afterburner uses. Every site maps to its
// exact file line and UTF-16 column.

import type { Node } from "web-tree-sitter";
import { parseAsm } from "../asm/parse.js";
import { findSites, type AsmSite } from "../asm/sites.js";
import { encodedInStatements, encodedSite } from "../asm/encoded.js";
import type { CodeMode, Span } from "../asm/types.js";
import { cParserIfLoaded, loadCParser, type CParser } from "./parser.js";
import { decodeEscape, substituteTemplate, type AsmOperand, type FilePoint, type SubstitutedTemplate } from "./template.js";
import { Conditions } from "./conditional.js";
import { declarationAsms } from "./tree-ranges.js";
import { parserText } from "./source.js";
import { emissionOrder, macroUses, MAX_EXPANDED, type Emission } from "./emission.js";
import { ASM_START, givenColumn, macroDefinitions, pasteStringMacros, pointKey, stringMacros, type ColumnShifts, type MacroCalls, type Pasted, type Placeholder, type Placeholders } from "./string-macros.js";

export interface CSite extends AsmSite {
  /** Document range of the instruction in the C source. */
  range: Span;
  /** Index into CAnalysisResult.statements. */
  statement: number;
}

export interface CAsmStatement {
  /** The whole asm expression in the file. */
  range: Span & { endLine: number };
  /** Template as the assembler sees it (operands substituted). */
  text: string;
  /** Extended asm (with operand lists), whose % references were substituted. */
  extended: boolean;
  goto: boolean;
  /** Name of the #define the statement sits in. */
  macro?: string;
  /** Why the template could not be read (macro calls inside it and the like). */
  unparsed?: string;
  /** Enclosing C function, when inside one. */
  functionName?: string;
  /** Just after the opening quote of the first template literal, and at the closing quote of the last. */
  templateStart?: FilePoint;
  templateEnd?: FilePoint;
}

export interface CFunction {
  name: string;
  line: number;
  start: number;
  end: number;
  endLine: number;
}

export interface CDiagnostic {
  range: Span;
  message: string;
  severity: "error" | "warning" | "info";
}

export interface CAnalysisResult {
  statements: CAsmStatement[];
  sites: CSite[];
  functions: CFunction[];
  diagnostics: CDiagnostic[];
  /** The assembly the templates make, one template after another (what the preview burns). */
  assembly: string;
  /** For each line of `assembly`: the file line it came from (-1 for separators). */
  assemblyLines: number[];
}

export interface CAnalysisOptions {
  mode?: CodeMode;
}

const ASM_WORD = /\b(?:asm|__asm__|__asm)\b/;

/**
 * The word asm in code: strings, character constants, comments and #include lines are matched first and
 * passed over (`#include <asm/msr.h>` and "see asm/page.h" are in most kernel C files and hold no asm).
 */
const ASM_IN_CODE = /"(?:[^"\\\n]|\\[\s\S])*"|'(?:[^'\\\n]|\\[\s\S])*'|\/\*[\s\S]*?\*\/|\/\/[^\n]*|#[ \t]*include\b[^\n]*|\b(asm|__asm__|__asm)\b/g;

/** Cheap test: a C file without the word asm in its code needs no parse at all. */
export function mayContainAsm(text: string): boolean {
  if (!ASM_WORD.test(text)) return false;
  ASM_IN_CODE.lastIndex = 0;
  for (let m = ASM_IN_CODE.exec(text); m !== null; m = ASM_IN_CODE.exec(text)) if (m[1] !== undefined) return true;
  return false;
}

const EMPTY = (): CAnalysisResult => ({ statements: [], sites: [], functions: [], diagnostics: [], assembly: "", assemblyLines: [] });

/** Analyses a C/C++ source (loads tree-sitter on first use when the file has asm). */
export async function analyseC(text: string, options: CAnalysisOptions = {}): Promise<CAnalysisResult> {
  if (!mayContainAsm(text)) return EMPTY();
  const parser = cParserIfLoaded() ?? (await loadCParser());
  return analyseCWith(parser, text, options);
}

/** Synchronous form once the parser is loaded. */
export function analyseCWith(cp: CParser, text: string, options: CAnalysisOptions = {}): CAnalysisResult {
  if (!mayContainAsm(text)) return EMPTY();
  const mode = options.mode ?? 32;
  const source = parserText(text);
  let tree = cp.parser.parse(source);
  if (tree === null) return EMPTY();
  try {
    // What the file settles depends on its #defines alone, the same in either tree.
    const conditions = new Conditions(tree.rootNode, mode);
    const macros = stringMacros(tree.rootNode, conditions);
    const calls: MacroCalls = { defs: macroDefinitions(source, tree.rootNode, conditions), headers: /^[ \t]*#[ \t]*include\b/m.test(source), file: true };
    const pasted = pasteStringMacros(cp, source, tree, macros, calls, conditions);
    tree = pasted.tree;
    const found: Found[] = [];
    const notes: CDiagnostic[] = [];
    const ctx: Context = { shift: undefined, macros, calls, notes, placeholders: pasted.placeholders, columns: pasted.columns };
    noteUnexpanded(pasted, ctx);
    collect(cp, tree.rootNode, found, ctx, conditions);
    // Templates in file order (the statements' order); read in the order gcc emits them.
    found.sort((a, b) => a.statement.range.line - b.statement.range.line || a.statement.range.start - b.statement.range.start);
    const inMacros = found.some((f) => f.statement.macro !== undefined);
    const uses = inMacros ? macroUses(tree.rootNode, macroNames(tree.rootNode, conditions), (p) => filePoint(p, ctx), conditions) : undefined;
    const emission = uses === undefined ? { order: found.map((_, i) => i), unused: [] } : emissionOrder(found.map((f) => f.statement), uses);
    // Why a macro in a template was not expanded: told in its statement's note, or on its own when
    // tree-sitter made no statement of it.
    const alone: CDiagnostic[] = [];
    for (const n of notes) {
      const f = found.find(({ statement: s }) => s.unparsed !== undefined && contains(s.range, n.range));
      if (f !== undefined) f.statement.unparsed = `${n.message}: ${SEEN_IN_BUILD}`;
      else alone.push({ ...n, message: `asm statement not analysed: ${n.message}: ${SEEN_IN_BUILD}` });
    }
    const result = analyseStatements(found, emission, mode, functionsOf(tree.rootNode, ctx));
    result.diagnostics.push(...alone);
    return result;
  } finally {
    tree.delete();
  }
}

interface Found {
  statement: CAsmStatement;
  /** Decoded template and the file position of each character. */
  template?: { text: string; pos: FilePoint[] };
  operands: AsmOperand[];
  labels: string[];
}

/** Maps positions of a re-parsed #define body back into the file. */
interface BodyShift {
  row: number;
  column: number;
  prefix: number;
  name: string;
}

function shiftPoint(p: FilePoint, shift: BodyShift | undefined): FilePoint {
  if (shift === undefined) return p;
  if (p.row === 0) return { ...p, row: shift.row, column: shift.column + p.column - shift.prefix };
  return { ...p, row: shift.row + p.row, column: p.column };
}

const WRAP_PREFIX = "void __afterburn_macro(void){";

/** Where the text being read came from: the file, or a #define body re-parsed on its own. */
interface Context {
  shift: BodyShift | undefined;
  /** The file's string macros (#define NAME "text"). */
  macros: ReadonlyMap<string, string>;
  /** The file's macros, for expanding calls in templates. */
  calls: MacroCalls;
  /** Macro uses in templates that could not be expanded, and why. */
  notes: CDiagnostic[];
  /** Placeholder literals standing for those macros in this text. */
  placeholders: Placeholders | undefined;
  /** Columns those placeholders added to the text read. */
  columns?: ColumnShifts | undefined;
}

/** A point of the tree read, in the file. */
function filePoint(p: FilePoint, ctx: Context): FilePoint {
  const column = givenColumn(p.row, p.column, ctx.columns);
  return shiftPoint(column === p.column ? p : { ...p, column }, ctx.shift);
}

function collect(cp: CParser, root: Node, out: Found[], ctx: Context, conditions?: Conditions): void {
  const types = ctx.shift === undefined ? ["gnu_asm_expression", "preproc_def", "preproc_function_def"] : ["gnu_asm_expression"];
  // `asm(NAME)` with a NAME that is not a string this file defines: tree-sitter cannot make an asm
  // statement of it (an ERROR node). Say so rather than show nothing.
  const reported: Node[] = [];
  for (const node of errorNodes(root)) {
    if (!conditions?.dropped(node) && ASM_START.test(node.text) && node.descendantsOfType("gnu_asm_expression").length === 0) {
      out.push(unreadable(node, ctx));
      reported.push(node);
    }
  }
  // Recovering from a statement it could not read, tree-sitter can swallow the asm statements after it
  // (`asm` left a plain identifier): say so rather than show nothing.
  for (const id of lostAsmWords(root)) {
    if (conditions?.dropped(id) || reported.some((r) => r.startIndex <= id.startIndex && id.endIndex <= r.endIndex)) continue;
    const statement = statementAt(id, ctx);
    statement.unparsed = `the C parser lost this statement while recovering from one around it that it could not read (a macro this file does not define?): ${SEEN_IN_BUILD}`;
    out.push({ statement, operands: [], labels: [] });
  }
  const declarations = declarationAsms(cp.language, root);
  for (const node of root.descendantsOfType(types)) {
    if (node === null) continue;
    // In a branch the preprocessor surely drops (#if 0, the other architecture's #ifdef): not compiled.
    if (conditions?.dropped(node)) continue;
    if (node.type === "gnu_asm_expression") {
      // `extern u64 rdtsc(void) __asm__("rdtsc");`, `int x asm("name");`: an assembler name for a
      // declaration (a symbol), not instructions.
      if (declarations.has(node.id)) continue;
      out.push(readAsm(node, ctx));
      continue;
    }
    const value = node.childForFieldName("value");
    const name = node.childForFieldName("name")?.text ?? "?";
    if (value === null || !ASM_WORD.test(value.text)) continue;
    // Continuation backslashes become spaces (same length, rows unchanged); wrap the body as a function.
    const wrapped = `${WRAP_PREFIX}${value.text.replace(/\\(\r?\n)/g, " $1")}\n;}`;
    const parsed = cp.parser.parse(wrapped);
    if (parsed === null) continue;
    const params = node.childForFieldName("parameters")?.text;
    const calls: MacroCalls = { ...ctx.calls, file: false, params: new Set([...(params ?? "").matchAll(/[A-Za-z_]\w*/g)].map((m) => m[0]).concat(params?.includes("...") ? ["__VA_ARGS__"] : [])) };
    const pasted = pasteStringMacros(cp, wrapped, parsed, ctx.macros, calls);
    const sub = pasted.tree;
    try {
      const before = out.length;
      const at = filePoint(value.startPosition, ctx);
      const shift = { row: at.row, column: at.column, prefix: WRAP_PREFIX.length, name };
      const inner: Context = { shift, macros: ctx.macros, calls: ctx.calls, notes: ctx.notes, placeholders: pasted.placeholders, columns: pasted.columns };
      noteUnexpanded(pasted, inner);
      collect(cp, sub.rootNode, out, inner);
      for (let k = before; k < out.length; k++) out[k].statement.macro = name;
    } finally {
      sub.delete();
    }
  }
}

/** Whether `inner` (on one line) is inside the statement range `outer`. */
function contains(outer: CAsmStatement["range"], inner: Span): boolean {
  const after = inner.line > outer.line || (inner.line === outer.line && inner.start >= outer.start);
  const before = inner.line < outer.endLine || (inner.line === outer.endLine && (outer.line !== outer.endLine || inner.end <= outer.end));
  return after && before;
}

/** Says why macro uses in templates were not expanded (the statement's own note says it is unanalysed). */
function noteUnexpanded(pasted: Pasted, ctx: Context): void {
  for (const n of pasted.notes ?? []) {
    const at = shiftPoint(n.at, ctx.shift);
    ctx.notes.push({ range: { line: at.row, start: at.column, end: at.column + (n.at.width ?? 1) }, message: n.message, severity: "info" });
  }
}

/** The ERROR nodes under `root` (descendantsOfType does not take "ERROR"); only subtrees with an error are walked. */
function errorNodes(root: Node): Node[] {
  const out: Node[] = [];
  const walk = (n: Node): void => {
    if (n.type === "ERROR") out.push(n);
    else for (const c of n.children) if (c !== null && c.hasError) walk(c);
  };
  if (root.hasError) walk(root);
  return out;
}

/** `asm` words that are plain identifiers in the subtrees with a parse error (no asm statement was made of them). */
function lostAsmWords(root: Node): Node[] {
  const out: Node[] = [];
  const walk = (n: Node): void => {
    if (n.type === "gnu_asm_expression") return;
    if (n.type === "identifier" && ASM_IDENTIFIER.test(n.text)) out.push(n);
    else for (const c of n.children) if (c !== null && (c.hasError || c.type === "identifier")) walk(c);
  };
  if (root.hasError) walk(root);
  return out;
}

const ASM_IDENTIFIER = /^(?:asm|__asm__|__asm)$/;

/** Where the sites of a template read here are seen after all. */
const SEEN_IN_BUILD = "its sites show in the afterburned build (Afterburn File on this file runs gcc -S)";

/** An asm statement at `node`, its template not read yet. */
function statementAt(node: Node, ctx: Context): CAsmStatement {
  const s = filePoint(node.startPosition, ctx);
  const e = filePoint(node.endPosition, ctx);
  return { range: { line: s.row, start: s.column, end: s.row === e.row ? e.column : s.column + 3, endLine: e.row }, text: "", extended: false, goto: false };
}

function unreadable(node: Node, ctx: Context): Found {
  const statement = statementAt(node, ctx);
  statement.unparsed = `its template is not a string literal (a macro this file does not define as a string?): ${SEEN_IN_BUILD}`;
  return { statement, operands: [], labels: [] };
}

function readAsm(node: Node, ctx: Context): Found {
  const statement = statementAt(node, ctx);
  const found: Found = { statement, operands: [], labels: [] };
  for (const c of node.children) {
    if (c === null) continue;
    if (c.type === "gnu_asm_qualifier" && c.text === "goto") statement.goto = true;
    if (c.type === "gnu_asm_output_operand_list" || c.type === "gnu_asm_input_operand_list" || c.type === "gnu_asm_clobber_list" || c.type === "gnu_asm_goto_list" || c.text === ":") statement.extended = true;
  }
  for (const listType of ["gnu_asm_output_operand_list", "gnu_asm_input_operand_list"]) {
    for (const list of node.children) {
      if (list === null || list.type !== listType) continue;
      for (const op of list.namedChildren) {
        if (op === null) continue;
        const constraint = op.childForFieldName("constraint");
        const symbol = op.childForFieldName("symbol");
        const operand: AsmOperand = { constraint: constraint ? stringValue(constraint) : "" };
        if (symbol !== null) operand.name = symbol.text;
        found.operands.push(operand);
      }
    }
  }
  for (const list of node.children) {
    if (list === null || list.type !== "gnu_asm_goto_list") continue;
    for (const l of list.namedChildren) if (l !== null && l.type === "identifier") found.labels.push(l.text);
  }
  const code = node.childForFieldName("assembly_code");
  if (code === null) statement.unparsed = "no template string";
  // An ERROR before the template: tree-sitter gave up on `"a" MACRO(, "b")` there and took only the
  // string after it as the template.
  else if (code.hasError || (code.type !== "string_literal" && code.type !== "concatenated_string") || node.children.some((c) => c !== null && c.type === "ERROR" && c.endIndex <= code.startIndex)) {
    // C files get no accurate (cpp) mode: the way to see these sites is the compiler's own output.
    statement.unparsed = `the template is not a plain string (a macro call inside it?): ${SEEN_IN_BUILD}`;
  } else {
    const lits = code.type === "concatenated_string" ? code.namedChildren.filter((c): c is Node => c !== null && c.type === "string_literal") : [code];
    if (code.type === "concatenated_string" && code.namedChildren.some((c) => c !== null && c.type === "identifier")) {
      statement.unparsed = "the template pastes in a macro (identifier between strings) that this file does not define as a string: its text is unknown without the preprocessor";
    }
    // `"mov %%cr" #n` in a #define body: tree-sitter takes the first string as the template and puts
    // the `#n` beside it in an ERROR.
    const stray = node.children.find((c) => c !== null && c.type === "ERROR" && c.startIndex >= code.endIndex && !afterColon(node, c));
    if (stray !== undefined && stray !== null) {
      statement.unparsed = `the template pastes in a macro parameter (#x or x##y) whose text is only known where the macro is used: ${SEEN_IN_BUILD}`;
    }
    found.template = decodeTemplate(lits, ctx);
    const first = lits[0];
    const last = lits[lits.length - 1];
    // The noannotate code action writes inside the first and last literals: not into a macro's name.
    if (first !== undefined && last !== undefined && placeholderAt(first, ctx) === undefined && placeholderAt(last, ctx) === undefined) {
      statement.templateStart = filePoint({ row: first.startPosition.row, column: first.startPosition.column + 1 }, ctx);
      statement.templateEnd = filePoint({ row: last.endPosition.row, column: last.endPosition.column - 1 }, ctx);
    }
  }
  return found;
}

/** Whether an operand list or `:` of the asm statement comes before `child`. */
function afterColon(asm: Node, child: Node): boolean {
  for (const c of asm.children) {
    if (c === null || c.startIndex >= child.startIndex) return false;
    if (c.text === ":" || c.type.startsWith("gnu_asm_") && c.type.endsWith("_list")) return true;
  }
  return false;
}

function stringValue(lit: Node): string {
  let s = "";
  for (const part of lit.namedChildren) {
    if (part === null) continue;
    if (part.type === "string_content") s += part.text;
    else if (part.type === "escape_sequence") s += decodeEscape(part.text);
  }
  return s;
}

function placeholderAt(lit: Node, ctx: Context): Placeholder | undefined {
  return ctx.placeholders?.get(pointKey(lit.startPosition.row, lit.startPosition.column));
}

function decodeTemplate(lits: Node[], ctx: Context): { text: string; pos: FilePoint[] } {
  let text = "";
  const pos: FilePoint[] = [];
  for (const lit of lits) {
    const pasted = placeholderAt(lit, ctx);
    if (pasted?.pos !== undefined) {
      // A macro call's expansion: each character from an argument is there, the rest at the macro's name.
      text += pasted.text;
      for (const p of pasted.pos) pos.push(shiftPoint(p, ctx.shift));
      continue;
    }
    if (pasted !== undefined) {
      // Every character of a macro's text is at its name: a site from it covers the name.
      const at = filePoint(lit.startPosition, ctx);
      text += pasted.text;
      for (let k = 0; k < pasted.text.length; k++) pos.push({ ...at, width: pasted.width });
      continue;
    }
    for (const part of lit.namedChildren) {
      if (part === null) continue;
      if (part.type === "string_content") {
        let { row, column } = part.startPosition;
        const t = part.text;
        for (let i = 0; i < t.length; i++) {
          if (t[i] === "\\" && t[i + 1] === "\n") {
            i++;
            row++;
            column = 0;
            continue;
          }
          text += t[i];
          pos.push(filePoint({ row, column }, ctx));
          column++;
        }
      } else if (part.type === "escape_sequence") {
        // A backslash ending a line inside the literal splices the lines (C's phase 2): no character.
        if (/^\\\r?\n?$/.test(part.text) && part.text.length > 1) continue;
        text += decodeEscape(part.text);
        pos.push(filePoint(part.startPosition, ctx));
      }
    }
    // Adjacent literals are joined with nothing between them, as C does.
  }
  return { text, pos };
}

function functionsOf(root: Node, ctx: Context): CFunction[] {
  const out: CFunction[] = [];
  for (const f of root.descendantsOfType("function_definition")) {
    if (f === null) continue;
    let d = f.childForFieldName("declarator");
    while (d !== null && d.type !== "function_declarator") d = d.childForFieldName("declarator");
    const id = d?.childForFieldName("declarator");
    if (id === null || id === undefined) continue;
    const start = filePoint(id.startPosition, ctx);
    const end = filePoint(id.endPosition, ctx);
    out.push({ name: id.text, line: start.row, start: start.column, end: end.column, endLine: f.endPosition.row });
  }
  return out;
}

/** Names the file #defines (in branches not surely dropped). */
function macroNames(root: Node, conditions: Conditions): Set<string> {
  const names = new Set<string>();
  for (const d of root.descendantsOfType(["preproc_def", "preproc_function_def"])) {
    const name = d?.childForFieldName("name")?.text;
    if (d !== null && name !== undefined && !conditions.dropped(d)) names.add(name);
  }
  return names;
}

/** A template's lines as the assembler parser breaks them (a lone "\r" too), each with the length of its break. */
function templateLines(text: string): { lines: string[]; breakLength: number[] } {
  const breaks = /\r\n|\r|\n/g;
  const lines: string[] = [];
  const breakLength: number[] = [];
  let from = 0;
  for (let m = breaks.exec(text); m !== null; m = breaks.exec(text)) {
    lines.push(text.slice(from, m.index));
    breakLength.push(m[0].length);
    from = m.index + m[0].length;
  }
  lines.push(text.slice(from));
  breakLength.push(1);
  return { lines, breakLength };
}

/** Put between the emitted templates and those of unused macros: each of those starts annotated. */
const UNUSED_MACROS_START = ".afterburn_annotate";

/**
 * The first function (in file order, as `functions` is) whose lines hold a line: a binary search over
 * the largest end line so far, instead of a scan of every function for every asm statement.
 */
function enclosingFunctions(functions: readonly CFunction[]): (line: number) => CFunction | undefined {
  const reach: number[] = [];
  for (const f of functions) reach.push(Math.max(f.endLine, reach[reach.length - 1] ?? -1));
  return (line) => {
    let lo = 0;
    let hi = reach.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (reach[mid]! >= line) hi = mid;
      else lo = mid + 1;
    }
    // functions[lo] is the first to end at or after the line; if it starts after it, so do all later ones.
    const f = functions[lo];
    return f !== undefined && f.line <= line ? f : undefined;
  };
}

function analyseStatements(found: Found[], emission: Emission, mode: CodeMode, functions: CFunction[]): CAnalysisResult {
  const statements: CAsmStatement[] = [];
  const diagnostics: CDiagnostic[] = [];
  const subs: (SubstitutedTemplate | undefined)[] = [];
  const enclosing = enclosingFunctions(functions);
  for (const f of found) {
    statements.push(f.statement);
    const fn = enclosing(f.statement.range.line);
    if (fn) f.statement.functionName = fn.name;
    if (f.statement.unparsed !== undefined) {
      diagnostics.push({ range: f.statement.range, message: `asm statement not analysed: ${f.statement.unparsed}`, severity: "info" });
    }
    if (f.template === undefined) {
      subs.push(undefined);
      continue;
    }
    const sub: SubstitutedTemplate = f.statement.extended
      ? substituteTemplate(f.template.text, f.operands, f.labels)
      : { text: f.template.text, map: [...f.template.text].map((_, i) => i).concat(f.template.text.length), ends: [...f.template.text].map((_, i) => i + 1).concat(f.template.text.length) };
    f.statement.text = sub.text;
    subs.push(sub);
  }
  // The templates one after another as gcc -S emits them (a macro's at each use): a .macro or an
  // .afterburn_noannotate in one asm statement is in force in the later ones.
  const asmLines: string[] = [];
  // `emission`: which emission of a template the line is from (a macro's is emitted once per use).
  const lineOwner: ({ statement: number; emission: number; lineStart: number; sub: SubstitutedTemplate; pos: FilePoint[] } | undefined)[] = [];
  let emissions = 0;
  const assemblyLines: number[] = [];
  const emit = (index: number): void => {
    const f = found[index]!;
    const sub = subs[index];
    if (f.template === undefined || sub === undefined) return;
    const { lines, breakLength } = templateLines(sub.text);
    const emission = emissions++;
    let start = 0;
    for (const [k, l] of lines.entries()) {
      lineOwner.push({ statement: index, emission, lineStart: start, sub, pos: f.template.pos });
      asmLines.push(l);
      // The line's C line is its first instruction character's: a leading "\t" often ends the literal before.
      const lead = l.search(/\S/);
      assemblyLines.push(f.template.pos[sub.map[start + Math.max(0, lead)] ?? 0]?.row ?? f.statement.range.line);
      start += l.length + breakLength[k]!;
    }
  };
  for (const i of emission.order) emit(i);
  if (emission.stoppedAt !== undefined) {
    const { name, at } = emission.stoppedAt;
    diagnostics.push({ range: { line: at.row, start: at.column, end: at.column + name.length }, message: `macro uses here and after are not expanded (over ${MAX_EXPANDED} asm statements from macros): .afterburn_noannotate regions may not be followed past this point`, severity: "info" });
  }
  if (emission.unused.some((i) => subs[i] !== undefined)) {
    asmLines.push(UNUSED_MACROS_START);
    assemblyLines.push(-1);
    lineOwner.push(undefined);
    for (const i of emission.unused) emit(i);
  }
  const assembly = asmLines.join("\n");
  const sites: CSite[] = [];
  if (asmLines.length > 0) {
    const file = parseAsm(assembly, { mode, fileName: "inline.s" });
    // A macro's template emitted at several uses gives its sites once (the n-th site of each emission is
    // the same one): annotated when annotated at some use. Sites from one emission (a .rept) all count.
    const siteAt = new Map<string, number>();
    const inEmission = new Map<number, number>();
    // Instructions, then those written as `.byte` data (sites the afterburner leaves alone and warns of).
    for (const s of [...findSites(file), ...encodedInStatements(file.statements).map(encodedSite)]) {
      const owner = lineOwner[s.span.line];
      if (owner === undefined) continue;
      const from = owner.sub.map[owner.lineStart + s.span.start];
      // The template character the site's last character came from, at the end of its element: a site
      // ending in a substituted operand (`outb %b0, %w1`) ends where the reference does.
      const end = owner.sub.ends[owner.lineStart + Math.max(s.span.start, s.span.end - 1)];
      const to = end === undefined ? undefined : end - 1;
      const a = owner.pos[from ?? 0];
      const b = owner.pos[to ?? 0];
      if (a === undefined) continue;
      const nth = inEmission.get(owner.emission) ?? 0;
      inEmission.set(owner.emission, nth + 1);
      const key = `${owner.statement}:${nth}:${s.entry.id}`;
      const seen = siteAt.get(key);
      if (seen !== undefined) {
        if (s.annotated && !sites[seen]!.annotated) sites[seen] = { ...sites[seen]!, ...s, span: sites[seen]!.span };
        continue;
      }
      const range: Span = { line: a.row, start: a.column, end: b !== undefined && b.row === a.row ? b.column + (b.width ?? 1) : a.column + s.mnemonic.length };
      siteAt.set(key, sites.length);
      sites.push({ ...s, range, statement: owner.statement });
    }
    const said = new Set<string>();
    for (const d of file.diagnostics) {
      const owner = lineOwner[d.span.line];
      // A template read in part (unparsed) is not what the assembler sees: its complaints would mislead.
      if (owner === undefined || d.severity === "info" || statements[owner.statement]!.unparsed !== undefined) continue;
      const a = owner.pos[owner.sub.map[owner.lineStart + d.span.start] ?? 0] ?? owner.pos[0];
      if (a === undefined) continue;
      const width = a.width ?? Math.max(1, d.span.end - d.span.start);
      const message = `in asm template: ${d.message}`;
      const key = `${a.row}:${a.column}:${message}`;
      if (said.has(key)) continue;
      said.add(key);
      diagnostics.push({ range: { line: a.row, start: a.column, end: a.column + width }, message, severity: d.severity === "error" ? "warning" : d.severity });
    }
  }
  // In file order, as the editor lists them (a macro's sites come from its first use in emission order).
  sites.sort((x, y) => x.range.line - y.range.line || x.range.start - y.range.start);
  return { statements, sites, functions, diagnostics, assembly, assemblyLines };
}

// Editor-free navigation over an analysed assembly document: the word under the cursor and what it names,
// hover text, symbols, definitions, references, folding ranges, semantic tokens and completion items.
// Positions are document lines and UTF-16 columns (0-based), as the LSP uses them.

import { classify, MNEMONICS } from "../isa/classify.js";
import { describe } from "../isa/describe.js";
import { paddingFor } from "../isa/classify.js";
import { registerKind } from "../isa/registers.js";
import { SYMBOL_DIRECTIVES } from "./expand.js";
import type { AsmAnalysis, MappedSite } from "./analysis.js";
import { boundedQuote } from "./message.js";
import { analyseExpression } from "./expression.js";
import { registerNames } from "./registers.js";
import type { ExpandedStatement, InstructionStatement, LabelDefinition, Span } from "./types.js";

export type WordKind = "register" | "directive" | "instruction" | "macro" | "cpp-macro" | "label" | "symbol" | "number" | "unknown";

export interface WordAt {
  word: string;
  kind: WordKind;
  span: Span;
}

const WORD_CHAR = /[A-Za-z0-9_.$%@]/;

/** The word (identifier, directive, %register) at a position. */
export function wordAt(text: string, line: number, character: number): Span | undefined {
  if (!Number.isSafeInteger(character) || character < 0) return undefined;
  let a = Math.min(character, text.length);
  let b = a;
  while (a > 0 && WORD_CHAR.test(text[a - 1])) a--;
  while (b < text.length && WORD_CHAR.test(text[b])) b++;
  if (a === b) return undefined;
  // `%eax` keeps its '%'; `foo@PLT` and `$1` drop the decorations.
  while (a < b && text[a] === "$") a++;
  const at = text.indexOf("@", a);
  if (at >= 0 && at < b && at > a) b = at;
  return a < b ? { line, start: a, end: b } : undefined;
}

/** What the word at a position names. */
export function classifyWord(an: AsmAnalysis, line: number, character: number): WordAt | undefined {
  const text = an.lineText(line);
  const span = wordAt(text, line, character);
  if (span === undefined) return undefined;
  const word = text.slice(span.start, span.end);
  const file = an.file;
  let kind: WordKind = "unknown";
  if (word.startsWith("%")) kind = "register";
  else if (/^[0-9]/.test(word) && !/^[0-9]+[bf]$/.test(word)) kind = "number";
  else if (file.macros.has(word.toLowerCase()) && isMnemonicPosition(an, line, span)) kind = "macro";
  else if (an.cppDefine(word) !== undefined) kind = "cpp-macro";
  else if (word.startsWith(".") && isMnemonicPosition(an, line, span)) kind = "directive";
  else if (isMnemonicPosition(an, line, span)) kind = "instruction";
  else if (file.labels.has(word) || /^[0-9]+[bf]$/.test(word)) kind = "label";
  else if (file.symbols.has(word)) kind = "symbol";
  else if (file.macros.has(word.toLowerCase())) kind = "macro";
  else if (/^[A-Za-z_.$][\w.$]*$/.test(word)) kind = "label";
  return { word, kind, span };
}

/** True when the span is the first word of a statement (a mnemonic, directive or macro name) or a prefix. */
function isMnemonicPosition(an: AsmAnalysis, line: number, span: Span): boolean {
  // The line's parsed statements know, past comments and labels, which words lead a statement; `foo` of
  // `foo = 5` leads none. The text is read only where no statement covers the word (a comment, a bad line).
  const statements = an.file.lines[an.offset + line]?.statements ?? [];
  const covers = (s: Span | undefined, strict: boolean) => {
    // What a cpp macro made maps onto the whole invocation, not onto the word: not telling.
    if (s === undefined || an.cppMacroAt(s) !== undefined) return false;
    const r = an.toSource(s);
    return r !== undefined && r.line === line && (strict ? r.start <= span.start && span.end <= r.end : r.start < span.end && span.start < r.end);
  };
  for (const st of statements) {
    if (st.kind === "instruction" && (covers(st.mnemonicSpan, false) || st.prefixes.some((p) => covers(p.span, false)))) return true;
    if (st.kind === "directive" && covers(st.nameSpan, false)) return true;
    if (covers(st.span, true)) return false;
  }
  const text = an.lineText(line);
  let i = span.start - 1;
  while (i >= 0 && (text[i] === " " || text[i] === "\t")) i--;
  if (i < 0) return text[span.end] !== ":";
  if (text[i] === ";") return true;
  if (text[i] === ":") return text[span.end] !== ":";
  // A prefix word before the mnemonic (`lock`, `rep`).
  const before = text.slice(0, i + 1).trimEnd();
  return /(^|[;:\s])(lock|rep|repe|repz|repne|repnz|data16|data32|addr16|addr32)$/i.test(before);
}

/** Statements analysed on a document line (not through #define expansions). */
export function statementsOn(an: AsmAnalysis, line: number): ExpandedStatement[] {
  const off = an.offset;
  const out: ExpandedStatement[] = [];
  const stmts = an.file.statements;
  // Statements are in assembly order; binary search the first on this line.
  let lo = 0;
  let hi = stmts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (stmts[mid].line < off + line) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < stmts.length && stmts[k].line === off + line; k++) out.push(stmts[k]);
  return out;
}

function sitesOn(an: AsmAnalysis, line: number): MappedSite[] {
  return an.sites().filter((s) => s.range.line === line);
}

const CLASS_WORD: Record<string, string> = {
  privileged: "privileged",
  sensitive: "sensitive but unprivileged",
  platform: "platform-sensitive",
  memory: "annotated memory operation",
};

/** What siteHover's markdown is made of: equal keys, equal hovers. */
export function siteHoverKey(site: MappedSite): string {
  const from = site.expansion ? `${site.expansion.kind}:${site.expansion.name ?? ""}` : site.cppMacro !== undefined ? `#${site.cppMacro}` : "";
  return `${site.entry.id}|${site.annotated}|${site.padding}|${site.mode}|${site.section}|${site.reason ?? ""}|${from}|${boundedQuote(site.text)}`;
}

/** Markdown for a site (the catalogue's description plus what this occurrence gets). */
export function siteHover(site: MappedSite): string {
  const head = site.annotated
    ? `\`${boundedQuote(site.text)}\` — ${CLASS_WORD[site.entry.class]}; the afterburner pads **${site.padding} bytes** (${site.mode}-bit code, section \`${site.section}\`)`
    : `\`${boundedQuote(site.text)}\` — ${CLASS_WORD[site.entry.class]}; **not annotated**: ${site.reason}`;
  const from = site.expansion
    ? `\n\nExpanded from ${site.expansion.kind === "macro" ? `macro \`${boundedQuote(site.expansion.name ?? "")}\`` : `\`.${site.expansion.kind}\``}.`
    : site.cppMacro !== undefined ? `\n\nExpanded from cpp macro \`${site.cppMacro}\`.` : "";
  return `${head}${from}\n\n---\n\n${describe(site.entry)}`;
}

const DIRECTIVE_DOCS: Record<string, string> = {
  ".afterburn_noannotate": "Afterburner: sensitive instructions after this line are found but **not annotated** (no padding, no record) until `.afterburn_annotate`.",
  ".afterburn_annotate": "Afterburner: ends an `.afterburn_noannotate` region; sensitive instructions are padded and annotated again.",
  ".afterburn_memop": "Afterburner: `.afterburn_memop KIND[, COUNT]` annotates the next COUNT instructions as a memory/device operation (page-table store etc.) into `.afterburn.KIND`.",
  ".section": "`.section name[, \"flags\"[, @type]]` — continue assembling into the named section.",
  ".text": "Continue in the `.text` (code) section.",
  ".data": "Continue in the `.data` section.",
  ".bss": "Continue in the `.bss` (zero-initialised) section.",
  ".globl": "`.globl sym` — make the symbol visible to the linker.",
  ".global": "`.global sym` — make the symbol visible to the linker.",
  ".type": "`.type sym, @function|@object` — the ELF symbol type.",
  ".size": "`.size sym, expr` — the ELF symbol size.",
  ".macro": "`.macro name args…` … `.endm` — define an assembler macro; each invocation expands the body (sites inside are reported at the invocation).",
  ".endm": "Ends a `.macro` definition.",
  ".rept": "`.rept count` … `.endr` — repeat the body.",
  ".irp": "`.irp sym, values…` … `.endr` — repeat the body once per value.",
  ".code16": "Assemble 16-bit code from here on; sensitive instructions in 16-bit code are not annotated (they run before any wedge is loaded).",
  ".code32": "Assemble 32-bit code from here on.",
  ".code64": "Assemble 64-bit code from here on (64-bit padding sizes apply).",
  ".long": "`.long values…` — emit 32-bit values.",
  ".word": "`.word values…` — emit 16-bit values.",
  ".byte": "`.byte values…` — emit bytes.",
  ".quad": "`.quad values…` — emit 64-bit values.",
  ".ascii": "`.ascii \"text\"` — emit the string without a terminating zero.",
  ".asciz": "`.asciz \"text\"` — emit the string with a terminating zero.",
  ".string": "`.string \"text\"` — emit the string with a terminating zero.",
  ".balign": "`.balign n[, fill]` — align to a multiple of n bytes.",
  ".align": "`.align n` — align (on x86 ELF, to n bytes).",
  ".p2align": "`.p2align n` — align to 2^n bytes.",
  ".fill": "`.fill repeat, size, value` — emit repeated values.",
  ".skip": "`.skip n[, fill]` — reserve n bytes.",
  ".space": "`.space n[, fill]` — reserve n bytes.",
  ".set": "`.set sym, expr` — define a symbol's value.",
  ".equ": "`.equ sym, expr` — define a symbol's value.",
  ".include": "`.include \"file\"` — assemble the named file here.",
  ".pushsection": "`.pushsection name` — switch section, remembering the current one.",
  ".popsection": "Return to the section before the last `.pushsection`.",
  ".file": "Debug info: the source file (DWARF file table).",
  ".loc": "Debug info: the source line of the following code.",
};

/** Distinct items a hover lists at most: one line can stand for 100,000 sites (a .rept, a recursive macro). */
const HOVER_ITEMS = 24;
/** Full per-site sections a hover shows at most. */
export const HOVER_SECTIONS = 4;

/**
 * The sites described by `describe`, each distinct description once with its count (×N), at most
 * `max` of them and then how many more; joined by `separator`.
 */
export function grouped<T>(items: readonly T[], describe: (item: T) => string, separator: string, max = HOVER_ITEMS, keyOf: (item: T) => string = describe): string {
  // Counted by key, described once per key: a site's full hover is kilobytes, and 200,000 of them ran out of memory.
  const groups = new Map<string, { first: T; count: number }>();
  for (const item of items) {
    const k = keyOf(item);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, { first: item, count: 1 });
    else g.count++;
  }
  const parts: string[] = [];
  for (const { first, count } of groups.values()) {
    if (parts.length === max) break;
    const d = describe(first);
    parts.push(count > 1 ? `${d} ×${count.toLocaleString("en")}` : d);
  }
  const more = groups.size - parts.length;
  if (more > 0) parts.push(`and ${more.toLocaleString("en")} more different site${more === 1 ? "" : "s"}`);
  return parts.join(separator);
}

/** Markdown for the word at a position, or undefined when there is nothing to say. */
export function hoverAt(an: AsmAnalysis, line: number, character: number): { markdown: string; span: Span } | undefined {
  const w = classifyWord(an, line, character);
  if (w === undefined) return undefined;
  const file = an.file;
  switch (w.kind) {
    case "instruction":
    case "macro":
    case "cpp-macro": {
      const sites = sitesOn(an, line).filter((s) => s.range.start <= w.span.start && s.range.end >= w.span.end || (s.range.start >= w.span.start && s.range.start < w.span.end));
      if (w.kind === "macro") {
        const def = file.macros.get(w.word.toLowerCase())!;
        const where = describeLocation(an, def.span.line);
        const params = def.params.map((p) => p.name + (p.required ? ":req" : p.vararg ? ":vararg" : p.defaultValue !== undefined ? `=${p.defaultValue}` : "")).join(", ");
        const listing = sites.length > 0 ? `\n\nThis invocation expands to ${sites.length.toLocaleString("en")} sensitive site${sites.length === 1 ? "" : "s"}: ${grouped(sites, (s) => `\`${boundedQuote(s.text)}\` (\`${s.entry.id}\`, ${s.annotated ? `+${s.padding} B` : "not annotated"})`, ", ")}.` : "\n\nNo sensitive instruction in this expansion.";
        return { markdown: `**macro** \`${def.name}\`${params ? ` ${params}` : ""} — defined ${where}${listing}`, span: w.span };
      }
      if (w.kind === "cpp-macro") {
        const d = an.cppDefine(w.word)!;
        const sig = d.params !== undefined ? `${d.name}(${d.params.join(", ")})` : d.name;
        const where = d.file === "" ? `at line ${d.line + 1}` : `in ${d.file}:${d.line + 1}`;
        const listing = sites.length > 0 ? `\n\nExpands to ${grouped(sites, (s) => `\`${boundedQuote(s.text)}\` (\`${s.entry.id}\`)`, ", ")}.` : "";
        return { markdown: `**#define** \`${sig}\` \`${d.body}\` — ${where}${listing}`, span: w.span };
      }
      if (sites.length > 0) return { markdown: grouped(sites, siteHover, "\n\n---\n\n", HOVER_SECTIONS, siteHoverKey), span: w.span };
      const ins = statementsOn(an, line).find((s) => s.statement.kind === "instruction" && s.statement.mnemonicSpan.start <= w.span.start && s.statement.mnemonicSpan.end >= w.span.end);
      const note = MNEMONICS.find((m) => m.mnemonic === w.word.toLowerCase());
      const extra = note ? `\n\nThis mnemonic is ${note.note} (catalogue: ${note.entries.map((e) => `\`${e}\``).join(", ")}); with these operands it is not.` : "";
      return { markdown: `\`${ins ? (ins.statement as InstructionStatement).text : w.word}\` — not virtualization-sensitive: it runs as itself on every backend.${extra}`, span: w.span };
    }
    case "register": {
      const name = w.word.slice(1).toLowerCase();
      const kind = registerKind(name);
      const notes: Record<string, string> = {
        control: "Control register: reading or writing it is privileged (`mov-from-cr`/`mov-to-cr`); on xen/l4 the wedge keeps the guest's copy in the vCPU.",
        debug: "Debug register: moves to and from it are privileged (`mov-to-dr`/`mov-from-dr`).",
        segment: "Segment register: loads and stores of it are sensitive (selector RPL and descriptor privilege reveal the real ring).",
        general: "General-purpose register.",
      };
      return { markdown: `**register** \`%${name}\`${kind ? ` — ${notes[kind]}` : ""}`, span: w.span };
    }
    case "directive": {
      const doc = DIRECTIVE_DOCS[w.word.toLowerCase()];
      return { markdown: `**directive** \`${w.word}\`${doc ? ` — ${doc}` : ""}`, span: w.span };
    }
    case "label": {
      const defs = labelDefinitions(an, w.word, line, w.span.start);
      if (defs.length === 0) return { markdown: `**symbol** \`${w.word}\` — not defined in this file`, span: w.span };
      const d = defs[0];
      // Local labels (numeric, .L) start no block of their own: nothing to count for them.
      const count = d.line !== undefined ? sitesUnderLabel(an, d.line) : undefined;
      const sec = file.labels.get(w.word)?.[0]?.section;
      const sites = count === undefined ? "" : `; ${count} sensitive site${count === 1 ? "" : "s"} until the next label`;
      return { markdown: `**label** \`${w.word}\` — defined ${d.line !== undefined ? `at line ${d.line + 1}` : `in ${d.file}:${(d.headerLine ?? 0) + 1}`}${sec ? ` in \`${sec}\`` : ""}${sites}`, span: w.span };
    }
    case "symbol": {
      const s = symbolDefinitionAt(an, w.word, line, w.span.start) ?? file.symbols.get(w.word)!;
      return { markdown: `**symbol** \`${w.word}\` = \`${s.expr}\`${s.value !== undefined ? ` (${s.value})` : ""}`, span: w.span };
    }
    default:
      return undefined;
  }
}

function describeLocation(an: AsmAnalysis, docLine: number): string {
  const l = an.sourceLine(docLine);
  if (l !== undefined) return `at line ${l + 1}`;
  const h = an.headerLocation(docLine);
  return h ? `in ${h.file}:${h.line + 1}` : "elsewhere";
}

export interface DefinitionLocation {
  /** Document line when in this document. */
  line?: number;
  start: number;
  end: number;
  /** Header path when outside the document. */
  file?: string;
  headerLine?: number;
}

/**
 * Where a label is defined in this document or the headers analysed with it. `1b`/`1f` resolve from
 * the use at `fromLine`, `fromCharacter` (a line can hold several statements: `1: jmp 1f; 1: …`; without
 * a column, labels on the use's line count as before it).
 */
export function labelDefinitions(an: AsmAnalysis, name: string, fromLine: number, fromCharacter = Infinity): DefinitionLocation[] {
  const file = an.file;
  const local = /^([0-9]+)([bf])$/i.exec(name);
  const defs = file.labels.get(local ? local[1] : name) ?? [];
  const out: DefinitionLocation[] = [];
  // A definition's place against the use: negative before it, positive after it.
  const at = an.offset + fromLine;
  const against = (d: LabelDefinition) => {
    if (d.line !== at) return d.line - at;
    const col = an.toSource(d.expansion ? { line: d.line, start: d.expansion.site.start, end: d.expansion.site.end } : d.span)?.start ?? 0;
    return col < fromCharacter ? -1 : 1;
  };
  const pick = local
    ? (() => {
        if (local[2].toLowerCase() === "b") {
          for (let i = defs.length - 1; i >= 0; i--) if (against(defs[i]) < 0) return [defs[i]];
          return [];
        }
        for (const d of defs) if (against(d) > 0) return [d];
        return [];
      })()
    : defs;
  // Each place once: every definition a `.rept` of a label makes is at the `.rept` (300,000 of them were 33 MB).
  const seen = new Set<string>();
  for (const d of pick) {
    const span = d.expansion ? d.expansion.site : d.span;
    const src = an.toSource({ line: d.line, start: span.start, end: span.end });
    let at: DefinitionLocation | undefined;
    if (src !== undefined) at = { line: src.line, start: src.start, end: src.end };
    else {
      const h = an.headerLocation(d.line);
      if (h) at = { file: h.file, headerLine: h.line, start: 0, end: 0 };
    }
    if (at === undefined) continue;
    const key = at.file !== undefined ? `${at.file}:${at.headerLine}` : `${at.line}:${at.start}:${at.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(at);
  }
  return out;
}


/**
 * The `.set`/`.equ`/`=` definition of a symbol in force at a position, with its value there: a symbol
 * set again is, for each use, the last definition before it (GNU as assembles `movl $x` between two
 * `.set x` with the first value); a use before every definition sees the last one. `range` is in
 * document coordinates (an expansion's definition is at its invocation).
 */
export function symbolDefinitionAt(an: AsmAnalysis, name: string, line: number, character: number): { expr: string; value?: number; range: Span } | undefined {
  const at = an.offset + line;
  const values = new Map<string, number>();
  let inForce: { expr: string; value?: number; range: Span } | undefined;
  let last: typeof inForce;
  for (const es of an.file.statements) {
    const st = es.statement;
    let sym: string;
    let expr: string;
    if (st.kind === "assignment") ({ name: sym, expr } = st);
    else if (st.kind === "directive" && SYMBOL_DIRECTIVES.has(st.name) && st.argList.length >= 2) {
      sym = st.argList[0];
      expr = st.argList.slice(1).join(",");
    } else continue;
    // Evaluated in order, as the expander does, so that `.set i, i+1` has its value at each step.
    const value = analyseExpression(expr, values).value;
    if (value !== undefined) values.set(sym, value);
    else values.delete(sym);
    if (sym !== name) continue;
    let origin = es.expansion;
    while (origin?.parent !== undefined) origin = origin.parent;
    const range = an.toSource(origin !== undefined ? { line: es.line, start: origin.site.start, end: origin.site.end } : st.span);
    if (range === undefined) continue;
    last = value !== undefined ? { expr, value, range } : { expr, range };
    if (es.line < at || (es.line === at && range.start < character)) inForce = last;
  }
  return inForce ?? last;
}

/** Where a macro (gas .macro or cpp #define) is defined. */
export function macroDefinition(an: AsmAnalysis, name: string): DefinitionLocation | undefined {
  const m = an.file.macros.get(name.toLowerCase());
  if (m !== undefined) {
    const src = an.toSource(m.span);
    if (src !== undefined) return { line: src.line, start: src.start, end: src.end };
    const h = an.headerLocation(m.span.line);
    if (h) return { file: h.file, headerLine: h.line, start: 0, end: an.lineText(0).length * 0 };
  }
  const d = an.cppDefine(name);
  if (d !== undefined) {
    if (d.file === "") {
      const text = an.lineText(d.line);
      const at = text.indexOf(d.name);
      return { line: d.line, start: Math.max(0, at), end: Math.max(0, at) + d.name.length };
    }
    return { file: d.file, headerLine: d.line, start: 0, end: 0 };
  }
  return undefined;
}

/** Sites between a label's line and the next non-local label. */
/** Sensitive sites from the label defined on `line` to the next non-local label; undefined for a local label (no block of its own). */
export function sitesUnderLabel(an: AsmAnalysis, line: number): number | undefined {
  return labelBlocks(an).find((x) => x.line === line)?.sites;
}

export interface LabelBlock {
  name: string;
  line: number;
  start: number;
  end: number;
  /** Last document line before the next block. */
  endLine: number;
  sites: number;
  global: boolean;
  isFunction: boolean;
}

/** Non-local labels (not `.L…`, not numeric) with the sensitive sites up to the next one: code lens and symbols. */
export function labelBlocks(an: AsmAnalysis): LabelBlock[] {
  const file = an.file;
  const globals = new Set<string>();
  const functions = new Set<string>();
  for (const es of file.statements) {
    const st = es.statement;
    if (st.kind !== "directive") continue;
    if (st.name === ".globl" || st.name === ".global") for (const a of st.argList) globals.add(a);
    else if (st.name === ".type" && /@function|%function|STT_FUNC/.test(st.args)) functions.add(st.argList[0] ?? "");
  }
  const blocks: LabelBlock[] = [];
  for (const [name, defs] of file.labels) {
    if (name.startsWith(".L") || /^[0-9]+$/.test(name)) continue;
    const d = defs[0];
    if (d.expansion) continue;
    const src = an.toSource(d.span);
    if (src === undefined) continue;
    blocks.push({ name, line: src.line, start: src.start, end: src.end, endLine: an.lineCount - 1, sites: 0, global: globals.has(name), isFunction: functions.has(name) || globals.has(name) });
  }
  blocks.sort((a, b) => a.line - b.line || a.start - b.start);
  for (let i = 0; i + 1 < blocks.length; i++) blocks[i].endLine = Math.max(blocks[i].line, blocks[i + 1].line - 1);
  const sites = an.sites();
  let k = 0;
  for (const s of sites) {
    while (k + 1 < blocks.length && blocks[k + 1].line <= s.range.line) k++;
    if (k < blocks.length && blocks[k].line <= s.range.line) blocks[k].sites++;
  }
  return blocks;
}

export interface SymbolInfo {
  name: string;
  kind: "function" | "label" | "macro" | "section" | "constant";
  line: number;
  start: number;
  end: number;
  endLine: number;
  detail?: string;
}

/** Document symbols: labels, macros, sections, #defines and .set constants. */
export function documentSymbols(an: AsmAnalysis): SymbolInfo[] {
  const out: SymbolInfo[] = [];
  for (const b of labelBlocks(an)) {
    out.push({ name: b.name, kind: b.isFunction ? "function" : "label", line: b.line, start: b.start, end: b.end, endLine: b.endLine, detail: `${b.global ? "global, " : ""}${b.sites} sensitive site${b.sites === 1 ? "" : "s"}` });
  }
  for (const m of an.file.macros.values()) {
    const src = an.toSource(m.span);
    if (src === undefined) continue;
    const end = an.sourceLine(m.endLine) ?? src.line;
    out.push({ name: m.name, kind: "macro", line: src.line, start: src.start, end: src.end, endLine: end, detail: ".macro" });
  }
  // Without cpp (a .s file) `# define …` is a comment.
  const cpp = an.readsCpp;
  for (let i = 0; i < an.lineCount && i < an.maxLines; i++) {
    const t = an.lineText(i);
    if (cpp && t.indexOf("#") >= 0) {
      const m = /^\s*#\s*define\s+([A-Za-z_]\w*)/.exec(t);
      if (m) {
        const at = t.indexOf(m[1], m[0].length - m[1].length);
        out.push({ name: m[1], kind: "constant", line: i, start: at, end: at + m[1].length, endLine: i, detail: "#define" });
      }
    }
    if (t.indexOf(".") >= 0) {
      const s = /^\s*(\.section|\.text|\.data|\.bss)\b\s*([^,\s]*)/.exec(t);
      if (s) {
        const name = s[1] === ".section" ? s[2] || ".section" : s[1];
        const at = t.indexOf(s[1]);
        out.push({ name, kind: "section", line: i, start: at, end: at + s[0].trim().length, endLine: i, detail: "section" });
      }
    }
  }
  out.sort((a, b) => a.line - b.line);
  return out;
}

const IDENT_BOUNDARY = /[A-Za-z0-9_.$]/;

/** Every occurrence of a name as a whole word (comments are not told apart: a name in a comment counts too). */
export function occurrences(lines: readonly string[] | ((i: number) => string), count: number, name: string): Span[] {
  const out: Span[] = [];
  if (name.length === 0) return out; // indexOf("") finds it everywhere, forever
  const get = typeof lines === "function" ? lines : (i: number) => lines[i];
  for (let i = 0; i < count; i++) {
    const t = get(i);
    let at = t.indexOf(name);
    while (at >= 0) {
      // `$` is a name character, but a `$` that starts a word is AT&T's immediate prefix (`movl $x, %eax`).
      const b = at > 0 && t[at - 1] === "$" && !(at > 1 && IDENT_BOUNDARY.test(t[at - 2])) ? at - 1 : at;
      const before = b > 0 ? t[b - 1] : "";
      const after = t[at + name.length] ?? "";
      if (!(before && IDENT_BOUNDARY.test(before)) && !(after && IDENT_BOUNDARY.test(after))) out.push({ line: i, start: at, end: at + name.length });
      at = t.indexOf(name, at + name.length);
    }
  }
  return out;
}

/**
 * References of a label local to the document: `.L…` labels (never in the symbol table) and numeric
 * labels, whose every `Nb`/`Nf` use is resolved as GNU as resolves it (another `1:` is another label).
 * `uses` and `definitions` in document coordinates; undefined when the word at the position is no such label.
 */
export function localReferences(an: AsmAnalysis, line: number, character: number): { uses: Span[]; definitions: Span[] } | undefined {
  const text = an.lineText(line);
  const span = wordAt(text, line, character);
  if (span === undefined) return undefined;
  const word = text.slice(span.start, span.end);
  const n = Math.min(an.lineCount, an.maxLines);
  if (word.startsWith(".L")) {
    if (!an.file.labels.has(word)) return undefined;
    const definitions = labelDefinitions(an, word, line).flatMap((d) => (d.line === undefined ? [] : [nameSpan(an, d, word)]));
    const defined = new Set(definitions.map((d) => `${d.line}:${d.start}`));
    return { uses: occurrences((i) => an.lineText(i), n, word).filter((u) => !defined.has(`${u.line}:${u.start}`)), definitions };
  }
  const ref = /^([0-9]+)([bf])$/.exec(word);
  let label: string;
  let target: DefinitionLocation | undefined;
  if (ref !== null) {
    label = ref[1];
    target = labelDefinitions(an, word, line, span.start)[0];
  } else if (/^[0-9]+$/.test(word) && text[span.end] === ":") {
    // The definition `N:` itself: the label `Nb` would name from just after it.
    label = word;
    target = labelDefinitions(an, `${word}b`, line, span.start + 1)[0];
  } else return undefined;
  if (target === undefined || target.line === undefined) return { uses: [], definitions: [] };
  const same = (d: DefinitionLocation | undefined) => d !== undefined && d.line === target.line && d.start === target.start;
  const uses: Span[] = [];
  for (const dir of ["b", "f"]) {
    for (const u of occurrences((i) => an.lineText(i), n, label + dir)) if (same(labelDefinitions(an, label + dir, u.line, u.start)[0])) uses.push(u);
  }
  uses.sort((a, b) => a.line - b.line || a.start - b.start);
  return { uses, definitions: [nameSpan(an, target, label)] };
}

/** The label's name at a definition in the document (the definition's whole span when it is not written there: an expansion). */
function nameSpan(an: AsmAnalysis, d: DefinitionLocation, name: string): Span {
  const line = d.line!;
  return an.lineText(line).startsWith(name, d.start) ? { line, start: d.start, end: d.start + name.length } : { line, start: d.start, end: d.end };
}

export interface FoldingInfo {
  startLine: number;
  endLine: number;
  kind?: "comment" | "region";
}

/** Folding: .macro/.rept/.irp bodies, #if and .if blocks, sections, noannotate regions, block comments. */
export function foldingRanges(an: AsmAnalysis): FoldingInfo[] {
  const out: FoldingInfo[] = [];
  const stack: { kind: string; line: number }[] = [];
  let section: number | undefined;
  let comment: number | undefined;
  const n = Math.min(an.lineCount, an.maxLines);
  // How many blocks of each kind are open: a closer with none of its kind open returns at once (a
  // scan of the whole stack for it, per closer, was quadratic in a file of many unmatched ones).
  const openCount = new Map<string, number>();
  const enter = (kind: string, line: number) => {
    stack.push({ kind, line });
    openCount.set(kind, (openCount.get(kind) ?? 0) + 1);
  };
  const close = (kind: string, line: number, region = false) => {
    if (!openCount.get(kind)) return;
    let k = stack.length - 1;
    while (stack[k].kind !== kind) k--;
    const start = stack[k].line;
    // The blocks left open inside it end with it (each is removed once: linear over the file).
    for (let j = k; j < stack.length; j++) openCount.set(stack[j].kind, openCount.get(stack[j].kind)! - 1);
    stack.length = k;
    if (line > start) out.push(region ? { startLine: start, endLine: line, kind: "region" } : { startLine: start, endLine: line });
  };
  for (let i = 0; i < n; i++) {
    const t = an.lineText(i);
    if (comment === undefined) {
      const open = t.indexOf("/*");
      if (open >= 0 && t.indexOf("*/", open + 2) < 0) comment = i;
    } else if (t.indexOf("*/") >= 0) {
      if (i > comment) out.push({ startLine: comment, endLine: i, kind: "comment" });
      comment = undefined;
      continue;
    } else continue;
    const m = /^\s*(#\s*(if|ifdef|ifndef|else|elif|endif)\b|\.(macro|endm|endmacro|rept|irp|irpc|endr|if\w*|else\w*|endif|afterburn_noannotate|afterburn_annotate|section|text|data|bss)\b)/i.exec(t);
    if (m === null) continue;
    const word = (m[2] ?? m[3]).toLowerCase();
    if (m[2] !== undefined) {
      // Without cpp (a .s file) `# if …` is a comment.
      if (!an.readsCpp) continue;
      if (word === "endif") close("#if", i - 0);
      else if (word === "else" || word === "elif") {
        close("#if", i - 1);
        enter("#if", i);
      } else enter("#if", i);
      continue;
    }
    if (word === "macro") enter(".macro", i);
    else if (word === "endm" || word === "endmacro") close(".macro", i);
    else if (word === "rept" || word === "irp" || word === "irpc") enter(".rept", i);
    else if (word === "endr") close(".rept", i);
    else if (word === "endif") close(".if", i);
    else if (word.startsWith("else")) {
      close(".if", i - 1);
      enter(".if", i);
    } else if (word.startsWith("if")) enter(".if", i);
    else if (word === "afterburn_noannotate") enter("noannotate", i);
    else if (word === "afterburn_annotate") close("noannotate", i, true);
    else {
      if (section !== undefined && i - 1 > section) out.push({ startLine: section, endLine: i - 1 });
      section = i;
    }
  }
  if (section !== undefined && n - 1 > section) {
    let last = n - 1;
    while (last > section && an.lineText(last).trim() === "") last--;
    if (last > section) out.push({ startLine: section, endLine: last });
  }
  return out.sort((a, b) => a.startLine - b.startLine);
}

export const SEMANTIC_TOKEN_TYPES = ["keyword", "variable", "macro", "function", "label", "number", "parameter"] as const;
export const SEMANTIC_TOKEN_MODIFIERS = ["sensitive", "privileged", "declaration", "notAnnotated"] as const;

export interface SemanticToken {
  line: number;
  start: number;
  length: number;
  type: (typeof SEMANTIC_TOKEN_TYPES)[number];
  modifiers: (typeof SEMANTIC_TOKEN_MODIFIERS)[number][];
}

/** The modifiers of a token that is a site's mnemonic or invocation. */
function siteModifiers(site: MappedSite | undefined): SemanticToken["modifiers"] {
  const mods: SemanticToken["modifiers"] = [];
  if (site) {
    mods.push("sensitive");
    if (site.entry.class === "privileged") mods.push("privileged");
    if (!site.annotated) mods.push("notAnnotated");
  }
  return mods;
}

/** Semantic tokens for lines [from, to): mnemonics (sensitive ones marked), registers, directives, labels, macro calls. */
export function semanticTokens(an: AsmAnalysis, from = 0, to = an.lineCount): SemanticToken[] {
  to = Math.min(to, an.lineCount, an.maxLines);
  const out: SemanticToken[] = [];
  // Sites by where they start (a site starts at its mnemonic, or at the invocation that expands to it).
  const siteAt = new Map<string, MappedSite>();
  for (const s of an.sites()) {
    if (s.range.line < from || s.range.line >= to) continue;
    const k = `${s.range.line}:${s.range.start}`;
    if (!siteAt.has(k)) siteAt.set(k, s);
  }
  const macros = an.file.macros;
  for (const es of an.file.statements) {
    if (es.expansion !== undefined) continue;
    const line = an.sourceLine(es.line);
    if (line === undefined || line < from) continue;
    if (line >= to) break;
    const st = es.statement;
    const mapped = (sp: Span) => an.toSource(sp);
    if (st.kind === "instruction") {
      const sp = mapped(st.mnemonicSpan);
      if (sp === undefined || sp.end <= sp.start) continue;
      const isMacro = macros.has(st.mnemonic);
      // By the line the span maps to: a backslash-newline splice puts a statement's parts on the lines it joins.
      const mods = siteModifiers(siteAt.get(`${sp.line}:${sp.start}`));
      out.push({ line: sp.line, start: sp.start, length: sp.end - sp.start, type: isMacro || an.cppMacroAt(st.mnemonicSpan) !== undefined ? "macro" : "keyword", modifiers: mods });
      for (const op of st.operands) {
        if (op.kind !== "reg") continue;
        const r = mapped(op.span);
        if (r && r.end > r.start && an.cppMacroAt(op.span) === undefined) out.push({ line: r.line, start: r.start, length: r.end - r.start, type: "variable", modifiers: [] });
      }
    } else if (st.kind === "label") {
      const r = mapped(st.span);
      if (r && r.end > r.start) out.push({ line: r.line, start: r.start, length: Math.max(1, r.end - r.start - (an.lineText(r.line)[r.end - 1] === ":" ? 1 : 0)), type: st.name.startsWith(".L") || st.numeric ? "label" : "function", modifiers: ["declaration"] });
    } else if (st.kind === "directive") {
      const r = mapped(st.nameSpan);
      if (r && r.end > r.start) out.push({ line: r.line, start: r.start, length: r.end - r.start, type: macros.has(st.name) ? "macro" : "keyword", modifiers: [] });
    }
  }
  // Macro invocations: the statement list holds only what they expand to, the parsed lines hold the calls.
  const lines = an.file.lines;
  for (let line = Math.max(0, from); line < to; line++) {
    const pl = lines[an.offset + line];
    if (pl === undefined || pl.template || pl.skipped) continue;
    for (const st of pl.statements) {
      if (st.kind !== "instruction" || !macros.has(st.mnemonic)) continue;
      const sp = an.toSource(st.mnemonicSpan);
      if (sp === undefined || sp.end <= sp.start) continue;
      const mods = siteModifiers(siteAt.get(`${sp.line}:${sp.start}`));
      out.push({ line: sp.line, start: sp.start, length: sp.end - sp.start, type: "macro", modifiers: mods });
    }
  }
  out.sort((a, b) => a.line - b.line || a.start - b.start);
  // Tokens may not overlap.
  const clean: SemanticToken[] = [];
  for (const t of out) {
    if (t.line >= to) continue; // a statement begun in range can end on a line joined to it past the range
    const prev = clean[clean.length - 1];
    if (prev && prev.line === t.line && prev.start + prev.length > t.start) continue;
    clean.push(t);
  }
  return clean;
}

export interface CompletionInfo {
  label: string;
  kind: "instruction" | "register" | "directive" | "label" | "macro";
  detail?: string;
  documentation?: string;
  /** Text to insert when it differs from the label. */
  insertText?: string;
}

const COMMON_MNEMONICS = [
  "movl", "movw", "movb", "movq", "mov", "movzbl", "movzwl", "movsbl", "leal", "lea", "addl", "subl", "andl", "orl", "xorl", "cmpl", "testl",
  "incl", "decl", "negl", "notl", "shll", "shrl", "sarl", "roll", "rorl", "imull", "mull", "divl", "idivl", "pushl", "popl", "push", "pop",
  "call", "ret", "jmp", "je", "jne", "jz", "jnz", "jb", "jbe", "ja", "jae", "jl", "jle", "jg", "jge", "js", "jns", "loop", "nop", "xchgl",
  "cmpxchgl", "bsfl", "bsrl", "btl", "btsl", "btrl", "cld", "std", "rep", "stosl", "stosb", "movsl", "movsb", "cmpsb", "leave", "enter",
];

const DIRECTIVES = [
  ".section", ".text", ".data", ".bss", ".globl", ".global", ".type", ".size", ".long", ".word", ".byte", ".quad", ".ascii", ".asciz",
  ".string", ".balign", ".align", ".p2align", ".fill", ".skip", ".space", ".set", ".equ", ".macro", ".endm", ".rept", ".irp", ".endr",
  ".if", ".ifdef", ".else", ".endif", ".code16", ".code32", ".code64", ".include", ".pushsection", ".popsection", ".file", ".loc",
  ".afterburn_noannotate", ".afterburn_annotate", ".afterburn_memop",
];

/**
 * Labels a completion lists at most. An expansion can make a million (`.L\@:` in a `.rept`): past this,
 * only those starting with the typed word are listed, and the list says it is incomplete so that the
 * editor asks again as the word grows.
 */
export const LABEL_COMPLETIONS = 2_000;

/** Label completion items (see LABEL_COMPLETIONS); `incomplete` when some were left out. */
function labelCompletions(an: AsmAnalysis, word: string, accept: (name: string) => boolean, out: CompletionInfo[]): boolean {
  const labels = an.file.labels;
  const all = labels.size <= LABEL_COMPLETIONS;
  const prefix = word.toLowerCase();
  let listed = 0;
  for (const name of labels.keys()) {
    if (!accept(name) || (!all && !name.toLowerCase().startsWith(prefix))) continue;
    if (listed === LABEL_COMPLETIONS) return true;
    out.push({ label: name, kind: "label", detail: "label" });
    listed++;
  }
  return !all;
}

/** Completion items for the text before the cursor; `incomplete` when the editor should ask again as the word grows. */
export function completions(an: AsmAnalysis, line: number, character: number): { items: CompletionInfo[]; incomplete: boolean } {
  const before = an.lineText(line).slice(0, character);
  const word = /[A-Za-z0-9_.%$]*$/.exec(before)![0];
  if (word.startsWith("%")) {
    const items = registerNames().map((r) => {
      const k = registerKind(r);
      return { label: `%${r}`, kind: "register" as const, detail: k === "control" || k === "debug" ? `${k} register (moves are privileged)` : k === "segment" ? "segment register (loads/stores are sensitive)" : k ?? "register" };
    });
    return { items, incomplete: false };
  }
  const out: CompletionInfo[] = [];
  if (word.startsWith(".") || word === "") {
    for (const d of DIRECTIVES) out.push({ label: d, kind: "directive", detail: "directive", documentation: DIRECTIVE_DOCS[d] });
    if (word.startsWith(".")) {
      const incomplete = labelCompletions(an, word, (name) => name.startsWith("."), out);
      return { items: out, incomplete };
    }
  }
  const seen = new Set<string>();
  for (const m of MNEMONICS) {
    seen.add(m.mnemonic);
    out.push({ label: m.mnemonic, kind: "instruction", detail: m.note, documentation: `Catalogue: ${m.entries.map((e) => `\`${e}\``).join(", ")}` });
  }
  for (const m of COMMON_MNEMONICS) if (!seen.has(m)) out.push({ label: m, kind: "instruction", detail: "not sensitive" });
  for (const m of an.file.macros.values()) out.push({ label: m.name, kind: "macro", detail: `.macro ${m.params.map((p) => p.name).join(", ")}` });
  const incomplete = labelCompletions(an, word, (name) => !/^[0-9]+$/.test(name), out);
  return { items: out, incomplete };
}

/** The entry and padding of an instruction text in a mode (for quick checks from tests and tools). */
export function classifyText(an: AsmAnalysis, es: ExpandedStatement): { id: string; padding: number } | undefined {
  if (es.statement.kind !== "instruction") return undefined;
  const e = classify(es.statement, es.mode);
  return e ? { id: e.id, padding: paddingFor(e, es.mode) } : undefined;
}

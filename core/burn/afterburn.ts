// The afterburner transform: re-emit GNU as source with every sensitive instruction followed by
// NOP padding, bracketed by begin/end labels, and a {start, end} record in the non-allocated
// `.afterburn` section (the original's format: .long pairs in a 32-bit object, .quad in a 64-bit one;
// written .dc.a, which as sizes by the object, once the file names a code size).
//
// Everything a site needs is written on the site's own source line, joined with ';'. The output
// therefore has exactly the input's lines: `as -g` line info, cpp line markers and the editor's
// preview all stay aligned with the source without any mapping.

import { isAscii, isUtf8 } from "node:buffer";
import { closeSync, openSync } from "node:fs";
import { expansionStopped, isPrefixOnly, labelSource, LEX_INITIAL, parseAsm, parseLine, SYMBOL_DIRECTIVES } from "../asm/index.js";
import { altmacroLocals } from "../asm/expand.js";
import { byteValues, encodedInRun, isCodeSection, writtenAsData, type ByteRun } from "../asm/encoded.js";
import type {
  CodeMode,
  DirectiveStatement,
  MacroDefinition,
  ExpandedStatement,
  ExpansionOrigin,
  InstructionStatement,
  Operand,
  ParsedLine,
  Span,
} from "../asm/types.js";
import { classify, paddingFor } from "../isa/index.js";
import type { CatalogueEntry } from "../isa/types.js";
import { boundedMessage, boundedQuote } from "../asm/message.js";
import { memopKind, type MemopKind } from "./memop.js";
import { FileSplice, StringSplice, type Splice } from "./output.js";
import { namesRegister, scanSites } from "./prefilter.js";
import type { Site, SourcePosition } from "./site.js";

export interface BurnOptions {
  /** Code size when the file does not say (.code32/.code64). Default 32. */
  mode?: 32 | 64;
  /** Name used in sites and diagnostics. Default "<stdin>". */
  fileName?: string;
  /** false: find sites only, emit the input unchanged but for the afterburner's own directives (the original's -s). Default true. */
  annotate?: boolean;
  /** Always run the full parser, even where the fast path applies (tests compare the two). */
  fullParse?: boolean;
  /**
   * The input is what GNU as reads (cpp has run on it, as in afterburn-cc), though `fileName` names a
   * .c or .S source: a `#if 0` left in it (from an .include, an asm string) is a comment, not a conditional.
   */
  preprocessed?: boolean;
}

export interface BurnDiagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  severity: "error" | "warning" | "info";
  message: string;
  /** "parser": GNU as syntax the parser questions (as has the last word); "afterburner": the afterburner's own directives. */
  from: "parser" | "afterburner";
  /** The C or .S line the input line came from (cpp and gcc line markers, .loc), when known. */
  source?: SourcePosition;
}

/** Errors in the afterburner's own directives: the output would not be what the source asked for. */
export function hasAfterburnerErrors(r: BurnReport): boolean {
  return r.diagnostics.some((d) => d.severity === "error" && d.from === "afterburner");
}

/** What afterburning found, without the output. */
export interface BurnReport {
  sites: Site[];
  diagnostics: BurnDiagnostic[];
  /** The input already carried afterburner annotations; it was passed through unchanged. */
  alreadyAfterburned: boolean;
}

export interface BurnResult extends BurnReport {
  /** The afterburned source (identical to the input when annotate is false). */
  output: string;
}

/** Every record the transform writes opens its section this way; finding it means the input is already afterburned. */
export const RECORD_SECTION_OPEN = '.pushsection .afterburn,"",@progbits;';

interface Edit {
  start: number;
  end: number;
  text: string;
}

interface LineEdit extends Edit {
  line: number;
}

/**
 * What one annotated instruction becomes, given its text and the labels to use (referenced with
 * refSuffix: "b" for numeric labels). beginHere false: the begin label is defined before, at the
 * instruction's prefix on an earlier line.
 */
function siteText(insn: string, padding: number, section: string, mode: CodeMode, word: RecordWord, begin: string, end: string, refSuffix: string, beginHere = true): string {
  // Made of few pieces, the fixed ones kept: a large file has thousands of sites, and every piece
  // joined is an object to allocate (then to collect).
  return `${beginHere ? `${begin}: ` : ""}${insn}${paddingText(padding)}${end}${recordOpening(section, mode, word)}${begin}${refSuffix}, ${end}${refSuffix}; .popsection`;
}

/** What follows the instruction up to its end label: its padding, if any. */
const paddingTexts: string[] = [];
function paddingText(padding: number): string {
  if (!(padding > 0)) return "; ";
  if (!Number.isInteger(padding) || padding > 4096) return `; .fill ${padding},1,0x90; `;
  return (paddingTexts[padding] ??= `; .fill ${padding},1,0x90; `);
}

/**
 * A record's word. The reader sizes records by the object's ELF class (as --32 or --64), which a
 * .code16/.code32/.code64 directive does not change. Until the file names a code size, -m32/-m64 is
 * the code size as starts in, so its class: .long or .quad (the original's format). After one, the
 * class is not known here: `.dc.a`, which GNU as sizes by the object's class (a .quad in an --32
 * object is an error; a .long in an --64 one misaligns every record after it). Every record is then
 * 2 words of the object's size, so the .balign never pads.
 */
type RecordWord = ".long" | ".quad" | ".dc.a";

/** From the end label's colon to the record's first label. */
const recordOpenings = new Map<string, string>();
function recordOpening(section: string, mode: CodeMode, word: RecordWord): string {
  const key = `${mode}${word}${section}`;
  let t = recordOpenings.get(key);
  if (t === undefined) {
    const wide = mode === 64;
    t = `:; .pushsection ${section},"",@progbits; .balign ${wide ? 8 : 4}; ${word} `;
    // Sections are few; a file naming thousands (generated names) only stops being cached.
    if (recordOpenings.size < 256) recordOpenings.set(key, t);
  }
  return t;
}

const NO_TEXT: readonly string[] = [];

function outermost(e: ExpansionOrigin): ExpansionOrigin {
  let o = e;
  while (o.parent) o = o.parent;
  return o;
}

function expansionName(e: ExpansionOrigin): string {
  return e.kind === "macro" ? (e.name ?? "macro") : `.${e.kind}`;
}

function instructionsOf(line: ParsedLine | undefined): InstructionStatement[] {
  if (!line) return [];
  return line.statements.filter((s): s is InstructionStatement => s.kind === "instruction");
}

/** Body text that depends on macro arguments or loop symbols cannot be classified before expansion. */
function isParametric(insn: InstructionStatement): boolean {
  return insn.text.includes("\\");
}

/** How the output is made from the input: the input with these edits spliced in (none: the input itself). */
type OutputPlan =
  | { kind: "same" }
  | { kind: "list"; list: readonly LineEdit[]; lineStarts: Map<number, number> }
  | { kind: "lines"; edits: Map<number, Edit[]> };

interface Burnt extends BurnReport {
  plan: OutputPlan;
}

/** Afterburns text; the output is one string. */
export function afterburn(text: string, options: BurnOptions = {}): BurnResult {
  const b = burn(text, options);
  return { output: outputString(text, b.plan), sites: b.sites, diagnostics: b.diagnostics, alreadyAfterburned: b.alreadyAfterburned };
}

/** An afterburn whose output is not made yet: sites and diagnostics first, then the output where it is needed. */
export interface PreparedBurn extends BurnReport {
  /** The output as one string: what afterburn() returns. */
  outputString(): string;
  /** The output as the bytes writeTo() writes (for an input of bytes that are not UTF-8, not outputString() in UTF-8). */
  outputBytes(): Buffer;
  /**
   * Writes the output at a descriptor's current position, or to a path (created or truncated): the
   * bytes writeFileSync(target, outputString()) writes, without ever making that string. Returns
   * the number of bytes written.
   */
  writeTo(target: number | string): number;
}

/**
 * Afterburns an input given as text or as the bytes of a UTF-8 file (decoded as
 * readFileSync(path, "utf8") decodes them). Pure ASCII bytes are kept: the output copies its
 * unchanged ranges from them, so they must stay unmodified until the output is written. Bytes that
 * are not UTF-8 (a Latin-1 `.ascii` string) are read one character per byte and written back as
 * they were, as GNU as takes them; decoded as UTF-8 they became U+FFFD in the object.
 */
export function prepareAfterburn(input: string | Uint8Array, options: BurnOptions = {}): PreparedBurn {
  let text: string;
  let bytes: Uint8Array | undefined;
  if (typeof input === "string") text = input;
  else {
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    // For ASCII, latin1 decodes to the same text as UTF-8, with byte offset = text offset (checked with SIMD: a fraction of a millisecond per MB).
    if (isAscii(buf) || !isUtf8(buf)) {
      text = buf.toString("latin1");
      bytes = buf;
    } else text = buf.toString("utf8");
  }
  const latin1 = bytes !== undefined && !isAscii(bytes);
  const b = burn(text, options);
  return {
    sites: b.sites,
    diagnostics: b.diagnostics,
    alreadyAfterburned: b.alreadyAfterburned,
    outputString: () => outputString(text, b.plan),
    outputBytes: () => Buffer.from(outputString(text, b.plan), latin1 ? "latin1" : "utf8"),
    writeTo(target: number | string): number {
      if (typeof target === "string") {
        const fd = openSync(target, "w");
        try {
          return this.writeTo(fd);
        } finally {
          closeSync(fd);
        }
      }
      const out = new FileSplice(target, text, bytes, bytes !== undefined || Buffer.byteLength(text, "utf8") === text.length);
      emit(text, b.plan, out);
      return out.finish();
    },
  };
}

function outputString(text: string, plan: OutputPlan): string {
  if (plan.kind === "same") return text;
  const out = new StringSplice(text);
  emit(text, plan, out);
  return out.result();
}

function emit(text: string, plan: OutputPlan, out: Splice): void {
  if (plan.kind === "same") out.copy(0, text.length);
  else if (plan.kind === "lines") spliceEdits(text, plan.edits, undefined, out);
  else if (inTextOrder(plan.list, plan.lineStarts)) spliceEditList(text.length, plan.list, plan.lineStarts, out);
  else spliceEdits(text, groupByLine(plan.list), plan.lineStarts, out);
}

/** Directives that put no bytes into the current section: a prefix before one still belongs to the instruction after it. */
const NO_BYTES_DIRECTIVE = /^\.(?:loc|loc_mark_labels|file|cfi_\w+|globl|global|local|weak|hidden|protected|internal|type|size)$/;

function burn(text: string, options: BurnOptions): Burnt {
  const fileName = options.fileName ?? "<stdin>";
  const annotate = options.annotate ?? true;
  const defaultMode = options.mode ?? 32;
  const diagnostics: BurnDiagnostic[] = [];
  const sites: Site[] = [];

  if (text.includes(RECORD_SECTION_OPEN)) {
    diagnostics.push({ file: fileName, line: 1, column: 1, severity: "warning", message: "input is already afterburned; passed through unchanged", from: "afterburner" });
    return { plan: { kind: "same" }, sites, diagnostics, alreadyAfterburned: true };
  }

  // GNU as ends lines at \n only: a lone \r is a blank to it, so `nop\r\thlt` is one statement (a nop
  // with the operand hlt), while the parser, like an editor, breaks the line there. What is written
  // after such a \r can then land inside as's comment or statement: the build must not pass.
  const loneCr = text.indexOf("\r") < 0 ? -1 : text.search(/\r(?!\n)/);
  if (loneCr >= 0 && annotate) {
    let line = 1;
    for (let at = text.indexOf("\n"); at >= 0 && at < loneCr; at = text.indexOf("\n", at + 1)) line++;
    diagnostics.push({
      file: fileName, line, column: loneCr - (text.lastIndexOf("\n", loneCr) + 1) + 1, severity: "error", from: "afterburner",
      message: "a carriage return without a line feed: GNU as reads it as a blank, not as a line break, so the lines around it would be afterburned as lines as does not see; convert the line endings to LF or CRLF",
    });
  }

  // Files without macros, conditionals or cpp leftovers (compiler output, preprocessed .S) take the fast path.
  const scan = options.fullParse === true ? undefined : scanSites(text, defaultMode);
  const parsed = scan
    ? { statements: scan.statements, lines: [] as ParsedLine[], macros: new Map<string, MacroDefinition>(), diagnostics: scan.diagnostics }
    : parseAsm(text, { mode: defaultMode, fileName, preprocessed: options.preprocessed });
  for (const d of parsed.diagnostics) {
    diagnostics.push({ file: fileName, line: d.span.line + 1, column: d.span.start + 1, severity: d.severity, message: boundedMessage(d.message), from: "parser" });
    // Sensitive instructions in what was not expanded would go unannotated: the build must not pass.
    if (expansionStopped(d.message) && annotate) {
      diagnostics.push({
        file: fileName, line: d.span.line + 1, column: d.span.start + 1, severity: "error", from: "afterburner",
        message: "the expansion stopped here, so sensitive instructions it would produce cannot be annotated; split the expansion (a smaller .rept or table) or generate it as plain lines",
      });
    }
  }

  const edits = new Map<number, Edit[]>();
  // The fast path's statements come in text order, so its edits do too: a list, no per-line grouping.
  const editList: LineEdit[] = [];
  const addEdit = (line: number, e: Edit) => {
    // Without annotation only the afterburner's own directives go (removals): as does not know them.
    if (!annotate && e.text !== "") return;
    if (scan) {
      editList.push({ line, start: e.start, end: e.end, text: e.text });
      return;
    }
    const list = edits.get(line);
    if (list) list.push(e);
    else edits.set(line, [e]);
  };
  const removeDirective = (d: DirectiveStatement, line: number) => addEdit(line, { start: d.span.start, end: d.span.end, text: "" });

  // .file/.loc from gcc -g output map compiler-generated instructions back to C lines.
  const locFiles = new Map<number, string>();
  let loc: SourcePosition | undefined;

  let annotating = true;
  // .long/.quad by -m32/-m64 until the file names a code size; then .dc.a (see RecordWord).
  let recordWord: RecordWord = defaultMode === 64 ? ".quad" : ".long";
  // Padding written per section since its last `.org` (a .org places code at a fixed offset).
  const paddedSinceOrg = new Map<string, { sites: number; bytes: number }>();
  const padded = (section: string, bytes: number) => {
    const p = paddedSinceOrg.get(section);
    if (p) {
      p.sites++;
      p.bytes += bytes;
    } else if (bytes > 0) paddedSinceOrg.set(section, { sites: 1, bytes });
  };
  let pendingMemop: { kind: MemopKind; remaining: number; line: number } | undefined;
  // `.byte` directives in a code section, read as the bytes of instructions (noteBytes).
  let byteRun: (ByteRun & { lastLine: number }) | undefined;
  let labelCounter = 0;
  const labelPrefix = uniqueLabelPrefix(text);
  let bodyLabels: [string, string] | undefined; // found when a body first needs them

  // Body lines (inside .macro/.rept/.irp) are annotated once, in the body; each expansion is a site.
  // bodyDecision: per body line, per instruction index: an entry if every expansion gets a record
  // (not necessarily the same one: `.irp c,0,3` over `mov %cr\c,%eax`), null if none does.
  const bodyDecisions = new Map<number, (CatalogueEntry | null | "mixed")[]>();
  // Per body line, per instruction index: the most padding any of its expansions needs (one body, one padding).
  const bodyPadding = new Map<number, number[]>();
  const bodyEdited = new Set<string>();
  // Under .altmacro GNU as substitutes a parameter written bare: one named as a word of the text a
  // body site gets (`b` of `9997b`) would change it. Per body line, such a name (of any of its expansions).
  const altmacroClashes = new Map<number, string>();
  const altmacro = /\.altmacro\b/i.test(text);

  // First pass over expansions: decide each parametric body instruction from what it expands to.
  const originKey = originKeys();
  const runIndex = new Map<string, number>();
  let lastRunKey = "";
  const runIdx: number[] = [];
  const expandedEntry: (CatalogueEntry | null)[] = [];
  // Per expanded instruction: the entry when this expansion gets a record (sensitive, and neither
  // 16-bit code nor a .afterburn_noannotate region, which the main pass leaves unannotated).
  const recordedEntry: (CatalogueEntry | null)[] = [];
  let annotatingHere = true;
  // Symbols set to a register (`.set CR, %cr3`; `mov %eax, CR` is a move to %cr3), in text order.
  const registerSymbols = new Map<string, string>();
  // The full path's classification of every instruction (the fast path bails on register symbols).
  const entryOf: (CatalogueEntry | null)[] = [];
  // The fast path yields no expansions: these two passes only matter for the full parser's output.
  if (!scan) parsed.statements.forEach((es, i) => {
    const st = es.statement;
    if (st.kind === "directive" && (st.name === ".afterburn_noannotate" || st.name === ".afterburn_annotate")) annotatingHere = st.name === ".afterburn_annotate";
    if (st.kind === "assignment") setSymbol(st.name, st.expr);
    else if (st.kind === "directive" && SYMBOL_DIRECTIVES.has(st.name) && st.argList.length === 2) setSymbol(st.argList[0]!, st.argList[1]!);
    if (st.kind !== "instruction") return;
    entryOf[i] = classifyWithSymbols(st, es.mode);
    if (!es.expansion) return;
    const inner = es.expansion;
    const idx = (runIdx[i] = advanceRun(es));
    const entry = (expandedEntry[i] = entryOf[i]);
    // A body annotated once pads every expansion: one that must stay unpadded makes the line mixed.
    const recorded = (recordedEntry[i] = annotatingHere && es.mode !== 16 ? entry : null);
    if (altmacro && !altmacroClashes.has(inner.bodyLine)) {
      const clash = altmacroClash(inner);
      if (clash !== undefined) altmacroClashes.set(inner.bodyLine, clash);
    }
    const decisions = bodyDecisions.get(inner.bodyLine) ?? [];
    const prev = decisions[idx];
    if (prev === undefined) decisions[idx] = recorded;
    else if (prev !== "mixed" && (prev === null) !== (recorded === null)) decisions[idx] = "mixed";
    bodyDecisions.set(inner.bodyLine, decisions);
    if (recorded) {
      const pads = bodyPadding.get(inner.bodyLine) ?? [];
      pads[idx] = Math.max(pads[idx] ?? 0, paddingFor(recorded, es.mode));
      bodyPadding.set(inner.bodyLine, pads);
    }
  });

  // A macro invocation that expands to a body instruction sensitive only for some arguments is
  // written out inline instead (as GNU as would expand it), so that exactly its sensitive
  // instructions are annotated. Only for macros without conditionals, whose expansion is exact here.
  // A top-level .rept/.irp/.irpc loop is written out the same way, on its directive's line; its
  // body and .endr lines keep their comments only (`loop`: the lines whose statements go).
  const inlined = new Map<string, { site: Span; parts: string[]; macro: boolean; loop?: LoopLines }>();
  /** Outermost invocations not inlined because of \@ in a macro nested inside them. */
  const nestedCounted = new Set<string>();
  if (!scan) parsed.statements.forEach((es, i) => {
    if (es.statement.kind !== "instruction" || !es.expansion) return;
    // Also a body whose record .altmacro would substitute into: written out, it is substituted no more.
    if (bodyDecisions.get(es.expansion.bodyLine)?.[runIdx[i]] !== "mixed" && !altmacroClashes.has(es.expansion.bodyLine)) return;
    if (!recordedEntry[i]) return; // this invocation's expansion gets no record: it stays a macro call
    const outer = outermost(es.expansion);
    const key = originKey(outer);
    if (inlined.has(key) || !chainIsExact(es.expansion)) return;
    if (outer.kind === "macro") inlined.set(key, { site: outer.site, parts: [], macro: true });
    else {
      const loop = exactLoop(outer.site);
      if (loop) inlined.set(key, { site: outer.site, parts: [], macro: false, loop });
    }
  });
  // GNU as numbers macro executions for \@; an invocation written out is one execution fewer, so a
  // macro of no body is invoked in its place (one `.macro` line defines it) to keep the later numbers.
  // Executions nested inside the inlined one cannot be counted here: those invocations stay calls.
  const countsExpansions = inlined.size > 0 && text.includes("\\@");
  if (countsExpansions) parsed.statements.forEach((es) => {
    if (!es.expansion) return;
    const key = originKey(outermost(es.expansion));
    if (!inlined.has(key)) return;
    for (let o: ExpansionOrigin | undefined = es.expansion; o?.parent; o = o.parent) {
      if (o.kind === "macro") {
        inlined.delete(key);
        nestedCounted.add(key);
        return;
      }
    }
  });

  // The prefix-only statements right before the current one (indices into parsed.statements).
  const noPrefixes: readonly number[] = [];
  let prefixRun = noPrefixes;
  parsed.statements.forEach((es, i) => {
    const st = es.statement;
    if (st.kind !== "label") noteBytes(es);
    const prefixes = prefixRun;
    // Labels, cpp or comment lines (`#undef`, line markers: comments to GNU as) and directives that
    // put no bytes in the section (`.loc`, `.cfi_*`) between a prefix and its instruction do not part
    // them: `rep` / `.loc 1 5` / `insl` assembles as `rep insl`.
    if (st.kind !== "label" && st.kind !== "preprocessor" && !(st.kind === "directive" && NO_BYTES_DIRECTIVE.test(st.name))) {
      prefixRun = isPrefixOnly(st) ? [...prefixes, i] : noPrefixes;
    }
    const inline = es.expansion ? inlined.get(originKey(outermost(es.expansion))) : undefined;
    if (st.kind === "directive") {
      const consumed = handleDirective(st, es);
      if (inline && !consumed && !STRUCTURAL.test(st.name)) inline.parts.push(st.args ? `${st.name} ${st.args}` : st.name);
      return;
    }
    if (inline && st.kind === "label") inline.parts.push(labelSource(st));
    if (inline && st.kind === "assignment") inline.parts.push(`${st.name} = ${st.expr}`);
    if (st.kind !== "instruction") return;

    let memop: MemopKind | undefined;
    // A prefix alone is part of the instruction after it: that one is the memory operation (padding
    // after a lone `rep` would part it from its movs and make it `rep nop`, which is pause).
    if (pendingMemop && !isPrefixOnly(st)) {
      memop = pendingMemop.kind;
      if (--pendingMemop.remaining === 0) pendingMemop = undefined;
    }
    const entry = scan ? classify(st, es.mode) : (entryOf[i] ?? undefined);
    if (!entry && !memop) {
      inline?.parts.push(st.text);
      return;
    }

    const position: SourcePosition = { file: fileName, line: es.line + 1, column: (es.expansion ? outermost(es.expansion).site.start : st.span.start) + 1 };
    const source = sourceOf(es);
    const padding = memop ? memop.padding : paddingFor(entry!, es.mode);
    const site: Site = {
      input: position,
      source,
      id: memop ? `memop.${memop.name}` : entry!.id,
      class: memop ? "memory" : entry!.class,
      text: st.text,
      mnemonic: st.mnemonic,
      mode: es.mode,
      section: es.section,
      padding: 0,
      annotated: false,
      annotationSection: memop ? memop.section : ".afterburn",
      expandedFrom: es.expansion ? expansionName(outermost(es.expansion)) : undefined,
    };
    sites.push(site);

    let reason: string | undefined;
    if (!annotate) reason = "annotation disabled (--no-annotate)";
    else if (!annotating) reason = ".afterburn_noannotate region";
    else if (es.mode === 16) reason = "16-bit code runs before any wedge is loaded";
    if (reason) {
      site.reason = reason;
      inline?.parts.push(st.text);
      return;
    }

    if (!es.expansion || inline) {
      // Prefix-only statements right before it: those of the same inlined expansion join its text;
      // the others must be plain source lines, and the begin label goes on the first of them.
      const inside = inline
        ? prefixes.filter((j) => {
            const pe = parsed.statements[j].expansion;
            return pe !== undefined && inlined.get(originKey(outermost(pe))) === inline;
          })
        : noPrefixes;
      const outside = inside.length === 0 ? prefixes : prefixes.slice(0, prefixes.length - inside.length);
      if (outside.some((j) => parsed.statements[j].expansion !== undefined)) {
        unannotated(site, es.line, st.mnemonic, "a prefix from a macro or loop expansion precedes this instruction; write it on the instruction's line to have it annotated");
        inline?.parts.push(st.text);
        return;
      }
      const n = labelCounter++;
      const begin = `${labelPrefix}${n}`;
      const end = `${labelPrefix}${n}_end`;
      const joined = inline ? inline.parts.splice(inline.parts.length - inside.length, inside.length) : NO_TEXT;
      if (outside.length > 0) {
        const first = parsed.statements[outside[0]];
        addEdit(first.line, { start: first.statement.span.start, end: first.statement.span.start, text: `${begin}: ` });
      }
      // A prefix written as a statement of its own stays one (`lock; pushl %ds`): joined to the
      // instruction, GNU as checks the pair (`lock pushl` is an error) and sizes operands by it (data16).
      const annotated = siteText(joined.length > 0 ? [...joined, st.text].join("; ") : st.text, padding, site.annotationSection, es.mode, recordWord, begin, end, "", outside.length === 0);
      if (inline) inline.parts.push(annotated);
      else addEdit(es.line, { start: st.span.start, end: st.span.end, text: annotated });
      site.padding = padding;
      site.annotated = true;
      site.label = begin;
      padded(es.section, padding);
      return;
    }

    // From an expansion: annotate the body line once; every expansion then carries its own record.
    const inner = es.expansion;
    const idx = runIdx[i];
    const raw = instructionsOf(parsed.lines[inner.bodyLine])[idx];
    const decision = bodyDecisions.get(inner.bodyLine)?.[idx];
    if (!raw || (decision === "mixed" && !memop)) {
      const why = nestedCounted.has(originKey(outermost(inner))) ? "a macro invoked inside it would number \\@ differently" : "conditionals or a loop around it";
      site.reason = raw
        ? `${expansionName(inner)}: this body instruction is sensitive in some expansions only; the expansion could not be written out exactly (${why}); write the sensitive form outside the ${inner.kind === "macro" ? "macro" : "loop"} to have it annotated`
        : "expanded from text the afterburner cannot rewrite (outside this file)";
      diagnostics.push({ file: fileName, line: inner.bodyLine + 1, column: (raw?.span.start ?? 0) + 1, severity: "warning", message: `${st.mnemonic}: not annotated: ${site.reason}`, from: "afterburner" });
      return;
    }
    const clash = altmacroClashes.get(inner.bodyLine);
    if (clash !== undefined) {
      unannotated(site, es.line, st.mnemonic, `${expansionName(inner)}: under .altmacro GNU as would substitute the parameter '${clash}' into the record the afterburner writes in the body (its words: ${[...SITE_TEXT_WORDS].join(", ")}); rename the parameter to have it annotated`);
      return;
    }
    // Prefixes alone before it: in the same body, the record begins at the first; from outside the
    // body (a `rep` line before a macro call), the body cannot say where its record begins.
    const prefixRaws = prefixes.map((j) => {
      const pe = parsed.statements[j];
      return pe.expansion && originKey(pe.expansion) === originKey(inner) ? { line: pe.expansion.bodyLine, raw: instructionsOf(parsed.lines[pe.expansion.bodyLine])[runIdx[j]] } : undefined;
    });
    if (prefixRaws.some((p) => !p?.raw)) {
      unannotated(site, es.line, st.mnemonic, `${expansionName(inner)}: a prefix written outside the ${inner.kind === "macro" ? "macro" : "loop"} body precedes this instruction; write it on the instruction's line to have it annotated`);
      return;
    }
    // The body is written once for every expansion: with the room the largest of them needs.
    const bodyPad = memop ? padding : (bodyPadding.get(inner.bodyLine)?.[idx] ?? padding);
    const key = `${inner.bodyLine}:${raw.span.start}`;
    if (!bodyEdited.has(key)) {
      bodyEdited.add(key);
      const first = prefixRaws[0];
      // Numeric local labels: unique per expansion, as the original did inside macros.
      const [begin, end] = (bodyLabels ??= unusedNumericLabels(text));
      if (first) addEdit(first.line, { start: first.raw!.span.start, end: first.raw!.span.start, text: `${begin}: ` });
      addEdit(inner.bodyLine, {
        start: raw.span.start,
        end: raw.span.end,
        text: siteText(raw.text, bodyPad, site.annotationSection, es.mode, recordWord, begin, end, "b", first === undefined),
      });
    }
    site.padding = bodyPad;
    site.annotated = true;
    padded(es.section, bodyPad);
  });

  let bump = "";
  for (const { site, parts, macro, loop } of inlined.values()) {
    if (loop) {
      // The body is assembled from the text written on the directive's line: its own lines keep only comments.
      for (let line = loop.first; line <= loop.endr; line++) {
        for (const st of parsed.lines[line]?.statements ?? []) {
          if (!bodyEdited.has(`${line}:${st.span.start}`)) addEdit(line, { start: st.span.start, end: st.span.end, text: "" });
        }
      }
    }
    if (countsExpansions && macro) {
      const call = bump || `${labelPrefix.slice(1)}count_expansion`;
      parts.unshift(bump ? call : `.macro ${call}; .endm; ${call}`);
      bump = call;
    }
    addEdit(site.line, { start: site.start, end: site.end, text: parts.join("; ") });
  }

  flushBytes();

  if (pendingMemop) {
    diagnostics.push({ file: fileName, line: pendingMemop.line + 1, column: 1, severity: "warning", message: `.afterburn_memop ${pendingMemop.kind.name}: no instruction followed it`, from: "afterburner" });
  }

  let plan: OutputPlan = { kind: "same" };
  if (scan && editList.length > 0) plan = { kind: "list", list: editList, lineStarts: scan.lineStarts };
  else if (edits.size > 0) plan = { kind: "lines", edits };
  return { plan, sites, diagnostics, alreadyAfterburned: false };

  /**
   * Index of an expanded instruction among the instructions of its body line. Expansions of one
   * body line arrive consecutively; successive .rept iterations wrap around the line's count.
   */
  function advanceRun(es: ExpandedStatement): number {
    const inner = es.expansion!;
    const key = `${inner.bodyLine}|${originKey(inner)}`;
    const perLine = Math.max(1, instructionsOf(parsed.lines[inner.bodyLine]).length);
    const idx = key === lastRunKey ? ((runIndex.get(key) ?? -1) + 1) % perLine : 0;
    runIndex.set(key, idx);
    lastRunKey = key;
    return idx;
  }

  function setSymbol(name: string, value: string): void {
    if (namesRegister(value)) registerSymbols.set(name, value.trim().slice(1).toLowerCase());
    else registerSymbols.delete(name);
  }

  /** classify(), with operands that name a register symbol read as that register. */
  function classifyWithSymbols(st: InstructionStatement, mode: CodeMode): CatalogueEntry | null {
    const direct = classify(st, mode);
    if (direct || registerSymbols.size === 0) return direct ?? null;
    let named = false;
    const operands = st.operands.map((op): Operand => {
      const reg = op.kind === "mem" && op.bare ? registerSymbols.get(op.disp) : undefined;
      if (reg === undefined) return op;
      named = true;
      return { kind: "reg", reg, span: op.span, indirect: false };
    });
    return named ? (classify({ ...st, operands }, mode) ?? null) : null;
  }

  /** Directives the afterburner consumes must go from macro bodies too, or `as` would reject them. */
  function removeConsumed(d: DirectiveStatement, es: ExpandedStatement): void {
    if (!es.expansion) {
      removeDirective(d, es.line);
      return;
    }
    const bodyLine = es.expansion.bodyLine;
    for (const raw of parsed.lines[bodyLine]?.statements ?? []) {
      if (raw.kind !== "directive" || raw.name !== d.name) continue;
      const key = `${bodyLine}:${raw.span.start}`;
      if (bodyEdited.has(key)) continue;
      bodyEdited.add(key);
      removeDirective(raw, bodyLine);
    }
  }

  /** The site stays unannotated, with a warning at its line saying why. */
  function unannotated(site: Site, line: number, mnemonic: string, reason: string): void {
    site.reason = reason;
    diagnostics.push({ file: fileName, line: line + 1, column: site.input.column, severity: "warning", message: `${mnemonic}: not annotated: ${reason}`, from: "afterburner", source: site.source });
  }

  function sourceOf(es: ExpandedStatement): SourcePosition | undefined {
    if (es.origin) return { file: es.origin.file, line: es.origin.line, column: 0 };
    return loc;
  }

  /** Returns true when the directive is the afterburner's own and must not reach `as`. */
  /** The afterburner's own diagnostic at a directive. */
  function directiveProblem(d: DirectiveStatement, es: ExpandedStatement, severity: "error" | "warning", message: string): void {
    diagnostics.push({ file: fileName, line: es.line + 1, column: d.span.start + 1, severity, message, from: "afterburner", source: sourceOf(es) });
  }

  function handleDirective(d: DirectiveStatement, es: ExpandedStatement): boolean {
    switch (d.name) {
      case ".afterburn_noannotate":
        annotating = false;
        removeConsumed(d, es);
        return true;
      case ".afterburn_annotate":
        annotating = true;
        removeConsumed(d, es);
        return true;
      case ".afterburn_memop": {
        const [name, countText] = d.argList;
        const kind = memopKind(name ?? "");
        const count = countText === undefined ? 1 : Number(countText);
        if (!kind || !Number.isInteger(count) || count < 1 || count > 8) {
          directiveProblem(d, es, "error", kind ? `.afterburn_memop ${name}: count must be 1–8` : `.afterburn_memop: unknown kind '${name ?? ""}'`);
        } else {
          pendingMemop = { kind, remaining: count, line: es.line };
        }
        removeConsumed(d, es);
        return true;
      }
      case ".include":
        // GNU as reads the file when it assembles; the afterburner never sees its instructions.
        if (annotate) {
          directiveProblem(d, es, "warning", `.include ${boundedQuote(d.args)}: the included file is not afterburned, so sensitive instructions in it get no records; use cpp's #include in a .S file, or afterburn the included file and include that`);
        }
        return false;
      case ".code16":
      case ".code16gcc":
      case ".code32":
      case ".code64":
        recordWord = ".dc.a";
        return false;
      case ".intel_syntax":
      case ".att_syntax": {
        // The parser reads AT&T operands only: in Intel order, or without % on registers, `mov cr3, eax`
        // is no control-register move, so sensitive instructions would pass unannotated.
        const [form] = d.argList;
        const readable = d.name === ".att_syntax" && (form === undefined || form.toLowerCase() === "prefix");
        if (!readable) {
          directiveProblem(d, es, "error", `${boundedQuote(`${d.name}${d.args ? ` ${d.args}` : ""}`)}: the afterburner reads AT&T syntax only (with % on registers), so sensitive instructions up to the next .att_syntax would be missed; write this code in AT&T syntax`);
        }
        return false;
      }
      case ".org": {
        const p = paddedSinceOrg.get(es.section);
        if (p) {
          directiveProblem(
            d, es, "warning",
            `.org after ${p.sites} padded site${p.sites === 1 ? "" : "s"} in ${es.section} (${p.bytes} bytes of NOP padding since the section began or its last .org): ` +
              'the code after them moves, so GNU as fails with "attempt to move .org backwards" where it now runs past this .org, ' +
              "and elsewhere the .org leaves less room; put fixed-layout code in .afterburn_noannotate or give the .org that much more room",
          );
        }
        paddedSinceOrg.delete(es.section);
        return false;
      }
      case ".file": {
        // `.file 1 "foo.c"` or `.file 1 "dir" "foo.c" [md5 …]` (DWARF file table: a second string is
        // the file, the first its directory) — a plain `.file "foo.c"` names the unit only.
        const m = /^(\d+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"((?:[^"\\]|\\.)*)")?/.exec(d.args);
        if (m) {
          const [, n, first, second] = m;
          const file = second === undefined ? first! : second.startsWith("/") || first === "" ? second : `${first!.replace(/\/+$/, "")}/${second}`;
          locFiles.set(Number(n), file);
        }
        return false;
      }
      case ".loc": {
        const [f, l, c] = d.args.split(/\s+/).map(Number);
        const file = locFiles.get(f);
        loc = file && l > 0 ? { file, line: l, column: Number.isFinite(c) ? c : 0 } : undefined;
        return false;
      }
    }
    return false;
  }

  /**
   * The lines of a top-level loop that opens at `site`, when writing it out reproduces it exactly:
   * nothing else on its directive's or its .endr's line, no conditionals or definitions in its body.
   */
  function exactLoop(site: Span): LoopLines | undefined {
    const open = parsed.lines[site.line]?.statements ?? [];
    if (open.length !== 1) return undefined;
    let depth = 1;
    for (let line = site.line + 1; line < parsed.lines.length; line++) {
      const pl = parsed.lines[line]!;
      for (const st of pl.statements) {
        if (st.kind === "preprocessor") return undefined;
        if (st.kind !== "directive") continue;
        if (INEXACT_LOOP_DIRECTIVE.test(st.name)) return undefined;
        if (/^\.(rept|irpc?)$/.test(st.name)) depth++;
        else if (st.name === ".endr" && --depth === 0) return pl.statements.length === 1 ? { first: site.line + 1, endr: line } : undefined;
      }
    }
    return undefined;
  }

  /**
   * Follows runs of `.byte` directives in code sections (consecutive statements, lines next to each
   * other on the fast path, which lists only some lines): each sensitive instruction their bytes
   * encode becomes a site, not annotated (see encoded.ts), with a warning naming it.
   */
  function noteBytes(es: ExpandedStatement): void {
    const st = es.statement;
    const values = st.kind === "directive" && st.name === ".byte" && isCodeSection(es.section) ? byteValues(st.argList) : undefined;
    const run = byteRun;
    if (values === undefined || (run && (run.section !== es.section || run.mode !== es.mode || (scan && !nothingBetween(run.lastLine, es.line))))) flushBytes();
    if (values === undefined || values.length === 0) return;
    const r = (byteRun ??= { section: es.section, mode: es.mode, lastLine: es.line, bytes: [], pieces: [] });
    r.pieces.push({ es, from: r.bytes.length, count: values.length });
    r.bytes.push(...values);
    r.lastLine = es.line;
  }

  /**
   * On the fast path, which lists only some lines: whether the lines strictly between two listed
   * ones hold nothing that parts a `.byte` run in the full parser (blanks, comments and labels do
   * not). Parsed here, only while a run is open.
   */
  function nothingBetween(from: number, to: number): boolean {
    if (to <= from + 1) return true;
    const starts = scan!.lineStarts;
    const a = starts.get(from);
    const b = starts.get(to);
    if (a === undefined || b === undefined) return false;
    const between = text.slice(a, b).split("\n").slice(1, -1);
    return between.every((line, k) => parseLine(line.endsWith("\r") ? line.slice(0, -1) : line, from + 1 + k, LEX_INITIAL).parsed.statements.every((st) => st.kind === "label"));
  }

  function flushBytes(): void {
    const run = byteRun;
    byteRun = undefined;
    if (!run) return;
    for (const e of encodedInRun(run)) {
      const { found, es, text } = e;
      const st = es.statement as DirectiveStatement;
      const mnemonic = found.text.split(/\s/, 1)[0]!;
      const site: Site = {
        input: { file: fileName, line: es.line + 1, column: (es.expansion ? outermost(es.expansion).site.start : st.span.start) + 1 },
        source: sourceOf(es),
        id: found.entry.id,
        class: found.entry.class,
        text,
        mnemonic,
        mode: run.mode,
        section: run.section,
        padding: 0,
        annotated: false,
        annotationSection: ".afterburn",
        expandedFrom: es.expansion ? expansionName(outermost(es.expansion)) : undefined,
      };
      sites.push(site);
      unannotated(site, es.line, mnemonic, writtenAsData(e));
    }
  }

  /** A parameter, LOCAL or loop symbol of the chain named as a word of a body site's text, if any. */
  function altmacroClash(e: ExpansionOrigin): string | undefined {
    for (let o: ExpansionOrigin | undefined = e; o; o = o.parent) {
      const names: string[] = [];
      if (o.kind === "macro") {
        const def = parsed.macros.get((o.name ?? "").toLowerCase());
        if (def) {
          for (const p of def.params) names.push(p.name);
          for (const b of def.body) names.push(...(altmacroLocals(b.text) ?? []));
        }
      } else if (o.kind !== "rept") {
        const at = o.site;
        const d = parsed.lines[at.line]?.statements.find((x) => x.kind === "directive" && x.span.start === at.start);
        // A loop made by an expansion: its symbol is not at hand, so any word could be it.
        if (!d || d.kind !== "directive") return "b";
        names.push(/^\s*([^\s,]*)/.exec(d.args)![1]);
      }
      const hit = names.find((n) => SITE_TEXT_WORDS.has(n));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** True when every macro in the chain is free of conditionals and nested definitions. */
  function chainIsExact(e: ExpansionOrigin): boolean {
    for (let o: ExpansionOrigin | undefined = e; o; o = o.parent) {
      if (o.kind !== "macro") continue;
      const def = parsed.macros.get((o.name ?? "").toLowerCase());
      if (!def || def.body.some((b) => INEXACT_BODY.test(b.text))) return false;
    }
    return true;
  }
}

/** The words GNU as reads as names in what a body site becomes (siteText with numeric labels), apart from directives. */
const SITE_TEXT_WORDS: ReadonlySet<string> = new Set(["b", "x90", "progbits"]);

/** Directives in a loop body that make its expansion here possibly inexact (as INEXACT_BODY for macros). */
const INEXACT_LOOP_DIRECTIVE = /^\.(if\w*|else\w*|endif|exitm|macro|endm|endmacro|purgem)$/;

/** A top-level loop written out in place: its body lines and its .endr line. */
interface LoopLines {
  first: number;
  endr: number;
}

/** Directives that shape expansion rather than emit anything; never written into an inlined expansion. */
const STRUCTURAL = /^\.(if\w*|else\w*|endif|rept|irpc?|endr|macro|endm|exitm|purgem)$/;
/**
 * Macro bodies whose expansion this afterburner may not reproduce exactly. `LOCAL` (.altmacro) names
 * are GNU as's to number at each expansion: written out, they would be an unknown instruction.
 */
const INEXACT_BODY = /^\s*(?:\.(if\w*|else\w*|endif|exitm|macro|purgem)|local)\b/i;

/**
 * Names expansion chains (each level's kind, macro and invocation place) for one burn. A chain is
 * its innermost level's key with a number standing for the rest: spelled out level by level, a
 * recursive macro's 166,000 statements 100 levels deep made 300 MB of keys (8 s, mostly collecting them).
 */
function originKeys(): (o: ExpansionOrigin | undefined) => string {
  const ids = new Map<string, number>();
  // Enclosing levels are shared by every statement of an expansion: each is named once.
  const known = new WeakMap<ExpansionOrigin, number>();
  const idOf = (o: ExpansionOrigin): number => {
    let id = known.get(o);
    if (id === undefined) {
      const k = keyOf(o);
      id = ids.get(k);
      if (id === undefined) ids.set(k, (id = ids.size));
      known.set(o, id);
    }
    return id;
  };
  const keyOf = (o: ExpansionOrigin): string => `${o.kind}:${o.name ?? ""}@${o.site.line}.${o.site.start};${o.parent ? idOf(o.parent) : ""}`;
  return (o) => (o === undefined ? "" : keyOf(o));
}

/**
 * Whether the edits, listed in text order with their lines' start offsets known (the fast path),
 * can each splice in place. Anything else (an edit before the end of the previous one, a line
 * without a known start) goes the general way. Checked before any output is made: a file writer
 * cannot take back what it wrote.
 */
function inTextOrder(list: readonly LineEdit[], lineStarts: Map<number, number>): boolean {
  let copied = 0;
  for (const e of list) {
    const start = lineStarts.get(e.line);
    if (start === undefined || start + e.start < copied) return false;
    copied = start + e.end;
  }
  return true;
}

/** The output of edits that passed inTextOrder(). */
function spliceEditList(textLength: number, list: readonly LineEdit[], lineStarts: Map<number, number>, out: Splice): void {
  let copied = 0;
  for (const e of list) {
    const start = lineStarts.get(e.line)!;
    out.copy(copied, start + e.start);
    out.insert(e.text);
    copied = start + e.end;
  }
  out.copy(copied, textLength);
}

function groupByLine(list: readonly LineEdit[]): Map<number, Edit[]> {
  const edits = new Map<number, Edit[]>();
  for (const e of list) {
    const group = edits.get(e.line);
    if (group) group.push(e);
    else edits.set(e.line, [e]);
  }
  return edits;
}

/**
 * The text with each line's edits applied (right to left within a line), made of ranges of the
 * input and the edited lines. Lines are numbered as the parser splits them (\n, \r\n or a lone \r).
 */
function spliceEdits(text: string, edits: Map<number, Edit[]>, knownStarts: Map<number, number> | undefined, out: Splice): void {
  const order = [...edits.keys()].sort((a, b) => a - b);
  const lineEnd = lineEnds(text);
  let copied = 0; // text before this offset is out
  let walkLine = 0; // the line starting at walkAt
  let walkAt = 0;
  for (const line of order) {
    let start = knownStarts?.get(line);
    if (start === undefined) {
      while (walkLine < line && walkAt <= text.length) {
        walkAt = lineEnd(walkAt);
        walkAt += text.charCodeAt(walkAt) === 13 && text.charCodeAt(walkAt + 1) === 10 ? 2 : 1;
        walkLine++;
      }
      if (walkLine !== line || walkAt > text.length) continue; // no such line: nothing to edit
      start = walkAt;
    }
    const list = edits.get(line)!;
    // Most lines have one edit (an instruction replaced in place). Several (a prefix's label, a
    // removed directive, many sites on one long line) are written in text order, each once: applied
    // one by one to a copy of the line, a line of thousands of sites was copied thousands of times.
    const ordered = list.length === 1 ? list : inLineOrder(list);
    if (ordered !== undefined) {
      for (const e of ordered) {
        out.copy(copied, start + e.start);
        out.insert(e.text);
        copied = start + e.end;
      }
      continue;
    }
    const end = lineEnd(start);
    let s = text.slice(start, end);
    list.sort((a, b) => b.start - a.start);
    for (const e of list) s = s.slice(0, e.start) + e.text + s.slice(e.end);
    out.copy(copied, start);
    out.insert(s);
    copied = end;
  }
  out.copy(copied, text.length);
}

/**
 * A line's edits in text order, as applying them right to left (last-listed first among those at one
 * column) writes them; undefined when two overlap, which only that one-by-one application defines.
 */
function inLineOrder(list: readonly Edit[]): Edit[] | undefined {
  // Reversed, then sorted by column: the sort is stable, so edits at one column end up last-listed first.
  const ordered = [...list].reverse().sort((a, b) => a.start - b.start);
  let at = 0;
  for (const e of ordered) {
    if (e.start < at || e.end < e.start) return undefined;
    at = e.end;
  }
  return ordered;
}

/**
 * The offset of the line break ending the line that starts at a given offset (text.length for the
 * last line). The next \n and \r found are kept while the offsets asked for do not go back: searched
 * afresh for every line, the rarer of the two was searched for to the end of the text each time.
 */
function lineEnds(text: string): (start: number) => number {
  const hasCr = text.indexOf("\r") >= 0;
  let from = -1;
  let nl = -1;
  let cr = -1;
  return (start) => {
    if (start < from) nl = cr = -1;
    from = start;
    if (nl < start) {
      nl = text.indexOf("\n", start);
      if (nl < 0) nl = text.length;
    }
    if (!hasCr) return nl;
    if (cr < start) {
      cr = text.indexOf("\r", start);
      if (cr < 0) cr = text.length;
    }
    return cr < nl ? cr : nl;
  };
}

/**
 * Two numeric local labels for macro and loop bodies that the input never writes: one the file
 * uses itself (`9998:` ... `jmp 9998b` in a body) would take the file's own references. Any digit
 * run counts, not only labels: a macro argument or .irp value can become a label.
 */
function unusedNumericLabels(text: string): [string, string] {
  const used = (n: number) => new RegExp(`(?<![0-9])0*${n}(?![0-9])`).test(text);
  const found: string[] = [];
  for (let n = 9997; found.length < 2; n++) if (!used(n)) found.push(String(n));
  return [found[0]!, found[1]!];
}

/** A label prefix that the input does not already use (so re-burning a hand-edited output cannot clash). */
function uniqueLabelPrefix(text: string): string {
  if (text.indexOf("_sens_") < 0) return ".Lab_sens_"; // a rarer needle: searching for it is faster
  let prefix = ".Lab_sens_";
  for (let i = 2; text.includes(prefix); i++) prefix = `.Lab${i}_sens_`;
  return prefix;
}


// An editable document for the language server: edits re-lex only the changed lines (and the
// following lines while the carried lexer state differs); the file-level passes are re-run lazily
// on the next read.

import type { AsmFile, ExpandedStatement, ExpansionOrigin, LabelDefinition, LexState, ParseDiagnostic, ParsedLine, ParseOptions, Span, Statement } from "./types.js";
import { expandedStatement } from "./expanded.js";
import { LEX_INITIAL, parseLine } from "./line.js";
import { analyseLinesDetailed, commentOpenLine, lexLines, splitLines } from "./parse.js";
import { expandedLineCost, LINE_NUMBERED_MESSAGE, macroArguments, MAX_EXPANDED_LINES, parseMacroHeader, STRUCTURAL_DIRECTIVES, substitute } from "./expand.js";

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

function moveSpan(span: Span, line: number): void {
  span.line = line;
}

function moveStatement(s: Statement, line: number): void {
  moveSpan(s.span, line);
  if (s.kind === "instruction") {
    moveSpan(s.mnemonicSpan, line);
    for (const p of s.prefixes) moveSpan(p.span, line);
    for (const o of s.operands) moveSpan(o.span, line);
  } else if (s.kind === "directive") moveSpan(s.nameSpan, line);
}

/** Renumbers a parsed line in place (its spans carry the line number). */
function relocate(pl: ParsedLine, line: number): void {
  for (const s of pl.statements) {
    // Prefix spans may be shared with the mnemonic span (lone prefixes), so every span is set, not shifted.
    moveStatement(s, line);
  }
  for (const d of pl.diagnostics) moveSpan(d.span, line);
}

/** An ordinary instruction (not a macro invocation) or a directive that changes no state (data, .globl, .cfi_*...). */
function isQuietStatement(s: ParsedLine["statements"][number], macros: ReadonlySet<string>): boolean {
  if (s.kind === "instruction") return !macros.has(s.mnemonic);
  if (s.kind === "directive") return !STRUCTURAL_DIRECTIVES.has(s.name) && !macros.has(s.name);
  return false;
}

/** A line whose change cannot affect how any other line is analysed: quiet statements only. */
function isQuiet(pl: ParsedLine, macros: ReadonlySet<string>): boolean {
  return pl.statements.every((s) => isQuietStatement(s, macros));
}

/**
 * A line next to which lines can be inserted without them landing in a macro or loop body or a
 * conditional: a quiet line, a label, or #APP / #NO_APP (whose state the following line records).
 */
function isPlainNeighbour(pl: ParsedLine, macros: ReadonlySet<string>): boolean {
  return pl.statements.every(
    (s) => s.kind === "label" || (s.kind === "preprocessor" && (s.directive === "app" || s.directive === "no_app")) || isQuietStatement(s, macros),
  );
}

/** Characters in a macro call's arguments (or its defaults) after which the patch does not follow a substitution. */
const UNSAFE_ARGUMENT = /[/*#;"'\\]/;

/** How many comment delimiters a line has: a substitution that changes it changes how the lines after parse. */
function commentMarks(text: string): number {
  let n = 0;
  for (let i = text.indexOf("/*"); i >= 0; i = text.indexOf("/*", i + 2)) n++;
  for (let i = text.indexOf("*/"); i >= 0; i = text.indexOf("*/", i + 2)) n += 1 << 16;
  return n;
}

/** A line that opens a `.rept`, `.irp` or `.irpc` body. */
function isLoopOpener(pl: ParsedLine): boolean {
  const s = pl.statements[0];
  return s !== undefined && s.kind === "directive" && (s.name === ".rept" || s.name === ".irp" || s.name === ".irpc");
}

function firstStatementAtOrAfter(statements: readonly ExpandedStatement[], line: number): number {
  let lo = 0;
  let hi = statements.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (statements[mid].line < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compareDiagnostics(a: ParseDiagnostic, b: ParseDiagnostic): number {
  return a.span.line - b.span.line || a.span.start - b.span.start;
}

/** See AsmDocument.lastStep. */
export type AnalysisStep =
  | { kind: "full"; version: number }
  | {
      kind: "patch";
      /** Version of the analysis patched. */
      base: number;
      version: number;
      /** Statements [lo, hi) of the old analysis (`removed`) became `added` statements from lo. */
      lo: number;
      hi: number;
      added: number;
      removed: ExpandedStatement[];
      /**
       * When set, the statements kept their places (added === hi - lo) and only these indices (in
       * ascending order) hold new ones: the rest of [lo, hi) are the same objects.
       */
      replaced?: number[];
      /** Lines [line, oldEnd) (old numbering) were replaced; lines from oldEnd moved by delta. */
      line: number;
      oldEnd: number;
      delta: number;
      /** Diagnostics of the replaced lines, and of the new ones. */
      dropped: ReadonlySet<ParseDiagnostic>;
      addedDiagnostics: readonly ParseDiagnostic[];
    };

/** An edit of a few lines: lines [start, start + count) replaced the `old` ones (parses and texts). */
interface Patch {
  start: number;
  old: ParsedLine[];
  oldTexts: string[];
  count: number;
}

/**
 * renumberFrom when no line moved. A small integer, not Infinity: V8 keeps a number that was ever
 * mixed with Infinity (Math.min(Infinity, j)) as a double, and a line number stored from it turns the
 * `line` field of every span and statement into a boxed double, which every later store allocates.
 */
const NO_RENUMBER = 0x3fffffff;

export class AsmDocument {
  private texts: string[];
  private parsed: ParsedLine[];
  private endStates: LexState[];
  private analysed: AsmFile | undefined;
  private lineModes: Uint8Array | undefined;
  private lineSections: string[] | undefined;
  private macroNames: ReadonlySet<string> = new Set();
  /** The last full pass read an `.altmacro`: body lines substitute bare names, which the body patches do not follow. */
  private altmacroUsed = false;
  /** Body lines the last full pass parsed for expansions (their spans follow line moves too). */
  private bodyParses: { line: number; parsed: ParsedLine }[] = [];
  private lineNumbersInMessages = false;
  private labelList: LabelDefinition[] = [];
  private unterminatedComment = false;
  /** Where the comment that never ends opens, when `unterminatedComment` (its error is reported there). */
  private commentOpenedAt = -1;
  /** An edit of a few lines since the last analysis, which may be patched in without a full pass. */
  private patch: Patch | undefined;
  /** The expansions' use of their budget in the current analysis, and whether the budget stopped one. */
  private expandedLines = 0;
  private expansionLimitReached = false;
  private stale = true;
  /** Document version the current analysis is for. */
  private analysedVersion = -1;
  /**
   * Parsed lines from here on may still carry the line numbers they had before lines were inserted or
   * deleted above them: they are renumbered (and the diagnostics re-sorted) on the next read of `file`.
   */
  private renumberFrom = NO_RENUMBER;
  private diagnosticsUnsorted = false;
  private readonly options: ParseOptions;
  /** Incremented by every change. */
  version = 0;
  /** Lines re-lexed by the last change (for tests and benchmarks). */
  lastRelexed = 0;

  constructor(text: string, options: ParseOptions = {}) {
    this.options = { ...options };
    this.texts = splitLines(text);
    const r = lexLines(this.texts);
    this.parsed = r.lines;
    this.endStates = r.endStates;
  }

  get lineCount(): number {
    return this.texts.length;
  }

  get text(): string {
    return this.texts.join("\n");
  }

  lineText(line: number): string {
    return this.texts[line] ?? "";
  }

  /** Whether the line ends inside a construct that runs into the next line (an open block comment, a continued cpp line). */
  runsOn(line: number): boolean {
    const s = this.endStates[line];
    return s !== undefined && s !== LEX_INITIAL;
  }

  /** The full analysis (computed on first read after a change). */
  get file(): AsmFile {
    const file = this.currentAnalysis();
    this.renumber();
    return file;
  }

  /**
   * The analysis of the current text, without first renumbering the spans of lines that moved when lines
   * were inserted or deleted above them. Current in it: the statement list and each statement's `line`,
   * expansion body lines, label, symbol and macro lines (and macro definition spans), the diagnostic
   * list's members; spans inside parsed lines may lag. For incremental consumers that go by those
   * (AsmAnalysis's sites); everything else reads `file`.
   */
  currentAnalysis(): AsmFile {
    if (!this.settle()) {
      this.analyseAll();
      this.lastStep = { kind: "full", version: this.version };
      this.analysedVersion = this.version;
      this.stale = false;
    }
    return this.analysed!;
  }

  /**
   * Brings the analysis up to date when a patch can stand for the changes since the last read (true);
   * false when only a full pass can, which is left to the next read. A caller with more changes
   * already waiting saves that pass: the next change could not be patched onto it anyway.
   */
  settle(maxBodyWork = Infinity): boolean {
    if (!this.stale) return true;
    const patch = this.patch;
    this.patch = undefined;
    // A patch in a loop or macro body rebuilds every iteration or call: past maxBodyWork expansion
    // units it is left to the full pass too (typing in a .rept 490000 body cost 0.7 s a key).
    const costly = patch !== undefined && this.expandedLines > maxBodyWork && this.inBody(patch);
    if (patch !== undefined && !costly && this.applyPatch(patch, this.analysedVersion)) {
      this.analysedVersion = this.version;
      this.stale = false;
      return true;
    }
    this.renumber();
    return false;
  }

  /** Renumbers the parsed lines that moved since they were lexed or last renumbered. */
  private renumber(): void {
    if (this.renumberFrom !== NO_RENUMBER) {
      const parsed = this.parsed;
      for (let k = this.renumberFrom; k < parsed.length; k++) relocate(parsed[k], k);
      this.renumberFrom = NO_RENUMBER;
    }
    if (this.diagnosticsUnsorted) {
      this.analysed?.diagnostics.sort(compareDiagnostics);
      this.diagnosticsUnsorted = false;
    }
  }

  /** Whether the next read of the analysis will redo it all (after settle() said no patch can stand for the changes). */
  get fullPassPending(): boolean {
    return this.stale && this.patch === undefined;
  }

  /** Whether the last read of the analysis was served by the few-line fast path (for tests). */
  lastAnalysisWasPatch = false;

  /**
   * How the analysis last changed, for callers that keep results derived from it (AsmAnalysis's sites):
   * either recomputed, or patched from the analysis of version `base`.
   */
  lastStep: AnalysisStep = { kind: "full", version: -1 };

  private analyseAll(): void {
    this.diagnosticsUnsorted = false;
    const r = analyseLinesDetailed(this.texts, this.parsed, this.endStates, this.options);
    this.analysed = r.file;
    this.lineModes = r.lineModes;
    this.lineSections = r.lineSections;
    this.macroNames = r.macroNames;
    this.altmacroUsed = r.altmacroUsed;
    this.bodyParses = r.bodyParses;
    this.lineNumbersInMessages = r.lineNumbersInMessages;
    this.labelList = r.labelList;
    this.unterminatedComment = r.unterminatedComment;
    this.commentOpenedAt = r.unterminatedComment ? commentOpenLine(this.endStates) : -1;
    this.expandedLines = r.expandedLines;
    this.expansionLimitReached = r.limitReached;
    this.lastAnalysisWasPatch = false;
  }

  /** Whether a patch edits a macro or loop body (or lands at its edge): applyPatch hands it to the body patches. */
  private inBody(patch: Patch): boolean {
    const { start, old, count } = patch;
    return old.length > 0 ? old[0].template === true : start > 0 && (this.parsed[start - 1].template === true || isLoopOpener(this.parsed[start - 1]) || this.parsed[start + count]?.template === true);
  }

  /**
   * Replaces the analysis of a few quiet lines in place of a full pass. Lines may have been inserted or
   * deleted: everything the analysis records after them is renumbered in place (the parsed lines
   * themselves were renumbered by applyChange).
   */
  private applyPatch(patch: Patch, base: number): boolean {
    const file = this.analysed;
    const lineModes = this.lineModes;
    const lineSections = this.lineSections;
    if (file === undefined || lineModes === undefined || lineSections === undefined) return false;
    const { start, old, count } = patch;
    const oldCount = old.length;
    const delta = count - oldCount;
    if (this.inBody(patch)) return this.applyLoopBodyPatch(patch, base) || this.applyMacroBodyPatch(patch, base);
    for (let k = 0; k < oldCount; k++) {
      const before = old[k];
      if (before.template || before.skipped || !isQuiet(before, this.macroNames)) return false;
    }
    for (let k = 0; k < count; k++) if (!isQuiet(this.parsed[start + k], this.macroNames)) return false;
    // The lines' file-level facts (origin, #APP, mode, section) are those in force where they are: of the
    // first replaced line, or for a pure insertion of the line now after them.
    const ref = oldCount > 0 ? old[0] : this.parsed[start + count];
    if (ref === undefined || start >= lineModes.length) return false;
    if (oldCount === 0) {
      // A pure insertion must land in plain code: between lines that are neither macro/loop bodies nor skipped.
      const prev = start > 0 ? this.parsed[start - 1] : undefined;
      for (const n of prev === undefined ? [ref] : [prev, ref]) if (n.template || n.skipped || !isPlainNeighbour(n, this.macroNames)) return false;
    }
    // Renumbering is exact only when no line-marker origin counts lines here and no message quotes a line number.
    if (delta !== 0 && (ref.origin !== undefined || this.lineNumbersInMessages || this.unterminatedComment)) return false;
    // The unterminated-comment error points at the `/*` that opens the last comment: made again when the
    // line where it opens, before the edit or after it, is among the edited ones (lines do not move here).
    if (this.unterminatedComment) {
      const open = commentOpenLine(this.endStates);
      if ((open >= start && open < start + count) || (this.commentOpenedAt >= start && this.commentOpenedAt < start + oldCount)) return false;
    }
    const statements = file.statements;
    const lo = firstStatementAtOrAfter(statements, start);
    const hi = firstStatementAtOrAfter(statements, start + oldCount);
    for (let k = lo; k < hi; k++) if (statements[k].expansion !== undefined) return false;
    const fresh: ExpandedStatement[] = [];
    const dropped = new Set<ParseDiagnostic>();
    const added: ParseDiagnostic[] = [];
    const mode = lineModes[start] as 16 | 32 | 64;
    const section = lineSections[start];
    for (let k = 0; k < oldCount; k++) for (const d of old[k].diagnostics) dropped.add(d);
    for (let k = 0; k < count; k++) {
      const line = start + k;
      // Nothing structural changed, so the file-level facts of these lines are those of the lines they replace.
      const like = delta === 0 ? old[k] : ref;
      const after = this.parsed[line];
      after.origin = delta === 0 ? like.origin : undefined;
      after.inApp = like.inApp;
      after.skipped = undefined;
      after.template = undefined;
      for (const d of after.diagnostics) added.push(d);
      for (const st of after.statements) {
        fresh.push(expandedStatement(st, line, mode, section, after.origin, after.inApp === true));
      }
    }
    const removed = statements.slice(lo, hi);
    // In place: the statement list is the document's own (a fresh copy of a long list costs more than the edit).
    // spliceInPlace: a line of 200,000 statements spread into splice's arguments overflowed the stack.
    spliceInPlace(statements, lo, hi - lo, fresh);
    if (delta !== 0) this.moveLines(file, statements, lo + fresh.length, start, oldCount, count);
    const diagnostics = dropped.size > 0 || added.length > 0 ? this.replaceDiagnostics(file.diagnostics, dropped, added) : file.diagnostics;
    this.analysed = { ...file, statements, diagnostics };
    this.lastAnalysisWasPatch = true;
    this.lastStep = { kind: "patch", base, version: this.version, lo, hi, added: fresh.length, removed, line: start, oldEnd: start + oldCount, delta, dropped, addedDiagnostics: added };
    return true;
  }

  /** The diagnostics without `dropped`, with `added`, in order. */
  private replaceDiagnostics(diagnostics: readonly ParseDiagnostic[], dropped: ReadonlySet<ParseDiagnostic>, added: readonly ParseDiagnostic[]): ParseDiagnostic[] {
    const out = diagnostics.filter((d) => !dropped.has(d)).concat(added);
    // Sorting goes by span lines, which may lag until renumbered: then it waits for that.
    if (this.renumberFrom === NO_RENUMBER) out.sort(compareDiagnostics);
    else this.diagnosticsUnsorted = true;
    return out;
  }

  /**
   * After lines [start, start + oldCount) became `count` lines: renumbers what the analysis records by
   * line from the edit on (statements from index `from`, expansion body lines, macros, body parses,
   * labels, symbols, the per-line mode and section).
   */
  private moveLines(file: AsmFile, statements: ExpandedStatement[], from: number, start: number, oldCount: number, count: number): void {
    const delta = count - oldCount;
    const mode = this.lineModes![start];
    const section = this.lineSections![start];
    const end = start + oldCount; // first line after the edit, old numbering
    for (let k = from; k < statements.length; k++) {
      const es = statements[k];
      if (es.line >= end) es.line += delta;
      // Each expanded statement has its own origin record (bodyLine), shared only with its label and site.
      const x = es.expansion;
      if (x !== undefined && x.bodyLine >= end) x.bodyLine += delta;
    }
    for (const m of file.macros.values()) {
      // The definition's span is kept current here (renumbering, and the
      // body-parse renumbering below for a macro defined by a macro, set the same value later).
      if (m.span.line >= end) m.span.line += delta;
      if (m.endLine >= end) m.endLine += delta;
      for (const b of m.body) if (b.line >= end) b.line += delta;
    }
    for (const b of this.bodyParses) {
      if (b.line >= end) {
        b.line += delta;
        relocate(b.parsed, b.line);
      }
    }
    // Label definitions were made in assembly order: only those from the edit on can move.
    const labels = this.labelList;
    let a = labels.length;
    while (a > 0 && labels[a - 1].line >= start) a--;
    for (let k = a; k < labels.length; k++) if (labels[k].line >= end) labels[k].line += delta;
    for (const d of file.symbols.values()) if (d.line >= end) d.line += delta;
    this.lineModes = spliceBytes(this.lineModes!, start, oldCount, count, mode);
    spliceInPlace(this.lineSections!, start, oldCount, new Array<string>(count).fill(section));
  }

  /**
   * An edit inside a `.rept`/`.irp`/`.irpc` or `.macro` body, with the body's first and last lines
   * around it (`open` and `close`: the lines that are not part of it); undefined where the body
   * patches cannot follow it (lines move while a message quotes a line number, or the expansion budget
   * stopped an expansion).
   */
  private bodyEdit(patch: Patch): (Patch & { oldCount: number; delta: number; end: number; oldEnd: number; open: number; close: number }) | undefined {
    const oldCount = patch.old.length;
    const delta = patch.count - oldCount;
    if (this.expansionLimitReached) return undefined;
    if (delta !== 0 && (this.lineNumbersInMessages || this.unterminatedComment)) return undefined;
    const end = patch.start + patch.count;
    const parsed = this.parsed;
    let open = patch.start - 1;
    while (open >= 0 && parsed[open].template === true) open--;
    let close = end;
    while (close < parsed.length && parsed[close].template === true) close++;
    if (open < 0 || close >= parsed.length) return undefined;
    return { ...patch, oldCount, delta, end, oldEnd: patch.start + oldCount, open, close };
  }

  /**
   * Replaces the analysis of lines edited, inserted or deleted inside the body of a `.rept`, `.irp` or
   * `.irpc` at top level (typing in a loop body otherwise re-expands the whole file: 17–140 ms on a
   * 20,000-line kernel file). Only a plain body qualifies: every line quiet and without a backslash
   * (nothing is substituted, so each iteration reuses the lines' own parses, as the expander does). The
   * loop's expansion is then its iterations of the body's statements: the old one is checked to be
   * exactly that, and the edited lines' statements are swapped in each iteration; the body lines'
   * diagnostics, which the expander reports at the loop, are made again.
   */
  private applyLoopBodyPatch(patch: Patch, base: number): boolean {
    const file = this.analysed!;
    const edit = this.bodyEdit(patch);
    if (edit === undefined) return false;
    const { start, old, oldTexts, count, oldCount, delta, end, oldEnd, open, close } = edit;
    const parsed = this.parsed;
    const texts = this.texts;
    if (this.altmacroUsed) return false;
    // `\name` and `&name` substitute (an .irp's symbol): a line with neither is the same in every iteration.
    const substitutes = (t: string): boolean => t.includes("\\") || t.includes("&");
    const plain = (i: number): boolean => this.endStates[i] === LEX_INITIAL && !substitutes(texts[i]) && isQuiet(parsed[i], this.macroNames);
    // Diagnostics of body lines are reported at the loop, their messages naming the body line: lines move
    // only in a file without such messages yet (checked above), so that only this loop's need making again.
    let withDiagnostics = false;
    for (let k = 0; k < oldCount; k++) {
      if (!old[k].template || old[k].skipped || substitutes(oldTexts[k]) || !isQuiet(old[k], this.macroNames)) return false;
      if (old[k].diagnostics.length > 0) withDiagnostics = true;
    }
    for (let i = start; i < end; i++) {
      if (!plain(i)) return false;
      if (parsed[i].diagnostics.length > 0) withDiagnostics = true;
    }
    // The body: the template lines around the edit, all plain; the opener and closer: one directive each.
    for (let i = open + 1; i < close; i++) if ((i < start || i >= end) && (parsed[i].skipped || !plain(i))) return false;
    const opener = parsed[open];
    const closer = parsed[close];
    if (opener.skipped || opener.template || opener.statements.length !== 1 || this.endStates[open] !== LEX_INITIAL) return false;
    if (closer.skipped || closer.statements.length !== 1) return false;
    if (delta !== 0 && opener.origin !== undefined) return false;
    const head = opener.statements[0];
    const tail = closer.statements[0];
    if (!isLoopOpener(opener) || head.kind !== "directive" || tail.kind !== "directive" || tail.name !== ".endr") return false;
    // The loop's statements: its directive, its expansion (reported on its line), then .endr's.
    const statements = file.statements;
    const at = firstStatementAtOrAfter(statements, open);
    if (statements[at]?.statement !== head) return false;
    const lo = at + 1;
    const hi = firstStatementAtOrAfter(statements, open + 1);
    const proto = statements[lo];
    const origin = proto?.expansion;
    if (hi <= lo || origin === undefined || origin.site !== head.span || origin.parent !== undefined) return false;
    // Copied: the statements' own records get their body lines moved below.
    const loop = { kind: origin.kind, site: origin.site };
    // The body's statements before the edit, by old line number.
    const closeBefore = close - delta;
    const statementsBefore = (i: number): readonly Statement[] => (i < start ? parsed[i].statements : i < oldEnd ? old[i - start].statements : parsed[i + delta].statements);
    let perIteration = 0;
    for (let i = open + 1; i < closeBefore; i++) perIteration += statementsBefore(i).length;
    if (perIteration === 0 || (hi - lo) % perIteration !== 0) return false;
    const iterations = (hi - lo) / perIteration;
    // Checked whole before anything changes: a failed check leaves the old analysis for the full pass.
    let k = lo;
    for (let it = 0; it < iterations; it++) {
      for (let i = open + 1; i < closeBefore; i++) {
        for (const st of statementsBefore(i)) {
          const es = statements[k++];
          if (es.statement !== st || es.expansion === undefined || es.expansion.site !== loop.site || es.expansion.bodyLine !== i || es.text !== undefined) return false;
        }
      }
    }
    // What an iteration costs of the expansion budget: one unit per body line (at least one), and each line's share.
    let costChange = Math.max(1, close - open - 1) - Math.max(1, closeBefore - open - 1);
    for (let j = 0; j < count; j++) costChange += expandedLineCost(parsed[start + j].statements.length, texts[start + j].length);
    for (let j = 0; j < oldCount; j++) costChange -= expandedLineCost(old[j].statements.length, oldTexts[j].length);
    const budget = this.expandedLines + iterations * costChange;
    if (budget > MAX_EXPANDED_LINES) return false;
    // The loop's sites and diagnostics are reported at the opener's span, which must be current (not waiting to be renumbered).
    if (this.renumberFrom <= close) for (let i = open; i <= close; i++) relocate(parsed[i], i);
    let diagnostics = file.diagnostics;
    const dropped = new Set<ParseDiagnostic>();
    const added: ParseDiagnostic[] = [];
    if (withDiagnostics) {
      // As the expander reports them: once per message, at the loop's directive, in body order.
      const prefix = `in expansion of .${loop.kind} (body line `;
      for (const d of diagnostics) {
        if (d.span.line !== head.span.line) continue;
        if (d.span !== head.span || !d.message.startsWith(prefix)) return false; // another diagnostic there: its order is the full pass's
        dropped.add(d);
      }
      const messages = new Set<string>();
      for (let i = open + 1; i < close; i++) {
        for (const d of parsed[i].diagnostics) {
          const message = `${prefix}${i + 1}): ${d.message}`;
          if (messages.has(message)) continue;
          messages.add(message);
          added.push({ span: head.span, message, severity: d.severity });
        }
      }
      diagnostics = this.replaceDiagnostics(diagnostics, dropped, added);
      // Typing a line right again takes its message away: lines may then move without a full pass.
      this.lineNumbersInMessages = added.length > 0 || diagnostics.some((d) => LINE_NUMBERED_MESSAGE.test(d.message));
    }
    const made = (st: Statement, i: number): ExpandedStatement => {
      const es = expandedStatement(st, open, proto.mode, proto.section, proto.origin, proto.inApp === true);
      // The fields in the order of the expander's records (one object shape).
      es.expansion = { kind: loop.kind, site: loop.site, bodyLine: i } satisfies ExpansionOrigin;
      return es;
    };
    const removed = statements.slice(lo, hi);
    let oldStatements = 0;
    for (let j = 0; j < oldCount; j++) oldStatements += old[j].statements.length;
    let newStatements = 0;
    for (let i = start; i < end; i++) newStatements += parsed[i].statements.length;
    let replaced: number[] | undefined;
    let fresh: ExpandedStatement[] | undefined;
    k = lo;
    if (delta === 0 && newStatements === oldStatements) {
      // As many statements as before (typing in an instruction): written in place in every iteration,
      // and only they are classified again (a loop of 30,000 iterations rebuilt whole cost 100 ms).
      replaced = [];
      for (let it = 0; it < iterations; it++) {
        for (let i = open + 1; i < start; i++) k += parsed[i].statements.length;
        for (let i = start; i < end; i++) {
          for (const st of parsed[i].statements) {
            statements[k] = made(st, i);
            replaced.push(k++);
          }
        }
        for (let i = end; i < close; i++) k += parsed[i].statements.length;
      }
    } else {
      fresh = [];
      for (let it = 0; it < iterations; it++) {
        for (let i = open + 1; i < start; i++) for (let n = parsed[i].statements.length; n > 0; n--) fresh.push(statements[k++]);
        k += oldStatements;
        for (let i = start; i < end; i++) for (const st of parsed[i].statements) fresh.push(made(st, i));
        for (let i = oldEnd; i < closeBefore; i++) {
          for (let n = parsed[i + delta].statements.length; n > 0; n--) {
            const es = statements[k++];
            es.expansion!.bodyLine += delta;
            fresh.push(es);
          }
        }
      }
      spliceInPlace(statements, lo, hi - lo, fresh);
    }
    for (let i = start; i < end; i++) {
      const after = parsed[i];
      // Counted by a line marker, a body line's origin is its own; lines do not move then (checked above).
      after.origin = delta === 0 ? old[i - start].origin : undefined;
      after.inApp = opener.inApp;
      after.skipped = undefined;
      after.template = true;
    }
    const addedStatements = fresh?.length ?? hi - lo;
    if (delta !== 0) this.moveLines(file, statements, lo + addedStatements, start, oldCount, count);
    this.expandedLines = budget;
    this.analysed = { ...file, statements, diagnostics };
    this.lastAnalysisWasPatch = true;
    this.lastStep = { kind: "patch", base, version: this.version, lo, hi, added: addedStatements, removed, replaced, line: start, oldEnd, delta, dropped, addedDiagnostics: added };
    return true;
  }

  /**
   * Replaces the analysis of lines typed, inserted or deleted in the body of a `.macro` at top level
   * (otherwise every keystroke there re-expands the whole file: about 25 ms on the 20,000-line kernel
   * file). Each call's expansion gets the edited lines' statements, substituted with that call's
   * arguments, in place of the old ones. Only when that is all that changes: no edited line using
   * `\\@`; the edited lines quiet and without diagnostics in every call, before and after; no body line that
   * can change how the body expands (no conditional, loop, `.exitm`, macro call or substituted
   * mnemonic); the macro defined once, never purged, and called only from top-level lines after it,
   * each call expanding to something; and no argument or default holding a character that could open
   * a comment, a string, a cpp line or another statement in the substituted text (`/`, `*`, `#`, `;`,
   * quotes, `\\`), and no substitution making or unmaking a comment.
   */
  private applyMacroBodyPatch(patch: Patch, base: number): boolean {
    const file = this.analysed!;
    if (this.altmacroUsed) return false;
    const edit = this.bodyEdit(patch);
    if (edit === undefined) return false;
    const { start, old, oldTexts, count, oldCount, delta, end, oldEnd, open, close } = edit;
    const parsed = this.parsed;
    const texts = this.texts;
    const macros = this.macroNames;
    // A statement that cannot change how a body expands, whatever is substituted around it.
    const plain = (st: Statement): boolean => {
      if (st.kind === "instruction") return !st.mnemonic.includes("\\") && !macros.has(st.mnemonic);
      if (st.kind === "directive") return !st.name.includes("\\") && !STRUCTURAL_DIRECTIVES.has(st.name);
      return st.kind === "label";
    };
    for (let k = 0; k < count; k++) if (texts[start + k].includes("\\@")) return false;
    for (let k = 0; k < oldCount; k++) {
      const before = old[k];
      if (!before.template || before.skipped || oldTexts[k].includes("\\@")) return false;
      // Quiet: no label goes (the labels and symbols stay as they are).
      if (!isQuiet(before, macros) || !before.statements.every(plain)) return false;
    }
    const opener = parsed[open];
    const closer = parsed[close];
    if (opener.skipped || opener.template || opener.statements.length !== 1 || closer.skipped || closer.statements.length !== 1) return false;
    const head = opener.statements[0];
    const tail = closer.statements[0];
    if (head.kind !== "directive" || head.name !== ".macro" || tail.kind !== "directive" || (tail.name !== ".endm" && tail.name !== ".endmacro")) return false;
    if (UNSAFE_ARGUMENT.test(head.args) || (delta !== 0 && opener.origin !== undefined)) return false;
    const name = parseMacroHeader(head.args).name;
    const def = file.macros.get(name);
    // The analysis is still in the numbering before the edit.
    const closeBefore = close - delta;
    if (def === undefined || def.span !== head.span || def.endLine !== closeBefore) return false;
    for (let i = open; i <= close; i++) {
      if (this.endStates[i] !== LEX_INITIAL || parsed[i].skipped) return false;
      if (i !== open && i !== close && !parsed[i].statements.every(plain)) return false;
    }
    // What the edited lines reported in the calls before: nothing, or the full pass makes it again.
    for (let i = start; i < oldEnd; i++) {
      const prefix = `in expansion of macro '${name}' (body line ${i + 1}): `;
      if (file.diagnostics.some((d) => d.message.startsWith(prefix))) return false;
    }
    // The calls: top-level lines after the definition. A call anywhere else, a second definition or a
    // .purgem sends the edit to the full pass.
    const calls: { line: number; site: Span; args: string }[] = [];
    for (let i = 0; i < parsed.length; i++) {
      const pl = parsed[i];
      for (const st of pl.statements) {
        if (st.kind === "directive" && ((st.name === ".macro" && i !== open && parseMacroHeader(st.args).name === name) || st.name === ".purgem")) return false;
        // A substituted mnemonic in any body can become a call of this macro (found by review: `\\a` with `p"…"`).
        if (pl.template && (i < open || i > close) && ((st.kind === "instruction" && st.mnemonic.includes("\\")) || (st.kind === "directive" && st.name.includes("\\")))) return false;
        if (st.kind !== "instruction" || st.mnemonic !== name) continue;
        if (pl.template || i < open) {
          if (pl.template && (i < open || i > close)) return false;
          continue;
        }
        if (pl.skipped) continue;
        const args = texts[i].slice(st.mnemonicSpan.end, st.span.end);
        if (UNSAFE_ARGUMENT.test(args)) return false;
        calls.push({ line: i, site: st.span, args });
      }
    }
    // The edited lines as one call expands them: their own parse when nothing is substituted, else the
    // substituted text's (once per text, as the expander's cache does), which must be as plain.
    const parses = new Map<string, ParsedLine>();
    const bodyParses: { line: number; parsed: ParsedLine }[] = [];
    const expandedAs = (i: number, sub: string): ParsedLine | undefined => {
      if (sub === texts[i]) return parsed[i];
      const key = `${i}:${sub}`;
      let pl = parses.get(key);
      if (pl === undefined) {
        const r = parseLine(sub, i, LEX_INITIAL);
        if (r.state !== LEX_INITIAL) return undefined;
        pl = r.parsed;
        parses.set(key, pl);
        bodyParses.push({ line: i, parsed: pl });
      }
      return pl;
    };
    // Each call's expansion: the run of statements on its line from it; checked to hold the edited lines' old statements.
    const statements = file.statements;
    const blocks: { from: number; to: number; cut: number; resume: number; made: { statement: Statement; line: number; text: string | undefined }[] }[] = [];
    let costChange = 0;
    for (const call of calls) {
      const callBefore = call.line - delta;
      let k = firstStatementAtOrAfter(statements, callBefore);
      while (k < statements.length && statements[k].line === callBefore && statements[k].expansion?.site !== call.site) k++;
      const from = k;
      let last = -1;
      let cut = -1;
      let resume = -1;
      for (; k < statements.length && statements[k].line === callBefore; k++) {
        const x = statements[k].expansion;
        if (x === undefined || x.site !== call.site) break;
        if (x.parent !== undefined || x.kind !== "macro" || x.name !== name || x.bodyLine < last || x.bodyLine <= open || x.bodyLine >= closeBefore) return false;
        last = x.bodyLine;
        if (cut < 0 && x.bodyLine >= start) cut = k;
        if (resume < 0 && x.bodyLine >= oldEnd) resume = k;
      }
      const to = k;
      if (to === from) return false;
      if (cut < 0) cut = to;
      if (resume < 0) resume = to;
      const values = macroArguments(def, call.args);
      const lookup = (n: string): string | undefined => values.get(n);
      // Substitution must not make or unmake a comment on any body line (`/\\()*`, `/\\a*` with an empty
      // argument): the lines after it would parse otherwise in this call.
      const sameComments = (t: string): boolean => !t.includes("\\") || commentMarks(substitute(t, lookup, 0)) === commentMarks(t);
      for (let i = open + 1; i < close; i++) if (!sameComments(texts[i])) return false;
      for (let j = 0; j < oldCount; j++) if (!sameComments(oldTexts[j])) return false;
      // And the call's expansion as it is holds nothing that changes how the body expands or in what mode.
      for (let x = from; x < to; x++) {
        const es = statements[x];
        if (!plain(es.statement) || es.mode !== statements[from].mode || es.section !== statements[from].section) return false;
      }
      const made: { statement: Statement; line: number; text: string | undefined }[] = [];
      let q = cut;
      let oldCost = 0;
      for (let j = 0; j < oldCount; j++) {
        const i = start + j;
        // Before: the file's own parse of the line (the same objects), or the substituted text's.
        const oldSub = substitute(oldTexts[j], lookup, 0);
        let n = 0;
        while (q + n < resume && statements[q + n].expansion!.bodyLine === i) n++;
        if (oldSub === oldTexts[j]) {
          if (n !== old[j].statements.length || old[j].diagnostics.length > 0) return false;
          for (let m = 0; m < n; m++) if (statements[q + m].statement !== old[j].statements[m] || statements[q + m].text !== undefined) return false;
        } else {
          for (let m = 0; m < n; m++) if (statements[q + m].text !== oldSub) return false;
        }
        q += n;
        oldCost += expandedLineCost(n, oldSub.length);
      }
      if (q !== resume) return false;
      costChange -= oldCost;
      for (let i = start; i < end; i++) {
        const sub = substitute(texts[i], lookup, 0);
        const after = expandedAs(i, sub);
        if (after === undefined || after.diagnostics.length > 0 || !isQuiet(after, macros) || !after.statements.every(plain)) return false;
        for (const st of after.statements) made.push({ statement: st, line: i, text: sub === texts[i] ? undefined : sub });
        costChange += expandedLineCost(after.statements.length, sub.length);
      }
      blocks.push({ from, to, cut, resume, made });
    }
    // Each call also costs one unit per body line (at least one).
    const budget = this.expandedLines + costChange + calls.length * (Math.max(1, close - open - 1) - Math.max(1, closeBefore - open - 1));
    if (budget > MAX_EXPANDED_LINES) return false;
    // The statements from the calls' first to their last (a macro never called: none, an empty range);
    // when lines move, from the edit on, as everything after it moves.
    const after = firstStatementAtOrAfter(statements, closeBefore);
    const lo = delta !== 0 ? after : blocks.length > 0 ? blocks[0].from : after;
    const hi = blocks.length > 0 ? blocks[blocks.length - 1].to : lo;
    const expanded = (sibling: ExpandedStatement, m: { statement: Statement; line: number; text: string | undefined }): ExpandedStatement => {
      const es = expandedStatement(m.statement, sibling.line, sibling.mode, sibling.section, sibling.origin, sibling.inApp === true);
      es.expansion = { ...sibling.expansion!, bodyLine: m.line };
      if (m.text !== undefined) es.text = m.text;
      return es;
    };
    const removed = statements.slice(lo, hi);
    // Lines move: the body's old lines go from what the analysis keeps by line, the rest is renumbered
    // (the new lines' statements, numbered already, come after).
    if (delta !== 0) {
      const kept = def.body.filter((b) => b.line < start || b.line >= oldEnd);
      this.bodyParses = this.bodyParses.filter((b) => b.line < start || b.line >= oldEnd);
      def.body.length = 0;
      def.body.push(...kept);
      this.moveLines(file, statements, after, start, oldCount, count);
      const at = def.body.findIndex((b) => b.line >= end);
      def.body.splice(at < 0 ? def.body.length : at, 0, ...Array.from({ length: count }, (_, j) => ({ text: texts[start + j], line: start + j })));
    }
    let replaced: number[] | undefined;
    let fresh: ExpandedStatement[] | undefined;
    if (delta === 0 && blocks.every((b) => b.resume - b.cut === b.made.length)) {
      // As many statements as before (typing in an instruction): written in place, the list keeps its length.
      replaced = [];
      for (const b of blocks) {
        const sibling = statements[b.from];
        for (let m = 0; m < b.made.length; m++) {
          statements[b.cut + m] = expanded(sibling, b.made[m]);
          replaced.push(b.cut + m);
        }
      }
    } else {
      fresh = [];
      let k = lo;
      for (const b of blocks) {
        while (k < b.cut) fresh.push(statements[k++]);
        const sibling = statements[b.from];
        for (const m of b.made) fresh.push(expanded(sibling, m));
        k = b.resume;
      }
      while (k < hi) fresh.push(statements[k++]);
      spliceInPlace(statements, lo, hi - lo, fresh);
    }
    for (let j = 0; j < count; j++) {
      const pl = parsed[start + j];
      // Counted by a line marker, a body line's origin is its own; lines do not move then (checked above).
      pl.origin = delta === 0 ? old[j].origin : undefined;
      pl.inApp = opener.inApp;
      pl.skipped = undefined;
      pl.template = true;
    }
    if (delta === 0) for (const b of def.body) if (b.line >= start && b.line < end) b.text = texts[b.line];
    // Sites are reported at the calls' spans, which must be current (not waiting to be renumbered), and
    // so must those of every statement after the edit when lines move (all of them are classified
    // again). After moveLines, which moves macro definitions' spans as not yet renumbered.
    if (this.renumberFrom <= (calls.length > 0 ? calls[calls.length - 1].line : close)) this.renumber();
    // The old substituted parses of the edited lines go; the new ones follow line moves from now on.
    this.bodyParses = this.bodyParses.filter((b) => b.line < start || b.line >= end).concat(bodyParses);
    this.expandedLines = budget;
    this.analysed = { ...file, statements };
    this.lastAnalysisWasPatch = true;
    this.lastStep = { kind: "patch", base, version: this.version, lo, hi, added: fresh?.length ?? hi - lo, removed, replaced, line: start, oldEnd, delta, dropped: new Set(), addedDiagnostics: [] };
    return true;
  }

  get lines(): ParsedLine[] {
    return this.file.lines;
  }

  get statements(): ExpandedStatement[] {
    return this.file.statements;
  }

  get diagnostics(): ParseDiagnostic[] {
    return this.file.diagnostics;
  }

  /**
   * Replaces lines [startLine, endLine) (end exclusive) with `newLines`. Out-of-range numbers are
   * clamped. Returns how many lines were re-lexed.
   */
  applyChange(startLine: number, endLine: number, newLines: readonly string[]): number {
    const n = this.texts.length;
    startLine = clamp(Math.trunc(startLine), 0, n);
    endLine = clamp(Math.trunc(endLine), startLine, n);
    const insert = newLines.map(String);
    if (startLine === 0 && endLine === n && insert.length > 16) {
      // The whole text replaced (opening a document): lex it in one pass into fresh arrays.
      const r = lexLines(insert);
      this.texts = insert;
      this.parsed = r.lines;
      this.endStates = r.endStates;
      this.renumberFrom = NO_RENUMBER;
      this.version++;
      this.patch = undefined;
      this.stale = true;
      this.lastRelexed = insert.length;
      return insert.length;
    }
    // Old lexer state at the start of the first line after the replaced range.
    let oldBoundary: LexState = endLine > 0 ? this.endStates[endLine - 1] : LEX_INITIAL;
    const delta = insert.length - (endLine - startLine);
    const replaced = this.parsed.slice(startLine, endLine);
    const replacedTexts = replaced.length <= 16 ? this.texts.slice(startLine, endLine) : undefined;
    spliceInPlace(this.texts, startLine, endLine - startLine, insert);
    spliceInPlace(this.parsed, startLine, endLine - startLine, new Array<ParsedLine>(insert.length));
    spliceInPlace(this.endStates, startLine, endLine - startLine, new Array<LexState>(insert.length));

    let state: LexState = startLine > 0 ? this.endStates[startLine - 1] : LEX_INITIAL;
    let relexed = 0;
    let j = startLine;
    for (; j < startLine + insert.length; j++) {
      const r = parseLine(this.texts[j], j, state);
      this.parsed[j] = r.parsed;
      this.endStates[j] = state = r.state;
      relexed++;
    }
    // Continue while the state entering the next line differs from what it was lexed with.
    const total = this.texts.length;
    while (j < total && state !== oldBoundary) {
      oldBoundary = this.endStates[j];
      const r = parseLine(this.texts[j], j, state);
      this.parsed[j] = r.parsed;
      this.endStates[j] = state = r.state;
      relexed++;
      j++;
    }
    // Lines after the edit moved: renumbered when next read (see renumber()).
    if (delta !== 0 && j < total && j < this.renumberFrom) this.renumberFrom = j;
    if (this.texts.length === 0) {
      // A document always has at least one (possibly empty) line, like an editor buffer.
      this.texts.push("");
      const r = parseLine("", 0, LEX_INITIAL);
      this.parsed.push(r.parsed);
      this.endStates.push(r.state);
    }
    this.version++;
    // An edit of a few lines that did not disturb the lexer state of later lines may be patched in.
    const patchable = !this.stale && this.analysed !== undefined && insert.length + replaced.length > 0 && insert.length <= 16 && replaced.length <= 16 && relexed === insert.length && state === oldBoundary && this.texts.length === total;
    this.patch = patchable ? { start: startLine, old: replaced, oldTexts: replacedTexts!, count: insert.length } : undefined;
    this.stale = true;
    this.lastRelexed = relexed;
    return relexed;
  }

  /** LSP-style edit: replaces the text in `range` (UTF-16 columns) with `text`. */
  applyEdit(range: Range, text: string): number {
    const n = this.texts.length;
    const sl = clamp(range.start.line, 0, n - 1);
    const el = clamp(range.end.line, sl, n - 1);
    const first = this.texts[sl];
    const last = this.texts[el];
    const sc = clamp(range.start.character, 0, first.length);
    const ec = el === sl ? clamp(range.end.character, sc, last.length) : clamp(range.end.character, 0, last.length);
    const merged = first.slice(0, sc) + text + last.slice(ec);
    return this.applyChange(sl, el + 1, splitLines(merged));
  }

  /** Replaces the whole text. */
  setText(text: string): void {
    this.applyChange(0, this.texts.length, splitLines(text));
  }
}

/** Replaces `removed` bytes at `start` with `count` copies of `value`, reusing the buffer when it has room. */
function spliceBytes(bytes: Uint8Array, start: number, removed: number, count: number, value: number): Uint8Array {
  const oldLen = bytes.length;
  const len = oldLen - removed + count;
  let full: Uint8Array;
  if (bytes.byteOffset + Math.max(len, oldLen) <= bytes.buffer.byteLength) full = new Uint8Array(bytes.buffer, bytes.byteOffset, Math.max(len, oldLen));
  else {
    full = new Uint8Array(len + 4096);
    full.set(bytes);
  }
  full.copyWithin(start + count, start + removed, oldLen);
  full.fill(value, start, start + count);
  return full.subarray(0, len);
}

/** `arr.splice(start, deleteCount, ...items)` without spreading a long list into arguments (which overflows the stack). */
export function spliceInPlace<T>(arr: T[], start: number, deleteCount: number, items: readonly T[]): void {
  if (items.length <= 4096) {
    arr.splice(start, deleteCount, ...items);
    return;
  }
  const tail = arr.slice(start + deleteCount);
  arr.length = start;
  for (let i = 0; i < items.length; i++) arr.push(items[i]);
  for (let i = 0; i < tail.length; i++) arr.push(tail[i]);
}

function clamp(v: number, lo: number, hi: number): number {
  if (!(v >= lo)) return lo;
  return v > hi ? hi : v;
}

// An editable document for the language server: edits re-lex only the changed lines (and the
// following lines while the carried lexer state differs); the file-level passes are re-run lazily
// on the next read.

import type { AsmFile, ExpandedStatement, LexState, ParseDiagnostic, ParsedLine, ParseOptions, Span, Statement } from "./types.js";
import { LEX_INITIAL, parseLine } from "./line.js";
import { analyseLinesDetailed, lexLines, splitLines } from "./parse.js";
import { STRUCTURAL_DIRECTIVES } from "./expand.js";

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

/**
 * A line whose change cannot affect how any other line is analysed: only ordinary instructions
 * (not macro invocations) and directives that change no state (data, .globl, .cfi_*...).
 */
function isQuiet(pl: ParsedLine, macros: ReadonlySet<string>): boolean {
  for (const s of pl.statements) {
    if (s.kind === "instruction") {
      if (macros.has(s.mnemonic)) return false;
    } else if (s.kind === "directive") {
      if (STRUCTURAL_DIRECTIVES.has(s.name) || macros.has(s.name)) return false;
    } else return false;
  }
  return true;
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

export class AsmDocument {
  private texts: string[];
  private parsed: ParsedLine[];
  private endStates: LexState[];
  private analysed: AsmFile | undefined;
  private lineModes: Uint8Array | undefined;
  private lineSections: string[] | undefined;
  private macroNames: ReadonlySet<string> = new Set();
  /** A same-size edit of a few lines since the last analysis, which may be patched in without a full pass. */
  private patch: { start: number; old: ParsedLine[] } | undefined;
  private stale = true;
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

  /** The full analysis (computed on first read after a change). */
  get file(): AsmFile {
    if (this.stale && !(this.patch !== undefined && this.applyPatch(this.patch))) this.analyseAll();
    this.stale = false;
    this.patch = undefined;
    return this.analysed!;
  }

  /** Whether the last read of the analysis was served by the one-line fast path (for tests). */
  lastAnalysisWasPatch = false;

  private analyseAll(): void {
    const r = analyseLinesDetailed(this.texts, this.parsed, this.endStates, this.options);
    this.analysed = r.file;
    this.lineModes = r.lineModes;
    this.lineSections = r.lineSections;
    this.macroNames = r.macroNames;
    this.lastAnalysisWasPatch = false;
  }

  /** Replaces the analysis of a few quiet lines in place of a full pass. */
  private applyPatch(patch: { start: number; old: ParsedLine[] }): boolean {
    const file = this.analysed;
    if (file === undefined || this.lineModes === undefined || this.lineSections === undefined) return false;
    const { start, old } = patch;
    const count = old.length;
    for (let k = 0; k < count; k++) {
      const before = old[k];
      const after = this.parsed[start + k];
      if (before.template || before.skipped || !isQuiet(before, this.macroNames) || !isQuiet(after, this.macroNames)) return false;
    }
    const lo = firstStatementAtOrAfter(file.statements, start);
    const hi = firstStatementAtOrAfter(file.statements, start + count);
    for (let k = lo; k < hi; k++) if (file.statements[k].expansion !== undefined) return false;
    const fresh: ExpandedStatement[] = [];
    const dropped = new Set<ParseDiagnostic>();
    const added: ParseDiagnostic[] = [];
    for (let k = 0; k < count; k++) {
      const line = start + k;
      const before = old[k];
      const after = this.parsed[line];
      // Nothing structural changed, so the file-level facts of this line are what they were.
      after.origin = before.origin;
      after.inApp = before.inApp;
      after.skipped = undefined;
      after.template = undefined;
      for (const d of before.diagnostics) dropped.add(d);
      for (const d of after.diagnostics) added.push(d);
      for (const st of after.statements) {
        const es: ExpandedStatement = { statement: st, line, mode: this.lineModes[line] as 16 | 32 | 64, section: this.lineSections[line] };
        if (after.origin !== undefined) es.origin = after.origin;
        if (after.inApp) es.inApp = true;
        fresh.push(es);
      }
    }
    const statements = file.statements.slice(0, lo).concat(fresh, file.statements.slice(hi));
    let diagnostics = file.diagnostics;
    if (dropped.size > 0 || added.length > 0) {
      diagnostics = diagnostics.filter((d) => !dropped.has(d)).concat(added);
      diagnostics.sort(compareDiagnostics);
    }
    this.analysed = { ...file, statements, diagnostics };
    this.lastAnalysisWasPatch = true;
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
    // Old lexer state at the start of the first line after the replaced range.
    let oldBoundary: LexState = endLine > 0 ? this.endStates[endLine - 1] : LEX_INITIAL;
    const delta = insert.length - (endLine - startLine);
    const replaced = this.parsed.slice(startLine, endLine);
    this.texts.splice(startLine, endLine - startLine, ...insert);
    this.parsed.splice(startLine, endLine - startLine, ...new Array<ParsedLine>(insert.length));
    this.endStates.splice(startLine, endLine - startLine, ...new Array<LexState>(insert.length));

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
    if (delta !== 0) for (let k = j; k < total; k++) relocate(this.parsed[k], k);
    if (this.texts.length === 0) {
      // A document always has at least one (possibly empty) line, like an editor buffer.
      this.texts.push("");
      const r = parseLine("", 0, LEX_INITIAL);
      this.parsed.push(r.parsed);
      this.endStates.push(r.state);
    }
    this.version++;
    // A same-size edit that did not disturb the lexer state of later lines may be patched in.
    const patchable = !this.stale && this.analysed !== undefined && delta === 0 && insert.length > 0 && insert.length <= 16 && relexed === insert.length;
    this.patch = patchable ? { start: startLine, old: replaced } : undefined;
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

function clamp(v: number, lo: number, hi: number): number {
  if (!(v >= lo)) return lo;
  return v > hi ? hi : v;
}

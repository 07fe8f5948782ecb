// Whole-file parsing: lex every line, then the file-level passes (cpp, expansion).

import type { AsmFile, LabelDefinition, LexState, ParseDiagnostic, ParsedLine, ParseOptions } from "./types.js";
import { LEX_INITIAL, parseLine } from "./line.js";
import { applyPreprocessor } from "./cpp.js";
import { derive } from "./expand.js";

/** Splits text into lines at \r\n, \r or \n (the LSP's line breaks). */
export function splitLines(text: string): string[] {
  return text.indexOf("\r") < 0 ? text.split("\n") : text.split(/\r\n|\r|\n/);
}

/** Whether cpp conditionals apply: everything except a plain `.s` file (which as reads without cpp). */
export function honoursPreprocessor(fileName: string | undefined): boolean {
  return fileName === undefined || !fileName.endsWith(".s");
}

function compareDiagnostics(a: ParseDiagnostic, b: ParseDiagnostic): number {
  return a.span.line - b.span.line || a.span.start - b.span.start;
}

/**
 * Runs the file-level passes over already-lexed lines. `endStates[i]` is the lexer state after line i.
 * Used by parseAsm and by AsmDocument after an incremental re-lex.
 */
export function analyseLines(texts: readonly string[], lines: ParsedLine[], endStates: readonly LexState[], options: ParseOptions = {}): AsmFile {
  return analyseLinesDetailed(texts, lines, endStates, options).file;
}

/** analyseLines plus the per-line state AsmDocument needs for its fast path. */
export function analyseLinesDetailed(
  texts: readonly string[], lines: ParsedLine[], endStates: readonly LexState[], options: ParseOptions = {},
): {
  file: AsmFile; lineModes: Uint8Array; lineSections: string[]; macroNames: ReadonlySet<string>; altmacroUsed: boolean;
  bodyParses: { line: number; parsed: ParsedLine }[]; lineNumbersInMessages: boolean; unterminatedComment: boolean;
  labelList: LabelDefinition[]; expandedLines: number; limitReached: boolean;
} {
  const cpp = applyPreprocessor(lines, options.preprocessed !== true && honoursPreprocessor(options.fileName));
  const d = derive({ texts, lines, mode: options.mode ?? 32, defines: cpp.defines });
  const diagnostics = cpp.diagnostics.concat(d.diagnostics);
  const n = lines.length;
  const unterminatedComment = n > 0 && endStates[n - 1].inBlockComment;
  if (unterminatedComment) {
    // Report where the comment that never ends began.
    const i = commentOpenLine(endStates);
    const at = texts[i].lastIndexOf("/*");
    const start = at < 0 ? 0 : at;
    diagnostics.push({ span: { line: i, start, end: start + 2 }, message: "unterminated comment: missing '*/'", severity: "error" });
  }
  diagnostics.sort(compareDiagnostics);
  return {
    file: { lines, statements: d.statements, diagnostics, macros: d.macros, labels: d.labels, symbols: d.symbols },
    lineModes: d.lineModes,
    lineSections: d.lineSections,
    macroNames: d.macroNames,
    altmacroUsed: d.altmacroUsed,
    bodyParses: d.bodyParses,
    lineNumbersInMessages: d.lineNumbersInMessages,
    unterminatedComment,
    labelList: d.labelList,
    expandedLines: d.expandedLines,
    limitReached: d.limitReached,
  };
}

/** The line where the comment still open after the last line began (the text ends inside a comment). */
export function commentOpenLine(endStates: readonly LexState[]): number {
  let i = endStates.length - 1;
  while (i > 0 && endStates[i - 1].inBlockComment) i--;
  return i;
}

/** Lexes every line; returns the parsed lines and the lexer state after each. */
export function lexLines(texts: readonly string[]): { lines: ParsedLine[]; endStates: LexState[] } {
  const lines: ParsedLine[] = new Array(texts.length);
  const endStates: LexState[] = new Array(texts.length);
  let state = LEX_INITIAL;
  for (let i = 0; i < texts.length; i++) {
    const r = parseLine(texts[i], i, state);
    lines[i] = r.parsed;
    state = r.state;
    endStates[i] = state;
  }
  return { lines, endStates };
}

/** Parses a whole GNU as (AT&T) source. Never throws. */
export function parseAsm(text: string, options: ParseOptions = {}): AsmFile {
  const texts = splitLines(typeof text === "string" ? text : String(text));
  const { lines, endStates } = lexLines(texts);
  return analyseLines(texts, lines, endStates, options);
}

/**
 * The definition a numeric local label reference (`1b` / `1f`) written on `line` resolves to:
 * the nearest `1:` before (b) or after (f) that line. Undefined when there is none.
 */
export function resolveLocalLabel(file: AsmFile, ref: string, line: number): LabelDefinition | undefined {
  const m = /^([0-9]+)([bf])$/i.exec(ref);
  if (m === null) return undefined;
  const defs = file.labels.get(m[1]);
  if (defs === undefined) return undefined;
  if (m[2].toLowerCase() === "b") {
    for (let i = defs.length - 1; i >= 0; i--) if (defs[i].line <= line) return defs[i];
    return undefined;
  }
  for (const d of defs) if (d.line > line) return d;
  return undefined;
}

// Open documents and their analyses: assembly documents keep an incremental AsmAnalysis; C/C++ documents
// keep their text and the last inline-asm analysis. No protocol types beyond positions and ranges.

import { fileURLToPath } from "node:url";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { TextDocumentContentChangeEvent } from "vscode-languageserver";
import { AsmAnalysis } from "../core/asm/analysis.js";
import type { AccurateSite } from "../core/asm/accurate.js";
import { analyseC, analyseCWith, cParserIfLoaded, mayContainAsm, type CAnalysisResult } from "../core/cinline/index.js";
import type { CodeMode } from "../core/asm/types.js";

export type DocumentKind = "asm" | "c";

const ASM_LANGUAGES: ReadonlySet<string> = new Set(["gas-x86", "asm", "gas", "assembly", "s", "x86", "nasm-gas"]);
const C_LANGUAGES: ReadonlySet<string> = new Set(["c", "cpp", "cuda-cpp", "objective-c", "objective-cpp"]);

/** Which analysis a document gets, from its language id, else its extension; undefined: not ours. */
export function kindOf(languageId: string, uri: string): DocumentKind | undefined {
  if (ASM_LANGUAGES.has(languageId)) return "asm";
  if (C_LANGUAGES.has(languageId)) return "c";
  const m = /\.([A-Za-z0-9]+)$/.exec(uri);
  const ext = m ? m[1] : "";
  if (["s", "S", "asm", "inc", "sx"].includes(ext)) return "asm";
  if (["c", "h", "cc", "cpp", "cxx", "hpp", "hh"].includes(ext)) return "c";
  return undefined;
}

/** The file path of a URI (file: URIs), else the URI's path part (untitled documents and the like). */
export function pathOf(uri: string): string {
  try {
    if (uri.startsWith("file:")) return fileURLToPath(uri);
  } catch {
    // fall through
  }
  const m = /^[a-z][a-z0-9+.-]*:(?:\/\/[^/]*)?(.*)$/i.exec(uri);
  return m ? decodeURIComponent(m[1]) || uri : uri;
}

export interface DocumentOptions {
  maxLines: number;
  includeDirs: readonly string[];
  mode: CodeMode;
}

export class OpenDocument {
  readonly uri: string;
  readonly kind: DocumentKind;
  readonly path: string;
  version: number;
  /** The assembly analysis, made on first use (see `asm`). */
  private analysis?: AsmAnalysis;
  /** An assembly document's text until its analysis is made. */
  private openText?: string;
  private openLineCount = -1;
  /** C/C++ text (asm documents keep theirs in the analysis). */
  textDocument?: TextDocument;
  c?: CAnalysisResult;
  /** Version the C analysis is for. */
  cVersion = -1;
  /** Accurate-mode sites for a document version (from the real cpp). */
  accurate?: { version: number; sites: AccurateSite[] };
  /** The last accurate-mode failure, shown once. */
  accurateError?: string;
  readonly options: DocumentOptions;

  constructor(uri: string, kind: DocumentKind, languageId: string, version: number, text: string, options: DocumentOptions) {
    this.uri = uri;
    this.kind = kind;
    this.path = pathOf(uri);
    this.version = version;
    this.options = options;
    if (kind === "asm") this.openText = text;
    else this.textDocument = TextDocument.create(uri, languageId, version, text);
  }

  /**
   * The analysis of an assembly document (undefined for C), made on first use: a large file's first
   * diagnostics can be published from a quick scan (server/quick-open.ts) before it exists.
   */
  get asm(): AsmAnalysis | undefined {
    if (this.kind !== "asm") return undefined;
    if (this.analysis === undefined) {
      this.analysis = new AsmAnalysis(this.openText ?? "", { fileName: this.path, maxLines: this.options.maxLines, includeDirs: this.options.includeDirs, mode: this.options.mode });
      this.openText = undefined;
    }
    return this.analysis;
  }

  /** Whether an assembly document's analysis has been made (always true for C). */
  get analysed(): boolean {
    return this.kind !== "asm" || this.analysis !== undefined;
  }

  get text(): string {
    if (this.openText !== undefined) return this.openText;
    return this.asm !== undefined ? this.asm.text : this.textDocument!.getText();
  }

  get lineCount(): number {
    if (this.openText !== undefined) {
      if (this.openLineCount < 0) this.openLineCount = countLines(this.openText);
      return this.openLineCount;
    }
    return this.asm !== undefined ? this.asm.lineCount : this.textDocument!.lineCount;
  }

  lineText(line: number): string {
    if (this.asm !== undefined) return this.asm.lineText(line);
    const d = this.textDocument!;
    return d.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, "");
  }

  /** The line break of text the server inserts: the document's own (CRLF, LF or a lone CR), LF in a document of one line. */
  get lineBreak(): string {
    const asm = this.openText === undefined ? this.asm : undefined;
    return (asm !== undefined ? asm.firstLineBreak : firstBreakOf(this.openText ?? this.textDocument!.getText())) ?? "\n";
  }

  /** Too long to analyse (afterburn.maxAnalysisLines). */
  get truncated(): boolean {
    return this.lineCount > this.options.maxLines;
  }

  applyChanges(changes: readonly TextDocumentContentChangeEvent[], version: number): void {
    this.version = version;
    if (this.kind === "asm") {
      for (const c of changes) {
        if ("range" in c && c.range !== undefined) this.asm!.applyEdit(c.range, c.text);
        else if (this.analysis === undefined) {
          // A whole new text before the analysis was made: nothing to update yet.
          this.openText = c.text;
          this.openLineCount = -1;
        } else this.analysis.setText(c.text);
      }
    } else {
      let td = this.textDocument!;
      for (const c of changes) {
        // TextDocument.update clamps a position past the end when it edits the text, but not when it
        // updates its line table: a range past the last line left the table wrong, and every later
        // edit landed somewhere else. Each range is clamped against the text it applies to first.
        const change = "range" in c && c.range !== undefined ? { range: { start: td.positionAt(td.offsetAt(c.range.start)), end: td.positionAt(td.offsetAt(c.range.end)) }, text: c.text } : c;
        td = TextDocument.update(td, [change], version);
      }
      this.textDocument = td;
    }
  }

  /** The C analysis for the current text; synchronous once tree-sitter is loaded. */
  cAnalysisNow(): CAnalysisResult | undefined {
    if (this.kind !== "c") return undefined;
    if (this.cVersion === this.version && this.c !== undefined) return this.c;
    if (this.truncated) return undefined;
    const text = this.text;
    const parser = cParserIfLoaded();
    if (parser === undefined && mayContainAsm(text)) return undefined;
    this.c = parser === undefined ? emptyC() : analyseCWith(parser, text, { mode: this.options.mode });
    this.cVersion = this.version;
    return this.c;
  }

  /** The C analysis, loading tree-sitter if this is the first file with asm. */
  async cAnalysis(): Promise<CAnalysisResult | undefined> {
    const now = this.cAnalysisNow();
    if (now !== undefined || this.kind !== "c" || this.truncated) return now;
    const version = this.version;
    const r = await analyseC(this.text, { mode: this.options.mode });
    if (version === this.version) {
      this.c = r;
      this.cVersion = version;
    }
    return this.cAnalysisNow() ?? r;
  }
}

function firstBreakOf(text: string): string | undefined {
  return /\r\n|\r|\n/.exec(text)?.[0];
}

/** Lines as splitLines() (core/asm/parse.ts) counts them: breaks at \r\n, \r or \n. */
export function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  if (text.indexOf("\r") < 0) return n;
  for (let i = text.indexOf("\r"); i >= 0; i = text.indexOf("\r", i + 1)) if (text.charCodeAt(i + 1) !== 10) n++;
  return n;
}

function emptyC(): CAnalysisResult {
  return { statements: [], sites: [], functions: [], diagnostics: [], assembly: "", assemblyLines: [] };
}

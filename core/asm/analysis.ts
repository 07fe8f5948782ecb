// The editor's view of one assembly document: an AsmDocument over the document's lines after cpp
// #define expansion, preceded by the .macro definitions of the headers it includes (a "prologue"), so
// that sites hidden behind macros are found from the text alone. Everything it reports is mapped back
// to document lines and columns, or to the header a definition came from.

import { AsmDocument } from "./document.js";
import { collectDefines, expandLine, mapToSource, type DefineTable, type ExpandedLine } from "./defines.js";
import { gatherIncludes, type HeaderMacroLine, type IncludeSet } from "./includes.js";
import { splitLines } from "./parse.js";
import { findSites, type AsmSite } from "./sites.js";
import type { AsmFile, CodeMode, ParseDiagnostic, Span } from "./types.js";
import type { Range } from "./document.js";

export interface AnalysisOptions {
  /** Absolute path of the document (used for .s vs .S and to resolve includes). */
  fileName?: string;
  mode?: CodeMode;
  /** Extra folders for #include / .include (from compile_commands.json -I flags). */
  includeDirs?: readonly string[];
  /** Lines analysed at most; the rest of a longer document is not analysed (default 200000). */
  maxLines?: number;
}

/** A location outside the document (a header line). */
export interface ExternalLocation {
  file: string;
  line: number;
}

export interface MappedSite extends AsmSite {
  /** Columns in the document (the site's span after mapping through #define replacements). */
  range: Span;
  /** Set when the site came from a cpp macro used on its line. */
  cppMacro?: string;
}

export const DEFAULT_MAX_LINES = 200_000;

const STRUCTURAL_TEXT = /^\s*(#\s*(define|undef|include)|\.include\b)/;

export class AsmAnalysis {
  private source: string[];
  private doc: AsmDocument;
  private prologue: HeaderMacroLine[] = [];
  private defines: DefineTable = new Map();
  private expanded: (ExpandedLine | undefined)[] = [];
  private cppAware: boolean;
  private sitesCache: { version: number; sites: MappedSite[] } | undefined;
  includeSet: IncludeSet = { includes: [], defines: new Map(), macroLines: [], files: [] };
  readonly options: AnalysisOptions;
  readonly maxLines: number;

  constructor(text: string, options: AnalysisOptions = {}) {
    this.options = { ...options };
    this.maxLines = Math.max(1, options.maxLines ?? DEFAULT_MAX_LINES);
    this.cppAware = options.fileName === undefined || !options.fileName.endsWith(".s");
    this.source = splitLines(text);
    this.doc = new AsmDocument("", { fileName: options.fileName, mode: options.mode ?? 32 });
    this.rebuild();
  }

  /** Lines of the document beyond the analysis cap, not analysed. */
  get truncated(): boolean {
    return this.source.length > this.maxLines;
  }

  get lineCount(): number {
    return this.source.length;
  }

  get text(): string {
    return this.source.join("\n");
  }

  lineText(line: number): string {
    return this.source[line] ?? "";
  }

  /** Number of prologue (header macro) lines in front of the document's lines in `file`. */
  get offset(): number {
    return this.prologue.length;
  }

  get file(): AsmFile {
    return this.doc.file;
  }

  get version(): number {
    return this.doc.version;
  }

  /** Lines re-lexed by the last edit (for tests and benchmarks). */
  get lastRelexed(): number {
    return this.doc.lastRelexed;
  }

  /** Replaces the text in `range` (UTF-16 columns) with `text`, re-analysing only what it touches. */
  applyEdit(range: Range, text: string): void {
    const n = this.source.length;
    const sl = clamp(range.start.line, 0, n - 1);
    const el = clamp(range.end.line, sl, n - 1);
    const first = this.source[sl];
    const last = this.source[el];
    const sc = clamp(range.start.character, 0, first.length);
    const ec = el === sl ? clamp(range.end.character, sc, last.length) : clamp(range.end.character, 0, last.length);
    const inserted = splitLines(first.slice(0, sc) + text + last.slice(ec));
    const old = this.source.slice(sl, el + 1);
    this.source.splice(sl, el - sl + 1, ...inserted);
    const structural =
      (this.cppAware && (old.some((t) => STRUCTURAL_TEXT.test(t)) || inserted.some((t) => STRUCTURAL_TEXT.test(t)) || (sl > 0 && this.source[sl - 1].endsWith("\\")) || old.some((t) => t.endsWith("\\")) || inserted.some((t) => t.endsWith("\\")))) ||
      this.source.length > this.maxLines || n > this.maxLines;
    if (structural) {
      this.rebuild();
      return;
    }
    const fresh = inserted.map((t) => (this.cppAware ? expandLine(t, this.defines) : undefined));
    this.expanded.splice(sl, el - sl + 1, ...fresh);
    const off = this.prologue.length;
    this.doc.applyChange(off + sl, off + el + 1, inserted.map((t, k) => fresh[k]?.text ?? t));
  }

  setText(text: string): void {
    this.source = splitLines(text);
    this.rebuild();
  }

  /** Recomputes defines, headers and expansions, then hands the document only the lines that differ. */
  private rebuild(): void {
    const analysed = this.source.length > this.maxLines ? this.source.slice(0, this.maxLines) : this.source;
    if (this.cppAware) {
      this.includeSet = gatherIncludes(analysed, this.options.fileName, this.options.includeDirs ?? []);
      this.prologue = this.includeSet.macroLines;
      this.defines = collectDefines(analysed, "", new Map(this.includeSet.defines));
      this.expanded = analysed.map((t) => expandLine(t, this.defines));
    } else {
      this.prologue = [];
      this.defines = new Map();
      this.expanded = new Array(analysed.length).fill(undefined);
    }
    const next = this.prologue.map((p) => p.text).concat(analysed.map((t, i) => this.expanded[i]?.text ?? t));
    const cur = this.doc.lineCount;
    let prefix = 0;
    while (prefix < cur && prefix < next.length && this.doc.lineText(prefix) === next[prefix]) prefix++;
    let suffix = 0;
    while (suffix < cur - prefix && suffix < next.length - prefix && this.doc.lineText(cur - 1 - suffix) === next[next.length - 1 - suffix]) suffix++;
    if (prefix === cur && prefix === next.length) return;
    this.doc.applyChange(prefix, cur - suffix, next.slice(prefix, next.length - suffix));
  }

  /** The document line of an analysed line, or undefined for a prologue (header) line. */
  sourceLine(docLine: number): number | undefined {
    const l = docLine - this.prologue.length;
    return l >= 0 ? l : undefined;
  }

  /** Where a prologue line came from. */
  headerLocation(docLine: number): ExternalLocation | undefined {
    const p = this.prologue[docLine];
    return p === undefined ? undefined : { file: p.file, line: p.line };
  }

  /** Maps a span of the analysed text to document columns (undefined when it lies in a header). */
  toSource(span: Span): Span | undefined {
    const line = this.sourceLine(span.line);
    if (line === undefined) return undefined;
    const x = this.expanded[line];
    if (x === undefined) return { line, start: span.start, end: span.end };
    const r = mapToSource(x.replacements, span.start, span.end);
    return { line, start: r.start, end: Math.max(r.end, r.start) };
  }

  /** The cpp macro whose replacement covers these analysed columns, if any. */
  cppMacroAt(span: Span): string | undefined {
    const line = this.sourceLine(span.line);
    const x = line === undefined ? undefined : this.expanded[line];
    if (x === undefined) return undefined;
    for (const r of x.replacements) if (span.start < r.newEnd && span.end > r.newStart) return r.macro;
    return undefined;
  }

  /** What the analysis reads: header macros, then the document's lines after #define expansion. */
  analysedText(): { text: string; offset: number } {
    return { text: this.doc.text, offset: this.prologue.length };
  }

  /** A cpp #define by name (from the document or its headers). */
  cppDefine(name: string) {
    return this.defines.get(name);
  }

  /** Every sensitive site with document ranges (sites inside headers' macros are shown at their invocation). */
  sites(): MappedSite[] {
    const file = this.doc.file;
    if (this.sitesCache !== undefined && this.sitesCache.version === this.doc.version) return this.sitesCache.sites;
    const out: MappedSite[] = [];
    for (const s of findSites(file)) {
      const range = this.toSource(s.span);
      if (range === undefined) continue;
      const m = s as MappedSite;
      m.range = range;
      const macro = this.cppMacroAt(s.span);
      if (macro !== undefined) m.cppMacro = macro;
      out.push(m);
    }
    this.sitesCache = { version: this.doc.version, sites: out };
    return out;
  }

  /** Parse diagnostics in document coordinates (those on header lines are dropped: the header has its own). */
  parseDiagnostics(): (ParseDiagnostic & { range: Span })[] {
    const out: (ParseDiagnostic & { range: Span })[] = [];
    for (const d of this.doc.file.diagnostics) {
      const range = this.toSource(d.span);
      if (range !== undefined && range.line < this.source.length) out.push({ ...d, range });
    }
    return out;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  if (!(v >= lo)) return lo;
  return v > hi ? hi : v;
}

// The editor's view of one assembly document: an AsmDocument over the document's lines after cpp
// #define expansion, preceded by the .macro definitions of the headers it includes (a "prologue"), so
// that sites hidden behind macros are found from the text alone. Everything it reports is mapped back
// to document lines and columns, or to the header a definition came from.

import { AsmDocument, spliceInPlace } from "./document.js";
import { blankLineComment, collectDefines, expandLine, FILE_EXPANSION_BUDGET, mapToSource, replacementOver, type DefineTable, type ExpandedLine, type ExpansionBudget } from "./defines.js";
import { gatherIncludes, type HeaderMacroLine, type IncludeSet } from "./includes.js";
import { boundedMessage } from "./message.js";
import { splitLines } from "./parse.js";
import { findSitesIn, isAnnotationSwitch, siteOf, type AsmSite } from "./sites.js";
import { encodedInStatements, encodedSite, mayRunBytes } from "./encoded.js";
import type { AsmFile, CodeMode, ExpandedStatement, MacroDefinition, ParseDiagnostic, Span } from "./types.js";
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
/** What changes a plain `.s` file's headers: GNU as reads `.include` without cpp. */
const GAS_INCLUDE = /^\s*\.include\b/;

/** The line break after a line: LF, CRLF, a lone CR, or none (the last line). */
const LF = 0;
const CRLF = 1;
const CR = 2;
const END = 3;
const BREAK_TEXT = ["\n", "\r\n", "\r", ""];

/** Lines as splitLines() gives them, with the break after each. */
function splitWithBreaks(text: string): { lines: string[]; breaks: number[] } {
  const lines = splitLines(text);
  const breaks = new Array<number>(lines.length).fill(LF);
  breaks[lines.length - 1] = END;
  if (text.indexOf("\r") >= 0) {
    const re = /\r\n|\r|\n/g;
    let i = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) breaks[i++] = m[0] === "\n" ? LF : m[0] === "\r\n" ? CRLF : CR;
  }
  return { lines, breaks };
}

/**
 * A line as cpp hands it on: its #define uses expanded and, on the first line of a backslash-newline
 * splice, the lines it joins (`starts`: where each begins in the joined text, the first at 0); the
 * lines joined to it are read as empty, as cpp leaves them.
 */
interface SplicedLine extends ExpandedLine {
  starts?: number[];
}

/** A cpp directive line: its own continuation lines are the lexer's (a continued cpp line). */
const CPP_LINE = /^\s*#/;

/**
 * Each line expanded as cpp reads it: a line ending in a backslash (not a cpp directive's) is joined
 * with the next before macros are expanded, as cpp splices lines before anything else.
 */
function spliceAndExpand(lines: readonly string[], defines: DefineTable, budget: ExpansionBudget): (SplicedLine | undefined)[] {
  const n = lines.length;
  const out: (SplicedLine | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = lines[i];
    if (CPP_LINE.test(t)) {
      out[i] = undefined;
      while (i + 1 < n && lines[i].endsWith("\\")) out[++i] = expandLine(lines[i], defines, budget);
      continue;
    }
    if (!t.endsWith("\\") || i + 1 >= n) {
      out[i] = expandLine(t, defines, budget);
      continue;
    }
    const starts: number[] = [];
    let joined = "";
    let j = i;
    for (;;) {
      starts.push(joined.length);
      const u = lines[j];
      if (!u.endsWith("\\") || j + 1 >= n) {
        joined += u;
        break;
      }
      joined += u.slice(0, -1);
      j++;
    }
    const x: SplicedLine = expandLine(joined, defines, budget) ?? { text: joined, replacements: [] };
    x.starts = starts;
    out[i] = x;
    for (let k = i + 1; k <= j; k++) out[k] = { text: "", replacements: [] };
    i = j;
  }
  return out;
}

const BYTE_DIRECTIVE = /\.byte\b/i;

function countByteLines(texts: readonly string[]): number {
  let n = 0;
  for (const t of texts) if (t.includes(".") && BYTE_DIRECTIVE.test(t)) n++;
  return n;
}

export class AsmAnalysis {
  private source: string[];
  /**
   * The break after each source line. The analysis sees lines only, but an edit can join breaks:
   * a CR typed before an LF, or an LF after a lone CR, makes one CRLF break, not two.
   */
  private breaks: number[];
  private doc: AsmDocument;
  private prologue: HeaderMacroLine[] = [];
  private defines: DefineTable = new Map();
  private expanded: (SplicedLine | undefined)[] = [];
  /**
   * What the #define expansion may still produce: set by a rebuild, lowered by every line expanded
   * since (never raised: it stays at or below what the current text would leave, so that once it is
   * spent a rebuild settles what a fresh analysis would show).
   */
  private definesBudget: ExpansionBudget = { left: FILE_EXPANSION_BUDGET };
  private cppAware: boolean;
  /**
   * Sites of an analysis version, with the statement index of each and of each annotation switch, kept
   * across the document's patch steps so an edit of a few lines re-classifies only those lines.
   */
  private sitesCache: { version: number; sites: MappedSite[]; indices: number[]; switches: number[] } | undefined;
  /** Analysed lines (header macros included) that hold `.byte`: none, and no statement is walked for bytes that encode instructions. */
  private byteLines = 0;
  /** The sensitive instructions `.byte` runs encode, for an analysis version. */
  private encodedCache: { version: number; sites: MappedSite[]; indices: number[] } | undefined;
  /** Parse diagnostics of an analysis version (`from`: the analysis's own objects), kept like the sites. */
  private diagnosticsCache: { version: number; list: (ParseDiagnostic & { range: Span })[]; from: ParseDiagnostic[] } | undefined;
  includeSet: IncludeSet = { includes: [], defines: new Map(), macroLines: [], files: [] };
  readonly options: AnalysisOptions;
  readonly maxLines: number;

  constructor(text: string, options: AnalysisOptions = {}) {
    this.options = { ...options };
    this.maxLines = Math.max(1, options.maxLines ?? DEFAULT_MAX_LINES);
    this.cppAware = options.fileName === undefined || !options.fileName.endsWith(".s");
    ({ lines: this.source, breaks: this.breaks } = splitWithBreaks(text));
    this.doc = new AsmDocument("", { fileName: options.fileName, mode: options.mode ?? 32 });
    this.rebuild();
  }

  /** Whether the document goes through cpp (`#` lines are directives); in a plain `.s` file they are comments. */
  get readsCpp(): boolean {
    return this.cppAware;
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

  /** The break after the first line (CRLF, LF or a lone CR); undefined in a text of one line. */
  get firstLineBreak(): string | undefined {
    const b = this.breaks[0];
    return b === undefined || b === END ? undefined : BREAK_TEXT[b];
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

  /**
   * Brings the sites up to date when the changes since the last read can be patched in; otherwise
   * leaves the full pass to the next read and returns false (AsmDocument.settle).
   */
  settle(maxBodyWork?: number): boolean {
    if (!this.doc.settle(maxBodyWork)) return false;
    this.sites();
    return true;
  }

  /** Lines re-lexed by the last edit (for tests and benchmarks). */
  get lastRelexed(): number {
    return this.doc.lastRelexed;
  }

  /** Replaces the text in `range` (UTF-16 columns) with `text`, re-analysing only what it touches. */
  applyEdit(range: Range, text: string): void {
    const n = this.source.length;
    // Positions outside the document clamp as vscode-languageserver-textdocument clamps them; a reversed range is swapped.
    let a = this.clampPosition(range.start);
    let b = this.clampPosition(range.end);
    if (b.line < a.line || (b.line === a.line && b.character < a.character)) [a, b] = [b, a];
    const sl = a.line;
    const el = b.line;
    const first = this.source[sl];
    const last = this.source[el];
    const sc = a.character;
    const ec = b.character;
    // The new text between the break before line sl and the break after line el, split with those
    // two breaks around it: where the edit joins a CR and an LF into one break, a line goes.
    const before = sl > 0 ? BREAK_TEXT[this.breaks[sl - 1]] : "";
    const after = BREAK_TEXT[this.breaks[el]];
    const split = splitWithBreaks(before + first.slice(0, sc) + text + last.slice(ec) + after);
    let from = 0;
    let to = split.lines.length;
    if (before !== "") {
      this.breaks[sl - 1] = split.breaks[0]; // its first "line" is the end of line sl - 1, whose text stays
      from = 1;
    }
    if (after !== "") to--; // its last "line" is the start of line el + 1, whose text stays
    const inserted = split.lines.slice(from, to);
    const old = this.source.slice(sl, el + 1);
    spliceInPlace(this.source, sl, el - sl + 1, inserted);
    spliceInPlace(this.breaks, sl, el - sl + 1, split.breaks.slice(from, to));
    const structural =
      (this.cppAware && (old.some((t) => STRUCTURAL_TEXT.test(t)) || inserted.some((t) => STRUCTURAL_TEXT.test(t)) || (sl > 0 && this.source[sl - 1].endsWith("\\")) || old.some((t) => t.endsWith("\\")) || inserted.some((t) => t.endsWith("\\")))) ||
      (!this.cppAware && (old.some((t) => GAS_INCLUDE.test(t)) || inserted.some((t) => GAS_INCLUDE.test(t)))) ||
      this.source.length > this.maxLines || n > this.maxLines;
    if (structural) {
      this.rebuild();
      return;
    }
    const delta = inserted.length - old.length;
    if (delta !== 0) {
      // Lines moved: what the last rebuild recorded by line number moves with them.
      this.layoutVersion++;
      this.layoutEditLine = sl;
      const end = el + 1;
      for (const d of this.defines.values()) if (d.file === "" && d.line >= end) d.line += delta;
      for (const inc of this.includeSet.includes) if (inc.line >= end) inc.line += delta;
    }
    // Lines the edit left as they were (typing a line break keeps the line before it) are not handed on.
    let p = 0;
    while (p < old.length && p < inserted.length && old[p] === inserted[p]) p++;
    let q = 0;
    while (q < old.length - p && q < inserted.length - p && old[old.length - 1 - q] === inserted[inserted.length - 1 - q]) q++;
    if (p === old.length && p === inserted.length) return;
    const changed = inserted.slice(p, inserted.length - q);
    if (this.cppAware && this.definesBudget.left <= 0) {
      this.rebuild();
      return;
    }
    const fresh = changed.map((t) => (this.cppAware ? expandLine(t, this.defines, this.definesBudget) : undefined));
    if (this.definesBudget.left <= 0) {
      this.rebuild();
      return;
    }
    spliceInPlace(this.expanded, sl + p, old.length - p - q, fresh);
    const off = this.prologue.length;
    const read = changed.map((t, k) => (this.cppAware ? blankLineComment(fresh[k]?.text ?? t) : t));
    const replaced: string[] = [];
    for (let l = off + sl + p; l < off + el + 1 - q; l++) replaced.push(this.doc.lineText(l));
    this.byteLines += countByteLines(read) - countByteLines(replaced);
    this.doc.applyChange(off + sl + p, off + el + 1 - q, read);
  }

  /** Incremented whenever lines move (an edit changes the line count) or the analysis is rebuilt. */
  layoutVersion = 0;

  /** Incremented on every rebuild (defines, headers and expansions gathered again); not when lines only move. */
  rebuildVersion = 0;

  /**
   * The first line of the edit behind the last layoutVersion step: the lines before it kept their
   * text and place. 0 after a rebuild.
   */
  layoutEditLine = 0;

  private clampPosition(p: { line: number; character: number }): { line: number; character: number } {
    const n = this.source.length;
    if (!(p.line >= 0)) return { line: 0, character: 0 };
    if (p.line >= n) return { line: n - 1, character: this.source[n - 1].length };
    const line = Math.trunc(p.line);
    return { line, character: clamp(Math.trunc(p.character), 0, this.source[line].length) };
  }

  setText(text: string): void {
    ({ lines: this.source, breaks: this.breaks } = splitWithBreaks(text));
    this.rebuild();
  }

  /** Recomputes defines, headers and expansions, then hands the document only the lines that differ. */
  private rebuild(): void {
    this.layoutVersion++;
    this.rebuildVersion++;
    this.layoutEditLine = 0;
    const analysed = this.source.length > this.maxLines ? this.source.slice(0, this.maxLines) : this.source;
    let prologueText: string[] | undefined;
    if (this.cppAware) {
      this.includeSet = gatherIncludes(analysed, this.options.fileName, this.options.includeDirs ?? []);
      this.prologue = this.includeSet.macroLines;
      this.defines = collectDefines(analysed, "", new Map(this.includeSet.defines));
      const budget: ExpansionBudget = { left: FILE_EXPANSION_BUDGET };
      this.definesBudget = budget;
      this.expanded = spliceAndExpand(analysed, this.defines, budget);
      // cpp expands the headers' macro bodies too (`.macro ALT` using a header's `#define repl_len(n)`).
      prologueText = this.prologue.map((p) => expandLine(p.text, this.defines, budget)?.text ?? p.text);
    } else {
      // No cpp: `#include` is a comment. `.include` files give their macros, as GNU as (and the
      // afterburner, which reads them as it does) sees them.
      this.includeSet = gatherIncludes(analysed, this.options.fileName, this.options.includeDirs ?? [], true);
      this.prologue = this.includeSet.macroLines;
      this.defines = new Map();
      this.expanded = new Array(analysed.length).fill(undefined);
    }
    // cpp drops `//` comments (in the headers' macros too) before the assembler reads the lines.
    const asRead = this.cppAware ? blankLineComment : (t: string) => t;
    const next = (prologueText ?? this.prologue.map((p) => p.text)).map(asRead).concat(analysed.map((t, i) => asRead(this.expanded[i]?.text ?? t)));
    this.byteLines = countByteLines(next);
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
    const starts = x.starts;
    if (starts === undefined) return { line, start: r.start, end: Math.max(r.end, r.start) };
    // A spliced line: the physical line the span starts on, its end kept within that line.
    let k = starts.length - 1;
    while (k > 0 && starts[k] > r.start) k--;
    const length = k + 1 < starts.length ? starts[k + 1] - starts[k] : this.source[line + k].length;
    const start = r.start - starts[k];
    return { line: line + k, start, end: Math.min(Math.max(r.end - starts[k], start), length) };
  }

  /** The cpp macro whose replacement covers these analysed columns, if any. */
  cppMacroAt(span: Span): string | undefined {
    const line = this.sourceLine(span.line);
    const x = line === undefined ? undefined : this.expanded[line];
    if (x === undefined) return undefined;
    return replacementOver(x.replacements, span.start, span.end)?.macro;
  }

  /** What the analysis reads: header macros, then the document's lines after #define expansion. */
  analysedText(): { text: string; offset: number } {
    return { text: this.doc.text, offset: this.prologue.length };
  }

  /** A cpp #define by name (from the document or its headers). */
  cppDefine(name: string) {
    return this.defines.get(name);
  }

  /**
   * Widens document lines [first, last] so that a line can be inserted before `first` and after
   * `last`: neither inside a block comment or continued cpp line that runs across the boundary, nor
   * inside a `.macro`/`.rept`/`.irp` body (a body opened within the lines is closed within them).
   */
  wholeStatementLines(first: number, last: number): { first: number; last: number } {
    const n = Math.min(this.source.length, this.maxLines);
    if (first < 0 || last >= n || first > last) return { first, last };
    const off = this.prologue.length;
    const lines = this.doc.file.lines;
    const template = (l: number) => lines[off + l]?.template === true;
    // A line goes between line k - 1 and line k: inside a body when either of them is a body line.
    // A backslash-newline joins lines into one for cpp: nothing goes between them either.
    const spliced = (l: number) => this.cppAware && this.source[l].endsWith("\\");
    while (first > 0 && (this.doc.runsOn(off + first - 1) || spliced(first - 1) || template(first - 1) || template(first))) first--;
    while (last < n - 1 && (this.doc.runsOn(off + last) || spliced(last) || template(last) || template(last + 1))) last++;
    return { first, last };
  }

  /** Every sensitive site with document ranges (sites inside headers' macros are shown at their invocation). */
  sites(): MappedSite[] {
    const version = this.doc.version;
    const cache = this.sitesCache;
    if (cache !== undefined && cache.version === version) return cache.sites;
    // A patch step is followed without renumbering the lines that moved (the sites' ranges are moved instead).
    const current = this.doc.currentAnalysis();
    const step = this.doc.lastStep;
    if (cache !== undefined && step.kind === "patch" && step.base === cache.version && step.version === version) {
      const next = step.replaced !== undefined ? this.replaceSites(cache, current.statements, step.lo, step.removed, step.replaced) : this.patchSites(cache, current.statements, step.lo, step.hi, step.added, step.removed, step.delta);
      if (next !== undefined) {
        this.sitesCache = { version, ...next };
        return next.sites;
      }
    }
    const file = this.doc.file;
    const r = findSitesIn(file.statements);
    const sites: MappedSite[] = [];
    const indices: number[] = [];
    for (let k = 0; k < r.sites.length; k++) {
      const m = this.mapSite(r.sites[k]);
      if (m === undefined) continue;
      sites.push(m);
      indices.push(r.indices[k]);
    }
    this.sitesCache = { version, sites, indices, switches: r.switches };
    return sites;
  }

  /**
   * Sensitive instructions written as `.byte` data in code sections: sites the afterburner finds and
   * leaves alone, with a warning (core/asm/encoded.ts); the editor shows them the same way.
   */
  encodedSites(): MappedSite[] {
    const version = this.doc.version;
    const cache = this.encodedCache;
    if (cache !== undefined && cache.version === version) return cache.sites;
    if (this.byteLines === 0) {
      this.encodedCache = { version, sites: [], indices: [] };
      return this.encodedCache.sites;
    }
    // The statements as they stand after a patch (their lines current), without renumbering every span below it.
    const statements = this.doc.currentAnalysis().statements;
    const step = this.doc.lastStep;
    // Walking every statement costs milliseconds in a large file: after a patch only the `.byte` runs around it are read again.
    const next =
      cache !== undefined && step.kind === "patch" && step.base === cache.version && step.version === version && step.replaced === undefined
        ? this.patchEncoded(cache, statements, step.lo, step.hi, step.added, step.delta)
        : this.mappedEncoded(statements, 0, statements.length);
    this.encodedCache = { version, ...next };
    return next.sites;
  }

  private mappedEncoded(statements: readonly ExpandedStatement[], from: number, to: number): { sites: MappedSite[]; indices: number[] } {
    const sites: MappedSite[] = [];
    const indices: number[] = [];
    for (const e of encodedInStatements(statements, from, to)) {
      const m = this.mapSite(encodedSite(e));
      if (m === undefined) continue;
      sites.push(m);
      indices.push(e.index!);
    }
    return { sites, indices };
  }

  /** Encoded sites after statements [lo, hi) became `added` new ones: the runs that reach into them are decoded again, later sites move. */
  private patchEncoded(cache: { sites: MappedSite[]; indices: number[] }, statements: readonly ExpandedStatement[], lo: number, hi: number, added: number, delta: number): { sites: MappedSite[]; indices: number[] } {
    const shift = added - (hi - lo);
    let a = lo;
    while (a > 0 && mayRunBytes(statements[a - 1]!)) a--;
    let b = lo + added;
    while (b < statements.length && mayRunBytes(statements[b]!)) b++;
    // Statements from lo + added on are the old ones from hi on: the old [a, b - shift) is what is read again.
    const first = lowerBound(cache.indices, a);
    const after = lowerBound(cache.indices, b - shift);
    const fresh = this.mappedEncoded(statements, a, b);
    const sites = cache.sites.slice(0, first).concat(fresh.sites);
    const indices = cache.indices.slice(0, first).concat(fresh.indices);
    for (let k = after; k < cache.sites.length; k++) {
      const m = cache.sites[k]!;
      if (delta !== 0) m.range = { line: m.range.line + delta, start: m.range.start, end: m.range.end };
      sites.push(m);
      indices.push(cache.indices[k]! + shift);
    }
    return { sites, indices };
  }

  /** Maps a site to document coordinates; undefined when it lies in a header. */
  private mapSite(s: AsmSite): MappedSite | undefined {
    const range = this.toSource(s.span);
    if (range === undefined) return undefined;
    const m = s as MappedSite;
    m.range = range;
    const macro = this.cppMacroAt(s.span);
    if (macro !== undefined) m.cppMacro = macro;
    return m;
  }

  /**
   * Sites after the document replaced the statements at some indices by others in their places (a
   * macro body edit changing each call's statements): only those are classified again. Undefined
   * when an annotation switch was among them.
   */
  private replaceSites(
    cache: { sites: MappedSite[]; indices: number[]; switches: number[] }, statements: readonly ExpandedStatement[],
    lo: number, removed: readonly ExpandedStatement[], replaced: readonly number[],
  ): { sites: MappedSite[]; indices: number[]; switches: number[] } | undefined {
    for (const k of replaced) if (isAnnotationSwitch(removed[k - lo]) || isAnnotationSwitch(statements[k])) return undefined;
    const sw = cache.switches;
    const sites = cache.sites.slice();
    const indices = cache.indices.slice();
    for (const k of replaced) {
      const b = lowerBound(sw, k);
      const st = b > 0 ? statements[sw[b - 1]].statement : undefined;
      const annotating = st === undefined || (st.kind === "directive" && st.name === ".afterburn_annotate");
      const site = siteOf(statements[k], annotating);
      const m = site === undefined ? undefined : this.mapSite(site);
      const x = lowerBound(indices, k);
      if (x < indices.length && indices[x] === k) {
        if (m !== undefined) sites[x] = m;
        else {
          sites.splice(x, 1);
          indices.splice(x, 1);
        }
      } else if (m !== undefined) {
        sites.splice(x, 0, m);
        indices.splice(x, 0, k);
      }
    }
    return { sites, indices, switches: sw };
  }

  /**
   * Sites after the document patched statements [lo, hi) into `added` new ones: only those are classified;
   * later sites are renumbered. Undefined when an annotation switch was edited (a full pass is needed).
   */
  private patchSites(
    cache: { sites: MappedSite[]; indices: number[]; switches: number[] }, statements: readonly ExpandedStatement[],
    lo: number, hi: number, added: number, removed: readonly ExpandedStatement[], delta: number,
  ): { sites: MappedSite[]; indices: number[]; switches: number[] } | undefined {
    if (removed.some(isAnnotationSwitch)) return undefined;
    for (let k = lo; k < lo + added; k++) if (isAnnotationSwitch(statements[k])) return undefined;
    const shift = added - (hi - lo);
    const sw = cache.switches;
    const before = lowerBound(sw, lo);
    let annotating = true;
    if (before > 0) {
      const st = statements[sw[before - 1]].statement;
      annotating = st.kind === "directive" && st.name === ".afterburn_annotate";
    }
    const a = lowerBound(cache.indices, lo);
    const b = lowerBound(cache.indices, hi);
    const sites = cache.sites.slice(0, a);
    const indices = cache.indices.slice(0, a);
    // A statement kept through the patch (a macro or loop patch keeps most of a wide range) keeps its
    // site: the annotation switches did not change, and without moved lines neither did its range.
    let kept: Map<ExpandedStatement, MappedSite> | undefined;
    if (delta === 0 && b - a > 8) {
      kept = new Map();
      for (let x = a; x < b; x++) kept.set(removed[cache.indices[x] - lo], cache.sites[x]);
    }
    for (let k = lo; k < lo + added; k++) {
      const same = kept?.get(statements[k]);
      if (same !== undefined) {
        sites.push(same);
        indices.push(k);
        continue;
      }
      const site = siteOf(statements[k], annotating);
      if (site === undefined) continue;
      const m = this.mapSite(site);
      if (m === undefined) continue;
      sites.push(m);
      indices.push(k);
    }
    for (let k = b; k < cache.sites.length; k++) {
      // Later sites keep their classification; their lines moved when lines were inserted or deleted.
      const m = cache.sites[k];
      if (delta !== 0) m.range = { line: m.range.line + delta, start: m.range.start, end: m.range.end };
      sites.push(m);
      indices.push(cache.indices[k] + shift);
    }
    const switches = shift === 0 ? sw : sw.map((i) => (i >= hi ? i + shift : i));
    return { sites, indices, switches };
  }

  /** The `.afterburn_noannotate` directives written in the document (not from expansions), in document coordinates. */
  noannotateDirectives(): Span[] {
    this.sites();
    const cache = this.sitesCache!;
    const statements = this.doc.currentAnalysis().statements;
    const out: Span[] = [];
    for (const i of cache.switches) {
      const es = statements[i];
      const st = es.statement;
      if (st.kind !== "directive" || st.name !== ".afterburn_noannotate" || es.expansion !== undefined) continue;
      // By the statement's line, which is current even while the spans of moved lines wait to be renumbered.
      const r = this.toSource({ line: es.line, start: st.nameSpan.start, end: st.nameSpan.end });
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** A `.macro` definition by (lower-case) name, its span current (see AsmDocument.currentAnalysis). */
  macroDefinition(name: string): MacroDefinition | undefined {
    return this.doc.currentAnalysis().macros.get(name);
  }

  /** Parse diagnostics in document coordinates (those on header lines are dropped: the header has its own). */
  parseDiagnostics(): (ParseDiagnostic & { range: Span })[] {
    const version = this.doc.version;
    const cache = this.diagnosticsCache;
    if (cache !== undefined && cache.version === version) return cache.list;
    this.doc.currentAnalysis();
    const step = this.doc.lastStep;
    let list: (ParseDiagnostic & { range: Span })[];
    let from: ParseDiagnostic[];
    if (cache !== undefined && step.kind === "patch" && step.base === cache.version && step.version === version) {
      // Those of the replaced lines go, those of the new lines come, those after move with their lines.
      list = [];
      from = [];
      const { delta, oldEnd } = step;
      for (let k = 0; k < cache.list.length; k++) {
        const d = cache.from[k];
        if (step.dropped.has(d)) continue;
        let m = cache.list[k];
        if (delta !== 0 && m.span.line >= oldEnd) {
          m = { ...m, span: { line: m.span.line + delta, start: m.span.start, end: m.span.end }, range: { line: m.range.line + delta, start: m.range.start, end: m.range.end } };
        }
        list.push(m);
        from.push(d);
      }
      for (const d of step.addedDiagnostics) {
        const m = this.mapDiagnostic(d);
        if (m === undefined) continue;
        list.push(m);
        from.push(d);
      }
      const order = list.map((_, k) => k).sort((a, b) => list[a].span.line - list[b].span.line || list[a].span.start - list[b].span.start || a - b);
      list = order.map((k) => list[k]);
      from = order.map((k) => from[k]);
    } else {
      list = [];
      from = [];
      for (const d of this.doc.file.diagnostics) {
        const m = this.mapDiagnostic(d);
        if (m === undefined) continue;
        list.push(m);
        from.push(d);
      }
    }
    this.diagnosticsCache = { version, list, from };
    return list;
  }

  private mapDiagnostic(d: ParseDiagnostic): (ParseDiagnostic & { range: Span }) | undefined {
    const range = this.toSource(d.span);
    if (range === undefined || range.line >= this.source.length) return undefined;
    return { ...d, message: boundedMessage(d.message), span: { line: d.span.line, start: d.span.start, end: d.span.end }, range };
  }
}

/** First index of a sorted array whose value is >= v (its length when none). */
export function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clamp(v: number, lo: number, hi: number): number {
  if (!(v >= lo)) return lo;
  return v > hi ? hi : v;
}

// Protocol conversions: core analysis results → LSP diagnostics, hovers, hints, actions, lenses, symbols.
// Every function here is a pure translation; the analysis lives in core/.

import {
  CodeAction,
  CodeActionKind,
  CodeLens,
  CompletionItem,
  CompletionItemKind,
  type CompletionList,
  Diagnostic,
  DiagnosticRelatedInformation,
  DiagnosticSeverity,
  DocumentSymbol,
  FoldingRange,
  FoldingRangeKind,
  InlayHint,
  InlayHintKind,
  Location,
  MarkupKind,
  SymbolKind,
  type Hover,
  type TextEdit,
  type Position,
  type Range,
} from "vscode-languageserver";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { afterburn } from "../core/burn/afterburn.js";
import { flattenIncludes, mayInclude } from "../core/burn/include.js";
import { boundedMessage, boundedQuote } from "../core/asm/message.js";
import { siteMessage, type AsmSite } from "../core/asm/sites.js";
import type { ExpansionOrigin, Span } from "../core/asm/types.js";
import { classifyWord, completions, documentSymbols, foldingRanges, grouped, HOVER_SECTIONS, hoverAt, labelBlocks, siteHover, siteHoverKey, type DefinitionLocation } from "../core/asm/navigate.js";
import { lowerBound, type MappedSite } from "../core/asm/analysis.js";
import type { OpenDocument } from "./documents.js";
import type { SeveritySetting, Settings } from "./settings.js";
import { movedDiagnosticAt } from "./diagnosticJson.js";
import { isKnownInstruction } from "./instruction-names.js";

/** What every site source (text mode, accurate mode, C inline asm) provides. */
export type EditorSite = AsmSite & { range: Span; cppMacro?: string };

export const COMMANDS = {
  preview: "afterburn.previewAfterburned",
  run: "afterburn.runGuest",
  backends: "afterburn.showBackends",
} as const;

export function toRange(s: Span): Range {
  return { start: { line: s.line, character: s.start }, end: { line: s.line, character: Math.max(s.start, s.end) } };
}

const fileUris = new Map<string, string>();
export function fileUri(path: string): string {
  let uri = fileUris.get(path);
  if (uri === undefined) {
    uri = pathToFileURL(path).href;
    if (fileUris.size > 10_000) fileUris.clear();
    fileUris.set(path, uri);
  }
  return uri;
}

/** Sites of a document: accurate mode when it is current, else text mode, or the C analysis. */
export function sitesOf(doc: OpenDocument): EditorSite[] {
  if (doc.asm !== undefined) {
    if (doc.accurate !== undefined && doc.accurate.version === doc.version) return doc.accurate.sites;
    const encoded = doc.asm.encodedSites();
    return encoded.length === 0 ? doc.asm.sites() : sortedSites(doc.asm, encoded);
  }
  return doc.cAnalysisNow()?.sites ?? [];
}

/** Instructions and `.byte` encodings in document order, made once per analysis version. */
const mergedSites = new WeakMap<object, { sites: EditorSite[]; of: readonly EditorSite[]; encoded: readonly EditorSite[] }>();

function sortedSites(an: NonNullable<OpenDocument["asm"]>, encoded: readonly EditorSite[]): EditorSite[] {
  const of = an.sites();
  const hit = mergedSites.get(an);
  if (hit !== undefined && hit.of === of && hit.encoded === encoded) return hit.sites;
  const sites = [...of, ...encoded].sort((a, b) => a.range.line - b.range.line || a.range.start - b.range.start);
  mergedSites.set(an, { sites, of, encoded });
  return sites;
}

/** The diagnostic last published for a site object, with what it depends on. */
interface CachedDiagnostic {
  doc: OpenDocument;
  line: number;
  start: number;
  end: number;
  severity: DiagnosticSeverity;
  layout: number;
  /** The analysis's rebuildVersion when the related information was made. */
  rebuild: number;
  /** The diagnostic has (or could have) related information. */
  related: boolean;
  /** Some related location is (or may come to be) in this document, so it moves with the document's lines. */
  localRelated: boolean;
  /** The last line of a related location in this document (-1: none; Infinity: one may come to be). */
  relatedLast: number;
  diagnostic: Diagnostic;
}
const cachedDiagnostics = new WeakMap<EditorSite, CachedDiagnostic>();

/** The last line of a related location in the document `uri`; Infinity when there is none yet but may come to be. */
function lastLineIn(uri: string, related: readonly DiagnosticRelatedInformation[], site: EditorSite): number {
  if (related.length === 0) return site.expansion !== undefined || site.cppMacro !== undefined ? Infinity : -1;
  let last = -1;
  for (const x of related) if (x.location.uri === uri) last = Math.max(last, x.location.range.start.line, x.location.range.end.line);
  return last;
}

function sameRelated(a: readonly DiagnosticRelatedInformation[], b: readonly DiagnosticRelatedInformation[] | undefined): boolean {
  const bl = b ?? [];
  if (a.length !== bl.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = bl[i];
    const rx = x.location.range;
    const ry = y.location.range;
    if (x.message !== y.message || x.location.uri !== y.location.uri || rx.start.line !== ry.start.line || rx.start.character !== ry.start.character || rx.end.line !== ry.end.line || rx.end.character !== ry.end.character) return false;
  }
  return true;
}

/** Site messages, computed once per site object (sites are kept across edits that do not touch them). */
const messages = new WeakMap<EditorSite, string>();
function messageOf(site: EditorSite): string {
  let m = messages.get(site);
  if (m === undefined) {
    m = siteMessage(site);
    messages.set(site, m);
  }
  return m;
}

function severity(setting: SeveritySetting): DiagnosticSeverity | undefined {
  switch (setting) {
    case "error": return DiagnosticSeverity.Error;
    case "warning": return DiagnosticSeverity.Warning;
    case "information": return DiagnosticSeverity.Information;
    case "hint": return DiagnosticSeverity.Hint;
    default: return undefined;
  }
}

function classSetting(site: EditorSite, settings: Settings): SeveritySetting {
  const c = site.entry.class;
  return c === "privileged" ? settings.diagnostics.privileged : c === "sensitive" ? settings.diagnostics.sensitive : settings.diagnostics.platform;
}

/**
 * Site diagnostics one document publishes at most: more is megabytes of JSON on every keystroke, which
 * no editor lists usefully (VS Code shows 1,000 per file). Only an expansion makes that many
 * (identical ones are already merged).
 */
export const SITE_DIAGNOSTIC_LIMIT = 5_000;
/** Parse diagnostics one document publishes at most (an expansion can make one per iteration). */
export const PARSE_DIAGNOSTIC_LIMIT = 2_000;

/** The diagnostic on the first line (of that length) that says how many of a kind were left out. */
export function cappedDiagnostic(firstLineLength: number, left: number, what: string, limit: number, rest: string): Diagnostic {
  return {
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: firstLineLength } },
    severity: DiagnosticSeverity.Information,
    source: "afterburn",
    code: "diagnostics-capped",
    message: `afterburn: ${left.toLocaleString("en")} more ${what} are not listed (at most ${limit.toLocaleString("en")} per document)${rest}`,
  };
}

/** The diagnostic saying how many sites past SITE_DIAGNOSTIC_LIMIT are not listed. */
export function cappedSites(firstLineLength: number, left: number): Diagnostic {
  return cappedDiagnostic(firstLineLength, left, "sensitive sites", SITE_DIAGNOSTIC_LIMIT, "; hovers, inlay hints and the preview still show them");
}

/** LSP severity of a parser's or the C analysis's diagnostic. */
function parseSeverity(p: { severity: string }): DiagnosticSeverity {
  return p.severity === "error" ? DiagnosticSeverity.Error : p.severity === "warning" ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information;
}

/** Consecutive sites at one range (one invocation's expansion) and the distinct diagnostics among them. */
interface SameRangeRun {
  line: number;
  start: number;
  end: number;
  first: EditorSite;
  firstSeverity: DiagnosticSeverity;
  firstIndex: number;
  /** Made when a second site arrives: sameRangeKey → index in the output. */
  keys: Map<string, number> | undefined;
  /** Output index → how many sites its diagnostic stands for, when more than one. */
  counts: Map<number, number> | undefined;
}

/**
 * What a site's diagnostic is made of but its range: equal keys, equal diagnostics. It names exactly
 * the inputs of siteMessage and relatedFor (relatedItems, the text, the #define).
 */
function sameRangeKey(site: EditorSite, sev: DiagnosticSeverity): string {
  const related = relatedItems(site);
  let chain = related.truncated ? "+" : "";
  for (const x of related.items) chain += "macro" in x ? `m:${x.macro},` : `${x.kind}:${x.bodyLine},`;
  return `${sev}|${site.entry.id}|${site.mnemonic}|${site.annotated}|${site.padding}|${site.reason ?? ""}|${site.expansion?.kind ?? ""}:${site.expansion?.name ?? ""}|${site.cppMacro ?? ""}|${boundedQuote(site.text)}|${chain}`;
}

/** Gives each merged diagnostic of a run its count (a copy: the one kept per site stays as it is). */
function closeRun(run: SameRangeRun, out: Diagnostic[]): void {
  if (run.counts === undefined) return;
  for (const [at, n] of run.counts) out[at] = { ...out[at], message: `${out[at].message} — ${n.toLocaleString("en")} such sites here` };
}

/** A site's diagnostic: the one last published for it when it still holds (most sites, on most edits). */
function siteDiagnosticIn(doc: OpenDocument, site: EditorSite, sev: DiagnosticSeverity, layout: number, rebuild: number): Diagnostic {
  const r = site.range;
  const hit = cachedDiagnostics.get(site);
  if (hit !== undefined && hit.doc === doc && hit.severity === sev) {
    const same = hit.line === r.line && hit.start === r.start && hit.end === r.end;
    if (same && (hit.layout === layout || !hit.related)) return hit.diagnostic;
    // The site only moved (lines inserted or deleted above it): the same diagnostic at its new place.
    // Related locations only in other files (a macro from a header) stay put until a rebuild, and
    // those in this document when the one edit since they were made began below all of them.
    const keep =
      !hit.related ||
      (hit.rebuild === rebuild && (!hit.localRelated || (hit.layout === layout - 1 && (doc.asm?.layoutEditLine ?? 0) > hit.relatedLast))) ||
      sameRelated(relatedFor(doc, site), hit.diagnostic.relatedInformation);
    if (keep) {
      if (!same) hit.diagnostic = movedDiagnosticAt(hit.diagnostic, r.line, r.start, Math.max(r.start, r.end));
      hit.line = r.line;
      hit.start = r.start;
      hit.end = r.end;
      hit.layout = layout;
      return hit.diagnostic;
    }
  }
  const related = relatedFor(doc, site);
  const d = siteDiagnostic(site, sev, related);
  // Related locations in the document move with its lines: checked again when a line moved.
  cachedDiagnostics.set(site, {
    doc, line: r.line, start: r.start, end: r.end, severity: sev, layout, rebuild,
    related: related.length > 0 || site.cppMacro !== undefined || site.expansion !== undefined,
    localRelated: site.cppMacro !== undefined || related.length === 0 || related.some((x) => x.location.uri === doc.uri),
    relatedLast: lastLineIn(doc.uri, related, site),
    diagnostic: d,
  });
  return d;
}

export function diagnosticsFor(doc: OpenDocument, settings: Settings): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (doc.truncated) {
    out.push({
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: doc.lineText(0).length } },
      severity: DiagnosticSeverity.Information,
      source: "afterburn",
      code: "analysis-capped",
      message: `afterburn: this document has ${doc.lineCount} lines; only the first ${doc.options.maxLines} are analysed (setting afterburn.maxAnalysisLines)`,
    });
  }
  if (doc.accurateError !== undefined) {
    out.push({ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: DiagnosticSeverity.Information, source: "afterburn", code: "accurate-mode", message: `afterburn: accurate mode unavailable, analysing from text: ${doc.accurateError}` });
  }
  const layout = doc.asm?.layoutVersion ?? -1;
  const rebuild = doc.asm?.rebuildVersion ?? -1;
  // Every site an expansion yields is shown at the invocation, so they share its range. Identical
  // ones (a `.rept` of one `cli`) become one diagnostic with their count, as the inlay hints count
  // them: a `.rept 400000` of `cli` was 400,000 copies, 197 MB of JSON on every publish.
  let run: SameRangeRun | undefined;
  let listed = 0;
  let unlisted = 0;
  for (const site of sitesOf(doc)) {
    const sev = siteSeverity(site, settings);
    if (sev === undefined) continue;
    const r = site.range;
    let key: string | undefined;
    if (run !== undefined && run.line === r.line && run.start === r.start && run.end === r.end) {
      run.keys ??= new Map([[sameRangeKey(run.first, run.firstSeverity), run.firstIndex]]);
      key = sameRangeKey(site, sev);
      const at = run.keys.get(key);
      if (at !== undefined) {
        (run.counts ??= new Map()).set(at, (run.counts.get(at) ?? 1) + 1);
        continue;
      }
    } else if (run !== undefined) {
      closeRun(run, out);
      run = undefined;
    }
    if (listed >= SITE_DIAGNOSTIC_LIMIT) {
      unlisted++;
      continue;
    }
    if (run === undefined) run = { line: r.line, start: r.start, end: r.end, first: site, firstSeverity: sev, firstIndex: out.length, keys: undefined, counts: undefined };
    else run.keys!.set(key!, out.length);
    out.push(siteDiagnosticIn(doc, site, sev, layout, rebuild));
    listed++;
  }
  if (run !== undefined) closeRun(run, out);
  if (unlisted > 0) out.push(cappedSites(doc.lineText(0).length, unlisted));
  // Parse problems (and the C analysis's) in document order, up to their limit.
  const problems = doc.asm !== undefined ? doc.asm.parseDiagnostics() : (doc.cAnalysisNow()?.diagnostics ?? []);
  const source = doc.asm !== undefined ? "afterburn-parse" : "afterburn";
  const shown = Math.min(problems.length, PARSE_DIAGNOSTIC_LIMIT);
  for (let k = 0; k < shown; k++) {
    const p = problems[k];
    out.push({ range: toRange(p.range), severity: parseSeverity(p), source, message: doc.asm !== undefined ? p.message : boundedMessage(p.message) });
  }
  if (problems.length > shown) out.push(cappedDiagnostic(doc.lineText(0).length, problems.length - shown, "parse problems", PARSE_DIAGNOSTIC_LIMIT, ""));
  if (doc.asm !== undefined) out.push(...noannotateRegions(doc));
  return out;
}

/**
 * What the hover says of a name that is neither an instruction nor a macro the analysis knows. (No
 * diagnostic says it yet: walking every statement on each edit costs the server milliseconds it
 * does not have; the parser's incremental diagnostics are the place for it.)
 */
export function unknownInstructionMessage(name: string): string {
  return `\`${name}\` is not a known instruction, nor a macro this file or its includes define: GNU as rejects it ("no such instruction") unless it is a macro defined where the analysis does not look, so its sensitive sites, if any, are not known.`;
}

/** A site's diagnostic severity under the settings (undefined: its class is off); Hint when not annotated. */
export function siteSeverity(site: EditorSite, settings: Settings): DiagnosticSeverity | undefined {
  const sev = severity(classSetting(site, settings));
  // Left out by the user's choice (.afterburn_noannotate) or by design (16-bit code): a hint. Written as data: as the class says, as the afterburner warns.
  return sev === undefined ? undefined : site.annotated || site.encoded === true ? sev : DiagnosticSeverity.Hint;
}

/** A site's diagnostic. */
export function siteDiagnostic(site: EditorSite, sev: DiagnosticSeverity, related: readonly DiagnosticRelatedInformation[]): Diagnostic {
  const d: Diagnostic = {
    range: toRange(site.range),
    severity: sev,
    code: site.entry.id,
    source: "afterburn",
    message: messageOf(site),
  };
  if (related.length > 0) d.relatedInformation = [...related];
  return d;
}

/** The diagnostic one site would have on its own, before identical ones are merged (for tests). */
export function ownSiteDiagnostic(doc: OpenDocument, site: EditorSite, settings: Settings): Diagnostic | undefined {
  const sev = siteSeverity(site, settings);
  return sev === undefined ? undefined : siteDiagnostic(site, sev, relatedFor(doc, site));
}

/** `.afterburn_noannotate` directives: a hint saying how many sites the region leaves unannotated. */
function noannotateRegions(doc: OpenDocument): Diagnostic[] {
  const an = doc.asm!;
  return noannotateHints(an.noannotateDirectives(), an.sites());
}

/** The hints of `.afterburn_noannotate` directives (document ranges), counting the sites they leave unannotated. */
export function noannotateHints(directives: readonly Span[], sites: readonly EditorSite[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Sites per directive by binary search in the sorted lines of the sites it counts (this runs on
  // every publish; counting all sites per directive was quadratic in a file of many regions).
  const lines = sortedLines(sites.filter((s) => !s.annotated && s.reason === ".afterburn_noannotate region"));
  for (const r of directives) {
    const count = lines.length - lowerBound(lines, r.line);
    out.push({ range: toRange(r), severity: DiagnosticSeverity.Hint, source: "afterburn", code: "noannotate-region", message: `.afterburn_noannotate: sensitive instructions from here to .afterburn_annotate are not padded or annotated (${count} site${count === 1 ? "" : "s"} in such regions below)` });
  }
  return out;
}

/** The sites' lines in ascending order, for counting them per range with lowerBound. */
function sortedLines(sites: readonly { range: Span }[]): Int32Array {
  return Int32Array.from(sites, (s) => s.range.line).sort();
}

function definitionLocation(doc: OpenDocument, d: DefinitionLocation): Location {
  if (d.line !== undefined) return { uri: doc.uri, range: toRange({ line: d.line, start: d.start, end: d.end }) };
  return { uri: fileUri(d.file!), range: toRange({ line: d.headerLine ?? 0, start: 0, end: 0 }) };
}

/** Related locations a site's expansion levels give at most. */
const MAX_RELATED = 8;
/** Expansion levels walked at most (a recursive macro nests up to the expander's depth limit). */
const MAX_WALKED_LEVELS = 64;

/** A related location an expansion level gives: a macro's definition, or the body line a statement came from. */
type RelatedItem = { macro: string } | { kind: ExpansionOrigin["kind"]; bodyLine: number };

/**
 * What a site's related information lists from its expansion levels, innermost first, each once: a
 * recursive macro repeats the same few levels a hundred times, and 166,000 sites each listing 200
 * related locations ran the server out of memory. `truncated` when some were left out.
 */
function relatedItems(site: EditorSite): { items: RelatedItem[]; truncated: boolean } {
  const items: RelatedItem[] = [];
  let walked = 0;
  let e = site.expansion;
  for (; e !== undefined && walked < MAX_WALKED_LEVELS; e = e.parent, walked++) {
    const name = e.name?.toLowerCase();
    if (e.kind === "macro" && name !== undefined && !items.some((x) => "macro" in x && x.macro === name)) {
      if (items.length === MAX_RELATED) break;
      items.push({ macro: name });
    }
    const { kind, bodyLine } = e;
    if (bodyLine >= 0 && !items.some((x) => "bodyLine" in x && x.bodyLine === bodyLine && x.kind === kind)) {
      if (items.length === MAX_RELATED) break;
      items.push({ kind, bodyLine });
    }
  }
  return { items, truncated: e !== undefined };
}

function relatedFor(doc: OpenDocument, site: EditorSite): DiagnosticRelatedInformation[] {
  const an = doc.asm;
  if (an === undefined) return [];
  const out: DiagnosticRelatedInformation[] = [];
  const related = relatedItems(site);
  for (const item of related.items) {
    if ("macro" in item) {
      const def = an.macroDefinition(item.macro);
      if (def !== undefined) {
        const src = an.toSource(def.span);
        const loc = src !== undefined ? { uri: doc.uri, range: toRange(src) } : headerLoc(an.headerLocation(def.span.line));
        if (loc) out.push({ location: loc, message: `macro ${boundedQuote(def.name)} is defined here` });
      }
      continue;
    }
    const body = an.toSource({ line: item.bodyLine, start: 0, end: 0 });
    const bodyLoc = body !== undefined ? { uri: doc.uri, range: toRange({ line: body.line, start: 0, end: an.lineText(body.line).length }) } : headerLoc(an.headerLocation(item.bodyLine));
    if (bodyLoc) out.push({ location: bodyLoc, message: `\`${boundedQuote(site.text)}\` comes from this line of the ${item.kind === "macro" ? "macro" : `.${item.kind}`} body` });
  }
  if (related.truncated) out.push({ location: { uri: doc.uri, range: toRange(site.range) }, message: "further expansion levels (a macro calling itself?) are not listed" });
  if (site.cppMacro !== undefined) {
    const d = an.cppDefine(site.cppMacro);
    if (d !== undefined) {
      const loc = d.file === "" ? { uri: doc.uri, range: toRange({ line: d.line, start: 0, end: an.lineText(d.line).length }) } : { uri: fileUri(d.file), range: toRange({ line: d.line, start: 0, end: 0 }) };
      out.push({ location: loc, message: `#define ${d.name} is here` });
    }
  }
  return out;
}

function headerLoc(h: { file: string; line: number } | undefined): Location | undefined {
  return h === undefined ? undefined : { uri: fileUri(h.file), range: toRange({ line: h.line, start: 0, end: 0 }) };
}

function contains(r: Span, line: number, character: number): boolean {
  return r.line === line && character >= r.start && character <= r.end;
}

/** GNU as's pseudo-prefixes, written in braces before an instruction. */
const PSEUDO_PREFIXES: ReadonlySet<string> = new Set(["disp8", "disp16", "disp32", "load", "store", "vex", "vex2", "vex3", "evex", "rex", "rex2", "nooptimize", "nf"]);

export function hoverFor(doc: OpenDocument, pos: Position): Hover | null {
  if (doc.asm !== undefined) {
    const w = classifyWord(doc.asm, pos.line, pos.character);
    if (w?.kind === "instruction") {
      const line = doc.lineText(pos.line);
      // GNU as's pseudo-prefixes (`{disp32} movl …`, `{vex3}`, `{load}`) pick an encoding and emit nothing.
      if (line[w.span.start - 1] === "{" && line[w.span.end] === "}" && PSEUDO_PREFIXES.has(w.word.toLowerCase())) {
        return { contents: { kind: MarkupKind.Markdown, value: `\`{${w.word}}\` — a GNU as pseudo-prefix: it picks how the instruction after it is encoded and emits no byte of its own; not virtualization-sensitive.` }, range: toRange({ line: w.span.line, start: w.span.start - 1, end: w.span.end + 1 }) };
      }
      // Neither an instruction nor a macro: "not sensitive" would claim what nobody knows.
      if (!isKnownInstruction(w.word)) return { contents: { kind: MarkupKind.Markdown, value: unknownInstructionMessage(w.word) }, range: toRange(w.span) };
    }
    const h = hoverAt(doc.asm, pos.line, pos.character);
    if (h === undefined) return null;
    return { contents: { kind: MarkupKind.Markdown, value: h.markdown }, range: toRange(h.span) };
  }
  const sites = sitesOf(doc).filter((s) => contains(s.range, pos.line, pos.character));
  if (sites.length === 0) {
    const st = doc.cAnalysisNow()?.statements.find((s) => s.range.line === pos.line && pos.character >= s.range.start && pos.character < s.range.start + 7);
    if (st === undefined) return null;
    const n = sitesOf(doc).filter((s) => doc.cAnalysisNow()!.statements[(s as { statement?: number }).statement ?? -1] === st).length;
    const body = st.unparsed !== undefined ? `not analysed: ${st.unparsed}` : `${n} sensitive site${n === 1 ? "" : "s"}; the assembler sees:\n\n\`\`\`asm\n${st.text}\n\`\`\``;
    return { contents: { kind: MarkupKind.Markdown, value: `**${st.goto ? "asm goto" : "asm"} statement**${st.macro ? ` in #define ${st.macro}` : ""} — ${body}` } };
  }
  const value = grouped(sites as MappedSite[], siteHover, "\n\n---\n\n", HOVER_SECTIONS, siteHoverKey);
  return { contents: { kind: MarkupKind.Markdown, value }, range: toRange(sites[0].range) };
}

export function inlayHintsFor(doc: OpenDocument, range: Range, settings: Settings): InlayHint[] {
  if (!settings.inlayHints.padding) return [];
  const groups = new Map<string, { pos: Position; padding: number; count: number; ids: Set<string> }>();
  for (const s of sitesOf(doc)) {
    if (!s.annotated || s.range.line < range.start.line || s.range.line > range.end.line) continue;
    const key = `${s.range.line}:${s.range.end}`;
    const g = groups.get(key);
    if (g) {
      g.padding += s.padding;
      g.count++;
      g.ids.add(s.entry.id);
    } else groups.set(key, { pos: { line: s.range.line, character: s.range.end }, padding: s.padding, count: 1, ids: new Set([s.entry.id]) });
  }
  return [...groups.values()].map((g) => ({
    position: g.pos,
    label: g.count > 1 ? `+${g.padding} B (${g.count} sites)` : `+${g.padding} B`,
    kind: InlayHintKind.Parameter,
    paddingLeft: true,
    tooltip: `afterburner padding: ${g.padding} NOP bytes after ${[...g.ids].join(", ")} (scratch space for the wedge's rewrite)`,
  }));
}

function overlaps(s: Span, r: Range): boolean {
  return s.line >= r.start.line && s.line <= r.end.line;
}

/** Diagnostics one code action names at most. */
const ACTION_DIAGNOSTICS = 100;

export function codeActionsFor(doc: OpenDocument, range: Range, diagnostics: Diagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  const empty = range.start.line === range.end.line && range.start.character === range.end.character;
  const sites = sitesOf(doc).filter((s) => overlaps(s.range, range));
  out.push({
    title: empty ? "Afterburner: preview afterburned form of this file" : "Afterburner: preview afterburned form of the selection",
    kind: CodeActionKind.Source,
    command: { title: "Preview afterburned form", command: COMMANDS.preview, arguments: empty ? [doc.uri] : [doc.uri, range] },
  });
  const ids = new Set(sites.map((s) => s.entry.id));
  // The diagnostics a quick fix answers, echoed back: at most ACTION_DIAGNOSTICS of them (an invocation
  // line can carry thousands, and each action sent them all back: 124 MB).
  const ours = diagnostics.filter((d) => d.source === "afterburn" && typeof d.code === "string" && ids.has(d.code)).slice(0, ACTION_DIAGNOSTICS);
  const annotated = sites.filter((s) => s.annotated);
  if (annotated.length > 0) {
    const exclude = excludeEdit(doc, range, annotated);
    if (exclude !== undefined) {
      // Named by what the edit excludes, which can be more than the selection's sites (a comment running on to another).
      const gone = exclude.sites;
      out.push({
        title: gone.length === 1 ? `Exclude \`${boundedQuote(gone[0].text)}\` from afterburning` : `Exclude ${gone.length} sensitive sites from afterburning`,
        kind: CodeActionKind.QuickFix,
        diagnostics: ours,
        edit: { changes: { [doc.uri]: exclude.edits } },
      });
    }
  }
  if (sites.length > 0) {
    const s = sites[0];
    out.push({
      title: `Show per-backend behaviour of \`${s.mnemonic}\` (${s.entry.id})`,
      kind: CodeActionKind.QuickFix,
      diagnostics: ours,
      command: { title: "Show per-backend behaviour", command: COMMANDS.backends, arguments: [doc.uri, { line: s.range.line, character: s.range.start }] },
    });
  }
  return out;
}

/**
 * Wraps the lines of the selected sites in .afterburn_noannotate / .afterburn_annotate (inside the asm
 * template in C), with the annotated sites the wrapped lines hold.
 */
function excludeEdit(doc: OpenDocument, range: Range, sites: EditorSite[]): { edits: TextEdit[]; sites: EditorSite[] } | undefined {
  if (doc.asm !== undefined) {
    // Loops, not Math.min(...lines): spread into arguments, a selection of 100,000 sites overflows the stack.
    let first = range.start.line;
    let last = range.end.line;
    for (const s of sites) {
      if (s.range.line < first) first = s.range.line;
      if (s.range.line > last) last = s.range.line;
    }
    // Directive lines inserted in a .rept body or a comment would repeat or vanish: whole constructs are wrapped.
    ({ first, last } = doc.asm.wholeStatementLines(first, last));
    const indent = /^\s*/.exec(doc.lineText(first))![0] || "\t";
    const lastText = doc.lineText(last);
    const br = doc.lineBreak; // an LF in a CRLF file makes it mixed, and Windows tools show the lines run together
    return {
      edits: [
        { range: { start: { line: first, character: 0 }, end: { line: first, character: 0 } }, newText: `${indent}.afterburn_noannotate${br}` },
        { range: { start: { line: last, character: lastText.length }, end: { line: last, character: lastText.length } }, newText: `${br}${indent}.afterburn_annotate` },
      ],
      sites: sitesOf(doc).filter((s) => s.annotated && s.range.line >= first && s.range.line <= last),
    };
  }
  const c = doc.cAnalysisNow();
  if (c === undefined) return undefined;
  const stmts = new Set(sites.map((s) => (s as { statement?: number }).statement ?? -1));
  const edits: TextEdit[] = [];
  for (const i of stmts) {
    const st = c.statements[i];
    if (st === undefined || st.templateStart === undefined || st.templateEnd === undefined) continue;
    edits.push(
      { range: { start: { line: st.templateStart.row, character: st.templateStart.column }, end: { line: st.templateStart.row, character: st.templateStart.column } }, newText: ".afterburn_noannotate\\n\\t" },
      { range: { start: { line: st.templateEnd.row, character: st.templateEnd.column }, end: { line: st.templateEnd.row, character: st.templateEnd.column } }, newText: "\\n\\t.afterburn_annotate" },
    );
  }
  return edits.length > 0 ? { edits, sites: sitesOf(doc).filter((s) => s.annotated && stmts.has((s as { statement?: number }).statement ?? -1)) } : undefined;
}

/** Entry points a guest starts from: `_start` in assembly, kmain/main in C. */
const RUNNABLE_ASM = new Set(["_start"]);
const RUNNABLE_C = new Set(["kmain", "main", "_start"]);

export function codeLensesFor(doc: OpenDocument): CodeLens[] {
  const out: CodeLens[] = [];
  if (doc.asm !== undefined) {
    const runnable = doc.asm.file.labels.has("_start") && /\.multiboot|0x1BADB002|MB_MAGIC/i.test(doc.text.slice(0, 200_000));
    for (const b of labelBlocks(doc.asm)) {
      const r = toRange({ line: b.line, start: b.start, end: b.end });
      if (b.sites > 0) {
        const blockRange = { start: { line: b.line, character: 0 }, end: { line: b.endLine, character: doc.lineText(b.endLine).length } };
        out.push({ range: r, command: { title: `${b.sites} sensitive site${b.sites === 1 ? "" : "s"}`, command: COMMANDS.preview, arguments: [doc.uri, blockRange] } });
      }
      if (runnable && RUNNABLE_ASM.has(b.name)) out.push({ range: r, command: { title: "Afterburn & Run", command: COMMANDS.run, arguments: [doc.uri] } });
    }
    return out;
  }
  const c = doc.cAnalysisNow();
  // Sites per function by binary search in their sorted lines: filtering every site per function
  // took seconds in a C file of thousands of functions with asm.
  const siteLines = sortedLines(c?.sites ?? []);
  const functions = c?.functions ?? [];
  for (const f of functions) {
    const n = lowerBound(siteLines, f.endLine + 1) - lowerBound(siteLines, f.line);
    const r = toRange({ line: f.line, start: f.start, end: f.end });
    if (n > 0) out.push({ range: r, command: { title: `${n} sensitive site${n === 1 ? "" : "s"}`, command: COMMANDS.preview, arguments: [doc.uri, { start: { line: f.line, character: 0 }, end: { line: f.endLine, character: 0 } }] } });
  }
  // kmain/main may be in a file without asm (no parse): find it by text.
  const m = /^[^\n;{}]*\b(kmain|main)\s*\(/m.exec(doc.text.slice(0, 1_000_000));
  if (m !== null) {
    const before = doc.text.slice(0, m.index);
    const line = before.split("\n").length - 1;
    const col = m.index - (before.lastIndexOf("\n") + 1) + m[0].indexOf(m[1]);
    if (RUNNABLE_C.has(m[1])) out.push({ range: toRange({ line, start: col, end: col + m[1].length }), command: { title: "Afterburn & Run", command: COMMANDS.run, arguments: [doc.uri] } });
  }
  return out;
}

/**
 * Longest line the preview burns. The afterburner's time grows with the sites on a line (16,000 on
 * one line: about a quarter of a second); longer lines are generated data or binary text, and the
 * server answers one request at a time.
 */
export const PREVIEW_MAX_LINE = 65_536;

function longLine(text: string): { line: number; length: number } | undefined {
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (end - start > PREVIEW_MAX_LINE) return { line, length: end - start };
    start = end + 1;
    line++;
  }
  return undefined;
}

export interface PreviewResult {
  text: string;
  sites: number;
  /** The document version previewed: a client that has sent later changes asks again. */
  version: number;
}

/**
 * The last burn per document: a preview of the file and those of its code lenses' ranges burn the
 * same text, and a live preview asks again after each pause in typing. Kept while the text burnt
 * and the mode stay the same (settings can change what the analysis reads without a new version).
 */
const lastBurn = new WeakMap<OpenDocument, { text: string; mode: 32 | 64; result: ReturnType<typeof afterburn> }>();

function burnOnce(doc: OpenDocument, text: string, fileName: string): ReturnType<typeof afterburn> {
  const mode = doc.options.mode === 64 ? 64 : 32;
  const hit = lastBurn.get(doc);
  if (hit !== undefined && hit.mode === mode && hit.text === text) return hit.result;
  const result = afterburn(text, { fileName, mode });
  lastBurn.set(doc, { text, mode, result });
  return result;
}

/** Errors the preview lists above the text at most. */
const PREVIEW_PROBLEMS = 50;

/** The afterburned form, from the very same core/burn call the build uses. */
export function previewFor(doc: OpenDocument, range?: Range): PreviewResult {
  return { ...previewOf(doc, range), version: doc.version };
}

function previewOf(doc: OpenDocument, range?: Range): Omit<PreviewResult, "version"> {
  const name = doc.path.split(/[\\/]/).pop() ?? "document.s";
  if (doc.asm !== undefined) {
    // The build preprocesses .S files first: burn what the analysis read (cpp macros expanded, header macros in front).
    const { text: analysed, offset } = doc.asm.analysedText();
    // ... and reads `.include`d files as GNU as does (core/burn/include.ts), in the document's folder, then the include folders.
    const flat = mayInclude(analysed) ? flattenIncludes(analysed, { fileName: name, searchDirs: doc.options.includeDirs, cwd: dirname(doc.path) }) : undefined;
    const text = flat?.text ?? analysed;
    const long = longLine(text);
    if (long !== undefined) return { text: `# afterburn: no preview: line ${(flat?.top[long.line] ?? long.line + 1) - offset} is ${long.length} characters long (the preview handles lines up to ${PREVIEW_MAX_LINE})`, sites: 0 };
    const r = burnOnce(doc, text, name);
    // Output line i is input line i; the document line it stands for (an included file's lines: their .include's).
    const docLine = (i: number): number => (flat === undefined ? i : i < flat.top.length ? flat.top[i]! - 1 : flat.top[flat.top.length - 1]! + i - flat.top.length) - offset;
    const where = (line: number, file: string): string => {
      const o = flat?.origins[line - 1];
      return o === undefined || o.file === name ? `${file}:${(o?.line ?? line) - offset}` : `${o.file}:${o.line}`;
    };
    const from = range ? Math.max(0, range.start.line) : 0;
    const to = range ? range.end.line : Infinity;
    const lines = r.output.split("\n").filter((_, i) => docLine(i) >= from && docLine(i) <= to);
    const sites = r.sites.filter((s) => s.annotated && docLine(s.input.line - 1) >= from && docLine(s.input.line - 1) <= to).length;
    // Errors at the top, at most PREVIEW_PROBLEMS of them (an expansion can make 250,000: 22 MB of preview).
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    const problems = (flat?.problems ?? []).map((p) => `# afterburn: ${p.file === name ? `${p.file}:${p.line - offset}` : `${p.file}:${p.line}`}: ${p.message}`);
    problems.push(...errors.slice(0, PREVIEW_PROBLEMS).map((d) => `# afterburn: ${where(d.line, d.file)}: ${d.message}`));
    if (errors.length > PREVIEW_PROBLEMS) problems.push(`# afterburn: and ${(errors.length - PREVIEW_PROBLEMS).toLocaleString("en")} more errors`);
    return { text: [...problems, ...lines].join("\n"), sites };
  }
  const c = doc.cAnalysisNow();
  if (c === undefined || c.assembly === "") return { text: `# ${name}: no inline asm`, sites: 0 };
  const long = longLine(c.assembly);
  if (long !== undefined) return { text: `# afterburn: no preview: an asm template line is ${long.length} characters long (the preview handles lines up to ${PREVIEW_MAX_LINE})`, sites: 0 };
  const r = burnOnce(doc, c.assembly, name);
  const out: string[] = [`# ${name}: afterburned inline asm (the templates as the assembler sees them, each with its C line)`];
  const lines = r.output.split("\n");
  let sites = 0;
  let last = -2;
  for (let i = 0; i < lines.length; i++) {
    const srcLine = c.assemblyLines[i] ?? -1;
    if (range && (srcLine < range.start.line || srcLine > range.end.line)) continue;
    if (srcLine < 0) {
      // No C line: the line the C analysis puts before the templates of macros nothing uses.
      if (last !== srcLine) out.push(`# ${name}: #define bodies no code here uses (gcc emits their asm only where a macro is used)`);
      last = srcLine;
      if (lines[i].trim() !== "") out.push(lines[i]);
      continue;
    }
    if (srcLine !== last) out.push(`# ${name}:${srcLine + 1}`);
    last = srcLine;
    out.push(lines[i]);
  }
  for (const s of r.sites) {
    const srcLine = c.assemblyLines[s.input.line - 1] ?? -1;
    if (s.annotated && (!range || (srcLine >= range.start.line && srcLine <= range.end.line))) sites++;
  }
  return { text: out.join("\n"), sites };
}

const SYMBOL_KIND: Record<string, SymbolKind> = {
  function: SymbolKind.Function,
  label: SymbolKind.Key,
  macro: SymbolKind.Method,
  section: SymbolKind.Namespace,
  constant: SymbolKind.Constant,
};

export function documentSymbolsFor(doc: OpenDocument): DocumentSymbol[] {
  if (doc.asm === undefined) {
    const c = doc.cAnalysisNow();
    return (c?.statements ?? []).map((s, i) => {
      const r = toRange(s.range);
      return { name: `asm #${i + 1}${s.functionName ? ` in ${s.functionName}` : ""}`, kind: SymbolKind.Event, range: r, selectionRange: r, detail: s.text.split("\n")[0] };
    });
  }
  return documentSymbols(doc.asm).map((s) => {
    const sel = toRange({ line: s.line, start: s.start, end: s.end });
    const full = { start: { line: s.line, character: 0 }, end: { line: Math.max(s.line, s.endLine), character: doc.lineText(Math.max(s.line, s.endLine)).length } };
    const sym: DocumentSymbol = { name: s.name, kind: SYMBOL_KIND[s.kind], range: full, selectionRange: sel };
    if (s.detail !== undefined) sym.detail = s.detail;
    return sym;
  });
}

export function foldingFor(doc: OpenDocument): FoldingRange[] {
  if (doc.asm === undefined) return [];
  return foldingRanges(doc.asm).map((f) => {
    const r: FoldingRange = { startLine: f.startLine, endLine: f.endLine };
    if (f.kind === "comment") r.kind = FoldingRangeKind.Comment;
    else if (f.kind === "region") r.kind = FoldingRangeKind.Region;
    return r;
  });
}

const COMPLETION_KIND = {
  instruction: CompletionItemKind.Keyword,
  register: CompletionItemKind.Variable,
  directive: CompletionItemKind.Keyword,
  label: CompletionItemKind.Reference,
  macro: CompletionItemKind.Snippet,
} as const;

/** The items; a list marked incomplete when labels were left out (the editor asks again as the word grows). */
export function completionsFor(doc: OpenDocument, pos: Position): CompletionItem[] | CompletionList {
  if (doc.asm === undefined) return [];
  const { items, incomplete } = completions(doc.asm, pos.line, pos.character);
  const out = items.map((c) => {
    const item: CompletionItem = { label: c.label, kind: COMPLETION_KIND[c.kind] };
    if (c.detail !== undefined) item.detail = c.detail;
    if (c.documentation !== undefined) item.documentation = { kind: MarkupKind.Markdown, value: c.documentation };
    return item;
  });
  return incomplete ? { isIncomplete: true, items: out } : out;
}

export { definitionLocation };

// The first diagnostics of a large `.s` file, before its analysis exists. Making the full analysis of
// 100,000 lines of gcc output (every line parsed into statements, labels, symbols) takes about half a
// second; the afterburner's line scanner (core/burn/prefilter.ts) finds the same sites in a few
// milliseconds, because compiler output has no macros, loops or conditionals. So on open the
// server publishes the sites from the scanner at once, then makes the analysis and publishes again
// only if that adds anything (parse errors: the scanner does not parse the lines it rules out).
// Only plain `.s` files without `.include` qualify: no cpp, no header macros, nothing the
// scanner cannot see; for anything it does not model the scanner itself declines.

import type { Diagnostic } from "vscode-languageserver";
import { scanSites } from "../core/burn/prefilter.js";
import { findSitesIn } from "../core/asm/sites.js";
import type { CodeMode, Span } from "../core/asm/types.js";
import { cappedSites, noannotateHints, SITE_DIAGNOSTIC_LIMIT, siteDiagnostic, siteSeverity, type EditorSite } from "./features.js";
import type { Settings } from "./settings.js";

/** Documents shorter than this are analysed in full at once (a few tens of milliseconds at most). */
export const QUICK_OPEN_LINES = 20_000;

export interface QuickAnalysis {
  sites: EditorSite[];
  /** `.afterburn_noannotate` directives, as AsmAnalysis.noannotateDirectives() gives them. */
  noannotate: Span[];
  /** Length of the first line (where the diagnostic of the site limit goes). */
  firstLineLength: number;
}

/** Whether a document of this path is one the quick scan may stand in for. */
export function quickOpenApplies(path: string, text: string): boolean {
  return path.endsWith(".s") && !/\.include\b/i.test(text);
}

/**
 * The quick analysis of a document being opened, when it gets one: a plain `.s` file of at least
 * QUICK_OPEN_LINES lines, within the analysis cap, that the scanner models. Undefined: analyse in full.
 */
export function quickOpenAnalysis(path: string, text: string, lineCount: number, maxLines: number, mode: CodeMode): QuickAnalysis | undefined {
  if (lineCount < QUICK_OPEN_LINES || lineCount > maxLines || !quickOpenApplies(path, text)) return undefined;
  return quickAnalysis(text, mode);
}

/**
 * The sites of a plain `.s` text, exactly as the full analysis finds them; undefined when the
 * scanner hands the text to the full parser (macros, loops, conditionals, lone CR line breaks).
 */
export function quickAnalysis(text: string, mode: CodeMode): QuickAnalysis | undefined {
  const scan = scanSites(text, mode);
  if (scan === undefined) return undefined;
  const { sites: found, indices, switches } = findSitesIn(scan.statements);
  const sites = found.map((site, k): EditorSite => {
    const es = scan.statements[indices[k]];
    // Lines of the same text share one statement in the scan: the columns are the statement's, the line is this one.
    const range = { line: es.line, start: es.statement.span.start, end: es.statement.span.end };
    return { ...site, span: range, range };
  });
  const noannotate: Span[] = [];
  for (const i of switches) {
    const es = scan.statements[i];
    const st = es.statement;
    if (st.kind === "directive" && st.name === ".afterburn_noannotate") noannotate.push({ line: es.line, start: st.nameSpan.start, end: st.nameSpan.end });
  }
  const nl = text.indexOf("\n");
  const end = nl < 0 ? text.length : nl;
  return { sites, noannotate, firstLineLength: end > 0 && text.charCodeAt(end - 1) === 13 ? end - 1 : end };
}

/** The diagnostics diagnosticsFor() gives a document whose analysis finds these sites and no parse diagnostics. */
export function quickDiagnostics(q: QuickAnalysis, settings: Settings): Diagnostic[] {
  const out: Diagnostic[] = [];
  let unlisted = 0;
  for (const site of q.sites) {
    const sev = siteSeverity(site, settings);
    if (sev === undefined) continue;
    // Sites from the scan come from no macro or #define: there is no related information to give,
    // and no two share a range, so none merge. The limit is diagnosticsFor's.
    if (out.length < SITE_DIAGNOSTIC_LIMIT) out.push(siteDiagnostic(site, sev, []));
    else unlisted++;
  }
  if (unlisted > 0) out.push(cappedSites(q.firstLineLength, unlisted));
  out.push(...noannotateHints(q.noannotate, q.sites));
  return out;
}

/** Whether two diagnostic lists are the same, in the same order. */
export function sameDiagnostics(a: readonly Diagnostic[], b: readonly Diagnostic[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && JSON.stringify(a[i]) !== JSON.stringify(b[i])) return false;
  return true;
}

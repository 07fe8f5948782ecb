// Sensitive sites of a parsed file, for the editor: the same decisions core/burn makes (classify each
// expanded instruction in its code size; .afterburn_noannotate regions and 16-bit code are found but not
// annotated), reported against the line and columns a user can see.

import { classify, paddingFor } from "../isa/classify.js";
import type { CatalogueEntry } from "../isa/types.js";
import { WHY_CITATIONS } from "../isa/catalogue.js";
import type { AsmFile, CodeMode, ExpandedStatement, ExpansionOrigin, Span } from "./types.js";
import { boundedQuote } from "./message.js";

export interface AsmSite {
  entry: CatalogueEntry;
  /** Where the site is shown: the instruction itself, or the outermost macro/.rept invocation it came from. */
  span: Span;
  /** The instruction as written after expansion. */
  text: string;
  mnemonic: string;
  mode: CodeMode;
  section: string;
  /** NOP bytes the afterburner adds (0 when not annotated). */
  padding: number;
  annotated: boolean;
  /** Why not annotated. */
  reason?: string;
  /** Written as `.byte` data, not as an instruction: left alone, but not by the user's choice (the afterburner warns). */
  encoded?: true;
  expansion?: ExpansionOrigin;
}

export function outermostExpansion(e: ExpansionOrigin): ExpansionOrigin {
  let o = e;
  while (o.parent) o = o.parent;
  return o;
}

/** Classifies one expanded statement; undefined when it is not a sensitive instruction. */
export function siteOf(es: ExpandedStatement, annotating: boolean): AsmSite | undefined {
  const st = es.statement;
  if (st.kind !== "instruction") return undefined;
  const entry = classify(st, es.mode);
  if (entry === undefined) return undefined;
  const span = es.expansion ? outermostExpansion(es.expansion).site : st.mnemonicSpan.line === es.line ? st.span : { line: es.line, start: 0, end: 0 };
  let reason: string | undefined;
  if (!annotating) reason = ".afterburn_noannotate region";
  else if (es.mode === 16) reason = "16-bit code runs before any wedge is loaded";
  const site: AsmSite = {
    entry,
    span,
    text: st.text,
    mnemonic: st.mnemonic,
    mode: es.mode,
    section: es.section,
    padding: reason === undefined ? paddingFor(entry, es.mode) : 0,
    annotated: reason === undefined,
  };
  if (reason !== undefined) site.reason = reason;
  if (es.expansion) site.expansion = es.expansion;
  return site;
}

/** Every sensitive site of the file in assembly order. */
export function findSites(file: AsmFile): AsmSite[] {
  return findSitesIn(file.statements).sites;
}

/** Whether a statement is `.afterburn_noannotate` / `.afterburn_annotate` (which switch annotation off and on). */
export function isAnnotationSwitch(es: ExpandedStatement): boolean {
  const st = es.statement;
  return st.kind === "directive" && (st.name === ".afterburn_noannotate" || st.name === ".afterburn_annotate");
}

/**
 * The sites of a statement list, with the index of each site's statement and of each annotation
 * switch (for callers that update sites incrementally).
 */
export function findSitesIn(statements: readonly ExpandedStatement[]): { sites: AsmSite[]; indices: number[]; switches: number[] } {
  const sites: AsmSite[] = [];
  const indices: number[] = [];
  const switches: number[] = [];
  let annotating = true;
  for (let i = 0; i < statements.length; i++) {
    const es = statements[i];
    const st = es.statement;
    if (st.kind === "directive") {
      if (st.name === ".afterburn_noannotate") {
        annotating = false;
        switches.push(i);
      } else if (st.name === ".afterburn_annotate") {
        annotating = true;
        switches.push(i);
      }
      continue;
    }
    if (st.kind !== "instruction") continue;
    const site = siteOf(es, annotating);
    if (site !== undefined) {
      sites.push(site);
      indices.push(i);
    }
  }
  return { sites, indices, switches };
}

/**
 * What a catalogue `why` says happens, without the citation it gives for it (the hover shows the
 * whole text): a citation leading the text (`Popek & Goldberg (1974): …: `, with a parenthesis that
 * qualifies it), in parentheses, or leading a parenthesis that says what happens
 * (`Robin & Irvine (2000) list it … (INT n checks …); …`, which keeps the parenthesis's words).
 */
export function consequence(why: string): string {
  let s = why.replace(/\s+/g, " ").replace(/\.$/, "");
  for (const c of WHY_CITATIONS) {
    s = s.split(` (${c})`).join("");
    if (s.startsWith(`${c}: `)) s = s.slice(c.length + 2);
    else if (s.startsWith(`${c} (`)) {
      const close = s.indexOf(")", c.length + 2);
      // A parenthesis that qualifies the citation goes with it; one that says what happens stays.
      if (close > 0) s = s.startsWith(": ", close + 1) ? s.slice(close + 3) : s.slice(c.length + 2, close) + s.slice(close + 1);
    }
  }
  // Any other citation written as a lead: `Author (year): `.
  const colon = s.indexOf(": ");
  if (colon > 0 && /\((19|20)\d\d\)/.test(s.slice(0, colon))) s = s.slice(colon + 2);
  return s;
}

/** consequence(entry.why) per catalogue entry: every site's message needs it. */
const consequences = new Map<CatalogueEntry, string>();

/** One-line message for a site: what it is, why it matters, and what the afterburner does with it. */
export function siteMessage(site: Pick<AsmSite, "entry" | "mnemonic" | "annotated" | "padding" | "reason" | "expansion">): string {
  const e = site.entry;
  const cls = e.class === "privileged" ? "privileged" : e.class === "sensitive" ? "sensitive but unprivileged" : e.class === "platform" ? "platform-sensitive" : "annotated memory operation";
  let why = consequences.get(e);
  if (why === undefined) consequences.set(e, (why = consequence(e.why)));
  const what = site.annotated
    ? site.padding > 0 ? `afterburner pads ${site.padding} bytes` : "afterburner annotates it"
    : `not annotated: ${site.reason ?? "excluded"}`;
  const from = site.expansion ? ` (from ${site.expansion.kind === "macro" ? `macro ${boundedQuote(site.expansion.name ?? "")}` : `.${site.expansion.kind}`})` : "";
  return `${site.mnemonic}: ${cls} — ${why}; ${what}${from}`;
}

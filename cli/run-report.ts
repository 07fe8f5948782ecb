// Text reports of `afterburn run`: one backend's ledger, and the backends side by side.

import type { RunResult } from "../machine/index.js";
import { LEDGER_EVENT_KINDS, type BackendName, type LedgerReport, type SiteLocation } from "../wedge/index.js";

export interface BackendRun {
  backend: BackendName;
  result: RunResult;
  console: string;
  ledger: LedgerReport;
  seconds: number;
  /** (cycles − raw cycles) / raw cycles. */
  overheadVsRaw?: number;
}

const num = (n: number) => n.toLocaleString("en");
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

function where(l: SiteLocation): string {
  const file = l.file ? `${shortPath(l.file)}${l.line !== undefined ? `:${l.line}` : ""}` : "";
  return [l.symbol ?? "", file].filter(Boolean).join(" ");
}

function shortPath(p: string): string {
  const cwd = process.cwd() + "/";
  return p.startsWith(cwd) ? p.slice(cwd.length) : p;
}

export function overheadText(o: number | undefined): string {
  if (o === undefined) return "—";
  return `${o >= 0 ? "+" : ""}${(o * 100).toFixed(o < 10 ? 1 : 0)}%`;
}

function resultText(r: RunResult): string {
  return r.reason === "exit" ? `exit ${r.exitCode}` : r.reason;
}

/** One backend: events by kind, the top sites with source lines, missed sites and holes. */
export function formatLedger(run: BackendRun, topN = 8): string {
  const l = run.ledger;
  const lines: string[] = [];
  lines.push(
    `ledger (${run.backend}): ${num(l.cycles)} modelled cycles for ${num(l.instructions)} instructions` +
      (run.overheadVsRaw !== undefined ? `, ${overheadText(run.overheadVsRaw)} vs raw` : ""),
  );
  for (const k of LEDGER_EVENT_KINDS) {
    const e = l.events[k];
    if (e) lines.push(`  ${k.padEnd(12)} ${num(e.count).padStart(9)}  ${num(e.cycles).padStart(13)} cycles`);
  }
  if (l.sites.length > 0) {
    lines.push(`  top sites:`);
    for (const s of l.sites.slice(0, topN)) {
      const ev = Object.entries(s.events).map(([k, n]) => `${k} ${num(n!)}`).join(", ");
      lines.push(`    ${hex(s.address)} ${s.catalogueId.padEnd(14)} ${s.mnemonic.padEnd(22)} ${ev.padEnd(22)} ${num(s.cycles).padStart(11)} cycles  ${where(s)}`);
    }
  }
  if (l.missedSites.length > 0) {
    lines.push(`  missed sites (sensitive, not annotated):`);
    for (const m of l.missedSites) lines.push(`    ${hex(m.address)} ${where(m)}`);
  }
  if (l.holes.length > 0) {
    lines.push(`  holes (the guest saw a different result than on bare metal):`);
    for (const h of l.holes) lines.push(`    ${hex(h.address)} ${h.catalogueId.padEnd(14)} ${where(h)}: ${h.detail}`);
  }
  return lines.join("\n") + "\n";
}

/** The backends side by side, then each one's holes and missed sites. */
export function formatComparison(runs: BackendRun[]): string {
  const reference = runs.find((r) => r.backend === "raw") ?? runs[0]!;
  const rows: [string, ...string[]][] = [];
  rows.push(["", ...runs.map((r) => r.backend)]);
  rows.push(["result", ...runs.map((r) => resultText(r.result))]);
  rows.push(["console", ...runs.map((r) => (r === reference ? "reference" : r.console === reference.console ? "same" : "DIFFERS"))]);
  rows.push(["instructions", ...runs.map((r) => num(r.ledger.instructions))]);
  rows.push(["cycles", ...runs.map((r) => num(r.ledger.cycles))]);
  rows.push(["vs raw", ...runs.map((r) => overheadText(r.overheadVsRaw))]);
  for (const k of LEDGER_EVENT_KINDS) {
    if (runs.some((r) => r.ledger.events[k])) rows.push([k, ...runs.map((r) => num(r.ledger.events[k]?.count ?? 0))]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const out = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
  for (const r of runs) {
    const l = r.ledger;
    const top = l.sites[0];
    if (top) out.push(`${r.backend}: costliest site ${hex(top.address)} ${top.catalogueId} (${num(top.cycles)} cycles) ${where(top)}`);
    for (const h of l.holes) out.push(`${r.backend}: hole at ${hex(h.address)} ${h.catalogueId} ${where(h)}: ${h.detail}`);
    for (const m of l.missedSites) out.push(`${r.backend}: missed site ${hex(m.address)} ${where(m)}`);
    if (r.console !== reference.console) out.push(`${r.backend}: console differs from ${reference.backend} (${firstDifference(reference.console, r.console)})`);
  }
  return out.join("\n") + "\n";
}

function firstDifference(a: string, b: string): string {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}: ${JSON.stringify(lb[i] ?? "<end>")} instead of ${JSON.stringify(la[i] ?? "<end>")}`;
  }
  return "same lines";
}

// The trap view's model: backend → event kind → site, with counts and modelled cycles.
// Fed two ways: a whole ledger report (after `afterburn run --json`, or the debug adapter's
// afterburnReport event at every stop) and live ledger events while a debug session runs.
// Plain module: client/trapView.ts turns these nodes into VS Code tree items.
import { EVENT_KINDS, type EventKind, hex, type LedgerEvent, type LedgerReport, type SiteLocation, siteLabel } from "./ledger";

export interface SiteNode extends SiteLocation {
  type: "site";
  backend: string;
  kind: EventKind;
  catalogueId?: string;
  mnemonic?: string;
  count: number;
  /** Modelled cycles of this kind at this site; undefined when the report only has the site's total over several kinds. */
  cycles?: number;
  /** The site's cycles over every kind (from the report). */
  siteCycles?: number;
  detail?: string;
}

export interface KindNode {
  type: "kind";
  backend: string;
  kind: EventKind;
  count: number;
  cycles: number;
  sites: SiteNode[];
}

export interface BackendNode {
  type: "backend";
  backend: string;
  /** Where the figures come from: a finished run's report, or a debug session (live). */
  origin: "run" | "debug";
  live: boolean;
  instructions?: number;
  cycles: number;
  kinds: KindNode[];
}

/** The sites of a kind past the first SITES_LISTED: one line that says how many and what they add up to. */
export interface MoreNode {
  type: "more";
  backend: string;
  kind: EventKind;
  sites: number;
  count: number;
}

export type TrapNode = BackendNode | KindNode | SiteNode | MoreNode;

/**
 * Sites listed under a kind, costliest first. A guest can trap at tens of thousands of sites, and a
 * tree of that many rows is slow to draw and no help to read; the rest are summed up in one row.
 */
export const SITES_LISTED = 500;

/** The rows under a kind: its first SITES_LISTED sites, then one row for the rest. */
export function kindChildren(k: KindNode): (SiteNode | MoreNode)[] {
  if (k.sites.length <= SITES_LISTED) return k.sites;
  const rest = k.sites.slice(SITES_LISTED);
  const more: MoreNode = { type: "more", backend: k.backend, kind: k.kind, sites: rest.length, count: rest.reduce((n, s) => n + s.count, 0) };
  return [...k.sites.slice(0, SITES_LISTED), more];
}

interface SiteTally {
  count: number;
  cycles: number;
  catalogueId?: string;
  detail?: string;
}

interface BackendState {
  origin: "run" | "debug";
  live: boolean;
  report?: LedgerReport;
  /** Live events after the report: kind → site address → tally. */
  extra: Map<EventKind, Map<number, SiteTally>>;
  extraCycles: number;
  lastInstruction: number;
}

function emptyState(origin: "run" | "debug"): BackendState {
  return { origin, live: origin === "debug", extra: new Map(), extraCycles: 0, lastInstruction: 0 };
}

type LocatedSite = SiteLocation & { catalogueId?: string; mnemonic?: string };

/** Holds what the views show; `onChange` listeners re-render. */
export class TrapLedgerModel {
  private readonly backends = new Map<string, BackendState>();
  /** Site locations per backend, from its reports: guests all link at 1 MiB, so an address means nothing across guests. */
  private readonly locations = new Map<string, Map<number, LocatedSite>>();
  /** Backends with a debug session running: live events count there. */
  private readonly sessions = new Set<string>();
  private readonly listeners = new Set<() => void>();

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  clear(): void {
    this.backends.clear();
    this.locations.clear();
    this.changed();
  }

  /** A debug session started on this backend: its previous figures (and what they located) go. */
  startSession(backend: string): void {
    this.sessions.add(backend);
    this.backends.set(backend, emptyState("debug"));
    this.locations.delete(backend);
    this.changed();
  }

  endSession(backend: string): void {
    this.sessions.delete(backend);
    const s = this.backends.get(backend);
    if (s) {
      s.live = false;
      this.changed();
    }
  }

  /** A whole report: replaces what was known for its backend (it covers every event so far). */
  setReport(report: LedgerReport, origin: "run" | "debug" = "run"): void {
    const state = emptyState(origin);
    state.live = origin === "debug" && this.sessions.has(report.backend);
    state.report = report;
    state.lastInstruction = report.instructions;
    this.backends.set(report.backend, state);
    const locations = new Map<number, LocatedSite>();
    for (const s of report.sites) locations.set(s.address, s);
    for (const s of [...report.missedSites, ...report.holes]) {
      if (!locations.has(s.address)) locations.set(s.address, s);
    }
    this.locations.set(report.backend, locations);
    this.changed();
  }

  /** Live events from the debug adapter; events the last report already counted are skipped. */
  addEvents(backend: string, events: readonly LedgerEvent[]): void {
    let state = this.backends.get(backend);
    if (!state) {
      state = emptyState("debug");
      this.backends.set(backend, state);
    }
    // A run's report shows here until the session's next report: its figures are not the session's.
    if (state.origin === "run") return;
    // The adapter sends every event a report counts before that report, so each event after it is new
    // (one at the report's own instruction count too: the instruction a breakpoint stopped before).
    let added = 0;
    for (const e of events) {
      const byKind = state.extra.get(e.kind) ?? new Map<number, SiteTally>();
      state.extra.set(e.kind, byKind);
      const t = byKind.get(e.site) ?? { count: 0, cycles: 0 };
      t.count += 1;
      t.cycles += e.cycles;
      t.catalogueId ??= e.catalogueId;
      t.detail ??= e.detail;
      byKind.set(e.site, t);
      state.extraCycles += e.cycles;
      state.lastInstruction = Math.max(state.lastInstruction, e.instruction);
      added++;
    }
    if (added > 0) this.changed();
  }

  /** Known source location of a site address, from the backend's last report. */
  location(address: number, backend: string): LocatedSite | undefined {
    return this.locations.get(backend)?.get(address);
  }

  backendNames(): string[] {
    return [...this.backends.keys()];
  }

  /** The tree, backends in the order they were first seen; kinds in catalogue order; sites by cycles then count. */
  tree(): BackendNode[] {
    return [...this.backends.entries()].map(([backend, s]) => this.backendNode(backend, s));
  }

  private backendNode(backend: string, s: BackendState): BackendNode {
    const kinds = new Map<EventKind, { count: number; cycles: number; sites: Map<number, SiteNode> }>();
    const kindEntry = (k: EventKind) => {
      let e = kinds.get(k);
      if (!e) kinds.set(k, (e = { count: 0, cycles: 0, sites: new Map() }));
      return e;
    };
    const r = s.report;
    if (r) {
      for (const [k, e] of Object.entries(r.events) as [EventKind, { count: number; cycles: number }][]) {
        if (e.count === 0) continue;
        const ke = kindEntry(k);
        ke.count += e.count;
        ke.cycles += e.cycles;
      }
      for (const site of r.sites) {
        const kindsHere = (Object.entries(site.events) as [EventKind, number][]).filter(([, c]) => c > 0);
        for (const [k, c] of kindsHere) {
          kindEntry(k).sites.set(site.address, {
            type: "site",
            backend,
            kind: k,
            address: site.address,
            symbol: site.symbol,
            file: site.file,
            line: site.line,
            catalogueId: site.catalogueId,
            mnemonic: site.mnemonic,
            count: c,
            cycles: kindsHere.length === 1 ? site.cycles : undefined,
            siteCycles: site.cycles,
          });
        }
      }
      // Holes and missed sites carry their locations in their own lists.
      for (const h of r.holes) {
        const ke = kindEntry("hole");
        if (!r.events.hole) ke.count += 1;
        if (!ke.sites.has(h.address)) {
          ke.sites.set(h.address, { type: "site", backend, kind: "hole", ...h, count: 1, detail: h.detail });
        } else ke.sites.get(h.address)!.detail ??= h.detail;
      }
      for (const m of r.missedSites) {
        const ke = kindEntry("missed-site");
        if (!r.events["missed-site"]) ke.count += 1;
        if (!ke.sites.has(m.address)) ke.sites.set(m.address, { type: "site", backend, kind: "missed-site", ...m, count: 1 });
      }
    }
    for (const [k, bySite] of s.extra) {
      const ke = kindEntry(k);
      for (const [address, t] of bySite) {
        ke.count += t.count;
        ke.cycles += t.cycles;
        const existing = ke.sites.get(address);
        if (existing) {
          existing.count += t.count;
          if (existing.cycles !== undefined) existing.cycles += t.cycles;
          if (existing.siteCycles !== undefined) existing.siteCycles += t.cycles;
        } else {
          const loc = this.location(address, backend);
          ke.sites.set(address, {
            type: "site",
            backend,
            kind: k,
            address,
            symbol: loc?.symbol,
            file: loc?.file,
            line: loc?.line,
            catalogueId: t.catalogueId ?? loc?.catalogueId,
            mnemonic: loc?.mnemonic,
            count: t.count,
            cycles: t.cycles,
            detail: t.detail,
          });
        }
      }
    }
    const kindNodes: KindNode[] = EVENT_KINDS.filter((k) => kinds.has(k)).map((k) => {
      const e = kinds.get(k)!;
      const sites = [...e.sites.values()].sort(
        (a, b) => (b.cycles ?? b.siteCycles ?? 0) - (a.cycles ?? a.siteCycles ?? 0) || b.count - a.count || a.address - b.address,
      );
      return { type: "kind", backend, kind: k, count: e.count, cycles: e.cycles, sites };
    });
    return {
      type: "backend",
      backend,
      origin: s.origin,
      live: s.live,
      instructions: r ? Math.max(r.instructions, s.lastInstruction) : s.lastInstruction || undefined,
      cycles: (r?.cycles ?? 0) + s.extraCycles,
      kinds: kindNodes,
    };
  }
}

const KIND_TITLES: Record<EventKind, string> = {
  trap: "traps",
  "vm-exit": "VM exits",
  hypercall: "hypercalls",
  ipc: "IPC",
  "wedge-call": "wedge calls",
  inline: "inline rewrites",
  hole: "holes",
  "missed-site": "missed sites",
  exception: "guest exceptions",
  "triple-fault": "triple faults",
};

export function kindTitle(kind: EventKind): string {
  return KIND_TITLES[kind];
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Label, description and tooltip of a node, as the tree shows them. */
export function describeNode(node: TrapNode): { label: string; description: string; tooltip: string } {
  switch (node.type) {
    case "backend": {
      const events = node.kinds.reduce((n, k) => n + k.count, 0);
      const state = node.live ? "live" : node.origin === "debug" ? "debug session" : "last run";
      return {
        label: node.backend,
        description: `${formatCount(events)} events · ${formatCount(node.cycles)} cycles (${state})`,
        tooltip: `${node.backend}: ${formatCount(events)} events, ${formatCount(node.cycles)} modelled cycles` +
          (node.instructions ? ` over ${formatCount(node.instructions)} instructions` : "") + ` — ${state}`,
      };
    }
    case "kind":
      return {
        label: kindTitle(node.kind),
        description: `${formatCount(node.count)}× · ${formatCount(node.cycles)} cycles`,
        tooltip: `${formatCount(node.count)} ${kindTitle(node.kind)} at ${node.sites.length} site(s), ${formatCount(node.cycles)} modelled cycles`,
      };
    case "more":
      return {
        label: `… ${formatCount(node.sites)} more sites`,
        description: `${formatCount(node.count)}×`,
        tooltip: `${formatCount(node.sites)} more sites with ${kindTitle(node.kind)} (${formatCount(node.count)} events), fewer cycles each than those above; the ${SITES_LISTED} costliest are listed. afterburn run --json has them all.`,
      };
    case "site": {
      const what = [node.mnemonic, node.catalogueId && node.catalogueId !== node.mnemonic ? `(${node.catalogueId})` : ""].filter(Boolean).join(" ");
      const cycles =
        node.cycles !== undefined
          ? `${formatCount(node.cycles)} cycles`
          : node.siteCycles !== undefined
            ? `site total ${formatCount(node.siteCycles)} cycles`
            : "";
      const where = [node.symbol, node.file && node.line ? `${node.file}:${node.line}` : undefined, hex(node.address)].filter(Boolean).join(" · ");
      return {
        label: siteLabel(node) + (what ? ` ${what}` : ""),
        description: [`${formatCount(node.count)}×`, cycles].filter(Boolean).join(" · "),
        tooltip: `${where}${node.detail ? `\n${node.detail}` : ""}`,
      };
    }
  }
}

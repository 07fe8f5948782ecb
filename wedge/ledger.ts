// The ledger: every trap, VM exit, hypercall, IPC, wedge call, inline rewrite execution, hole, missed site and
// exception a run meets, counted per site and priced by the cost model (core/isa/costs.ts).

import { cyclesFor, type BackendName } from "../core/isa/index.js";
import {
  LEDGER_EVENT_KINDS,
  type LedgerEvent,
  type LedgerEventKind,
  type LedgerReport,
  type LedgerSiteRow,
  type SiteLocation,
} from "./types.js";

interface SiteTally {
  address: number;
  catalogueId: string;
  mnemonic: string;
  events: Partial<Record<LedgerEventKind, number>>;
  cycles: number;
}

interface LedgerState {
  kinds: Partial<Record<LedgerEventKind, { count: number; cycles: number }>>;
  sites: Map<number, SiteTally>;
  missed: Map<number, SiteLocation>;
  holes: Map<number, { catalogueId: string; detail: string }>;
  eventCycles: number;
}

function emptyState(): LedgerState {
  return { kinds: {}, sites: new Map(), missed: new Map(), holes: new Map(), eventCycles: 0 };
}

export class Ledger {
  private state = emptyState();
  private readonly listeners = new Set<(e: LedgerEvent) => void>();

  constructor(
    readonly backend: BackendName,
    private readonly locate: (address: number) => SiteLocation,
    /** The mnemonic text of the instruction at an address (for site rows). */
    private readonly mnemonicAt: (address: number) => string,
  ) {}

  /** Record one event, priced by the cost key. */
  record(kind: LedgerEventKind, site: number, costKey: string, detail: string, instruction: number, catalogueId?: string): LedgerEvent {
    const cycles = cyclesFor(costKey);
    const e: LedgerEvent = { kind, site: site >>> 0, catalogueId, detail, cycles, instruction };
    const s = this.state;
    const k = (s.kinds[kind] ??= { count: 0, cycles: 0 });
    k.count++;
    k.cycles += cycles;
    s.eventCycles += cycles;
    if (catalogueId !== undefined) {
      let t = s.sites.get(e.site);
      if (!t) {
        t = { address: e.site, catalogueId, mnemonic: this.mnemonicAt(e.site), events: {}, cycles: 0 };
        s.sites.set(e.site, t);
      }
      t.events[kind] = (t.events[kind] ?? 0) + 1;
      t.cycles += cycles;
    }
    if (kind === "missed-site" && !s.missed.has(e.site)) s.missed.set(e.site, this.locate(e.site));
    if (kind === "hole" && !s.holes.has(e.site)) s.holes.set(e.site, { catalogueId: catalogueId ?? "", detail });
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a listener's bug must not stop the guest
      }
    }
    return e;
  }

  onEvent(listener: (e: LedgerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Count of one kind so far. */
  count(kind: LedgerEventKind): number {
    return this.state.kinds[kind]?.count ?? 0;
  }

  get eventCycles(): number {
    return this.state.eventCycles;
  }

  snapshot(): unknown {
    const s = this.state;
    return {
      kinds: structuredClone(s.kinds),
      sites: new Map([...s.sites].map(([a, t]) => [a, { ...t, events: { ...t.events } }])),
      missed: new Map(s.missed),
      holes: new Map(s.holes),
      eventCycles: s.eventCycles,
    } satisfies LedgerState;
  }

  restore(snapshot: unknown): void {
    const s = snapshot as LedgerState;
    this.state = {
      kinds: structuredClone(s.kinds),
      sites: new Map([...s.sites].map(([a, t]) => [a, { ...t, events: { ...t.events } }])),
      missed: new Map(s.missed),
      holes: new Map(s.holes),
      eventCycles: s.eventCycles,
    };
  }

  report(instructions: number): LedgerReport {
    const s = this.state;
    const events: LedgerReport["events"] = {};
    for (const k of LEDGER_EVENT_KINDS) if (s.kinds[k]) events[k] = { ...s.kinds[k]! };
    const sites: LedgerSiteRow[] = [...s.sites.values()]
      .map((t) => {
        const loc = this.locate(t.address);
        return { ...loc, address: t.address, catalogueId: t.catalogueId, mnemonic: t.mnemonic, events: { ...t.events }, cycles: t.cycles };
      })
      .sort((a, b) => b.cycles - a.cycles || a.address - b.address);
    const holes = [...s.holes].map(([address, h]) => ({ ...this.locate(address), address, catalogueId: h.catalogueId, detail: h.detail }));
    holes.sort((a, b) => a.address - b.address);
    const missedSites = [...s.missed.values()].sort((a, b) => a.address - b.address);
    return {
      schema: "afterburn-ledger",
      version: 1,
      backend: this.backend,
      instructions,
      cycles: instructions * cyclesFor("guest.instruction") + s.eventCycles,
      events,
      sites,
      missedSites,
      holes,
    };
  }
}

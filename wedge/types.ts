// Contract A: what the wedge offers the command line, the debugger and the editor (wedge/index.ts re-exports it).
import type { Machine, MachineSnapshot, RunResult } from "../machine/index.js";
import type { BackendName } from "../core/isa/index.js";

export type { BackendName };

/** Where a site (or any guest address) is: symbol+offset from the ELF symbols, file:line from DWARF. */
export interface SiteLocation {
  address: number;
  /** "kmain+0x1c" */
  symbol?: string;
  file?: string;
  line?: number;
}

export interface GuestOptions {
  backend: BackendName;
  /** Named in load errors (default "guest"). */
  fileName?: string;
  memoryMiB?: number;
  /** The guest's COM1 output, as it comes (one call per byte, Latin-1). */
  onSerial?(text: string): void;
  cmdline?: string;
  /** VT-x execution controls by name (see wedge/backends/vtx.ts VTX_CONTROLS); unnamed ones keep their defaults. */
  vtx?: Record<string, boolean>;
}

export interface RewrittenSite {
  /** Link-time (= guest linear) address of the site's first byte. */
  start: number;
  /** First byte after the padding. */
  end: number;
  /** Catalogue id ("cli", "mov-to-cr3"...) or, for a memory annotation, "memory:<kind>" ("memory:pte_set"). */
  catalogueId: string;
  /** The original instruction in AT&T syntax. */
  mnemonic: string;
  /** The site's bytes as the ELF file has them (instruction + NOP padding). */
  original: Uint8Array;
  /** The bytes in guest memory after loading (equal to original when rewrite is "none"). */
  rewritten: Uint8Array;
  /** inline: vCPU operations in place; call: call rel32 into the wedge entry region; none: left as built (raw, trap, vtx). */
  rewrite: "inline" | "call" | "none";
  location: SiteLocation;
}

export type LedgerEventKind =
  | "trap"
  | "vm-exit"
  | "hypercall"
  | "ipc"
  | "wedge-call"
  | "inline"
  | "hole"
  | "missed-site"
  | "exception"
  | "triple-fault";

export const LEDGER_EVENT_KINDS: readonly LedgerEventKind[] = [
  "trap", "vm-exit", "hypercall", "ipc", "wedge-call", "inline", "hole", "missed-site", "exception", "triple-fault",
];

export interface LedgerEvent {
  kind: LedgerEventKind;
  /** Site start, or the guest EIP (linear) for events not tied to a site (interrupts, exceptions). */
  site: number;
  catalogueId?: string;
  detail: string;
  /** Modelled cycles of this occurrence (core/isa/costs.ts). */
  cycles: number;
  /** Guest instructions retired when it happened. */
  instruction: number;
}

export interface LedgerSiteRow {
  address: number;
  symbol?: string;
  file?: string;
  line?: number;
  catalogueId: string;
  mnemonic: string;
  events: Partial<Record<LedgerEventKind, number>>;
  cycles: number;
}

export interface LedgerReport {
  schema: "afterburn-ledger";
  version: 1;
  backend: BackendName;
  instructions: number;
  /** Modelled cycles: guest instructions × the base CPI plus every event's cycles. */
  cycles: number;
  events: Partial<Record<LedgerEventKind, { count: number; cycles: number }>>;
  /** By cycles, descending. */
  sites: LedgerSiteRow[];
  missedSites: SiteLocation[];
  holes: { address: number; symbol?: string; file?: string; line?: number; catalogueId: string; detail: string }[];
}

export interface GuestSnapshot {
  readonly machine: MachineSnapshot;
  readonly wedge: unknown;
}

export interface Guest {
  readonly backend: BackendName;
  readonly machine: Machine;
  readonly sites: readonly RewrittenSite[];
  readonly ledger: import("./ledger.js").Ledger;
  run(options?: { maxInstructions?: number }): RunResult;
  requestStop(): void;
  onEvent(listener: (e: LedgerEvent) => void): () => void;
  vcpu(): Record<string, number> | undefined;
  backendState(): Record<string, string | number | boolean>;
  wedgeFrame(): { handler: string; site: number; operation: string } | undefined;
  snapshot(): GuestSnapshot;
  restore(s: GuestSnapshot): void;
  report(): LedgerReport;
}

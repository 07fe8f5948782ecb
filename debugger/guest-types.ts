// The guest as the debugger sees it: the shape of the wedge's contract A (wedge/index.ts).
// Only guest-host.ts obtains a Guest; everything else in debugger/ codes against these types,
// so switching from the raw stand-in to the wedge's loadGuest changes one file.

import type { Machine, RunResult } from "../machine/index.js";

export type BackendName = "raw" | "trap" | "vtx" | "xen" | "l4";
export const BACKEND_NAMES: readonly BackendName[] = ["raw", "trap", "vtx", "xen", "l4"];

export interface SiteLocation {
  address: number;
  symbol?: string;
  file?: string;
  line?: number;
}

export interface RewrittenSite {
  start: number;
  end: number;
  catalogueId: string;
  mnemonic: string;
  original: Uint8Array;
  rewritten: Uint8Array;
  rewrite: "inline" | "call" | "none";
  location: SiteLocation;
}

export type LedgerEventKind = "trap" | "vm-exit" | "hypercall" | "ipc" | "wedge-call" | "inline" | "hole" | "missed-site" | "exception" | "triple-fault";

export interface LedgerEvent {
  kind: LedgerEventKind;
  site: number;
  catalogueId?: string;
  detail: string;
  cycles: number;
  instruction: number;
}

export interface LedgerReport {
  schema: "afterburn-ledger";
  version: 1;
  backend: BackendName;
  instructions: number;
  cycles: number;
  events: Partial<Record<LedgerEventKind, { count: number; cycles: number }>>;
  sites: {
    address: number;
    symbol?: string;
    file?: string;
    line?: number;
    catalogueId: string;
    mnemonic: string;
    events: Partial<Record<LedgerEventKind, number>>;
    cycles: number;
  }[];
  missedSites: SiteLocation[];
  holes: { address: number; symbol?: string; file?: string; line?: number; catalogueId: string; detail: string }[];
}

export interface WedgeFrame {
  handler: string;
  site: number;
  operation: string;
}

/** What the debugger needs of a loaded guest (contract A's Guest). */
export interface DebugGuest {
  readonly backend: BackendName;
  readonly machine: Machine;
  readonly sites: readonly RewrittenSite[];
  run(options?: { maxInstructions?: number }): RunResult;
  requestStop(): void;
  onEvent(listener: (e: LedgerEvent) => void): () => void;
  vcpu(): Record<string, number> | undefined;
  backendState(): Record<string, string | number | boolean>;
  wedgeFrame(): WedgeFrame | undefined;
  snapshot(): unknown;
  restore(s: unknown): void;
  report(): LedgerReport;
}

export interface HostOptions {
  backend: BackendName;
  fileName: string;
  memoryMiB?: number;
  cmdline?: string;
  postPorts?: number[];
  onSerial(text: string): void;
  onPost?(port: number, byte: number): void;
}

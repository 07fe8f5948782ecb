// The guest as the debugger sees it: the wedge's Guest (wedge/types.ts), less what only the
// command line needs. Only guest-host.ts obtains a guest; the rest of debugger/ codes against these.

import type { ExceptionInfo } from "../machine/index.js";
import { BACKENDS, type BackendName, type Guest } from "../wedge/index.js";

export type { BackendName, LedgerEvent, LedgerEventKind, LedgerReport, RewrittenSite, SiteLocation } from "../wedge/index.js";
export const BACKEND_NAMES: readonly BackendName[] = BACKENDS;
/** Where a rewritten site's call lands, and the wedge's window (stepping treats both as part of the site). */
export { inWedge, WEDGE_ENTRY } from "../wedge/index.js";
/** What backs a physical page (RAM, a device, nothing): a host write lands only on RAM or a device. */
export { PageKind } from "../machine/memory.js";
/** Guest RAM the machine takes, in MiB. */
export { MAX_MEMORY_MIB, MIN_MEMORY_MIB } from "../machine/machine.js";

export interface WedgeFrame {
  handler: string;
  site: number;
  operation: string;
}

/** What the debugger needs of a loaded guest. */
export type DebugGuest = Omit<Guest, "ledger" | "restore" | "snapshot"> & {
  snapshot(): unknown;
  restore(s: unknown): void;
};

export interface HostOptions {
  backend: BackendName;
  fileName: string;
  memoryMiB?: number;
  cmdline?: string;
  postPorts?: number[];
  /** VT-x controls by name (wedge/backends/vtx.ts), vtx backend only. */
  vtx?: Record<string, boolean>;
  onSerial(text: string): void;
  onPost?(port: number, byte: number): void;
  /** An exception or software interrupt the guest's own IDT is about to receive, with a one-line description. */
  onGuestException?(info: ExceptionInfo, detail: string): void;
}

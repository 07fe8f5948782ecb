// The ONE place the debugger obtains a guest. An ELF loads through the wedge (wedge/index.ts
// loadGuest) on any backend, exactly as `afterburn run` does; a firmware image has no .afterburn
// records and boots on a bare machine (raw only), with its exceptions in a ledger of the same shape.

import { Machine, type RunResult, type ExceptionInfo } from "../machine/index.js";
import { loadGuest, WedgeLoadError } from "../wedge/index.js";
import type { DebugGuest, HostOptions, LedgerEvent, LedgerEventKind, LedgerReport, RewrittenSite, SiteLocation } from "./guest-types.js";

export class GuestLoadError extends Error {
  constructor(
    message: string,
    readonly site?: SiteLocation,
  ) {
    super(message);
    this.name = "GuestLoadError";
  }
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

const EXCEPTION_NAMES: Record<number, string> = {
  0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC", 18: "#MC", 19: "#XM",
};

export function exceptionName(vector: number, software: boolean): string {
  if (software) return `int $0x${vector.toString(16)}`;
  return EXCEPTION_NAMES[vector] ?? `vector ${vector}`;
}

/** Load an ELF kernel as a guest on `options.backend`. Throws GuestLoadError naming the file (and the site, for a bad record). */
export function openElfGuest(bytes: Uint8Array, options: HostOptions): DebugGuest {
  let guest;
  try {
    guest = loadGuest(bytes, {
      backend: options.backend,
      fileName: options.fileName,
      memoryMiB: options.memoryMiB,
      cmdline: options.cmdline,
      vtx: options.vtx,
      onSerial: options.onSerial,
    });
  } catch (e) {
    if (e instanceof WedgeLoadError) {
      throw new GuestLoadError(e.tooLittleMemory ? `${e.message} (give the guest more memory: set "memory" in the launch configuration)` : e.message, e.site);
    }
    throw e;
  }
  watchPostPorts(guest.machine, options);
  reportGuestExceptions(guest.machine, options);
  return guest;
}

/**
 * Tell the debugger of every exception the guest's own IDT receives, on any backend: the wedge's
 * hook sees it first and may handle it (a trap the VMM emulates is not the guest's), so only what
 * it lets through counts. The ledger cannot serve here: backends price a software interrupt at
 * its site (trap, wedge call) or not at all (raw).
 */
function reportGuestExceptions(machine: Machine, options: HostOptions): void {
  const notify = options.onGuestException;
  if (!notify) return;
  const hooks = machine.cpu.hooks;
  const inner = hooks.onException;
  hooks.onException = (info) => {
    const r = inner ? inner.call(hooks, info) : "continue";
    if (r === "continue") {
      // The EIP the frame will carry: the wedge puts an exception raised in a site's stub (xen, l4)
      // at the site, where raw has it.
      const eip = machine.cpu.eip >>> 0;
      const at = eip === info.eip >>> 0 ? info : { ...info, eip };
      notify(at, describeGuestException(at));
    }
    return r;
  };
}

/** "int $0x30 (vector 48) at 0x00100123", "#PF (vector 14, error code 0x00000002, address 0x...) at ...". */
export function describeGuestException(info: ExceptionInfo): string {
  return `${exceptionName(info.vector, info.software)} (vector ${info.vector}${info.errorCode !== undefined ? `, error code ${hex(info.errorCode)}` : ""}${info.faultAddress !== undefined ? `, address ${hex(info.faultAddress)}` : ""}) at ${hex(info.eip)}`;
}

function watchPostPorts(machine: Machine, options: HostOptions): void {
  const onPost = options.onPost;
  if (!onPost) return;
  for (const port of options.postPorts ?? []) machine.devices.io.watchWrites(port, (p, byte) => onPost(p, byte));
}

/** Boot a firmware image (reset vector F000:FFF0) on the raw machine. */
export function openRomGuest(bytes: Uint8Array, options: HostOptions): DebugGuest {
  if (options.backend !== "raw") throw new GuestLoadError(`${options.fileName}: a ROM boots on the raw backend only`);
  const guest = new RomGuest(options);
  guest.machine.loadRom(bytes);
  reportGuestExceptions(guest.machine, options);
  return guest;
}

interface RawSnapshot {
  machine: ReturnType<Machine["snapshot"]>;
  events: [LedgerEventKind, number][];
  perSite: [number, [LedgerEventKind, number][]][];
}

class RomGuest implements DebugGuest {
  readonly backend = "raw" as const;
  readonly machine: Machine;
  readonly sites: RewrittenSite[] = [];
  private readonly listeners = new Set<(e: LedgerEvent) => void>();
  private counts = new Map<LedgerEventKind, number>();
  private perSite = new Map<number, Map<LedgerEventKind, number>>();

  constructor(options: HostOptions) {
    this.machine = new Machine({
      memoryMiB: options.memoryMiB,
      postPorts: options.postPorts,
      onPost: options.onPost,
      onSerial: (b) => options.onSerial(String.fromCharCode(b)),
    });
    this.machine.cpu.hooks = {
      onException: (info: ExceptionInfo) => {
        this.record({
          kind: "exception",
          site: info.eip >>> 0,
          detail: describeGuestException(info),
          cycles: 0,
          instruction: this.machine.cpu.instructionCount,
        });
        return "continue";
      },
    };
  }

  run(options: { maxInstructions?: number } = {}): RunResult {
    const r = this.machine.run({ maxInstructions: options.maxInstructions ?? 2_000_000_000 });
    if (r.reason === "triple-fault") {
      this.record({ kind: "triple-fault", site: (r.eip ?? 0) >>> 0, detail: r.message, cycles: 0, instruction: this.machine.cpu.instructionCount });
    }
    return r;
  }

  requestStop(): void {
    this.machine.stop();
  }

  onEvent(listener: (e: LedgerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(e: LedgerEvent): void {
    this.counts.set(e.kind, (this.counts.get(e.kind) ?? 0) + 1);
    let s = this.perSite.get(e.site);
    if (!s) this.perSite.set(e.site, (s = new Map()));
    s.set(e.kind, (s.get(e.kind) ?? 0) + 1);
    for (const l of this.listeners) l(e);
  }

  vcpu(): undefined {
    return undefined;
  }

  backendState(): Record<string, string | number | boolean> {
    return { backend: "raw", model: "bare metal: a firmware image from the reset vector, nothing afterburned", sites: 0 };
  }

  wedgeFrame(): undefined {
    return undefined;
  }

  snapshot(): RawSnapshot {
    return {
      machine: this.machine.snapshot(),
      events: [...this.counts],
      perSite: [...this.perSite].map(([k, m]) => [k, [...m]]),
    };
  }

  restore(s: unknown): void {
    const snap = s as RawSnapshot;
    this.machine.restore(snap.machine);
    this.counts = new Map(snap.events);
    this.perSite = new Map(snap.perSite.map(([k, m]) => [k, new Map(m)]));
  }

  report(): LedgerReport {
    const events: LedgerReport["events"] = {};
    for (const [k, n] of this.counts) events[k] = { count: n, cycles: 0 };
    const sites: LedgerReport["sites"] = [];
    for (const [address, m] of this.perSite) {
      const site = this.sites.find((x) => address >= x.start && address < x.end);
      if (!site) continue;
      sites.push({ address: site.start, symbol: site.location.symbol, catalogueId: site.catalogueId, mnemonic: site.mnemonic, events: Object.fromEntries(m), cycles: 0 });
    }
    return {
      schema: "afterburn-ledger",
      version: 1,
      backend: "raw",
      instructions: this.machine.cpu.instructionCount,
      cycles: 0,
      events,
      sites,
      missedSites: [],
      holes: [],
    };
  }
}

/** Free a history snapshot's saved pages (RAM snapshots are copy-on-write handles of the machine). */
export function releaseGuestSnapshot(guest: DebugGuest, snapshot: unknown): void {
  const ram = (snapshot as { machine?: Parameters<Machine["releaseSnapshot"]>[0] } | undefined)?.machine;
  if (ram && typeof ram === "object" && "ram" in ram) guest.machine.releaseSnapshot(ram);
}

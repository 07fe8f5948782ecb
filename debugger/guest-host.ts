// The ONE place the debugger obtains a guest. Until the wedge (wedge/index.ts loadGuest) is in
// this tree, the raw backend is served by a stand-in over machine/ directly: the ELF's segments
// are loaded like `afterburn run` does, the .afterburn sites are listed (raw leaves them as they
// are: padding NOPs execute), and the ledger records guest exceptions and a triple fault.
// Other backends are refused with a clear message.

import { Machine, type RunResult, type ExceptionInfo } from "../machine/index.js";
import { readAnnotationRecords, readElf, type ElfFile } from "../core/toolchain/index.js";
import { entryForForm } from "../core/isa/index.js";
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

/** Backends the host can serve in this build. */
export function availableBackends(): string[] {
  return ["raw"];
}

/** Load an ELF kernel as a guest on `options.backend`. Throws GuestLoadError naming the file. */
export function openElfGuest(bytes: Uint8Array, options: HostOptions): DebugGuest {
  if (options.backend !== "raw") {
    throw new GuestLoadError(`backend '${options.backend}' needs the wedge, which this build of the debugger does not include; available: ${availableBackends().join(", ")}`);
  }
  let elf: ElfFile;
  try {
    elf = readElf(bytes, options.fileName);
  } catch (e) {
    throw new GuestLoadError((e as Error).message);
  }
  if (elf.class !== 32 || elf.machine !== "EM_386") {
    throw new GuestLoadError(`${options.fileName}: a ${elf.class}-bit ${elf.machine} ELF; the bundled PC runs IA-32 (ELF32, EM_386) kernels`);
  }
  if (elf.type !== "EXEC") throw new GuestLoadError(`${options.fileName}: an ELF of type ${elf.type}; link it into an executable first`);
  const segments = elf.loadSegments();
  if (segments.length === 0) throw new GuestLoadError(`${options.fileName}: no loadable segments`);
  const guest = new RawGuest(options, elf);
  try {
    guest.machine.loadElfSegments(segments, elf.entry, { cmdline: options.cmdline ?? options.fileName });
  } catch (e) {
    throw new GuestLoadError(`${options.fileName}: ${(e as Error).message} (give the guest more memory)`);
  }
  return guest;
}

/** Boot a firmware image (reset vector F000:FFF0) on the raw machine. */
export function openRomGuest(bytes: Uint8Array, options: HostOptions): DebugGuest {
  if (options.backend !== "raw") throw new GuestLoadError(`${options.fileName}: a ROM boots on the raw backend only`);
  const guest = new RawGuest(options, undefined);
  guest.machine.loadRom(bytes);
  return guest;
}

/** Decoded machine form of the instruction at the start of `bytes` (prefixes skipped). */
function machineForm(bytes: Uint8Array): { opcode: number; reg: number; rm: number; mem: boolean } | undefined {
  let i = 0;
  while (i < bytes.length && [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65].includes(bytes[i])) i++;
  if (i >= bytes.length) return undefined;
  let opcode = bytes[i++];
  if (opcode === 0x0f && i < bytes.length) opcode = 0x100 + bytes[i++];
  const modrm = bytes[i] ?? 0;
  return { opcode, reg: (modrm >> 3) & 7, rm: modrm & 7, mem: modrm >> 6 !== 3 };
}

interface RawSnapshot {
  machine: ReturnType<Machine["snapshot"]>;
  events: [LedgerEventKind, number][];
  perSite: [number, [LedgerEventKind, number][]][];
}

class RawGuest implements DebugGuest {
  readonly backend = "raw" as const;
  readonly machine: Machine;
  readonly sites: RewrittenSite[] = [];
  private readonly listeners = new Set<(e: LedgerEvent) => void>();
  private counts = new Map<LedgerEventKind, number>();
  private perSite = new Map<number, Map<LedgerEventKind, number>>();

  constructor(options: HostOptions, elf: ElfFile | undefined) {
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
          detail: `${exceptionName(info.vector, info.software)} (vector ${info.vector}${info.errorCode !== undefined ? `, error code ${hex(info.errorCode)}` : ""}${info.faultAddress !== undefined ? `, address ${hex(info.faultAddress)}` : ""}) at ${hex(info.eip)}`,
          cycles: 0,
          instruction: this.machine.cpu.instructionCount,
        });
        return "continue";
      },
    };
    if (elf) this.sites.push(...listSites(elf));
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
    return { backend: "raw", model: "bare metal: the guest runs at ring 0, unmodified; padding NOPs execute", sites: this.sites.length };
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

/** The .afterburn records as sites; on raw nothing is rewritten (rewritten = original). */
function listSites(elf: ElfFile): RewrittenSite[] {
  let records;
  try {
    records = readAnnotationRecords(elf);
  } catch (e) {
    throw new GuestLoadError((e as Error).message);
  }
  const out: RewrittenSite[] = [];
  for (const r of records) {
    const bytes = bytesAt(elf, r.start, r.end - r.start);
    if (!bytes) continue;
    const form = machineForm(bytes);
    const entry = form ? entryForForm(form, 32) : undefined;
    const sym = elf.symbolize(r.start);
    out.push({
      start: r.start,
      end: r.end,
      catalogueId: entry?.id ?? "unknown",
      mnemonic: entry?.mnemonics[0] ?? "?",
      original: bytes,
      rewritten: bytes,
      rewrite: "none",
      location: { address: r.start, symbol: sym ? (sym.offset ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name) : undefined },
    });
  }
  return out;
}

function bytesAt(elf: ElfFile, addr: number, length: number): Uint8Array | undefined {
  for (const s of elf.segments) {
    if (addr >= s.vaddr && addr + length <= s.vaddr + s.filesz) return s.data().slice(addr - s.vaddr, addr - s.vaddr + length);
  }
  return undefined;
}

/** Free a history snapshot's saved pages (RAM snapshots are copy-on-write handles of the machine). */
export function releaseGuestSnapshot(guest: DebugGuest, snapshot: unknown): void {
  const ram = (snapshot as { machine?: Parameters<Machine["releaseSnapshot"]>[0] } | undefined)?.machine;
  if (ram && typeof ram === "object" && "ram" in ram) guest.machine.releaseSnapshot(ram);
}

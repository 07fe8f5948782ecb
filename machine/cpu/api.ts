// The CPU's public surface: what the machine run loop, the wedge and the debugger may use.
// machine/cpu/cpu.ts implements it (class Cpu); machine/memory.ts implements PhysicalMemoryApi.

import type { CpuHooks, InstructionForm, InterruptController, MmioHandler, PortBus } from "../bus.js";

/** General registers in encoding order. */
export const enum Reg {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

/** Segment registers in encoding order. */
export const enum SegReg {
  ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5,
}

/** A segment register with its hidden descriptor cache. */
export interface SegmentState {
  selector: number;
  base: number;
  /** Byte-granular effective limit (already scaled by G). */
  limit: number;
  /** Descriptor access byte (P, DPL, S, type) in bits 0–7 and flags (AVL, L, D/B, G) in bits 12–15, as in descriptor bytes 5–6. */
  access: number;
}

export interface TableRegister {
  base: number;
  limit: number;
}

/** Why Cpu.run returned. */
export type CpuStop =
  /** Executed the requested number of instructions. */
  | { kind: "budget" }
  /** `hlt` executed; the CPU waits for an interrupt (the machine fast-forwards time). */
  | { kind: "halt" }
  /** EIP reached a breakpoint (linear address) before executing it. */
  | { kind: "breakpoint"; eip: number }
  /** A hook returned "stop". */
  | { kind: "hook" }
  /** Shutdown after a triple fault: the vectors of the three faults and where. */
  | { kind: "triple-fault"; eip: number; vectors: number[] }
  /** requestStop() was called (by a device such as the exit port, or by the host). */
  | { kind: "requested" };

/** A JSON-able copy of everything the CPU holds (registers, caches excluded). */
export type CpuSnapshot = Record<string, unknown>;

export interface CpuApi {
  /** General registers (32-bit, encoding order; see Reg). Writable. */
  readonly regs: Int32Array;
  eip: number;
  /** Full EFLAGS (lazy flags materialised on read; writing sets all bits as given). */
  getEflags(): number;
  setEflags(value: number): void;
  readonly segs: SegmentState[];
  /** CR0..CR4 (index 1 unused). Write through setCr to get the side effects (TLB flush, mode change). */
  readonly cr: Uint32Array;
  setCr(n: number, value: number): void;
  readonly dr: Uint32Array;
  gdtr: TableRegister;
  idtr: TableRegister;
  ldtr: SegmentState;
  tr: SegmentState;
  /** Current privilege level (CS.RPL in protected mode, 0 in real mode). */
  readonly cpl: number;
  /** 16 in real mode or a 16-bit code segment, else 32. */
  readonly codeSize: 16 | 32;
  /** Instructions retired since reset (the machine's time base). */
  readonly instructionCount: number;
  readonly halted: boolean;

  /** Wire-up done by the machine. */
  io: PortBus;
  interrupts: InterruptController | null;
  hooks: CpuHooks;

  /** Power-on / reset state (real mode, CS:IP = F000:FFF0). */
  reset(): void;
  /** Flat 32-bit protected mode as a multiboot loader leaves it (CS/DS/ES/FS/GS/SS flat 4 GiB, PG=0, IF=0). */
  enterFlatProtectedMode(entry: number): void;

  /** Run at most `budget` instructions. Returns early on halt, breakpoint, hook stop, triple fault or requestStop. */
  run(budget: number): CpuStop;
  /** Ask a running run() to return after the current instruction ({kind:"requested"}). */
  requestStop(): void;
  /** Assert the INTR check (a device raised a line); cheap to call often. */
  notifyInterrupt(): void;
  /** Deliver an interrupt/exception through the guest IDT now (the wedge injects virtual interrupts this way). */
  deliverInterrupt(vector: number, errorCode?: number): void;

  /** Linear addresses to stop at before executing (the debugger). */
  readonly breakpoints: Set<number>;
  /** Forms reported to hooks.beforeInstruction. Changing them flushes the decode cache. */
  setHookedForms(forms: readonly InstructionForm[]): void;
  /** Linear ranges [start, end) that call hooks.onEntry when EIP enters them. */
  setEntryRanges(ranges: readonly { start: number; end: number }[]): void;

  /** Translate without side effects (no A/D bits, no faults); null when not mapped / not permitted. */
  translate(linear: number, write: boolean, user: boolean): number | null;
  /** Host-side linear reads/writes (debugger, wedge): no faults, unmapped bytes read as 0 / are skipped. */
  readLinear(linear: number, length: number): Uint8Array;
  writeLinear(linear: number, bytes: Uint8Array): number;

  snapshot(): CpuSnapshot;
  restore(s: CpuSnapshot): void;
}

export interface PhysicalMemoryApi {
  /** Size of RAM in bytes (RAM starts at physical 0). */
  readonly size: number;
  readonly ram: Uint8Array;
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, value: number): void;
  write16(addr: number, value: number): void;
  write32(addr: number, value: number): void;
  readBytes(addr: number, length: number): Uint8Array;
  /** Loader writes (ELF segments, tables): invalidates decoded code in the range. */
  writeBytes(addr: number, bytes: Uint8Array): void;
  mapMmio(base: number, length: number, handler: MmioHandler): void;
  /** Read-only image (BIOS ROM); writes are ignored. */
  mapRom(base: number, bytes: Uint8Array): void;
}

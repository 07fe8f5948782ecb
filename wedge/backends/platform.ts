// What every backend plugs into the guest: the shared context and small helpers over the machine.

import type { Cpu, InterruptController, Machine } from "../../machine/index.js";
import type { BackendName } from "../../core/isa/index.js";
import type { Ledger } from "../ledger.js";
import type { LoadedImage } from "../loader.js";
import type { GuestOptions, RewrittenSite } from "../types.js";

export interface PlatformContext {
  machine: Machine;
  image: LoadedImage;
  ledger: Ledger;
  backend: BackendName;
  options: GuestOptions;
}

export interface Platform {
  readonly sites: RewrittenSite[];
  vcpu(): Record<string, number> | undefined;
  state(): Record<string, string | number | boolean>;
  wedgeFrame(): { handler: string; site: number; operation: string } | undefined;
  snapshot(): unknown;
  restore(s: unknown): void;
  /** Account for anything still pending (a page-table write whose effect is checked lazily). */
  settle?(): void;
  /** Why the platform stopped the run (a hook returned "stop"), if it did. */
  takeStopMessage(): string | undefined;
}

export const EFLAGS_IF = 0x200;
export const EFLAGS_IOPL = 0x3000;
export const SS = 2;
export const CS = 1;
export const ESP = 4;

export const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

export function read32(cpu: Cpu, linear: number): number {
  const b = cpu.readLinear(linear >>> 0, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

export function write32(cpu: Cpu, linear: number, value: number): void {
  cpu.writeLinear(linear >>> 0, Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff));
}

/** Linear address of the instruction the CPU is at (cs base + eip). */
export function linearEip(cpu: Cpu): number {
  return (cpu.segs[CS]!.base + cpu.eip) >>> 0;
}

export function stackTop(cpu: Cpu): number {
  return (cpu.segs[SS]!.base + cpu.regs[ESP]!) >>> 0;
}

/** Gate type (low 5 bits of the access byte) of a vector in the IDT the CPU uses: 0x0E/0x06 interrupt gate. */
export function isInterruptGate(cpu: Cpu, vector: number): boolean {
  if (!(cpu.cr[0]! & 1)) return true; // real mode: the IVT clears IF
  const b = cpu.readLinear((cpu.idtr.base + vector * 8) >>> 0, 8);
  const type = b[5]! & 0x1f;
  return type === 0x0e || type === 0x06;
}

/**
 * Put a controller between the CPU and the platform's interrupt controller: `gate` may hold interrupts back (the
 * virtual IF), `onAcknowledge` sees every vector the CPU takes. Returns the inner controller.
 */
export function interposeInterrupts(
  machine: Machine,
  gate: () => boolean,
  onAcknowledge: (vector: number) => void,
): InterruptController {
  const inner = machine.devices.interrupts as InterruptController;
  const outer: InterruptController = {
    hasPending: () => gate() && inner.hasPending(),
    acknowledge: () => {
      const v = inner.acknowledge();
      onAcknowledge(v);
      return v;
    },
  };
  machine.cpu.interrupts = outer;
  return inner;
}

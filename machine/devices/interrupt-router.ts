// Wiring of interrupts: ISA IRQ lines fan out to the 8259A pair and the I/O APIC; the CPU's
// single InterruptController asks the local APIC when it is software-enabled (fixed interrupts,
// plus the 8259's INTR through LINT0 when that is unmasked ExtINT: virtual-wire mode), and the
// 8259 directly when the local APIC is disabled (PIC mode).

import type { InterruptController } from "../bus.js";
import { isaIrqToPin, type IoApic } from "./io-apic.js";
import type { LocalApic } from "./local-apic.js";
import type { Pic8259Pair } from "./pic8259.js";

export class IsaIrqLines {
  constructor(
    private readonly pic: Pic8259Pair,
    private readonly ioapic: IoApic,
  ) {}

  set(irq: number, level: boolean): void {
    this.pic.setIrq(irq, level);
    this.ioapic.setPin(isaIrqToPin(irq), level);
  }

  /** One edge-triggered request (timers). */
  pulse(irq: number): void {
    this.set(irq, true);
    this.set(irq, false);
  }
}

export class PlatformInterrupts implements InterruptController {
  constructor(
    private readonly pic: Pic8259Pair,
    private readonly lapic: LocalApic,
  ) {}

  private picRoutedToCpu(): boolean {
    return !this.lapic.enabled || this.lapic.extIntThroughLint0;
  }

  hasPending(): boolean {
    if (this.picRoutedToCpu() && this.pic.hasInterrupt()) return true;
    return this.lapic.hasPending();
  }

  acknowledge(): number {
    // ExtINT is delivered regardless of the task priority, ahead of fixed interrupts.
    if (this.picRoutedToCpu() && this.pic.hasInterrupt()) return this.pic.acknowledge();
    if (this.lapic.hasPending()) return this.lapic.acknowledge();
    // The request went away between INTR and INTA: a spurious interrupt.
    return this.lapic.enabled ? this.lapic.acknowledge() : this.pic.acknowledge();
  }
}

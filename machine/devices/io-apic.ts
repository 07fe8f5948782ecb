// I/O APIC at 0xFEC00000 (IOREGSEL at +0x00, IOWIN at +0x10) with 24 redirection entries.
// ISA IRQ n arrives on pin n, except IRQ 0 on pin 2 (as the MP table announces, as on PCs).
// Fixed and lowest-priority deliveries go to the one local APIC whatever the destination field
// says (there is no other CPU); NMI/SMI/INIT/ExtINT deliveries are not modelled and are dropped.

import type { AccessSize, MmioHandler } from "../bus.js";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_VERSION = 0x11;
export const IOAPIC_PINS = 24;
/** The I/O APIC's own APIC ID (the local APIC has 0). */
export const IOAPIC_ID = 1;

/** The I/O APIC input pin an ISA IRQ is wired to. */
export function isaIrqToPin(irq: number): number {
  return irq === 0 ? 2 : irq;
}

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;

interface IoApicState {
  select: number;
  id: number;
  /** Redirection entries as [low, high] dwords. */
  redir: [number, number][];
  lines: number;
}

export interface LapicSink {
  accept(vector: number, level: boolean): void;
}

export class IoApic implements MmioHandler {
  private s: IoApicState = {
    select: 0,
    id: IOAPIC_ID,
    redir: Array.from({ length: IOAPIC_PINS }, () => [MASKED, 0] as [number, number]),
    lines: 0,
  };

  constructor(private readonly lapic: LapicSink) {}

  /** Drive input pin `pin` to `level`. Edge entries deliver on a rising edge; level entries while high. */
  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const was = (this.s.lines & bit) !== 0;
    if (level) this.s.lines |= bit;
    else this.s.lines &= ~bit;
    const [lo] = this.s.redir[pin];
    if (lo & LEVEL) {
      if (level) this.service(pin);
    } else if (level && !was) this.service(pin);
  }

  private service(pin: number): void {
    const e = this.s.redir[pin];
    const lo = e[0];
    if (lo & MASKED) return;
    const mode = (lo >> 8) & 7;
    if (mode !== 0 && mode !== 1) return;
    if (lo & LEVEL) {
      if (lo & REMOTE_IRR) return;
      e[0] = lo | REMOTE_IRR;
    }
    this.lapic.accept(lo & 0xff, (lo & LEVEL) !== 0);
  }

  /** The local APIC's EOI for a level-triggered vector: clear Remote IRR, redeliver if still asserted. */
  endOfInterrupt(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.s.redir[pin];
      if ((e[0] & 0xff) === vector && e[0] & REMOTE_IRR) {
        e[0] &= ~REMOTE_IRR;
        if (this.s.lines & (1 << pin)) this.service(pin);
      }
    }
  }

  redirection(pin: number): { low: number; high: number } {
    const [low, high] = this.s.redir[pin];
    return { low: low >>> 0, high: high >>> 0 };
  }

  read(offset: number, _size: AccessSize): number {
    if (offset === 0x00) return this.s.select;
    if (offset !== 0x10) return 0;
    const r = this.s.select;
    if (r === 0x00) return (this.s.id << 24) >>> 0;
    if (r === 0x01) return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
    if (r === 0x02) return (this.s.id << 24) >>> 0; // arbitration ID
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const e = this.s.redir[(r - 0x10) >> 1];
      return e[r & 1] >>> 0;
    }
    return 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    if (offset === 0x00) {
      this.s.select = value & 0xff;
      return;
    }
    if (offset !== 0x10) return;
    const r = this.s.select;
    if (r === 0x00) {
      this.s.id = (value >>> 24) & 0x0f;
      return;
    }
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const pin = (r - 0x10) >> 1;
      const e = this.s.redir[pin];
      if (r & 1) e[1] = value & 0xff000000;
      else {
        // Delivery status (bit 12) and Remote IRR (bit 14) are read-only.
        e[0] = (value & ~(REMOTE_IRR | (1 << 12)) & 0x1afff) | (e[0] & REMOTE_IRR);
        // Unmasking a level entry whose line is high delivers it.
        if (e[0] & LEVEL && !(e[0] & MASKED) && this.s.lines & (1 << pin)) this.service(pin);
      }
    }
  }

  snapshot(): IoApicState {
    return { ...this.s, redir: this.s.redir.map(([a, b]) => [a, b] as [number, number]) };
  }

  restore(x: IoApicState): void {
    this.s = { ...x, redir: x.redir.map(([a, b]) => [a, b] as [number, number]) };
  }
}

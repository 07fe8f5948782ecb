// 8259A programmable interrupt controller pair (master 0x20/0x21, slave 0xA0/0xA1, slave cascaded
// on master IRQ 2). Edge triggered only (as the PC's ELCR default for ISA lines); the level-
// triggered ICW1 bit is accepted and ignored.

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";

interface ChipState {
  irr: number;
  isr: number;
  imr: number;
  /** Input line levels, for edge detection. */
  lines: number;
  /** Rotating priority: the IRQ that has the highest priority is `lowest + 1`. */
  priorityAdd: number;
  vectorBase: number;
  readIsr: boolean;
  poll: boolean;
  specialMask: boolean;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  single: boolean;
  needIcw4: boolean;
  /** 0: ready (OCWs); 1: ICW2 next; 2: ICW3 next; 3: ICW4 next. */
  initStep: number;
}

function freshChip(): ChipState {
  return {
    irr: 0,
    isr: 0,
    imr: 0,
    lines: 0,
    priorityAdd: 0,
    vectorBase: 0,
    readIsr: false,
    poll: false,
    specialMask: false,
    autoEoi: false,
    rotateOnAutoEoi: false,
    specialFullyNested: false,
    single: false,
    needIcw4: false,
    initStep: 0,
  };
}

class Chip {
  s = freshChip();

  constructor(private readonly master: boolean) {}

  /** Priority index (0 highest) of the best bit in mask, 8 when none. */
  private priorityOf(mask: number): number {
    if ((mask & 0xff) === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.s.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IRQ this chip would deliver now, or -1. */
  pending(): number {
    const s = this.s;
    const req = s.irr & ~s.imr & 0xff;
    const prio = this.priorityOf(req);
    if (prio === 8) return -1;
    let inService = s.isr;
    if (s.specialMask) inService &= ~s.imr;
    // Special fully nested: the slave's line may interrupt while an earlier slave IRQ is in service.
    if (this.master && s.specialFullyNested) inService &= ~(1 << 2);
    const cur = this.priorityOf(inService);
    return prio < cur ? (prio + s.priorityAdd) & 7 : -1;
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      if ((this.s.lines & bit) === 0) this.s.irr |= bit;
      this.s.lines |= bit;
    } else {
      this.s.lines &= ~bit;
    }
  }

  /** INTA for `irq` (its vector is taken by the caller). */
  intAck(irq: number): void {
    const s = this.s;
    const bit = 1 << irq;
    if (s.autoEoi) {
      if (s.rotateOnAutoEoi) s.priorityAdd = (irq + 1) & 7;
    } else s.isr |= bit;
    s.irr &= ~bit;
  }

  writeCommand(v: number): void {
    const s = this.s;
    if (v & 0x10) {
      // ICW1: reinitialise. The mask, ISR and IRR are cleared; edge detection starts over.
      const lines = s.lines;
      this.s = freshChip();
      this.s.lines = lines;
      this.s.single = (v & 0x02) !== 0;
      this.s.needIcw4 = (v & 0x01) !== 0;
      this.s.initStep = 1;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) s.poll = true;
      if (v & 0x02) s.readIsr = (v & 1) !== 0;
      if (v & 0x40) s.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2
    const cmd = v >> 5;
    switch (cmd) {
      case 0:
      case 4:
        s.rotateOnAutoEoi = cmd === 4;
        break;
      case 1:
      case 5: {
        const p = this.priorityOf(s.isr);
        if (p !== 8) {
          const irq = (p + s.priorityAdd) & 7;
          s.isr &= ~(1 << irq);
          if (cmd === 5) s.priorityAdd = (irq + 1) & 7;
        }
        break;
      }
      case 3:
        s.isr &= ~(1 << (v & 7));
        break;
      case 6:
        s.priorityAdd = (v + 1) & 7;
        break;
      case 7:
        s.isr &= ~(1 << (v & 7));
        s.priorityAdd = ((v & 7) + 1) & 7;
        break;
      default:
        break;
    }
  }

  writeData(v: number): void {
    const s = this.s;
    switch (s.initStep) {
      case 0:
        s.imr = v;
        break;
      case 1:
        s.vectorBase = v & 0xf8;
        s.initStep = s.single ? (s.needIcw4 ? 3 : 0) : 2;
        break;
      case 2:
        s.initStep = s.needIcw4 ? 3 : 0;
        break;
      case 3:
        s.specialFullyNested = (v & 0x10) !== 0;
        s.autoEoi = (v & 0x02) !== 0;
        s.initStep = 0;
        break;
    }
  }
}

export class Pic8259Pair implements PortDevice {
  private readonly chips = [new Chip(true), new Chip(false)];
  /** Called whenever the INTR output may have risen (the machine forwards it to the CPU). */
  onIntr: () => void = () => {};

  get master(): Readonly<ChipState> {
    return this.chips[0].s;
  }
  get slave(): Readonly<ChipState> {
    return this.chips[1].s;
  }

  attach(io: IoBus): void {
    io.register(0x20, 2, this);
    io.register(0xa0, 2, this);
  }

  /** Drive ISA IRQ line `irq` (0–15) to `level`; a rising edge latches a request. */
  setIrq(irq: number, level: boolean): void {
    if (irq === 2) irq = 9; // IRQ 2 on the bus is IRQ 9 on an AT (the cascade took its pin)
    if (irq < 8) this.chips[0].setLine(irq, level);
    else this.chips[1].setLine(irq - 8, level);
    this.update();
  }

  /** A rising then falling edge: one request. */
  pulseIrq(irq: number): void {
    this.setIrq(irq, true);
    this.setIrq(irq, false);
  }

  /** Propagate the slave's output to master IRQ 2, then tell the CPU if INTR is up. */
  private update(): void {
    // The cascade input behaves as a level: master IRR 2 follows the slave's INT output.
    const m = this.chips[0].s;
    if (this.chips[1].pending() >= 0) m.irr |= 1 << 2;
    else m.irr &= ~(1 << 2);
    if (this.chips[0].pending() >= 0) this.onIntr();
  }

  /** The INTR output. */
  hasInterrupt(): boolean {
    return this.chips[0].pending() >= 0;
  }

  /** The INTA cycle: vector of the best request; a request that vanished gives the spurious IRQ 7 / 15. */
  acknowledge(): number {
    const [m, sl] = this.chips;
    let vector: number;
    const irq = m.pending();
    if (irq < 0) vector = m.s.vectorBase + 7;
    else {
      m.intAck(irq);
      if (irq === 2) {
        const irq2 = sl.pending();
        if (irq2 >= 0) {
          sl.intAck(irq2);
          vector = sl.s.vectorBase + irq2;
        } else vector = sl.s.vectorBase + 7;
      } else vector = m.s.vectorBase + irq;
    }
    this.update();
    return vector & 0xff;
  }

  read(port: number, _size: AccessSize): number {
    const chip = this.chips[port >= 0xa0 ? 1 : 0];
    const s = chip.s;
    if ((port & 1) === 1) return s.imr;
    if (s.poll) {
      s.poll = false;
      const irq = chip.pending();
      if (irq < 0) return 0;
      chip.intAck(irq);
      this.update();
      return 0x80 | irq;
    }
    return s.readIsr ? s.isr : s.irr;
  }

  write(port: number, _size: AccessSize, value: number): void {
    const chip = this.chips[port >= 0xa0 ? 1 : 0];
    if ((port & 1) === 1) chip.writeData(value & 0xff);
    else chip.writeCommand(value & 0xff);
    this.update();
  }

  snapshot(): ChipState[] {
    return this.chips.map((c) => ({ ...c.s }));
  }

  restore(s: ChipState[]): void {
    this.chips[0].s = { ...s[0] };
    this.chips[1].s = { ...s[1] };
  }
}

// 16550A UART (COM1: 0x3F8, IRQ 4). Transmission is instantaneous: each THR write reaches the
// host callback at once, so THR is always empty. Input comes from a host-filled queue.
// As in QEMU (the outside reference of docs/guest-abi.md) the IRQ is not gated by MCR OUT2.

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";

const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const MCR_LOOP = 0x10;
const FIFO_DEPTH = 16;

interface UartState {
  ier: number;
  lcr: number;
  mcr: number;
  scr: number;
  fcr: number;
  divisor: number;
  /** Bytes received but not yet read (the RX FIFO; the host queue feeds it). */
  rx: number[];
  overrun: boolean;
  /** THRE interrupt pending (cleared by IIR read or THR write, set when THR empties). */
  threPending: boolean;
  msr: number;
  irq: boolean;
}

export class Uart16550 implements PortDevice {
  private s: UartState = {
    ier: 0,
    lcr: 0,
    mcr: 0,
    scr: 0,
    fcr: 0,
    divisor: 12,
    rx: [],
    overrun: false,
    threPending: false,
    msr: 0xb0, // DCD, DSR, CTS: a host is attached
    irq: false,
  };
  /** Bytes the host has offered that are not yet in the RX FIFO. */
  private hostQueue: number[] = [];

  constructor(
    readonly base: number,
    private readonly output: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void,
  ) {}

  attach(io: IoBus): void {
    io.register(this.base, 8, this);
  }

  /** Queue host input; it is received as fast as the guest reads it. */
  enqueueInput(bytes: Uint8Array | string): void {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    for (const x of b) this.hostQueue.push(x);
    this.refill();
    this.updateIrq();
  }

  get pendingInput(): number {
    return this.hostQueue.length + this.s.rx.length;
  }

  private fifoOn(): boolean {
    return (this.s.fcr & 1) !== 0;
  }

  private refill(): void {
    if (this.s.mcr & MCR_LOOP) return; // the line is disconnected in loopback
    const depth = this.fifoOn() ? FIFO_DEPTH : 1;
    while (this.s.rx.length < depth && this.hostQueue.length) this.s.rx.push(this.hostQueue.shift()!);
  }

  private receiveLoopback(byte: number): void {
    const depth = this.fifoOn() ? FIFO_DEPTH : 1;
    if (this.s.rx.length >= depth) {
      this.s.overrun = true;
      if (!this.fifoOn()) this.s.rx[0] = byte;
    } else this.s.rx.push(byte);
  }

  private lsr(): number {
    return (this.s.rx.length ? LSR_DR : 0) | (this.s.overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
  }

  /** IIR interrupt identification, by priority: line status, data, THR empty, modem status. */
  private iirId(): number {
    const s = this.s;
    if (s.ier & IER_RLS && s.overrun) return 0x06;
    if (s.ier & IER_RDA && s.rx.length) return 0x04;
    if (s.ier & IER_THRE && s.threPending) return 0x02;
    if (s.ier & IER_MS && s.msr & 0x0f) return 0x00;
    return 0x01;
  }

  private updateIrq(): void {
    const level = (this.iirId() & 1) === 0;
    if (level !== this.s.irq) {
      this.s.irq = level;
      this.setIrq(level);
    }
  }

  private loopMsr(mcr: number): number {
    return ((mcr & 0x02) << 3) | ((mcr & 0x01) << 5) | ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4);
  }

  read(port: number, _size: AccessSize): number {
    const s = this.s;
    const dlab = (s.lcr & 0x80) !== 0;
    let v: number;
    switch (port - this.base) {
      case 0:
        if (dlab) return s.divisor & 0xff;
        v = s.rx.length ? s.rx.shift()! : 0;
        this.refill();
        break;
      case 1:
        return dlab ? (s.divisor >> 8) & 0xff : s.ier;
      case 2: {
        const id = this.iirId();
        v = id | (this.fifoOn() ? 0xc0 : 0);
        if (id === 0x02) s.threPending = false; // reading IIR acknowledges THR empty
        break;
      }
      case 3:
        return s.lcr;
      case 4:
        return s.mcr;
      case 5:
        v = this.lsr();
        s.overrun = false;
        break;
      case 6: {
        const base = s.mcr & MCR_LOOP ? this.loopMsr(s.mcr) : 0xb0;
        v = (base & 0xf0) | (s.msr & 0x0f);
        s.msr = base & 0xf0; // reading clears the delta bits
        break;
      }
      default:
        return s.scr;
    }
    this.updateIrq();
    return v;
  }

  write(port: number, _size: AccessSize, value: number): void {
    const s = this.s;
    value &= 0xff;
    const dlab = (s.lcr & 0x80) !== 0;
    switch (port - this.base) {
      case 0:
        if (dlab) {
          s.divisor = (s.divisor & 0xff00) | value;
          return;
        }
        // Writing THR clears the THRE interrupt (the line drops), then the byte leaves at once and
        // THR is empty again (the line rises: a fresh edge for the edge-triggered PIC).
        s.threPending = false;
        this.updateIrq();
        if (s.mcr & MCR_LOOP) this.receiveLoopback(value);
        else this.output(value);
        s.threPending = true;
        break;
      case 1:
        if (dlab) {
          s.divisor = (s.divisor & 0xff) | (value << 8);
          return;
        }
        // Enabling THRE while THR is empty raises it immediately.
        if (value & IER_THRE && !(s.ier & IER_THRE)) s.threPending = true;
        s.ier = value & 0x0f;
        break;
      case 2:
        if (value & 0x02) s.rx = [];
        s.fcr = value & 0xc9;
        this.refill();
        break;
      case 3:
        s.lcr = value;
        return;
      case 4: {
        const oldMsr = s.mcr & MCR_LOOP ? this.loopMsr(s.mcr) : 0xb0;
        s.mcr = value & 0x1f;
        const newMsr = s.mcr & MCR_LOOP ? this.loopMsr(s.mcr) : 0xb0;
        const changed = oldMsr ^ newMsr;
        // Delta bits: CTS, DSR changed; trailing edge of RI; DCD changed.
        let delta = ((changed >> 4) & 0x03) | ((changed >> 4) & 0x08);
        if (oldMsr & 0x40 && !(newMsr & 0x40)) delta |= 0x04;
        s.msr = (newMsr & 0xf0) | ((s.msr | delta) & 0x0f);
        this.refill();
        break;
      }
      case 5:
      case 6:
        return; // LSR/MSR: writes ignored
      default:
        s.scr = value;
        return;
    }
    this.updateIrq();
  }

  get divisor(): number {
    return this.s.divisor;
  }

  snapshot(): { s: UartState; hostQueue: number[] } {
    return { s: { ...this.s, rx: [...this.s.rx] }, hostQueue: [...this.hostQueue] };
  }

  restore(x: { s: UartState; hostQueue: number[] }): void {
    this.s = { ...x.s, rx: [...x.s.rx] };
    this.hostQueue = [...x.hostQueue];
  }
}

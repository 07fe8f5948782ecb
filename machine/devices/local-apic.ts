// Local APIC of the single CPU at 0xFEE00000 (xAPIC MMIO). The timer counts the APIC bus clock,
// which here is the guest clock itself (clockHz: 100 MHz by default, one bus tick per instruction
// unit) divided by the divide configuration. Inter-processor interrupts: a fixed IPI to self (by
// shorthand or to our own ID) is accepted; INIT and SIPI have no other CPU to reach and are ignored.
// The MSR-level global enable is not modelled: the APIC is globally on; SVR bit 8 enables it.

import type { AccessSize, MmioHandler } from "../bus.js";
import type { TimerQueue, VirtualClock } from "./clock.js";

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_VERSION = 0x14;
/** Six LVT entries: timer, thermal, performance, LINT0, LINT1, error. */
export const LAPIC_MAX_LVT = 5;

const LVT_MASK = 1 << 16;
const REG = {
  ID: 0x20,
  VERSION: 0x30,
  TPR: 0x80,
  APR: 0x90,
  PPR: 0xa0,
  EOI: 0xb0,
  RRD: 0xc0,
  LDR: 0xd0,
  DFR: 0xe0,
  SVR: 0xf0,
  ISR: 0x100,
  TMR: 0x180,
  IRR: 0x200,
  ESR: 0x280,
  CMCI: 0x2f0,
  ICR_LO: 0x300,
  ICR_HI: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERF: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380,
  TIMER_CURRENT: 0x390,
  TIMER_DIVIDE: 0x3e0,
} as const;

interface LapicState {
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  irr: number[];
  isr: number[];
  tmr: number[];
  esr: number;
  icrLo: number;
  icrHi: number;
  lvt: number[]; // timer, thermal, perf, lint0, lint1, error
  timerInitial: number;
  timerDivide: number;
  /** Time (units) the current count period started. */
  timerStart: number;
  timerRunning: boolean;
}

function bitSet(words: number[], v: number): boolean {
  return ((words[v >> 5] >>> (v & 31)) & 1) === 1;
}
function setBit(words: number[], v: number, on: boolean): void {
  if (on) words[v >> 5] |= 1 << (v & 31);
  else words[v >> 5] &= ~(1 << (v & 31));
}
function highest(words: number[]): number {
  for (let i = 7; i >= 0; i--) if (words[i]) return i * 32 + (31 - Math.clz32(words[i]));
  return -1;
}

function freshState(): LapicState {
  return {
    id: 0,
    tpr: 0,
    ldr: 0,
    dfr: 0xffffffff,
    svr: 0xff,
    irr: new Array(8).fill(0),
    isr: new Array(8).fill(0),
    tmr: new Array(8).fill(0),
    esr: 0,
    icrLo: 0,
    icrHi: 0,
    lvt: new Array(6).fill(LVT_MASK),
    timerInitial: 0,
    timerDivide: 0,
    timerStart: 0,
    timerRunning: false,
  };
}

export class LocalApic implements MmioHandler {
  private s = freshState();
  /** Called when an interrupt may have become deliverable. */
  onInterrupt: () => void = () => {};
  /** An NMI was sent to this CPU (ICR delivery mode NMI to self). */
  onNmi: () => void = () => {};
  /** End of interrupt for a level-triggered vector (the I/O APIC clears Remote IRR). */
  onLevelEoi: (vector: number) => void = () => {};

  constructor(
    private readonly clock: VirtualClock,
    private readonly timers: TimerQueue,
  ) {
    timers.register("lapic-timer", (t) => this.onTimer(t));
  }

  get id(): number {
    return this.s.id;
  }

  /** SVR bit 8: the APIC is software-enabled. */
  get enabled(): boolean {
    return (this.s.svr & 0x100) !== 0;
  }

  /** LINT0 is unmasked ExtINT: the 8259's INTR passes through (virtual-wire mode). */
  get extIntThroughLint0(): boolean {
    const l = this.s.lvt[3];
    return (l & LVT_MASK) === 0 && ((l >> 8) & 7) === 7;
  }

  private timerDivisor(): number {
    const d = this.s.timerDivide;
    const v = (d & 3) | ((d >> 1) & 4);
    return v === 7 ? 1 : 2 << v;
  }

  private periodUnits(): number {
    return this.s.timerInitial * this.timerDivisor();
  }

  private currentCount(): number {
    const s = this.s;
    if (!s.timerRunning || s.timerInitial === 0) return 0;
    const elapsed = Math.floor((this.clock.now() - s.timerStart) / this.timerDivisor());
    const periodic = ((s.lvt[0] >> 17) & 3) === 1;
    if (periodic) return s.timerInitial - (elapsed % s.timerInitial);
    return Math.max(0, s.timerInitial - elapsed);
  }

  private onTimer(t: number): void {
    const s = this.s;
    const periodic = ((s.lvt[0] >> 17) & 3) === 1;
    if ((s.lvt[0] & LVT_MASK) === 0) this.accept(s.lvt[0] & 0xff, false);
    if (periodic && s.timerInitial) {
      s.timerStart = t;
      this.timers.schedule("lapic-timer", t + this.periodUnits());
    } else s.timerRunning = false;
  }

  /** PPR: the higher of TPR and the class of the highest in-service vector. */
  private ppr(): number {
    const isrv = highest(this.s.isr);
    const cls = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.s.tpr & 0xf0) >= cls ? this.s.tpr & 0xff : cls;
  }

  /** Accept a fixed interrupt (from the I/O APIC, the timer, an IPI). */
  accept(vector: number, level: boolean): void {
    vector &= 0xff;
    if (vector < 16) {
      this.s.esr |= 0x40; // received illegal vector
      return;
    }
    if (!this.enabled) return;
    setBit(this.s.irr, vector, true);
    setBit(this.s.tmr, vector, level);
    this.onInterrupt();
  }

  /** A fixed interrupt is deliverable to the CPU. */
  hasPending(): boolean {
    if (!this.enabled) return false;
    const v = highest(this.s.irr);
    return v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0);
  }

  /** INTA: the highest requested vector goes in service (spurious vector when none). */
  acknowledge(): number {
    if (!this.hasPending()) return this.s.svr & 0xff;
    const v = highest(this.s.irr);
    setBit(this.s.irr, v, false);
    setBit(this.s.isr, v, true);
    return v;
  }

  private eoi(): void {
    const v = highest(this.s.isr);
    if (v < 0) return;
    setBit(this.s.isr, v, false);
    if (bitSet(this.s.tmr, v)) {
      setBit(this.s.tmr, v, false);
      this.onLevelEoi(v);
    }
    if (this.hasPending()) this.onInterrupt();
  }

  private sendIpi(): void {
    const lo = this.s.icrLo;
    const mode = (lo >> 8) & 7;
    const shorthand = (lo >> 18) & 3;
    const dest = this.s.icrHi >>> 24;
    const toSelf = shorthand === 1 || shorthand === 2 || (shorthand === 0 && (dest === this.s.id || dest === 0xff));
    if (toSelf && (mode === 0 || mode === 1)) this.accept(lo & 0xff, (lo & (1 << 15)) !== 0);
    else if (toSelf && mode === 4) this.onNmi();
  }

  read(offset: number, size: AccessSize): number {
    const reg = offset & 0xff0;
    let v = this.readReg(reg);
    // Sub-dword reads see the bytes of the register at their offset.
    const shift = (offset & 3) * 8;
    v = v >>> shift;
    return size === 4 ? v >>> 0 : v & (size === 2 ? 0xffff : 0xff);
  }

  private readReg(reg: number): number {
    const s = this.s;
    if (reg >= REG.ISR && reg < REG.ISR + 0x80) return s.isr[(reg - REG.ISR) >> 4] >>> 0;
    if (reg >= REG.TMR && reg < REG.TMR + 0x80) return s.tmr[(reg - REG.TMR) >> 4] >>> 0;
    if (reg >= REG.IRR && reg < REG.IRR + 0x80) return s.irr[(reg - REG.IRR) >> 4] >>> 0;
    switch (reg) {
      case REG.ID:
        return (s.id << 24) >>> 0;
      case REG.VERSION:
        return (LAPIC_MAX_LVT << 16) | LAPIC_VERSION;
      case REG.TPR:
        return s.tpr;
      case REG.APR:
        return 0;
      case REG.PPR:
        return this.ppr();
      case REG.LDR:
        return s.ldr >>> 0;
      case REG.DFR:
        return s.dfr >>> 0;
      case REG.SVR:
        return s.svr;
      case REG.ESR:
        return s.esr;
      case REG.ICR_LO:
        return s.icrLo & ~(1 << 12); // delivery status: always idle
      case REG.ICR_HI:
        return s.icrHi >>> 0;
      case REG.LVT_TIMER:
      case REG.LVT_THERMAL:
      case REG.LVT_PERF:
      case REG.LVT_LINT0:
      case REG.LVT_LINT1:
      case REG.LVT_ERROR:
        return s.lvt[(reg - REG.LVT_TIMER) >> 4] >>> 0;
      case REG.TIMER_INITIAL:
        return s.timerInitial >>> 0;
      case REG.TIMER_CURRENT:
        return this.currentCount() >>> 0;
      case REG.TIMER_DIVIDE:
        return s.timerDivide;
      default:
        return 0;
    }
  }

  write(offset: number, size: AccessSize, value: number): void {
    // The xAPIC is accessed with aligned dwords; narrower writes are treated as dword writes.
    void size;
    const s = this.s;
    const reg = offset & 0xff0;
    value >>>= 0;
    switch (reg) {
      case REG.ID:
        s.id = value >>> 24;
        return;
      case REG.TPR:
        s.tpr = value & 0xff;
        if (this.hasPending()) this.onInterrupt();
        return;
      case REG.EOI:
        this.eoi();
        return;
      case REG.LDR:
        s.ldr = value & 0xff000000;
        return;
      case REG.DFR:
        s.dfr = value | 0x0fffffff;
        return;
      case REG.SVR: {
        s.svr = value & 0x13ff;
        if (!this.enabled) for (let i = 0; i < 6; i++) s.lvt[i] |= LVT_MASK; // disabling masks every LVT
        this.onInterrupt();
        return;
      }
      case REG.ESR:
        s.esr = 0;
        return;
      case REG.ICR_LO:
        s.icrLo = value & 0x000ccfff;
        this.sendIpi();
        return;
      case REG.ICR_HI:
        s.icrHi = value & 0xff000000;
        return;
      case REG.LVT_TIMER:
      case REG.LVT_THERMAL:
      case REG.LVT_PERF:
      case REG.LVT_LINT0:
      case REG.LVT_LINT1:
      case REG.LVT_ERROR: {
        const i = (reg - REG.LVT_TIMER) >> 4;
        if (!this.enabled) value |= LVT_MASK; // masks cannot be cleared while software-disabled
        s.lvt[i] = value & (i === 0 ? 0x710ff : i === 3 || i === 4 ? 0x1a7ff : 0x107ff);
        this.onInterrupt();
        return;
      }
      case REG.TIMER_INITIAL:
        s.timerInitial = value;
        s.timerStart = this.clock.now();
        s.timerRunning = value !== 0;
        if (value === 0) this.timers.cancel("lapic-timer");
        else this.timers.schedule("lapic-timer", s.timerStart + this.periodUnits());
        return;
      case REG.TIMER_DIVIDE: {
        // Keep the count where it is; later ticks use the new divisor.
        const current = this.currentCount();
        s.timerDivide = value & 0x0b;
        if (s.timerRunning && current > 0) {
          const d = this.timerDivisor();
          const now = this.clock.now();
          s.timerStart = now - (s.timerInitial - current) * d;
          this.timers.schedule("lapic-timer", now + current * d);
        }
        return;
      }
      default:
        return; // read-only or reserved
    }
  }

  snapshot(): LapicState {
    const s = this.s;
    return { ...s, irr: [...s.irr], isr: [...s.isr], tmr: [...s.tmr], lvt: [...s.lvt] };
  }

  restore(x: LapicState): void {
    this.s = { ...x, irr: [...x.irr], isr: [...x.isr], tmr: [...x.tmr], lvt: [...x.lvt] };
  }
}

// MC146818-style CMOS RTC at 0x70 (index, bit 7 = NMI mask) / 0x71 (data). The clock starts at a
// fixed virtual epoch and advances with virtual time, so runs are reproducible. It also holds the
// BIOS memory-size bytes (0x15–0x18, 0x30–0x31, 0x34–0x35) and the century (0x32).
// Interrupts on IRQ 8: periodic (rate in register A), update-ended and alarm.

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";
import type { TimerQueue, VirtualClock } from "./clock.js";

/** 2024-01-01T00:00:00Z: the default virtual epoch. */
export const DEFAULT_RTC_EPOCH = Date.UTC(2024, 0, 1) / 1000;

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;
const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_BINARY = 0x04;
const B_24H = 0x02;
/** The update-in-progress window before each second boundary (244 µs). */
const UIP_NANOS = 244_000;

export interface RtcOptions {
  /** Unix seconds at virtual time 0. */
  epoch?: number;
  /** RAM size in bytes (for the memory-size bytes). */
  memoryBytes: number;
}

interface RtcState {
  cmos: number[];
  index: number;
  nmiMasked: boolean;
  /** Seconds added to epoch + virtual seconds by guest writes of the time registers. */
  offset: number;
  /** When the guest holds SET, the frozen time (unix seconds). */
  frozen: number | null;
}

function bcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | v % 10;
}
function unbcd(v: number): number {
  return (v >> 4) * 10 + (v & 15);
}

export class CmosRtc implements PortDevice {
  private s: RtcState;
  /** IRQ 8 edge. */
  private readonly pulseIrq8: () => void;

  constructor(
    private readonly clock: VirtualClock,
    private readonly timers: TimerQueue,
    pulseIrq8: () => void,
    private readonly options: RtcOptions,
  ) {
    this.pulseIrq8 = pulseIrq8;
    const cmos = new Array<number>(128).fill(0);
    cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    cmos[REG_B] = B_24H;
    cmos[REG_D] = 0x80; // valid RAM and time
    cmos[0x10] = 0x00; // no floppy drives
    cmos[0x14] = 0x06; // equipment: FPU, VGA/CGA-class display
    const kib = Math.floor(options.memoryBytes / 1024);
    cmos[0x15] = 640 & 0xff;
    cmos[0x16] = 640 >> 8;
    const ext = Math.min(Math.max(kib - 1024, 0), 0xffff);
    cmos[0x17] = cmos[0x30] = ext & 0xff;
    cmos[0x18] = cmos[0x31] = ext >> 8;
    const above16 = Math.min(Math.max(Math.floor((options.memoryBytes - 16 * 1024 * 1024) / 65536), 0), 0xffff);
    cmos[0x34] = above16 & 0xff;
    cmos[0x35] = above16 >> 8;
    this.s = { cmos, index: 0, nmiMasked: false, offset: 0, frozen: null };
    timers.register("rtc-periodic", (t) => this.onPeriodic(t));
    timers.register("rtc-update", (t) => this.onUpdate(t));
  }

  attach(io: IoBus): void {
    io.register(0x70, 2, this);
  }

  get nmiMasked(): boolean {
    return this.s.nmiMasked;
  }

  private epoch(): number {
    return this.options.epoch ?? DEFAULT_RTC_EPOCH;
  }

  /** Current RTC time in unix seconds. */
  unixTime(t = this.clock.now()): number {
    if (this.s.frozen !== null) return this.s.frozen;
    return this.epoch() + this.s.offset + Math.floor(t / this.clock.hz);
  }

  private binary(): boolean {
    return (this.s.cmos[REG_B] & B_BINARY) !== 0;
  }

  private enc(v: number): number {
    return this.binary() ? v : bcd(v);
  }

  private dec(v: number): number {
    return this.binary() ? v : unbcd(v);
  }

  private timeField(reg: number): number {
    const d = new Date(this.unixTime() * 1000);
    switch (reg) {
      case 0:
        return this.enc(d.getUTCSeconds());
      case 2:
        return this.enc(d.getUTCMinutes());
      case 4: {
        const h = d.getUTCHours();
        if (this.s.cmos[REG_B] & B_24H) return this.enc(h);
        const h12 = h % 12 === 0 ? 12 : h % 12;
        return this.enc(h12) | (h >= 12 ? 0x80 : 0);
      }
      case 6:
        return this.enc(d.getUTCDay() + 1);
      case 7:
        return this.enc(d.getUTCDate());
      case 8:
        return this.enc(d.getUTCMonth() + 1);
      case 9:
        return this.enc(d.getUTCFullYear() % 100);
      case 0x32:
        return this.enc(Math.floor(d.getUTCFullYear() / 100));
      default:
        return 0;
    }
  }

  private setTimeField(reg: number, value: number): void {
    const d = new Date(this.unixTime() * 1000);
    let f = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    switch (reg) {
      case 0:
        f[5] = this.dec(value);
        break;
      case 2:
        f[4] = this.dec(value);
        break;
      case 4: {
        if (this.s.cmos[REG_B] & B_24H) f[3] = this.dec(value);
        else {
          const h = this.dec(value & 0x7f) % 12;
          f[3] = h + (value & 0x80 ? 12 : 0);
        }
        break;
      }
      case 7:
        f[2] = this.dec(value);
        break;
      case 8:
        f[1] = this.dec(value) - 1;
        break;
      case 9:
        f[0] = Math.floor(f[0] / 100) * 100 + this.dec(value);
        break;
      case 0x32:
        f[0] = this.dec(value) * 100 + (f[0] % 100);
        break;
      default:
        return; // day of week is derived
    }
    f = f.map((x) => (Number.isFinite(x) ? x : 0));
    const unix = Date.UTC(f[0], f[1], f[2], f[3], f[4], f[5]) / 1000;
    if (this.s.frozen !== null) this.s.frozen = unix;
    else this.s.offset = unix - this.epoch() - Math.floor(this.clock.now() / this.clock.hz);
  }

  private updateInProgress(): boolean {
    if (this.s.frozen !== null) return false;
    const ns = this.clock.nanos() % 1_000_000_000;
    return ns >= 1_000_000_000 - UIP_NANOS;
  }

  read(port: number, _size: AccessSize): number {
    if (port === 0x70) return 0xff; // the index register is write-only
    const reg = this.s.index;
    switch (reg) {
      case 0:
      case 2:
      case 4:
      case 6:
      case 7:
      case 8:
      case 9:
      case 0x32:
        return this.timeField(reg);
      case REG_A:
        return (this.s.cmos[REG_A] & 0x7f) | (this.updateInProgress() ? 0x80 : 0);
      case REG_C: {
        const v = this.s.cmos[REG_C];
        this.s.cmos[REG_C] = 0;
        return v;
      }
      default:
        return this.s.cmos[reg];
    }
  }

  write(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    if (port === 0x70) {
      this.s.index = value & 0x7f;
      this.s.nmiMasked = (value & 0x80) !== 0;
      return;
    }
    const reg = this.s.index;
    switch (reg) {
      case 0:
      case 2:
      case 4:
      case 6:
      case 7:
      case 8:
      case 9:
      case 0x32:
        this.setTimeField(reg, value);
        return;
      case REG_A:
        this.s.cmos[REG_A] = value & 0x7f;
        this.reschedule();
        return;
      case REG_B: {
        const wasSet = (this.s.cmos[REG_B] & B_SET) !== 0;
        const now = this.unixTime();
        // Setting SET also clears UIE (MC146818 datasheet).
        this.s.cmos[REG_B] = value & B_SET ? value & ~B_UIE : value;
        if (value & B_SET && !wasSet) this.s.frozen = now;
        if (!(value & B_SET) && wasSet && this.s.frozen !== null) {
          const f = this.s.frozen;
          this.s.frozen = null;
          this.s.offset = f - this.epoch() - Math.floor(this.clock.now() / this.clock.hz);
        }
        this.reschedule();
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        this.s.cmos[reg] = value;
    }
  }

  /** Periodic interrupt period in units, or null when off. */
  private periodUnits(): number | null {
    const rate = this.s.cmos[REG_A] & 0x0f;
    if (rate === 0 || (this.s.cmos[REG_B] & B_PIE) === 0) return null;
    const r = rate < 3 ? rate + 7 : rate; // rates 1 and 2 alias to 8 and 9 on the MC146818
    const f = 65536 >> r; // rate 6 → 1024 Hz
    return Math.max(1, Math.round(this.clock.hz / f));
  }

  private reschedule(): void {
    const now = this.clock.now();
    const p = this.periodUnits();
    if (p === null) this.timers.cancel("rtc-periodic");
    else this.timers.schedule("rtc-periodic", (Math.floor(now / p) + 1) * p);
    if (this.s.cmos[REG_B] & (B_UIE | B_AIE) && this.s.frozen === null) {
      this.timers.schedule("rtc-update", (Math.floor(now / this.clock.hz) + 1) * this.clock.hz);
    } else this.timers.cancel("rtc-update");
  }

  private raise(flag: number): void {
    const c = this.s.cmos[REG_C];
    this.s.cmos[REG_C] |= flag | 0x80;
    // IRQ 8 is level on the RTC side: a new edge only when IRQF was clear.
    if ((c & 0x80) === 0) this.pulseIrq8();
  }

  private onPeriodic(t: number): void {
    this.raise(0x40);
    const p = this.periodUnits();
    if (p !== null) this.timers.schedule("rtc-periodic", t + p);
  }

  private onUpdate(t: number): void {
    const b = this.s.cmos[REG_B];
    let flags = 0;
    if (b & B_UIE) flags |= 0x10;
    if (b & B_AIE) {
      const match = (reg: number, alarm: number) => (alarm & 0xc0) === 0xc0 || this.timeField(reg) === alarm;
      if (match(0, this.s.cmos[1]) && match(2, this.s.cmos[3]) && match(4, this.s.cmos[5])) flags |= 0x20;
    }
    if (flags) this.raise(flags);
    this.timers.schedule("rtc-update", t + this.clock.hz);
  }

  snapshot(): RtcState {
    return { ...this.s, cmos: [...this.s.cmos] };
  }

  restore(s: RtcState): void {
    this.s = { ...s, cmos: [...s.cmos] };
  }
}

// 8254 programmable interval timer at 0x40–0x43 (input clock 1.193182 MHz), channel 0 → IRQ 0,
// channel 2 gated by port 0x61 bit 0 with its OUT readable in bit 5. Counters are computed from the
// virtual clock (ticks since the count was loaded), never stepped, so reads are exact at any time.
// Modes 0–5 are modelled. Simplification: a new count takes effect at once in modes 2/3 (hardware
// waits for the end of the current period).

import type { AccessSize } from "../bus.js";
import type { IoBus, PortDevice } from "../io.js";
import type { TimerQueue, VirtualClock } from "./clock.js";

export const PIT_HZ = 1_193_182;

interface ChannelState {
  mode: number;
  /** 1 lobyte, 2 hibyte, 3 lobyte/hibyte. */
  access: number;
  bcd: boolean;
  /** Reload value in ticks (1..65536). */
  count: number;
  /** Tick at which the current count started (or the gate trigger). */
  loadTick: number;
  /** A count was written and counting runs. */
  counting: boolean;
  /** Mode 1/5: waiting for a gate trigger. */
  armed: boolean;
  gate: boolean;
  /** Modes 0/4 with gate low: ticks already counted when the gate fell. */
  pausedAt: number | null;
  nullCount: boolean;
  writeLow: number | null;
  readHighNext: boolean;
  latched: number[];
  statusLatch: number | null;
}

function freshChannel(gate: boolean): ChannelState {
  return {
    mode: 0,
    access: 3,
    bcd: false,
    count: 0x10000,
    loadTick: 0,
    counting: false,
    armed: false,
    gate,
    pausedAt: null,
    nullCount: true,
    writeLow: null,
    readHighNext: false,
    latched: [],
    statusLatch: null,
  };
}

function toBcd(v: number): number {
  return (v % 10) | (Math.floor(v / 10) % 10 << 4) | (Math.floor(v / 100) % 10 << 8) | (Math.floor(v / 1000) % 10 << 12);
}
function fromBcd(v: number): number {
  return (v & 15) + ((v >> 4) & 15) * 10 + ((v >> 8) & 15) * 100 + ((v >> 12) & 15) * 1000;
}

export class Pit8254 implements PortDevice {
  private ch: ChannelState[] = [freshChannel(true), freshChannel(true), freshChannel(false)];
  private speakerData = false;

  /** @param pulseIrq0 a rising edge of channel 0's OUT (one request on IRQ 0). */
  constructor(
    private readonly clock: VirtualClock,
    private readonly timers: TimerQueue,
    private readonly pulseIrq0: () => void,
  ) {
    timers.register("pit0", (t) => this.onChannel0Edge(t));
  }

  attach(io: IoBus): void {
    io.register(0x40, 4, this);
    io.register(0x61, 1, this);
  }

  private ticks(): number {
    return this.clock.ticksAt(PIT_HZ);
  }

  /** Ticks counted since load (negative never; frozen while a gate holds the count). */
  private elapsed(c: ChannelState, now: number): number {
    if (c.pausedAt !== null) return c.pausedAt;
    return Math.max(0, now - c.loadTick);
  }

  /** Current counter value (as the hardware would latch it), in binary. */
  private counterValue(c: ChannelState, now: number): number {
    if (!c.counting || c.armed) return c.count & 0xffff;
    const d = this.elapsed(c, now);
    const n = c.count;
    switch (c.mode) {
      case 2:
        if (!c.gate) return n & 0xffff;
        return n - (d % n);
      case 3: {
        if (!c.gate) return n & 0xffff;
        // Counts down by two per tick through each half period.
        const half = d % n;
        const first = (n + 1) >> 1;
        const v = half < first ? n - 2 * half : n - 2 * (half - first);
        return (v & 0xfffe) || (n & 0xffff);
      }
      default:
        return (n - d) & 0xffff;
    }
  }

  /** OUT level at tick `now`. */
  outAt(index: number, now = this.ticks()): boolean {
    const c = this.ch[index];
    if (!c.counting) return c.mode !== 0;
    if (c.armed) return true;
    const d = this.elapsed(c, now);
    const n = c.count;
    switch (c.mode) {
      case 0:
        return d >= n;
      case 1:
        return d >= n;
      case 2:
        return !c.gate || d % n !== n - 1;
      case 3:
        return !c.gate || d % n < (n + 1) >> 1;
      case 4:
      case 5:
        return d !== n;
      default:
        return true;
    }
  }

  /** Tick of the next rising edge of OUT strictly after tick `after`, or null. */
  private nextRisingEdge(c: ChannelState, after: number): number | null {
    if (!c.counting || c.armed || c.pausedAt !== null || !c.gate) return null;
    const n = c.count;
    const d = after - c.loadTick;
    switch (c.mode) {
      case 0:
      case 1:
        return d < n ? c.loadTick + n : null;
      case 2:
      case 3: {
        const k = Math.max(1, Math.floor(d / n) + 1);
        return c.loadTick + k * n;
      }
      case 4:
      case 5:
        return d < n + 1 ? c.loadTick + n + 1 : null;
      default:
        return null;
    }
  }

  private reschedule0(afterTick: number): void {
    const edge = this.nextRisingEdge(this.ch[0], afterTick);
    if (edge === null) this.timers.cancel("pit0");
    else this.timers.schedule("pit0", this.clock.timeOfTick(PIT_HZ, edge));
  }

  private onChannel0Edge(time: number): void {
    this.pulseIrq0();
    this.reschedule0(this.clock.ticksAt(PIT_HZ, time));
  }

  private load(index: number, raw: number): void {
    const c = this.ch[index];
    let n = c.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = c.bcd ? 10000 : 0x10000;
    // Mode 3 with count 1 and mode 2 with count 1 are undefined; treat as 2 to keep periods finite.
    if ((c.mode === 2 || c.mode === 3) && n === 1) n = 2;
    c.count = n;
    c.nullCount = false;
    const now = this.ticks();
    c.counting = true;
    c.pausedAt = null;
    c.loadTick = now;
    c.armed = c.mode === 1 || c.mode === 5;
    if ((c.mode === 0 || c.mode === 4) && !c.gate) c.pausedAt = 0;
    if (index === 0) this.reschedule0(now - 1);
  }

  private setGate(index: number, level: boolean): void {
    const c = this.ch[index];
    if (c.gate === level) return;
    const now = this.ticks();
    c.gate = level;
    if (!c.counting) return;
    if (level) {
      if (c.mode === 1 || c.mode === 5 || c.mode === 2 || c.mode === 3) {
        c.armed = false;
        c.loadTick = now;
      } else if (c.pausedAt !== null) {
        c.loadTick = now - c.pausedAt;
        c.pausedAt = null;
      }
    } else if (c.mode === 0 || c.mode === 4) {
      c.pausedAt = this.elapsed(c, now);
    }
    if (index === 0) this.reschedule0(now - 1);
  }

  private writeControl(v: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1–3 select.
      const now = this.ticks();
      for (let i = 0; i < 3; i++) {
        if ((v & (2 << i)) === 0) continue;
        const c = this.ch[i];
        if ((v & 0x10) === 0 && c.statusLatch === null) {
          c.statusLatch =
            (this.outAt(i, now) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
        }
        if ((v & 0x20) === 0 && c.latched.length === 0) this.latchCount(i, now);
      }
      return;
    }
    const c = this.ch[sel];
    const access = (v >> 4) & 3;
    if (access === 0) {
      if (c.latched.length === 0) this.latchCount(sel, this.ticks());
      return;
    }
    let mode = (v >> 1) & 7;
    if (mode > 5) mode -= 4;
    c.access = access;
    c.mode = mode;
    c.bcd = (v & 1) !== 0;
    c.counting = false;
    c.armed = false;
    c.pausedAt = null;
    c.nullCount = true;
    c.writeLow = null;
    c.readHighNext = false;
    c.latched = [];
    if (sel === 0) this.timers.cancel("pit0");
  }

  private latchCount(i: number, now: number): void {
    const c = this.ch[i];
    let v = this.counterValue(c, now);
    if (c.bcd) v = toBcd(v % 10000);
    if (c.access === 1) c.latched = [v & 0xff];
    else if (c.access === 2) c.latched = [(v >> 8) & 0xff];
    else c.latched = [v & 0xff, (v >> 8) & 0xff];
  }

  read(port: number, _size: AccessSize): number {
    if (port === 0x61) {
      // Bit 4 toggles every 15.085 µs (DRAM refresh); some guests time short delays with it.
      const refresh = Math.floor(this.clock.nanos() / 15085) & 1;
      return (
        (this.ch[2].gate ? 1 : 0) | (this.speakerData ? 2 : 0) | (refresh << 4) | (this.outAt(2) ? 0x20 : 0)
      );
    }
    if (port === 0x43) return 0xff;
    const c = this.ch[port - 0x40];
    if (c.statusLatch !== null) {
      const s = c.statusLatch;
      c.statusLatch = null;
      return s;
    }
    if (c.latched.length) return c.latched.shift()!;
    let v = this.counterValue(c, this.ticks());
    if (c.bcd) v = toBcd(v % 10000);
    if (c.access === 1) return v & 0xff;
    if (c.access === 2) return (v >> 8) & 0xff;
    const high = c.readHighNext;
    c.readHighNext = !high;
    return high ? (v >> 8) & 0xff : v & 0xff;
  }

  write(port: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    if (port === 0x61) {
      this.speakerData = (value & 2) !== 0;
      this.setGate(2, (value & 1) !== 0);
      return;
    }
    if (port === 0x43) {
      this.writeControl(value);
      return;
    }
    const i = port - 0x40;
    const c = this.ch[i];
    if (c.access === 1) this.load(i, value);
    else if (c.access === 2) this.load(i, value << 8);
    else if (c.writeLow === null) {
      c.writeLow = value;
      // Mode 0: writing the first byte stops the count (OUT stays low) until the second arrives.
      if (c.mode === 0) {
        c.counting = false;
        if (i === 0) this.timers.cancel("pit0");
      }
    } else {
      const low = c.writeLow;
      c.writeLow = null;
      this.load(i, low | (value << 8));
    }
  }

  /** Read-only view for tests and the debugger. */
  channel(i: number): Readonly<ChannelState> {
    return this.ch[i];
  }

  snapshot(): { ch: ChannelState[]; speakerData: boolean } {
    return { ch: this.ch.map((c) => ({ ...c, latched: [...c.latched] })), speakerData: this.speakerData };
  }

  restore(s: { ch: ChannelState[]; speakerData: boolean }): void {
    this.ch = s.ch.map((c) => ({ ...c, latched: [...c.latched] }));
    this.speakerData = s.speakerData;
  }
}

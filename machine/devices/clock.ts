// Virtual time. The time base is the guest's retired-instruction count plus the time skipped
// while halted, so every run of the same guest with the same inputs sees the same times.
// Times are in "instruction units" (1 unit = 1 / clockHz virtual seconds).

const SAFE = Number.MAX_SAFE_INTEGER;

/** floor(a * b / c) exactly, for non-negative integers. */
export function mulDivFloor(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= SAFE) {
    let q = Math.floor(p / c);
    if (q * c > p) q--;
    else if ((q + 1) * c <= p) q++;
    return q;
  }
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** ceil(a * b / c) exactly, for non-negative integers. */
export function mulDivCeil(a: number, b: number, c: number): number {
  const p = a * b;
  if (p <= SAFE) {
    let q = Math.ceil(p / c);
    if (q * c < p) q++;
    else if (q > 0 && (q - 1) * c >= p) q--;
    return q;
  }
  const bp = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  return Number((bp + bc - 1n) / bc);
}

export class VirtualClock {
  /** Time skipped by halts (fast-forwarding to the next event). */
  idle = 0;

  /** @param hz guest clock: instruction units per virtual second. @param retired the CPU's instruction count. */
  constructor(
    readonly hz: number,
    private readonly retired: () => number,
  ) {
    if (!Number.isInteger(hz) || hz <= 0) throw new RangeError(`clock rate must be a positive integer, got ${hz}`);
  }

  now(): number {
    return this.retired() + this.idle;
  }

  /** Whole ticks of a `freq` Hz clock elapsed at time `t` (units). */
  ticksAt(freq: number, t = this.now()): number {
    return mulDivFloor(t, freq, this.hz);
  }

  /** The first time (units) at which `ticks` ticks of a `freq` Hz clock have elapsed. */
  timeOfTick(freq: number, ticks: number): number {
    return mulDivCeil(ticks, this.hz, freq);
  }

  /** Virtual nanoseconds at time t. */
  nanos(t = this.now()): number {
    return mulDivFloor(t, 1_000_000_000, this.hz);
  }
}

export type TimerHandler = (time: number) => void;

/**
 * One queue of keyed timer events shared by all devices. Keys (not closures) make the queue
 * snapshot-able: a device re-registers its handler under the same key on construction.
 * Ties fire in registration order of the keys.
 */
export class TimerQueue {
  private readonly handlers = new Map<string, TimerHandler>();
  private readonly order = new Map<string, number>();
  private readonly due = new Map<string, number>();
  /** Told of every (re)scheduling, so a run loop can cut a CPU slice short for an earlier event. */
  onSchedule: ((time: number) => void) | null = null;

  register(key: string, handler: TimerHandler): void {
    if (this.handlers.has(key)) throw new Error(`timer ${key} registered twice`);
    this.handlers.set(key, handler);
    this.order.set(key, this.order.size);
  }

  schedule(key: string, time: number): void {
    if (!this.handlers.has(key)) throw new Error(`unknown timer ${key}`);
    this.due.set(key, time);
    this.onSchedule?.(time);
  }

  cancel(key: string): void {
    this.due.delete(key);
  }

  scheduledAt(key: string): number | undefined {
    return this.due.get(key);
  }

  private earliest(): [string, number] | undefined {
    let best: [string, number] | undefined;
    for (const [k, t] of this.due) {
      if (!best || t < best[1] || (t === best[1] && this.order.get(k)! < this.order.get(best[0])!)) best = [k, t];
    }
    return best;
  }

  nextTime(): number | undefined {
    return this.earliest()?.[1];
  }

  /** Fire every event due at or before `now`, earliest first (a handler may schedule again). */
  runDue(now: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const e = this.earliest();
      if (!e || e[1] > now) return;
      this.due.delete(e[0]);
      this.handlers.get(e[0])!(e[1]);
    }
  }

  snapshot(): [string, number][] {
    return [...this.due];
  }

  restore(s: [string, number][]): void {
    this.due.clear();
    for (const [k, t] of s) if (this.handlers.has(k)) this.due.set(k, t);
  }
}

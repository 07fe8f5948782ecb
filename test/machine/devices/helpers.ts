// A settable clock and timer queue for device tests: `advance` moves time and fires due events.
import { TimerQueue, VirtualClock } from "../../../machine/devices/clock.js";
import { IoBus } from "../../../machine/io.js";

export class TestTime {
  t = 0;
  readonly clock: VirtualClock;
  readonly timers = new TimerQueue();
  readonly io = new IoBus();
  constructor(hz = 100_000_000) {
    this.clock = new VirtualClock(hz, () => this.t);
  }
  /** Move to time `to`, firing events in order at their own times. */
  advanceTo(to: number): void {
    for (;;) {
      const n = this.timers.nextTime();
      if (n === undefined || n > to) break;
      this.t = Math.max(this.t, n);
      this.timers.runDue(this.t);
    }
    this.t = to;
  }
  advance(by: number): void {
    this.advanceTo(this.t + by);
  }
}

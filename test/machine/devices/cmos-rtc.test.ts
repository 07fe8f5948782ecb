import { test } from "node:test";
import assert from "node:assert/strict";
import { CmosRtc, DEFAULT_RTC_EPOCH } from "../../../machine/devices/cmos-rtc.js";
import { TestTime } from "./helpers.js";

const HZ = 1000; // 1000 units per virtual second keeps the numbers small

function setup(memoryBytes = 256 * 1024 * 1024, epoch?: number) {
  const tt = new TestTime(HZ);
  const irqs: number[] = [];
  const rtc = new CmosRtc(tt.clock, tt.timers, () => irqs.push(tt.t), { memoryBytes, epoch });
  rtc.attach(tt.io);
  const read = (reg: number) => {
    tt.io.write(0x70, 1, reg);
    return tt.io.read(0x71, 1);
  };
  const write = (reg: number, v: number) => {
    tt.io.write(0x70, 1, reg);
    tt.io.write(0x71, 1, v);
  };
  return { tt, rtc, irqs, read, write };
}

test("time starts at the virtual epoch (BCD) and advances with virtual time", () => {
  const epoch = Date.UTC(2023, 11, 31, 23, 59, 58) / 1000;
  const { tt, read } = setup(undefined, epoch);
  assert.deepEqual([read(9), read(8), read(7), read(4), read(2), read(0), read(0x32)], [0x23, 0x12, 0x31, 0x23, 0x59, 0x58, 0x20]);
  assert.equal(read(6), 0x01, "2023-12-31 is a Sunday: day of week 1");
  tt.advance(2 * HZ);
  assert.deepEqual([read(9), read(8), read(7), read(4), read(2), read(0)], [0x24, 0x01, 0x01, 0x00, 0x00, 0x00]);
});

test("default epoch is 2024-01-01 00:00:00", () => {
  const { read } = setup();
  assert.equal(DEFAULT_RTC_EPOCH, 1704067200);
  assert.deepEqual([read(9), read(8), read(7)], [0x24, 0x01, 0x01]);
});

test("binary mode and 12-hour mode", () => {
  const epoch = Date.UTC(2024, 5, 15, 15, 42, 7) / 1000;
  const { read, write } = setup(undefined, epoch);
  write(0x0b, 0x06); // binary, 24 h
  assert.deepEqual([read(4), read(2), read(0), read(8)], [15, 42, 7, 6]);
  write(0x0b, 0x00); // BCD, 12 h
  assert.equal(read(4), 0x80 | 0x03, "3 PM");
});

test("guest writes set the clock, which then keeps running", () => {
  const { tt, read, write } = setup();
  write(0x0b, 0x82); // SET: freeze while writing
  write(4, 0x10);
  write(2, 0x20);
  write(0, 0x30);
  tt.advance(5 * HZ);
  assert.equal(read(0), 0x30, "frozen while SET");
  write(0x0b, 0x02);
  tt.advance(3 * HZ);
  assert.deepEqual([read(4), read(2), read(0)], [0x10, 0x20, 0x33]);
});

test("memory size bytes: base 640 KiB, extended KiB above 1 MiB (capped), 64 KiB units above 16 MiB", () => {
  const { read } = setup(256 * 1024 * 1024);
  assert.equal(read(0x15) | (read(0x16) << 8), 640);
  assert.equal(read(0x17) | (read(0x18) << 8), 0xffff);
  assert.equal(read(0x30) | (read(0x31) << 8), 0xffff);
  assert.equal(read(0x34) | (read(0x35) << 8), (256 - 16) * 16);
  const small = setup(32 * 1024 * 1024);
  assert.equal(small.read(0x17) | (small.read(0x18) << 8), 31 * 1024);
});

test("status registers: A default 0x26 with UIP near the second boundary; D valid; C cleared on read", () => {
  const { tt, read } = setup();
  assert.equal(read(0x0a), 0x26);
  assert.equal(read(0x0d), 0x80);
  tt.advanceTo(HZ);
  assert.equal(read(0x0c), 0x00);
  // UIP is up for the 244 µs before each update (1 unit = 1 µs here).
  const fine = new TestTime(1_000_000);
  const rtc = new CmosRtc(fine.clock, fine.timers, () => {}, { memoryBytes: 1 << 24 });
  rtc.attach(fine.io);
  const uip = () => {
    fine.io.write(0x70, 1, 0x0a);
    return fine.io.read(0x71, 1) & 0x80;
  };
  fine.advanceTo(1_000_000 - 300);
  assert.equal(uip(), 0);
  fine.advanceTo(1_000_000 - 100);
  assert.equal(uip(), 0x80);
  fine.advanceTo(1_000_000);
  assert.equal(uip(), 0);
});

test("periodic interrupt at the register-A rate; status C reports PF and IRQF", () => {
  const tt = new TestTime(1_024_000);
  const irqs: number[] = [];
  const rtc = new CmosRtc(tt.clock, tt.timers, () => irqs.push(tt.t), { memoryBytes: 1 << 24 });
  rtc.attach(tt.io);
  tt.io.write(0x70, 1, 0x0b);
  tt.io.write(0x71, 1, 0x42); // PIE
  tt.advanceTo(1000 * 3 + 10);
  assert.equal(irqs.length, 1, "no new edge until status C is read");
  assert.equal(irqs[0], 1000);
  tt.io.write(0x70, 1, 0x0c);
  assert.equal(tt.io.read(0x71, 1), 0xc0);
  tt.advanceTo(1000 * 4);
  assert.deepEqual(irqs, [1000, 4000]);
});

test("index port bit 7 masks NMI", () => {
  const { tt, rtc } = setup();
  tt.io.write(0x70, 1, 0x80 | 0x0d);
  assert.equal(rtc.nmiMasked, true);
  assert.equal(tt.io.read(0x71, 1), 0x80);
  tt.io.write(0x70, 1, 0x0d);
  assert.equal(rtc.nmiMasked, false);
});

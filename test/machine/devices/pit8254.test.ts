import { test } from "node:test";
import assert from "node:assert/strict";
import { PIT_HZ, Pit8254 } from "../../../machine/devices/pit8254.js";
import { TestTime } from "./helpers.js";

// With a 1.193182 MHz guest clock one time unit is one PIT tick, which makes counts easy to check.
function setup(hz = PIT_HZ) {
  const tt = new TestTime(hz);
  const edges: number[] = [];
  const pit = new Pit8254(tt.clock, tt.timers, () => edges.push(tt.t));
  pit.attach(tt.io);
  return { tt, pit, edges, io: tt.io };
}

test("mode 2 rate generator: IRQ 0 edges every `count` ticks at exact times", () => {
  const { tt, edges, io } = setup();
  io.write(0x43, 1, 0x34); // channel 0, lobyte/hibyte, mode 2
  io.write(0x40, 1, 100);
  io.write(0x40, 1, 0);
  tt.advanceTo(350);
  assert.deepEqual(edges, [100, 200, 300]);
});

test("mode 2 at 100 MHz: edges land at ceil(k * count * 100e6 / 1193182)", () => {
  const { tt, edges, io } = setup(100_000_000);
  io.write(0x43, 1, 0x34);
  io.write(0x40, 1, 0x9c); // 11932 = 0x2e9c: ~100 Hz
  io.write(0x40, 1, 0x2e);
  tt.advanceTo(3_000_000);
  const expect = [1, 2].map((k) => Math.ceil((k * 11932 * 100_000_000) / PIT_HZ));
  assert.deepEqual(edges, expect);
});

test("reading the count: latch command freezes the value; lobyte then hibyte", () => {
  const { tt, io } = setup();
  io.write(0x43, 1, 0x34);
  io.write(0x40, 1, 0x00);
  io.write(0x40, 1, 0x10); // 0x1000
  tt.advance(0x100);
  io.write(0x43, 1, 0x00); // latch channel 0
  tt.advance(0x50); // the latch holds while time moves
  assert.equal(io.read(0x40, 1), 0x00);
  assert.equal(io.read(0x40, 1), 0x0f);
  // Unlatched read follows the live counter.
  assert.equal(io.read(0x40, 1) | (io.read(0x40, 1) << 8), 0x1000 - 0x150);
});

test("mode 0 interrupt on terminal count: one edge, OUT stays high, counter wraps", () => {
  const { tt, pit, edges, io } = setup();
  io.write(0x43, 1, 0x30); // channel 0, lo/hi, mode 0
  assert.equal(pit.outAt(0), false);
  io.write(0x40, 1, 50);
  io.write(0x40, 1, 0);
  tt.advanceTo(49);
  assert.equal(pit.outAt(0), false);
  tt.advanceTo(500);
  assert.deepEqual(edges, [50]);
  assert.equal(pit.outAt(0), true);
  io.write(0x43, 1, 0x00);
  assert.equal(io.read(0x40, 1) | (io.read(0x40, 1) << 8), (50 - 500) & 0xffff);
});

test("mode 3 square wave: OUT high for the first half, low for the second; edges each period", () => {
  const { tt, pit, edges, io } = setup();
  io.write(0x43, 1, 0x36);
  io.write(0x40, 1, 10);
  io.write(0x40, 1, 0);
  tt.advanceTo(3);
  assert.equal(pit.outAt(0), true);
  tt.advanceTo(7);
  assert.equal(pit.outAt(0), false);
  tt.advanceTo(25);
  assert.deepEqual(edges, [10, 20]);
});

test("lobyte-only access and count 0 meaning 65536", () => {
  const { tt, edges, io } = setup();
  io.write(0x43, 1, 0x14); // channel 0, lobyte, mode 2
  io.write(0x40, 1, 20);
  tt.advanceTo(45);
  assert.deepEqual(edges, [20, 40]);
  io.write(0x43, 1, 0x34);
  io.write(0x40, 1, 0);
  io.write(0x40, 1, 0);
  edges.length = 0;
  tt.advanceTo(45 + 65536 + 1);
  assert.deepEqual(edges, [45 + 65536]);
});

test("read-back command latches status (OUT, access, mode) and count", () => {
  const { tt, io } = setup();
  io.write(0x43, 1, 0xb0); // channel 2, lo/hi, mode 0
  io.write(0x42, 1, 0x34);
  io.write(0x42, 1, 0x12);
  tt.advance(0); // gate 2 is low: mode 0 holds the count
  io.write(0x43, 1, 0xc8); // read-back count and status of channel 2
  const status = io.read(0x42, 1);
  assert.equal(status & 0x3f, 0x30);
  assert.equal(status & 0x80, 0, "OUT low before terminal count");
  assert.equal(io.read(0x42, 1) | (io.read(0x42, 1) << 8), 0x1234);
});

test("channel 2 gate via port 0x61: counts only while the gate is high; OUT in bit 5", () => {
  const { tt, io } = setup();
  io.write(0x43, 1, 0xb0); // channel 2 mode 0
  io.write(0x42, 1, 100);
  io.write(0x42, 1, 0);
  tt.advance(500);
  assert.equal(io.read(0x61, 1) & 0x20, 0, "gate low: no counting");
  io.write(0x61, 1, 0x01);
  assert.equal(io.read(0x61, 1) & 1, 1);
  tt.advance(99);
  assert.equal(io.read(0x61, 1) & 0x20, 0);
  tt.advance(1);
  assert.equal(io.read(0x61, 1) & 0x20, 0x20);
});

test("BCD counting reads back in BCD", () => {
  const { tt, io } = setup();
  io.write(0x43, 1, 0x31); // channel 0, lo/hi, mode 0, BCD
  io.write(0x40, 1, 0x00);
  io.write(0x40, 1, 0x10); // 1000 decimal
  tt.advance(1);
  io.write(0x43, 1, 0x00);
  assert.equal(io.read(0x40, 1) | (io.read(0x40, 1) << 8), 0x0999);
});

test("mode 4 software strobe: edge one tick after terminal count", () => {
  const { tt, edges, io } = setup();
  io.write(0x43, 1, 0x38);
  io.write(0x40, 1, 30);
  io.write(0x40, 1, 0);
  tt.advanceTo(100);
  assert.deepEqual(edges, [31]);
});

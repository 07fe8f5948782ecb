import { test } from "node:test";
import assert from "node:assert/strict";
import { Ps2Controller } from "../../../machine/devices/ps2-controller.js";
import { IoBus } from "../../../machine/io.js";

function setup() {
  const io = new IoBus();
  const a20: boolean[] = [];
  let resets = 0;
  const ps2 = new Ps2Controller({ setA20: (on) => a20.push(on), reset: () => resets++ });
  ps2.attach(io);
  return { io, ps2, a20, resets: () => resets };
}

test("self-test 0xAA answers 0x55 through the output buffer", () => {
  const { io } = setup();
  io.write(0x64, 1, 0xaa);
  assert.equal(io.read(0x64, 1) & 1, 1);
  assert.equal(io.read(0x60, 1), 0x55);
  assert.equal(io.read(0x64, 1) & 1, 0);
});

test("A20 through the output port (0xD1) and read back with 0xD0", () => {
  const { io, ps2, a20 } = setup();
  assert.equal(ps2.a20, true);
  io.write(0x64, 1, 0xd1);
  io.write(0x60, 1, 0x01); // A20 off, not in reset
  assert.equal(ps2.a20, false);
  assert.deepEqual(a20, [false]);
  io.write(0x64, 1, 0xd0);
  assert.equal(io.read(0x60, 1), 0x01);
  io.write(0x64, 1, 0xd1);
  io.write(0x60, 1, 0x03);
  assert.deepEqual(a20, [false, true]);
});

test("port 0x92 fast A20 and fast reset", () => {
  const { io, ps2, a20, resets } = setup();
  io.write(0x64, 1, 0xdd); // output-port A20 off
  assert.equal(ps2.a20, false);
  io.write(0x92, 1, 0x02);
  assert.equal(ps2.a20, true);
  assert.deepEqual(a20, [false, true]);
  assert.equal(io.read(0x92, 1), 0x02);
  io.write(0x92, 1, 0x03);
  assert.equal(resets(), 1);
});

test("command 0xFE pulses the reset line", () => {
  const { io, resets } = setup();
  io.write(0x64, 1, 0xfe);
  assert.equal(resets(), 1);
});

test("configuration byte read/write and keyboard ACK", () => {
  const { io } = setup();
  io.write(0x64, 1, 0x60);
  io.write(0x60, 1, 0x47);
  io.write(0x64, 1, 0x20);
  assert.equal(io.read(0x60, 1), 0x47);
  io.write(0x60, 1, 0xff);
  assert.equal(io.read(0x60, 1), 0xfa);
  assert.equal(io.read(0x60, 1), 0xaa);
});

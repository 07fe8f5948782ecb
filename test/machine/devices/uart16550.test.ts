import { test } from "node:test";
import assert from "node:assert/strict";
import { Uart16550 } from "../../../machine/devices/uart16550.js";
import { IoBus } from "../../../machine/io.js";

function setup() {
  const io = new IoBus();
  const out: number[] = [];
  const irq: boolean[] = [];
  const uart = new Uart16550(0x3f8, (b) => out.push(b), (l) => irq.push(l));
  uart.attach(io);
  const level = () => irq[irq.length - 1] ?? false;
  return { io, out, irq, uart, level };
}

test("THR writes reach the host byte by byte; LSR always shows THR empty", () => {
  const { io, out } = setup();
  for (const c of "hi\n") io.write(0x3f8, 1, c.charCodeAt(0));
  assert.equal(String.fromCharCode(...out), "hi\n");
  assert.equal(io.read(0x3fd, 1) & 0x60, 0x60);
});

test("DLAB exposes the divisor latch in place of THR/IER", () => {
  const { io, out, uart } = setup();
  io.write(0x3fb, 1, 0x80);
  io.write(0x3f8, 1, 0x01);
  io.write(0x3f9, 1, 0x00);
  assert.equal(uart.divisor, 1);
  assert.equal(io.read(0x3f8, 1), 0x01);
  io.write(0x3fb, 1, 0x03);
  assert.equal(io.read(0x3fb, 1), 0x03);
  assert.deepEqual(out, [], "divisor writes are not output");
});

test("input queue: DR set while bytes wait; RDA interrupt when IER bit 0 is set", () => {
  const { io, uart, level } = setup();
  assert.equal(io.read(0x3fd, 1) & 1, 0);
  io.write(0x3f9, 1, 0x01);
  assert.equal(level(), false);
  uart.enqueueInput("ab");
  assert.equal(level(), true);
  assert.equal(io.read(0x3fa, 1) & 0x0f, 0x04);
  assert.equal(io.read(0x3fd, 1) & 1, 1);
  assert.equal(io.read(0x3f8, 1), 0x61);
  assert.equal(io.read(0x3f8, 1), 0x62);
  assert.equal(io.read(0x3fd, 1) & 1, 0);
  assert.equal(level(), false);
  assert.equal(io.read(0x3fa, 1) & 0x0f, 0x01);
});

test("THRE interrupt: raised when enabled, cleared by reading IIR, re-raised by a THR write", () => {
  const { io, irq, level } = setup();
  io.write(0x3f9, 1, 0x02);
  assert.equal(level(), true);
  assert.equal(io.read(0x3fa, 1) & 0x0f, 0x02);
  assert.equal(level(), false);
  const before = irq.length;
  io.write(0x3f8, 1, 0x41);
  assert.equal(level(), true);
  assert.ok(irq.length > before);
});

test("IIR priority: received data before THR empty; FCR enables FIFO bits in IIR", () => {
  const { io, uart } = setup();
  io.write(0x3fa, 1, 0x07);
  io.write(0x3f9, 1, 0x03);
  uart.enqueueInput("x");
  assert.equal(io.read(0x3fa, 1), 0xc4);
  io.read(0x3f8, 1);
  assert.equal(io.read(0x3fa, 1), 0xc2);
});

test("loopback: THR goes to RBR, MCR lines appear in MSR, host output untouched", () => {
  const { io, out } = setup();
  io.write(0x3fc, 1, 0x10 | 0x0b); // loop + DTR + RTS + OUT2
  io.write(0x3f8, 1, 0x5a);
  assert.deepEqual(out, []);
  assert.equal(io.read(0x3fd, 1) & 1, 1);
  assert.equal(io.read(0x3f8, 1), 0x5a);
  assert.equal(io.read(0x3fe, 1) & 0xf0, 0xb0); // DCD(OUT2) DSR(DTR) CTS(RTS)
  io.write(0x3fc, 1, 0x10 | 0x04); // only OUT1 → RI
  assert.equal(io.read(0x3fe, 1) & 0xf0, 0x40);
});

test("loopback overrun sets LSR OE, cleared by reading LSR", () => {
  const { io } = setup();
  io.write(0x3fc, 1, 0x10);
  io.write(0x3f8, 1, 1);
  io.write(0x3f8, 1, 2);
  assert.equal(io.read(0x3fd, 1) & 2, 2);
  assert.equal(io.read(0x3fd, 1) & 2, 0);
});

test("scratch register holds a byte", () => {
  const { io } = setup();
  io.write(0x3ff, 1, 0xa5);
  assert.equal(io.read(0x3ff, 1), 0xa5);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { Pic8259Pair } from "../../../machine/devices/pic8259.js";
import { IoBus } from "../../../machine/io.js";

/** Program the pair as a PC BIOS/kernel does: vectors 0x20 and 0x28, cascade on IRQ 2. */
function setup(icw4 = 0x01): { pic: Pic8259Pair; io: IoBus } {
  const pic = new Pic8259Pair();
  const io = new IoBus();
  pic.attach(io);
  io.write(0x20, 1, 0x11);
  io.write(0xa0, 1, 0x11);
  io.write(0x21, 1, 0x20);
  io.write(0xa1, 1, 0x28);
  io.write(0x21, 1, 0x04);
  io.write(0xa1, 1, 0x02);
  io.write(0x21, 1, icw4);
  io.write(0xa1, 1, icw4);
  io.write(0x21, 1, 0x00);
  io.write(0xa1, 1, 0x00);
  return { pic, io };
}

test("ICW sequence sets vector bases; an edge on IRQ 0 gives vector 0x20 and sets ISR", () => {
  const { pic, io } = setup();
  let intr = 0;
  pic.onIntr = () => intr++;
  pic.pulseIrq(0);
  assert.ok(intr > 0);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x20);
  assert.equal(pic.hasInterrupt(), false);
  io.write(0x20, 1, 0x0b); // OCW3: read ISR
  assert.equal(io.read(0x20, 1), 0x01);
  io.write(0x20, 1, 0x20); // non-specific EOI
  assert.equal(io.read(0x20, 1), 0x00);
});

test("priorities: lower IRQ first; a lower-priority request waits for EOI of the higher one", () => {
  const { pic, io } = setup();
  pic.pulseIrq(3);
  pic.pulseIrq(1);
  io.write(0x20, 1, 0x0a); // read IRR
  assert.equal(io.read(0x20, 1), 0x0a);
  assert.equal(pic.acknowledge(), 0x21);
  assert.equal(pic.hasInterrupt(), false, "IRQ 3 is blocked while IRQ 1 is in service");
  io.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x23);
  // A higher-priority request nests over IRQ 3 in service.
  pic.pulseIrq(0);
  assert.equal(pic.acknowledge(), 0x20);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x09);
  io.write(0x20, 1, 0x20); // non-specific EOI ends the highest in service: IRQ 0
  assert.equal(io.read(0x20, 1), 0x08);
  io.write(0x20, 1, 0x63); // specific EOI for IRQ 3
  assert.equal(io.read(0x20, 1), 0x00);
});

test("edge triggered: a held line gives one request; only a new rising edge gives another", () => {
  const { pic, io } = setup();
  pic.setIrq(4, true);
  assert.equal(pic.acknowledge(), 0x24);
  io.write(0x20, 1, 0x20);
  assert.equal(pic.hasInterrupt(), false);
  pic.setIrq(4, true);
  assert.equal(pic.hasInterrupt(), false);
  pic.setIrq(4, false);
  pic.setIrq(4, true);
  assert.equal(pic.hasInterrupt(), true);
});

test("IMR masks a request until unmasked", () => {
  const { pic, io } = setup();
  io.write(0x21, 1, 0x01);
  assert.equal(io.read(0x21, 1), 0x01);
  pic.pulseIrq(0);
  assert.equal(pic.hasInterrupt(), false);
  io.write(0x21, 1, 0x00);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x20);
});

test("cascade: slave IRQ 12 arrives through master IRQ 2 as vector 0x2C; both chips need EOI", () => {
  const { pic, io } = setup();
  pic.pulseIrq(12);
  assert.equal(pic.acknowledge(), 0x2c);
  io.write(0xa0, 1, 0x0b);
  assert.equal(io.read(0xa0, 1), 0x10);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x04);
  // While IRQ 2 is in service on the master, IRQ 3 must wait.
  pic.pulseIrq(3);
  assert.equal(pic.hasInterrupt(), false);
  io.write(0xa0, 1, 0x20);
  io.write(0x20, 1, 0x20);
  assert.equal(pic.acknowledge(), 0x23);
});

test("masking the cascade on the master hides slave requests", () => {
  const { pic, io } = setup();
  io.write(0x21, 1, 0x04);
  pic.pulseIrq(8);
  assert.equal(pic.hasInterrupt(), false);
  io.write(0x21, 1, 0x00);
  assert.equal(pic.acknowledge(), 0x28);
});

test("auto-EOI leaves ISR clear", () => {
  const { pic, io } = setup(0x03);
  pic.pulseIrq(5);
  assert.equal(pic.acknowledge(), 0x25);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x00);
  pic.pulseIrq(6);
  assert.equal(pic.acknowledge(), 0x26);
});

test("spurious: INTA with no request gives the master's IRQ 7 vector without setting ISR", () => {
  const { pic, io } = setup();
  assert.equal(pic.acknowledge(), 0x27);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x00);
});

test("poll command returns 0x80 | irq and acknowledges it", () => {
  const { pic, io } = setup();
  pic.pulseIrq(6);
  io.write(0x20, 1, 0x0c); // OCW3 poll
  assert.equal(io.read(0x20, 1), 0x86);
  io.write(0x20, 1, 0x0b);
  assert.equal(io.read(0x20, 1), 0x40);
  io.write(0x20, 1, 0x0c);
  assert.equal(io.read(0x20, 1), 0x00);
});

test("rotation: rotate on non-specific EOI makes the served IRQ lowest priority", () => {
  const { pic, io } = setup();
  pic.pulseIrq(1);
  assert.equal(pic.acknowledge(), 0x21);
  io.write(0x20, 1, 0xa0); // rotate on non-specific EOI
  pic.pulseIrq(1);
  pic.pulseIrq(4);
  assert.equal(pic.acknowledge(), 0x24, "IRQ 1 is now the lowest priority");
  io.write(0x20, 1, 0xc7); // set priority: IRQ 7 lowest, back to normal
  io.write(0x20, 1, 0x64);
  assert.equal(pic.acknowledge(), 0x21);
});

test("special mask mode lets lower-priority IRQs in while a masked higher one is in service", () => {
  const { pic, io } = setup();
  pic.pulseIrq(2 + 1); // IRQ 3
  assert.equal(pic.acknowledge(), 0x23);
  io.write(0x21, 1, 0x08); // mask IRQ 3
  io.write(0x20, 1, 0x68); // OCW3: set special mask
  pic.pulseIrq(5);
  assert.equal(pic.acknowledge(), 0x25);
});

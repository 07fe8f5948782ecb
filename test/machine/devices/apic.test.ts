import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalApic } from "../../../machine/devices/local-apic.js";
import { IoApic } from "../../../machine/devices/io-apic.js";
import { IsaIrqLines, PlatformInterrupts } from "../../../machine/devices/interrupt-router.js";
import { Pic8259Pair } from "../../../machine/devices/pic8259.js";
import { TestTime } from "./helpers.js";

function setup() {
  const tt = new TestTime(1000);
  const lapic = new LocalApic(tt.clock, tt.timers);
  const ioapic = new IoApic(lapic);
  lapic.onLevelEoi = (v) => ioapic.endOfInterrupt(v);
  const pic = new Pic8259Pair();
  pic.attach(tt.io);
  const irqs = new IsaIrqLines(pic, ioapic);
  const intc = new PlatformInterrupts(pic, lapic);
  const w = (reg: number, v: number) => lapic.write(reg, 4, v);
  const r = (reg: number) => lapic.read(reg, 4);
  const iow = (reg: number, v: number) => {
    ioapic.write(0x00, 4, reg);
    ioapic.write(0x10, 4, v);
  };
  const ior = (reg: number) => {
    ioapic.write(0x00, 4, reg);
    return ioapic.read(0x10, 4);
  };
  return { tt, lapic, ioapic, pic, irqs, intc, w, r, iow, ior };
}

test("local APIC identity: ID, version with max LVT 5, SVR reset value, disabled at reset", () => {
  const { lapic, r } = setup();
  assert.equal(r(0x20), 0);
  assert.equal(r(0x30), 0x00050014);
  assert.equal(r(0xf0), 0xff);
  assert.equal(lapic.enabled, false);
  assert.equal(r(0x320), 0x10000);
});

test("LVT timer one-shot: fires once after initial × divisor; current count counts down", () => {
  const { tt, lapic, w, r } = setup();
  w(0xf0, 0x1ff);
  w(0x3e0, 0x1); // divide by 4
  w(0x320, 0x40); // one-shot, vector 0x40
  w(0x380, 25); // 100 units
  tt.advanceTo(40);
  assert.equal(r(0x390), 15);
  assert.equal(lapic.hasPending(), false);
  tt.advanceTo(99);
  assert.equal(lapic.hasPending(), false);
  tt.advanceTo(100);
  assert.equal(lapic.hasPending(), true);
  assert.equal(lapic.acknowledge(), 0x40);
  assert.equal(r(0x390), 0);
  w(0xb0, 0);
  tt.advanceTo(1000);
  assert.equal(lapic.hasPending(), false);
});

test("LVT timer periodic with divide-by-1 fires every initial count", () => {
  const { tt, lapic, w } = setup();
  w(0xf0, 0x1ff);
  w(0x3e0, 0xb); // divide by 1
  w(0x320, 0x20000 | 0x41);
  w(0x380, 10);
  const fired: number[] = [];
  for (let t = 1; t <= 35; t++) {
    tt.advanceTo(t);
    if (lapic.hasPending()) {
      fired.push(t);
      lapic.acknowledge();
      lapic.write(0xb0, 4, 0);
    }
  }
  assert.deepEqual(fired, [10, 20, 30]);
});

test("TPR blocks lower-class vectors; PPR follows ISR; EOI clears the highest in service", () => {
  const { lapic, w, r } = setup();
  w(0xf0, 0x1ff);
  w(0x80, 0x50);
  lapic.accept(0x45, false);
  assert.equal(lapic.hasPending(), false);
  lapic.accept(0x61, false);
  assert.equal(lapic.acknowledge(), 0x61);
  assert.equal(r(0xa0), 0x60);
  assert.equal(r(0x100 + 0x30), 1 << 1, "ISR bit 0x61 in the fourth ISR word");
  w(0x80, 0);
  assert.equal(lapic.hasPending(), false, "0x45 is below the in-service class 6");
  w(0xb0, 0);
  assert.equal(lapic.acknowledge(), 0x45);
});

test("self IPI through the ICR", () => {
  const { lapic, w } = setup();
  w(0xf0, 0x1ff);
  w(0x300, (1 << 18) | 0x77); // shorthand self, fixed
  assert.equal(lapic.acknowledge(), 0x77);
});

test("I/O APIC: version with 24 entries, ID, masked redirection entries at reset", () => {
  const { ior, ioapic } = setup();
  assert.equal(ior(0x01), 0x00170011);
  assert.equal(ior(0x00) >>> 24, 1);
  assert.equal(ioapic.redirection(5).low & 0x10000, 0x10000);
});

test("ISA IRQ 0 reaches the local APIC through pin 2 when unmasked; masking stops it", () => {
  const { lapic, irqs, iow, intc } = setup();
  lapic.write(0xf0, 4, 0x1ff);
  iow(0x10 + 2 * 2, 0x30);
  iow(0x10 + 2 * 2 + 1, 0);
  irqs.pulse(0);
  assert.equal(intc.hasPending(), true);
  assert.equal(intc.acknowledge(), 0x30);
  lapic.write(0xb0, 4, 0);
  iow(0x10 + 2 * 2, 0x10030);
  irqs.pulse(0);
  assert.equal(intc.hasPending(), false);
});

test("level-triggered entry: Remote IRR set on delivery, cleared by EOI, redelivered while asserted", () => {
  const { lapic, ioapic, irqs, iow, ior } = setup();
  lapic.write(0xf0, 4, 0x1ff);
  iow(0x10 + 2 * 9, 0x8000 | 0x59);
  irqs.set(9, true);
  assert.equal(ior(0x10 + 2 * 9) & 0x4000, 0x4000);
  assert.equal(lapic.acknowledge(), 0x59);
  irqs.set(9, true);
  assert.equal(lapic.hasPending(), false);
  lapic.write(0xb0, 4, 0); // EOI: line still high → delivered again
  assert.equal(lapic.acknowledge(), 0x59);
  irqs.set(9, false);
  lapic.write(0xb0, 4, 0);
  assert.equal(ioapic.redirection(9).low & 0x4000, 0);
  assert.equal(lapic.hasPending(), false);
});

test("routing: PIC direct while the local APIC is disabled; through LINT0 ExtINT in virtual-wire mode", () => {
  const { pic, tt, lapic, irqs, intc, w } = setup();
  for (const [p, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 4], [0x21, 1], [0xa0, 0x11], [0xa1, 0x28], [0xa1, 2], [0xa1, 1]] as const)
    tt.io.write(p, 1, v);
  irqs.pulse(1);
  assert.equal(intc.hasPending(), true);
  assert.equal(intc.acknowledge(), 0x21);
  tt.io.write(0x20, 1, 0x20);
  w(0xf0, 0x1ff); // enabled, LINT0 still masked: the PIC is cut off
  irqs.pulse(3);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(intc.hasPending(), false);
  w(0x350, 0x700); // LINT0 ExtINT unmasked
  assert.equal(lapic.extIntThroughLint0, true);
  assert.equal(intc.acknowledge(), 0x23);
});

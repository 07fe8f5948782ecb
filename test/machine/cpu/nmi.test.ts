// NMI: delivered through vector 2 whatever IF says, blocked from its delivery to the next iret,
// wakes a halted CPU; the platform's NMI line honours the CMOS mask; a local APIC self-NMI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runGuest } from "./guest.js";
import { Machine } from "../../../machine/machine.js";

const LOG = `
logv:                     # append %ebx to the log at 0x700 (length at 0x654)
  push %eax
  mov 0x654, %eax
  mov %ebx, 0x700(,%eax,4)
  incl 0x654
  pop %eax
  ret

nmi_handler:
  push %ebx
  mov $1, %ebx
  call logv
  incl 0x658
  cmpl $1, 0x658
  jne 1f
  out %al, $0x99          # the host raises a second NMI now: it must wait for the iret
  mov $2, %ebx
  call logv
1:
  pop %ebx
  iret
`;

const INSTALL = `
  mov $nmi_handler, %eax
  mov %ax, idt+16
  shr $16, %eax
  mov %ax, idt+22
`;

function log(rd: (a: number) => number): number[] {
  return Array.from({ length: rd(0x654) }, (_, k) => rd(0x700 + 4 * k));
}

test("an NMI is taken with IF clear, and a second one waits for the handler's iret", () => {
  for (const threshold of [Infinity, 0]) {
    const g = runGuest(
      `main:
${INSTALL}
  cli
  out %al, $0x99          # the host raises an NMI: taken after this instruction
  mov $10, %ebx
  call logv
  hlt
${LOG}`,
      100_000,
      (cpu) => {
        cpu.compileThreshold = threshold;
        cpu.io = { read: () => 0xff, write: (port) => (port === 0x99 ? cpu.raiseNmi() : undefined) };
      },
    );
    assert.equal(g.stop.kind, "halt");
    assert.deepEqual(log(g.rd), [1, 2, 1, 10]);
    assert.equal(g.cpu.nmiBlocked, false);
  }
});

test("an NMI wakes a CPU halted with IF clear and returns to the instruction after hlt", () => {
  const g = runGuest(
    `main:
${INSTALL}
  cli
  hlt
  mov $10, %ebx
  call logv
  hlt
${LOG}`,
    100_000,
  );
  assert.equal(g.stop.kind, "halt");
  assert.deepEqual(log(g.rd), []);
  g.cpu.raiseNmi();
  g.cpu.raiseNmi(); // one latch: two pulses before delivery are one NMI
  assert.equal(g.cpu.run(100_000).kind, "halt");
  assert.deepEqual(log(g.rd), [1, 2, 10], "handler (which raised nothing: no port hook), then main");
});

test("Machine.nmi() is masked by CMOS port 0x70 bit 7; a local APIC self-NMI is not", () => {
  const m = new Machine({});
  m.devices.io.write(0x70, 1, 0x80);
  assert.equal(m.nmi(), false);
  assert.equal(m.cpu.nmiPending, false);
  m.devices.io.write(0x70, 1, 0x00);
  assert.equal(m.nmi(), true);
  assert.equal(m.cpu.nmiPending, true);
  const m2 = new Machine({});
  m2.devices.io.write(0x70, 1, 0x80);
  m2.memory.write32(0xfee00300, (1 << 18) | (4 << 8)); // ICR: shorthand self, delivery mode NMI
  assert.equal(m2.cpu.nmiPending, true);
});

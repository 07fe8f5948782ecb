// The A20 gate: with it off (PS/2 controller output port bit 1 and port 0x92 bit 1 both clear),
// CPU accesses above 1 MiB wrap onto the alias with bit 20 clear, as on a PC.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildGuest, LOAD_ADDR } from "./guests.js";
import { Machine } from "../../../machine/machine.js";

// The kernel runs at 1 MiB, which the gate itself would hide: it copies a routine below 1 MiB and
// runs it there; the routine uses no stack (ESP is near 2 MiB) and turns the gate back on before
// jumping home.
const GUEST = `
main:
  mov $low_start, %esi
  mov $0x8000, %edi
  mov $(low_end - low_start), %ecx
  cld
  rep movsb
  mov $0x8000, %eax
  jmp *%eax
back:
  mov $0, %eax
  cmpl $0x22222222, 0x7000
  jne 1f
  cmpl $0x22222222, 0x7004
  jne 1f
  cmpl $0x33333333, 0x300010
  jne 1f
  mov $7, %eax
1:
  call exit

low_start:
  mov $0xd1, %al          # write the controller's output port:
  out %al, $0x64
  mov $0x01, %al          # not in reset, A20 off
  out %al, $0x60
  movl $0x11111111, 0x200010
  movl $0x22222222, 0x300010   # lands on 0x200010
  mov 0x200010, %eax
  mov %eax, 0x7000
  in $0x92, %al           # fast A20 on through port 0x92
  or $2, %al
  out %al, $0x92
  movl $0x33333333, 0x300010
  mov 0x200010, %eax
  mov %eax, 0x7004
  mov $back, %eax
  jmp *%eax
low_end:
`;

test("A20 off wraps CPU accesses at 1 MiB; the PS/2 output port and port 0x92 both switch it", () => {
  for (const threshold of [Infinity, 0]) {
    const m = new Machine({});
    m.cpu.compileThreshold = threshold;
    const image = buildGuest(GUEST);
    m.loadElfSegments([{ paddr: LOAD_ADDR, bytes: image, memsz: image.length + 4096 }], LOAD_ADDR, {});
    const r = m.run({ maxInstructions: 1_000_000 });
    assert.equal(r.reason, "exit", r.message);
    assert.equal(m.memory.read32(0x7000) >>> 0, 0x22222222, "the write to 3 MiB + 16 landed on 2 MiB + 16");
    assert.equal(m.memory.read32(0x7004) >>> 0, 0x22222222, "with A20 on again 3 MiB is its own page");
    assert.equal(r.exitCode, 7);
    assert.equal(m.a20Enabled, true);
  }
});

test("the A20 gate is part of a machine snapshot; host linear writes see it", () => {
  const m = new Machine({});
  const snap = m.snapshot();
  (m.memory as { setA20(on: boolean): void }).setA20(false);
  m.cpu.writeLinear(0x300000, new Uint8Array([0xaa]));
  assert.equal(m.memory.read8(0x200000), 0xaa, "host linear writes go through the CPU's translation");
  m.restore(snap);
  assert.equal(m.memory.a20Mask, -1);
});

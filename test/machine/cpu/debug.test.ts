// EFLAGS.TF single-step traps and the debug registers (DR0–DR3 instruction and data breakpoints,
// DR6 status, DR7 enables, EFLAGS.RF), run by guests with their own #DB handler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runGuest } from "./guest.js";

/**
 * Installs `db_handler` as the #DB gate, then runs `body`. The handler appends the trapped EIP
 * to the list at 0x700 (count at 0x600), ORs DR6 into 0x604 and clears DR6; with `setRf` it sets
 * RF in the EFLAGS image so an instruction breakpoint lets the instruction run on return.
 */
function debugGuest(body: string, setRf = false): { eips: number[]; dr6: number; rd: (a: number) => number; halted: boolean } {
  const src = `main:
  mov $db_handler, %eax
  mov %ax, idt+8
  shr $16, %eax
  mov %ax, idt+14
${body}
  hlt

db_handler:
  push %eax
  push %ebx
  mov 0x600, %ebx
  mov 8(%esp), %eax
  mov %eax, 0x700(,%ebx,4)
  incl 0x600
  mov %dr6, %eax
  or %eax, 0x604
  xor %eax, %eax
  mov %eax, %dr6
${setRf ? "  orl $0x10000, 16(%esp)\n" : ""}  pop %ebx
  pop %eax
  iret

sys80:
  incl 0x608
  iret
`;
  const g = runGuest(src, 100_000);
  const n = g.rd(0x600);
  const eips: number[] = [];
  for (let k = 0; k < n; k++) eips.push(g.rd(0x700 + 4 * k));
  return { eips, dr6: g.rd(0x604), rd: g.rd, halted: g.stop.kind === "halt" };
}

/** The addresses the guest stored at 0x680.. (labels resolved by the assembler). */
function labels(rd: (a: number) => number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => rd(0x680 + 4 * k));
}

test("TF: a #DB trap after each instruction that began with TF set, none after the popf that sets it", () => {
  const g = debugGuest(`
  movl $l1, 0x680
  movl $l2, 0x684
  movl $l3, 0x688
  movl $l4, 0x68c
  movl $l5, 0x690
  pushf
  orl $0x100, (%esp)
  popf
  mov $1, %eax
l1:
  mov $2, %eax
l2:
  pushf
l3:
  andl $~0x100, (%esp)
l4:
  popf
l5:
  nop
  nop
`);
  assert.ok(g.halted);
  assert.deepEqual(g.eips, labels(g.rd, 5));
  assert.equal(g.dr6 & 0x4000, 0x4000, "DR6.BS");
  assert.equal(g.dr6 & 0xf, 0, "no breakpoint bits");
});

test("TF: int n delivers without a single-step trap; the handler runs with TF clear; iret resumes stepping", () => {
  const g = debugGuest(`
  movl $l1, 0x680
  movl $l2, 0x684
  pushf
  orl $0x100, (%esp)
  popf
  int $0x80
l1:
  nop
l2:
  pushf
  andl $~0x100, (%esp)
  popf
`);
  assert.ok(g.halted);
  assert.equal(g.rd(0x608), 1, "the int 0x80 handler ran");
  // no trap after int (nor inside the handler); after the first nop following iret: l2, then pushf, andl, popf
  assert.equal(g.eips[0], g.rd(0x684));
  assert.equal(g.eips.length, 4);
  assert.ok(!g.eips.includes(g.rd(0x680)), "no trap right after int $0x80");
});

test("DR0 instruction breakpoint: a fault before the instruction; RF in the image lets it run on return", () => {
  const g = debugGuest(
    `
  movl $target, 0x680
  mov $target, %eax
  mov %eax, %dr0
  mov $0x1, %eax          # L0, R/W0 = 00 (execute), LEN0 = 00
  mov %eax, %dr7
  mov $3, %ecx
1:
target:
  incl 0x60c
  dec %ecx
  jnz 1b
  xor %eax, %eax
  mov %eax, %dr7
`,
    true,
  );
  assert.ok(g.halted);
  const target = g.rd(0x680);
  assert.deepEqual(g.eips, [target, target, target]);
  assert.equal(g.rd(0x60c), 3, "each breakpointed instruction executed once after its fault");
  assert.equal(g.dr6 & 0xf, 1, "DR6.B0");
});

test("DR1 data breakpoints: write-only traps after writes; read/write traps after reads too", () => {
  const g = debugGuest(`
  movl $l1, 0x680
  movl $l2, 0x684
  movl $l3, 0x688
  mov $0x640, %eax
  mov %eax, %dr1
  mov $0x00d00004, %eax   # L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes)
  mov %eax, %dr7
  mov 0x640, %ebx         # a read: no trap
  movb $5, 0x642          # a write inside the 4 bytes
l1:
  movl $6, 0x644          # outside: no trap
  mov $0x00f00004, %eax   # R/W1 = 11 (read or write)
  mov %eax, %dr7
l2:
  mov 0x63e, %ebx         # a 4-byte read overlapping 0x640
l3:
  xor %eax, %eax
  mov %eax, %dr7
  mov 0x640, %ebx
`);
  assert.ok(g.halted);
  // trap after the byte write (l1), after the mov to DR7 at l2? no: after the read at l2, i.e. at l3
  assert.deepEqual(g.eips, [g.rd(0x680), g.rd(0x688)]);
  assert.equal(g.dr6 & 0xf, 2, "DR6.B1");
  assert.equal(g.rd(0x640), 0x50000, "the write landed");
});

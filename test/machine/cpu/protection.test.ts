// Privilege, gates, exceptions: small guests assembled with GNU as at test time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runGuest, toUser, V, SEL } from "./guest.js";

test("cli at CPL 3 with IOPL 0 raises #GP(0) at the cli", () => {
  const g = runGuest(`main:\n${toUser("user")}\nuser:\n  nop\nfault_here:\n  cli\n  hlt\n`);
  assert.equal(g.stop.kind, "halt");
  assert.equal(g.rd(V.vec), 13);
  assert.equal(g.rd(V.err), 0);
  assert.equal(g.rd(V.cs), SEL.code3);
  // the saved EIP is the cli itself
  assert.equal(g.mem.read8(g.rd(V.eip)), 0xfa);
});

test("cli/sti at CPL 3 are allowed when IOPL is 3", () => {
  const g = runGuest(`main:\n${toUser("user", 0x3202)}\nuser:\n  cli\n  pushf\n  pop %eax\n  mov %eax, ${V.out}\n  sti\n  ud2\n`);
  assert.equal(g.rd(V.vec), 6);
  assert.equal(g.rd(V.out) & 0x200, 0);
  assert.equal(g.rd(V.eflags) & 0x200, 0x200);
});

test("popf at CPL 3 silently keeps IF and IOPL; pushf reveals the real flags", () => {
  const g = runGuest(`main:\n${toUser("user", 0x1202)}
user:
  pushf
  pop %eax
  mov %eax, ${V.out}
  and $~0x3200, %eax
  or $0x0001, %eax
  push %eax
  popf
  pushf
  pop %ebx
  mov %ebx, ${V.out + 4}
  ud2
`);
  assert.equal(g.rd(V.vec), 6);
  assert.equal(g.rd(V.out) & 0x3200, 0x1200, "pushf shows IF=1 and IOPL=1");
  const after = g.rd(V.out + 4);
  assert.equal(after & 0x200, 0x200, "CPL 3 > IOPL 1: IF kept");
  assert.equal(after & 0x3000, 0x1000, "IOPL unchanged at CPL 3");
  assert.equal(after & 1, 1, "CF did change");
});

test("popf at CPL 3 with IOPL 3 may change IF but not IOPL", () => {
  const g = runGuest(`main:\n${toUser("user", 0x3202)}
user:
  push $0x0000
  popf
  pushf
  pop %eax
  mov %eax, ${V.out}
  ud2
`);
  const f = g.rd(V.out);
  assert.equal(f & 0x200, 0);
  assert.equal(f & 0x3000, 0x3000);
});

test("popf at CPL 0 changes IOPL and IF", () => {
  const g = runGuest(`main:\n  push $0x3202\n  popf\n  pushf\n  pop %eax\n  mov %eax, ${V.out}\n  hlt\n`);
  assert.equal(g.rd(V.out) & 0x3200, 0x3200);
});

test("int $0x80 from ring 3 switches to the TSS ring-0 stack; iret returns to ring 3", () => {
  const g = runGuest(`main:\n${toUser("user", 0x202, 0x7ff0)}
user:
  mov $0x1234, %eax
  int $0x80
  mov %cs, %ecx
  mov %ecx, ${V.out + 12}
  mov %esp, ${V.out + 16}
  ud2
sys80:
  mov %esp, ${V.out}
  mov %ss, ${V.out + 4}
  pushf
  pop %ebx
  mov %ebx, ${V.out + 8}
  mov 12(%esp), %ebx
  mov %ebx, ${V.out + 20}
  mov 16(%esp), %ebx
  mov %ebx, ${V.out + 24}
  iret
`);
  assert.equal(g.rd(V.vec), 6, "ended with ud2 back in ring 3");
  assert.equal(g.rd(V.out), 0x9000 - 20, "frame of 5 dwords on the TSS esp0 stack");
  assert.equal(g.rd(V.out + 4), SEL.data0);
  assert.equal(g.rd(V.out + 8) & 0x200, 0, "interrupt gate cleared IF");
  assert.equal(g.rd(V.out + 12), SEL.code3);
  assert.equal(g.rd(V.out + 16), 0x7ff0);
  assert.equal(g.rd(V.out + 20), 0x7ff0, "saved user ESP");
  assert.equal(g.rd(V.out + 24), SEL.data3, "saved user SS");
});

test("trap gate keeps IF set; interrupt gate clears it", () => {
  const g = runGuest(`main:\n${toUser("user", 0x202)}
user:
  int $0x81
  ud2
sys81:
  pushf
  pop %ebx
  mov %ebx, ${V.out}
  iret
`);
  assert.equal(g.rd(V.out) & 0x200, 0x200);
});

test("int n through a DPL 0 gate from ring 3 is #GP(vector*8+2)", () => {
  const g = runGuest(`main:\n${toUser("user")}\nuser:\n  int $3\n  hlt\n`);
  assert.equal(g.rd(V.vec), 13);
  assert.equal(g.rd(V.err), 3 * 8 + 2);
  assert.equal(g.mem.read8(g.rd(V.eip)), 0xcc, "EIP of the int3 instruction");
});

test("far call through a DPL 3 call gate reaches ring 0 on the TSS stack; lret returns to ring 3", () => {
  const g = runGuest(`main:\n${toUser("user", 0x202, 0x7000)}
user:
  push $0xabcd
  lcall $0x33, $0
  mov %cs, %eax
  mov %eax, ${V.out + 8}
  mov %esp, ${V.out + 12}
  ud2
gate_target:
  mov %cs, %eax
  mov %eax, ${V.out}
  mov %esp, ${V.out + 4}
  lret
`);
  assert.equal(g.rd(V.vec), 6);
  assert.equal(g.rd(V.out), SEL.code0 & ~3);
  assert.equal(g.rd(V.out + 4), 0x9000 - 16, "ss, esp, cs, eip on the inner stack");
  assert.equal(g.rd(V.out + 8), SEL.code3);
  assert.equal(g.rd(V.out + 12), 0x7000 - 4);
});

test("#DE on divide by zero and on quotient overflow", () => {
  const g = runGuest(`main:\n  xor %ecx, %ecx\n  mov $1, %eax\n  div %ecx\n  hlt\n`);
  assert.equal(g.rd(V.vec), 0);
  assert.equal(g.mem.read8(g.rd(V.eip)), 0xf7);
  const h = runGuest(`main:\n  mov $0x100, %ax\n  mov $1, %cl\n  div %cl\n  hlt\n`);
  assert.equal(h.rd(V.vec), 0);
});

test("#UD on ud2 and on mov to %cs", () => {
  assert.equal(runGuest(`main:\n  ud2\n`).rd(V.vec), 6);
  assert.equal(runGuest(`main:\n  .byte 0x8e, 0xc8\n  hlt\n`).rd(V.vec), 6);
});

test("#NP(selector) when loading a not-present data segment", () => {
  const g = runGuest(`main:\n  mov $0x40, %ax\n  mov %ax, %ds\n  hlt\n`);
  assert.equal(g.rd(V.vec), 11);
  assert.equal(g.rd(V.err), 0x40);
});

test("#GP(selector) loading a ring-0 data segment at CPL 3; null DS is allowed but unusable", () => {
  const g = runGuest(`main:\n${toUser("user")}\nuser:\n  mov $0x10, %ax\n  mov %ax, %ds\n  hlt\n`);
  assert.equal(g.rd(V.vec), 13);
  assert.equal(g.rd(V.err), 0x10);
  const h = runGuest(`main:\n  xor %eax, %eax\n  mov %ax, %es\n  movl $1, %es:0x600\n  hlt\n`);
  assert.equal(h.rd(V.vec), 13);
  assert.equal(h.rd(V.err), 0);
});

test("#SS(0) pushing below a small stack segment's limit... and past it", () => {
  const g = runGuest(`main:\n${toUser("user")}\nuser:\n  mov $0x3b, %ax\n  mov %ax, %ss\n  mov $0x2000, %esp\n  push %eax\n  hlt\n`);
  assert.equal(g.rd(V.vec), 12);
  assert.equal(g.rd(V.err), 0);
});

test("#TS(selector) when the TSS ring-0 stack selector is bad (and its own delivery then triple-faults)", () => {
  const g = runGuest(`main:\n  movl $0x18, tss+8\n${toUser("user")}\nuser:\n  int $0x80\n  hlt\n`);
  // every ring-3 -> ring-0 delivery needs the bad stack: int 0x80 -> #TS -> #TS (=> #DF) -> #TS
  assert.equal(g.stop.kind, "triple-fault");
  if (g.stop.kind === "triple-fault") assert.deepEqual(g.stop.vectors, [0x80, 10, 10, 10]);
  const errors: number[] = [];
  const h = runGuest(`main:\n  movl $0x18, tss+8\n${toUser("user")}\nuser:\n  int $0x80\n  hlt\n`, 1000, (cpu) => {
    cpu.hooks.onException = (info) => {
      if (info.vector === 10) errors.push(info.errorCode!);
      return "continue";
    };
  });
  assert.equal(h.stop.kind, "triple-fault");
  assert.equal(errors[0] & 0xfffc, 0x18, "#TS error code names the bad stack selector");
});

test("double fault: a #GP whose gate is not present becomes #DF(0)", () => {
  const g = runGuest(`main:\n  andb $0x7f, idt+13*8+5\n  mov $0x40, %ax\n  mov $0x10, %bx\n  .byte 0x0f, 0x0b\n  mov %ax, %ds\n  hlt\n`);
  // ud2 (benign) is delivered first; now make a contributory pair: #NP during #GP delivery
  assert.equal(g.rd(V.vec), 6);
  const h = runGuest(`main:\n  andb $0x7f, idt+13*8+5\n  andb $0x7f, idt+11*8+5\n  mov $0x10, %ax\n${toUser("user")}\nuser:\n  cli\n  hlt\n`);
  assert.equal(h.rd(V.vec), 8);
  assert.equal(h.rd(V.err), 0);
});

test("triple fault stops the run with the fault chain", () => {
  const g = runGuest(`main:\n  lidt bad_idt\n  xor %ecx, %ecx\n  div %ecx\n  hlt\nbad_idt:\n  .word 0\n  .long 0\n`);
  assert.equal(g.stop.kind, "triple-fault");
  if (g.stop.kind === "triple-fault") assert.deepEqual(g.stop.vectors, [0, 13, 13]);
  // stays shut down
  assert.equal(g.cpu.run(10).kind, "triple-fault");
});

test("in/out at CPL 3 obey the TSS I/O permission bitmap", () => {
  const writes: number[] = [];
  const g = runGuest(`main:\n  orb $0x02, iobitmap+(0x81>>3)\n${toUser("user")}\nuser:\n  mov $0x42, %al\n  out %al, $0x80\n  out %al, $0x81\n  hlt\n`, 100000, (cpu) => {
    cpu.io = { read: () => 0xff, write: (p) => void writes.push(p) };
  });
  assert.deepEqual(writes, [0x80]);
  assert.equal(g.rd(V.vec), 13);
});

test("smsw, sgdt, sidt, sldt, str at CPL 3 return the real values; mov from %cs shows RPL 3", () => {
  const g = runGuest(`main:\n${toUser("user")}
user:
  smsw %eax
  mov %eax, ${V.out}
  sgdt ${V.out + 4}
  sidt ${V.out + 12}
  str %eax
  mov %eax, ${V.out + 20}
  mov %cs, %eax
  mov %eax, ${V.out + 24}
  ud2
`);
  assert.equal(g.rd(V.out) & 1, 1);
  assert.equal(g.mem.read16(V.out + 4), 11 * 8 - 1);
  assert.equal(g.mem.read16(V.out + 12), 0x82 * 8 - 1);
  assert.equal(g.rd(V.out + 20) & 0xffff, SEL.tss);
  assert.equal(g.rd(V.out + 24) & 0xffff, SEL.code3);
});

test("lar/lsl/verr/verw check DPL against CPL and RPL", () => {
  const g = runGuest(`main:\n${toUser("user")}
user:
  mov $0x10, %ecx
  xor %eax, %eax
  lar %ecx, %eax
  setz ${V.out}
  mov $0x23, %ecx
  lar %ecx, %eax
  setz ${V.out + 1}
  mov %eax, ${V.out + 4}
  lsl %ecx, %ebx
  mov %ebx, ${V.out + 8}
  verw %cx
  setz ${V.out + 2}
  mov $0x1b, %ecx
  verw %cx
  setz ${V.out + 3}
  verr %cx
  setz ${V.out + 12}
  ud2
`);
  assert.equal(g.mem.read8(V.out), 0, "lar of a DPL 0 segment fails at CPL 3");
  assert.equal(g.mem.read8(V.out + 1), 1);
  assert.equal(g.rd(V.out + 4), 0x00cff300);
  assert.equal(g.rd(V.out + 8), 0xffffffff);
  assert.equal(g.mem.read8(V.out + 2), 1, "verw data3");
  assert.equal(g.mem.read8(V.out + 3), 0, "code is never writable");
  assert.equal(g.mem.read8(V.out + 12), 1, "code3 is readable");
});

test("privileged instructions at CPL 3 raise #GP(0): hlt, lgdt, mov to cr3, invlpg", () => {
  for (const ins of ["hlt", "lgdt 0x600", "mov %eax, %cr3", "invlpg 0x600", "mov %cr0, %eax", "wrmsr", "clts"]) {
    const g = runGuest(`main:\n${toUser("user")}\nuser:\n  ${ins}\n  ud2\n`);
    assert.equal(g.rd(V.vec), 13, ins);
    assert.equal(g.rd(V.err), 0, ins);
  }
});

test("cpuid reports the documented model and no FPU; fninit/fnstsw probe finds no FPU", () => {
  const g = runGuest(`main:
  xor %eax, %eax
  cpuid
  mov %ebx, ${V.out}
  mov %edx, ${V.out + 4}
  mov %ecx, ${V.out + 8}
  mov $1, %eax
  cpuid
  mov %edx, ${V.out + 12}
  movw $0x5a5a, ${V.out + 16}
  fninit
  fnstsw ${V.out + 16}
  hlt
`);
  const vendor = String.fromCharCode(...g.mem.readBytes(V.out, 12));
  assert.equal(vendor, "GenuineIntel");
  const f = g.rd(V.out + 12);
  assert.equal(f & 1, 0, "no FPU");
  for (const bit of [3, 4, 5, 8, 15]) assert.ok(f & (1 << bit), `feature bit ${bit}`);
  assert.equal(g.mem.read16(V.out + 16), 0x5a5a, "status word never stored");
  const h = runGuest(`main:\n  mov %cr0, %eax\n  or $4, %eax\n  mov %eax, %cr0\n  fninit\n  hlt\n`);
  assert.equal(h.rd(V.vec), 7, "#NM with CR0.EM");
});

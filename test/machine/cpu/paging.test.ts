// Paging, real mode, self-modifying code, bulk string ops: guests assembled at test time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assemble, makeMachine, runGuest, toUser, V } from "./guest.js";

// Identity-map the first 4 MiB with 4 KiB user/rw pages (PD 0x20000, PT 0x21000), PG + WP on.
const PAGING = `
  movl $0x21007, 0x20000
  mov $0, %ecx
9:
  mov %ecx, %eax
  shl $12, %eax
  or $7, %eax
  mov %eax, 0x21000(,%ecx,4)
  inc %ecx
  cmp $1024, %ecx
  jne 9b
`;
const PAGING_ON = `
  mov $0x20000, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80010000, %eax
  mov %eax, %cr0
`;
const pte = (page: number) => 0x21000 + page * 4;

test("#PF error codes and CR2: not present, write to read-only (WP), user to supervisor, user write to read-only", () => {
  const cases: [string, string, number, number][] = [
    ["", "mov 0x300010, %eax", 0, 0x300010],
    ["", "movl $1, 0x301008", 3, 0x301008],
    [toUser("user"), "mov 0x302004, %eax", 5, 0x302004],
    [toUser("user"), "movl $1, 0x301000", 7, 0x301000],
  ];
  for (const [enter, access, err, cr2] of cases) {
    const g = runGuest(`main:${PAGING}
  movl $0, ${pte(0x300)}
  movl $0x301005, ${pte(0x301)}
  movl $0x302003, ${pte(0x302)}
${PAGING_ON}
${enter}
user:
  ${access}
  hlt
`);
    assert.equal(g.rd(V.vec), 14, access);
    assert.equal(g.rd(V.err), err, access);
    assert.equal(g.rd(V.cr2), cr2, access);
  }
});

test("CR0.WP clear lets supervisor writes through read-only pages", () => {
  const g = runGuest(`main:${PAGING}
  movl $0x301005, ${pte(0x301)}
  mov $0x20000, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  movl $0x77, 0x301000
  mov 0x301000, %eax
  mov %eax, ${V.out}
  hlt
`);
  assert.equal(g.rd(V.count), 0);
  assert.equal(g.rd(V.out), 0x77);
});

test("accessed and dirty bits are set in the PDE and PTEs like a 486", () => {
  const g = runGuest(`main:${PAGING}
  andl $~0x60, ${pte(0x303)}
  andl $~0x60, ${pte(0x304)}
${PAGING_ON}
  mov 0x303000, %eax
  movl $5, 0x304000
  hlt
`);
  assert.equal(g.rd(pte(0x303)) & 0x60, 0x20);
  assert.equal(g.rd(pte(0x304)) & 0x60, 0x60);
  assert.equal(g.rd(0x20000) & 0x20, 0x20);
});

test("a stale TLB entry survives a PTE change until invlpg (and a CR3 reload)", () => {
  const g = runGuest(`main:${PAGING}
  movl $0xaaaa, 0x305000
  movl $0xbbbb, 0x306000
${PAGING_ON}
  mov 0x305000, %eax
  mov %eax, ${V.out}
  movl $0x306007, ${pte(0x305)}
  mov 0x305000, %eax
  mov %eax, ${V.out + 4}
  invlpg 0x305000
  mov 0x305000, %eax
  mov %eax, ${V.out + 8}
  movl $0x305007, ${pte(0x305)}
  mov %cr3, %eax
  mov %eax, %cr3
  mov 0x305000, %eax
  mov %eax, ${V.out + 12}
  hlt
`);
  assert.equal(g.rd(V.out), 0xaaaa);
  assert.equal(g.rd(V.out + 4), 0xaaaa, "stale");
  assert.equal(g.rd(V.out + 8), 0xbbbb, "after invlpg");
  assert.equal(g.rd(V.out + 12), 0xaaaa, "after CR3 reload");
});

test("global pages survive a CR3 reload with CR4.PGE; 4 MiB pages with CR4.PSE", () => {
  const g = runGuest(`main:${PAGING}
  movl $0x00400087, 0x20004      # 4 MiB page: 0x400000 -> 0x400000
  movl $0x00400087, 0x20008      # 0x800000 -> 0x400000 (alias)
  movl $0x1111, 0x400100
  orl $0x100, ${pte(0x307)}
  movl $0x3333, 0x307000
  movl $0x4444, 0x308000
  mov %cr4, %eax
  or $0x90, %eax
  mov %eax, %cr4
${PAGING_ON}
  mov 0x800100, %eax
  mov %eax, ${V.out}
  mov 0x307000, %eax
  movl $0x308107, ${pte(0x307)}
  mov %cr3, %eax
  mov %eax, %cr3
  mov 0x307000, %eax
  mov %eax, ${V.out + 4}
  hlt
`);
  assert.equal(g.rd(V.count), 0);
  assert.equal(g.rd(V.out), 0x1111);
  assert.equal(g.rd(V.out + 4), 0x3333, "global entry kept across the CR3 load");
});

test("rep stos and rep movs run in bulk with exact results; #PF mid-way leaves ECX/EDI at the fault", () => {
  const g = runGuest(`main:
  mov $0x200000, %edi
  mov $0x11223344, %eax
  mov $0x4000, %ecx
  cld
  rep stosl
  mov $0x200001, %esi
  mov $0x300003, %edi
  mov $0x9001, %ecx
  rep movsb
  hlt
`);
  assert.equal(g.rd(0x200000), 0x11223344);
  assert.equal(g.rd(0x20fffc), 0x11223344);
  assert.equal(g.rd(0x210000), 0);
  assert.equal(g.mem.read8(0x300003), 0x33);
  assert.equal(g.mem.read8(0x300003 + 0x9000), g.mem.read8(0x200001 + 0x9000));
  assert.equal(g.cpu.regs[1], 0);
  const h = runGuest(`main:${PAGING}
  movl $0, ${pte(0x300)}
${PAGING_ON}
  mov $0x2ff800, %edi
  mov $0x1000, %ecx
  mov $0x55, %al
  rep stosb
  hlt
`);
  assert.equal(h.rd(V.vec), 14);
  assert.equal(h.rd(V.cr2), 0x300000);
  assert.equal(h.cpu.regs[1], 0x800, "ECX counts the bytes not yet stored");
  assert.equal(h.cpu.regs[7], 0x300000);
  assert.equal(h.mem.read8(0x2fffff), 0x55);
});

test("overlapping rep movsb propagates bytes like the element-wise definition", () => {
  const g = runGuest(`main:
  movb $0x7a, 0x200000
  mov $0x200000, %esi
  mov $0x200001, %edi
  mov $100, %ecx
  rep movsb
  hlt
`);
  for (let k = 0; k <= 100; k++) assert.equal(g.mem.read8(0x200000 + k), 0x7a);
});

test("self-modifying code: a store into the running block takes effect on the next execution", () => {
  const g = runGuest(`main:
  xor %ebx, %ebx
  mov $5, %ecx
1:
patch:
  mov $1, %eax
  add %eax, %ebx
  incl patch+1
  loop 1b
  mov %ebx, ${V.out}
  hlt
`);
  assert.equal(g.rd(V.out), 1 + 2 + 3 + 4 + 5);
});

test("PhysicalMemory.writeBytes invalidates decoded code", () => {
  const code = assemble(`.code32\n  mov $1, %eax\n  hlt\n`, 0x10000);
  const { cpu, mem } = makeMachine(code);
  assert.equal(cpu.run(100).kind, "halt");
  assert.equal(cpu.regs[0], 1);
  mem.writeBytes(0x10001, Uint8Array.of(2));
  cpu.eip = 0x10000;
  cpu.halted = false;
  cpu.run(100);
  assert.equal(cpu.regs[0], 2);
});

test("real mode: IVT interrupt and iret, then switch to protected mode with a far jump", () => {
  const src = `
.code16
start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %ss
  mov $0x7000, %sp
  movw $handler, 0x40
  movw $0, 0x42
  int $0x10
  mov %bx, 0x600
  lgdt gdtp
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  ljmp $0x08, $pm
handler:
  mov $0x4242, %bx
  iret
.code32
pm:
  mov $0x10, %ax
  mov %ax, %ds
  movl $0xcafe, 0x604
  hlt
.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff
  .quad 0x00cf92000000ffff
gdtp:
  .word 23
  .long gdt
`;
  const { cpu, mem } = makeMachine(assemble(src, 0x7c00), 0x7c00, 1 << 20);
  cpu.reset();
  cpu.setSeg(1, 0, 0, 0xffff, 0x9b);
  cpu.eip = 0x7c00;
  assert.equal(cpu.codeSize, 16);
  const stop = cpu.run(1000);
  assert.equal(stop.kind, "halt");
  assert.equal(mem.read16(0x600), 0x4242);
  assert.equal(mem.read32(0x604), 0xcafe);
  assert.equal(cpu.codeSize, 32);
  assert.equal(cpu.segs[1].selector, 8);
});

test("IOPL-sensitive ins/outs at CPL 3 fault without touching memory or ports", () => {
  const reads: number[] = [];
  const g = runGuest(`main:\n  orb $0x01, iobitmap+(0x70>>3)\n${toUser("user")}\nuser:\n  mov $0x70, %dx\n  mov $0x600, %edi\n  movl $0x99, 0x600\n  insb\n  hlt\n`, 10000, (cpu) => {
    cpu.io = { read: (p) => (reads.push(p), 0), write: () => {} };
  });
  assert.equal(g.rd(V.vec), 13);
  assert.deepEqual(reads, []);
  assert.equal(g.rd(0x600), 0x99);
});

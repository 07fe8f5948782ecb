// Interrupt delivery under the wedge: a fast PIT hammering a loop of popf/pushf/cli/sti. popf must keep the
// arithmetic flags it pops even when an interrupt lands inside its rewrite; pushf after cli must show IF clear; a
// tick must never be taken while the virtual IF is clear; hlt must wake. Same outcome on every backend but trap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildTiny, runTiny, STACK } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "wedge-irq-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ITERATIONS = 10000;

const SRC = `
	.text
	.globl _start
_start:
${STACK}
	lgdt gdtr
	ljmp $0x08, $0f
0:	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $handler, %eax
	movw %ax, idt + 0x20 * 8
	movw %cs, %bx
	movw %bx, idt + 0x20 * 8 + 2
	movw $0x8e00, idt + 0x20 * 8 + 4
	shrl $16, %eax
	movw %ax, idt + 0x20 * 8 + 6
	lidt idtr
	movb $0x11, %al
	outb %al, $0x20
	movb $0x20, %al
	outb %al, $0x21
	movb $4, %al
	outb %al, $0x21
	movb $1, %al
	outb %al, $0x21
	movb $0xfe, %al
	outb %al, $0x21
	movb $0x34, %al
	outb %al, $0x43
	movb $23, %al
	outb %al, $0x40
	movb $0, %al
	outb %al, $0x40
	sti
	movl $${ITERATIONS}, %esi
	xorl %edi, %edi
1:	pushl $0x203
	popfl
	jc 2f
	incl %edi
2:	pushl $0x202
	popfl
	jnc 3f
	incl %edi
3:	cli
	movl ticks, %ecx
	pushfl
	popl %eax
	testl $0x200, %eax
	jz 4f
	incl %edi
4:	nop
	nop
	cmpl ticks, %ecx
	je 5f
	incl %edi
5:	sti
	decl %esi
	jnz 1b
	movl ticks, %ebx
	sti
	hlt
	cmpl ticks, %ebx
	jne 6f
	addl $1000, %edi
6:	cmpl $10, ticks
	jae 7f
	addl $100, %edi
7:	movl %edi, %eax
	outl %eax, $0xf4
	hlt

handler:
	incl ticks
	pushl %eax
	movb $0x20, %al
	outb %al, $0x20
	popl %eax
	iret

	.data
	.balign 8
gdt:	.quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr:	.word 3 * 8 - 1
	.long gdt
idtr:	.word 256 * 8 - 1
	.long idt
ticks:	.long 0
	.bss
	.balign 8
idt:	.space 256 * 8
`;

test("a fast timer against popf/pushf/cli/sti: flags, the virtual IF and hlt hold on raw, vtx, xen and l4", () => {
  const t = buildTiny(dir, "irq", SRC);
  for (const backend of ["raw", "vtx", "xen", "l4"] as const) {
    const { guest, reason, exit } = runTiny(t, backend);
    assert.equal(reason, "exit", backend);
    assert.equal(exit, 0, `${backend}: failures (popf lost CF / pushf showed IF / a tick inside cli / hlt did not wake / too few ticks) = ${exit}`);
    const rep = guest.report();
    if (backend === "xen" || backend === "l4") {
      // each loop iteration runs 2 popf, 1 pushf, 1 cli, 1 sti inline; interrupts arrive through the wedge
      assert.ok((rep.events.inline?.count ?? 0) >= 5 * ITERATIONS, `${backend}: ${rep.events.inline?.count}`);
      const irq = backend === "xen" ? rep.events["wedge-call"] : rep.events.ipc;
      assert.ok((irq?.count ?? 0) >= 10, `${backend}: interrupts delivered`);
    }
  }
});

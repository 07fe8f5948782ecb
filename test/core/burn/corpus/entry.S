/* modes: 32 — a kernel's entry stubs: macros, .rept/.irp loops, cpp defines, far jumps, memory-operation annotations. */
#include <afterburn.h>
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS 0x23

.macro SAVE_ALL
	cld
	pushl %gs
	pushl %fs
	pushl %es
	pushl %ds
	pushl %eax
	pushl %ebp
	movl $KERNEL_DS, %ebp
	movl %ebp, %ds
	movl %ebp, %es
.endm

.macro RESTORE_ALL
	popl %ebp
	popl %eax
	popl %ds
	popl %es
	popl %fs
	popl %gs
	iret
.endm

/* Sensitive or not depending on the argument: only the annotated expansions may get records. */
.macro LOAD_REG src, dst
	movl \src, \dst
.endm

.macro STUB n
	.globl stub_\n
stub_\n:
	pushl $0
	pushl $\n
	jmp common_stub
.endm

	.text
	.globl common_stub
common_stub:
	SAVE_ALL
	call handle_trap
	RESTORE_ALL

	.irp n, 0, 1, 2, 3
	STUB \n
	.endr

	.irp seg, ds, es, fs
	movw $USER_DS, %ax
	movw %ax, %\seg
	.endr

	.rept 3
	cli
	nop
	sti
	.endr

	.globl boot32
boot32:
	lgdt gdt_desc
	lidt idt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmp $KERNEL_CS, $1f
1:	movl $KERNEL_DS, %eax
	movw %ax, %ss
	LOAD_REG %eax, %ebx
	LOAD_REG %eax, %cr3
	LOAD_REG %ecx, %edx
	mov %fs:4(%eax), %ebx      # override only: not sensitive
	lock; incl counter
	rep; outsl
	inb $0x60, %al
	outb %al, $0x80
	in %dx, %ax
	out %eax, %dx
	pushfl
	popfl
	pushfw
	popfw
	lss stack_ptr, %esp
	AFTERBURN_MEMOP(pte_set)
	movl %edx, (%ecx)
	AFTERBURN_NOANNOTATE
	cli               # deliberately left alone: listed, not annotated
	AFTERBURN_ANNOTATE
	hlt
	lret $8
	int $0x21
	into

	.data
gdt_desc: .word 0, 0, 0
idt_desc: .word 0, 0, 0
stack_ptr: .long 0, 0
counter: .long 0

/*
 * 256 interrupt entry stubs, their addresses in trap_vectors[] (a table, so that no stub
 * size is assumed), and the common path that saves the registers as a struct trapframe,
 * calls trap_dispatch and returns with iret.
 * Vectors 8, 10-14 and 17 push an error code themselves; the others push a zero.
 */
	.section .rodata
	.balign 4
	.globl trap_vectors
trap_vectors:

	.text
	.set vec, 0
	.rept 256
	.balign 16
1:	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17)
	.else
	pushl $0
	.endif
	pushl $vec
	jmp trap_common
	.pushsection .rodata
	.long 1b
	.popsection
	.set vec, vec + 1
	.endr

	.globl trap_common
	.type trap_common, @function
trap_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	cld
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	/* Also the way into ring 3: a handler may rewrite the frame (cs, eip, esp, ss). */
	.globl trap_return
trap_return:
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp		/* vector and error code */
	iret
	.size trap_common, . - trap_common

	.section .note.GNU-stack, "", @progbits

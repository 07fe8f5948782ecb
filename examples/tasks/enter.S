/*
 * The way into ring 3 and back. run_user saves the kernel's callee-saved registers and
 * stack pointer, then builds an inter-privilege iret frame (ss, esp, eflags, cs, eip) and
 * irets to the user task. The task comes back only through a trap: its handler calls
 * resume_kernel, which drops the trap stack and returns from run_user with a status.
 */
	.text
/* uint32_t run_user(uint32_t eip, uint32_t user_esp) */
	.globl run_user
	.type run_user, @function
run_user:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, kernel_esp
	movl 20(%esp), %eax
	movl 24(%esp), %ecx
	movw $0x23, %dx		/* user data selector, RPL 3 */
	movw %dx, %ds
	movw %dx, %es
	movw %dx, %fs
	movw %dx, %gs
	pushl $0x23		/* ss */
	pushl %ecx		/* esp */
	pushl $0x202		/* eflags: IF=1, IOPL=0 (no port access at ring 3) */
	pushl $0x1B		/* cs: user code, RPL 3 */
	pushl %eax		/* eip */
	iret
	.size run_user, . - run_user

/* void resume_kernel(uint32_t status): noreturn; continues after run_user's call */
	.globl resume_kernel
	.type resume_kernel, @function
resume_kernel:
	movl 4(%esp), %eax
	movl kernel_esp, %esp
	movw $0x10, %dx
	movw %dx, %ds
	movw %dx, %es
	movw %dx, %fs
	movw %dx, %gs
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret
	.size resume_kernel, . - resume_kernel

	.bss
	.balign 4
kernel_esp:
	.skip 4

	.section .note.GNU-stack, "", @progbits

/*
 * hello: the smallest guest, in one file. Multiboot header, a stack, COM1 output, cpuid,
 * and the debug-exit port. Its sensitive instructions are the port I/O (in/out), cpuid and
 * the final hlt, so it is the first thing to afterburn and run on every backend.
 * The cpuid vendor string differs between machines (QEMU, the bundled emulator, real
 * CPUs), so only facts that hold everywhere are printed.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003
#define COM1 0x3F8
#define EXIT_PORT 0xF4

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	movl $stack_top, %esp
	movl %eax, %ebp			/* multiboot magic, checked below */

	movl $msg_hello, %esi
	call puts

	movl $msg_magic, %esi
	call puts
	movl $msg_ok, %esi
	cmpl $0x2BADB002, %ebp
	je 1f
	movl $msg_bad, %esi
1:	call puts

	/* cpuid leaf 0: EAX = highest basic leaf; every CPU we target has leaf 1. */
	movl $msg_cpuid, %esi
	call puts
	xorl %eax, %eax
	cpuid
	movl $msg_yes, %esi
	cmpl $1, %eax
	jae 2f
	movl $msg_no, %esi
2:	call puts

	/* The vendor string itself differs per machine; that there is one does not. */
	movl $msg_vendor, %esi
	call puts
	movl $msg_yes, %esi
	testl %ebx, %ebx		/* EBX holds the first 4 vendor characters: never zero */
	jnz 3f
	movl $msg_no, %esi
3:	call puts

	xorl %eax, %eax
	movw $EXIT_PORT, %dx
	outl %eax, %dx
4:	cli
	hlt
	jmp 4b
	.size _start, . - _start

/* puts: print the NUL-terminated string at %esi on COM1 (clobbers eax, edx, esi). */
	.type puts, @function
puts:
	lodsb
	testb %al, %al
	jz 2f
	movb %al, %ah
	movw $COM1+5, %dx
1:	inb %dx, %al			/* LSR bit 5: transmit holding register empty */
	testb $0x20, %al
	jz 1b
	movb %ah, %al
	movw $COM1, %dx
	outb %al, %dx
	jmp puts
2:	ret
	.size puts, . - puts

	.section .rodata
msg_hello:	.asciz "Hello from an afterburned kernel\n"
msg_magic:	.asciz "multiboot magic: "
msg_cpuid:	.asciz "cpuid max basic leaf >= 1: "
msg_vendor:	.asciz "cpuid vendor string present: "
msg_ok:		.asciz "ok\n"
msg_bad:	.asciz "bad\n"
msg_yes:	.asciz "yes\n"
msg_no:		.asciz "no\n"

	.bss
	.balign 16
	.skip 4096
stack_top:

	.section .note.GNU-stack, "", @progbits

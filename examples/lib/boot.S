/*
 * Entry and console of the C example guests: multiboot v1 header, flat GDT, stack, COM1,
 * and the debug-exit port. kmain(magic, mbinfo)'s return value becomes the exit code.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-align modules, want memory info; ELF, so no a.out kludge */
#define COM1 0x3F8
#define EXIT_PORT 0xF4
#define STACK_SIZE 16384

	.section .multiboot, "a"
	.balign 4
multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.globl _start
	.type _start, @function
_start:
	/* The loader's GDT may be gone (multiboot says so): load ours before any segment load. */
	movl $boot_stack_top, %esp
	movl %eax, %esi
	movl %ebx, %edi
	lgdt boot_gdtr
	ljmp $0x08, $1f
1:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	/* Known flags: IF=0, DF=0, IOPL=0. */
	pushl $0x2
	popfl
	call serial_init
	pushl %edi
	pushl %esi
	call kmain
	addl $8, %esp
	pushl %eax
	call guest_exit
	.size _start, . - _start

	.text
/* 115200 8N1, FIFOs on, no UART interrupts. */
	.globl serial_init
	.type serial_init, @function
serial_init:
	movw $COM1+1, %dx
	movb $0x00, %al
	outb %al, %dx		/* IER: no interrupts */
	movw $COM1+3, %dx
	movb $0x80, %al
	outb %al, %dx		/* LCR: DLAB on */
	movw $COM1+0, %dx
	movb $0x01, %al
	outb %al, %dx		/* divisor 1 = 115200 baud */
	movw $COM1+1, %dx
	movb $0x00, %al
	outb %al, %dx
	movw $COM1+3, %dx
	movb $0x03, %al
	outb %al, %dx		/* LCR: 8N1, DLAB off */
	movw $COM1+2, %dx
	movb $0xC7, %al
	outb %al, %dx		/* FCR: enable and clear FIFOs */
	movw $COM1+4, %dx
	movb $0x03, %al
	outb %al, %dx		/* MCR: DTR, RTS */
	ret
	.size serial_init, . - serial_init

/* void serial_putc(int c): wait for THR empty (LSR bit 5), then send. */
	.globl serial_putc
	.type serial_putc, @function
serial_putc:
	movw $COM1+5, %dx
1:	inb %dx, %al
	testb $0x20, %al
	jz 1b
	movl 4(%esp), %eax
	movw $COM1, %dx
	outb %al, %dx
	ret
	.size serial_putc, . - serial_putc

/* void guest_exit(uint32_t code): a 32-bit write to the debug-exit port ends the run. */
	.globl guest_exit
	.type guest_exit, @function
guest_exit:
	movl 4(%esp), %eax
	movw $EXIT_PORT, %dx
	outl %eax, %dx
	/* No exit device: stop here for good. */
2:	cli
	hlt
	jmp 2b
	.size guest_exit, . - guest_exit

	.section .rodata
	.balign 4
	.word 0
boot_gdtr:
	.word 8 * 8 - 1		/* GDT_ENTRIES descriptors, defined in lib.c */
	.long gdt

	.bss
	.balign 16
boot_stack:
	.skip STACK_SIZE
	.globl boot_stack_top
boot_stack_top:

	.section .note.GNU-stack, "", @progbits

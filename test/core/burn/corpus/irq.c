/* modes: 32 64 — interrupt flags, port I/O, PIC programming, idle loop. */
#include "kernel-helpers.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CMD 0x43

static volatile unsigned long ticks;
char log_buf[64];

void pic_remap(u8 off1, u8 off2)
{
	u8 m1 = inb(PIC1 + 1), m2 = inb(PIC2 + 1);
	outb(0x11, PIC1);
	outb(0x11, PIC2);
	outb(off1, PIC1 + 1);
	outb(off2, PIC2 + 1);
	outb(4, PIC1 + 1);
	outb(2, PIC2 + 1);
	outb(m1, PIC1 + 1);
	outb(m2, PIC2 + 1);
}

void pit_init(unsigned hz)
{
	unsigned div = 1193182 / hz;
	outb(0x36, PIT_CMD);
	outb(div & 0xff, 0x40);
	outb(div >> 8, 0x40);
}

void timer_interrupt(void)
{
	ticks++;
	outb(0x20, PIC1);
}

unsigned long read_ticks(void)
{
	unsigned long flags, t;
	local_irq_save(flags);
	t = ticks;
	local_irq_restore(flags);
	return t;
}

void idle(void)
{
	for (;;) {
		local_irq_disable();
		if (ticks > 100) {
			local_irq_enable();
			return;
		}
		__asm__ __volatile__("sti; hlt" ::: "memory");
	}
}

void serial_dump(unsigned short port, unsigned long n)
{
	outsb(port, log_buf, n);
	outw(0x1234, port + 2);
	outl(0xdeadbeef, port + 4);
	(void)inw(port + 2);
	(void)inl(port + 4);
	insw(port, log_buf, n / 2);
}

/* A hand-rolled dx-port loop, with the port in a register. */
void pulse(unsigned short port, int n)
{
	while (n-- > 0)
		__asm__ __volatile__("outb %%al, %%dx\n\tinb %%dx, %%al" : : "d"(port), "a"(n) : "memory");
}

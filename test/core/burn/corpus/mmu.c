/* modes: 32 64 — control registers, TLB maintenance, descriptor tables, MSRs. */
#include "kernel-helpers.h"

struct desc_ptr gdt_ptr, idt_ptr, saved;

void switch_address_space(unsigned long pgdir)
{
	if (read_cr3() != pgdir)
		write_cr3(pgdir);
}

void flush_one(const void *va)
{
	invlpg(va);
}

void enable_paging(unsigned long pgdir)
{
	write_cr3(pgdir);
	write_cr4(read_cr4() | 0x10);
	write_cr0(read_cr0() | 0x80000000u);
}

unsigned long fault_address(void) { return read_cr2(); }

void descriptor_tables(void)
{
	load_gdt(&gdt_ptr);
	load_idt(&idt_ptr);
	store_gdt(&saved);
	store_idt(&saved);
	load_ldt(0);
	load_tr(0x28);
}

unsigned probe(void)
{
	unsigned a, b, c, d;
	cpuid(0, &a, &b, &c, &d);
	return a + (unsigned)rdtsc() + store_tr() + store_ldt() + store_msw();
}

void fpu_switch(void)
{
	clts();
	load_msw(1);
	wbinvd();
}

unsigned long long msr_roundtrip(unsigned msr)
{
	unsigned long long v = rdmsr(msr);
	wrmsr(msr, v | 1);
	return v;
}

void debug_regs(unsigned long v)
{
	set_debugreg(v);
	if (get_debugreg6() & 1)
		set_debugreg(0);
}

unsigned segments(unsigned sel)
{
	unsigned ds = read_ds();
	load_ds(0x18);
	load_fs(0x20);
	/* A segment override is not sensitive by itself. */
	ds += read_fs_word(16);
	return ds + read_cs() + segment_limit(sel) + segment_rights(sel) + verify_read(sel);
}

void stop(void)
{
	local_irq_disable();
	for (;;)
		halt();
}

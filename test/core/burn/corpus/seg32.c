/* modes: 32 — forms that exist only in 32-bit code: pushl/popl of segment registers, lds/les, far transfers, arpl, iret inside asm. */
#include "kernel-helpers.h"

struct farptr {
	u32 off;
	u16 sel;
} __attribute__((packed));

struct farptr gate = { 0x1000, 0x08 };

void reload_segments(void)
{
	__asm__ __volatile__(
		"ljmp $0x08, $1f\n"
		"1:\n\t"
		"movl $0x10, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"pushl %%ds\n\t"
		"popl %%fs\n\t"
		"push %%es\n\t"
		"pop %%gs"
		: : : "eax", "memory");
}

u32 load_far(struct farptr *p)
{
	u32 v;
	__asm__ __volatile__("push %%ds\n\tlds %1, %0\n\tpop %%ds" : "=r"(v) : "m"(*p));
	__asm__ __volatile__("push %%es\n\tles %1, %0\n\tpop %%es" : "=r"(v) : "m"(*p));
	__asm__ __volatile__("lfs %1, %0" : "=r"(v) : "m"(*p));
	__asm__ __volatile__("lgs %1, %0" : "=r"(v) : "m"(*p));
	return v;
}

void far_calls(struct farptr *p)
{
	__asm__ __volatile__("lcall *%0" : : "m"(*p));
	__asm__ __volatile__("ljmp *%0" : : "m"(*p));
}

u16 adjust_rpl(u16 a, u16 b)
{
	__asm__ __volatile__("arpl %1, %0" : "+rm"(a) : "r"(b));
	return a;
}

void syscall_via_int(void)
{
	__asm__ __volatile__("int $0x80" : : "a"(1) : "memory");
	__asm__ __volatile__("int3");
}

__asm__(".text\n"
	".globl return_to_user\n"
	"return_to_user:\n\t"
	"iret\n"
	".globl far_return\n"
	"far_return:\n\t"
	"lret $4\n\t"
	"lret\n\t"
	"sysenter\n\t"
	"sysexit\n\t"
	"rdpmc\n\t"
	"rsm\n\t"
	"invd\n\t"
	"ud2\n");

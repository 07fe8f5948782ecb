/* Inline-asm helpers in the style of a small kernel's <asm/system.h>. */
#ifndef KERNEL_HELPERS_H
#define KERNEL_HELPERS_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long ulong;
typedef unsigned long long u64;

static inline void local_irq_disable(void) { __asm__ __volatile__("cli" ::: "memory"); }
static inline void local_irq_enable(void) { __asm__ __volatile__("sti" ::: "memory"); }
static inline void halt(void) { __asm__ __volatile__("hlt"); }

static inline ulong save_flags(void)
{
	ulong flags;
	__asm__ __volatile__("pushf\n\t"
			     "pop %0"
			     : "=rm"(flags) : : "memory");
	return flags;
}

static inline void restore_flags(ulong flags)
{
	__asm__ __volatile__("push %0 ; popf" : : "g"(flags) : "memory", "cc");
}

#define local_irq_save(x) do { (x) = save_flags(); local_irq_disable(); } while (0)
#define local_irq_restore(x) restore_flags(x)

static inline void outb(u8 v, u16 port) { __asm__ __volatile__("outb %b0, %w1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 v, u16 port) { __asm__ __volatile__("outw %w0, %w1" : : "a"(v), "Nd"(port)); }
static inline void outl(u32 v, u16 port) { __asm__ __volatile__("outl %0, %w1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ __volatile__("inb %w1, %b0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ __volatile__("inw %w1, %w0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ __volatile__("inl %w1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outsb(u16 port, const void *buf, ulong n)
{
	__asm__ __volatile__("rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void insw(u16 port, void *buf, ulong n)
{
	__asm__ __volatile__("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static inline ulong read_cr0(void) { ulong v; __asm__ __volatile__("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr0(ulong v) { __asm__ __volatile__("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline ulong read_cr2(void) { ulong v; __asm__ __volatile__("mov %%cr2, %0" : "=r"(v)); return v; }
static inline ulong read_cr3(void) { ulong v; __asm__ __volatile__("mov %%cr3,%0" : "=r"(v)); return v; }
static inline void write_cr3(ulong v) { __asm__ __volatile__("mov %0,%%cr3" : : "r"(v) : "memory"); }
static inline ulong read_cr4(void) { ulong v; __asm__ __volatile__("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr4(ulong v) { __asm__ __volatile__("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void set_debugreg(ulong v) { __asm__ __volatile__("mov %0, %%db7" : : "r"(v)); }
static inline ulong get_debugreg6(void) { ulong v; __asm__ __volatile__("mov %%db6, %0" : "=r"(v)); return v; }
static inline void invlpg(const void *addr) { __asm__ __volatile__("invlpg (%0)" : : "r"(addr) : "memory"); }
static inline void clts(void) { __asm__ __volatile__("clts"); }
static inline void wbinvd(void) { __asm__ __volatile__("wbinvd" ::: "memory"); }

struct desc_ptr {
	u16 size;
	ulong address;
} __attribute__((packed));

static inline void load_gdt(const struct desc_ptr *d) { __asm__ __volatile__("lgdt %0" : : "m"(*d)); }
static inline void load_idt(const struct desc_ptr *d) { __asm__ __volatile__("lidt %0" : : "m"(*d)); }
static inline void store_gdt(struct desc_ptr *d) { __asm__ __volatile__("sgdt %0" : "=m"(*d)); }
static inline void store_idt(struct desc_ptr *d) { __asm__ __volatile__("sidt %0" : "=m"(*d)); }
static inline void load_tr(u16 sel) { __asm__ __volatile__("ltr %0" : : "r"(sel)); }
static inline u16 store_tr(void) { u16 sel; __asm__ __volatile__("str %0" : "=r"(sel)); return sel; }
static inline void load_ldt(u16 sel) { __asm__ __volatile__("lldt %0" : : "r"(sel)); }
static inline u16 store_ldt(void) { u16 sel; __asm__ __volatile__("sldt %0" : "=r"(sel)); return sel; }
static inline u16 store_msw(void) { u16 v; __asm__ __volatile__("smsw %0" : "=r"(v)); return v; }
static inline void load_msw(u16 v) { __asm__ __volatile__("lmsw %0" : : "r"(v)); }

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v) { __asm__ __volatile__("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))); }
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "0"(leaf), "2"(0));
}
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

static inline u16 read_ds(void) { u16 v; __asm__ __volatile__("mov %%ds, %0" : "=r"(v)); return v; }
static inline void load_ds(u16 v) { __asm__ __volatile__("mov %0, %%ds" : : "r"(v)); }
static inline void load_fs(u16 v) { __asm__ __volatile__("movw %0, %%fs" : : "rm"(v)); }
static inline u16 read_cs(void) { u16 v; __asm__ __volatile__("mov %%cs, %0" : "=r"(v)); return v; }
static inline u32 read_fs_word(u32 off) { u32 v; __asm__ __volatile__("movl %%fs:(%1), %0" : "=r"(v) : "r"(off)); return v; }
static inline u32 segment_limit(u32 sel) { u32 lim; __asm__ __volatile__("lsl %1, %0" : "=r"(lim) : "rm"(sel)); return lim; }
static inline u32 segment_rights(u32 sel) { u32 r; __asm__ __volatile__("lar %1, %0" : "=r"(r) : "rm"(sel)); return r; }
static inline int verify_read(u16 sel) { unsigned char ok; __asm__ __volatile__("verr %1; setz %0" : "=qm"(ok) : "rm"(sel)); return ok; }

#endif

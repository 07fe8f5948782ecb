/*
 * IA-32 helpers for the example guests: one `static inline` function per instruction, so that
 * every sensitive instruction a guest executes appears as an inline-asm site the afterburner
 * can find (and the editor can point at) in the C source.
 */
#ifndef EXAMPLES_X86_H
#define EXAMPLES_X86_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed int int32_t;
typedef unsigned int size_t;
typedef unsigned int uintptr_t;

#define EFLAGS_IF 0x00000200u
#define EFLAGS_RESERVED1 0x00000002u

#define CR0_PE 0x00000001u
#define CR0_WP 0x00010000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x00000010u

/* Selectors of the GDT built by lib.c (see gdt_init). */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SEL_TSS 0x28
#define SEL_LDT 0x30

/* Pseudo-descriptor for lgdt/lidt/sgdt/sidt. */
struct __attribute__((packed)) dtr {
  uint16_t limit;
  uint32_t base;
};

/* ---- interrupt flag ---- */
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* sti's one-instruction interrupt shadow makes "sti; hlt" atomic: no wake-up is lost. */
static inline void sti_hlt(void) { __asm__ volatile("sti\n\thlt" ::: "memory"); }

static inline uint32_t read_eflags(void) {
  uint32_t f;
  __asm__ volatile("pushfl\n\tpopl %0" : "=r"(f) :: "memory");
  return f;
}
static inline void write_eflags(uint32_t f) {
  __asm__ volatile("pushl %0\n\tpopfl" :: "r"(f) : "memory", "cc");
}
/* Save the flags and disable interrupts; irq_restore puts IF back as it was (popf). */
static inline uint32_t irq_save(void) {
  uint32_t f;
  __asm__ volatile("pushfl\n\tpopl %0\n\tcli" : "=r"(f) :: "memory");
  return f;
}
static inline void irq_restore(uint32_t f) { write_eflags(f); }

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

/* ---- control registers and the TLB ---- */
static inline uint32_t read_cr0(void) {
  uint32_t v;
  __asm__ volatile("movl %%cr0, %0" : "=r"(v));
  return v;
}
static inline void write_cr0(uint32_t v) { __asm__ volatile("movl %0, %%cr0" :: "r"(v) : "memory"); }
static inline uint32_t read_cr2(void) {
  uint32_t v;
  __asm__ volatile("movl %%cr2, %0" : "=r"(v));
  return v;
}
static inline uint32_t read_cr3(void) {
  uint32_t v;
  __asm__ volatile("movl %%cr3, %0" : "=r"(v));
  return v;
}
static inline void write_cr3(uint32_t v) { __asm__ volatile("movl %0, %%cr3" :: "r"(v) : "memory"); }
static inline uint32_t read_cr4(void) {
  uint32_t v;
  __asm__ volatile("movl %%cr4, %0" : "=r"(v));
  return v;
}
static inline void write_cr4(uint32_t v) { __asm__ volatile("movl %0, %%cr4" :: "r"(v) : "memory"); }
static inline void invlpg(const volatile void *va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline uint16_t smsw(void) {
  uint16_t v;
  __asm__ volatile("smsw %0" : "=r"(v));
  return v;
}

/* ---- descriptor tables ---- */
static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt %0" :: "m"(*d)); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt %0" :: "m"(*d)); }
static inline void sgdt(struct dtr *d) { __asm__ volatile("sgdt %0" : "=m"(*d)); }
static inline void sidt(struct dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" :: "r"(sel)); }
static inline void lldt(uint16_t sel) { __asm__ volatile("lldt %0" :: "r"(sel)); }
static inline uint16_t str(void) {
  uint16_t v;
  __asm__ volatile("str %0" : "=r"(v));
  return v;
}
static inline uint16_t sldt(void) {
  uint16_t v;
  __asm__ volatile("sldt %0" : "=r"(v));
  return v;
}
static inline uint16_t read_cs(void) {
  uint32_t v;
  __asm__ volatile("movl %%cs, %0" : "=r"(v));
  return (uint16_t)v;
}
static inline uint16_t read_ss(void) {
  uint32_t v;
  __asm__ volatile("movl %%ss, %0" : "=r"(v));
  return (uint16_t)v;
}
/* lar: access-rights bytes of a selector's descriptor (ZF=1 when the selector is accessible). */
static inline int lar(uint32_t sel, uint32_t *rights) {
  uint32_t r = 0;
  uint8_t ok;
  __asm__ volatile("larl %2, %0\n\tsetz %1" : "+r"(r), "=q"(ok) : "r"(sel) : "cc");
  *rights = r;
  return ok;
}
/* lsl: byte-granular segment limit of a selector's descriptor. */
static inline int lsl(uint32_t sel, uint32_t *limit) {
  uint32_t l = 0;
  uint8_t ok;
  __asm__ volatile("lsll %2, %0\n\tsetz %1" : "+r"(l), "=q"(ok) : "r"(sel) : "cc");
  *limit = l;
  return ok;
}

/* ---- identification and model-specific registers ---- */
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
static inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* ---- memory-mapped I/O (device registers must be read and written exactly once) ---- */
static inline uint32_t mmio_read32(uintptr_t addr) { return *(volatile uint32_t *)addr; }
static inline void mmio_write32(uintptr_t addr, uint32_t v) { *(volatile uint32_t *)addr = v; }
/* A read of a fixed low address (BIOS data area): hidden from gcc, which takes addresses
   below 4 KiB for null-pointer arithmetic and warns. */
static inline uint16_t phys_read16(uintptr_t addr) {
  __asm__("" : "+r"(addr));
  return *(volatile uint16_t *)addr;
}

#endif

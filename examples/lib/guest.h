/*
 * The example guests' runtime (boot.S, vectors.S, lib.c): console, exit, descriptor tables,
 * trap dispatch. The machine it targets is docs/guest-abi.md.
 */
#ifndef EXAMPLES_GUEST_H
#define EXAMPLES_GUEST_H

#include "x86.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* Exit codes used by the runtime itself when something goes wrong. */
#define EXIT_UNEXPECTED_TRAP 0x70
#define EXIT_RETURNED 0x71

/* boot.S */
void serial_putc(int c);
void guest_exit(uint32_t code) __attribute__((noreturn));
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];

/* lib.c: console */
void puts_raw(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Each guest defines kmain; its return value is the exit code. */
uint32_t kmain(uint32_t magic, uint32_t mbinfo);

/* lib.c: segments. gdt has GDT_ENTRIES slots: null, kernel code/data, user code/data, TSS, LDT. */
#define GDT_ENTRIES 8
struct __attribute__((packed)) seg_desc {
  uint16_t limit_lo;
  uint16_t base_lo;
  uint8_t base_mid;
  uint8_t access;
  uint8_t flags_limit_hi;
  uint8_t base_hi;
};
extern struct seg_desc gdt[GDT_ENTRIES];
void gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void gdt_load(void);

struct __attribute__((packed)) tss32 {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
  uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap_base;
};
extern struct tss32 tss;
/* Fills the TSS descriptor and loads TR (ltr). */
void tss_install(uint32_t esp0);

/* lib.c: interrupts. The frame trap_common (vectors.S) builds on the stack. */
struct trapframe {
  uint32_t gs, fs, es, ds;
  uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
  uint32_t vector, error;
  uint32_t eip, cs, eflags;
  uint32_t user_esp, user_ss; /* only when the trap came from ring 3 */
};
typedef void (*trap_handler)(struct trapframe *tf);
/* vectors.S: the addresses of the 256 entry stubs. */
extern const uint32_t trap_vectors[256];
#define GATE_INTERRUPT 0x8E
#define GATE_TRAP 0x8F
void idt_set(int vector, uint8_t type_attr);
void idt_load(void);
void trap_set_handler(int vector, trap_handler h);

/* 8259A PIC */
void pic_remap(uint8_t master_base, uint8_t slave_base);
void pic_set_mask(uint16_t mask);
void pic_eoi(int irq);
/* 8254 PIT channel 0, periodic (mode 2) */
void pit_set_periodic(uint32_t hz);

#endif

/*
 * The example guests' runtime in C: a tiny printf on COM1, the GDT/TSS/IDT, trap dispatch,
 * and the 8259A PIC and 8254 PIT drivers. Interrupt-gate setup and device programming live
 * here once so that each guest shows only what it is about.
 */
#include <stdarg.h>
#include "guest.h"

void *memset(void *d, int c, size_t n) {
  uint8_t *p = d;
  while (n--) *p++ = (uint8_t)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  uint8_t *p = d;
  const uint8_t *q = s;
  while (n--) *p++ = *q++;
  return d;
}

void puts_raw(const char *s) {
  while (*s) serial_putc(*s++);
}

static void put_number(uint32_t v, unsigned base, int width, char pad, int negative) {
  char buf[12];
  int n = 0;
  do {
    unsigned d = v % base;
    buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  if (negative) buf[n++] = '-';
  while (n < width--) serial_putc(pad);
  while (n) serial_putc(buf[--n]);
}

/* %s %c %d %u %x %%, with an optional zero flag and width (e.g. %08x). */
void kprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      serial_putc(*fmt);
      continue;
    }
    char pad = ' ';
    int width = 0;
    if (*++fmt == '0') {
      pad = '0';
      fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    switch (*fmt) {
      case 's': {
        const char *s = va_arg(ap, const char *);
        puts_raw(s ? s : "(null)");
        break;
      }
      case 'c': serial_putc(va_arg(ap, int)); break;
      case 'd': {
        int32_t v = va_arg(ap, int32_t);
        put_number(v < 0 ? (uint32_t)-v : (uint32_t)v, 10, width, pad, v < 0);
        break;
      }
      case 'u': put_number(va_arg(ap, uint32_t), 10, width, pad, 0); break;
      case 'x': put_number(va_arg(ap, uint32_t), 16, width, pad, 0); break;
      case '%': serial_putc('%'); break;
      case '\0': fmt--; break;
      default: serial_putc('%'); serial_putc(*fmt); break;
    }
  }
  va_end(ap);
}

/* ---- GDT: boot.S loads it as-is, so the flat entries are initialised statically. ---- */
#define SEG(base, limit, access, flags)                                                          \
  { (uint16_t)((limit) & 0xFFFF), (uint16_t)((base) & 0xFFFF), (uint8_t)(((base) >> 16) & 0xFF), \
    (access), (uint8_t)((((limit) >> 16) & 0x0F) | ((flags) << 4)), (uint8_t)((base) >> 24) }

__attribute__((aligned(8))) struct seg_desc gdt[GDT_ENTRIES] = {
  [0] = {0, 0, 0, 0, 0, 0},
  [1] = SEG(0, 0xFFFFF, 0x9A, 0xC), /* 0x08 kernel code: present, ring 0, exec/read, 4 KiB granular, 32-bit */
  [2] = SEG(0, 0xFFFFF, 0x92, 0xC), /* 0x10 kernel data */
  [3] = SEG(0, 0xFFFFF, 0xFA, 0xC), /* 0x18|3 user code: ring 3 */
  [4] = SEG(0, 0xFFFFF, 0xF2, 0xC), /* 0x20|3 user data */
  /* [5] TSS and [6] LDT are filled at run time. */
};

void gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
  struct seg_desc d = SEG(base, limit, access, flags);
  gdt[index] = d;
}

void gdt_load(void) {
  struct dtr d = {sizeof gdt - 1, (uint32_t)gdt};
  lgdt(&d);
}

struct tss32 tss;

void tss_install(uint32_t esp0) {
  memset(&tss, 0, sizeof tss);
  tss.ss0 = SEL_KDATA;
  tss.esp0 = esp0;
  tss.iomap_base = sizeof tss; /* no I/O permission bitmap: ring 3 gets no ports */
  /* 0x89: present, ring 0, available 32-bit TSS; byte granular. */
  gdt_set(SEL_TSS >> 3, (uint32_t)&tss, sizeof tss - 1, 0x89, 0x0);
  ltr(SEL_TSS);
}

/* ---- IDT and trap dispatch ---- */
struct __attribute__((packed)) gate {
  uint16_t offset_lo;
  uint16_t selector;
  uint8_t zero;
  uint8_t type_attr;
  uint16_t offset_hi;
};

static __attribute__((aligned(8))) struct gate idt[256];
static trap_handler handlers[256];

void idt_set(int vector, uint8_t type_attr) {
  uint32_t entry = trap_vectors[vector];
  idt[vector].offset_lo = (uint16_t)entry;
  idt[vector].selector = SEL_KCODE;
  idt[vector].zero = 0;
  idt[vector].type_attr = type_attr;
  idt[vector].offset_hi = (uint16_t)(entry >> 16);
}

/* All 256 vectors as ring-0 interrupt gates; a guest changes single gates with idt_set. */
void idt_load(void) {
  for (int v = 0; v < 256; v++) idt_set(v, GATE_INTERRUPT);
  struct dtr d = {sizeof idt - 1, (uint32_t)idt};
  lidt(&d);
}

void trap_set_handler(int vector, trap_handler h) { handlers[vector] = h; }

void trap_dispatch(struct trapframe *tf);
void trap_dispatch(struct trapframe *tf) {
  trap_handler h = handlers[tf->vector & 0xFF];
  if (h) {
    h(tf);
    return;
  }
  kprintf("unexpected trap %u (error 0x%x) at %04x:%08x\n", tf->vector, tf->error, tf->cs, tf->eip);
  guest_exit(EXIT_UNEXPECTED_TRAP);
}

/* ---- 8259A PIC ---- */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

void pic_remap(uint8_t master_base, uint8_t slave_base) {
  outb(PIC1_CMD, 0x11); /* ICW1: edge, cascade, ICW4 follows */
  outb(PIC2_CMD, 0x11);
  outb(PIC1_DATA, master_base); /* ICW2: vector base */
  outb(PIC2_DATA, slave_base);
  outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ2 */
  outb(PIC2_DATA, 0x02); /* ICW3: slave identity 2 */
  outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode, normal EOI */
  outb(PIC2_DATA, 0x01);
  pic_set_mask(0xFFFF);
}

/* Bit n masks IRQ n (bits 8-15: the slave). */
void pic_set_mask(uint16_t mask) {
  outb(PIC1_DATA, (uint8_t)mask);
  outb(PIC2_DATA, (uint8_t)(mask >> 8));
}

void pic_eoi(int irq) {
  if (irq >= 8) outb(PIC2_CMD, 0x20);
  outb(PIC1_CMD, 0x20);
}

/* ---- 8254 PIT ---- */
#define PIT_HZ 1193182u

void pit_set_periodic(uint32_t hz) {
  uint32_t divisor = (PIT_HZ + hz / 2) / hz;
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
  outb(0x40, (uint8_t)divisor);
  outb(0x40, (uint8_t)(divisor >> 8));
}

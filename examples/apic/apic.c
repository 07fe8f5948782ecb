/*
 * apic: find the MP floating pointer (EBDA, top of base memory, BIOS ROM area) and the MP
 * configuration table, print the CPU count and the local and I/O APIC addresses, and look up
 * where ISA IRQ0 (the PIT) enters the I/O APIC. Then: mask the 8259A, enable the local APIC,
 * run its timer periodic for TICKS interrupts, and route the PIT through the I/O APIC for
 * TICKS more. Each handler stops its own source at the last tick, so the counts are exact
 * whatever the timer frequencies of the machine. Table addresses differ between BIOSes and
 * are not printed.
 */
#include "guest.h"

#define TICKS 5
#define LAPIC_TIMER_VECTOR 0x40
#define IOAPIC_PIT_VECTOR 0x41
#define SPURIOUS_VECTOR 0xFF

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3E0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)

#define IA32_APIC_BASE 0x1B

struct __attribute__((packed)) mp_float {
  char signature[4]; /* "_MP_" */
  uint32_t config;
  uint8_t length; /* in 16-byte units */
  uint8_t revision;
  uint8_t checksum;
  uint8_t features[5]; /* [0]: default configuration number; [1] bit 7: IMCR (PIC mode) */
};

struct __attribute__((packed)) mp_config {
  char signature[4]; /* "PCMP" */
  uint16_t length;
  uint8_t revision;
  uint8_t checksum;
  char oem[8];
  char product[12];
  uint32_t oem_table;
  uint16_t oem_table_size;
  uint16_t entries;
  uint32_t lapic;
  uint16_t ext_length;
  uint8_t ext_checksum;
  uint8_t reserved;
};

static uint32_t lapic_base = 0xFEE00000u;
static uint32_t ioapic_base = 0xFEC00000u;

static uint8_t sum(const uint8_t *p, uint32_t n) {
  uint8_t s = 0;
  while (n--) s = (uint8_t)(s + *p++);
  return s;
}

static const struct mp_float *scan(uint32_t start, uint32_t length) {
  for (uint32_t a = start; a + 16 <= start + length; a += 16) {
    const struct mp_float *f = (const struct mp_float *)a;
    if (f->signature[0] == '_' && f->signature[1] == 'M' && f->signature[2] == 'P' && f->signature[3] == '_' &&
        f->length == 1 && sum((const uint8_t *)f, 16) == 0)
      return f;
  }
  return 0;
}

/* The MP specification's search order. */
static const struct mp_float *find_mp(void) {
  uint32_t ebda = (uint32_t)phys_read16(0x40E) << 4;
  const struct mp_float *f = ebda ? scan(ebda, 1024) : 0;
  if (!f) {
    uint32_t base_kib = phys_read16(0x413);
    if (base_kib >= 1 && base_kib <= 640) f = scan(base_kib * 1024 - 1024, 1024);
  }
  if (!f) f = scan(0xF0000, 0x10000);
  return f;
}

static uint32_t lapic_read(uint32_t reg) { return mmio_read32(lapic_base + reg); }
static void lapic_write(uint32_t reg, uint32_t v) { mmio_write32(lapic_base + reg, v); }
static uint32_t ioapic_read(uint32_t reg) {
  mmio_write32(ioapic_base, reg);
  return mmio_read32(ioapic_base + 0x10);
}
static void ioapic_write(uint32_t reg, uint32_t v) {
  mmio_write32(ioapic_base, reg);
  mmio_write32(ioapic_base + 0x10, v);
}

static volatile uint32_t lapic_ticks, pit_ticks, spurious;
static uint32_t pit_pin = 2;

/*
 * Masking a source does not withdraw an interrupt it already latched: where the timer runs in
 * host time (QEMU under load) one more period can end while the last counted tick is handled.
 * Such late interrupts are taken and acknowledged but not counted.
 */
static void on_lapic_timer(struct trapframe *tf) {
  (void)tf;
  if (lapic_ticks < TICKS && ++lapic_ticks == TICKS) {
    lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 0);
  }
  lapic_write(LAPIC_EOI, 0);
}

static void on_pit(struct trapframe *tf) {
  (void)tf;
  if (pit_ticks < TICKS && ++pit_ticks == TICKS) ioapic_write(0x10 + 2 * pit_pin, LVT_MASKED | IOAPIC_PIT_VECTOR);
  lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct trapframe *tf) {
  (void)tf;
  spurious++; /* no EOI for the spurious vector */
}

/* Wait until *counter reaches TICKS; `sti; hlt` so that no wake-up is lost. */
static void wait_ticks(volatile uint32_t *counter) {
  cli();
  while (*counter < TICKS) {
    sti_hlt();
    cli();
  }
}

uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic;
  (void)mbinfo;
  uint32_t failures = 0;

  gdt_load();
  idt_load();
  trap_set_handler(LAPIC_TIMER_VECTOR, on_lapic_timer);
  trap_set_handler(IOAPIC_PIT_VECTOR, on_pit);
  trap_set_handler(SPURIOUS_VECTOR, on_spurious);

  /* ---- MP tables ---- */
  const struct mp_float *f = find_mp();
  kprintf("MP floating pointer: %s\n", f ? "found" : "not found");
  if (!f || !f->config) {
    kprintf("apic: FAILED (no MP configuration table)\n");
    return 1;
  }
  const struct mp_config *c = (const struct mp_config *)f->config;
  int valid = c->signature[0] == 'P' && c->signature[1] == 'C' && c->signature[2] == 'M' && c->signature[3] == 'P' &&
              sum((const uint8_t *)c, c->length) == 0;
  kprintf("MP configuration table: %s\n", valid ? "valid" : "invalid");
  if (!valid) {
    kprintf("apic: FAILED\n");
    return 1;
  }
  lapic_base = c->lapic;

  uint32_t cpus = 0, ioapics = 0, isa_bus = 0xFFFFFFFFu, irq0_pin = 0xFFFFFFFFu;
  const uint8_t *e = (const uint8_t *)(c + 1);
  for (uint32_t n = 0; n < c->entries; n++) {
    switch (e[0]) {
      case 0: /* processor */
        if (e[3] & 1) cpus++;
        e += 20;
        break;
      case 1: /* bus */
        if (e[2] == 'I' && e[3] == 'S' && e[4] == 'A') isa_bus = e[1];
        e += 8;
        break;
      case 2: /* I/O APIC */
        if ((e[3] & 1) && ioapics++ == 0) ioapic_base = *(const uint32_t *)(e + 4);
        e += 8;
        break;
      case 3: /* I/O interrupt assignment: type, flags, source bus, source IRQ, I/O APIC, pin */
        if (e[1] == 0 && e[4] == isa_bus && e[5] == 0) irq0_pin = e[7];
        e += 8;
        break;
      default: /* 4: local interrupt assignment */
        e += 8;
        break;
    }
  }
  kprintf("CPUs: %u\n", cpus);
  kprintf("local APIC at 0x%08x\n", lapic_base);
  kprintf("I/O APICs: %u, the first at 0x%08x\n", ioapics, ioapic_base);
  if (irq0_pin != 0xFFFFFFFFu) pit_pin = irq0_pin;
  kprintf("ISA IRQ0 (PIT) enters the I/O APIC at pin %u\n", pit_pin);
  if (cpus < 1 || ioapics < 1) failures++;

  /* ---- local APIC ---- */
  if (f->features[1] & 0x80) {
    outb(0x22, 0x70); /* IMCR: PIC mode -> symmetric I/O mode */
    outb(0x23, 0x01);
  }
  pic_remap(0x20, 0x28); /* away from the exception vectors, all masked */
  uint64_t apic_msr = rdmsr(IA32_APIC_BASE);
  kprintf("IA32_APIC_BASE: base 0x%08x, global enable %s, BSP %s\n", (uint32_t)apic_msr & 0xFFFFF000u,
          (apic_msr & (1u << 11)) ? "yes" : "no", (apic_msr & (1u << 8)) ? "yes" : "no");
  if (!(apic_msr & (1u << 11))) wrmsr(IA32_APIC_BASE, apic_msr | (1u << 11));
  lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR); /* software enable */
  lapic_write(LAPIC_TPR, 0);
  lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
  lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
  kprintf("local APIC enabled: %s\n", (lapic_read(LAPIC_SVR) & 0x100) ? "yes" : "no");

  lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
  lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | LAPIC_TIMER_VECTOR);
  lapic_write(LAPIC_TIMER_INIT, 10000);
  wait_ticks(&lapic_ticks);
  kprintf("local APIC timer (periodic): %u ticks\n", lapic_ticks);
  if (lapic_ticks != TICKS) failures++;

  /* ---- I/O APIC: the PIT through the redirection table ---- */
  uint32_t entries = ((ioapic_read(1) >> 16) & 0xFF) + 1;
  kprintf("I/O APIC redirection entries: %u\n", entries);
  uint32_t dest = lapic_read(LAPIC_ID) >> 24;
  ioapic_write(0x10 + 2 * pit_pin + 1, dest << 24);
  ioapic_write(0x10 + 2 * pit_pin, IOAPIC_PIT_VECTOR); /* fixed, physical, edge, active high, unmasked */
  pit_set_periodic(100);
  wait_ticks(&pit_ticks);
  kprintf("PIT via I/O APIC pin %u: %u ticks\n", pit_pin, pit_ticks);
  if (pit_ticks != TICKS) failures++;
  if (spurious) kprintf("spurious interrupts: %u\n", spurious);

  kprintf("apic: %s\n", failures ? "FAILED" : "done");
  return failures;
}

/*
 * interrupts: the GDT and IDT of the runtime, the 8259A PIC remapped to vectors 0x20-0x2F,
 * the PIT at 100 Hz, and a wait for exactly TICKS timer interrupts with `sti; hlt`. The
 * main loop reads the tick counter inside cli/sti (and pushf/popf) critical sections.
 * Output depends only on the number of interrupts, never on how fast time passes.
 */
#include "guest.h"

#define TICKS 5
#define TIMER_HZ 100
#define IRQ_BASE 0x20
#define SOFT_VECTOR 0x30

static volatile uint32_t ticks;
static volatile uint32_t soft_ints;

static void on_timer(struct trapframe *tf) {
  (void)tf;
  ticks++;
  pic_eoi(0);
}

static void on_soft(struct trapframe *tf) {
  soft_ints++;
  tf->eax = tf->eax * 2 + 1; /* the caller sees the handler's result in eax */
}

uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic;
  (void)mbinfo;
  uint32_t failures = 0;

  gdt_load();
  idt_load();
  trap_set_handler(IRQ_BASE + 0, on_timer);
  trap_set_handler(SOFT_VECTOR, on_soft);
  kprintf("interrupts: GDT and IDT loaded\n");

  /* A software interrupt through the IDT, before any hardware one. */
  uint32_t r = 20;
  __asm__ volatile("int %1" : "+a"(r) : "i"(SOFT_VECTOR) : "memory");
  kprintf("int $0x%x: handler ran %u time(s), returned %u\n", SOFT_VECTOR, soft_ints, r);
  if (soft_ints != 1 || r != 41) failures++;

  pic_remap(IRQ_BASE, IRQ_BASE + 8);
  pic_set_mask(0xFFFE); /* only IRQ0, the PIT */
  uint8_t imr = inb(0x21);
  kprintf("PIC remapped to 0x%02x/0x%02x, master mask 0x%02x\n", IRQ_BASE, IRQ_BASE + 8, imr);
  if (imr != 0xFE) failures++;

  pit_set_periodic(TIMER_HZ);
  kprintf("PIT channel 0 at %u Hz\n", TIMER_HZ);

  /*
   * Wait with interrupts off between the test and the hlt: `sti; hlt` takes the next tick
   * only once hlt has begun, so each pass consumes exactly one interrupt and none is lost.
   */
  uint32_t wakeups = 0, sections = 0, seen = 0;
  cli();
  while (ticks < TICKS) {
    sti_hlt();
    cli();
    wakeups++;
    /* A critical section by irq_save/irq_restore (pushf; cli ... popf). */
    uint32_t flags = irq_save();
    if (ticks > seen) seen = ticks;
    sections++;
    irq_restore(flags);
  }
  sti();
  /* A cli/sti pair around an update the handler never touches. */
  cli();
  uint32_t final_ticks = ticks;
  sti();
  cli();
  pic_set_mask(0xFFFF);

  kprintf("waited for %u timer ticks with hlt\n", final_ticks);
  kprintf("every wakeup saw a new tick: %s\n", wakeups == final_ticks && seen == final_ticks ? "yes" : "no");
  kprintf("critical sections: %u\n", sections);
  if (final_ticks != TICKS || wakeups != TICKS || sections != TICKS) failures++;

  kprintf("interrupts: %s\n", failures ? "FAILED" : "done");
  return failures;
}

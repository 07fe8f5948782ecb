/*
 * holes: what the sensitive-but-unprivileged instructions (Robin & Irvine's list) report.
 * None of them faults at CPL>0, so under a VMM that runs this kernel deprivileged they
 * silently show the host's state or drop the guest's intent: pushf reveals the real IF,
 * popf ignores IF, smsw/sgdt/sidt/str/sldt show the real registers, and mov %cs / lar /
 * lsl show the real privilege. On bare metal (and with the wedge's rewrites) every line
 * says what the kernel set up. The guest only observes: it exits 0 either way.
 */
#include "guest.h"

static uint32_t ldt[2][2] __attribute__((aligned(8))) = {
  {0, 0},
  {0x0000FFFF, 0x00CF9200}, /* a flat ring-0 data segment, so that the LDT is not empty */
};

static const char *yes_no(int b) { return b ? "yes" : "no"; }

uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic;
  (void)mbinfo;

  gdt_set(SEL_LDT >> 3, (uint32_t)ldt, sizeof ldt - 1, 0x82, 0x0); /* present, ring 0, LDT */
  gdt_load();
  idt_load();
  lldt(SEL_LDT);
  tss_install((uint32_t)__bss_end); /* never used: no ring 3 here */
  /* The BIOS timer must not reach vector 8 while IF is briefly 1 below. */
  pic_remap(0x20, 0x28);

  cli();
  uint32_t f = read_eflags();
  kprintf("pushf after cli shows IF clear: %s\n", yes_no(!(f & EFLAGS_IF)));
  kprintf("pushf shows IOPL: %u\n", (f >> 12) & 3);

  write_eflags(f | EFLAGS_IF);
  uint32_t f_set = read_eflags();
  write_eflags(f_set & ~EFLAGS_IF);
  uint32_t f_clear = read_eflags();
  cli();
  kprintf("popf set IF: %s\n", yes_no(f_set & EFLAGS_IF));
  kprintf("popf cleared IF: %s\n", yes_no(!(f_clear & EFLAGS_IF)));

  uint16_t msw = smsw();
  kprintf("smsw shows PE: %s\n", yes_no(msw & CR0_PE));

  struct dtr g, i;
  sgdt(&g);
  sidt(&i);
  kprintf("sgdt shows our GDT: %s\n", yes_no(g.base == (uint32_t)gdt && g.limit == sizeof gdt - 1));
  kprintf("sidt shows our IDT: %s (limit 0x%x)\n", yes_no(i.limit == 256 * 8 - 1 && i.base >= (uint32_t)__image_start &&
                                                          i.base < (uint32_t)__image_end), i.limit);

  kprintf("str shows our TSS selector: %s\n", yes_no(str() == SEL_TSS));
  kprintf("sldt shows our LDT selector: %s\n", yes_no(sldt() == SEL_LDT));

  uint16_t cs = read_cs(), ss = read_ss();
  kprintf("mov %%cs shows CPL: %u\n", cs & 3u);
  kprintf("mov %%ss shows RPL: %u\n", ss & 3u);
  kprintf("cs is our code selector: %s\n", yes_no((cs & ~3u) == SEL_KCODE));

  uint32_t rights, limit;
  int ok = lar(cs, &rights);
  kprintf("lar on cs: accessible %s, DPL %u, present %s, code %s\n", yes_no(ok), (rights >> 13) & 3u,
          yes_no(rights & 0x8000), yes_no(rights & 0x0800));
  ok = lsl(cs, &limit);
  kprintf("lsl on cs: accessible %s, limit 0x%08x\n", yes_no(ok), limit);

  return 0;
}

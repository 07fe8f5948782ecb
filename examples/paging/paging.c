/*
 * paging: two address spaces built at run time, switched by writing CR3; a PTE changed in
 * place and flushed with invlpg; a deliberate page fault that the #PF handler resolves by
 * mapping the page (CR2 says where); and a 4 MiB page with CR4.PSE. Only values the guest
 * itself chose are printed (never link addresses), so afterburned builds print the same.
 */
#include "guest.h"

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PDE_PS 0x080u
#define PAGE 4096u

#define WINDOW 0x80000000u     /* maps frame A in space A, frame B in space B */
#define FAULT_VA 0x90000000u   /* present page table, page absent until the fault */
#define BIG_VA 0x40000000u     /* a 4 MiB page ... */
#define BIG_PA 0x00400000u     /* ... onto the second 4 MiB of physical memory */
#define BIG_OFFSET 0x1234u

#define VALUE_A 0xAAAA0001u
#define VALUE_B 0xBBBB0002u
#define VALUE_BIG 0x5A5A5A5Au
#define VALUE_FAULT 0x12345678u

#define PD_INDEX(va) ((va) >> 22)
#define PT_INDEX(va) (((va) >> 12) & 0x3FF)

typedef uint32_t table[1024] __attribute__((aligned(PAGE)));
static table pd_a, pd_b, pt_low, pt_window_a, pt_window_b, pt_fault;
static uint8_t frame_a[PAGE] __attribute__((aligned(PAGE)));
static uint8_t frame_b[PAGE] __attribute__((aligned(PAGE)));
static uint8_t frame_fault[PAGE] __attribute__((aligned(PAGE)));

static volatile uint32_t faults;
static volatile uint32_t fault_addr, fault_error;

static uint32_t peek(uint32_t va) { return *(volatile uint32_t *)va; }
static void poke(uint32_t va, uint32_t v) { *(volatile uint32_t *)va = v; }

static void on_page_fault(struct trapframe *tf) {
  uint32_t cr2 = read_cr2();
  faults++;
  fault_addr = cr2;
  fault_error = tf->error;
  if ((cr2 & ~(PAGE - 1)) != FAULT_VA || faults > 1) {
    kprintf("unexpected page fault at 0x%08x (error 0x%x)\n", cr2, tf->error);
    guest_exit(1);
  }
  /* Map the page and return: the faulting instruction runs again and succeeds. */
  pt_fault[PT_INDEX(cr2)] = (uint32_t)frame_fault | PTE_P | PTE_W;
}

static void build_space(uint32_t *pd, uint32_t *window_pt, const uint8_t *window_frame) {
  pd[0] = (uint32_t)pt_low | PTE_P | PTE_W;
  pd[PD_INDEX(WINDOW)] = (uint32_t)window_pt | PTE_P | PTE_W;
  window_pt[PT_INDEX(WINDOW)] = (uint32_t)window_frame | PTE_P | PTE_W;
  pd[PD_INDEX(BIG_VA)] = BIG_PA | PDE_PS | PTE_P | PTE_W;
}

uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic;
  (void)mbinfo;
  uint32_t failures = 0;

  gdt_load();
  idt_load();
  trap_set_handler(14, on_page_fault);

  uint32_t a, b, c, d;
  cpuid(1, &a, &b, &c, &d);
  kprintf("cpuid reports PSE: %s\n", (d & (1u << 3)) ? "yes" : "no");

  /* The first 4 MiB identity-mapped with 4 KiB pages: the kernel, its stack and tables. */
  for (uint32_t i = 0; i < 1024; i++) pt_low[i] = (i * PAGE) | PTE_P | PTE_W;
  pt_low[0] = 0; /* leave page 0 unmapped: a null pointer faults */
  build_space(pd_a, pt_window_a, frame_a);
  build_space(pd_b, pt_window_b, frame_b);
  pd_a[PD_INDEX(FAULT_VA)] = (uint32_t)pt_fault | PTE_P | PTE_W;

  /* Paging is off: these are physical writes. */
  *(volatile uint32_t *)frame_a = VALUE_A;
  *(volatile uint32_t *)frame_b = VALUE_B;
  poke(BIG_PA + BIG_OFFSET, VALUE_BIG);

  write_cr4(read_cr4() | CR4_PSE);
  write_cr3((uint32_t)pd_a);
  write_cr0(read_cr0() | CR0_PG);
  kprintf("paging enabled: CR0.PG=%u CR4.PSE=%u\n", read_cr0() >> 31, (read_cr4() & CR4_PSE) ? 1u : 0u);

  uint32_t v1 = peek(WINDOW);
  kprintf("space A: 0x%08x reads 0x%08x\n", WINDOW, v1);
  write_cr3((uint32_t)pd_b);
  uint32_t v2 = peek(WINDOW);
  kprintf("space B: 0x%08x reads 0x%08x\n", WINDOW, v2);
  poke(WINDOW + 4, 0xB0B0B0B0u);
  write_cr3((uint32_t)pd_a);
  uint32_t v3 = peek(WINDOW);
  kprintf("back in space A: 0x%08x reads 0x%08x\n", WINDOW, v3);
  int landed = *(volatile uint32_t *)(frame_b + 4) == 0xB0B0B0B0u && *(volatile uint32_t *)(frame_a + 4) == 0;
  kprintf("a write through B's window landed in frame B only: %s\n", landed ? "yes" : "no");
  if (v1 != VALUE_A || v2 != VALUE_B || v3 != VALUE_A || !landed) failures++;

  /* Repoint A's window at frame B; invlpg drops the stale translation. */
  pt_window_a[PT_INDEX(WINDOW)] = (uint32_t)frame_b | PTE_P | PTE_W;
  invlpg((void *)WINDOW);
  uint32_t v4 = peek(WINDOW);
  kprintf("after the PTE change and invlpg: 0x%08x reads 0x%08x\n", WINDOW, v4);
  if (v4 != VALUE_B) failures++;

  /* A write to an absent page: #PF, the handler maps it, the write is retried. */
  poke(FAULT_VA + 8, VALUE_FAULT);
  kprintf("page fault: CR2=0x%08x error code 0x%x (%s, %s)\n", fault_addr, fault_error,
          (fault_error & 2) ? "write" : "read", (fault_error & 1) ? "protection" : "not present");
  uint32_t v5 = peek(FAULT_VA + 8);
  kprintf("after the fault: 0x%08x reads 0x%08x, faults taken: %u\n", FAULT_VA + 8, v5, faults);
  if (faults != 1 || fault_addr != FAULT_VA + 8 || fault_error != 2 || v5 != VALUE_FAULT ||
      *(volatile uint32_t *)(frame_fault + 8) != VALUE_FAULT)
    failures++;

  /* The 4 MiB page: one PDE with PS set, no page table. */
  uint32_t v6 = peek(BIG_VA + BIG_OFFSET);
  kprintf("4 MiB page: 0x%08x reads 0x%08x\n", BIG_VA + BIG_OFFSET, v6);
  if (v6 != VALUE_BIG) failures++;

  kprintf("paging: %s\n", failures ? "FAILED" : "done");
  return failures;
}

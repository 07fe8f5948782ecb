/*
 * tasks: a TSS whose ss0:esp0 is the kernel stack for traps from ring 3, two user tasks
 * entered by iret, and `int $0x80` system calls (write, exit) that return to ring 3 with
 * iret. Task B divides by zero at ring 3; the kernel sees #DE arrive on the esp0 stack and
 * ends the task. The user code is in this image but runs at CPL 3 with no sensitive
 * instruction except `int $0x80`.
 */
#include "guest.h"

#define SYS_WRITE 1
#define SYS_EXIT 2
#define SYSCALL_VECTOR 0x80
#define KILLED 0x100 /* status of a task the kernel ended: KILLED + vector */

uint32_t run_user(uint32_t eip, uint32_t user_esp);
void resume_kernel(uint32_t status) __attribute__((noreturn));

static uint8_t trap_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack_a[4096] __attribute__((aligned(16)));
static uint8_t user_stack_b[4096] __attribute__((aligned(16)));

static uint32_t syscalls, frames_on_esp0_stack, frames_from_ring3;
static char current_task;

/* ---- ring 3 ---- */
static inline uint32_t syscall2(uint32_t nr, uint32_t a, uint32_t b) {
  __asm__ volatile("int $0x80" : "+a"(nr) : "b"(a), "c"(b) : "memory");
  return nr;
}

static uint32_t u_strlen(const char *s) {
  uint32_t n = 0;
  while (s[n]) n++;
  return n;
}

static void u_puts(const char *s) { syscall2(SYS_WRITE, (uint32_t)s, u_strlen(s)); }

static void task_a(void) {
  u_puts("task A: hello from ring 3\n");
  uint32_t n = syscall2(SYS_WRITE, (uint32_t)"task A: write returns its length\n", 33);
  u_puts(n == 33 ? "task A: got 33\n" : "task A: wrong length\n");
  syscall2(SYS_EXIT, 42, 0);
  for (;;) {
  }
}

static volatile uint32_t zero;
static void task_b(void) {
  u_puts("task B: dividing by zero\n");
  uint32_t q, r;
  __asm__ volatile("divl %2" : "=a"(q), "=d"(r) : "r"(zero), "0"(1u), "1"(0u));
  u_puts("task B: survived the division\n");
  syscall2(SYS_EXIT, 1, 0);
  for (;;) {
  }
}

/* ---- ring 0 ---- */
static void note_frame(struct trapframe *tf) {
  uint32_t at = (uint32_t)tf;
  if (at >= (uint32_t)trap_stack && at < (uint32_t)trap_stack + sizeof trap_stack) frames_on_esp0_stack++;
  if ((tf->cs & 3) == 3) frames_from_ring3++;
}

static void on_syscall(struct trapframe *tf) {
  note_frame(tf);
  syscalls++;
  switch (tf->eax) {
    case SYS_WRITE: {
      const char *s = (const char *)tf->ebx;
      for (uint32_t i = 0; i < tf->ecx; i++) serial_putc(s[i]);
      tf->eax = tf->ecx; /* iret takes the result back to ring 3 */
      return;
    }
    case SYS_EXIT: resume_kernel(tf->ebx);
    default: tf->eax = (uint32_t)-1; return;
  }
}

static void on_divide_error(struct trapframe *tf) {
  note_frame(tf);
  if ((tf->cs & 3) != 3) {
    kprintf("kernel: #DE in the kernel\n");
    guest_exit(1);
  }
  kprintf("kernel: #DE from ring 3 in task %c, ending it\n", current_task);
  resume_kernel(KILLED + tf->vector);
}

static uint32_t run(char name, void (*entry)(void), uint8_t *stack, uint32_t size) {
  current_task = name;
  kprintf("kernel: entering task %c at ring 3\n", name);
  uint32_t status = run_user((uint32_t)entry, (uint32_t)stack + size);
  kprintf("kernel: task %c exited with status %u\n", name, status);
  return status;
}

uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic;
  (void)mbinfo;
  uint32_t failures = 0;

  gdt_load();
  idt_load();
  idt_set(SYSCALL_VECTOR, 0xEE); /* interrupt gate, DPL 3: ring 3 may use int $0x80 */
  trap_set_handler(SYSCALL_VECTOR, on_syscall);
  trap_set_handler(0, on_divide_error);
  /* The BIOS left the PIC on vectors 8-15 with the timer running: move it away and mask it. */
  pic_remap(0x20, 0x28);
  tss_install((uint32_t)trap_stack + sizeof trap_stack);
  kprintf("kernel: TSS loaded, TR=0x%x, ss0=0x%x\n", str(), tss.ss0);

  uint32_t a = run('A', task_a, user_stack_a, sizeof user_stack_a);
  uint32_t b = run('B', task_b, user_stack_b, sizeof user_stack_b);
  if (a != 42 || b != KILLED + 0) failures++;

  kprintf("kernel: %u system calls, %u traps from ring 3, %u on the esp0 stack\n", syscalls, frames_from_ring3,
          frames_on_esp0_stack);
  if (syscalls != 5 || frames_from_ring3 != 6 || frames_on_esp0_stack != 6) failures++;

  kprintf("tasks: %s\n", failures ? "FAILED" : "done");
  return failures;
}

// Exceptions raised by a site's operation on xen and l4, where it runs in a wedge stub or as inline
// code: the guest's handler must see the frame bare metal gives it, or its exception table (fixups
// found by the faulting address), BUG()'s skip over ud2 and an int3 handler's look one byte back all
// go wrong. The same guest must print the same on every backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const afterburn = join(__dirname, "..", "..", "..", "bin", "afterburn.js");

/** `afterburn run` on a one-file C guest `name` (built by the CLI with the examples' runtime) on `backends`. */
function runGuest(name: string, source: string, backends: string) {
  const dir = mkdtempSync(join(tmpdir(), `previrt-${name}-`));
  try {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, `${name}.c`), source);
    return spawnSync(process.execPath, [afterburn, "run", join(dir, name), "--backend", backends], { encoding: "utf8", timeout: 180_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GUEST = `#include "guest.h"
extern char site_int3[], site_ud2[], site_gp[], fix_gp[], bad_load[];
static void on_bp(struct trapframe *tf) { kprintf("#BP at site+%d\\n", (int)(tf->eip - (uint32_t)site_int3)); }
static void on_ud(struct trapframe *tf) {
  kprintf("#UD at site+%d\\n", (int)(tf->eip - (uint32_t)site_ud2));
  tf->eip += 2; /* BUG(): report, then go on after the ud2 */
}
static void on_gp(struct trapframe *tf) {
  if (tf->eip == (uint32_t)site_gp) { kprintf("#GP at the rdmsr: fixed up\\n"); tf->eip = (uint32_t)fix_gp; return; }
  kprintf("#GP at load+%d\\n", (int)(tf->eip - (uint32_t)bad_load));
  tf->eip += 3; /* skip the mov to %fs (66 8e e0) */
}
uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic; (void)mbinfo;
  gdt_load(); idt_load();
  trap_set_handler(3, on_bp); trap_set_handler(6, on_ud); trap_set_handler(13, on_gp);
  __asm__ volatile("site_int3: int3" ::: "memory");
  __asm__ volatile("site_ud2: ud2" ::: "memory");
  __asm__ volatile("site_gp: rdmsr\\n fix_gp:" :: "c"(0x12345) : "eax", "edx", "memory");
  __asm__ volatile("movw $0x98, %%ax\\n bad_load: movw %%ax, %%fs" ::: "eax", "memory");
  uint16_t fs; __asm__ volatile("movw %%fs, %0" : "=r"(fs));
  kprintf("fs 0x%x\\n", fs);
  return 0;
}
`;

test("xen, l4: faults in a stub or inline rewrite are reported at the site, traps after the instruction; handlers that fix up or skip work", () => {
  const r = runGuest("exc", GUEST, "all");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "#BP at site+1\n#UD at site+0\n#GP at the rdmsr: fixed up\n#GP at load+0\nfs 0x10\n");
  assert.match(r.stderr, /result\s+exit 0\s+exit 0\s+exit 0\s+exit 0\s+exit 0/);
  assert.match(r.stderr, /console\s+reference\s+same\s+same\s+same\s+same/);
});

const POPFW = `#include "guest.h"
static volatile uint32_t ticks;
static void on_timer(struct trapframe *tf) { (void)tf; ticks++; pic_eoi(0); }
static void spin(void) { for (volatile int i = 0; i < 300000; i++) ; }
uint32_t kmain(uint32_t magic, uint32_t mbinfo) {
  (void)magic; (void)mbinfo;
  gdt_load(); idt_load();
  trap_set_handler(0x20, on_timer);
  pic_remap(0x20, 0x28); pic_set_mask(0xFFFE);
  pit_set_periodic(1000);
  sti();
  spin();
  kprintf("ticks with IF=1: %s\\n", ticks > 0 ? "yes" : "no");
  uint32_t sp0, sp1;
  __asm__ volatile("movl %%esp, %0\\n\\tpushw $0x0002\\n\\tpopfw\\n\\tmovl %%esp, %1" : "=r"(sp0), "=r"(sp1) :: "memory", "cc");
  uint32_t t0 = ticks;
  spin();
  uint16_t f16;
  __asm__ volatile("pushfw\\n\\tpopw %0" : "=r"(f16));
  kprintf("after popfw(IF=0): ticks %u, pushfw IF=%u, stack %s\\n", ticks - t0, (f16 >> 9) & 1, sp0 == sp1 ? "balanced" : "off");
  pic_set_mask(0xFFFF);
  return 0;
}
`;

test("xen, l4: a 16-bit popf pops its word and sets the virtual IF from it, as on bare metal", () => {
  const r = runGuest("popfw", POPFW, "raw,vtx,xen,l4");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "ticks with IF=1: yes\nafter popfw(IF=0): ticks 0, pushfw IF=0, stack balanced\n");
  assert.match(r.stderr, /console\s+reference\s+same\s+same\s+same/);
});

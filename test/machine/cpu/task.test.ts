// Hardware task switching (machine/cpu/task.ts): far jmp/call to TSS descriptors and task gates,
// task gates in the IDT, iret through the link field. Guests assembled with GNU as at test time on
// top of the protection prologue (guest.ts), whose own TSS (selector 0x28) is the first task.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runGuest, toUser, V, SEL, type GuestRun } from "./guest.js";
import type { Cpu } from "../../../machine/cpu/cpu.js";
import type { PhysicalMemory } from "../../../machine/memory.js";

/** The prologue's GDT is copied here and extended with the descriptors a test needs. */
const GDT2 = 0x30000;
const GDT2_PTR = 0x2fff0;

/** Task state segments of the extra tasks (fixed addresses, zeroed RAM). */
const TSS_A = 0x31000;
const TSS_B = 0x32000;
const TSS_C = 0x33000;
const TSS_D = 0x34000;
const TSS_16 = 0x35000;

// Extra selectors (after the prologue's 11 entries)
const A = 0x58;
const B = 0x60;
const C = 0x68;
const GATE_B = 0x70; // task gate -> B, DPL 0
const GATE_B3 = 0x78; // task gate -> B, DPL 3
const SMALL = 0x80; // 32-bit TSS with a limit below 0x67
const T16 = 0x88; // 16-bit TSS
const CODE_HI = 0x90; // 32-bit ring-0 code with base 0x10000 (for the 16-bit task's 16-bit IP)
const D = 0x98;

type Desc = [number, number];

const hex = (v: number) => "0x" + (v >>> 0).toString(16);

function descriptor(base: number, limit: number, access: number, flags: number): Desc {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}
const tss32 = (base: number, limit = 0x67, dpl = 0, present = true): Desc => descriptor(base, limit, (present ? 0x80 : 0) | (dpl << 5) | 0x09, 0);
const tss16 = (base: number, limit = 0x2b): Desc => descriptor(base, limit, 0x81, 0);
const taskGate = (tss: number, dpl = 0, present = true): Desc => [(tss << 16) >>> 0, ((present ? 0x8000 : 0) | (dpl << 13) | 0x0500) >>> 0];

/** Guest code: copy the prologue's GDT to GDT2, add `extra`, lgdt it (TR 0x28 stays busy). */
function gdtWith(extra: Record<number, Desc>): string {
  const lines = ["  mov $gdt, %esi", `  mov $${hex(GDT2)}, %edi`, "  mov $(gdt_end - gdt), %ecx", "  cld", "  rep movsb"];
  for (const [sel, [lo, hi]] of Object.entries(extra)) {
    lines.push(`  movl $${hex(lo)}, ${hex(GDT2 + Number(sel))}`, `  movl $${hex(hi)}, ${hex(GDT2 + Number(sel) + 4)}`);
  }
  lines.push(`  movw $0xff, ${hex(GDT2_PTR)}`, `  movl $${hex(GDT2)}, ${hex(GDT2_PTR + 2)}`, `  lgdt ${hex(GDT2_PTR)}`);
  return lines.join("\n") + "\n";
}

interface Task32 {
  eip: string;
  esp: number;
  cs?: number;
  ss?: number;
  ds?: number;
  es?: number;
  fs?: number;
  gs?: number;
  eflags?: number;
  cr3?: number;
  ldt?: number;
  /** EAX..EDI (ESP comes from `esp`) */
  regs?: number[];
  trap?: boolean;
  /** ring-0 stack for a task running at CPL 3 */
  esp0?: number;
}

/** Guest code filling a 32-bit TSS at `base`. */
function tss32Init(base: number, t: Task32): string {
  const l = (off: number, v: string | number) => `  movl $${typeof v === "number" ? hex(v) : v}, ${hex(base + off)}`;
  const out = [
    l(0x20, t.eip),
    l(0x24, t.eflags ?? 2),
    l(0x1c, t.cr3 ?? 0),
    l(0x38, t.esp),
    l(0x48, t.es ?? SEL.data0),
    l(0x4c, t.cs ?? SEL.code0),
    l(0x50, t.ss ?? SEL.data0),
    l(0x54, t.ds ?? SEL.data0),
    l(0x58, t.fs ?? SEL.data0),
    l(0x5c, t.gs ?? SEL.data0),
    l(0x60, t.ldt ?? 0),
    l(0x64, (0x68 << 16) | (t.trap ? 1 : 0)),
  ];
  (t.regs ?? []).forEach((v, n) => n !== 4 && out.push(l(0x28 + 4 * n, v)));
  if (t.esp0 !== undefined) out.push(l(4, t.esp0), l(8, SEL.data0));
  return out.join("\n") + "\n";
}

function run(body: string, setup?: (cpu: Cpu, mem: PhysicalMemory) => void, budget = 200000): GuestRun {
  return runGuest(body, budget, setup);
}
/** Same guest interpreted only and with every block compiled on first use: both must agree. */
function runBoth(body: string, setup?: (cpu: Cpu, mem: PhysicalMemory) => void): GuestRun {
  const interp = run(body, (cpu, mem) => {
    cpu.compileThreshold = Infinity;
    setup?.(cpu, mem);
  });
  const jit = run(body, (cpu, mem) => {
    cpu.compileThreshold = 0;
    setup?.(cpu, mem);
  });
  assert.deepEqual(Array.from(jit.mem.readBytes(0x500, 0x200)), Array.from(interp.mem.readBytes(0x500, 0x200)), "compiled and interpreted runs agree");
  assert.deepEqual(jit.stop, interp.stop);
  return jit;
}

const busyByte = (g: GuestRun, sel: number) => g.mem.read8(GDT2 + sel + 5);

test("jmp to a TSS and back: two tasks ping-pong with their registers preserved", () => {
  const g = runBoth(`main:
${gdtWith({ [A]: tss32(TSS_A) })}
${tss32Init(TSS_A, { eip: "task_a", esp: 0xa000, es: SEL.data3, regs: [0xa0a0a0a0, 0, 0, 0, 0, 0, 0, 0] })}
  movl $a_resume, 0x670
  mov $0x11111111, %eax
  mov $0x22222222, %ebx
  mov $0x33333333, %ecx
  mov $0x44444444, %edx
  mov $0x55555555, %esi
  mov $0x66666666, %edi
  mov $0x77777777, %ebp
t0_loop:
  ljmp $${A}, $0
  mov %eax, ${V.out}
  mov %ebx, ${V.out + 4}
  mov %ecx, ${V.out + 8}
  mov %edx, ${V.out + 12}
  mov %esi, ${V.out + 16}
  mov %edi, ${V.out + 20}
  mov %ebp, ${V.out + 24}
  mov %esp, ${V.out + 28}
  mov %es, ${V.out + 32}
  incl ${V.out + 0x40}
  cmpl $3, ${V.out + 0x40}
  jne t0_loop
  str ${V.out + 0x44}
  pushf
  popl ${V.out + 0x48}
  mov %cr0, %eax
  mov %eax, ${V.out + 0x4c}
  hlt

task_a:
  mov %eax, ${V.out + 0x60}
  incl %esi
  mov %esi, ${V.out + 0x50}
  mov %es, ${V.out + 0x54}
  str ${V.out + 0x58}
  movzbl ${GDT2 + SEL.tss + 5}, %eax
  mov %eax, ${V.out + 0x5c}
  mov %esp, ${V.out + 0x64}
  mov $0xdeadbeef, %eax
  mov %eax, %ebx
  mov %eax, %ecx
  mov %eax, %edx
  mov %eax, %edi
  mov %eax, %ebp
  ljmp $${SEL.tss}, $0
a_resume:
  jmp task_a
`);
  assert.equal(g.stop.kind, "halt");
  assert.equal(g.rd(V.count), 0, "no exception");
  const regs = [0, 4, 8, 12, 16, 20, 24].map((o) => g.rd(V.out + o) >>> 0);
  assert.deepEqual(regs, [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666, 0x77777777], "old task's registers come back");
  assert.equal(g.rd(V.out + 28), 0x9000, "ESP preserved");
  assert.equal(g.rd(V.out + 32) & 0xffff, SEL.data0, "ES preserved");
  assert.equal(g.rd(V.out + 0x50), 3, "task A's own ESI counter survives its switches");
  assert.equal(g.rd(V.out + 0x60) >>> 0, 0xdeadbeef, "second entry into A resumes with its saved EAX");
  assert.equal(g.rd(V.out + 0x54) & 0xffff, SEL.data3, "A's ES loaded from its TSS");
  assert.equal(g.rd(V.out + 0x58) & 0xffff, A, "TR in task A");
  assert.equal(g.rd(V.out + 0x5c), 0x89, "jmp cleared the old task's busy bit");
  assert.equal(g.rd(V.out + 0x64), 0xa000, "A's ESP from its TSS (no pushes)");
  assert.equal(g.rd(V.out + 0x44) & 0xffff, SEL.tss, "TR back to the first task");
  assert.equal(g.rd(V.out + 0x48) & 0x4000, 0, "jmp does not nest: NT clear");
  assert.ok(g.rd(V.out + 0x4c) & 8, "CR0.TS set by the task switch");
  assert.equal(busyByte(g, A), 0x89, "A available again");
  assert.equal(busyByte(g, SEL.tss), 0x8b, "first task busy");
  assert.equal(g.rd(TSS_A + 0x20), g.rd(0x670), "A's saved EIP is the instruction after its ljmp");
  assert.equal(g.cpu.tr.selector, SEL.tss);
});

test("call through a task gate nests (link, NT, busy); iret returns through the link; works from ring 3 too", () => {
  const g = runBoth(`main:
${gdtWith({ [B]: tss32(TSS_B), [GATE_B]: taskGate(B, 0), [GATE_B3]: taskGate(B, 3) })}
${tss32Init(TSS_B, { eip: "task_b", esp: 0xb000 })}
  movl $tss, ${V.out + 0xf0}
  mov $0x1234, %eax
  lcall $${GATE_B}, $0
  mov %eax, ${V.out}
  pushf
  popl ${V.out + 4}
  movzbl ${GDT2 + B + 5}, %eax
  mov %eax, ${V.out + 8}
  movzbl ${GDT2 + SEL.tss + 5}, %eax
  mov %eax, ${V.out + 12}
  str ${V.out + 16}
  lcall $${GATE_B}, $0
${toUser("user", 0x202, 0x7000)}
user:
  mov $0x4321, %eax
  lcall $${GATE_B3 | 3}, $0
  mov %eax, ${V.out + 20}
  mov %cs, ${V.out + 24}
  mov %esp, ${V.out + 28}
  # a DPL 0 task gate is out of reach from ring 3
  lcall $${GATE_B | 3}, $0
  hlt

task_b:
  incl ${V.out + 0x80}
  pushf
  popl ${V.out + 0x84}
  movzwl ${TSS_B}, %eax
  mov %eax, ${V.out + 0x88}
  movzbl ${GDT2 + B + 5}, %eax
  mov %eax, ${V.out + 0x8c}
  movzbl ${GDT2 + SEL.tss + 5}, %eax
  mov %eax, ${V.out + 0x90}
  str ${V.out + 0x94}
  mov $0x5555, %eax
  iret
  jmp task_b
`);
  assert.equal(g.rd(V.vec), 13, "ends with the #GP of the DPL 0 gate");
  assert.equal(g.rd(V.err), GATE_B, "#GP(gate selector)");
  assert.equal(g.rd(V.cs), SEL.code3);
  assert.equal(g.rd(V.out + 0x80), 3, "task B entered three times");
  assert.equal(g.rd(V.out + 0x84) & 0x4000, 0x4000, "called task runs with NT set");
  assert.equal(g.rd(V.out + 0x88), SEL.tss, "link field names the caller's TSS");
  assert.equal(g.rd(V.out + 0x8c), 0x8b, "called task busy");
  assert.equal(g.rd(V.out + 0x90), 0x8b, "caller stays busy during a call");
  assert.equal(g.rd(V.out + 0x94) & 0xffff, B);
  assert.equal(g.rd(V.out), 0x1234, "caller's EAX restored by iret");
  assert.equal(g.rd(V.out + 4) & 0x4000, 0, "caller's NT clear after the return");
  assert.equal(g.rd(V.out + 8), 0x89, "iret cleared the called task's busy bit");
  assert.equal(g.rd(V.out + 12), 0x8b, "caller busy");
  assert.equal(g.rd(V.out + 16) & 0xffff, SEL.tss);
  assert.equal(g.rd(V.out + 20), 0x4321, "ring-3 caller's EAX restored");
  assert.equal(g.rd(V.out + 24) & 0xffff, SEL.code3, "back in ring 3");
  assert.equal(g.rd(V.out + 28), 0x7000, "ring-3 ESP restored");
  const t0 = g.rd(V.out + 0xf0);
  assert.equal(g.mem.read16(t0 + 0x4c), SEL.code3, "caller's TSS holds its ring-3 CS");
  assert.equal(g.rd(TSS_B + 0x24) & 0x4000, 0, "iret saved the called task's EFLAGS with NT clear");
});

test("#DF through a task gate runs the double-fault handler on its own task with the error code pushed", () => {
  const g = runBoth(`main:
${gdtWith({ [C]: tss32(TSS_C) })}
${tss32Init(TSS_C, { eip: "df_task", esp: 0xc000 })}
  movl $${hex(C << 16)}, idt+8*8
  movl $0x8500, idt+8*8+4
  movl $tss, ${V.out + 0xf0}
  movl $fault_here, ${V.out + 0xf4}
  andb $0x7f, idt+11*8+5
  mov $0x40, %ax
fault_here:
  mov %ax, %ds
  hlt

df_task:
  mov %esp, ${V.out + 4}
  pop %eax
  mov %eax, ${V.out}
  str ${V.out + 8}
  pushf
  popl ${V.out + 12}
  movzwl ${TSS_C}, %eax
  mov %eax, ${V.out + 16}
  incl ${V.out + 20}
  hlt
`);
  assert.equal(g.stop.kind, "halt");
  assert.equal(g.rd(V.out + 20), 1, "double-fault task ran");
  assert.equal(g.rd(V.count), 0, "no interrupt-gate handler ran");
  assert.equal(g.rd(V.out), 0, "#DF error code 0 on the new task's stack");
  assert.equal(g.rd(V.out + 4), 0xc000 - 4, "pushed as a dword (32-bit TSS)");
  assert.equal(g.rd(V.out + 8) & 0xffff, C);
  assert.equal(g.rd(V.out + 12) & 0x4000, 0x4000, "NT set: an interrupt nests");
  assert.equal(g.rd(V.out + 16), SEL.tss, "link = faulting task");
  const t0 = g.rd(V.out + 0xf0);
  assert.equal(g.rd(t0 + 0x20), g.rd(V.out + 0xf4), "faulting task saved with EIP at the faulting instruction");
  assert.equal(g.mem.read16(t0 + 0x54), SEL.data0, "DS not loaded by the faulting mov");
  assert.equal(g.rd(t0 + 0x28) & 0xffff, 0x40, "EAX saved");
});

test("int n and a #GP through task gates: handler tasks iret back, the fault handler skips the faulting instruction", () => {
  const g = runBoth(`main:
${gdtWith({ [B]: tss32(TSS_B), [C]: tss32(TSS_C) })}
${tss32Init(TSS_B, { eip: "int_task", esp: 0xb000 })}
${tss32Init(TSS_C, { eip: "gp_task", esp: 0xc000 })}
  movl $${hex(B << 16)}, idt+0x40*8
  movl $0x8500, idt+0x40*8+4
  movl $${hex(C << 16)}, idt+13*8
  movl $0x8500, idt+13*8+4
  movl $gp_here, ${V.out + 0xf4}
  mov $7, %ebx
  int $0x40
  int $0x40
  mov %ebx, ${V.out}
gp_here:
  int $0x99
  movl $1, ${V.out + 4}
  int $0x99
  movl $2, ${V.out + 4}
${toUser("user")}
user:
  int $0x40
  hlt

int_task:
  incl ${V.out + 0x40}
  iret
  jmp int_task

gp_task:
  pop %eax
  mov %eax, ${V.out + 0x50}
  mov %esp, ${V.out + 0x54}
  incl ${V.out + 0x58}
  cmp $0x99*8+2, %eax
  jne 1f
  # resume the faulting task after its 2-byte int
  addl $2, tss+0x20
  iret
  jmp gp_task
1:
  hlt
`);
  assert.equal(g.rd(V.out + 0x40), 2, "int $0x40 ran the handler task twice");
  assert.equal(g.rd(V.out), 7, "EBX preserved across it");
  assert.equal(g.rd(V.out + 0x58), 3, "#GP task: two ints beyond the IDT limit, one DPL violation from ring 3");
  assert.equal(g.rd(V.out + 4), 2, "both faulting ints were skipped");
  assert.equal(g.rd(V.out + 0x50), 0x40 * 8 + 2, "last #GP: task gate DPL 0 < CPL 3, error code pushed in the #GP task");
  assert.equal(g.rd(V.out + 0x54), 0xc000, "error code popped: each entry starts from the saved ESP");
  assert.equal(g.stop.kind, "halt");
});

test("an external interrupt through a task gate switches tasks and iret resumes the halted task", () => {
  const body = `main:
${gdtWith({ [B]: tss32(TSS_B) })}
${tss32Init(TSS_B, { eip: "irq_task", esp: 0xb000 })}
  movl $${hex(B << 16)}, idt+0x41*8
  movl $0x8500, idt+0x41*8+4
  hlt
  movl $0x99, ${V.out}
  hlt

irq_task:
  incl ${V.out + 4}
  pushf
  popl ${V.out + 8}
  iret
  jmp irq_task
`;
  const g = run(body);
  assert.equal(g.stop.kind, "halt");
  g.cpu.deliverInterrupt(0x41);
  assert.equal(g.cpu.tr.selector, B);
  const stop = g.cpu.run(10000);
  assert.equal(stop.kind, "halt");
  assert.equal(g.rd(V.out + 4), 1);
  assert.equal(g.rd(V.out + 8) & 0x4000, 0x4000);
  assert.equal(g.rd(V.out), 0x99, "resumed after its hlt");
  assert.equal(g.cpu.tr.selector, SEL.tss);
});

test("a task switch loads CR3 from the new TSS and flushes the TLB", () => {
  // PD1 0x40000 / PD2 0x42000 share an identity-mapped first 4 MiB (PT 0x41000); linear 0x400000
  // is frame 0x500000 under PD1 and 0x600000 under PD2.
  const setup = (_cpu: Cpu, mem: PhysicalMemory) => {
    for (let i = 0; i < 1024; i++) mem.write32(0x41000 + 4 * i, (i << 12) | 3);
    mem.write32(0x40000, 0x41003);
    mem.write32(0x40004, 0x43003);
    mem.write32(0x43000, 0x500003);
    mem.write32(0x42000, 0x41003);
    mem.write32(0x42004, 0x44003);
    mem.write32(0x44000, 0x600003);
  };
  const g = runBoth(`main:
${gdtWith({ [A]: tss32(TSS_A) })}
${tss32Init(TSS_A, { eip: "task_a", esp: 0xa000, cr3: 0x42000 })}
  movl $0x40000, tss+0x1c
  mov $0x40000, %eax
  mov %eax, %cr3
  mov %cr0, %eax
  or $0x80000000, %eax
  mov %eax, %cr0
  movl $0x1111, 0x400000
  mov 0x400000, %eax
  ljmp $${A}, $0
  mov 0x400000, %eax
  mov %eax, ${V.out}
  mov %cr3, %eax
  mov %eax, ${V.out + 4}
  hlt

task_a:
  mov %cr3, %eax
  mov %eax, ${V.out + 8}
  mov 0x400000, %eax
  mov %eax, ${V.out + 12}
  movl $0x2222, 0x400000
  ljmp $${SEL.tss}, $0
`, setup);
  assert.equal(g.rd(V.count), 0, "no exception");
  assert.equal(g.rd(V.out + 8), 0x42000, "CR3 of the new task");
  assert.equal(g.rd(V.out + 12), 0, "no stale translation of 0x400000 in the new task");
  assert.equal(g.rd(V.out + 4), 0x40000, "CR3 back from the first task's TSS");
  assert.equal(g.rd(V.out), 0x1111);
  assert.equal(g.rd(0x500000), 0x1111);
  assert.equal(g.rd(0x600000), 0x2222);
});

test("#TS(selector) for a TSS limit below 0x67 (0x2b for a 16-bit TSS), before anything changes", () => {
  for (const [desc, sel] of [
    [tss32(TSS_D, 0x66), SMALL],
    [tss16(TSS_16, 0x2a), T16],
  ] as [Desc, number][]) {
    const g = run(`main:
${gdtWith({ [sel]: desc })}
  movl $tss, ${V.out + 0xf0}
  movl $fault_here, ${V.out + 0xf4}
  mov $0x1357, %eax
fault_here:
  ljmp $${sel}, $0
  hlt
`);
    assert.equal(g.rd(V.vec), 10);
    assert.equal(g.rd(V.err), sel, "#TS(new TSS selector)");
    assert.equal(g.rd(V.eip), g.rd(V.out + 0xf4), "reported at the ljmp");
    assert.equal(g.cpu.tr.selector, SEL.tss, "TR unchanged");
    assert.equal(busyByte(g, sel) & 2, 0, "target not marked busy");
    assert.equal(busyByte(g, SEL.tss), 0x8b, "current task still busy");
    assert.equal(g.rd(g.rd(V.out + 0xf0) + 0x28), 0, "current state not saved");
  }
});

test("#GP(selector) for a busy TSS target (jmp, call, task gate), DPL violations; #NP for not-present; #TS for iret with a bad link", () => {
  const cases: [string, number, number, Record<number, Desc>][] = [
    [`ljmp $${SEL.tss}, $0`, 13, SEL.tss, {}],
    [`lcall $${SEL.tss}, $0`, 13, SEL.tss, {}],
    [`ljmp $${GATE_B}, $0`, 13, SEL.tss, { [GATE_B]: taskGate(SEL.tss) }],
    [`lcall $${GATE_B}, $0`, 13, B, { [GATE_B]: taskGate(B), [B]: descriptor(0, 0xfffff, 0x9a, 0xc) }],
    [`ljmp $${A}, $0`, 11, A, { [A]: tss32(TSS_A, 0x67, 0, false) }],
    [`ljmp $${GATE_B}, $0`, 11, GATE_B, { [GATE_B]: taskGate(B, 0, false), [B]: tss32(TSS_B) }],
    // TSS descriptors and task gates are only looked up in the GDT (the LDT here is unusable)
    [`ljmp $${GATE_B | 4}, $0`, 13, GATE_B | 4, {}],
    // iret with NT set and the link field 0 (the prologue's TSS)
    ["pushf\n  orl $0x4000, (%esp)\n  popf\n  iret", 10, 0, {}],
    // link naming an available (not busy) TSS
    [`movw $${A}, tss\n  pushf\n  orl $0x4000, (%esp)\n  popf\n  iret`, 10, A, { [A]: tss32(TSS_A) }],
  ];
  for (const [ins, vec, err, extra] of cases) {
    const g = run(`main:\n${gdtWith(extra)}\n  ${ins}\n  hlt\n`);
    assert.equal(g.stop.kind, "halt", ins);
    assert.equal(g.rd(V.vec), vec, ins);
    assert.equal(g.rd(V.err), err, ins);
    assert.equal(g.cpu.tr.selector, SEL.tss, ins);
    assert.equal(busyByte(g, SEL.tss), 0x8b, ins);
  }
  // From ring 3: a DPL 0 TSS and an RPL above the DPL are refused
  const u = run(`main:\n${gdtWith({ [A]: tss32(TSS_A, 0x67, 0) })}\n${toUser("user")}\nuser:\n  ljmp $${A | 3}, $0\n  hlt\n`);
  assert.equal(u.rd(V.vec), 13);
  assert.equal(u.rd(V.err), A);
  const r = run(`main:\n${gdtWith({ [A]: tss32(TSS_A, 0x67, 2) })}\n  ljmp $${A | 3}, $0\n  hlt\n`);
  assert.equal(r.rd(V.vec), 13, "RPL 3 > DPL 2");
  assert.equal(r.rd(V.err), A);
});

/**
 * jmp to task A, whose TSS (entry task_a, stack 0xa000, plus `extra`) is set up first; task_a's
 * address lands in V.out and its first instruction writes 1 to V.out + 4 (so 0 there: it never ran).
 */
function jumpToTaskA(extra: Partial<Task32>): GuestRun {
  return run(`main:
${gdtWith({ [A]: tss32(TSS_A) })}
${tss32Init(TSS_A, { eip: "task_a", esp: 0xa000, ...extra })}
  movl $task_a, ${V.out}
  ljmp $${A}, $0
  hlt
task_a:
  movl $1, ${V.out + 4}
  hlt
`);
}

test("a fault while loading the new task's segments is delivered in the new task", () => {
  const g = jumpToTaskA({ gs: SEL.np });
  assert.equal(g.rd(V.vec), 11, "#NP for the not-present GS");
  assert.equal(g.rd(V.err), SEL.np);
  assert.equal(g.rd(V.eip), g.rd(V.out), "at the new task's first instruction");
  assert.equal(g.cpu.tr.selector, A, "the switch committed");
  assert.equal(g.rd(V.esp), 0xa000 - 20, "handler frame on the new task's stack");
  assert.equal(g.cpu.segs[5].selector, SEL.np, "GS holds the new task's selector");
  assert.equal(g.rd(V.out + 4), 0);
  // a code selector in SS: #TS(SS) in the new task; the new task's SS is unusable so its delivery fails too
  const h = run(`main:
${gdtWith({ [A]: tss32(TSS_A) })}
${tss32Init(TSS_A, { eip: "task_a", esp: 0xa000, ss: SEL.code0 })}
  ljmp $${A}, $0
  hlt
task_a:
  hlt
`);
  assert.equal(h.stop.kind, "triple-fault");
  if (h.stop.kind === "triple-fault") assert.deepEqual(h.stop.vectors, [10, 12, 12]);
  assert.equal(h.cpu.tr.selector, A);
});

test("the TSS T bit raises #DB before the new task's first instruction", () => {
  const g = jumpToTaskA({ trap: true });
  assert.equal(g.rd(V.vec), 1);
  assert.equal(g.rd(V.eip), g.rd(V.out), "trap reported at the new task's entry");
  assert.equal(g.rd(V.out + 4), 0, "first instruction not executed yet");
  assert.ok(g.cpu.dr[6] & 0x8000, "DR6.BT");
  assert.equal(g.cpu.tr.selector, A);
});

test("a ring-3 task takes int $0x80 on the ring-0 stack of its own TSS", () => {
  const g = run(`main:
${gdtWith({ [A]: tss32(TSS_A) })}
${tss32Init(TSS_A, { eip: "task_a", esp: 0x8800, cs: SEL.code3, ss: SEL.data3, ds: SEL.data3, es: SEL.data3, fs: 0, gs: 0, eflags: 0x202, esp0: 0xe000 })}
  ljmp $${A}, $0
  hlt
task_a:
  mov %cs, ${V.out}
  int $0x80
  hlt
sys80:
  mov %esp, ${V.out + 4}
  mov 12(%esp), %eax
  mov %eax, ${V.out + 8}
  hlt
`);
  assert.equal(g.rd(V.out) & 0xffff, SEL.code3);
  assert.equal(g.rd(V.out + 4), 0xe000 - 20, "stack from the new TSS's ESP0");
  assert.equal(g.rd(V.out + 8), 0x8800, "user ESP from the task image");
});

test("16-bit TSS: load (upper register halves all ones, FS/GS null) and save in the 16-bit format", () => {
  const l = (off: number, v: string | number) => `  movw $${typeof v === "number" ? hex(v) : v}, ${hex(TSS_16 + off)}`;
  const g = runBoth(`main:
${gdtWith({ [T16]: tss16(TSS_16), [CODE_HI]: descriptor(0x10000, 0xfffff, 0x9a, 0xc) })}
${l(0x0e, "task16 - _start")}
${l(0x10, 2)}
${l(0x12, 0x1234)}
${l(0x1a, 0xd000)}
${l(0x22, SEL.data0)}
${l(0x24, CODE_HI)}
${l(0x26, SEL.data0)}
${l(0x28, SEL.data0)}
  movl $(t16_resume - _start), ${V.out + 0xf0}
  mov $0x600dcafe, %ebx
  ljmp $${T16}, $0
  mov %ebx, ${V.out + 0x20}
  mov %fs, ${V.out + 0x24}
  hlt
task16:
  mov %eax, ${V.out}
  mov %fs, ${V.out + 4}
  str ${V.out + 8}
  mov %esp, ${V.out + 12}
  mov $0xabcd0042, %ecx
  ljmp $${SEL.tss}, $0
t16_resume:
  hlt
`);
  assert.equal(g.rd(V.count), 0, "no exception");
  assert.equal(g.rd(V.out) >>> 0, 0xffff1234);
  assert.equal(g.rd(V.out + 4) & 0xffff, 0, "FS null");
  assert.equal(g.rd(V.out + 8) & 0xffff, T16);
  assert.equal(g.rd(V.out + 12) >>> 0, 0xffffd000);
  assert.equal(g.rd(V.out + 0x20) >>> 0, 0x600dcafe, "32-bit task's registers intact");
  assert.equal(g.rd(V.out + 0x24) & 0xffff, SEL.data0, "FS from the 32-bit TSS");
  assert.equal(g.mem.read16(TSS_16 + 0x0e), g.rd(V.out + 0xf0), "IP saved");
  assert.equal(g.mem.read16(TSS_16 + 0x14), 0x0042, "CX saved as 16 bits");
  assert.equal(g.mem.read16(TSS_16 + 0x24), CODE_HI, "CS saved");
  assert.equal(busyByte(g, T16), 0x81, "16-bit TSS available after the jmp back");
});

test("random task images and descriptors never throw into the host", () => {
  let seed = 12345;
  const rnd = () => {
    // xorshift32: unlike a power-of-two LCG its low bits are usable for small choices
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const sels = [0, SEL.code0, SEL.data0, SEL.code3, SEL.data3, SEL.tss, SEL.gate3, SEL.np, SEL.code16, A, B, GATE_B, 0x1234, 0xfffc];
  for (let n = 0; n < 60; n++) {
    // each selector is usually the sane one, so runs get past the early checks too
    const pick = (sane: number) => (rnd() % 3 !== 0 ? sane : sels[rnd() % sels.length] | (rnd() & 7));
    const t: Task32 = {
      eip: hex(rnd() % 3 === 0 ? rnd() : 0x10000 + (rnd() % 0x400)),
      esp: rnd() % 2 ? 0xa000 : rnd(),
      cs: pick(SEL.code0),
      ss: pick(SEL.data0),
      ds: pick(SEL.data0),
      es: pick(SEL.data0),
      fs: pick(SEL.data0),
      gs: pick(SEL.data0),
      // mostly without VM (virtual-8086 tasks are refused before the commit point)
      eflags: n % 4 === 0 ? rnd() : rnd() & ~0x20000,
      ldt: rnd() % 4 === 0 ? pick(0) : 0,
      trap: rnd() % 5 === 0,
    };
    const kinds: Desc[] = [tss32(TSS_A), tss16(TSS_A), tss32(TSS_A, 0x67, 3), taskGate(A), taskGate(B, 3), tss32(TSS_A, 0x30)];
    const extra = { [A]: kinds[rnd() % 2], [B]: tss32(TSS_B), [GATE_B]: kinds[rnd() % kinds.length] };
    const how = [`ljmp $${A}, $0`, `lcall $${A}, $0`, `ljmp $${GATE_B}, $0`, `lcall $${GATE_B}, $0`, "int $0x40"][rnd() % 5];
    const body = `main:
${gdtWith(extra)}
${tss32Init(TSS_A, t)}
${tss32Init(TSS_B, { eip: "main", esp: 0xb000 })}
  movl $${hex(GATE_B << 16)}, idt+0x40*8
  movl $0x8500, idt+0x40*8+4
  ${how}
  hlt
`;
    assert.doesNotThrow(() => run(body, undefined, 5000), how);
  }
});

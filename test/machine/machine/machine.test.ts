import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { buildGuest, LOAD_ADDR } from "./guests.js";
import type { Machine as MachineClass, MachineOptions } from "../../../machine/machine.js";

// The CPU is written concurrently; until machine/cpu/cpu.ts loads, these guest tests are skipped.
let Machine: typeof MachineClass | undefined;
let loadError: string | undefined;
async function machineLoads(t: TestContext): Promise<boolean> {
  if (!Machine && !loadError) {
    try {
      ({ Machine } = await import("../../../machine/machine.js"));
    } catch (e) {
      loadError = `the CPU does not load yet: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  if (loadError) t.skip(loadError);
  return Machine !== undefined;
}

function boot(body: string, options: MachineOptions = {}, cmdline?: string) {
  const out: number[] = [];
  const m = new Machine!({ ...options, onSerial: (b) => out.push(b) });
  const image = buildGuest(body);
  m.loadElfSegments([{ paddr: LOAD_ADDR, bytes: image, memsz: image.length + 4096 }], LOAD_ADDR, { cmdline });
  return { m, text: () => String.fromCharCode(...out) };
}

const HELLO = `
main:
  cmp $0x2badb002, %eax
  jne bad
  mov 16(%ebx), %esi      # multiboot cmdline
  call puts
  mov $msg, %esi
  call puts
  mov $42, %eax
  call exit
bad:
  mov $1, %eax
  call exit
msg: .asciz " says hello\\n"
`;

test("a guest boots by multiboot, prints to COM1 and exits through port 0xF4", async (t) => {
  if (!(await machineLoads(t))) return;
  const { m, text } = boot(HELLO, {}, "guest");
  const r = m.run({ maxInstructions: 1_000_000 });
  assert.equal(r.reason, "exit", r.message);
  assert.equal(r.exitCode, 42);
  assert.equal(text(), "guest says hello\n");
});

test("CR0 as a multiboot loader leaves it (PE and ET, caches on), ET still set after the guest writes it back; a reset gives the 486's 0x60000010", async (t) => {
  if (!(await machineLoads(t))) return;
  const { m } = boot(`
main:
  mov %cr0, %eax
  mov %eax, %cr0
  mov %cr0, %ebx
  hlt
`);
  m.run({ maxInstructions: 1_000 });
  assert.equal(m.cpu.regs[0]! >>> 0, 0x11, "at entry");
  assert.equal(m.cpu.regs[3]! >>> 0, 0x11, "written back, read again: the same");
  m.reset();
  assert.equal(m.cpu.cr[0]! >>> 0, 0x60000010, "after reset");
});

/** IRQ 0 through the PIC to `timer` at about 1 kHz (interrupts still off), and the handler counting `ticks`. */
const PIT_SETUP = `  call init_pic
  mov $0x20, %eax
  mov $timer, %ebx
  call set_gate
  call load_idt
  mov $0x34, %al          # channel 0, lo/hi, mode 2
  out %al, $0x43
  mov $1193 & 0xff, %al   # ~1 kHz
  out %al, $0x40
  mov $1193 >> 8, %al
  out %al, $0x40
  mov $0xfa, %al          # unmask IRQ 0 (and the cascade)
  out %al, $0x21
`;
const TIMER = `timer:
  incl ticks
  push %eax
  mov $0x20, %al
  out %al, $0x20
  pop %eax
  iret
`;

const PIT_GUEST = `
main:
${PIT_SETUP}  sti
1:hlt
  cmpl $5, ticks
  jb 1b
  cli
  mov ticks, %eax
  call putdec
  mov $0, %eax
  call exit
${TIMER}ticks: .long 0
`;

test("the PIT interrupts through the PIC at virtual times; hlt fast-forwards; two runs are identical", async (t) => {
  if (!(await machineLoads(t))) return;
  const runs = [0, 1].map(() => {
    const { m, text } = boot(PIT_GUEST);
    const r = m.run({ maxInstructions: 10_000_000 });
    return { r, out: text() };
  });
  const [a, b] = runs;
  assert.equal(a.r.reason, "exit", a.r.message);
  assert.equal(a.out, "5");
  // Five periods of 1193 PIT ticks at 100 M units per second.
  const fifth = Math.ceil((5 * 1193 * 100_000_000) / 1_193_182);
  assert.ok(a.r.virtualTime >= fifth, `virtual time ${a.r.virtualTime} reaches the fifth tick ${fifth}`);
  assert.ok(a.r.instructions < fifth / 10, "halted time was skipped, not executed");
  assert.deepEqual(
    [b.out, b.r.reason, b.r.instructions, b.r.virtualTime],
    [a.out, a.r.reason, a.r.instructions, a.r.virtualTime],
  );
});

test("an interrupt pending at sti is taken after the one instruction that follows, even when more follow in its block", async (t) => {
  if (!(await machineLoads(t))) return;
  // The PIT's IRQ 0 is raised while interrupts are off (a busy loop longer than its period), then
  // sti; nop; nop; nop; nop; cli: the interrupt comes after the first nop, before the cli.
  const { m, text } = boot(`
main:
${PIT_SETUP}  mov $100000, %ecx
1:loop 1b
  sti
  nop
  nop
  nop
  nop
  cli
  mov ticks, %eax
  call putdec
  mov $0, %eax
  call exit
${TIMER}ticks: .long 0
`);
  const r = m.run({ maxInstructions: 10_000_000 });
  assert.equal(r.reason, "exit", r.message);
  assert.equal(text(), "1");
});

const RTC_GUEST = `
main:
  mov $0x09, %al
  out %al, $0x70
  in $0x71, %al
  out %al, $0xe9
  mov $0x08, %al
  out %al, $0x70
  in $0x71, %al
  out %al, $0xe9
  mov $0x32, %al
  out %al, $0x70
  in $0x71, %al
  out %al, $0xe9
  mov $0, %eax
  call exit
`;

test("the guest reads the RTC; bytes written to a post port are captured", async (t) => {
  if (!(await machineLoads(t))) return;
  const posted: [number, number][] = [];
  const { m } = boot(RTC_GUEST, { postPorts: [0xe9], onPost: (p, b) => posted.push([p, b]), rtcEpoch: Date.UTC(2031, 6, 4) / 1000 });
  const r = m.run({ maxInstructions: 100_000 });
  assert.equal(r.reason, "exit", r.message);
  assert.deepEqual([...m.postBytes(0xe9)], [0x31, 0x07, 0x20]);
  assert.deepEqual(posted, [[0xe9, 0x31], [0xe9, 0x07], [0xe9, 0x20]]);
});

const APIC_GUEST = `
main:
  call init_pic
  mov $0xff, %al
  out %al, $0x21          # PIC fully masked: everything goes through the APICs
  mov $0x30, %eax
  mov $ioapic_isr, %ebx
  call set_gate
  mov $0x40, %eax
  mov $lapic_isr, %ebx
  call set_gate
  mov $0xff, %eax
  mov $spurious, %ebx
  call set_gate
  call load_idt
  # find the MP floating pointer in the BIOS area
  mov $0xf0000, %esi
1:cmpl $0x5f504d5f, (%esi)
  je 2f
  add $16, %esi
  cmp $0x100000, %esi
  jb 1b
  mov $2, %eax
  call exit
2:mov 4(%esi), %esi       # configuration table
  mov 36(%esi), %eax
  mov %eax, lapic
  movzwl 34(%esi), %ecx
  lea 44(%esi), %edi
3:cmpb $0, (%edi)
  jne 4f
  add $20, %edi
  jmp 5f
4:cmpb $2, (%edi)
  jne 6f
  mov 4(%edi), %eax
  mov %eax, ioapic
6:add $8, %edi
5:loop 3b
  mov ioapic, %edi
  test %edi, %edi
  jnz 7f
  mov $3, %eax
  call exit
7:mov lapic, %esi
  movl $0x1ff, 0xf0(%esi)  # SVR: enable, spurious vector 0xff
  movl $0, 0x80(%esi)      # TPR 0
  # I/O APIC pin 2 (ISA IRQ 0) → vector 0x30, edge, unmasked
  movl $0x14, (%edi)
  movl $0x30, 0x10(%edi)
  movl $0x15, (%edi)
  movl $0, 0x10(%edi)
  # PIT ~2 kHz
  mov $0x34, %al
  out %al, $0x43
  mov $597 & 0xff, %al
  out %al, $0x40
  mov $597 >> 8, %al
  out %al, $0x40
  # LAPIC timer periodic, vector 0x40, divide by 16, 100000 * 16 units
  movl $0x3, 0x3e0(%esi)
  movl $0x20040, 0x320(%esi)
  movl $100000, 0x380(%esi)
  sti
8:hlt
  cmpl $3, lticks
  jb 8b
  cli
  mov lticks, %eax
  call putdec
  mov $' ', %al
  call putc
  mov pticks, %eax
  call putdec
  mov $0, %eax
  call exit
ioapic_isr:
  incl pticks
  push %esi
  mov lapic, %esi
  movl $0, 0xb0(%esi)
  pop %esi
  iret
lapic_isr:
  incl lticks
  push %esi
  mov lapic, %esi
  movl $0, 0xb0(%esi)
  pop %esi
  iret
spurious:
  iret
lapic: .long 0
ioapic: .long 0
lticks: .long 0
pticks: .long 0
`;

test("the guest finds the MP table, routes the PIT through the I/O APIC and uses the LAPIC timer", async (t) => {
  if (!(await machineLoads(t))) return;
  const { m, text } = boot(APIC_GUEST);
  const r = m.run({ maxInstructions: 20_000_000 });
  assert.equal(r.reason, "exit", r.message);
  // 3 LAPIC periods = 4.8 M units; the PIT at 597 ticks ≈ 50035 units gives 95 edges by then.
  const lapicEnd = 3 * 1_600_000;
  const pitPeriods = Math.floor((lapicEnd * 1_193_182) / 100_000_000 / 597);
  assert.equal(text(), `3 ${pitPeriods}`);
});

test("cli; hlt stops with reason halt; an endless loop stops at the budget", async (t) => {
  if (!(await machineLoads(t))) return;
  const a = boot(`main:\n  cli\n  hlt\n`).m.run({ maxInstructions: 1000 });
  assert.equal(a.reason, "halt");
  const b = boot(`main:\n  jmp main\n`).m.run({ maxInstructions: 5000 });
  assert.equal(b.reason, "budget");
  assert.equal(b.instructions, 5000);
  // A budget that is not a number runs nothing (it ran forever: no count is ever >= NaN).
  const c = boot(`main:\n  jmp main\n`).m.run({ maxInstructions: Number.NaN });
  assert.equal(c.reason, "budget");
  assert.equal(c.instructions, 0);
});

test("straight-line code longer than the block cache's bound runs right and leaves the cache bounded", async (t) => {
  if (!(await machineLoads(t))) return;
  // 20,000 one-byte instructions, each executed once, then a check that they all ran.
  const { m } = boot(`main:\n  xor %ecx, %ecx\n  .rept 20000\n  inc %ecx\n  .endr\n  cmp $20000, %ecx\n  jne 1f\n  mov $0, %eax\n  call exit\n1:\n  mov $1, %eax\n  call exit\n`);
  m.cpu.maxCachedInstructions = 2000;
  const r = m.run({ maxInstructions: 1_000_000 });
  assert.equal(r.reason, "exit");
  assert.equal(r.exitCode, 0);
  assert.ok(m.cpu.codeCacheInstructions <= 2000, `${m.cpu.codeCacheInstructions} instructions cached`);
});

test("a guest without an IDT triple-faults with a CPU report; the 8042 pulse reset stops with reason reset", async (t) => {
  if (!(await machineLoads(t))) return;
  const tf = boot(`main:\n  lidt zero\n  int3\nzero: .word 0\n .long 0\n`).m.run({ maxInstructions: 1000 });
  assert.equal(tf.reason, "triple-fault");
  assert.ok(tf.tripleFault);
  assert.equal(tf.tripleFault!.regs.eax >>> 0, 0x2badb002);
  const r = boot(`main:\n  mov $0xfe, %al\n  out %al, $0x64\n  jmp main\n`).m.run({ maxInstructions: 1000 });
  assert.equal(r.reason, "reset");
});

test("the CGA text buffer is captured as text", async (t) => {
  if (!(await machineLoads(t))) return;
  const { m } = boot(`main:\n  movl $0x07690748, 0xb8000\n  mov $0, %eax\n  call exit\n`);
  assert.equal(m.run({ maxInstructions: 1000 }).reason, "exit");
  assert.equal(m.captureText({ trim: true }), "Hi");
});

test("snapshot and restore replay the same run (CPU, RAM, devices, timers)", async (t) => {
  if (!(await machineLoads(t))) return;
  const { m, text } = boot(PIT_GUEST);
  m.run({ maxInstructions: 150_000 }); // somewhere between timer ticks
  const snap = m.snapshot();
  const first = m.run({ maxInstructions: 10_000_000 });
  const out1 = text();
  m.restore(snap);
  const second = m.run({ maxInstructions: 10_000_000 });
  assert.equal(first.reason, "exit");
  assert.deepEqual([second.reason, second.totalInstructions, second.virtualTime], [first.reason, first.totalInstructions, first.virtualTime]);
  assert.equal(text(), out1 + "5");
});

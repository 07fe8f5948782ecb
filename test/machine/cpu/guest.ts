// Test support: assemble small guest programs with GNU as at test time and run them on Cpu.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhysicalMemory } from "../../../machine/memory.js";
import { Cpu } from "../../../machine/cpu/cpu.js";
import type { CpuStop } from "../../../machine/cpu/api.js";

export const CODE_BASE = 0x10000;

/** Assemble AT&T source linked at `base` into flat bytes. */
export function assemble(src: string, base = CODE_BASE): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "cpu-test-"));
  try {
    writeFileSync(join(dir, "t.s"), src + "\n");
    execFileSync("as", ["--32", "-o", join(dir, "t.o"), join(dir, "t.s")]);
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", "0x" + base.toString(16), "-e", "0", "-o", join(dir, "t.elf"), join(dir, "t.o")]);
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", join(dir, "t.elf"), join(dir, "t.bin")]);
    return new Uint8Array(readFileSync(join(dir, "t.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Fixed data addresses the prologue's exception handler writes (and tests read).
export const V = {
  vec: 0x500,
  err: 0x504,
  cr2: 0x508,
  eip: 0x50c,
  cs: 0x510,
  count: 0x514,
  /** if non-zero, the handler resumes there (iret) instead of halting */
  resume: 0x518,
  eflags: 0x51c,
  /** handler's own ESP after entry */
  esp: 0x520,
  ss: 0x524,
  out: 0x600, // free scratch for test results (0x600..0x6ff)
};

/** Selectors of the prologue's GDT. */
export const SEL = { code0: 0x08, data0: 0x10, code3: 0x1b, data3: 0x23, tss: 0x28, gate3: 0x33, data3small: 0x3b, np: 0x40, code16: 0x48, data16: 0x50 };

const ERRCODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/**
 * Flat protected-mode prologue: GDT (ring 0/3 flat code+data, a TSS, a DPL3 call gate to `gate_target`,
 * a small ring-3 data segment, a not-present segment, 16-bit code/data), an IDT whose vectors
 * 0–31 record the exception (V.*) and halt (or resume at V.resume), and `int $0x80` (interrupt gate,
 * DPL 3) / `int $0x81` (trap gate, DPL 3) handlers that jump to `sys80` / `sys81` (defined by the test).
 * The test body starts at label `main` with CPL 0, ESP 0x9000.
 */
export function prologue(): string {
  const stubs: string[] = [];
  for (let v = 0; v < 32; v++) {
    stubs.push(`stub${v}:`, ERRCODE.has(v) ? "" : "  pushl $0", `  pushl $${v}`, "  jmp common");
  }
  return `
.code32
.text
_start:
  lgdt gdt_ptr
  ljmp $0x08, $1f
1:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %fs
  mov %ax, %gs
  mov %ax, %ss
  mov $0x9000, %esp
  # IDT: vectors 0..31 -> stubN (interrupt gates, DPL 0); 0x80/0x81 DPL 3
  mov $0, %ecx
2:
  mov stubtab(,%ecx,4), %eax
  mov %ax, idt(,%ecx,8)
  movw $0x08, idt+2(,%ecx,8)
  movw $0x8e00, idt+4(,%ecx,8)
  shr $16, %eax
  mov %ax, idt+6(,%ecx,8)
  inc %ecx
  cmp $32, %ecx
  jne 2b
  mov $sys80_entry, %eax
  mov %ax, idt+0x80*8
  movw $0x08, idt+0x80*8+2
  movw $0xee00, idt+0x80*8+4
  shr $16, %eax
  mov %ax, idt+0x80*8+6
  mov $sys81_entry, %eax
  mov %ax, idt+0x81*8
  movw $0x08, idt+0x81*8+2
  movw $0xef00, idt+0x81*8+4
  shr $16, %eax
  mov %ax, idt+0x81*8+6
  lidt idt_ptr
  # TSS descriptor base and call gate offset
  mov $tss, %eax
  mov %ax, gdt+0x28+2
  shr $16, %eax
  mov %al, gdt+0x28+4
  mov %ah, gdt+0x28+7
  mov $gate_target, %eax
  mov %ax, gdt+0x30
  shr $16, %eax
  mov %ax, gdt+0x36
  movl $0x9000, tss+4
  movl $0x10, tss+8
  movw $0x68, tss+0x66
  mov $0x28, %ax
  ltr %ax
  jmp main

common:
  mov %eax, 0x530
  mov (%esp), %eax
  mov %eax, ${V.vec}
  mov 4(%esp), %eax
  mov %eax, ${V.err}
  mov 8(%esp), %eax
  mov %eax, ${V.eip}
  mov 12(%esp), %eax
  mov %eax, ${V.cs}
  mov 16(%esp), %eax
  mov %eax, ${V.eflags}
  mov %cr2, %eax
  mov %eax, ${V.cr2}
  mov %esp, ${V.esp}
  mov %ss, ${V.ss}
  incl ${V.count}
  mov ${V.resume}, %eax
  test %eax, %eax
  jz 3f
  mov %eax, 8(%esp)
  mov 0x530, %eax
  add $8, %esp
  iret
3:
  hlt
  jmp 3b

sys80_entry:
  jmp sys80
sys81_entry:
  jmp sys81

${stubs.join("\n")}

.align 4
stubtab:
${Array.from({ length: 32 }, (_, v) => `  .long stub${v}`).join("\n")}

.align 8
gdt:
  .quad 0
  .quad 0x00cf9a000000ffff   # 0x08 code0
  .quad 0x00cf92000000ffff   # 0x10 data0
  .quad 0x00cffa000000ffff   # 0x18 code3
  .quad 0x00cff2000000ffff   # 0x20 data3
  .quad 0x0000890000000fff   # 0x28 TSS (base patched; limit covers the I/O bitmap)
  .quad 0x0000ec0000080000   # 0x30 call gate DPL3 -> 0x08:gate_target (offset patched)
  .quad 0x0040f20000000fff   # 0x38 ring-3 data, limit 0xfff bytes
  .quad 0x00cf12000000ffff   # 0x40 data0, not present
  .quad 0x00009a000000ffff   # 0x48 16-bit code0 base 0
  .quad 0x000092000000ffff   # 0x50 16-bit data0 base 0
gdt_end:
gdt_ptr:
  .word gdt_end - gdt - 1
  .long gdt
.align 8
idt:
  .fill 0x82*8, 1, 0
idt_end:
idt_ptr:
  .word idt_end - idt - 1
  .long idt
.align 16
tss:
  .fill 0x68, 1, 0
iobitmap:
  .fill 0x1000 - 0x68, 1, 0
  .byte 0xff
`;
}

/** Enter ring 3 at `label` with IF/IOPL from `flags`, stack `esp`. */
export function toUser(label: string, flags = 0x202, esp = 0x8000): string {
  return `
  mov $0x23, %cx
  mov %cx, %ds
  mov %cx, %es
  mov %cx, %fs
  mov %cx, %gs
  pushl $0x23
  pushl $${esp}
  pushl $${flags}
  pushl $0x1b
  pushl $${label}
  iret
`;
}

export interface GuestRun {
  cpu: Cpu;
  mem: PhysicalMemory;
  stop: CpuStop;
  rd(addr: number): number;
}

export function makeMachine(bytes: Uint8Array, base = CODE_BASE, memSize = 8 << 20): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(memSize);
  mem.writeBytes(base, bytes);
  const cpu = new Cpu(mem);
  cpu.enterFlatProtectedMode(base);
  return { cpu, mem };
}

/** Assemble prologue + body, run to halt (or budget). Bodies that need no handler define empty sys80/sys81/gate_target. */
export function runGuest(body: string, budget = 200000, setup?: (cpu: Cpu, mem: PhysicalMemory) => void): GuestRun {
  let src = prologue() + "\n" + body;
  for (const l of ["sys80", "sys81", "gate_target"]) if (!new RegExp(`^${l}:`, "m").test(body)) src += `\n${l}:\n  hlt\n`;
  const { cpu, mem } = makeMachine(assemble(src));
  setup?.(cpu, mem);
  const stop = cpu.run(budget);
  return { cpu, mem, stop, rd: (a) => mem.read32(a) };
}

// Prints the CPU's speed in MIPS on CPU-bound guest loops (assembled with GNU as at bench time,
// run directly on Cpu + PhysicalMemory in flat protected mode). Figures only; never fails on timing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhysicalMemory } from "../machine/memory.js";
import { Cpu } from "../machine/cpu/cpu.js";

const BASE = 0x100000;

function assemble(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "cpu-bench-"));
  try {
    writeFileSync(join(dir, "b.s"), src);
    execFileSync("as", ["--32", "-o", join(dir, "b.o"), join(dir, "b.s")]);
    execFileSync("ld", ["-m", "elf_i386", "-Ttext", "0x" + BASE.toString(16), "-e", "0", "-o", join(dir, "b.elf"), join(dir, "b.o")]);
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", join(dir, "b.elf"), join(dir, "b.bin")]);
    return new Uint8Array(readFileSync(join(dir, "b.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loops: Record<string, string> = {
  // register arithmetic + memory traffic + a conditional branch per iteration
  "alu+memory loop": `
.code32
  mov $0x200000, %edi
  xor %ecx, %ecx
  mov $1, %ebx
1:
  imul $1103515245, %ebx, %ebx
  add $12345, %ebx
  mov %ebx, %eax
  shr $16, %eax
  xor %eax, (%edi,%ecx,4)
  add (%edi,%ecx,4), %edx
  inc %ecx
  and $0x3ff, %ecx
  cmp $0x7fffffff, %edx
  jne 1b
  hlt
`,
  // call/ret, push/pop and a counted loop (a compiled C function's shape)
  "call/stack loop": `
.code32
  mov $0x80000, %esp
  xor %esi, %esi
1:
  push %esi
  call f
  add $4, %esp
  add %eax, %esi
  jmp 1b
f:
  push %ebp
  mov %esp, %ebp
  mov 8(%ebp), %eax
  lea 3(%eax,%eax,2), %eax
  pop %ebp
  ret
`,
};

for (const [name, src] of Object.entries(loops)) {
  const mem = new PhysicalMemory(16 << 20);
  mem.writeBytes(BASE, assemble(src));
  const cpu = new Cpu(mem);
  cpu.enterFlatProtectedMode(BASE);
  cpu.run(2_000_000); // warm-up (JIT)
  const n = 30_000_000;
  const t0 = process.hrtime.bigint();
  const start = cpu.instructionCount;
  cpu.run(n);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const done = cpu.instructionCount - start;
  console.log(`${name.padEnd(18)} ${(done / dt / 1e6).toFixed(1).padStart(7)} MIPS  (${done} instructions in ${dt.toFixed(2)} s)`);
}

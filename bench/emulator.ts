// Prints the CPU's speed in MIPS on CPU-bound guest loops (assembled with GNU as at bench time,
// run directly on Cpu + PhysicalMemory in flat protected mode), then on each example guest booted
// on the whole Machine, with the wall time of the same ELF under qemu-system-i386 when it is
// installed (QEMU's time includes its own start and firmware, so the ratio is what a user waits).
// Figures only; never fails on timing. BENCH_INTERPRET=1 measures without compiled blocks.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhysicalMemory } from "../machine/memory.js";
import { Cpu } from "../machine/cpu/cpu.js";
import { Machine } from "../machine/machine.js";
import { readElf } from "../core/toolchain/index.js";
import { buildGuests, findQemu, GUEST_NAMES, runUnderQemu } from "../test/examples/guests.js";

const interpretOnly = process.env.BENCH_INTERPRET === "1";

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
  if (interpretOnly) cpu.compileThreshold = Infinity;
  cpu.enterFlatProtectedMode(BASE);
  cpu.run(2_000_000); // warm-up (JIT)
  const n = 30_000_000;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const start = cpu.instructionCount;
  cpu.run(n);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  const done = cpu.instructionCount - start;
  // CPU time too: on a loaded machine wall time includes waiting for a core
  console.log(
    `${name.padEnd(18)} ${(done / dt / 1e6).toFixed(1).padStart(7)} MIPS  (${done} instructions in ${dt.toFixed(2)} s wall; ` +
      `${(done / cpuSeconds / 1e6).toFixed(1)} MIPS per CPU second)`,
  );
}

// ---------------------------------------------------------------- example guests vs QEMU

/** One boot to exit: `seconds` from nothing to exit (machine, ELF load, run), `runSeconds` of Machine.run alone. */
function runGuestOnce(bytes: Uint8Array, name: string): { seconds: number; runSeconds: number; instructions: number; reason: string; console: string } {
  const t0 = process.hrtime.bigint();
  let out = "";
  const machine = new Machine({ onSerial: (b) => (out += String.fromCharCode(b)) });
  if (interpretOnly) machine.cpu.compileThreshold = Infinity;
  const elf = readElf(bytes, name);
  machine.loadElfSegments(elf.loadSegments(), elf.entry, { cmdline: name });
  const t1 = process.hrtime.bigint();
  const r = machine.run({ maxInstructions: 2_000_000_000 });
  const t2 = process.hrtime.bigint();
  return { seconds: Number(t2 - t0) / 1e9, runSeconds: Number(t2 - t1) / 1e9, instructions: r.instructions, reason: r.reason, console: out };
}

async function examples(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cpu-bench-guests-"));
  try {
    const built = await buildGuests(dir);
    const qemu = findQemu();
    console.log(
      `\nexample guests on Machine (256 MiB; MIPS over Machine.run; boot to exit = new Machine + ELF load + run; best of 3)` +
        (qemu ? `\nQEMU: wall time of qemu-system-i386 -kernel (process start, firmware, guest), best of 3; ratio = our boot to exit / QEMU` : "\nqemu-system-i386 not installed: no ratio"),
    );
    for (const name of GUEST_NAMES) {
      const bytes = new Uint8Array(readFileSync(built.elfs[name]));
      let best = runGuestOnce(bytes, name);
      for (let k = 0; k < 2; k++) {
        const r = runGuestOnce(bytes, name);
        if (r.seconds < best.seconds) best = r;
      }
      let line =
        `${name.padEnd(11)} ${(best.instructions / best.runSeconds / 1e6).toFixed(1).padStart(7)} MIPS  ` +
        `${best.instructions.toString().padStart(9)} instructions in ${(best.runSeconds * 1000).toFixed(1).padStart(6)} ms (${best.reason}); ` +
        `boot to exit ${(best.seconds * 1000).toFixed(1).padStart(6)} ms`;
      if (qemu) {
        let q = Infinity;
        let same = true;
        for (let k = 0; k < 3; k++) {
          const t0 = process.hrtime.bigint();
          const run = await runUnderQemu(built.elfs[name], { qemu, timeoutMs: 60_000 });
          q = Math.min(q, Number(process.hrtime.bigint() - t0) / 1e9);
          same &&= run.output === best.console;
        }
        line += `   QEMU ${(q * 1000).toFixed(0).padStart(5)} ms   ours/QEMU ${(best.seconds / q).toFixed(3)}${same ? "" : "  (console output differs!)"}`;
      }
      console.log(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void examples();

// The example guests: they build with examples/Makefile (plain gcc, and through a CC wrapper
// as afterburn-cc will be used), every ELF is a loadable multiboot kernel at 1 MiB with no
// floating-point code, and under qemu-system-i386 (the outside oracle) each prints exactly
// its expected-output.txt and exits with its expected-exit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  EXAMPLES_DIR,
  GUEST_NAMES,
  buildGuests,
  findQemu,
  guestExitFromQemuStatus,
  loadGuests,
  runUnderQemu,
  type BuildResult,
} from "./guests.js";

const execFileP = promisify(execFile);
const ROOT = join(EXAMPLES_DIR, "..");
const afterburnCcSource = join(ROOT, "cli", "afterburn-cc.ts");
const guests = loadGuests();
const qemu = findQemu();
const noQemu = qemu ? false : "qemu-system-i386 is not installed (CI installs it: scripts/setup-system.sh --qemu)";

let tmp: string;
let plain: BuildResult;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "examples-test-"));
  plain = await buildGuests(join(tmp, "plain"));
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("every guest directory with an expected-output.txt is in GUEST_NAMES and vice versa", () => {
  const onDisk = readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES_DIR, d.name, "expected-output.txt")))
    .map((d) => d.name)
    .sort();
  assert.deepEqual(onDisk, [...GUEST_NAMES].sort());
  for (const g of guests) {
    assert.ok(g.expectedOutput.endsWith("\n"), `${g.name}: expected output ends with a newline`);
    assert.ok(!g.expectedOutput.includes("\r"), `${g.name}: the guests print bare \\n`);
  }
});

test("the QEMU exit status decodes to the value written to port 0xF4", () => {
  assert.equal(guestExitFromQemuStatus(1), 0);
  assert.equal(guestExitFromQemuStatus(85), 42);
  assert.equal(guestExitFromQemuStatus(0), undefined);
  assert.equal(guestExitFromQemuStatus(null), undefined);
});

interface ElfFacts {
  entry: number;
  loads: { offset: number; paddr: number; filesz: number; memsz: number }[];
  bytes: Buffer;
}

function readElf32(path: string): ElfFacts {
  const b = readFileSync(path);
  assert.deepEqual([...b.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${path}: ELF magic`);
  assert.equal(b[4], 1, `${path}: ELFCLASS32`);
  assert.equal(b[5], 1, `${path}: little-endian`);
  assert.equal(b.readUInt16LE(16), 2, `${path}: ET_EXEC`);
  assert.equal(b.readUInt16LE(18), 3, `${path}: EM_386`);
  const phoff = b.readUInt32LE(28);
  const phentsize = b.readUInt16LE(42);
  const phnum = b.readUInt16LE(44);
  const loads: ElfFacts["loads"] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (b.readUInt32LE(p) !== 1) continue; // PT_LOAD
    loads.push({
      offset: b.readUInt32LE(p + 4),
      paddr: b.readUInt32LE(p + 12),
      filesz: b.readUInt32LE(p + 16),
      memsz: b.readUInt32LE(p + 20),
    });
  }
  return { entry: b.readUInt32LE(24), loads, bytes: b };
}

test("each ELF is a multiboot v1 kernel loaded at 1 MiB or above, entry inside its image", () => {
  for (const name of GUEST_NAMES) {
    const elf = readElf32(plain.elfs[name]);
    assert.ok(elf.loads.length >= 1, `${name}: has PT_LOAD segments`);
    for (const l of elf.loads) assert.ok(l.paddr >= 0x100000, `${name}: segment at 0x${l.paddr.toString(16)} is below 1 MiB`);
    const inImage = elf.loads.some((l) => elf.entry >= l.paddr && elf.entry < l.paddr + l.filesz);
    assert.ok(inImage, `${name}: entry 0x${elf.entry.toString(16)} lies in a loaded segment`);
    // Multiboot v1: magic, flags, checksum, 4-byte aligned within the first 8 KiB of the file.
    let found = -1;
    for (let off = 0; off + 12 <= Math.min(8192, elf.bytes.length); off += 4) {
      if (elf.bytes.readUInt32LE(off) !== 0x1badb002) continue;
      const sum = (elf.bytes.readUInt32LE(off) + elf.bytes.readUInt32LE(off + 4) + elf.bytes.readUInt32LE(off + 8)) >>> 0;
      if (sum === 0) {
        found = off;
        break;
      }
    }
    assert.ok(found >= 0, `${name}: multiboot header with a valid checksum in the first 8 KiB`);
    assert.equal(elf.bytes.readUInt32LE(found + 4) & 0x10000, 0, `${name}: plain ELF loading, no a.out kludge`);
  }
});

test("the guests contain integer instructions only (no x87, MMX or SSE)", async () => {
  for (const name of GUEST_NAMES) {
    const { stdout } = await execFileP("objdump", ["-d", "--no-show-raw-insn", plain.elfs[name]], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const lines = stdout.split("\n").filter((l) => /^\s+[0-9a-f]+:\t/.test(l));
    assert.ok(lines.length > 10, `${name}: objdump shows its code`);
    const fp = lines.filter((l) => /%(xmm|mm|st)\b|%st\(|\tf[a-z]+\s|\tfn?(init|save|rstor|stcw|ldcw)/.test(l));
    assert.deepEqual(fp, [], `${name}: floating-point instructions`);
  }
});

test("the Makefile compiles every .c and .S through $(CC) -c and honours CFLAGS", async () => {
  const log = join(tmp, "cc.log");
  const wrapper = join(tmp, "cc-wrapper");
  // A drop-in gcc, as afterburn-cc is: it logs its arguments and runs gcc with them.
  writeFileSync(wrapper, '#!/bin/sh\nprintf "%s\\n" "$*" >> "$CC_LOG"\nexec gcc "$@"\n');
  chmodSync(wrapper, 0o755);
  const built = await buildGuests(join(tmp, "wrapped"), { cc: wrapper, cflags: "-O1 -g", env: { CC_LOG: log } });
  const calls = readFileSync(log, "utf8").trim().split("\n");
  const sources = new Set<string>();
  for (const c of calls) {
    assert.match(c, /(^| )-c( |$)/, `compile-only call: ${c}`);
    assert.match(c, /(^| )-O1( |$)/, `CFLAGS reached the compiler: ${c}`);
    assert.match(c, /(^| )-m32( |$)/, `the guest flags stay: ${c}`);
    const src = c.split(" ").find((a) => /\.(c|S)$/.test(a));
    if (src) sources.add(src);
  }
  for (const s of ["hello/hello.S", "lib/boot.S", "lib/vectors.S", "lib/lib.c", "interrupts/interrupts.c", "paging/paging.c", "tasks/tasks.c", "tasks/enter.S", "apic/apic.c", "holes/holes.c"]) {
    assert.ok(sources.has(s), `${s} went through $(CC)`);
  }
  for (const name of GUEST_NAMES) assert.ok(existsSync(built.elfs[name]), `${name}.elf built`);
});

for (const g of guests) {
  test(`${g.name} under qemu-system-i386 prints expected-output.txt and exits ${g.expectedExit}`, { skip: noQemu }, async () => {
    const run = await runUnderQemu(plain.elfs[g.name], { qemu });
    assert.equal(run.timedOut, false, `${g.name} did not reach the exit port; output so far:\n${run.output}\n${run.stderr}`);
    assert.equal(run.output, g.expectedOutput);
    assert.equal(run.guestExit, g.expectedExit, `QEMU status ${run.status}`);
  });
}

test("a build with other CFLAGS (-O1) prints the same under QEMU: no output depends on code layout", { skip: noQemu }, async () => {
  const dir = join(tmp, "wrapped");
  for (const g of guests) {
    const elf = join(dir, `${g.name}.elf`);
    if (!existsSync(elf)) await buildGuests(dir, { cflags: "-O1 -g" });
    const run = await runUnderQemu(elf, { qemu });
    assert.equal(run.output, g.expectedOutput, g.name);
    assert.equal(run.guestExit, g.expectedExit, g.name);
  }
});

/** The sizes of an ELF32 file's sections by name. */
function sectionSizes(bytes: Buffer): Map<string, number> {
  const shoff = bytes.readUInt32LE(32);
  const shentsize = bytes.readUInt16LE(46);
  const shnum = bytes.readUInt16LE(48);
  const strtab = bytes.readUInt32LE(shoff + bytes.readUInt16LE(50) * shentsize + 16);
  const sizes = new Map<string, number>();
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const nameAt = strtab + bytes.readUInt32LE(h);
    const name = bytes.toString("latin1", nameAt, bytes.indexOf(0, nameAt));
    sizes.set(name, bytes.readUInt32LE(h + 20));
  }
  return sizes;
}

// The README's main job on bare metal: `make CC=afterburn-cc` pads and annotates every guest,
// and the padded kernels still behave exactly as before (the NOPs just execute).
test(
  "afterburned guests (make CC=afterburn-cc) carry .afterburn records and print the same under QEMU",
  { skip: !existsSync(afterburnCcSource) ? "cli/afterburn-cc.ts is not there yet" : noQemu },
  async () => {
    const wrapper = join(tmp, "afterburn-cc");
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${afterburnCcSource}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const built = await buildGuests(join(tmp, "afterburned"), { cc: wrapper });
    for (const g of guests) {
      const burned = readElf32(built.elfs[g.name]).bytes;
      const records = sectionSizes(burned).get(".afterburn");
      assert.ok(records !== undefined && records > 0 && records % 8 === 0, `${g.name}: .afterburn holds {start, end} pairs`);
      const plainText = sectionSizes(readElf32(plain.elfs[g.name]).bytes).get(".text") ?? 0;
      assert.ok((sectionSizes(burned).get(".text") ?? 0) > plainText, `${g.name}: padding made .text larger`);
      const run = await runUnderQemu(built.elfs[g.name], { qemu });
      assert.equal(run.output, g.expectedOutput, g.name);
      assert.equal(run.guestExit, g.expectedExit, g.name);
    }
  },
);

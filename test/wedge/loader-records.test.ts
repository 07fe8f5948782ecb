// The loader refuses what cannot run, before anything is loaded: memory annotations the wedge's call-out stub cannot
// execute (IP-relative, no memory access, longer than the stub), an entry point outside the kernel's code, and
// segments that end past 4 GiB or above the highest possible RAM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGuest } from "../../wedge/index.js";
import { buildTiny, loadError, runTiny, STACK, EXIT } from "./tiny.js";

const dir = mkdtempSync(join(tmpdir(), "wedge-loader-records-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const NOPS = (n: number) => Array(n).fill("\tnop").join("\n");

/** A guest with one hand-written .afterburn.pte_set record over `site` (instructions, then `pad` NOPs). */
function memGuest(name: string, site: string, pad = 4) {
  const src =
    `\t.text\n\t.globl _start\n_start:\n${STACK}\tmovl $cell, %eax\n\tmovl $7, %edx\n` +
    `.Ls:\n${site}\n${NOPS(pad)}\n.Le:\n1:\n\tmovl cell, %eax\n\tmovl cell+4, %ebx\n\taddl %ebx, %eax\n\toutl %eax, $0xf4\n\thlt\n` +
    `\t.data\ncell:\t.long 0, 0\n` +
    `\t.section .afterburn.pte_set,"",@progbits\n\t.long .Ls, .Le\n`;
  return buildTiny(dir, name, src, { burn: false });
}


test("a memory annotation on a relative call is refused on every backend, naming the site", () => {
  const t = memGuest("callrel", "\tcall 1f");
  for (const backend of ["raw", "xen"] as const) {
    const e = loadError(t.bytes, backend);
    assert.match(e.message, /^bad\.elf: site at 0x[0-9a-f]{8} \(.*callrel\.s:\d+\): `call 0x[0-9a-f]+` in \.afterburn\.pte_set is IP-relative/i);
    assert.ok(e.site?.line !== undefined);
  }
});

test("a relative branch anywhere in an annotated sequence is refused", () => {
  const e = loadError(memGuest("jcc", "\tmovl %edx, (%eax)\n\tjz 1f").bytes);
  assert.match(e.message, /`je 0x[0-9a-f]+` in \.afterburn\.pte_set is IP-relative/i);
});

test("a memory annotation on instructions without a memory operand is refused (lea computes an address, no access)", () => {
  assert.match(loadError(memGuest("nomem", "\tmovl $1, %ecx").bytes).message, /memory annotation in \.afterburn\.pte_set on `mov \$1,%ecx`, which does not access memory/);
  assert.match(loadError(memGuest("lea", "\tleal 4(%eax), %ecx").bytes).message, /on `lea 4\(%eax\),%ecx`, which does not access memory/);
});

test("a record without a memory access loads as the rest of a sequence, right after a memory record of its section", () => {
  // What `.afterburn_memop pte_test_clear, 2` becomes: one padded record per instruction.
  const src =
    `\t.text\n\t.globl _start\n_start:\n${STACK}\tmovl $cell, %eax\n` +
    `.L1:\tlock btrl $4, (%eax)\n${NOPS(12)}\n.L2:\tsbbl %ecx, %ecx\n${NOPS(12)}\n.L3:\n${EXIT}\thlt\n` +
    `\t.data\ncell:\t.long 0x10\n\t.section .afterburn.pte_test_clear,"",@progbits\n\t.long .L1, .L2, .L2, .L3\n`;
  const t = buildTiny(dir, "sequence", src, { burn: false });
  assert.deepEqual(loadGuest(t.bytes, { backend: "xen" }).sites.map((s) => s.mnemonic), ["lock btrl $4,(%eax)", "sbb %ecx,%ecx"]);
});

// 10 + 10 + 2 + 5 = 27 bytes, the most a stub holds with its 5-byte jmp back; a 3-byte store makes it 28.
const SEQ27 = "\tmovl $0x11, 0x1000(%eax)\n\tmovl $0x22, 0x1004(%eax)\n\tmovl %edx, (%eax)\n\tmovl $5, %ecx";
const SEQ28 = "\tmovl $0x11, 0x1000(%eax)\n\tmovl $0x22, 0x1004(%eax)\n\tmovl %edx, 4(%eax)\n\tmovl $5, %ecx";

test("an annotated sequence longer than its call-out stub is refused; one that just fits runs as on raw", () => {
  const e = loadError(memGuest("long", SEQ28).bytes);
  assert.match(e.message, /site at .*long\.s:\d+\): `movl \$0x11,0x1000\(%eax\); .*` in \.afterburn\.pte_set is 28 bytes; a call-out stub holds at most 27/);
  const fits = memGuest("fits", SEQ27);
  const raw = runTiny(fits, "raw");
  assert.equal(raw.exit, 7);
  for (const backend of ["xen", "l4"] as const) {
    const r = runTiny(fits, backend);
    assert.equal(r.reason, "exit", `${backend}: ${r.reason}`);
    assert.equal(r.exit, raw.exit, backend);
    assert.equal(r.guest.sites[0]!.rewrite, "call");
  }
});

/** A plain guest linked with `ld` options (entry, addresses), then optionally patched. */
function plain(name: string, ldArgs: string[]): string {
  const s = join(dir, `${name}.s`);
  writeFileSync(s, `\t.text\n\t.globl _start\n_start:\n${STACK}${EXIT}\thlt\n\t.data\n\t.long 1\n`);
  execFileSync("as", ["--32", "-o", join(dir, `${name}.o`), s]);
  const elf = join(dir, `${name}.elf`);
  execFileSync("ld", ["-m", "elf_i386", "-Ttext=0x100000", "-Tdata=0x200000", ...ldArgs, "-o", elf, join(dir, `${name}.o`)]);
  return elf;
}

/** The ELF with one field of its executable PT_LOAD program header replaced (offsets per the ELF32 Phdr). */
function patchCode(elf: string, field: "p_paddr" | "p_memsz", value: number): Uint8Array {
  const b = readFileSync(elf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = v.getUint32(28, true);
  const size = v.getUint16(42, true);
  for (let i = 0; i < v.getUint16(44, true); i++) {
    const ph = phoff + i * size;
    if (v.getUint32(ph, true) !== 1 || !(v.getUint32(ph + 24, true) & 1)) continue;
    v.setUint32(ph + (field === "p_paddr" ? 12 : 20), value, true);
    return b;
  }
  throw new Error("no executable PT_LOAD");
}

test("an entry point outside the kernel's code is refused instead of running wild", () => {
  const ok = plain("entry-ok", ["-e", "_start"]);
  assert.equal(loadGuest(readFileSync(ok), { backend: "raw" }).sites.length, 0, "the plain guest loads");
  const out = loadError(readFileSync(plain("entry-out", ["-e", "0x5000000"])), "raw");
  assert.match(out.message, /^bad\.elf: entry point \(e_entry\) 0x05000000 is not inside any loaded segment \(code: 0x00100000–0x001000/);
  const data = loadError(readFileSync(plain("entry-data", ["-e", "0x200000"])), "raw");
  assert.match(data.message, /e_entry\) 0x00200000 lies in a segment that is not executable/);
  // Linked at 1 MiB but loaded at 0x9000: the CPU starts at e_entry with paging off, where nothing was loaded.
  const moved = loadError(patchCode(ok, "p_paddr", 0x9000), "raw");
  assert.match(moved.message, /e_entry\) 0x00100000 is the link address of code loaded at physical 0x00009000/);
});

test("a segment ending past 4 GiB names its real end; one above the highest RAM is refused as such", () => {
  const ok = plain("seg", ["-e", "_start"]);
  const huge = loadError(patchCode(ok, "p_memsz", 0xfffff000), "raw");
  assert.match(huge.message, /^bad\.elf: segment at physical 0x00100000–0x1000ff000 \(p_memsz 0xfffff000\) ends past 4 GiB$/);
  const top = loadError(patchCode(ok, "p_paddr", 0xfffff000), "raw");
  assert.match(top.message, /segment at physical 0xfffff000–0x[0-9a-f]{8} .* reaches above 0xfc000000, where the PC never has RAM/);
});
